package wf

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/argolite/argolite/plugin/clitest"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

func TestSuspendStopTerminate(t *testing.T) {
	clients := newClients(t, dagWorkflow(), stepsWorkflow())
	r := run(t, clients, "suspend", "diamond")
	clitest.WantErr(t, r.Err, "")
	if r.Out != "workflow.argolite.dev/diamond suspended\n" || !ptr.Deref(getWF(t, clients, "diamond").Spec.Suspend, false) {
		t.Errorf("suspend: %q, spec %+v", r.Out, getWF(t, clients, "diamond").Spec.Suspend)
	}
	if got := getWF(t, clients, "diamond"); len(got.Status.Nodes) != 5 {
		t.Errorf("the spec patch changed the status: %d nodes", len(got.Status.Nodes))
	}
	r = run(t, clients, "stop", "diamond")
	clitest.WantErr(t, r.Err, "")
	if r.Out != "workflow.argolite.dev/diamond stopped\n" || getWF(t, clients, "diamond").Spec.Shutdown != argov1.ShutdownStop {
		t.Errorf("stop: %q", r.Out)
	}
	r = run(t, clients, "terminate", "diamond")
	clitest.WantErr(t, r.Err, "")
	if r.Out != "workflow.argolite.dev/diamond terminated\n" || getWF(t, clients, "diamond").Spec.Shutdown != argov1.ShutdownTerminate {
		t.Errorf("terminate: %q", r.Out)
	}
	for _, verb := range []string{"suspend", "stop", "terminate", "resume"} {
		clitest.WantErr(t, run(t, clients, verb, "steps").Err, "workflow team/steps has already ended (Failed): there is nothing to "+verb+
			": run its failed steps again with kubectl argo wf retry steps, or run it again with kubectl argo wf resubmit steps")
		clitest.WantErr(t, run(t, clients, verb, "nope").Err, `workflow "nope" not found in namespace team`)
	}
}

// approval is a workflow waiting at a suspend step whose template asks for
// a value, as Argo's suspend-template-outputs example.
func approval(ref bool) (*argov1.Workflow, *argov1.WorkflowTemplate) {
	b := newWorkflow("release", argov1.WorkflowRunning)
	b.node("", argov1.NodeTypeSteps, argov1.NodeRunning, "main", "", "", 0, 0)
	b.node("[0]", argov1.NodeTypeStepGroup, argov1.NodeRunning, "main", "-", "-", 0, 0)
	b.node("[0].approve", argov1.NodeTypeSuspend, argov1.NodeRunning, "approve", "[0]", "-", time.Second, 0)
	b.node("[0].gate", argov1.NodeTypeSuspend, argov1.NodeRunning, "gate", "[0]", "-", time.Second, 0)
	approve := argov1.Template{Name: "approve", Suspend: &argov1.SuspendTemplate{}, Outputs: argov1.Outputs{Parameters: []argov1.Parameter{
		{Name: "approver", ValueFrom: &argov1.ValueFrom{Supplied: &argov1.SuppliedValueFrom{}}, GlobalName: "approved-by"},
		{Name: "reason", ValueFrom: &argov1.ValueFrom{Supplied: &argov1.SuppliedValueFrom{}, Default: argov1.AnyStringPtr("none given")}},
	}}}
	gate := argov1.Template{Name: "gate", Suspend: &argov1.SuspendTemplate{}}
	if !ref {
		b.wf.Spec.Templates = []argov1.Template{{Name: "main"}, approve, gate}
		return b.wf, nil
	}
	for _, name := range []string{"[0].approve", "[0].gate"} {
		n := b.wf.Status.Nodes[b.id(name)]
		n.TemplateRef = &argov1.TemplateRef{Name: "release", Template: n.TemplateName}
		n.TemplateName, n.TemplateScope = "", "namespaced/release"
		b.wf.Status.Nodes[n.ID] = n
	}
	return b.wf, &argov1.WorkflowTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "release"},
		Spec: argov1.WorkflowSpec{Templates: []argov1.Template{approve, gate}}}
}

