package cron

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/plugin/clitest"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/wfnames"
)

var now = clitest.Now

const ns = clitest.Namespace

// run runs `cron args...` against clients, as `kubectl argo cron` would.
func run(t *testing.T, clients *cli.Clients, args ...string) clitest.Result {
	t.Helper()
	return clitest.Run(t, clitest.Faked(newCmd, clients), args...)
}

func fixture() []client.Object {
	last := metav1.NewTime(now.Add(-5 * time.Hour))
	return []client.Object{
		&argov1.CronWorkflow{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "nightly", UID: "u1", CreationTimestamp: metav1.NewTime(now.Add(-48 * time.Hour))},
			Spec: argov1.CronWorkflowSpec{Schedules: []string{"0 2 * * *"}, Timezone: "Europe/Paris", ConcurrencyPolicy: argov1.ForbidConcurrent,
				WorkflowSpec: argov1.WorkflowSpec{Entrypoint: "run", Templates: []argov1.Template{{Name: "run", Container: &corev1.Container{Image: "busybox"}}}}},
			Status: argov1.CronWorkflowStatus{LastScheduledTime: &last, Succeeded: 2, Failed: 1}},
		&argov1.CronWorkflow{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hourly", CreationTimestamp: metav1.NewTime(now.Add(-time.Hour))},
			Spec: argov1.CronWorkflowSpec{Schedule: "0 * * * *", Suspend: true}},
		&argov1.Workflow{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "nightly-abcde", CreationTimestamp: last,
			Labels: map[string]string{wfnames.LabelCronWorkflow: "nightly"}},
			Status: argov1.WorkflowStatus{Phase: argov1.WorkflowSucceeded, StartedAt: last, FinishedAt: metav1.NewTime(last.Add(time.Minute)), Progress: "1/1"}},
	}
}

func TestList(t *testing.T) {
	clients := clitest.NewClients(t, fixture()...)
	r := run(t, clients, "list")
	want := `NAME AGE LAST-RUN NEXT-RUN SCHEDULE TIMEZONE SUSPENDED
hourly 60m - - 0 * * * * - true
nightly 2d 5h in 13h 0 2 * * * Europe/Paris false`
	clitest.WantOutput(t, r, "", want)
	r = run(t, clients, "list", "-o", "name")
	if r.Out != "cronworkflow.argolite.dev/hourly\ncronworkflow.argolite.dev/nightly\n" {
		t.Errorf("-o name %q", r.Out)
	}
}

func TestGet(t *testing.T) {
	r := run(t, clitest.NewClients(t, fixture()...), "get", "nightly")
	want := `Name: nightly
Namespace: team
Created: 2026-02-27 12:00:00 UTC (2d ago)
Schedules: 0 2 * * *
Timezone: Europe/Paris
Suspended: false
ConcurrencyPolicy: Forbid
LastScheduledTime: 2026-03-01 07:00:00 UTC (5h ago)
NextScheduledTime: 2026-03-02 01:00:00 UTC
Runs: 2 succeeded, 1 failed

NAME STATUS AGE DURATION PROGRESS MESSAGE
nightly-abcde Succeeded 5h 60s 1/1`
	clitest.WantOutput(t, r, "", want)
	clitest.WantErr(t, run(t, clitest.NewClients(t), "get", "nope").Err,
		`cron workflow "nope" not found in namespace team: list them with kubectl argo cron list (-A for every namespace), or pick the namespace with -n`)
}

func TestCreate(t *testing.T) {
	clients := clitest.NewClients(t)
	r := run(t, clients, "create", "-f", "testdata/nightly.yaml")
	clitest.WantErr(t, r.Err, "")
	if r.Out != "cronworkflow.argolite.dev/nightly created\n" {
		t.Errorf("output %q", r.Out)
	}
	got := &argov1.CronWorkflow{}
	if err := clients.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "nightly"}, got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.Timezone != "Europe/Paris" || got.Spec.WorkflowSpec.Entrypoint != "run" {
		t.Errorf("created %+v", got.Spec)
	}
	in := strings.Replace(clitest.ReadFile(t, "testdata/nightly.yaml"), "entrypoint: run", "entrypoint: walk", 1)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	clitest.WantErr(t, run(t, clitest.NewClients(t), "create", "-f", bad).Err, bad+`: spec.workflowSpec.entrypoint: template "walk" not found`)
}

func TestSuspendResume(t *testing.T) {
	clients := clitest.NewClients(t, fixture()...)
	r := run(t, clients, "suspend", "nightly")
	clitest.WantErr(t, r.Err, "")
	got := &argov1.CronWorkflow{}
	_ = clients.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "nightly"}, got)
	if r.Out != "cronworkflow.argolite.dev/nightly suspended\n" || !got.Spec.Suspend {
		t.Errorf("suspend: %q, %v", r.Out, got.Spec.Suspend)
	}
	r = run(t, clients, "resume", "nightly", "hourly")
	clitest.WantErr(t, r.Err, "")
	for _, name := range []string{"nightly", "hourly"} {
		_ = clients.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, got)
		if got.Spec.Suspend {
			t.Errorf("%s still suspended", name)
		}
	}
	clitest.WantErr(t, run(t, clients, "suspend", "nope").Err, `cron workflow "nope" not found`)
}

func TestTrigger(t *testing.T) {
	clients := clitest.NewClients(t, fixture()...)
	r := run(t, clients, "trigger", "nightly")
	clitest.WantErr(t, r.Err, "")
	list := &argov1.WorkflowList{}
	if err := clients.Client.List(context.Background(), list); err != nil {
		t.Fatal(err)
	}
	var created *argov1.Workflow
	for i := range list.Items {
		if list.Items[i].Name != "nightly-abcde" {
			created = &list.Items[i]
		}
	}
	if created == nil {
		t.Fatal("no workflow created")
	}
	if !strings.HasPrefix(r.Out, "workflow.argolite.dev/"+created.Name+" submitted (from cron workflow nightly)\n") {
		t.Errorf("output %q", r.Out)
	}
	owner := created.OwnerReferences
	if created.Labels[wfnames.LabelCronWorkflow] != "nightly" || created.Annotations[wfnames.AnnotationScheduledTime] != "2026-03-01T12:00:00Z" ||
		len(owner) != 1 || owner[0].Name != "nightly" || owner[0].UID != "u1" || created.Spec.Entrypoint != "run" {
		t.Errorf("created %+v", created)
	}
	r = run(t, clients, "lint", "testdata/nightly.yaml")
	if r.Err != nil || !strings.HasSuffix(r.Out, "1 file linted, no errors\n") {
		t.Errorf("lint: %v\n%s", r.Err, r.Out)
	}
}
