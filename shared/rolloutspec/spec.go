// Package rolloutspec owns what a Rollout's spec means as Argo Rollouts defines it:
// the defaults, the values Argo derives from the spec (replicas, surge, the
// progress deadline, pause durations, field references, the Gateway API
// routes), and Argo's validation rules with argolite's. The agent's rollout
// role and the plugin's `rollout lint` both use it, so they agree.
package rolloutspec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/duration"
	"github.com/argolite/argolite/shared/rolloutstrict"
)

// Defaults as Argo's (utils/defaults).
const (
	DefaultMaxSurge                = "25%"
	DefaultMaxUnavailable          = "25%"
	DefaultProgressDeadlineSeconds = int32(600)
	DefaultRevisionHistoryLimit    = int32(10)
	DefaultScaleDownDelaySeconds   = int32(30)
	DefaultAbortScaleDownDelay     = int32(30)
	DefaultMaxTrafficWeight        = int32(100)
)

// ErrNoSuchKey is a fieldRef to a label or annotation the Rollout lacks.
var ErrNoSuchKey = errors.New("no such key")

var subscript = regexp.MustCompile(`^(metadata\.(?:labels|annotations))\['([^']*)'\]$`)

func Replicas(ro *argov1.Rollout) int32 {
	if ro.Spec.Replicas == nil {
		return 1
	}
	return *ro.Spec.Replicas
}

func MaxTrafficWeight(ro *argov1.Rollout) int32 {
	if c := ro.Spec.Strategy.Canary; c != nil && c.TrafficRouting != nil && c.TrafficRouting.MaxTrafficWeight != nil {
		return *c.TrafficRouting.MaxTrafficWeight
	}
	return DefaultMaxTrafficWeight
}

// ResolveFenceposts turns maxSurge and maxUnavailable into counts; both
// zero (by rounding) makes maxUnavailable 1, as in Deployments.
func ResolveFenceposts(maxSurge, maxUnavailable *intstr.IntOrString, desired int32) (int32, int32, error) {
	surge, err := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(maxSurge, intstr.FromInt(0)), int(desired), true)
	if err != nil {
		return 0, 0, err
	}
	unavailable, err := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(maxUnavailable, intstr.FromInt(0)), int(desired), false)
	if err != nil {
		return 0, 0, err
	}
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return int32(surge), int32(unavailable), nil
}

func MaxSurgeOrDefault(ro *argov1.Rollout) *intstr.IntOrString {
	if c := ro.Spec.Strategy.Canary; c != nil && c.MaxSurge != nil {
		return c.MaxSurge
	}
	v := intstr.FromString(DefaultMaxSurge)
	return &v
}

func MaxUnavailableOrDefault(ro *argov1.Rollout) *intstr.IntOrString {
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil && bg.MaxUnavailable != nil {
		return bg.MaxUnavailable
	}
	if c := ro.Spec.Strategy.Canary; c != nil && c.MaxUnavailable != nil {
		return c.MaxUnavailable
	}
	v := intstr.FromString(DefaultMaxUnavailable)
	return &v
}

func ProgressDeadline(ro *argov1.Rollout) int32 {
	return ptr.Deref(ro.Spec.ProgressDeadlineSeconds, DefaultProgressDeadlineSeconds)
}

// PauseDuration reads a pause step's duration: seconds, or a duration
// string such as 30s, 5m or 1h.
func PauseDuration(p *argov1.RolloutPause) (time.Duration, error) {
	if p.Duration == nil {
		return 0, nil
	}
	if p.Duration.Type == 0 {
		return time.Duration(p.Duration.IntVal) * time.Second, nil
	}
	return duration.Parse(p.Duration.StrVal)
}

