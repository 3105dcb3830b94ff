package wf

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

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
			if got.out != want.out || got.errOut != want.errOut || (got.err == nil) != (want.err == nil) {
				t.Errorf("%v of the compressed workflow:\n%s%s%v\nwant, as inflated:\n%s%s%v", args, got.out, got.errOut, got.err,
					want.out, want.errOut, want.err)
			}
		}
	}
	// -o yaml shows the nodes, as Argo's CLI does.
	r := run(t, newClients(t, compressed(t, stepsWorkflow())), "get", "steps", "-o", "yaml")
	wantErr(t, r.err, "")
	if !strings.Contains(r.out, "\n  nodes:\n") || strings.Contains(r.out, "compressedNodes") {
		t.Errorf("-o yaml:\n%s", r.out)
	}
}

func TestResumeKeepsNodesCompressed(t *testing.T) {
	wf, _ := approval(false)
	clients := newClients(t, compressed(t, wf))
	wantErr(t, run(t, clients, "resume", "release", "--node-field-selector", "displayName=gate").err, "")
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
	wantErr(t, run(t, clients, "retry", "dag").err, "")
	got := storedCompressed(t, getWF(t, clients, "dag"))
	if got.Status.Phase != "" || len(got.Status.Nodes) != 4 {
		t.Errorf("after retry: phase %q, %d nodes", got.Status.Phase, len(got.Status.Nodes))
	}
}

func TestCorruptCompressedNodes(t *testing.T) {
	wf := stepsWorkflow()
	wf.Status.Nodes, wf.Status.CompressedNodes = nil, "bm90IGd6aXA="
	clients := newClients(t, wf)
	wantErr(t, run(t, clients, "get", "steps").err,
		"status.compressedNodes of workflow team/steps is corrupt: not gzip: unexpected EOF: its steps cannot be shown; "+
			"run it again with kubectl argo wf resubmit steps")
	wantErr(t, run(t, clients, "retry", "steps").err, "status.compressedNodes of workflow team/steps is corrupt")
	// A list still shows it, and it can be run again.
	if r := run(t, clients, "list"); r.err != nil || !strings.Contains(r.out, "steps") {
		t.Errorf("list: %v\n%s", r.err, r.out)
	}
	wantErr(t, run(t, clients, "resubmit", "steps").err, "")
}
