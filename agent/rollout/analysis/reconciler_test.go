package analysis

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/argolite/argolite/agent/ctrlkit"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// countingProvider measures value each time and counts its runs.
type countingProvider struct {
	quick
	runs *int
}

func (p countingProvider) Run(ctx context.Context, run *argov1.AnalysisRun, m argov1.Metric, now time.Time) argov1.Measurement {
	*p.runs++
	return finish(started(now), "1", argov1.AnalysisPhaseSuccessful, now)
}

func TestReconcileTakesEachMeasurementOnce(t *testing.T) {
	scheme := runtime.NewScheme()
	_ = argov1.AddToScheme(scheme)
	three := intstr.FromInt32(3)
	run := &argov1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "r"}, Spec: argov1.AnalysisRunSpec{Metrics: []argov1.Metric{{
		Name: "m", Interval: "30s", Count: &three, Provider: argov1.MetricProvider{Web: &argov1.WebMetric{URL: "http://x"}}}}}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(run).WithStatusSubresource(run).Build()
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	runs := 0
	// newR is an agent (re)started: nothing but the status carries over.
	newR := func() *Reconciler {
		r := newReconciler(c, c, ctrlEvents())
		r.now = func() time.Time { return now }
		r.providers = func(argov1.Metric) (provider, error) { return countingProvider{runs: &runs}, nil }
		return r
	}
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(run)}
	res, err := newR().Reconcile(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if runs != 1 || res.RequeueAfter < 30*time.Second || res.RequeueAfter > 30*time.Second+time.Second {
		t.Fatalf("first reconcile: %d runs, requeue %s; want 1 run and a requeue at the next interval", runs, res.RequeueAfter)
	}
	// A restarted agent 10s later takes nothing.
	now = now.Add(10 * time.Second)
	res, err = newR().Reconcile(context.Background(), req)
	if err != nil || runs != 1 || res.RequeueAfter < 20*time.Second || res.RequeueAfter > 21*time.Second {
		t.Fatalf("within the interval: %d runs, requeue %s, err %v; want 1 run, requeue in 20s", runs, res.RequeueAfter, err)
	}
	for i := 0; i < 2; i++ {
		now = now.Add(20 * time.Second)
		if _, err := newR().Reconcile(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		now = now.Add(10 * time.Second)
	}
	got := &argov1.AnalysisRun{}
	if err := c.Get(context.Background(), req.NamespacedName, got); err != nil {
		t.Fatal(err)
	}
	if runs != 3 || got.Status.Phase != argov1.AnalysisPhaseSuccessful || got.Status.MetricResults[0].Count != 3 || got.Status.CompletedAt == nil {
		t.Fatalf("after three intervals: %d runs, status %+v", runs, got.Status)
	}
	if got.Status.RunSummary.Count != 1 || got.Status.RunSummary.Successful != 1 {
		t.Errorf("runSummary = %+v", got.Status.RunSummary)
	}
}

func TestReconcileTTL(t *testing.T) {
	scheme := runtime.NewScheme()
	_ = argov1.AddToScheme(scheme)
	done := metav1.NewTime(time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC))
	run := &argov1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "r"},
		Spec:   argov1.AnalysisRunSpec{TTLStrategy: &argov1.TTLStrategy{SecondsAfterSuccess: ptr.To(int32(60)), SecondsAfterCompletion: ptr.To(int32(5))}},
		Status: argov1.AnalysisRunStatus{Phase: argov1.AnalysisPhaseSuccessful, CompletedAt: &done}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(run).WithStatusSubresource(run).Build()
	r := newReconciler(c, c, ctrlEvents())
	now := done.Add(30 * time.Second)
	r.now = func() time.Time { return now }
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(run)}
	res, err := r.Reconcile(context.Background(), req)
	if err != nil || res.RequeueAfter != 30*time.Second {
		t.Fatalf("before the TTL: requeue %s err %v, want 30s (secondsAfterSuccess wins)", res.RequeueAfter, err)
	}
	now = done.Add(61 * time.Second)
	if _, err := r.Reconcile(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(context.Background(), req.NamespacedName, &argov1.AnalysisRun{}); err == nil {
		t.Error("the run outlived its ttlStrategy")
	}
}

func ctrlEvents() ctrlkit.Events { return ctrlkit.Events{} }
