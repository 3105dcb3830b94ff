package wf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/plugin/clitest"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/wfnames"
)

func TestSubmitArgoFile(t *testing.T) {
	clients := newClients(t)
	r := run(t, clients, "submit", "testdata/hello-world.yaml")
	clitest.WantErr(t, r.Err, "")
	wfs := listWFs(t, clients)
	if len(wfs) != 1 {
		t.Fatalf("%d workflows created, want 1", len(wfs))
	}
	wf := wfs[0]
	if !strings.HasPrefix(wf.Name, "hello-world-") || wf.Namespace != ns || wf.Spec.Entrypoint != "hello-world" ||
		wf.Labels["workflows.argoproj.io/archive-strategy"] != "false" {
		t.Errorf("created %s/%s: %+v", wf.Namespace, wf.Name, wf)
	}
	want := "workflow.argolite.dev/" + wf.Name + " submitted\nNext: kubectl argo wf get " + wf.Name + " -w, or kubectl argo wf logs " + wf.Name + " -f\n"
	if r.Out != want {
		t.Errorf("output:\n%s\nwant:\n%s", r.Out, want)
	}
}

func TestSubmitOverrides(t *testing.T) {
	clients := newClients(t)
	r := run(t, clients, "submit", "testdata/hello-world.yaml", "--name", "hi", "--entrypoint", "hello-world",
		"--serviceaccount", "runner", "-l", "team=web,tier=ci", "-n", "apps", "-o", "name")
	clitest.WantErr(t, r.Err, "")
	if r.Out != "workflow.argolite.dev/hi\n" {
		t.Errorf("-o name printed %q", r.Out)
	}
	wfs := listWFs(t, clients)
	if len(wfs) != 1 {
		t.Fatalf("%d workflows", len(wfs))
	}
	clitest.WantErr(t, run(t, clients, "submit", "testdata/hello-world.yaml", "--entrypoint", "other").Err,
		`testdata/hello-world.yaml: spec.entrypoint: template "other" not found`)
	wf := wfs[0]
	if wf.Name != "hi" || wf.Namespace != "apps" || wf.Spec.Entrypoint != "hello-world" || wf.Spec.ServiceAccountName != "runner" ||
		wf.Labels["team"] != "web" || wf.Labels["tier"] != "ci" {
		t.Errorf("overrides not applied: %s/%s %+v %v", wf.Namespace, wf.Name, wf.Spec, wf.Labels)
	}
}

