package workflow

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argolite/argolite/agent/exec"
	"github.com/argolite/argolite/shared/agentmeta"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// The images key of argolite-config comes before the registry, and its
// entrypoint takes the container's args in place of cmd, by Docker's rules.
func TestImagesOverride(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: agentmeta.ConfigMapName, Namespace: "argolite-system"},
		Data: map[string]string{"images": "127.0.0.1:1/argosay:v2: {entrypoint: [/argosay], cmd: [echo]}\n127.0.0.1:1/cmdonly:v1: {cmd: [sh, -c, 'echo hi']}\n"}}
	h := newHarness(t, `
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
  - name: main
    steps: [[{name: a, template: args}, {name: b, template: plain}]]
  - {name: args, container: {image: "127.0.0.1:1/argosay:v2", args: [echo, hello]}}
  - {name: plain, container: {image: "127.0.0.1:1/cmdonly:v1"}}
`, cm)
	got := map[string]string{}
	h.finish = func(p *corev1.Pod) (int, exec.Result) {
		got[p.Annotations[AnnotationNodeName]] = podArgs(p)
		return 0, exec.Result{}
	}
	if wf := h.run(); wf.Status.Phase != argov1.WorkflowSucceeded {
		t.Fatalf("phase %s: %s %s", wf.Status.Phase, wf.Status.Message, summary(wf))
	}
	want := map[string]string{"wf[0].a": "/argosay echo hello", "wf[0].b": "sh -c echo hi"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s runs %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
}

// An image whose registry cannot be reached ends the workflow before any
// Pod, saying which container and image and how to fix it.
func TestImageLookupFailsClearly(t *testing.T) {
	h := newHarness(t, `
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
  - {name: main, container: {image: "127.0.0.1:1/nothing:v1", args: [x]}}
`)
	wf := h.run()
	if wf.Status.Phase != argov1.WorkflowError && wf.Status.Phase != argov1.WorkflowFailed {
		t.Fatalf("phase %s", wf.Status.Phase)
	}
	msg := wf.Status.Message + summary(wf)
	for _, want := range []string{"template main", "container main", "127.0.0.1:1/nothing:v1", "set command", "under images in the argolite-config ConfigMap"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	var pods corev1.PodList
	_ = h.c.List(context.Background(), &pods)
	if len(pods.Items) != 0 {
		t.Errorf("%d pods started", len(pods.Items))
	}
}
