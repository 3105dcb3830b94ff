package v1alpha1

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func nodesWorkflow(n int) *Workflow {
	wf := &Workflow{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "fan"}}
	wf.Status.Nodes = Nodes{}
	for i := range n {
		id := fmt.Sprintf("fan-%d", i)
		result := fmt.Sprintf("item %d", i)
		wf.Status.Nodes[id] = NodeStatus{ID: id, Name: fmt.Sprintf("fan[0].each(%d:%d)", i, i), Type: NodeTypePod,
			Phase: NodeSucceeded, BoundaryID: "fan", Outputs: &Outputs{Result: &result,
				Parameters: []Parameter{{Name: "out", Value: AnyStringPtr(result)}}}}
	}
	return wf
}

func TestNodesRoundTrip(t *testing.T) {
	wf := nodesWorkflow(200)
	want := wf.Status.Nodes
	inflated, _ := json.Marshal(wf)

	if err := wf.DeflateNodes(); err != nil {
		t.Fatal(err)
	}
	if wf.Status.Nodes != nil || wf.Status.CompressedNodes == "" {
		t.Fatalf("after DeflateNodes: %d nodes, compressedNodes %q", len(wf.Status.Nodes), wf.Status.CompressedNodes)
	}
	deflated, _ := json.Marshal(wf)
	if len(deflated) >= len(inflated) {
		t.Errorf("the deflated workflow (%d bytes) is not smaller than the inflated one (%d bytes)", len(deflated), len(inflated))
	}
	if strings.Contains(string(deflated), `"nodes"`) {
		t.Errorf("deflated JSON still has status.nodes")
	}

	// Through JSON, as the API server stores it.
	got := &Workflow{}
	if err := json.Unmarshal(deflated, got); err != nil {
		t.Fatal(err)
	}
	if err := got.InflateNodes(); err != nil {
		t.Fatal(err)
	}
	if got.Status.CompressedNodes != "" || !reflect.DeepEqual(got.Status.Nodes, want) {
		t.Fatalf("round trip changed the nodes (compressedNodes %q)", got.Status.CompressedNodes)
	}
}

func TestNodesNothingToDo(t *testing.T) {
	wf := nodesWorkflow(0)
	if err := wf.DeflateNodes(); err != nil || wf.Status.CompressedNodes != "" {
		t.Errorf("DeflateNodes without nodes: %v, compressedNodes %q", err, wf.Status.CompressedNodes)
	}
	wf = nodesWorkflow(2)
	if err := wf.InflateNodes(); err != nil || len(wf.Status.Nodes) != 2 {
		t.Errorf("InflateNodes without compressedNodes: %v, %d nodes", err, len(wf.Status.Nodes))
	}
}

func gzipBase64(s string) string {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(s))
	_ = zw.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func TestInflateCorruptNodes(t *testing.T) {
	for _, tt := range []struct{ name, value, want string }{
		{"not base64", "%%%", "not base64"},
		{"not gzip", base64.StdEncoding.EncodeToString([]byte("plain text")), "not gzip"},
		{"truncated gzip", gzipBase64(`{"a":{"id":"a"}}`)[:20], "not"},
		{"not JSON", gzipBase64("[1,2"), "not a JSON map of nodes"},
		{"a list", gzipBase64("[1,2]"), "not a JSON map of nodes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wf := &Workflow{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "fan"}}
			wf.Status.CompressedNodes = tt.value
			err := wf.InflateNodes()
			if err == nil || !strings.Contains(err.Error(), "workflow team/fan") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("InflateNodes() = %v, want an error naming team/fan and %q", err, tt.want)
			}
			if wf.Status.CompressedNodes != tt.value || wf.Status.Nodes != nil {
				t.Errorf("a failed InflateNodes changed the workflow")
			}
		})
	}
}
