package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// The workflow role's faults on the real cluster: Argo's own examples run in
// the conformance suite (integration/conformance); these are the cases the
// examples do not reach.

var workflowGVR = schema.GroupVersionResource{Group: "argolite.dev", Version: "v1alpha1", Resource: "workflows"}

// wfImage is the locally built busybox the workflow tests run.
const wfImage = "argolite.local/library/busybox:1.36"

// submitWorkflow creates a Workflow from YAML in ns and returns its name.
func submitWorkflow(t *testing.T, dyn dynamic.Interface, ns, doc string) string {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
		t.Fatalf("workflow YAML: %v", err)
	}
	created, err := dyn.Resource(workflowGVR).Namespace(ns).Create(context.Background(), obj, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating workflow: %v", err)
	}
	return created.GetName()
}

// waitWorkflow waits until cond holds for the workflow and returns it.
func waitWorkflow(t *testing.T, dyn dynamic.Interface, ns, name, what string, timeout time.Duration, cond func(*unstructured.Unstructured) bool) *unstructured.Unstructured {
	t.Helper()
	var last *unstructured.Unstructured
	waitFor(t, fmt.Sprintf("workflow %s/%s %s", ns, name, what), timeout, func(ctx context.Context) (bool, error) {
		wf, err := dyn.Resource(workflowGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = wf
		return cond(wf), nil
	})
	return last
}

func phaseOf(wf *unstructured.Unstructured) string {
	p, _, _ := unstructured.NestedString(wf.Object, "status", "phase")
	return p
}

func messageOf(wf *unstructured.Unstructured) string {
	m, _, _ := unstructured.NestedString(wf.Object, "status", "message")
	return m
}

func completed(wf *unstructured.Unstructured) bool {
	switch phaseOf(wf) {
	case "Succeeded", "Failed", "Error":
		return true
	}
	return false
}

// nodesOf returns the workflow's nodes by name: phase and message.
func nodesOf(wf *unstructured.Unstructured) map[string][2]string {
	nodes, _, _ := unstructured.NestedMap(wf.Object, "status", "nodes")
	out := map[string][2]string{}
	for _, v := range nodes {
		n, _ := v.(map[string]any)
		name, _ := n["name"].(string)
		phase, _ := n["phase"].(string)
		msg, _ := n["message"].(string)
		out[name] = [2]string{phase, msg}
	}
	return out
}

// stepPods lists a workflow's step Pods.
func stepPods(t *testing.T, ns, wf string) []corev1.Pod {
	t.Helper()
	pods, err := clientset.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "argolite.dev/workflow=" + wf})
	if err != nil {
		t.Fatal(err)
	}
	return pods.Items
}

