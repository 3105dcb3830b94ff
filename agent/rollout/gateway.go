package rollout

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/rolloutspec"
)

// Traffic routing with the Gateway API: the weights of a canary go to the
// backendRefs of the stable and canary Services in the rules of the
// Rollout's HTTPRoutes, as Argo's Gateway API plugin sets them. A header
// route (setHeaderRoute) is an HTTPRoute of its own that the Rollout owns,
// beside each route that uses header routes: the same parents and host
// names, each rule's matches with the header matches added, the canary
// Service as the only backend. Gateway API gives a match with more header
// matches precedence, so matching requests go to the canary while the
// user's route is left as written; deleting it (at promotion, abort, or a
// setHeaderRoute without match) ends the header route.

var httpRouteGVK = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"}

// LabelManagedRoute is on the header-route HTTPRoutes a Rollout owns: the
// managed route's name.
const LabelManagedRoute = "rollouts.argolite.dev/managed-route"

func (c *cycle) getRoute(ref rolloutspec.RouteRef) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(httpRouteGVK)
	if err := c.r.APIReader.Get(c.ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, u); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("HTTPRoute %s/%s not found: create it with backendRefs to the stable and canary Services, or fix trafficRouting", ref.Namespace, ref.Name)
		}
		return nil, fmt.Errorf("reading HTTPRoute %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	return u, nil
}

// setWeight gives the canary Service weight and the stable mw-weight in
// every rule of every route, and records them in status, with Argo's
// TrafficWeightUpdated Event when they changed.
func (c *cycle) setWeight(weight int32) error {
	ro := c.ro
	cs := ro.Spec.Strategy.Canary
	mw := rolloutspec.MaxTrafficWeight(ro)
	refs, err := rolloutspec.GatewayRoutes(ro)
	if err != nil {
		return &specError{msg: "spec.strategy.canary.trafficRouting: " + err.Error()}
	}
	extra, err := c.extraBackends()
	if err != nil {
		return err
	}
	stableWeight := mw - weight
	for _, e := range extra {
		stableWeight -= e.Weight
	}
	stableWeight = max(stableWeight, 0)
	// The experiment Services of an earlier cycle that are no longer
	// weighted leave the routes.
	stale := map[string]bool{}
	if w := ro.Status.Canary.Weights; w != nil {
		for _, a := range w.Additional {
			stale[a.ServiceName] = true
		}
	}
	for _, e := range extra {
		delete(stale, e.ServiceName)
	}
	for _, ref := range refs {
		u, err := c.getRoute(ref)
		if err != nil {
			return err
		}
		rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
		changed, foundStable, foundCanary := false, false, false
		for _, r := range rules {
			rule, _ := r.(map[string]any)
			refsList, _ := rule["backendRefs"].([]any)
			// Experiment Services join the rules that route to stable.
			routed := hasBackend(rule, cs.StableService)
			kept := refsList[:0:0]
			seen := map[string]bool{}
			for _, b := range refsList {
				br, _ := b.(map[string]any)
				name, _ := br["name"].(string)
				if stale[name] {
					changed = true
					continue
				}
				kept = append(kept, b)
				seen[name] = true
				var want int64
				switch name {
				case cs.StableService:
					want, foundStable = int64(stableWeight), true
				case cs.CanaryService:
					want, foundCanary = int64(weight), true
				default:
					w, ok := extraWeight(extra, name)
					if !ok {
						continue
					}
					want = int64(w)
				}
				if got, ok := br["weight"].(int64); !ok || got != want {
					br["weight"] = want
					changed = true
				}
			}
			for _, e := range extra {
				if routed && !seen[e.ServiceName] {
					kept = append(kept, map[string]any{"name": e.ServiceName, "port": int64(e.port), "weight": int64(e.Weight)})
					changed = true
				}
			}
			rule["backendRefs"] = kept
		}
		if !foundStable || !foundCanary {
			return fmt.Errorf("HTTPRoute %s/%s needs backendRefs to both Service %q (stable) and %q (canary) in its rules: add the missing one with weight 0", ref.Namespace, ref.Name, cs.StableService, cs.CanaryService)
		}
		if changed {
			if err := unstructured.SetNestedSlice(u.Object, rules, "spec", "rules"); err != nil {
				return err
			}
			if err := c.r.Client.Update(c.ctx, u); err != nil {
				return fmt.Errorf("setting weights on HTTPRoute %s/%s: %w", ref.Namespace, ref.Name, err)
			}
		}
	}
	st := &ro.Status
	prev := int32(-1)
	if st.Canary.Weights != nil {
		prev = st.Canary.Weights.Canary.Weight
	}
	stableHash := st.StableRS
	st.Canary.Weights = &argov1.TrafficWeights{
		Canary: argov1.WeightDestination{Weight: weight, ServiceName: cs.CanaryService, PodTemplateHash: st.CurrentPodHash},
		Stable: argov1.WeightDestination{Weight: stableWeight, ServiceName: cs.StableService, PodTemplateHash: stableHash},
	}
	for _, e := range extra {
		st.Canary.Weights.Additional = append(st.Canary.Weights.Additional, e.WeightDestination)
	}
	if prev != weight {
		c.event(corev1.EventTypeNormal, "TrafficWeightUpdated", "Traffic weight updated from %d to %d", max(prev, 0), weight)
	}
	return nil
}

