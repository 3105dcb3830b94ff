package main

import (
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

func TestChainYAML(t *testing.T) {
	wf, err := decodeWorkflow("chain.yaml", chainYAML(defaultImage, 100))
	if err != nil {
		t.Fatalf("the chain does not decode and validate: %v", err)
	}
	if wf.Name != chainName || wf.Spec.Entrypoint != "main" || wf.Spec.Parallelism != nil {
		t.Errorf("name %q, entrypoint %q, parallelism %v", wf.Name, wf.Spec.Entrypoint, wf.Spec.Parallelism)
	}
	main := template(t, wf, "main")
	if len(main.Steps) != 100 {
		t.Fatalf("%d step groups, want 100", len(main.Steps))
	}
	for i, g := range main.Steps {
		if len(g.Steps) != 1 || g.Steps[0].Template != "noop" {
			t.Fatalf("group %d: %+v, want one step of template noop", i, g.Steps)
		}
		if got, ok := stepIndex(chainName + "[" + strconv.Itoa(i) + "]." + g.Steps[0].Name); !ok || got != i {
			t.Errorf("group %d: step %q reads as index %d, %v", i, g.Steps[0].Name, got, ok)
		}
	}
	checkNoop(t, wf)
}

func TestFanOutYAML(t *testing.T) {
	wf, err := decodeWorkflow("fan-out.yaml", fanOutYAML(defaultImage, 200))
	if err != nil {
		t.Fatalf("the fan-out does not decode and validate: %v", err)
	}
	if wf.Name != fanOutName || wf.Spec.Parallelism != nil {
		t.Errorf("name %q, parallelism %v", wf.Name, wf.Spec.Parallelism)
	}
	dag := template(t, wf, "main").DAG
	if dag == nil || len(dag.Tasks) != 2 {
		t.Fatalf("main's DAG: %+v, want two tasks", dag)
	}
	fan, final := dag.Tasks[0], dag.Tasks[1]
	if fan.Name != fanTask || fan.WithSequence == nil || fan.WithSequence.Count == nil || fan.WithSequence.Count.String() != "200" {
		t.Errorf("first task %+v, want %s with withSequence count 200", fan, fanTask)
	}
	if final.Name != finalTask || final.Depends != fanTask {
		t.Errorf("second task %q depends %q, want %s depends %s", final.Name, final.Depends, finalTask, fanTask)
	}
	checkNoop(t, wf)
}

func TestDecodeWorkflowRejects(t *testing.T) {
	bad := `apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {name: x}
spec:
  entrypoint: nowhere
  templates:
  - name: main
    container: {image: busybox, command: ["true"]}
`
	if _, err := decodeWorkflow("bad.yaml", bad); err == nil {
		t.Error("a workflow whose entrypoint does not exist was accepted")
	}
}

func TestStepIndex(t *testing.T) {
	for name, want := range map[string]int{"chain[0].step-000": 0, "chain[42].step-042": 42, "chain[100].step-100": 100} {
		if got, ok := stepIndex(name); !ok || got != want {
			t.Errorf("stepIndex(%q) = %d, %v; want %d", name, got, ok, want)
		}
	}
	for _, name := range []string{"chain", "chain[0]", "chain[0].other", "chain[1].step-x"} {
		if got, ok := stepIndex(name); ok {
			t.Errorf("stepIndex(%q) = %d, want no index", name, got)
		}
	}
}

func template(t *testing.T, wf *argov1.Workflow, name string) *argov1.Template {
	t.Helper()
	for i := range wf.Spec.Templates {
		if wf.Spec.Templates[i].Name == name {
			return &wf.Spec.Templates[i]
		}
	}
	t.Fatalf("no template %q", name)
	return nil
}

func checkNoop(t *testing.T, wf *argov1.Workflow) {
	t.Helper()
	c := template(t, wf, "noop").Container
	if c == nil || c.Image != defaultImage || c.ImagePullPolicy != corev1.PullIfNotPresent || len(c.Command) != 1 || c.Command[0] != "true" {
		t.Errorf("noop container %+v, want %s running true, IfNotPresent", c, defaultImage)
	}
}
