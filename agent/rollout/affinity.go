package rollout

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// antiAffinityOf is the strategy's antiAffinity, nil when none is set.
func antiAffinityOf(ro *argov1.Rollout) *argov1.AntiAffinity {
	var a *argov1.AntiAffinity
	switch {
	case ro.Spec.Strategy.Canary != nil:
		a = ro.Spec.Strategy.Canary.AntiAffinity
	case ro.Spec.Strategy.BlueGreen != nil:
		a = ro.Spec.Strategy.BlueGreen.AntiAffinity
	}
	if a == nil || (a.PreferredDuringSchedulingIgnoredDuringExecution == nil && a.RequiredDuringSchedulingIgnoredDuringExecution == nil) {
		return nil
	}
	return a
}

// injectedTerm is Argo's anti-affinity term: off the nodes running Pods of
// the stable revision.
func injectedTerm(ns, stableHash string) corev1.PodAffinityTerm {
	return corev1.PodAffinityTerm{
		LabelSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
			Key: LabelPodTemplateHash, Operator: metav1.LabelSelectorOpIn, Values: []string{stableHash},
		}}},
		Namespaces:  []string{ns},
		TopologyKey: corev1.LabelHostname,
	}
}

// isInjected says a term is one injectedTerm made.
func isInjected(term *corev1.PodAffinityTerm) bool {
	if term.LabelSelector == nil {
		return false
	}
	for _, e := range term.LabelSelector.MatchExpressions {
		if e.Key == LabelPodTemplateHash {
			return true
		}
	}
	return false
}

// withInjected is base plus, while hash is not the stable revision and
// antiAffinity is set, the term that keeps its Pods off the stable's nodes
// (as Argo's GenerateReplicaSetAffinity).
func withInjected(base *corev1.Affinity, ro *argov1.Rollout, hash string) *corev1.Affinity {
	a := antiAffinityOf(ro)
	stable := ro.Status.StableRS
	if a == nil || stable == "" || stable == hash {
		return base
	}
	aff := base.DeepCopy()
	if aff == nil {
		aff = &corev1.Affinity{}
	}
	if aff.PodAntiAffinity == nil {
		aff.PodAntiAffinity = &corev1.PodAntiAffinity{}
	}
	term := injectedTerm(ro.Namespace, stable)
	if p := a.PreferredDuringSchedulingIgnoredDuringExecution; p != nil {
		aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution,
			corev1.WeightedPodAffinityTerm{Weight: p.Weight, PodAffinityTerm: term})
	} else {
		aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, term)
	}
	return aff
}

// withoutInjected is aff without the terms injectedTerm made.
func withoutInjected(aff *corev1.Affinity) *corev1.Affinity {
	if aff == nil || aff.PodAntiAffinity == nil {
		return aff
	}
	out := aff.DeepCopy()
	pa := out.PodAntiAffinity
	pa.PreferredDuringSchedulingIgnoredDuringExecution = nil
	for _, w := range aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
		if !isInjected(&w.PodAffinityTerm) {
			pa.PreferredDuringSchedulingIgnoredDuringExecution = append(pa.PreferredDuringSchedulingIgnoredDuringExecution, w)
		}
	}
	pa.RequiredDuringSchedulingIgnoredDuringExecution = nil
	for i := range aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
		if term := aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution[i]; !isInjected(&term) {
			pa.RequiredDuringSchedulingIgnoredDuringExecution = append(pa.RequiredDuringSchedulingIgnoredDuringExecution, term)
		}
	}
	if pa.PreferredDuringSchedulingIgnoredDuringExecution == nil && pa.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		out.PodAntiAffinity = nil
	}
	if out.PodAntiAffinity == nil && out.PodAffinity == nil && out.NodeAffinity == nil {
		return nil
	}
	return out
}

// syncAntiAffinity keeps the injected anti-affinity right on the
// ReplicaSets: the new revision's Pods avoid the stable's nodes (pointing
// at the stable of now), and a revision that became stable loses the term,
// so its later Pods go anywhere. A ReplicaSet's template changes in place:
// running Pods keep theirs, as in Argo.
func (c *cycle) syncAntiAffinity(newRS *appsv1.ReplicaSet, rss []*appsv1.ReplicaSet) error {
	for _, rs := range rss {
		want := withoutInjected(rs.Spec.Template.Spec.Affinity)
		if rs.Name == newRS.Name {
			want = withInjected(want, c.ro, rs.Labels[LabelPodTemplateHash])
		}
		if apiequality.Semantic.DeepEqual(want, rs.Spec.Template.Spec.Affinity) {
			continue
		}
		next := rs.DeepCopy()
		next.Spec.Template.Spec.Affinity = want
		if err := c.r.Client.Patch(c.ctx, next, client.MergeFrom(rs)); err != nil {
			return fmt.Errorf("setting the anti-affinity of ReplicaSet %s/%s: %w", rs.Namespace, rs.Name, err)
		}
		*rs = *next
	}
	return nil
}
