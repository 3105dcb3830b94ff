package wf

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/clitest"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// names maps node IDs to node names (after the workflow's), sorted.
func names(wf *argov1.Workflow, ids []string) []string {
	var out []string
	for _, id := range ids {
		out = append(out, strings.TrimPrefix(wf.Status.Nodes[id].Name, wf.Name))
	}
	slices.Sort(out)
	return out
}

func failedDAG() *argov1.Workflow {
	b := newWorkflow("dag", argov1.WorkflowRunning)
	b.node("", argov1.NodeTypeDAG, argov1.NodeFailed, "main", "", "", 0, 20*time.Second)
	b.node(".A", argov1.NodeTypePod, argov1.NodeSucceeded, "echo", "-", "-", time.Second, 5*time.Second)
	b.node(".B", argov1.NodeTypePod, argov1.NodeFailed, "echo", ".A", "-", 7*time.Second, 5*time.Second, msg("exit code 1"))
	b.node(".C", argov1.NodeTypeSkipped, argov1.NodeOmitted, "echo", ".B", "-", 13*time.Second, 0)
	b.node(".sub", argov1.NodeTypeDAG, argov1.NodeFailed, "inner", ".A", "-", 7*time.Second, 10*time.Second)
	b.node(".sub.x", argov1.NodeTypePod, argov1.NodeError, "echo", ".sub", ".sub", 8*time.Second, 3*time.Second, msg("pod deleted"))
	b.node(".sub.y", argov1.NodeTypePod, argov1.NodeSucceeded, "echo", ".sub", ".sub", 8*time.Second, 3*time.Second)
	b.node(".onExit", argov1.NodeTypePod, argov1.NodeSucceeded, "notify", "", "", 21*time.Second, time.Second)
	b.done(argov1.WorkflowFailed, "child 'dag-1' failed", 22*time.Second)
	b.wf.Status.Conditions = []argov1.WorkflowCondition{{Type: "Completed", Status: "True"}}
	return b.wf
}

func TestFormulateRetry(t *testing.T) {
	succeeded := func() *argov1.Workflow {
		b := newWorkflow("ok", argov1.WorkflowRunning)
		b.node("", argov1.NodeTypeSteps, argov1.NodeSucceeded, "main", "", "", 0, 20*time.Second)
		b.node("[0]", argov1.NodeTypeStepGroup, argov1.NodeSucceeded, "main", "-", "-", 0, 10*time.Second)
		b.node("[0].build", argov1.NodeTypePod, argov1.NodeSucceeded, "build", "[0]", "-", time.Second, 9*time.Second)
		b.node("[1]", argov1.NodeTypeStepGroup, argov1.NodeSucceeded, "main", "-", "-", 10*time.Second, 10*time.Second)
		b.node("[1].test", argov1.NodeTypePod, argov1.NodeSucceeded, "test", "[1]", "-", 11*time.Second, 9*time.Second)
		return b.done(argov1.WorkflowSucceeded, "", 20*time.Second).wf
	}
	retriedOnce := func() *argov1.Workflow {
		wf := stepsWorkflow()
		b := &builder{wf: wf}
		// b's second attempt succeeded; the failure is elsewhere.
		n := wf.Status.Nodes[b.id("[1].b(1)")]
		n.Phase, n.Message = argov1.NodeSucceeded, ""
		wf.Status.Nodes[n.ID] = n
		b.node("[1].c", argov1.NodeTypePod, argov1.NodeFailed, "print", "[1]", "-", 11*time.Second, time.Second)
		return wf
	}
	tests := []struct {
		name       string
		wf         *argov1.Workflow
		restart    bool
		selector   string
		wantErr    string
		wantPods   []string
		wantReset  []string
		wantKept   []string
		wantAbsent []string
	}{
		{
			name:      "steps: the failed attempts go, their retry, group and steps are reset",
			wf:        stepsWorkflow(),
			wantPods:  []string{"[1].b(0)", "[1].b(1)"},
			wantReset: []string{"", "[1]", "[1].b"},
			wantKept:  []string{"[0]", "[0].hello", "[1].a"},
		},
		{
			name:       "DAG: failed and errored tasks go with their dependents, nested DAG and root reset, the exit handler goes",
			wf:         failedDAG(),
			wantPods:   []string{".B", ".onExit", ".sub.x"},
			wantReset:  []string{"", ".sub"},
			wantKept:   []string{".A", ".sub.y"},
			wantAbsent: []string{".C"},
		},
		{
			name:      "a failed attempt whose retry later succeeded stays",
			wf:        retriedOnce(),
			wantPods:  []string{"[1].c"},
			wantReset: []string{"", "[1]"},
			wantKept:  []string{"[1].b", "[1].b(0)", "[1].b(1)"},
		},
		{name: "running", wf: newWorkflow("run", argov1.WorkflowRunning).wf, wantErr: "it is Running: only a Failed or Error workflow can be retried"},
		{name: "succeeded", wf: succeeded(), wantErr: "it Succeeded"},
		{
			name: "succeeded, restarting a selected step", wf: succeeded(), restart: true, selector: "displayName=test",
			wantPods: []string{"[1].test"}, wantReset: []string{"", "[1]"}, wantKept: []string{"[0].build"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sel fields.Selector
			if tt.selector != "" {
				sel = fields.ParseSelectorOrDie(tt.selector)
			}
			plan, err := FormulateRetry(tt.wf, tt.restart, sel, now)
			clitest.WantErr(t, err, tt.wantErr)
			if tt.wantErr != "" {
				return
			}
			if got := names(tt.wf, plan.DeletedPodNodes); !slices.Equal(got, tt.wantPods) {
				t.Errorf("Pods deleted %q, want %q", got, tt.wantPods)
			}
			if got := names(tt.wf, plan.Reset); !slices.Equal(got, tt.wantReset) {
				t.Errorf("nodes reset %q, want %q", got, tt.wantReset)
			}
			st := plan.Status
			if st.Phase != "" || st.Message != "" || !st.FinishedAt.IsZero() || !st.StartedAt.Equal(ptr.To(at(0))) {
				t.Errorf("status not reset: phase %q, message %q, finished %v, started %v", st.Phase, st.Message, st.FinishedAt, st.StartedAt)
			}
			for _, id := range plan.Reset {
				n := st.Nodes[id]
				if n.Phase != argov1.NodeRunning || n.Message != "" || !n.FinishedAt.IsZero() {
					t.Errorf("reset node %s: %+v", n.Name, n)
				}
				for _, c := range n.Children {
					if _, ok := st.Nodes[c]; !ok {
						t.Errorf("reset node %s keeps deleted child %s", n.Name, c)
					}
				}
			}
			b := &builder{wf: tt.wf}
			for _, name := range tt.wantKept {
				if got, want := st.Nodes[b.id(name)], tt.wf.Status.Nodes[b.id(name)]; got.Phase != want.Phase || got.Message != want.Message {
					t.Errorf("node %s changed: %+v", name, got)
				}
			}
			for _, name := range append(tt.wantPods, tt.wantAbsent...) {
				if _, ok := st.Nodes[b.id(name)]; ok {
					t.Errorf("node %s kept", name)
				}
			}
			for _, c := range st.Conditions {
				if c.Type == "Completed" && c.Status != "False" {
					t.Errorf("Completed condition %v", c)
				}
			}
		})
	}
}

