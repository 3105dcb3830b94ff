package workflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/argolite/argolite/agent/exec"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// fanOut is a steps workflow: one step a, then n steps of a script whose
// result and output parameter the harness fills with a JSON record.
func fanOut(n int) string {
	return fmt.Sprintf(`
metadata: {name: fan}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: a, template: work, arguments: {parameters: [{name: id, value: "a"}]}}
    - - name: each
        template: work
        withSequence: {count: "%d"}
        arguments: {parameters: [{name: id, value: "{{item}}"}]}
  - name: work
    inputs: {parameters: [{name: id}]}
    outputs: {parameters: [{name: checksum, valueFrom: {path: /tmp/checksum}}]}
    script: {image: alpine, command: [sh], source: "process {{inputs.parameters.id}}"}
`, n)
}

// finishWithRecord completes a fan-out Pod with a result such as a real
// step prints: a JSON record of a few hundred bytes.
func finishWithRecord(p *corev1.Pod) (int, exec.Result) {
	var spec exec.Spec
	_ = json.Unmarshal([]byte(p.Annotations[exec.AnnotationSpec]), &spec)
	item := strings.TrimPrefix(spec.Script.Source, "process ")
	sum := sha256.Sum256([]byte(item))
	checksum := hex.EncodeToString(sum[:])
	rec, _ := json.Marshal(map[string]any{"item": item, "status": "processed", "sha256": checksum,
		"source": "s3://datasets/2026-03/part-" + item + ".parquet", "target": "s3://warehouse/orders/2026-03/part-" + item + ".parquet",
		"rows": 48213, "bytes": 7340032, "seconds": 12.4, "worker": p.Name,
		"columns":  []string{"order_id", "customer_id", "created_at", "status", "currency", "amount", "country", "channel", "coupon", "items"},
		"warnings": []string{"3 rows skipped: empty customer_id", "12 rows: amount rounded to 2 decimals", "currency XTS mapped to USD"}})
	result := string(rec)
	return 0, exec.Result{Result: &result, Parameters: []exec.ParameterValue{{Name: "checksum", Value: checksum}}}
}

// sizes are the JSON sizes of wf with its nodes inflated and compressed.
func sizes(t *testing.T, wf *argov1.Workflow) (inflated, compressed int) {
	t.Helper()
	in := wf.DeepCopy()
	if err := in.InflateNodes(); err != nil {
		t.Fatal(err)
	}
	out := in.DeepCopy()
	if err := out.DeflateNodes(); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(in)
	b, _ := json.Marshal(out)
	return len(a), len(b)
}

func podNodes(wf *argov1.Workflow, phase argov1.NodePhase) int {
	n := 0
	for _, node := range wf.Status.Nodes {
		if node.Type == argov1.NodeTypePod && node.Phase == phase {
			n++
		}
	}
	return n
}

func TestThousandNodeWorkflowStaysUnderTheLimit(t *testing.T) {
	h := newHarness(t, fanOut(999))
	h.finish = finishWithRecord
	wf := h.run()
	if wf.Status.Phase != argov1.WorkflowSucceeded {
		t.Fatalf("phase %s: %s", wf.Status.Phase, wf.Status.Message)
	}
	if got := podNodes(wf, argov1.NodeSucceeded); got != 1000 {
		t.Fatalf("%d Pod nodes succeeded, want 1000", got)
	}
	if n := nodeNamed(t, wf, "fan[1].each(998:998)"); n.Outputs == nil || n.Outputs.Result == nil || !strings.Contains(*n.Outputs.Result, `"item":"998"`) {
		t.Errorf("the last step's outputs were lost: %+v", n.Outputs)
	}
	inflated, compressed := sizes(t, h.stored)
	stored, _ := json.Marshal(h.stored)
	t.Logf("1,000-node workflow (%d nodes): JSON %d bytes inflated, %d bytes with status.compressedNodes; stored %d bytes (largest write %d), limit %d",
		len(wf.Status.Nodes), inflated, compressed, len(stored), h.maxStored, DefaultMaxWorkflowSize)
	if h.maxStored > DefaultMaxWorkflowSize {
		t.Errorf("a stored workflow took %d bytes, more than %d", h.maxStored, DefaultMaxWorkflowSize)
	}
	if inflated > DefaultMaxWorkflowSize && (h.stored.Status.CompressedNodes == "" || h.stored.Status.Nodes != nil) {
		t.Errorf("the workflow takes %d bytes inflated but was not stored compressed", inflated)
	}
}

