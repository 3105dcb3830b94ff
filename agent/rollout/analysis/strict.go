package analysis

import (
	"reflect"
	"strings"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/strict"
)

// supportedProviders names the metric providers argolite runs.
const supportedProviders = "prometheus, web or job"

var hintProvider = "argolite measures with " + supportedProviders + ": rewrite the metric with one of them"

// unsupportedFields are the fields Argo Rollouts has on the analysis types
// argolite mirrors and does not support, with what to do instead.
var unsupportedFields = map[reflect.Type]map[string]string{
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

var checker = &strict.Checker{Unsupported: unsupportedFields}

// Strict checks raw, an AnalysisTemplate, ClusterAnalysisTemplate or
// AnalysisRun as decoded from JSON or YAML (without status), against the
// type of into, and returns one fault per field argolite does not have,
// naming the unsupported Argo fields as such.
func Strict(raw map[string]any, into any) []strict.Fault {
	return checker.Check(raw, into)
}

// faultsText joins faults into one message.
func faultsText(faults []strict.Fault) string {
	lines := make([]string, len(faults))
	for i, f := range faults {
		lines[i] = f.Path + ": " + f.Reason
	}
	return strings.Join(lines, "; ")
}