// FieldValue reads a fieldRef of a Rollout, as Argo does: metadata.name,
// namespace, uid, labels['k'], annotations['k'] (downward API paths), or a
// dotted path into spec and status (spec.template.spec.containers[0].image).
func FieldValue(ro *argov1.Rollout, path string) (string, error) {
	if m := subscript.FindStringSubmatch(path); m != nil {
		src := ro.Labels
		if m[1] == "metadata.annotations" {
			src = ro.Annotations
		}
		v, ok := src[m[2]]
		if !ok {
			return "", fmt.Errorf("%s: %w", path, ErrNoSuchKey)
		}
		return v, nil
	}
	switch path {
	case "metadata.name":
		return ro.Name, nil
	case "metadata.namespace":
		return ro.Namespace, nil
	case "metadata.uid":
		return string(ro.UID), nil
	}
	if !strings.HasPrefix(path, "spec.") && !strings.HasPrefix(path, "status.") {
		return "", fmt.Errorf("fieldPath %q: write metadata.name, metadata.namespace, metadata.uid, metadata.labels['KEY'], metadata.annotations['KEY'] or a path under spec or status", path)
	}
	b, err := json.Marshal(ro)
	if err != nil {
		return "", err
	}
	var cur any
	if err := json.Unmarshal(b, &cur); err != nil {
		return "", err
	}
	for _, part := range strings.Split(path, ".") {
		name, idx := part, -1
		if i := strings.IndexByte(part, '['); i > 0 && strings.HasSuffix(part, "]") {
			n, err := strconv.Atoi(part[i+1 : len(part)-1])
			if err != nil {
				return "", fmt.Errorf("fieldPath %q: bad index in %q", path, part)
			}
			name, idx = part[:i], n
		}
		obj, ok := cur.(map[string]any)
		if !ok {
			return "", fmt.Errorf("fieldPath %q: %w", path, ErrNoSuchKey)
		}
		if cur, ok = obj[name]; !ok {
			return "", fmt.Errorf("fieldPath %q: %w", path, ErrNoSuchKey)
		}
		if idx >= 0 {
			list, ok := cur.([]any)
			if !ok || idx >= len(list) {
				return "", fmt.Errorf("fieldPath %q: %w", path, ErrNoSuchKey)
			}
			cur = list[idx]
		}
	}
	switch v := cur.(type) {
	case string:
		return v, nil
	default:
		b, _ := json.Marshal(v)
		return string(b), nil
	}
}

// RouteRef is one HTTPRoute the weights go to.
type RouteRef struct {
	Namespace, Name string
	HeaderRoutes    bool
}

// gatewayPluginConfig is the configuration of Argo's Gateway API plugin
// that argolite reads (the same fields as trafficRouting.gatewayAPI).
type gatewayPluginConfig struct {
	HTTPRoute  string                `json:"httpRoute,omitempty"`
	HTTPRoutes []argov1.HTTPRouteRef `json:"httpRoutes,omitempty"`
	Namespace  string                `json:"namespace,omitempty"`
}

// GatewayRoutes are the HTTPRoutes of the Rollout's trafficRouting, from
// gatewayAPI or the plugin form; any other router is an error naming it.
func GatewayRoutes(ro *argov1.Rollout) ([]RouteRef, error) {
	tr := ro.Spec.Strategy.Canary.TrafficRouting
	cfg := tr.GatewayAPI
	for name, raw := range tr.Plugins {
		if name != argov1.GatewayAPIPlugin {
			return nil, fmt.Errorf("plugins.%s: traffic router plugins are not supported by argolite; %s", name, rolloutstrict.HintGatewayAPI)
		}
		if cfg != nil {
			return nil, fmt.Errorf("set gatewayAPI or plugins.%s, not both", name)
		}
		var pc gatewayPluginConfig
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&pc); err != nil {
			return nil, fmt.Errorf("plugins.%s: %w: argolite reads httpRoute, httpRoutes (name, useHeaderRoutes) and namespace (gRPC and TCP routes are not supported)", name, err)
		}
		cfg = &argov1.GatewayAPITrafficRouting{HTTPRoute: pc.HTTPRoute, HTTPRoutes: pc.HTTPRoutes, Namespace: pc.Namespace}
	}
	if cfg == nil {
		return nil, fmt.Errorf("no router set: %s", rolloutstrict.HintGatewayAPI)
	}
	ns := cfg.Namespace
	if ns == "" {
		ns = ro.Namespace
	}
	var out []RouteRef
	if cfg.HTTPRoute != "" {
		out = append(out, RouteRef{Namespace: ns, Name: cfg.HTTPRoute, HeaderRoutes: true})
	}
	for i, r := range cfg.HTTPRoutes {
		if r.Name == "" {
			return nil, fmt.Errorf("gatewayAPI.httpRoutes[%d].name: required", i)
		}
		out = append(out, RouteRef{Namespace: ns, Name: r.Name, HeaderRoutes: r.UseHeaderRoutes})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("gatewayAPI: name the HTTPRoute in httpRoute or httpRoutes")
	}
	return out, nil
}
