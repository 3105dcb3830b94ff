package rollout

import (
	"strconv"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

func TestInjectedAntiAffinity(t *testing.T) {
	node := &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}}}}}}}}
	ro := func(a *argov1.AntiAffinity, stable string) *argov1.Rollout {
		return &argov1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "team"},
			Spec:   argov1.RolloutSpec{Strategy: argov1.RolloutStrategy{Canary: &argov1.CanaryStrategy{AntiAffinity: a}}},
			Status: argov1.RolloutStatus{StableRS: stable}}
	}
	preferred := &argov1.AntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: &argov1.PreferredDuringSchedulingIgnoredDuringExecution{Weight: 40}}
	required := &argov1.AntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &argov1.RequiredDuringSchedulingIgnoredDuringExecution{}}

	t.Run("preferred, on top of the template's node affinity", func(t *testing.T) {
		got := withInjected(node, ro(preferred, "old"), "new")
		terms := got.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution
		if len(terms) != 1 || terms[0].Weight != 40 || terms[0].PodAffinityTerm.TopologyKey != corev1.LabelHostname ||
			terms[0].PodAffinityTerm.LabelSelector.MatchExpressions[0].Values[0] != "old" || got.NodeAffinity == nil {
			t.Fatalf("affinity = %+v", got)
		}
		if node.PodAntiAffinity != nil {
			t.Error("withInjected changed its input")
		}
		if back := withoutInjected(got); !apiequality.Semantic.DeepEqual(back, node) {
			t.Errorf("withoutInjected = %+v, want the template's affinity back", back)
		}
	})
	t.Run("required", func(t *testing.T) {
		got := withInjected(nil, ro(required, "old"), "new")
		if terms := got.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution; len(terms) != 1 || !isInjected(&terms[0]) {
			t.Fatalf("affinity = %+v", got)
		}
		if back := withoutInjected(got); back != nil {
			t.Errorf("withoutInjected = %+v, want nil", back)
		}
	})
	for name, r := range map[string]*argov1.Rollout{
		"no antiAffinity":            ro(nil, "old"),
		"no stable revision yet":     ro(preferred, ""),
		"the revision is the stable": ro(preferred, "new"),
	} {
		t.Run(name, func(t *testing.T) {
			if got := withInjected(node, r, "new"); got != node {
				t.Errorf("affinity = %+v, want the template's", got)
			}
		})
	}
}

func TestRollbackWithinWindow(t *testing.T) {
	rs := func(rev int) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "r" + strconv.Itoa(rev), Annotations: map[string]string{AnnotationRevision: strconv.Itoa(rev)}}}
	}
	all := []*appsv1.ReplicaSet{rs(5), rs(4), rs(3), rs(2), rs(1)}
	window := func(n int32) *argov1.Rollout {
		return &argov1.Rollout{Spec: argov1.RolloutSpec{RollbackWindow: &argov1.RollbackWindowSpec{Revisions: n}}}
	}
	tests := []struct {
		name          string
		ro            *argov1.Rollout
		newRS, stable *appsv1.ReplicaSet
		want          bool
	}{
		{"the revision just before the stable", window(1), rs(4), rs(5), true},
		{"two back, window 2", window(2), rs(3), rs(5), true},
		{"three back, window 2", window(2), rs(2), rs(5), false},
		{"a new revision is no rollback", window(3), rs(5), rs(4), false},
		{"no window", &argov1.Rollout{}, rs(4), rs(5), false},
		{"no stable", window(3), rs(4), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rollbackWithinWindow(tt.ro, tt.newRS, tt.stable, all); got != tt.want {
				t.Errorf("rollbackWithinWindow = %v, want %v", got, tt.want)
			}
		})
	}
}
