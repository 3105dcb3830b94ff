package wfnames

import (
	"strings"
	"testing"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// The values below were computed with agent/workflow's nodeID and podName
// (and match Argo's v2 names): a change here renames every node and Pod of
// running workflows.

func TestNodeID(t *testing.T) {
	for name, want := range map[string]string{
		"hello":      "hello",
		"hello[0]":   "hello-3705025351",
		"hello[0].a": "hello-2217536542",
		"hello.b(0)": "hello-688870586",
		"dag.c(1:x)": "hello-807109532",
	} {
		if got := NodeID("hello", name); got != want {
			t.Errorf("NodeID(hello, %q) = %q, want %q", name, got, want)
		}
	}
}

func TestPodName(t *testing.T) {
	tests := []struct{ wf, node, template, want string }{
		{"hello", "hello[0].a", "print", "hello-print-2217536542"},
		{"hello", "hello[0].a", "", "hello-2217536542"},
		{"hello", "hello", "print", "hello"},
		{"wf", "wf.a", strings.Repeat("x", 250), "wf-" + strings.Repeat("x", 239) + "-2962115457"},
		{"wf", "wf.a", strings.Repeat("y", 238) + "-", "wf-" + strings.Repeat("y", 238) + "-2962115457"},
	}
	for _, tt := range tests {
		got := PodName(tt.wf, tt.node, tt.template)
		if got != tt.want {
			t.Errorf("PodName(%s, %s, %.10s...) = %q, want %q", tt.wf, tt.node, tt.template, got, tt.want)
		}
		if len(got) > 253 {
			t.Errorf("PodName is %d characters long", len(got))
		}
	}
}

func TestDisplayName(t *testing.T) {
	for name, want := range map[string]string{
		"wf":                         "wf",
		"wf[0].hello":                "hello",
		"wf[0].loop(0:a.b)":          "loop(0:a.b)",
		"wf.dag.task":                "task",
		"wf[1].retry(2)":             "retry(2)",
		"wf[0].x(1:{\"a\":\"b.c\"})": "x(1:{\"a\":\"b.c\"})",
		"wf.onExit":                  "onExit",
	} {
		if got := DisplayName("wf", name); got != want {
			t.Errorf("DisplayName(wf, %q) = %q, want %q", name, got, want)
		}
	}
}

func TestNamesUseArgoliteGroup(t *testing.T) {
	for _, s := range []string{LabelWorkflow, AnnotationNodeID, AnnotationNodeName} {
		if !strings.HasPrefix(s, argov1.Prefix) {
			t.Errorf("%s lacks the %s prefix", s, argov1.Prefix)
		}
	}
}
