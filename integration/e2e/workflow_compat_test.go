package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// Argo Workflows' own e2e cases for issue 10, submitted as Argo wrote them
// and checked for what Argo's tests assert: output names holding {{...}}
// tags, {{= }} tags inside a when, and consumers of a skipped or omitted
// task's outputs.

// argoE2EVersion is the Argo Workflows release whose test/e2e files are read
// from the Go module cache.
const argoE2EVersion = "v4.0.5"

// argoCase reads test/e2e/<rel> of Argo Workflows from the module cache,
// skipping t when it is absent, with apiVersion argoproj.io mapped to
// argolite.dev.
func argoCase(t *testing.T, rel string) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Skipf("go env GOMODCACHE: %v: Argo's e2e files are read from the module cache", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "github.com", "argoproj", "argo-workflows", "v4@"+argoE2EVersion, "test", "e2e")
	data, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Skipf("Argo's %s is not in the module cache (%v): run `go mod download github.com/argoproj/argo-workflows/v4@%s`", rel, err, argoE2EVersion)
	}
	return argoAPIVersion(string(data))
}

func argoAPIVersion(doc string) string {
	return strings.ReplaceAll(doc, "apiVersion: argoproj.io/v1alpha1", "apiVersion: argolite.dev/v1alpha1")
}