// extraBackend is an experiment template's Service with its weight and
// the port the routes send to.
type extraBackend struct {
	argov1.WeightDestination
	port int32
}

// extraBackends are the cycle's extra destinations with their Services'
// first ports.
func (c *cycle) extraBackends() ([]extraBackend, error) {
	var out []extraBackend
	for _, w := range c.extraWeights {
		svc := &corev1.Service{}
		if err := c.r.Client.Get(c.ctx, client.ObjectKey{Namespace: c.ro.Namespace, Name: w.ServiceName}, svc); err != nil {
			if apierrors.IsNotFound(err) {
				continue // the experiment makes it; the next cycle routes to it
			}
			return nil, fmt.Errorf("reading experiment Service %s/%s: %w", c.ro.Namespace, w.ServiceName, err)
		}
		if len(svc.Spec.Ports) == 0 {
			continue
		}
		out = append(out, extraBackend{WeightDestination: w, port: svc.Spec.Ports[0].Port})
	}
	return out, nil
}

func extraWeight(extra []extraBackend, svc string) (int32, bool) {
	for _, e := range extra {
		if e.ServiceName == svc {
			return e.Weight, true
		}
	}
	return 0, false
}

// headerRouteName is the HTTPRoute of a managed header route beside route.
func headerRouteName(route, managed string) string {
	name := route + "-" + managed
	if len(name) > 253 {
		name = name[:253]
	}
	return strings.TrimRight(name, "-.")
}

// setHeaderRoute creates (or, without match, deletes) the header route's
// HTTPRoutes, one beside each route that uses header routes.
func (c *cycle) setHeaderRoute(h *argov1.SetHeaderRoute) error {
	ro := c.ro
	refs, err := rolloutspec.GatewayRoutes(ro)
	if err != nil {
		return &specError{msg: "spec.strategy.canary.trafficRouting: " + err.Error()}
	}
	for _, ref := range refs {
		if !ref.HeaderRoutes {
			continue
		}
		name := headerRouteName(ref.Name, h.Name)
		if len(h.Match) == 0 {
			if err := c.deleteRoute(ref.Namespace, name); err != nil {
				return err
			}
			continue
		}
		base, err := c.getRoute(ref)
		if err != nil {
			return err
		}
		want, err := headerRoute(ro, base, name, h)
		if err != nil {
			return err
		}
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(httpRouteGVK)
		err = c.r.APIReader.Get(c.ctx, client.ObjectKey{Namespace: ref.Namespace, Name: name}, got)
		switch {
		case apierrors.IsNotFound(err):
			if err := c.r.Client.Create(c.ctx, want); err != nil {
				return fmt.Errorf("creating header route HTTPRoute %s/%s: %w", ref.Namespace, name, err)
			}
			c.event(corev1.EventTypeNormal, "HeaderRouteSet", "Header route %q set on HTTPRoute %s/%s", h.Name, ref.Namespace, name)
		case err != nil:
			return fmt.Errorf("reading HTTPRoute %s/%s: %w", ref.Namespace, name, err)
		case !metav1.IsControlledBy(got, ro):
			return &specError{msg: fmt.Sprintf("HTTPRoute %s/%s exists and is not this rollout's: rename the managed route %q or delete that HTTPRoute", ref.Namespace, name, h.Name)}
		default:
			want.SetResourceVersion(got.GetResourceVersion())
			if err := c.r.Client.Update(c.ctx, want); err != nil {
				return fmt.Errorf("updating header route HTTPRoute %s/%s: %w", ref.Namespace, name, err)
			}
		}
	}
	return nil
}