func TestSubmitParameters(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    map[string]string
		wantErr string
	}{
		{name: "-p sets declared parameters", args: []string{"-p", "revision=abc", "-p", "mode=full"},
			want: map[string]string{"revision": "abc", "image": "registry.example.com/app", "mode": "full"}},
		{name: "--parameter-file, -p wins", args: []string{"--parameter-file", "testdata/params.env.yaml", "-p", "image=x"},
			want: map[string]string{"revision": "v1.2.0", "image": "x", "mode": "fast"}},
		{name: "unknown parameter", args: []string{"-p", "revision=abc", "-p", "colour=blue"},
			wantErr: `testdata/params.yaml: -p colour: the workflow has no parameter "colour" (its parameters are image, mode, revision): check the name, or declare it in spec.arguments.parameters`},
		{name: "a value outside the enum", args: []string{"-p", "revision=abc", "-p", "mode=slow"},
			wantErr: "-p mode=slow: the value must be one of fast, full"},
		{name: "never supplied", args: nil,
			wantErr: `testdata/params.yaml: spec.arguments.parameters[0]: parameter "revision" has no value`},
		{name: "bad -p", args: []string{"-p", "revision"}, wantErr: `-p "revision": use NAME=VALUE, such as -p message=hello`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clients := newClients(t)
			r := run(t, clients, append([]string{"submit", "testdata/params.yaml"}, tt.args...)...)
			clitest.WantErr(t, r.Err, tt.wantErr)
			wfs := listWFs(t, clients)
			if tt.wantErr != "" {
				if len(wfs) > 0 {
					t.Errorf("created %d workflows despite the error", len(wfs))
				}
				return
			}
			got := map[string]string{}
			for _, p := range wfs[0].Spec.Arguments.Parameters {
				got[p.Name] = p.Value.String()
			}
			if !equality.Semantic.DeepEqual(got, tt.want) {
				t.Errorf("parameters %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSubmitRejectsInvalidFilesWhole(t *testing.T) {
	clients := newClients(t)
	r := run(t, clients, "submit", "testdata/hello-world.yaml", "testdata/invalid.yaml", "testdata/cyclic-steps.yaml")
	var e *cli.Error
	if !errors.As(r.Err, &e) {
		t.Fatalf("error %v, want a cli.Error", r.Err)
	}
	for _, s := range []string{
		"testdata/invalid.yaml: spec.templates[1].container.imagePullPolicyy: unknown field",
		"testdata/cyclic-steps.yaml: spec.templates[0].steps[0][0].colour: unknown field",
		"nothing was submitted",
	} {
		if !strings.Contains(r.Err.Error(), s) {
			t.Errorf("error lacks %q:\n%v", s, r.Err)
		}
	}
	if n := len(listWFs(t, clients)); n > 0 {
		t.Errorf("%d workflows created despite the errors", n)
	}

	// With the fields fixed, the structural errors of each file, all at once.
	clients = newClients(t)
	in := strings.ReplaceAll(clitest.ReadFile(t, "testdata/invalid.yaml"), "imagePullPolicyy", "imagePullPolicy")
	r = runWith(t, clients, nil, in, "submit", "-")
	for _, s := range []string{
		`stdin: spec.templates[0].dag.tasks[1].template: template "missing" not found`,
		"stdin: spec.templates[0].dag.tasks[0].depends: dependency cycle a -> c -> b -> a",
		"stdin: spec.templates[1].container.args[0]: invalid expression {{= sprig.upper( }}",
	} {
		if r.Err == nil || !strings.Contains(r.Err.Error(), s) {
			t.Errorf("error lacks %q:\n%v", s, r.Err)
		}
	}
	if n := len(listWFs(t, clients)); n > 0 {
		t.Errorf("%d workflows created despite the errors", n)
	}
}

func TestSubmitTemplateRefs(t *testing.T) {
	ci := &argov1.WorkflowTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ci"},
		Spec: argov1.WorkflowSpec{Templates: []argov1.Template{{Name: "build", Container: &corev1.Container{Image: "busybox"}}}}}
	r := run(t, newClients(t, ci), "submit", "testdata/uses-template.yaml")
	clitest.WantErr(t, r.Err, `testdata/uses-template.yaml: spec.templates[0].steps[0][1].templateRef.template: WorkflowTemplate "ci" has no template "deploy"`)
	r = run(t, newClients(t), "submit", "testdata/uses-template.yaml")
	clitest.WantErr(t, r.Err, `spec.templates[0].steps[0][0].templateRef: WorkflowTemplate "ci": not found in namespace team: create it first with kubectl argo template create -f FILE`)
}

func TestSubmitOtherKinds(t *testing.T) {
	r := run(t, newClients(t), "submit", "testdata/templates.yaml")
	clitest.WantErr(t, r.Err, "testdata/templates.yaml: WorkflowTemplate ci: submit runs Workflows: create it with kubectl argo template create -f testdata/templates.yaml")
	// template create takes either kind from the file; it has no --cluster.
	file := filepath.Join(t.TempDir(), "cluster-template.yaml")
	if err := os.WriteFile(file, []byte("apiVersion: argoproj.io/v1alpha1\nkind: ClusterWorkflowTemplate\nmetadata: {name: shared}\n"+
		"spec:\n  templates:\n  - {name: hello, container: {image: busybox, command: [echo]}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = run(t, newClients(t), "submit", file)
	clitest.WantErr(t, r.Err, file+": ClusterWorkflowTemplate shared: submit runs Workflows: create it with kubectl argo template create -f "+file)
	if r.Err != nil && strings.Contains(r.Err.Error(), "--cluster") {
		t.Errorf("the hint names a flag template create does not have: %v", r.Err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "nothing to submit: give workflow FILEs"},
		{[]string{"testdata/params.yaml", "--from", "workflowtemplate/ci"}, "FILEs and --from cannot be combined"},
		{[]string{"--from", "deployment/web"}, `--from "deployment/web": use workflowtemplate/NAME`},
		{[]string{"testdata/params.yaml", "--watch", "--log"}, "--watch and --log cannot be combined"},
		{[]string{"testdata/params.yaml", "--timeout", "1m"}, "--timeout limits --wait, --watch and --log"},
		{[]string{"testdata/nope.yaml"}, "testdata/nope.yaml: no such file or directory"},
	} {
		clitest.WantErr(t, run(t, newClients(t), append([]string{"submit"}, tt.args...)...).Err, tt.want)
	}
}

func TestSubmitFrom(t *testing.T) {
	ci := &argov1.WorkflowTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ci"},
		Spec: argov1.WorkflowSpec{Entrypoint: "build", Arguments: argov1.Arguments{Parameters: []argov1.Parameter{
			{Name: "branch", Value: argov1.AnyStringPtr("main")}, {Name: "target"}}},
			Templates:        []argov1.Template{{Name: "build", Container: &corev1.Container{Image: "busybox"}}},
			WorkflowMetadata: &argov1.WorkflowMetadata{Labels: map[string]string{"team": "ci"}}}}
	backup := &argov1.ClusterWorkflowTemplate{ObjectMeta: metav1.ObjectMeta{Name: "backup"},
		Spec: argov1.WorkflowSpec{Entrypoint: "run", Templates: []argov1.Template{{Name: "run", Container: &corev1.Container{Image: "busybox"}}}}}
	nightly := &argov1.CronWorkflow{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "nightly", UID: "cron-uid"},
		Spec: argov1.CronWorkflowSpec{Schedules: []string{"0 2 * * *"}, WorkflowSpec: argov1.WorkflowSpec{Entrypoint: "run",
			Templates: []argov1.Template{{Name: "run", Container: &corev1.Container{Image: "busybox"}}}},
			WorkflowMetadata: &metav1.ObjectMeta{Labels: map[string]string{"team": "ops"}}}}

	t.Run("workflowtemplate", func(t *testing.T) {
		clients := newClients(t, ci)
		r := run(t, clients, "submit", "--from", "workflowtemplate/ci", "-p", "target=prod")
		clitest.WantErr(t, r.Err, "")
		wf := listWFs(t, clients)[0]
		want := argov1.WorkflowSpec{WorkflowTemplateRef: &argov1.WorkflowTemplateRef{Name: "ci"},
			Arguments: argov1.Arguments{Parameters: []argov1.Parameter{{Name: "target", Value: argov1.AnyStringPtr("prod")}}}}
		if !equality.Semantic.DeepEqual(wf.Spec, want) || !strings.HasPrefix(wf.Name, "ci-") ||
			wf.Labels[LabelWorkflowTemplate] != "ci" || wf.Labels["team"] != "ci" {
			t.Errorf("created %s: spec %+v, labels %v", wf.Name, wf.Spec, wf.Labels)
		}
	})
	t.Run("a parameter the template lacks, and one nobody supplies", func(t *testing.T) {
		clients := newClients(t, ci)
		clitest.WantErr(t, run(t, clients, "submit", "--from", "wftmpl/ci", "-p", "colour=red").Err,
			`-p colour: the workflow has no parameter "colour" (its parameters are branch, target)`)
		clitest.WantErr(t, run(t, clients, "submit", "--from", "wftmpl/ci").Err,
			`wftmpl/ci: spec.arguments.parameters: parameter "target" (from WorkflowTemplate "ci") has no value`)
		if n := len(listWFs(t, clients)); n > 0 {
			t.Errorf("%d workflows created", n)
		}
	})
	t.Run("clusterworkflowtemplate", func(t *testing.T) {
		clients := newClients(t, backup)
		clitest.WantErr(t, run(t, clients, "submit", "--from", "clusterworkflowtemplate/backup").Err, "")
		wf := listWFs(t, clients)[0]
		if ref := wf.Spec.WorkflowTemplateRef; ref == nil || ref.Name != "backup" || !ref.ClusterScope || wf.Labels[LabelClusterWorkflowTemplate] != "backup" {
			t.Errorf("created %+v", wf)
		}
	})
	t.Run("cronworkflow", func(t *testing.T) {
		clients := newClients(t, nightly)
		clitest.WantErr(t, run(t, clients, "submit", "--from", "cronwf/nightly").Err, "")
		wf := listWFs(t, clients)[0]
		owner := wf.OwnerReferences
		if wf.Spec.Entrypoint != "run" || wf.Labels[wfnames.LabelCronWorkflow] != "nightly" || wf.Labels["team"] != "ops" ||
			wf.Annotations[wfnames.AnnotationScheduledTime] != "2026-03-01T12:00:00Z" || len(owner) != 1 || owner[0].Kind != "CronWorkflow" ||
			owner[0].UID != "cron-uid" || owner[0].Controller == nil || !*owner[0].Controller || !strings.HasPrefix(wf.Name, "nightly-") {
			t.Errorf("created %+v", wf)
		}
	})
	t.Run("not found", func(t *testing.T) {
		clitest.WantErr(t, run(t, newClients(t), "submit", "--from", "workflowtemplate/nope").Err,
			`WorkflowTemplate "nope" not found in namespace team: list them with kubectl argo template list, or pick the namespace with -n`)
		clitest.WantErr(t, run(t, newClients(t), "submit", "--from", "cronworkflow/nope").Err, "list them with kubectl argo cron list")
	})
}

func TestSubmitWait(t *testing.T) {
	finish := func(phase argov1.WorkflowPhase, message string) []func(*argov1.Workflow) {
		return []func(*argov1.Workflow){
			func(wf *argov1.Workflow) {
				b := &builder{wf: wf}
				wf.Status.Phase, wf.Status.StartedAt, wf.Status.Progress = argov1.WorkflowRunning, at(0), "0/1"
				b.node("", argov1.NodeTypePod, argov1.NodeRunning, "build", "", "", 10*time.Minute, 0)
			},
			func(wf *argov1.Workflow) {
				n := wf.Status.Nodes[wf.Name]
				n.Phase, n.Message, n.FinishedAt = argov1.NodePhase(phase), message, at(time.Minute)
				if phase == argov1.WorkflowSucceeded {
					n.Message = ""
				}
				wf.Status.Nodes[wf.Name] = n
				wf.Status.Phase, wf.Status.FinishedAt = phase, at(time.Minute)
				if phase != argov1.WorkflowSucceeded {
					wf.Status.Message = "child failed"
				}
			},
		}
	}
	t.Run("succeeded", func(t *testing.T) {
		agent := &fakeAgent{name: "*", steps: finish(argov1.WorkflowSucceeded, "")}
		r := run(t, newClientsWith(t, agent.funcs()), "submit", "testdata/params.yaml", "-p", "revision=x", "--wait")
		clitest.WantErr(t, r.Err, "")
		want := "workflow.argolite.dev/build submitted\nWaiting for build: Running 0/1: build\nworkflow.argolite.dev/build Succeeded in 60s\n"
		if r.Out != want {
			t.Errorf("output:\n%s\nwant:\n%s", r.Out, want)
		}
	})
	t.Run("failed", func(t *testing.T) {
		agent := &fakeAgent{name: "*", steps: finish(argov1.WorkflowFailed, "exit code 2")}
		r := run(t, newClientsWith(t, agent.funcs()), "submit", "testdata/params.yaml", "-p", "revision=x", "--wait")
		var exit *cli.ExitError
		if !errors.As(r.Err, &exit) || exit.Code != 1 {
			t.Fatalf("error %v, want a cli.ExitError with code 1", r.Err)
		}
		clitest.WantErr(t, r.Err, "workflow team/build Failed: child failed (step build: exit code 2): see the failed steps with kubectl argo wf get build and their logs with kubectl argo wf logs build; run them again with kubectl argo wf retry build")
		if !strings.Contains(r.Out, "workflow.argolite.dev/build Failed in 60s: child failed (step build: exit code 2)\n") {
			t.Errorf("output:\n%s", r.Out)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		r := run(t, newClients(t), "submit", "testdata/params.yaml", "-p", "revision=x", "--wait", "--timeout", "20ms")
		clitest.WantErr(t, r.Err, "timed out after 20ms waiting for workflow build to end: see where it is with kubectl argo wf get build, or wait longer with --timeout")
	})
	t.Run("-o keeps stdout for the object", func(t *testing.T) {
		agent := &fakeAgent{name: "*", steps: finish(argov1.WorkflowSucceeded, "")}
		r := run(t, newClientsWith(t, agent.funcs()), "submit", "testdata/params.yaml", "-p", "revision=x", "--wait", "-o", "name")
		clitest.WantErr(t, r.Err, "")
		if r.Out != "workflow.argolite.dev/build\n" || !strings.Contains(r.ErrOut, "Succeeded") {
			t.Errorf("stdout %q, stderr %q", r.Out, r.ErrOut)
		}
	})
}

func TestSubmitLog(t *testing.T) {
	agent := &fakeAgent{name: "*", steps: []func(*argov1.Workflow){
		func(wf *argov1.Workflow) {
			b := &builder{wf: wf}
			wf.Status.Phase, wf.Status.StartedAt, wf.Status.FinishedAt = argov1.WorkflowSucceeded, at(0), at(time.Second)
			b.node("", argov1.NodeTypePod, argov1.NodeSucceeded, "build", "", "", 0, time.Second)
		},
	}}
	// The step's Pod appears when the agent runs it.
	agent.pods = func(_ int, wf *argov1.Workflow) []*corev1.Pod {
		return []*corev1.Pod{stepPodOf(wf, "build", corev1.PodSucceeded)}
	}
	logs := &fakeLogs{logs: map[string]string{"build": "compiling\ndone\n"}}
	r := runWith(t, newClientsWith(t, agent.funcs()), logs, "", "submit", "testdata/params.yaml", "-p", "revision=x", "--log")
	clitest.WantErr(t, r.Err, "")
	want := "workflow.argolite.dev/build submitted\nbuild: compiling\nbuild: done\nworkflow.argolite.dev/build Succeeded in 1s\n"
	if r.Out != want {
		t.Errorf("output:\n%s\nwant:\n%s", r.Out, want)
	}
}

func TestSubmitExportedFile(t *testing.T) {
	// A workflow exported from a cluster (kubectl get -o yaml) submits
	// again: what the API server and the agent set is dropped.
	in := `apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata:
  name: again
  resourceVersion: "123"
  uid: 6b0c3e7e-0000-4000-8000-000000000000
  creationTimestamp: "2026-01-01T00:00:00Z"
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: busybox}
status:
  phase: Failed
  message: old
`
	clients := newClients(t)
	r := runWith(t, clients, nil, in, "submit", "-")
	clitest.WantErr(t, r.Err, "")
	got := getWF(t, clients, "again")
	if got.Status.Phase != "" || got.Status.Message != "" || got.UID == "6b0c3e7e-0000-4000-8000-000000000000" {
		t.Errorf("created with %+v, uid %s", got.Status, got.UID)
	}
}