func TestWorkflows(t *testing.T) {
	needCluster(t)
	sharedAgent(t)
	dyn := dynamic.NewForConfigOrDie(cfg)
	ns := newNamespace(t)

	t.Run("the fan-out example through kubectl argo wf submit --wait", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(e2e.repoRoot, "examples", "workflow-fan-out", "workflow.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		// The public images map to the local stand-ins, as in the conformance suite.
		mapped := strings.NewReplacer("image: busybox\n", "image: "+wfImage+"\n",
			"image: alpine:3.23", "image: argolite.local/library/alpine:3.23",
			"image: python:alpine3.23", "image: argolite.local/library/python:alpine3.23").Replace(string(data))
		file := filepath.Join(t.TempDir(), "workflow.yaml")
		if err := os.WriteFile(file, []byte(mapped), 0o644); err != nil {
			t.Fatal(err)
		}
		r := argo(t, "wf", "submit", file, "-n", ns, "-p", "count=5", "--wait", "--timeout", "3m", "-o", "name")
		if r.code != 0 {
			t.Fatalf("wf submit --wait exited %d: %s%s", r.code, r.stdout, r.stderr)
		}
		name := strings.TrimPrefix(strings.TrimSpace(firstLine(r.stdout)), "workflow.argolite.dev/")
		wf, err := dyn.Resource(workflowGVR).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("reading %q: %v", name, err)
		}
		outs, _, _ := unstructured.NestedSlice(wf.Object, "status", "outputs", "parameters")
		if phaseOf(wf) != "Succeeded" || len(outs) != 1 || outs[0].(map[string]any)["value"] != "55" {
			t.Errorf("phase %s, global outputs %v: want Succeeded with total 55", phaseOf(wf), outs)
		}
		got := argo(t, "wf", "get", name, "-n", ns)
		for _, want := range []string{"square(4:5)", "sum", "onExit"} {
			if !strings.Contains(got.stdout, want) {
				t.Errorf("wf get lacks %q:\n%s", want, got.stdout)
			}
		}
		logs := argo(t, "wf", "logs", name, "-n", ns)
		if !strings.Contains(logs.stdout, "total 55") {
			t.Errorf("wf logs lack the exit handler's report:\n%s", logs.stdout)
		}
	})

	t.Run("a spec fault fails the workflow before any Pod starts", func(t *testing.T) {
		for _, tt := range []struct{ name, doc, want string }{
			{"unknown field", `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: unknown-field-}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: ` + wfImage + `, command: [echo, hi], imagePullPolicyy: Never}
`, `spec.templates[0].container.imagePullPolicyy: unknown field "imagePullPolicyy"`},
			{"cycle", `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: cycle-}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: echo, depends: b}
      - {name: b, template: echo, depends: a}
  - {name: echo, container: {image: ` + wfImage + `, command: [echo, hi]}}
`, "dependency cycle"},
			{"parameter never supplied", `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: unsupplied-}
spec:
  entrypoint: main
  templates:
  - name: main
    inputs: {parameters: [{name: message}]}
    container: {image: ` + wfImage + `, command: [echo, "{{inputs.parameters.message}}"]}
`, `parameter "message" of template "main" (the entrypoint) is not supplied`},
			{"expression that does not parse", `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: bad-expr-}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: ` + wfImage + `, command: [echo, "{{= 1 + }}"]}
`, "spec.templates[0].container.command[1]"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				name := submitWorkflow(t, dyn, ns, tt.doc)
				wf := waitWorkflow(t, dyn, ns, name, "to end", time.Minute, completed)
				if phaseOf(wf) != "Error" || !strings.Contains(messageOf(wf), tt.want) {
					t.Errorf("phase %s, message %q; want Error naming %q", phaseOf(wf), messageOf(wf), tt.want)
				}
				if pods := stepPods(t, ns, name); len(pods) != 0 {
					t.Errorf("%d step Pods started for an invalid workflow", len(pods))
				}
			})
		}
	})

	t.Run("an image that cannot be pulled ends the step with the reason", func(t *testing.T) {
		name := submitWorkflow(t, dyn, ns, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: no-image-}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: argolite.local/library/does-not-exist:1, imagePullPolicy: Never, command: [echo, hi]}
`)
		wf := waitWorkflow(t, dyn, ns, name, "to end", 2*time.Minute, completed)
		n := nodesOf(wf)[name]
		if phaseOf(wf) != "Error" || !strings.Contains(n[1], "ErrImageNeverPull") {
			t.Errorf("phase %s, node %v: want Error with ErrImageNeverPull", phaseOf(wf), n)
		}
	})

	t.Run("a step Pod deleted under it errors and its retry runs it again", func(t *testing.T) {
		name := submitWorkflow(t, dyn, ns, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: pod-deleted-}
spec:
  entrypoint: main
  templates:
  - name: main
    retryStrategy: {limit: "1", retryPolicy: OnError}
    container:
      image: `+wfImage+`
      command: [sh, -c, 'if [ "{{retries}}" = 0 ]; then sleep 300; fi; echo attempt {{retries}}']
`)
		first := name + "(0)"
		waitWorkflow(t, dyn, ns, name, "to run its first attempt", 2*time.Minute, func(wf *unstructured.Unstructured) bool {
			return nodesOf(wf)[first][0] == "Running"
		})
		pods := stepPods(t, ns, name)
		if len(pods) != 1 {
			t.Fatalf("%d pods, want 1", len(pods))
		}
		if err := clientset.CoreV1().Pods(ns).Delete(context.Background(), pods[0].Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		wf := waitWorkflow(t, dyn, ns, name, "to end", 2*time.Minute, completed)
		nodes := nodesOf(wf)
		if phaseOf(wf) != "Succeeded" || nodes[first][0] != "Error" || nodes[first][1] != "pod deleted" || nodes[name+"(1)"][0] != "Succeeded" {
			t.Errorf("phase %s, nodes %v: want the deleted attempt in Error (pod deleted) and the retry Succeeded", phaseOf(wf), nodes)
		}
	})

	t.Run("terminate stops at once; stop runs the exit handler", func(t *testing.T) {
		for _, tt := range []struct {
			strategy string
			exitRuns bool
		}{{"Terminate", false}, {"Stop", true}} {
			name := submitWorkflow(t, dyn, ns, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: shutdown-}
spec:
  entrypoint: main
  onExit: bye
  templates:
  - name: main
    container: {image: `+wfImage+`, command: [sleep, "300"]}
  - name: bye
    container: {image: `+wfImage+`, command: [echo, "{{workflow.status}}"]}
`)
			waitWorkflow(t, dyn, ns, name, "to run", 2*time.Minute, func(wf *unstructured.Unstructured) bool {
				return nodesOf(wf)[name][0] == "Running"
			})
			patch := fmt.Sprintf(`{"spec":{"shutdown":%q}}`, tt.strategy)
			if _, err := dyn.Resource(workflowGVR).Namespace(ns).Patch(context.Background(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
			wf := waitWorkflow(t, dyn, ns, name, "to end after "+tt.strategy, 2*time.Minute, completed)
			exit, ran := nodesOf(wf)[name+".onExit"]
			if phaseOf(wf) != "Failed" || !strings.Contains(messageOf(wf), tt.strategy) || ran != tt.exitRuns || (ran && exit[0] != "Succeeded") {
				t.Errorf("%s: phase %s (%s), exit handler %v (ran %v), want Failed and the exit handler run: %v", tt.strategy, phaseOf(wf), messageOf(wf), exit, ran, tt.exitRuns)
			}
		}
	})
}

// TestWorkflowAgentRestart: an agent restarted mid-workflow goes on without
// running a step twice. It restarts the shared agent, so it runs alone.
func TestWorkflowAgentRestart(t *testing.T) {
	needCluster(t)
	sharedAgentAlone(t)
	dyn := dynamic.NewForConfigOrDie(cfg)
	ns := newNamespace(t)
	name := submitWorkflow(t, dyn, ns, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: restart-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: slow, template: sleep}
    - - {name: after, template: sleep}
  - name: sleep
    container: {image: `+wfImage+`, command: [sh, -c, "sleep 8"]}
`)
	waitWorkflow(t, dyn, ns, name, "to run its first step", 2*time.Minute, func(wf *unstructured.Unstructured) bool {
		return nodesOf(wf)[name+"[0].slow"][0] == "Running"
	})
	deleteAgentPods(t)
	wf := waitWorkflow(t, dyn, ns, name, "to end after the agent restarted", 3*time.Minute, completed)
	if phaseOf(wf) != "Succeeded" {
		t.Fatalf("phase %s: %s", phaseOf(wf), messageOf(wf))
	}
	if pods := stepPods(t, ns, name); len(pods) != 2 {
		t.Errorf("%d step Pods, want exactly 2 (one per step)", len(pods))
	}

}