// headerRoute builds the HTTPRoute of a header route from the user's route.
func headerRoute(ro *argov1.Rollout, base *unstructured.Unstructured, name string, h *argov1.SetHeaderRoute) (*unstructured.Unstructured, error) {
	cs := ro.Spec.Strategy.Canary
	var headers []any
	for _, m := range h.Match {
		hm := map[string]any{"name": m.HeaderName}
		switch {
		case m.HeaderValue.Regex != "":
			hm["type"], hm["value"] = "RegularExpression", m.HeaderValue.Regex
		default:
			hm["type"], hm["value"] = "Exact", m.HeaderValue.Exact
		}
		headers = append(headers, hm)
	}
	rules, _, _ := unstructured.NestedSlice(base.Object, "spec", "rules")
	var out []any
	for _, r := range rules {
		rule, _ := r.(map[string]any)
		if !hasBackend(rule, cs.StableService) {
			continue
		}
		matches, _ := rule["matches"].([]any)
		if len(matches) == 0 {
			matches = []any{map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/"}}}
		}
		var ms []any
		for _, m := range matches {
			mm, _ := m.(map[string]any)
			mm = runtime.DeepCopyJSONValue(mm).(map[string]any)
			existing, _ := mm["headers"].([]any)
			mm["headers"] = append(append([]any{}, existing...), headers...)
			ms = append(ms, mm)
		}
		out = append(out, map[string]any{
			"matches":     ms,
			"backendRefs": []any{map[string]any{"name": cs.CanaryService, "port": backendPort(rule, cs.StableService), "weight": int64(1)}},
		})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("HTTPRoute %s/%s has no rule with the stable Service %q for header route %q to copy", base.GetNamespace(), base.GetName(), cs.StableService, h.Name)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"rules": out}}}
	u.SetGroupVersionKind(httpRouteGVK)
	u.SetNamespace(base.GetNamespace())
	u.SetName(name)
	u.SetLabels(map[string]string{LabelManagedRoute: h.Name})
	u.SetOwnerReferences([]metav1.OwnerReference{*metav1.NewControllerRef(ro, argov1.GroupVersion.WithKind(kindRollout))})
	spec := u.Object["spec"].(map[string]any)
	if v, ok, _ := unstructured.NestedFieldCopy(base.Object, "spec", "parentRefs"); ok {
		spec["parentRefs"] = v
	}
	if v, ok, _ := unstructured.NestedFieldCopy(base.Object, "spec", "hostnames"); ok {
		spec["hostnames"] = v
	}
	return u, nil
}

func hasBackend(rule map[string]any, svc string) bool {
	list, _ := rule["backendRefs"].([]any)
	for _, b := range list {
		if br, _ := b.(map[string]any); br["name"] == svc {
			return true
		}
	}
	return false
}

func backendPort(rule map[string]any, svc string) any {
	list, _ := rule["backendRefs"].([]any)
	for _, b := range list {
		if br, _ := b.(map[string]any); br["name"] == svc {
			return br["port"]
		}
	}
	return nil
}

// removeHeaderRoutes deletes every header route the Rollout owns, in the
// namespaces of its routes.
func (c *cycle) removeHeaderRoutes() error {
	tr := c.ro.Spec.Strategy.Canary.TrafficRouting
	if tr == nil || len(tr.ManagedRoutes) == 0 {
		return nil
	}
	refs, err := rolloutspec.GatewayRoutes(c.ro)
	if err != nil {
		return &specError{msg: "spec.strategy.canary.trafficRouting: " + err.Error()}
	}
	seen := map[string]bool{}
	var names []string
	for _, ref := range refs {
		if seen[ref.Namespace] {
			continue
		}
		seen[ref.Namespace] = true
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(httpRouteGVK.GroupVersion().WithKind("HTTPRouteList"))
		if err := c.r.APIReader.List(c.ctx, list, client.InNamespace(ref.Namespace), client.HasLabels{LabelManagedRoute}); err != nil {
			return fmt.Errorf("listing header routes of rollout %s/%s: %w", c.ro.Namespace, c.ro.Name, err)
		}
		for i := range list.Items {
			u := &list.Items[i]
			if metav1.IsControlledBy(u, c.ro) {
				if err := c.deleteRoute(u.GetNamespace(), u.GetName()); err != nil {
					return err
				}
				names = append(names, u.GetName())
			}
		}
	}
	sort.Strings(names)
	if len(names) > 0 {
		c.event(corev1.EventTypeNormal, "HeaderRouteRemoved", "Header routes removed: %s", strings.Join(names, ", "))
	}
	return nil
}

func (c *cycle) deleteRoute(ns, name string) error {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(httpRouteGVK)
	u.SetNamespace(ns)
	u.SetName(name)
	if err := c.r.Client.Delete(c.ctx, u); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting header route HTTPRoute %s/%s: %w", ns, name, err)
	}
	return nil
}
