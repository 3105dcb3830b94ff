package workflow

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/argolite/argolite/agent/ctrlkit"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/wfnames"
)

func cronClient(t *testing.T, objs ...client.Object) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = argov1.AddToScheme(scheme)
	return fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).WithStatusSubresource(&argov1.CronWorkflow{}, &argov1.Workflow{}).Build()
}

func TestCronSubmitsWhatIsDue(t *testing.T) {
	created := time.Date(2026, 11, 26, 10, 0, 30, 0, time.UTC)
	cw := &argov1.CronWorkflow{ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "ns", UID: "cw-uid", CreationTimestamp: metav1.NewTime(created)},
		Spec: argov1.CronWorkflowSpec{Schedules: []string{"*/5 * * * *"}, Timezone: "Europe/Paris", ConcurrencyPolicy: argov1.ForbidConcurrent,
			WorkflowSpec: argov1.WorkflowSpec{Entrypoint: "main"}}}
	c := cronClient(t, cw)
	now := created.Add(11 * time.Minute) // 10:11:30: the runs of 10:05 and 10:10 are due; only the last runs
	r := newCronReconciler(c, ctrlkit.Events{}, func() time.Time { return now })
	ctx := ctrl.LoggerInto(context.Background(), ctrl.Log)
	key := types.NamespacedName{Namespace: "ns", Name: "nightly"}
	res, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: key})
	if err != nil {
		t.Fatal(err)
	}
	if res.RequeueAfter < 3*time.Minute || res.RequeueAfter > 4*time.Minute {
		t.Errorf("requeue after %s, want about 3m30s (until 10:15)", res.RequeueAfter)
	}
	var wfs argov1.WorkflowList
	_ = c.List(ctx, &wfs)
	if len(wfs.Items) != 1 {
		t.Fatalf("%d workflows, want 1", len(wfs.Items))
	}
	wf := wfs.Items[0]
	want := time.Date(2026, 11, 26, 10, 10, 0, 0, time.UTC)
	if wf.Annotations[wfnames.AnnotationScheduledTime] != want.Format(time.RFC3339) || !strings.HasPrefix(wf.Name, "nightly-") || !metav1.IsControlledBy(&wf, cw) {
		t.Errorf("workflow %s annotations %v", wf.Name, wf.Annotations)
	}
	// Forbid: the next run is skipped while this one runs.
	now = now.Add(5 * time.Minute)
	if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: key}); err != nil {
		t.Fatal(err)
	}
	_ = c.List(ctx, &wfs)
	if len(wfs.Items) != 1 {
		t.Errorf("%d workflows with concurrencyPolicy Forbid and one running, want 1", len(wfs.Items))
	}
	got := &argov1.CronWorkflow{}
	_ = c.Get(ctx, key, got)
	if got.Status.LastScheduledTime == nil || !got.Status.LastScheduledTime.Time.Equal(want.Add(5*time.Minute)) || len(got.Status.Active) != 1 {
		t.Errorf("status %+v", got.Status)
	}
}

func TestCronRejectsBadSchedules(t *testing.T) {
	for _, tt := range []struct {
		spec argov1.CronWorkflowSpec
		want string
	}{
		{argov1.CronWorkflowSpec{}, "spec.schedules is empty"},
		{argov1.CronWorkflowSpec{Schedule: "* * *"}, `spec.schedules[0] "* * *"`},
		{argov1.CronWorkflowSpec{Schedule: "@hourly", Timezone: "Mars/Olympus"}, `spec.timezone "Mars/Olympus"`},
	} {
		if _, err := Schedules(&tt.spec); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.spec, err, tt.want)
		}
	}
}