func TestWorkflowCompat(t *testing.T) {
	needCluster(t)
	sharedAgent(t)
	dyn := dynamic.NewForConfigOrDie(cfg)

	run := func(t *testing.T, ns, doc string) *unstructured.Unstructured {
		t.Helper()
		name := submitWorkflow(t, dyn, ns, doc)
		return waitWorkflow(t, dyn, ns, name, "to end", 4*time.Minute, completed)
	}
	wantPhases := func(t *testing.T, wf *unstructured.Unstructured, phases map[string]string) {
		t.Helper()
		if phaseOf(wf) != "Succeeded" {
			t.Errorf("want the workflow Succeeded:\n%s", describeWorkflow(wf))
		}
		for node, want := range phases {
			if got := nodeStr(nodeNamed(wf, wf.GetName()+node), "phase"); got != want {
				t.Errorf("node %s: phase %q, want %q", node, got, want)
			}
		}
	}

	// artifacts_test.go TestExitHandlerWithParameterizedGlobalArtifacts.
	t.Run("exit handler reads parameterized global artifacts", func(t *testing.T) {
		doc := argoCase(t, "testdata/exit-handler-parameterized-global-artifacts.yaml")
		ns := featureNamespace(t, dyn)
		deployArtifactStore(t, dyn, ns)
		wf := run(t, ns, doc)
		printer := wf.GetName() + ".onExit[0].printer"
		wantPhases(t, wf, map[string]string{".onExit[0].printer": "Succeeded"})
		pods := podsOfNode(t, ns, wf.GetName(), printer)
		if len(pods) != 1 {
			t.Fatalf("want one Pod of %s, got %v", printer, podNames(pods))
		}
		logs, err := clientset.CoreV1().Pods(ns).GetLogs(pods[0].Name, &corev1.PodLogOptions{Container: "main"}).DoRaw(context.Background())
		if err != nil {
			t.Fatalf("logs of %s: %v", pods[0].Name, err)
		}
		for _, want := range []string{"Have car", "Have bike"} {
			if !strings.Contains(string(logs), want) {
				t.Errorf("printer's logs lack %q:\n%s", want, logs)
			}
		}
	})

	// functional_test.go TestStepsWhenExprFilter.
	t.Run("when with {{= }} expression tags", func(t *testing.T) {
		doc := argoCase(t, "functional/steps-when-expr-filter.yaml")
		wf := run(t, featureNamespace(t, dyn), doc)
		wantPhases(t, wf, map[string]string{
			"[0].fst(0:name:first,type:)":        "Succeeded",
			"[0].fst(1:name:second,type:always)": "Succeeded",
			"[0].fst(2:name:third,type:test)":    "Succeeded",
			"[0].fst(3:name:fourth)":             "Succeeded",
		})
	})

	// functional_test.go TestDAGSkippedOutputRef and TestDAGOmittedOutputRef:
	// stage-c reads stage-b's output, which is "" as stage-b did not run.
	for _, c := range []struct{ file, phase string }{
		{"functional/dag-skipped-output-ref.yaml", "Skipped"},
		{"functional/dag-omitted-output-ref.yaml", "Omitted"},
	} {
		t.Run("a task reads the outputs of a task that was "+strings.ToLower(c.phase), func(t *testing.T) {
			doc := argoCase(t, c.file)
			wf := run(t, featureNamespace(t, dyn), doc)
			wantPhases(t, wf, map[string]string{".stage-a": "Succeeded", ".stage-b": c.phase, ".stage-c": "Succeeded"})
			inputs := map[string]string{}
			params, _, _ := unstructured.NestedSlice(nodeNamed(wf, wf.GetName()+".stage-c"), "inputs", "parameters")
			for _, p := range params {
				m, _ := p.(map[string]any)
				name, _ := m["name"].(string)
				value, _ := m["value"].(string)
				inputs[name] = value
			}
			if a, b := inputs["message-from-a"], inputs["message-from-b"]; strings.TrimSpace(a) != "hello from stage A" || b != "" {
				t.Errorf("stage-c's inputs %v: want message-from-a %q and message-from-b \"\"", inputs, "hello from stage A")
			}
		})
	}

	// artifacts_test.go TestDefaultParameterOutputs (inline there): a steps
	// template's output from a skipped step is its valueFrom.default.
	t.Run("a steps template's output from a skipped step is its default", func(t *testing.T) {
		doc := (argoAPIVersion(`apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: default-params-
spec:
  entrypoint: start
  templates:
  - name: start
    steps:
      - - name: generate-1
          template: generate
      - - name: generate-2
          when: "True == False"
          template: generate
    outputs:
      parameters:
        - name: nested-out-parameter
          valueFrom:
            default: "Default value"
            parameter: "{{steps.generate-2.outputs.parameters.out-parameter}}"

  - name: generate
    container:
      image: argoproj/argosay:v2
      args: [echo, my-output-parameter, /tmp/my-output-parameter.txt]
    outputs:
      parameters:
      - name: out-parameter
        valueFrom:
          path: /tmp/my-output-parameter.txt
`))
		wf := run(t, featureNamespace(t, dyn), doc)
		wantPhases(t, wf, map[string]string{"": "Succeeded"})
		params, _, _ := unstructured.NestedSlice(nodeNamed(wf, wf.GetName()), "outputs", "parameters")
		found := false
		for _, p := range params {
			m, _ := p.(map[string]any)
			found = found || m["value"] == "Default value"
		}
		if !found {
			t.Errorf("no output parameter %q on the workflow's node: %v", "Default value", params)
		}
	})

	// argolite's own: the skipped producer declares valueFrom.default, so the
	// consumer and withParam over the output see the default.
	t.Run("withParam over a skipped task's output runs over its default", func(t *testing.T) {
		wf := run(t, featureNamespace(t, dyn), `apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata:
  generateName: skipped-default-
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: gen, template: gen, when: "false"}
      - name: each
        template: echo
        depends: "gen || gen.Skipped"
        withParam: "{{tasks.gen.outputs.parameters.list}}"
        arguments: {parameters: [{name: msg, value: "{{item}}"}]}
  - name: gen
    container: {image: busybox, command: [sh, -c, "echo '[\"z\"]' > /tmp/list"]}
    outputs:
      parameters:
      - name: list
        valueFrom: {path: /tmp/list, default: '["x","y"]'}
  - name: echo
    inputs: {parameters: [{name: msg}]}
    container: {image: busybox, command: [echo, "{{inputs.parameters.msg}}"]}
`)
		wantPhases(t, wf, map[string]string{".gen": "Skipped", ".each(0:x)": "Succeeded", ".each(1:y)": "Succeeded"})
	})
}