func TestRetryCommand(t *testing.T) {
	wf := failedDAG()
	wf.Spec.Shutdown = argov1.ShutdownStop
	pods := []client.Object{wf,
		stepPodOf(wf, "dag.A", corev1.PodSucceeded), stepPodOf(wf, "dag.B", corev1.PodFailed),
		stepPodOf(wf, "dag.sub.x", corev1.PodFailed), stepPodOf(wf, "dag.onExit", corev1.PodSucceeded)}
	clients := newClients(t, pods...)
	r := run(t, clients, "retry", "dag")
	clitest.WantErr(t, r.Err, "")
	if want := "workflow.argolite.dev/dag retried: 3 steps run again (3 Pods deleted)\nNext: kubectl argo wf get dag -w, or kubectl argo wf logs dag -f\n"; r.Out != want {
		t.Errorf("output:\n%s\nwant:\n%s", r.Out, want)
	}
	got := getWF(t, clients, "dag")
	if got.Spec.Shutdown != "" || got.Status.Phase != "" || len(got.Status.Nodes) != 4 {
		t.Errorf("after retry: shutdown %q, phase %q, %d nodes", got.Spec.Shutdown, got.Status.Phase, len(got.Status.Nodes))
	}
	for _, name := range []string{"dag.B", "dag.sub.x", "dag.onExit"} {
		err := clients.Client.Get(context.Background(), client.ObjectKeyFromObject(stepPodOf(wf, name, "")), &corev1.Pod{})
		if !apierrors.IsNotFound(err) {
			t.Errorf("Pod of %s not deleted: %v", name, err)
		}
	}
	if err := clients.Client.Get(context.Background(), client.ObjectKeyFromObject(stepPodOf(wf, "dag.A", "")), &corev1.Pod{}); err != nil {
		t.Errorf("Pod of the succeeded step deleted: %v", err)
	}

	clitest.WantErr(t, run(t, clients, "retry", "dag").Err, "workflow team/dag cannot be retried: it is Pending: only a Failed or Error workflow can be retried: "+
		"wait for it to end with kubectl argo wf wait dag, or stop it with kubectl argo wf stop dag")
	clitest.WantErr(t, run(t, clients, "retry", "dag", "--node-field-selector", "displayName=A").Err, "--node-field-selector selects succeeded steps to run again: add --restart-successful")
}
