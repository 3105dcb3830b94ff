package wf

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/argolite/argolite/plugin/clitest"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// compressed is wf as the agent stores a large workflow: its nodes in
// status.compressedNodes.
func compressed(t *testing.T, wf *argov1.Workflow) *argov1.Workflow {
	t.Helper()
	wf = wf.DeepCopy()
	if err := wf.DeflateNodes(); err != nil {
		t.Fatal(err)
	}
	if wf.Status.CompressedNodes == "" || wf.Status.Nodes != nil {
		t.Fatal("DeflateNodes left the nodes")
	}
	return wf
}

// storedCompressed checks that the stored workflow still has its nodes only
// in compressedNodes and returns it inflated.
func storedCompressed(t *testing.T, got *argov1.Workflow) *argov1.Workflow {
	t.Helper()
	if got.Status.CompressedNodes == "" || len(got.Status.Nodes) != 0 {
		t.Fatalf("stored workflow: %d nodes, compressedNodes %d bytes; want only compressedNodes",
			len(got.Status.Nodes), len(got.Status.CompressedNodes))
	}
	if err := got.InflateNodes(); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestCompressedNodesShowAsInflated(t *testing.T) {
	approving, _ := approval(false)
	for _, wf := range []*argov1.Workflow{stepsWorkflow(), dagWorkflow(), approving} {
		for _, args := range [][]string{{"get", wf.Name}, {"get", wf.Name, "-o", "wide"}, {"list"}, {"wait", wf.Name}} {
			if args[0] == "wait" && !wf.Status.Phase.Completed() {
				continue
			}
			want := run(t, newClients(t, wf.DeepCopy()), args...)
			got := run(t, newClients(t, compressed(t, wf)), args...)
			if got.Out != want.Out || got.ErrOut != want.ErrOut || (got.Err == nil) != (want.Err == nil) {
				t.Errorf("%v of the compressed workflow:\n%s%s%v\nwant, as inflated:\n%s%s%v", args, got.Out, got.ErrOut, got.Err,
					want.Out, want.ErrOut, want.Err)
			}
		}
	}
	// -o yaml shows the nodes, as Argo's CLI does.
	r := run(t, newClients(t, compressed(t, stepsWorkflow())), "get", "steps", "-o", "yaml")
	clitest.WantErr(t, r.Err, "")
	if !strings.Contains(r.Out, "\n  nodes:\n") || strings.Contains(r.Out, "compressedNodes") {
		t.Errorf("-o yaml:\n%s", r.Out)
	}
}

func TestResumeKeepsNodesCompressed(t *testing.T) {
	wf, _ := approval(false)
	clients := newClients(t, compressed(t, wf))
	clitest.WantErr(t, run(t, clients, "resume", "release", "--node-field-selector", "displayName=gate").Err, "")
	got := storedCompressed(t, getWF(t, clients, "release"))
	b := &builder{wf: got}
	if gate, approve := got.Status.Nodes[b.id("[0].gate")], got.Status.Nodes[b.id("[0].approve")]; gate.Phase != argov1.NodeSucceeded ||
		approve.Phase != argov1.NodeRunning || len(got.Status.Nodes) != len(wf.Status.Nodes) {
		t.Errorf("gate %s, approve %s, %d nodes", gate.Phase, approve.Phase, len(got.Status.Nodes))
	}
}

func TestRetryKeepsNodesCompressed(t *testing.T) {
	wf := failedDAG()
	clients := newClients(t, compressed(t, wf), stepPodOf(wf, "dag.B", corev1.PodFailed))
	clitest.WantErr(t, run(t, clients, "retry", "dag").Err, "")
	got := storedCompressed(t, getWF(t, clients, "dag"))
	if got.Status.Phase != "" || len(got.Status.Nodes) != 4 {
		t.Errorf("after retry: phase %q, %d nodes", got.Status.Phase, len(got.Status.Nodes))
	}
}

func TestCorruptCompressedNodes(t *testing.T) {
	wf := stepsWorkflow()
	wf.Status.Nodes, wf.Status.CompressedNodes = nil, "bm90IGd6aXA="
	clients := newClients(t, wf)
	clitest.WantErr(t, run(t, clients, "get", "steps").Err,
		"status.compressedNodes of workflow team/steps is corrupt: not gzip: unexpected EOF: its steps cannot be shown; "+
			"run it again with kubectl argo wf resubmit steps")
	clitest.WantErr(t, run(t, clients, "retry", "steps").Err, "status.compressedNodes of workflow team/steps is corrupt")
	// A list still shows it, and it can be run again.
	if r := run(t, clients, "list"); r.Err != nil || !strings.Contains(r.Out, "steps") {
		t.Errorf("list: %v\n%s", r.Err, r.Out)
	}
	clitest.WantErr(t, run(t, clients, "resubmit", "steps").Err, "")
}
