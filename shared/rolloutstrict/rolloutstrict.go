// Package rolloutstrict owns which Argo Rollouts fields argolite has: the
// strict check of Rollouts, AnalysisTemplates, ClusterAnalysisTemplates and
// AnalysisRuns as written, naming each field argolite lacks and what to do
// instead. The agent (InvalidSpec, an Error run) and the plugin (create -f)
// give the same messages.
package rolloutstrict

import (
	"reflect"
	"strings"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/strict"
)

// HintGatewayAPI is the fix for a traffic router argolite does not have.
const HintGatewayAPI = "argolite routes traffic with the Gateway API: use trafficRouting.gatewayAPI (or plugins: {argoproj-labs/gatewayAPI: ...}) with an HTTPRoute"

// unsupportedRolloutFields are the fields Argo Rollouts has on the types
// argolite mirrors that it does not support, each with what to do instead.
var unsupportedRolloutFields = map[reflect.Type]map[string]string{
	reflect.TypeOf(argov1.RolloutTrafficRouting{}): {
		"istio": HintGatewayAPI, "nginx": HintGatewayAPI, "alb": HintGatewayAPI, "smi": HintGatewayAPI,
		"ambassador": HintGatewayAPI, "appMesh": HintGatewayAPI, "traefik": HintGatewayAPI, "apisix": HintGatewayAPI,
	},
	reflect.TypeOf(argov1.CanaryStrategy{}): {
		"pingPong":                 "ping-pong Services are an ALB and Istio feature: use canaryService and stableService with trafficRouting.gatewayAPI",
		"replicaProgressThreshold": "not supported by argolite: a step completes when all its Pods are available",
	},
	reflect.TypeOf(argov1.CanaryStep{}): {
		"setMirrorRoute": "traffic mirroring is not supported by argolite: remove the step",
		"plugin":         "step plugins are not supported by argolite: use an analysis step (a job metric runs any container)",
	},
}

var rolloutChecker = &strict.Checker{Unsupported: unsupportedRolloutFields}

// Rollout checks a Rollout as decoded from JSON or YAML (without status)
// and returns one fault per field argolite does not have.
func Rollout(raw map[string]any) []strict.Fault {
	return rolloutChecker.Check(raw, &argov1.Rollout{})
}

// Experiment checks an Experiment as decoded from JSON or YAML (without
// status) and returns one fault per field argolite does not have.
func Experiment(raw map[string]any) []strict.Fault {
	return rolloutChecker.Check(raw, &argov1.Experiment{})
}

// SupportedProviders names the metric providers argolite runs.
const SupportedProviders = "prometheus, web or job"

var hintProvider = "argolite measures with " + SupportedProviders + ": rewrite the metric with one of them"

// unsupportedAnalysisFields are the fields Argo Rollouts has on the analysis types
// argolite mirrors and does not support, with what to do instead.
var unsupportedAnalysisFields = map[reflect.Type]map[string]string{
	reflect.TypeOf(argov1.MetricProvider{}): {
		"datadog": hintProvider, "newRelic": hintProvider, "wavefront": hintProvider, "kayenta": hintProvider,
		"cloudWatch": hintProvider, "graphite": hintProvider, "influxdb": hintProvider, "skywalking": hintProvider,
		"plugin": "metric provider plugins are not supported: " + hintProvider,
	},
	reflect.TypeOf(argov1.PrometheusMetric{}): {
		"authentication": "Prometheus authentication (sigv4, oauth2) is not supported: pass a token in headers (Authorization), from a Secret through an arg with valueFrom.secretKeyRef",
		"rangeQuery":     "range queries are not supported: write an instant query over a range vector, such as avg_over_time(x[5m])",
	},
	reflect.TypeOf(argov1.WebMetric{}): {
		"authentication": "web metric authentication (oauth2) is not supported: pass a token in headers (Authorization), from a Secret through an arg with valueFrom.secretKeyRef",
	},
}

var analysisChecker = &strict.Checker{Unsupported: unsupportedAnalysisFields}

// Analysis checks raw, an AnalysisTemplate, ClusterAnalysisTemplate or
// AnalysisRun as decoded from JSON or YAML (without status), against the
// type of into, and returns one fault per field argolite does not have,
// naming the unsupported Argo fields as such.
func Analysis(raw map[string]any, into any) []strict.Fault {
	return analysisChecker.Check(raw, into)
}

// Text joins faults into one message.
func Text(faults []strict.Fault) string {
	lines := make([]string, len(faults))
	for i, f := range faults {
		lines[i] = f.Path + ": " + f.Reason
	}
	return strings.Join(lines, "; ")
}
