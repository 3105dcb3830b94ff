package template

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/plugin/clitest"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

var now = clitest.Now

const ns = clitest.Namespace

// run runs `template args...` against clients, as `kubectl argo template` would.
func run(t *testing.T, clients *cli.Clients, args ...string) clitest.Result {
	t.Helper()
	return clitest.Run(t, clitest.Faked(newCmd, clients), args...)
}

func fixture() []client.Object {
	build := argov1.Template{Name: "build", Container: &corev1.Container{Image: "busybox"}}
	return []client.Object{
		&argov1.WorkflowTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ci", CreationTimestamp: metav1.NewTime(now.Add(-time.Hour))},
			Spec: argov1.WorkflowSpec{Entrypoint: "build", Templates: []argov1.Template{build, {Name: "wait", Suspend: &argov1.SuspendTemplate{}}},
				Arguments: argov1.Arguments{Parameters: []argov1.Parameter{{Name: "branch", Value: argov1.AnyStringPtr("main")}, {Name: "target"}}}}},
		&argov1.WorkflowTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: "ops", Name: "release", CreationTimestamp: metav1.NewTime(now.Add(-2 * time.Hour))},
			Spec: argov1.WorkflowSpec{Templates: []argov1.Template{build}}},
		&argov1.ClusterWorkflowTemplate{ObjectMeta: metav1.ObjectMeta{Name: "backup", CreationTimestamp: metav1.NewTime(now.Add(-3 * time.Hour))},
			Spec: argov1.WorkflowSpec{Entrypoint: "build", Templates: []argov1.Template{build}}},
	}
}

func TestList(t *testing.T) {
	clients := clitest.NewClients(t, fixture()...)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"list"}, "NAME ENTRYPOINT TEMPLATES PARAMETERS AGE\nci build 2 branch,target 60m"},
		{[]string{"ls", "-A"}, "NAMESPACE NAME ENTRYPOINT TEMPLATES PARAMETERS AGE\nops release - 1 - 120m\nteam ci build 2 branch,target 60m"},
		{[]string{"list", "--cluster"}, "NAME ENTRYPOINT TEMPLATES PARAMETERS AGE\nbackup build 1 - 3h"},
		{[]string{"list", "--cluster", "-o", "name"}, "clusterworkflowtemplate.argolite.dev/backup"},
	} {
		clitest.WantOutput(t, run(t, clients, tt.args...), "", tt.want)
	}
	clitest.WantErr(t, run(t, clients, "list", "--cluster", "-A").Err, "--cluster lists ClusterWorkflowTemplates, which have no namespace: drop -A")
	r := run(t, clitest.NewClients(t), "list")
	if r.ErrOut != "No WorkflowTemplates found in namespace team.\n" {
		t.Errorf("stderr %q", r.ErrOut)
	}
}

func TestGet(t *testing.T) {
	clients := clitest.NewClients(t, fixture()...)
	r := run(t, clients, "get", "ci")
	want := `Name: ci
Namespace: team
Created: 2026-03-01 11:00:00 UTC (60m ago)
Entrypoint: build
Parameters:
branch: main
target: (no default: pass it with -p target=VALUE)
Templates:
build container busybox
wait suspend

Run it with kubectl argo wf submit --from workflowtemplate/ci`
	clitest.WantOutput(t, r, "", want)
	clitest.WantErr(t, run(t, clients, "get", "nope").Err, `WorkflowTemplate "nope" not found in namespace team: list them with kubectl argo template list`)
	clitest.WantErr(t, run(t, clients, "get", "ci", "--cluster").Err, `ClusterWorkflowTemplate "ci" not found: list them with kubectl argo template list --cluster`)
	r = run(t, clients, "get", "backup", "--cluster", "-o", "json")
	if r.Err != nil || !strings.Contains(r.Out, `"kind": "ClusterWorkflowTemplate"`) {
		t.Errorf("-o json: %v\n%s", r.Err, r.Out)
	}
}