func TestSmallMaxSizeCompressesNodes(t *testing.T) {
	h := newHarness(t, fanOut(20))
	h.finish = finishWithRecord
	h.r.Options.MaxWorkflowSize = 8 << 10
	wf := h.run()
	if wf.Status.Phase != argov1.WorkflowSucceeded {
		t.Fatalf("phase %s: %s", wf.Status.Phase, wf.Status.Message)
	}
	if h.stored.Status.CompressedNodes == "" || h.stored.Status.Nodes != nil {
		t.Fatalf("stored workflow: %d nodes, compressedNodes %d bytes; want only compressedNodes",
			len(h.stored.Status.Nodes), len(h.stored.Status.CompressedNodes))
	}
	raw, _ := json.Marshal(h.stored)
	if strings.Contains(string(raw), `"nodes"`) {
		t.Errorf("the stored JSON has status.nodes")
	}
	if h.maxStored > 8<<10 {
		t.Errorf("a stored workflow took %d bytes, more than 8 KiB", h.maxStored)
	}
	if got := podNodes(wf, argov1.NodeSucceeded); got != 21 {
		t.Errorf("%d Pod nodes succeeded, want 21: %s", got, summary(wf))
	}
	inflated, compressed := sizes(t, h.stored)
	t.Logf("%d-node workflow: %d bytes inflated, %d compressed", len(wf.Status.Nodes), inflated, compressed)
}

func TestNodesInflatedAgainWhenTheyFit(t *testing.T) {
	h := newHarness(t, fanOut(20))
	h.r.Options.MaxWorkflowSize = 6 << 10
	compressedOnce := false
	h.finish = func(p *corev1.Pod) (int, exec.Result) {
		// Once the agent has stored the nodes compressed, raise the limit: the
		// next write switches back, and its patch must clear compressedNodes.
		if h.stored != nil && h.stored.Status.CompressedNodes != "" {
			compressedOnce = true
			h.r.Options.MaxWorkflowSize = 0
		}
		return finishWithRecord(p)
	}
	wf := h.run()
	if wf.Status.Phase != argov1.WorkflowSucceeded {
		t.Fatalf("phase %s: %s", wf.Status.Phase, wf.Status.Message)
	}
	if !compressedOnce {
		t.Fatal("the nodes were never stored compressed")
	}
	if h.stored.Status.CompressedNodes != "" || len(h.stored.Status.Nodes) != 24 {
		t.Errorf("stored workflow: %d nodes, compressedNodes %d bytes; want 24 inflated nodes",
			len(h.stored.Status.Nodes), len(h.stored.Status.CompressedNodes))
	}
}

func TestTooLargeEvenCompressedEndsInError(t *testing.T) {
	const limit = 6 << 10
	h := newHarness(t, fanOut(300))
	h.finish = finishWithRecord
	h.r.Options.MaxWorkflowSize = limit
	wf := h.run()
	if wf.Status.Phase != argov1.WorkflowError {
		t.Fatalf("phase %s: %s", wf.Status.Phase, wf.Status.Message)
	}
	for _, want := range []string{"workflow is longer than maximum allowed size", "with status.nodes compressed",
		fmt.Sprintf("--max-workflow-size of %d bytes", limit), "artifacts"} {
		if !strings.Contains(wf.Status.Message, want) {
			t.Errorf("message %q lacks %q", wf.Status.Message, want)
		}
	}
	if h.maxStored > limit {
		t.Errorf("a stored workflow took %d bytes, more than %d", h.maxStored, limit)
	}
	if wf.Status.FinishedAt.IsZero() {
		t.Error("no finish time")
	}
	// The nodes stay those last written, before the fan-out: step a runs
	// there, as its Pod did then.
	nodeNamed(t, wf, "fan[0].a")
	for _, n := range wf.Status.Nodes {
		if strings.Contains(n.Name, "each(") {
			t.Fatalf("a fan-out node was written: %s", n.Name)
		}
	}
	// No one records the fan-out's Pods any more: they are stopped.
	var pods corev1.PodList
	if err := h.c.List(context.Background(), &pods); err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			t.Errorf("pod %s left %s", p.Name, p.Status.Phase)
		}
	}
	if len(pods.Items) != 1 {
		t.Errorf("%d pods remain, want step a's", len(pods.Items))
	}
}

func TestCorruptCompressedNodesEndInError(t *testing.T) {
	h := newHarness(t, `
metadata: {name: wf}
spec:
  entrypoint: main
  templates: [{name: main, container: {image: alpine, command: ["true"]}}]
status: {phase: Running, compressedNodes: "H4sIAAAA-not-gzip"}
`)
	ctx := ctrl.LoggerInto(context.Background(), ctrl.Log)
	if _, err := h.r.Reconcile(ctx, ctrl.Request{NamespacedName: h.key}); err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	wf := &argov1.Workflow{}
	if err := h.c.Get(ctx, h.key, wf); err != nil {
		t.Fatal(err)
	}
	if wf.Status.Phase != argov1.WorkflowError || !strings.Contains(wf.Status.Message, "status.compressedNodes of workflow ns/wf is corrupt") {
		t.Fatalf("phase %s, message %q", wf.Status.Phase, wf.Status.Message)
	}
	if wf.Status.CompressedNodes != "H4sIAAAA-not-gzip" {
		t.Errorf("the corrupt data was not kept: %q", wf.Status.CompressedNodes)
	}
	var pods corev1.PodList
	if err := h.c.List(ctx, &pods); err != nil || len(pods.Items) != 0 {
		t.Errorf("%d pods started (%v)", len(pods.Items), err)
	}
}
