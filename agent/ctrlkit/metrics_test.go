package ctrlkit

import (
	"errors"
	"testing"
	"time"

	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/types"
)

func TestRoleMetrics(t *testing.T) {
	m := RoleMetrics("testrole")
	if RoleMetrics("testrole") != m {
		t.Fatal("a second RoleMetrics of one role made new series")
	}
	a, b := types.NamespacedName{Namespace: "ns", Name: "a"}, types.NamespacedName{Namespace: "ns", Name: "b"}
	m.Observe("Thing", a, time.Now(), nil)
	m.Observe("Thing", a, time.Now(), errors.New("failed"))
	m.Observe("Thing", b, time.Now(), nil)
	if n := promtestutil.CollectAndCount(m.seconds, "argolite_testrole_reconcile_seconds"); n != 2 {
		t.Errorf("%d duration series, want 2 (a and b)", n)
	}
	if got := promtestutil.ToFloat64(m.errors.WithLabelValues("Thing", "ns", "a")); got != 1 {
		t.Errorf("a's errors = %v, want 1", got)
	}
	m.Forget("Thing", a)
	if n := promtestutil.CollectAndCount(m.seconds); n != 1 {
		t.Errorf("%d duration series after a was deleted, want 1", n)
	}
	if n := promtestutil.CollectAndCount(m.errors); n != 0 {
		t.Errorf("%d error series after a was deleted, want 0", n)
	}
}
