package e2e

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/argolite/argolite/integration/mirror"
)

// setAgentRegistryMirrors points the agent's image lookups at the test
// bed's registry, as the node's hosts.toml points containerd's pulls: the
// agent in its Pod cannot read those files.
func setAgentRegistryMirrors(t *testing.T) {
	t.Helper()
	value, err := mirror.AgentConfig(net.JoinHostPort(nodeIP(t), strconv.Itoa(mirror.Port)), clusterCA(t))
	if err != nil {
		t.Fatal(err)
	}
	// Part of the agent's install, gone with it: nothing to restore.
	_ = putAgentConfigKey(t, "registryMirrors", value)
}

// TestWorkflowImageEntrypoint runs containers without a command: the agent
// reads their image's entrypoint from the registry (through the mirror),
// and an image it cannot read ends the workflow before any Pod.
func TestWorkflowImageEntrypoint(t *testing.T) {
	needCluster(t)
	sharedAgent(t)
	dyn := dynamic.NewForConfigOrDie(cfg)

	t.Run("argosay with only args runs its entrypoint", func(t *testing.T) {
		ns := newNamespace(t)
		name := submitWorkflow(t, dyn, ns, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: argosay-}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: argoproj/argosay:v2, imagePullPolicy: IfNotPresent, args: [echo, hello]}
`)
		wf := waitWorkflow(t, dyn, ns, name, "to end", 3*time.Minute, completed)
		if phaseOf(wf) != "Succeeded" {
			t.Fatalf("want Succeeded:\n%s", describeWorkflow(wf))
		}
		pods, err := clientset.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil || len(pods.Items) != 1 {
			t.Fatalf("want the one step Pod: %v, %d", err, len(pods.Items))
		}
		logs, err := clientset.CoreV1().Pods(ns).GetLogs(pods.Items[0].Name, &corev1.PodLogOptions{Container: "main"}).DoRaw(context.Background())
		if err != nil {
			t.Fatalf("logs of %s: %v", pods.Items[0].Name, err)
		}
		if !strings.Contains(string(logs), "hello") {
			t.Errorf("the step's log lacks hello:\n%s", logs)
		}
	})

	t.Run("an unreachable registry fails before any Pod with the fixes", func(t *testing.T) {
		ns := newNamespace(t)
		// Loopback port 1: nothing listens, and nothing leaves the machine.
		name := submitWorkflow(t, dyn, ns, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: unreachable-}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: "127.0.0.1:1/nothing:v1", args: [x]}
`)
		wf := waitWorkflow(t, dyn, ns, name, "to end", 2*time.Minute, completed)
		if p := phaseOf(wf); p != "Error" && p != "Failed" {
			t.Fatalf("want Error or Failed:\n%s", describeWorkflow(wf))
		}
		msg := describeWorkflow(wf)
		for _, want := range []string{"template main", "container main", "127.0.0.1:1/nothing:v1", "set command", "under images in the argolite-config ConfigMap"} {
			if !strings.Contains(msg, want) {
				t.Errorf("the workflow's message lacks %q:\n%s", want, msg)
			}
		}
		pods, err := clientset.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil || len(pods.Items) != 0 {
			t.Errorf("want no Pod: %v, %d", err, len(pods.Items))
		}
	})
}