func TestResumeSuppliedParameters(t *testing.T) {
	for _, ref := range []bool{false, true} {
		t.Run(map[bool]string{false: "template in the workflow", true: "templateRef"}[ref], func(t *testing.T) {
			wf, tmpl := approval(ref)
			objs := []client.Object{wf}
			if tmpl != nil {
				objs = append(objs, tmpl)
			}
			clients := newClients(t, objs...)
			r := run(t, clients, "resume", "release", "--node-field-selector", "displayName=approve", "-p", "approver=alice")
			clitest.WantErr(t, r.Err, "")
			if r.Out != "workflow.argolite.dev/release resumed\n" {
				t.Errorf("output %q", r.Out)
			}
			got := getWF(t, clients, "release")
			b := &builder{wf: got}
			approve, gate := got.Status.Nodes[b.id("[0].approve")], got.Status.Nodes[b.id("[0].gate")]
			if approve.Phase != argov1.NodeSucceeded || approve.FinishedAt.IsZero() || gate.Phase != argov1.NodeRunning {
				t.Errorf("approve %s, gate %s", approve.Phase, gate.Phase)
			}
			if out := approve.Outputs; out == nil || len(out.Parameters) != 2 || out.Parameters[0].Value.String() != "alice" ||
				out.Parameters[0].ValueFrom != nil || out.Parameters[1].Value.String() != "none given" {
				t.Errorf("outputs %+v", approve.Outputs)
			}
			if out := got.Status.Outputs; out == nil || len(out.Parameters) != 1 || out.Parameters[0].Name != "approved-by" ||
				out.Parameters[0].Value.String() != "alice" {
				t.Errorf("global outputs %+v", got.Status.Outputs)
			}
		})
	}
}

func TestResumeRejects(t *testing.T) {
	wf, _ := approval(false)
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--node-field-selector", "displayName=approve"},
			`suspend step approve of workflow team/release asks for output parameter "approver", which has no default: give it with -p approver=VALUE`},
		{[]string{"--node-field-selector", "displayName=nope"},
			"no suspend step of workflow team/release matches displayName=nope: the suspend steps that wait are approve, gate: select one with --node-field-selector displayName=NAME"},
		{[]string{"--node-field-selector", "displayName=gate", "-p", "approver=bob"},
			`-p approver: no resumed suspend step of workflow team/release asks for a parameter "approver"`},
		{[]string{"--node-field-selector", "display Name"}, `--node-field-selector "display Name"`},
	}
	for _, tt := range tests {
		clients := newClients(t, wf.DeepCopy())
		clitest.WantErr(t, run(t, clients, append([]string{"resume", "release"}, tt.args...)...).Err, tt.wantErr)
		got := getWF(t, clients, "release")
		if n := got.Status.Nodes[(&builder{wf: got}).id("[0].approve")]; n.Phase != argov1.NodeRunning {
			t.Errorf("%v: approve is %s after a refused resume", tt.args, n.Phase)
		}
	}
	running := newWorkflow("busy", argov1.WorkflowRunning).wf
	clitest.WantErr(t, run(t, newClients(t, running), "resume", "busy").Err,
		"workflow team/busy is not suspended: there is nothing to resume: see its state with kubectl argo wf get busy")
}

func TestResumeAll(t *testing.T) {
	wf, _ := approval(false)
	wf.Spec.Suspend = ptr.To(true)
	// The agent writes the status in between: the first patch conflicts,
	// and the resume is computed again from the new state.
	conflicts := 1
	funcs := interceptor.Funcs{SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
		if conflicts > 0 {
			conflicts--
			return apierrors.NewConflict(schema.GroupResource{Group: "argolite.dev", Resource: "workflows"}, obj.GetName(), nil)
		}
		return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
	}}
	clients := newClientsWith(t, funcs, wf)
	r := run(t, clients, "resume", "release", "-p", "approver=carol")
	clitest.WantErr(t, r.Err, "")
	got := getWF(t, clients, "release")
	if got.Spec.Suspend != nil {
		t.Errorf("spec.suspend %v, want it cleared", *got.Spec.Suspend)
	}
	for _, n := range got.Status.Nodes {
		if n.Type == argov1.NodeTypeSuspend && n.Phase != argov1.NodeSucceeded {
			t.Errorf("%s is %s", n.Name, n.Phase)
		}
	}
	if conflicts != 0 {
		t.Error("the conflict was not met")
	}
}

