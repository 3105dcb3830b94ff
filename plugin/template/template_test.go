package template

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/plugin/cli/clitest"
	"github.com/argolite/argolite/plugin/wf"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const ns = "team"

type result struct {
	out, errOut string
	err         error
}

func run(t *testing.T, clients *cli.Clients, args ...string) result {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "`+clitest.Server+`"}}]
users: [{name: alice, user: {token: t}}]
contexts: [{name: ctx, context: {cluster: c, user: alice, namespace: `+ns+`}}]
current-context: ctx
`), 0o600); err != nil {
		t.Fatal(err)
	}
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	flags := genericclioptions.NewConfigFlags(false)
	*flags.KubeConfig = path
	cmd := newCmd(flags, streams, func(c *wf.Common) {
		c.Clients = clients
		c.Now = func() time.Time { return now }
		c.Interval = time.Millisecond
	})
	flags.AddFlags(cmd.PersistentFlags())
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	err := cmd.ExecuteContext(context.Background())
	return result{out: out.String(), errOut: errOut.String(), err: err}
}

func wantErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error:\n  %v\nwant it to contain:\n  %s", err, want)
	}
}

func squeeze(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
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
		r := run(t, clients, tt.args...)
		wantErr(t, r.err, "")
		if got := squeeze(r.out); got != tt.want {
			t.Errorf("%v:\n%s\nwant:\n%s", tt.args, got, tt.want)
		}
	}
	wantErr(t, run(t, clients, "list", "--cluster", "-A").err, "--cluster lists ClusterWorkflowTemplates, which have no namespace: drop -A")
	r := run(t, clitest.NewClients(t), "list")
	if r.errOut != "No WorkflowTemplates found in namespace team.\n" {
		t.Errorf("stderr %q", r.errOut)
	}
}

func TestGet(t *testing.T) {
	clients := clitest.NewClients(t, fixture()...)
	r := run(t, clients, "get", "ci")
	wantErr(t, r.err, "")
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
	if got := squeeze(r.out); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
	wantErr(t, run(t, clients, "get", "nope").err, `WorkflowTemplate "nope" not found in namespace team: list them with kubectl argo template list`)
	wantErr(t, run(t, clients, "get", "ci", "--cluster").err, `ClusterWorkflowTemplate "ci" not found: list them with kubectl argo template list --cluster`)
	r = run(t, clients, "get", "backup", "--cluster", "-o", "json")
	if r.err != nil || !strings.Contains(r.out, `"kind": "ClusterWorkflowTemplate"`) {
		t.Errorf("-o json: %v\n%s", r.err, r.out)
	}
}

func TestCreate(t *testing.T) {
	clients := clitest.NewClients(t)
	r := run(t, clients, "create", "-f", "testdata/ci.yaml")
	wantErr(t, r.err, "")
	if r.out != "workflowtemplate.argolite.dev/ci created\n" {
		t.Errorf("output %q", r.out)
	}
	got := &argov1.WorkflowTemplate{}
	if err := clients.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "ci"}, got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.Entrypoint != "build" || len(got.Spec.Templates) != 2 {
		t.Errorf("created %+v", got.Spec)
	}
	wantErr(t, run(t, clients, "create", "-f", "testdata/ci.yaml").err,
		"WorkflowTemplate team/ci already exists: delete it first with kubectl argo template delete ci, or replace it with kubectl apply -f")

	// The ClusterWorkflowTemplate calls ci (now in the cluster) and a template it lacks.
	r = run(t, clients, "create", "-f", "testdata/broken.yaml")
	wantErr(t, r.err, `testdata/broken.yaml: spec.templates[0].steps[0][1].template: template "verify" not found`)
	if strings.Contains(r.err.Error(), "templateRef") {
		t.Errorf("the templateRef to ci (in the cluster) was reported: %v", r.err)
	}
	list := &argov1.ClusterWorkflowTemplateList{}
	if err := clients.Client.List(context.Background(), list); err != nil || len(list.Items) > 0 {
		t.Errorf("created %d ClusterWorkflowTemplates despite the error (%v)", len(list.Items), err)
	}
	wantErr(t, run(t, clients, "create").err, "-f FILE is required")
	wantErr(t, run(t, clients, "create", "-f", "../wf/testdata/hello-world.yaml").err,
		"Workflow hello-world-: template create creates WorkflowTemplates and ClusterWorkflowTemplates: submit it with kubectl argo wf submit ../wf/testdata/hello-world.yaml")
}

func TestDeleteAndLint(t *testing.T) {
	clients := clitest.NewClients(t, fixture()...)
	r := run(t, clients, "delete", "backup", "--cluster")
	wantErr(t, r.err, "")
	if r.out != "clusterworkflowtemplate.argolite.dev/backup deleted\n" {
		t.Errorf("output %q", r.out)
	}
	wantErr(t, run(t, clients, "delete", "backup", "--cluster").err, `ClusterWorkflowTemplate "backup" not found`)
	wantErr(t, run(t, clients, "delete").err, "name the templates to delete, or pass --all")
	r = run(t, clients, "delete", "--all")
	if r.err != nil || r.out != "workflowtemplate.argolite.dev/ci deleted\n" {
		t.Errorf("delete --all: %v %q", r.err, r.out)
	}

	r = run(t, clients, "lint", "testdata/ci.yaml", "--offline")
	if r.err != nil || !strings.HasSuffix(r.out, "1 file linted, no errors\n") {
		t.Errorf("lint: %v\n%s", r.err, r.out)
	}
	r = run(t, clients, "lint", "testdata", "../wf/testdata/hello-world.yaml", "--offline", "-o", "simple")
	for _, s := range []string{`testdata/broken.yaml: spec.templates[0].steps[0][1].template: template "verify" not found`,
		"../wf/testdata/hello-world.yaml: kind: Workflow hello-world- is not linted here: lint it with kubectl argo wf lint", "3 files linted, "} {
		if !strings.Contains(r.out, s) {
			t.Errorf("lint output lacks %q:\n%s", s, r.out)
		}
	}
	var exit *cli.ExitError
	if r.err == nil || !asExit(r.err, &exit) || exit.Code != 1 {
		t.Errorf("lint error %v, want exit code 1", r.err)
	}
}

func asExit(err error, target **cli.ExitError) bool { return errors.As(err, target) }
