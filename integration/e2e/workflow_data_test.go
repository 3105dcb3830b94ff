package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// argoModule is the Argo Workflows release whose examples the data test
// runs, from the Go module cache.
const argoModule = "github.com/argoproj/argo-workflows/v4@v4.0.5"

// argoExample reads one of Argo's examples from the module cache with its
// apiVersion mapped to argolite's group, or skips saying how to get it.
func argoExample(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Skipf("go env GOMODCACHE: %v: the test reads Argo's %s from the module cache", err, name)
	}
	path := filepath.Join(strings.TrimSpace(string(out)), argoModule, "examples", name)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("Argo's example %s is not in the module cache (%v): run go mod download %s", name, err, argoModule)
	}
	return strings.ReplaceAll(string(b), "apiVersion: argoproj.io/v1alpha1", "apiVersion: argolite.dev/v1alpha1")
}

// TestWorkflowData runs data templates: the keys under an S3 location,
// transformed with expr-lang, fan out the steps that consume them.
func TestWorkflowData(t *testing.T) {
	needCluster(t)
	sharedAgent(t)
	dyn := dynamic.NewForConfigOrDie(cfg)
	example := argoExample(t, "data-transformations.yaml")
	ns := featureNamespace(t, dyn)
	deployArtifactStore(t, dyn, ns)

	// Objects in the bucket first: the seed step's outputs, and its log
	// (the repository archives logs, as <workflow>/<pod>/main.log).
	seed := submitWorkflow(t, dyn, ns, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: data-seed-}
spec:
  entrypoint: seed
  templates:
  - name: seed
    container:
      image: `+wfImage+`
      imagePullPolicy: IfNotPresent
      command: [sh, -c, 'echo seeded-log-line; echo a > /tmp/a.txt; echo b > /tmp/b.log']
    outputs:
      artifacts:
      - {name: a, path: /tmp/a.txt, s3: {key: data/a.txt}, archive: {none: {}}}
      - {name: b, path: /tmp/b.log, s3: {key: data/b.log}, archive: {none: {}}}
`)
	if wf := waitWorkflow(t, dyn, ns, seed, "to end", 3*time.Minute, completed); phaseOf(wf) != "Succeeded" {
		t.Fatalf("the seed workflow: want Succeeded:\n%s", describeWorkflow(wf))
	}

	t.Run("Argo's data-transformations example as written", func(t *testing.T) {
		name := submitWorkflow(t, dyn, ns, example)
		wf := waitWorkflow(t, dyn, ns, name, "to end", 3*time.Minute, completed)
		if phaseOf(wf) != "Succeeded" {
			t.Fatalf("want Succeeded:\n%s", describeWorkflow(wf))
		}
		list := nodeNamed(wf, name+"[0].list-log-files")
		var keys []string
		if err := json.Unmarshal([]byte(nodeStr(list, "outputs", "result")), &keys); err != nil {
			t.Fatalf("list-log-files outputs.result %q: %v", nodeStr(list, "outputs", "result"), err)
		}
		if len(keys) == 0 || !slices.ContainsFunc(keys, func(k string) bool { return strings.HasPrefix(k, seed+"/") }) {
			t.Errorf("the listed logs %v should hold the seed workflow's archived main.log", keys)
		}
		for _, k := range keys {
			if !strings.HasSuffix(k, "main.log") {
				t.Errorf("listed %q: the filter keeps only keys ending main.log", k)
			}
		}
		if pods := stepPods(t, ns, name); len(pods) != len(keys) {
			t.Errorf("%d step Pods (%v), want one process-logs Pod per listed key (%d) and none for the data step", len(pods), podNames(pods), len(keys))
		}
	})

	t.Run("filter then map, on a key prefix", func(t *testing.T) {
		name := submitWorkflow(t, dyn, ns, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: data-map-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: list, template: list}
    - - name: show
        template: show
        withParam: "{{steps.list.outputs.result}}"
        arguments: {parameters: [{name: key, value: "{{item}}"}]}
  - name: list
    data:
      source: {artifactPaths: {name: data, s3: {key: data}}}
      transformation:
      - expression: 'filter(data, {# endsWith ".txt"})'
      - expression: 'map(data, {# + ".ready"})'
  - name: show
    inputs: {parameters: [{name: key}]}
    container:
      image: `+wfImage+`
      imagePullPolicy: IfNotPresent
      command: [echo, "{{inputs.parameters.key}}"]
`)
		wf := waitWorkflow(t, dyn, ns, name, "to end", 3*time.Minute, completed)
		if phaseOf(wf) != "Succeeded" {
			t.Fatalf("want Succeeded:\n%s", describeWorkflow(wf))
		}
		if got := nodeStr(nodeNamed(wf, name+"[0].list"), "outputs", "result"); got != `["data/a.txt.ready"]` {
			t.Errorf("list outputs.result = %q, want [\"data/a.txt.ready\"]", got)
		}
		// The consumer got the mapped key as its parameter (a container
		// template reports no result).
		var shown []string
		nodes, _, _ := unstructured.NestedMap(wf.Object, "status", "nodes")
		for _, v := range nodes {
			if n, ok := v.(map[string]any); ok && n["templateName"] == "show" && n["type"] == "Pod" {
				params, _, _ := unstructured.NestedSlice(n, "inputs", "parameters")
				for _, p := range params {
					if p, ok := p.(map[string]any); ok && p["name"] == "key" {
						shown = append(shown, fmt.Sprint(n["name"], " key=", p["value"]))
					}
				}
			}
		}
		if want := []string{name + "[1].show(0:data/a.txt.ready) key=data/a.txt.ready"}; !slices.Equal(shown, want) {
			t.Errorf("the show steps were %q, want %q", shown, want)
		}
	})

	t.Run("a bad expression is refused before any Pod starts", func(t *testing.T) {
		name := submitWorkflow(t, dyn, ns, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: data-bad-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: first, template: first}
    - - {name: list, template: list}
  - name: first
    container: {image: `+wfImage+`, imagePullPolicy: IfNotPresent, command: ["true"]}
  - name: list
    data:
      source: {artifactPaths: {name: data, s3: {key: data}}}
      transformation:
      - expression: 'filter(data, {# endsWith })'
`)
		wf := waitWorkflow(t, dyn, ns, name, "to end", 2*time.Minute, completed)
		msg := messageOf(wf)
		if phaseOf(wf) == "Succeeded" || !strings.Contains(msg, "spec.templates[2].data.transformation[0].expression") || !strings.Contains(msg, "template list") {
			t.Errorf("want the workflow refused, naming spec.templates[2].data.transformation[0].expression and template list; got %s: %s", phaseOf(wf), msg)
		}
		if pods := stepPods(t, ns, name); len(pods) != 0 {
			t.Errorf("step Pods %v: a refused workflow starts none", podNames(pods))
		}
	})
}