func TestResubmit(t *testing.T) {
	old := stepsWorkflow()
	old.Labels = map[string]string{"team": "web"}
	old.Spec.Shutdown = argov1.ShutdownTerminate
	clients := newClients(t, old)
	r := run(t, clients, "resubmit", "steps", "-p", "message=again")
	clitest.WantErr(t, r.Err, "")
	var created *argov1.Workflow
	for _, wf := range listWFs(t, clients) {
		if wf.Name != "steps" {
			created = &wf
		}
	}
	if created == nil || !strings.HasPrefix(created.Name, "steps-") || created.Labels[LabelResubmittedFrom] != "steps" ||
		created.Labels["team"] != "web" || created.Spec.Shutdown != "" || created.Spec.Arguments.Parameters[0].Value.String() != "again" ||
		len(created.Status.Nodes) != 0 {
		t.Fatalf("created %+v", created)
	}
	if !strings.HasPrefix(r.Out, "workflow.argolite.dev/"+created.Name+" submitted (resubmitted from steps)\n") {
		t.Errorf("output %q", r.Out)
	}
}

func TestDelete(t *testing.T) {
	old := stepsWorkflow() // ended 9m20s ago
	running := dagWorkflow()
	other := stepsWorkflow()
	other.Name, other.Namespace = "other", "elsewhere"
	clients := newClients(t, old, running, other)

	clitest.WantErr(t, run(t, clients, "delete").Err, "name the workflows to delete, or pass --all or --completed")
	clitest.WantErr(t, run(t, clients, "delete", "steps", "--all").Err, "NAMEs cannot be combined with --all or --completed")
	clitest.WantErr(t, run(t, clients, "delete", "nope").Err, `workflow "nope" not found in namespace team`)

	r := run(t, clients, "delete", "--completed", "--older", "1h")
	clitest.WantErr(t, r.Err, "")
	if r.ErrOut != "No workflows to delete.\n" {
		t.Errorf("stderr %q", r.ErrOut)
	}
	r = run(t, clients, "delete", "--older", "5m")
	clitest.WantErr(t, r.Err, "")
	if r.Out != "workflow.argolite.dev/steps deleted\n" {
		t.Errorf("output %q", r.Out)
	}
	r = run(t, clients, "delete", "--all", "-A")
	clitest.WantErr(t, r.Err, "")
	if r.Out != "workflow.argolite.dev/elsewhere/other deleted\nworkflow.argolite.dev/team/diamond deleted\n" {
		t.Errorf("output %q", r.Out)
	}
	if n := len(listWFs(t, clients)); n != 0 {
		t.Errorf("%d workflows left", n)
	}
}

func TestWait(t *testing.T) {
	agent := &fakeAgent{name: "diamond", steps: []func(*argov1.Workflow){
		func(*argov1.Workflow) {},
		func(wf *argov1.Workflow) {
			wf.Status.Phase, wf.Status.FinishedAt = argov1.WorkflowSucceeded, at(-10*time.Minute+30*time.Second)
		},
	}}
	r := run(t, newClientsWith(t, agent.funcs(), dagWorkflow(), stepsWorkflow()), "wait", "diamond", "steps")
	if !strings.Contains(r.Out, "Waiting for diamond: Running 1/2: B\n") ||
		!strings.HasSuffix(r.Out, "workflow.argolite.dev/diamond Succeeded in 30s\n"+
			"workflow.argolite.dev/steps Failed in 40s: child 'steps-1' failed (step b(0): exit code 1)\n") {
		t.Errorf("output:\n%s", r.Out)
	}
	clitest.WantErr(t, r.Err, "workflow team/steps Failed: child 'steps-1' failed (step b(0): exit code 1): see the failed steps with kubectl argo wf get steps")
	clitest.WantErr(t, run(t, newClients(t, dagWorkflow()), "wait", "diamond", "--timeout", "-1s").Err, "--timeout -1s: must be positive")
}
