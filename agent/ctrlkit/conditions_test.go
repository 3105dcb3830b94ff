package ctrlkit

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

func TestConditionsKstatusPair(t *testing.T) {
	var list []metav1.Condition
	c := Conditions{List: &list, Generation: 3}
	state := func() string {
		var out []string
		for _, typ := range []string{argov1.ConditionReady, argov1.ConditionReconciling, argov1.ConditionStalled} {
			if got := meta.FindStatusCondition(list, typ); got != nil {
				if got.ObservedGeneration != 3 {
					t.Errorf("%s has observedGeneration %d, want 3", typ, got.ObservedGeneration)
				}
				out = append(out, typ+"="+string(got.Status)+"/"+got.Reason)
			}
		}
		return strings.Join(out, " ")
	}
	for _, step := range []struct {
		do   func()
		want string
	}{
		{func() { c.Progressing("Progressing", "sync running") }, "Ready=Unknown/Progressing Reconciling=True/Progressing"},
		{func() { c.Failed("GitOperationFailed", "no route", false) }, "Ready=False/GitOperationFailed Reconciling=True/ProgressingWithRetry"},
		{func() { c.Failed("InvalidSpec", "bad", true) }, "Ready=False/InvalidSpec Stalled=True/InvalidSpec"},
		{func() { c.Ready("Reconciled", "Synced") }, "Ready=True/Reconciled"},
	} {
		step.do()
		if got := state(); got != step.want {
			t.Errorf("conditions %q, want %q", got, step.want)
		}
	}
	c.Set("Big", metav1.ConditionTrue, "Long", strings.Repeat("x", 40*1024))
	if n := len(meta.FindStatusCondition(list, "Big").Message); n != 32*1024 {
		t.Errorf("message of %d bytes, want it cut to 32 KiB", n)
	}
}