func TestCreate(t *testing.T) {
	clients := clitest.NewClients(t)
	r := run(t, clients, "create", "-f", "testdata/ci.yaml")
	clitest.WantErr(t, r.Err, "")
	if r.Out != "workflowtemplate.argolite.dev/ci created\n" {
		t.Errorf("output %q", r.Out)
	}
	got := &argov1.WorkflowTemplate{}
	if err := clients.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "ci"}, got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.Entrypoint != "build" || len(got.Spec.Templates) != 2 {
		t.Errorf("created %+v", got.Spec)
	}
	clitest.WantErr(t, run(t, clients, "create", "-f", "testdata/ci.yaml").Err,
		"WorkflowTemplate team/ci already exists: delete it first with kubectl argo template delete ci, or replace it with kubectl apply -f")

	// The ClusterWorkflowTemplate calls ci (now in the cluster) and a template it lacks.
	r = run(t, clients, "create", "-f", "testdata/broken.yaml")
	clitest.WantErr(t, r.Err, `testdata/broken.yaml: spec.templates[0].steps[0][1].template: template "verify" not found`)
	if strings.Contains(r.Err.Error(), "templateRef") {
		t.Errorf("the templateRef to ci (in the cluster) was reported: %v", r.Err)
	}
	list := &argov1.ClusterWorkflowTemplateList{}
	if err := clients.Client.List(context.Background(), list); err != nil || len(list.Items) > 0 {
		t.Errorf("created %d ClusterWorkflowTemplates despite the error (%v)", len(list.Items), err)
	}
	clitest.WantErr(t, run(t, clients, "create").Err, "-f FILE is required")
	clitest.WantErr(t, run(t, clients, "create", "-f", "../wf/testdata/hello-world.yaml").Err,
		"Workflow hello-world-: template create creates WorkflowTemplates and ClusterWorkflowTemplates: submit it with kubectl argo wf submit ../wf/testdata/hello-world.yaml")
}

func TestDeleteAndLint(t *testing.T) {
	clients := clitest.NewClients(t, fixture()...)
	r := run(t, clients, "delete", "backup", "--cluster")
	clitest.WantErr(t, r.Err, "")
	if r.Out != "clusterworkflowtemplate.argolite.dev/backup deleted\n" {
		t.Errorf("output %q", r.Out)
	}
	clitest.WantErr(t, run(t, clients, "delete", "backup", "--cluster").Err, `ClusterWorkflowTemplate "backup" not found`)
	clitest.WantErr(t, run(t, clients, "delete").Err, "name the templates to delete, or pass --all")
	r = run(t, clients, "delete", "--all")
	if r.Err != nil || r.Out != "workflowtemplate.argolite.dev/ci deleted\n" {
		t.Errorf("delete --all: %v %q", r.Err, r.Out)
	}

	r = run(t, clients, "lint", "testdata/ci.yaml", "--offline")
	if r.Err != nil || !strings.HasSuffix(r.Out, "1 file linted, no errors\n") {
		t.Errorf("lint: %v\n%s", r.Err, r.Out)
	}
	r = run(t, clients, "lint", "testdata", "../wf/testdata/hello-world.yaml", "--offline", "-o", "simple")
	for _, s := range []string{`testdata/broken.yaml: spec.templates[0].steps[0][1].template: template "verify" not found`,
		"../wf/testdata/hello-world.yaml: kind: Workflow hello-world- is not linted here: lint it with kubectl argo wf lint", "3 files linted, "} {
		if !strings.Contains(r.Out, s) {
			t.Errorf("lint output lacks %q:\n%s", s, r.Out)
		}
	}
	var exit *cli.ExitError
	if r.Err == nil || !asExit(r.Err, &exit) || exit.Code != 1 {
		t.Errorf("lint error %v, want exit code 1", r.Err)
	}
}

func asExit(err error, target **cli.ExitError) bool { return errors.As(err, target) }
