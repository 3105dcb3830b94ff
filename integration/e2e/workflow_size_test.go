package e2e

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// thousandNodes is the subtest of TestWorkflowFeatures
// "a 1,000-node workflow completes with its status under the size limit".
func (ws *workflowSuite) thousandNodes(t *testing.T) {
	dyn := ws.dyn
	ns := featureNamespace(t, dyn)
	// 1,000 suspend nodes of no duration (nodes without Pods, so the run
	// takes seconds), each with an input of about 1 KB: the nodes alone
	// pass the agent's default 1 MiB limit, so they are stored
	// compressed; then one real step.
	note := strings.Repeat("x", 1000)
	name := submitWorkflow(t, dyn, ns, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: thousand-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: wait
        template: pause
        arguments: {parameters: [{name: note, value: "{{item}}-`+note+`"}]}
        withSequence: {count: "1000"}
    - - name: after
        template: echo
  - name: pause
    inputs: {parameters: [{name: note}]}
    suspend: {duration: "0"}
  - name: echo
    container: {image: `+wfImage+`, imagePullPolicy: IfNotPresent, command: [echo, done]}
`)
	wf := waitWorkflow(t, dyn, ns, name, "to end", 3*time.Minute, completed)
	if phaseOf(wf) != "Succeeded" {
		t.Fatalf("want Succeeded: %s", messageOf(wf))
	}
	stored, err := wf.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	compressed, _, _ := unstructured.NestedString(wf.Object, "status", "compressedNodes")
	if _, plain, _ := unstructured.NestedMap(wf.Object, "status", "nodes"); plain || compressed == "" {
		t.Errorf("a status with 1,000 nodes of 1 KB should be stored compressed: nodes present %v, compressedNodes %d bytes", plain, len(compressed))
	}
	if len(stored) > 1<<20 {
		t.Errorf("the stored workflow is %d bytes, over the agent's 1 MiB limit", len(stored))
	}
	// The plugin shows the nodes as they are.
	r := argo(t, "wf", "get", name, "-n", ns, "-o", "json")
	if r.code != 0 {
		t.Fatalf("wf get -o json exited %d: %s", r.code, r.stderr)
	}
	var got struct {
		Status struct {
			Nodes map[string]struct {
				Type, Phase string
			} `json:"nodes"`
		} `json:"status"`
	}
	if err := yaml.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	suspends := 0
	for _, n := range got.Status.Nodes {
		if n.Type == "Suspend" && n.Phase == "Succeeded" {
			suspends++
		}
	}
	if suspends != 1000 {
		t.Errorf("wf get shows %d succeeded Suspend nodes of %d nodes, want 1000", suspends, len(got.Status.Nodes))
	}
	t.Logf("%d nodes: the stored workflow is %d bytes (compressedNodes %d bytes); wf get -o json prints %d bytes",
		len(got.Status.Nodes), len(stored), len(compressed), len(r.stdout))
}
