package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// suspendResume is the subtest of TestWorkflowFeatures
// "suspend node with supplied parameters, and whole-workflow suspend/resume".
func (ws *workflowSuite) suspendResume(t *testing.T) {
	dyn := ws.dyn
	ns := featureNamespace(t, dyn)
	name := submitWorkflow(t, dyn, ns, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: approve-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: approve, template: approve}
    - - name: use
        template: say
        arguments: {parameters: [{name: msg, value: "{{steps.approve.outputs.parameters.answer}}"}]}
  - name: approve
    suspend: {}
    outputs:
      parameters:
      - name: answer
        valueFrom: {supplied: {}}
  - name: say
    inputs: {parameters: [{name: msg}]}
    script:
      image: `+wfImage+`
      imagePullPolicy: IfNotPresent
      command: [sh]
      source: echo "answer={{inputs.parameters.msg}}"
`)
	approve, use := name+"[0].approve", name+"[1].use"
	waitWorkflow(t, dyn, ns, name, "to wait at its suspend step", 2*time.Minute, func(wf *unstructured.Unstructured) bool {
		n := nodeNamed(wf, approve)
		return nodeStr(n, "type") == "Suspend" && nodeStr(n, "phase") == "Running"
	})

	// A value that no resumed step asks for is refused, and nothing changes.
	bad := argo(t, "wf", "resume", name, "-n", ns, "--node-field-selector", "displayName=approve", "-p", "answer=yes", "-p", "unasked=1")
	if bad.code == 0 || !strings.Contains(bad.stdout+bad.stderr, "unasked") {
		t.Errorf("wf resume -p unasked=1 exited %d (%s%s); want an error naming the parameter no suspend step asks for", bad.code, bad.stdout, bad.stderr)
	}
	if wf := getWorkflow(t, dyn, ns, name); nodeStr(nodeNamed(wf, approve), "phase") != "Running" || nodeNamed(wf, use) != nil {
		t.Fatalf("a refused resume changed the workflow:\n%s", describeWorkflow(wf))
	}

	if r := argo(t, "wf", "resume", name, "-n", ns, "--node-field-selector", "displayName=approve", "-p", "answer=yes"); r.code != 0 {
		t.Fatalf("wf resume exited %d: %s%s", r.code, r.stdout, r.stderr)
	}
	wf := waitWorkflow(t, dyn, ns, name, "to end after the resume", 2*time.Minute, completed)
	a, u := nodeNamed(wf, approve), nodeNamed(wf, use)
	if phaseOf(wf) != "Succeeded" || nodeStr(a, "phase") != "Succeeded" || nodeParam(a, "outputs", "answer") != "yes" ||
		nodeParam(u, "inputs", "msg") != "yes" || nodeStr(u, "outputs", "result") != "answer=yes" {
		t.Errorf("want Succeeded, approve's output answer=yes passed on to use, which printed answer=yes; got:\n%s", describeWorkflow(wf))
	}

	// The whole workflow: the step that runs goes on to its end, the
	// next one does not start until the workflow is resumed.
	name = submitWorkflow(t, dyn, ns, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: pause-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: first, template: slow}
    - - {name: second, template: quick}
    - - {name: third, template: quick}
  - name: slow
    container: {image: `+wfImage+`, imagePullPolicy: IfNotPresent, command: [sh, -c, "sleep 6; echo first done"]}
  - name: quick
    container: {image: `+wfImage+`, imagePullPolicy: IfNotPresent, command: [echo, quick]}
`)
	first, second := name+"[0].first", name+"[1].second"
	waitWorkflow(t, dyn, ns, name, "to run its first step", 2*time.Minute, func(wf *unstructured.Unstructured) bool {
		return nodeStr(nodeNamed(wf, first), "phase") == "Running"
	})
	if r := argo(t, "wf", "suspend", name, "-n", ns); r.code != 0 {
		t.Fatalf("wf suspend exited %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if s, _, _ := unstructured.NestedBool(getWorkflow(t, dyn, ns, name).Object, "spec", "suspend"); !s {
		t.Fatal("wf suspend did not set spec.suspend")
	}
	wf = waitWorkflow(t, dyn, ns, name, "to end its first step while suspended", 2*time.Minute, func(wf *unstructured.Unstructured) bool {
		return nodeStr(nodeNamed(wf, first), "phase") == "Succeeded" || completed(wf)
	})
	// The status that records the first step's end is written after the
	// agent walked on to the second step: had it started it, its Pod
	// would exist now.
	if n := nodeNamed(wf, second); phaseOf(wf) != "Running" || (n != nil && nodeStr(n, "phase") != "Pending") {
		t.Errorf("suspended after the first step: want phase Running and the second step not started; got:\n%s", describeWorkflow(wf))
	}
	if pods := stepPods(t, ns, name); len(pods) != 1 {
		t.Errorf("%d step Pods while suspended after the first step, want 1: %v", len(pods), podNames(pods))
	}
	if list := argo(t, "wf", "list", "-n", ns); !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\s+Running \(Suspended\)`).MatchString(list.stdout) {
		t.Errorf("wf list does not show %s as Running (Suspended):\n%s", name, list.stdout)
	}
	if r := argo(t, "wf", "resume", name, "-n", ns); r.code != 0 {
		t.Fatalf("wf resume exited %d: %s%s", r.code, r.stdout, r.stderr)
	}
	wf = waitWorkflow(t, dyn, ns, name, "to end after the resume", 2*time.Minute, completed)
	if _, set, _ := unstructured.NestedFieldNoCopy(wf.Object, "spec", "suspend"); phaseOf(wf) != "Succeeded" || set {
		t.Errorf("after wf resume: want Succeeded and spec.suspend cleared; got:\n%s", describeWorkflow(wf))
	}
	if pods := stepPods(t, ns, name); len(pods) != 3 {
		t.Errorf("%d step Pods, want 3 (one per step): %v", len(pods), podNames(pods))
	}
}

// nodeParam is the value of a node's input or output parameter (section
// "inputs" or "outputs"), "" when it has none.
func nodeParam(n map[string]any, section, name string) string {
	params, _, _ := unstructured.NestedSlice(n, section, "parameters")
	for _, p := range params {
		if m, ok := p.(map[string]any); ok && m["name"] == name {
			v, _ := m["value"].(string)
			return v
		}
	}
	return ""
}
