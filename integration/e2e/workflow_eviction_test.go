package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/argolite/argolite/shared/agentmeta"
)

// nodeGoneTaintKey is the taint of the eviction subtest.
const nodeGoneTaintKey = "argolite.dev/e2e-node-gone"

// TestWorkflowNodeGoingAway: a node going away evicts the step's Pod, and
// the workflow retries or ends with a clear message. It taints the only
// node, which no other test may see, so it runs alone.
func TestWorkflowNodeGoingAway(t *testing.T) {
	needCluster(t)
	sharedAgentAlone(t)
	dyn := dynamic.NewForConfigOrDie(cfg)
	ns := featureNamespace(t, dyn)
	nodes, err := clientset.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != 1 {
		t.Skipf("%d nodes: the test expects the one-node local cluster, where a tainted node leaves the Pods nowhere to go", len(nodes.Items))
	}
	node := nodes.Items[0].Name
	// Whatever happens, the node is left without our taint (also one a
	// killed earlier run left behind).
	untaint := func() {
		if err := setNodeGoneTaint(node, ""); err != nil {
			t.Errorf("removing the taint %s from node %s: %v: remove it by hand (kubectl taint node %s %s-)", nodeGoneTaintKey, node, err, node, nodeGoneTaintKey)
		}
	}
	untaint()
	t.Cleanup(untaint)
	// The agent runs on that node too: it tolerates the taint, as the
	// control plane of a cluster survives a worker going away.
	tolerateNodeGone(t)

	retried := submitWorkflow(t, dyn, ns, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: evicted-retried-}
spec:
  entrypoint: main
  templates:
  - name: main
    retryStrategy: {limit: "1", retryPolicy: OnError}
    container:
      image: `+wfImage+`
      imagePullPolicy: IfNotPresent
      command: [sh, -c, 'if [ "{{retries}}" = 0 ]; then sleep 60; fi; echo recovered {{retries}}']
`)
	plain := submitWorkflow(t, dyn, ns, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: evicted-}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: `+wfImage+`, imagePullPolicy: IfNotPresent, command: [sleep, "60"]}
`)
	attempt0, attempt1 := retried+"(0)", retried+"(1)"
	waitWorkflow(t, dyn, ns, retried, "to run its first attempt", 2*time.Minute, func(wf *unstructured.Unstructured) bool {
		return nodeStr(nodeNamed(wf, attempt0), "phase") == "Running"
	})
	waitWorkflow(t, dyn, ns, plain, "to run its step", 2*time.Minute, func(wf *unstructured.Unstructured) bool {
		return nodeStr(nodeNamed(wf, plain), "phase") == "Running"
	})
	plainPods := stepPods(t, ns, plain)
	if len(plainPods) != 1 {
		t.Fatalf("%s has Pods %v, want 1", plain, podNames(plainPods))
	}
	canary := startTaintCanary(t, ns)

	// NoExecute evicts the running step Pods; NoSchedule keeps new Pods off
	// the node until the test lifts it.
	if err := setNodeGoneTaint(node, ns, corev1.TaintEffectNoExecute, corev1.TaintEffectNoSchedule); err != nil {
		t.Fatalf("tainting node %s: %v", node, err)
	}
	// The taint eviction controller deletes both step Pods. The retried
	// step's first attempt errors and its second attempt's Pod cannot
	// be scheduled while the taint is there.
	waitWorkflow(t, dyn, ns, retried, "to error its first attempt and wait to schedule the second", 90*time.Second, func(wf *unstructured.Unstructured) bool {
		n0, n1 := nodeNamed(wf, attempt0), nodeNamed(wf, attempt1)
		return nodeStr(n0, "phase") == "Error" && n1 != nil && nodeStr(n1, "phase") == "Pending"
	})
	var pending corev1.Pod
	waitFor(t, "the second attempt's Pod to be unschedulable for the taint", time.Minute, func(ctx context.Context) (bool, error) {
		pods := podsOfNode(t, ns, retried, attempt1)
		if len(pods) != 1 {
			return false, nil
		}
		pending = pods[0]
		for _, c := range pending.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				return strings.Contains(c.Message, "taint"), nil
			}
		}
		return false, nil
	})
	wf := waitWorkflow(t, dyn, ns, retried, "to say why the second attempt waits", 30*time.Second, func(wf *unstructured.Unstructured) bool {
		return strings.Contains(nodeStr(nodeNamed(wf, attempt1), "message"), "taint")
	})
	if msg := nodeStr(nodeNamed(wf, attempt0), "message"); !strings.Contains(msg, "pod deleted") {
		t.Errorf("the evicted attempt's message is %q; want it to say the pod was deleted", msg)
	} else {
		t.Logf("the evicted attempt's message: %q", msg)
	}
	wf = waitWorkflow(t, dyn, ns, plain, "to end after the eviction", time.Minute, completed)
	if phaseOf(wf) != "Error" || !strings.Contains(messageOf(wf), "pod deleted") || !strings.Contains(nodeStr(nodeNamed(wf, plain), "message"), "pod deleted") {
		t.Errorf("the step without a retryStrategy: want the workflow in Error saying the pod was deleted; got:\n%s", describeWorkflow(wf))
	}

	// The node comes back: the second attempt runs. The taint eviction
	// controller learns of a node's taints and of a Pod's binding through
	// two queues: a Pod bound before it has seen the NoExecute taint go is
	// evicted by the stale taint. So NoExecute goes first, and NoSchedule,
	// which holds the Pod back, only once the controller has cancelled the
	// canary's eviction, which it does after it has seen the node without it.
	if err := setNodeGoneTaint(node, "", corev1.TaintEffectNoSchedule); err != nil {
		t.Fatalf("removing the NoExecute taint from node %s: %v", node, err)
	}
	waitEventNote(t, ns, canary, "TaintManagerEviction", time.Minute)
	if err := setNodeGoneTaint(node, ""); err != nil {
		t.Fatalf("removing the taint from node %s: %v", node, err)
	}
	wf = waitWorkflow(t, dyn, ns, retried, "to end once the taint is gone", 2*time.Minute, completed)
	if phaseOf(wf) != "Succeeded" || nodeStr(nodeNamed(wf, attempt0), "phase") != "Error" || nodeStr(nodeNamed(wf, attempt1), "phase") != "Succeeded" {
		t.Errorf("want Succeeded: the evicted attempt in Error, the second Succeeded; got:\n%s", describeWorkflow(wf))
	}
	if got := podsOfNode(t, ns, retried, attempt1); len(got) != 1 || got[0].UID != pending.UID {
		t.Errorf("the second attempt ran in %v, want only its Pod %s (uid %s)", podUIDs(got), pending.Name, pending.UID)
	}
	if logs := argo(t, "wf", "logs", retried, "-n", ns); !strings.Contains(logs.stdout, "recovered 1") {
		t.Errorf("wf logs lack the second attempt's output \"recovered 1\":\n%s", logs.stdout)
	}
	// The workflow that ended in Error started nothing more.
	for _, p := range stepPods(t, ns, plain) {
		if p.UID != plainPods[0].UID {
			t.Errorf("%s ended in Error but has a new Pod %s", plain, p.Name)
		}
	}
}

// startTaintCanary runs a Pod that tolerates the NoExecute taint for an
// hour: the taint eviction controller schedules its eviction, and cancels
// it with an Event once it sees the taint gone. It returns the Pod's name.
func startTaintCanary(t *testing.T, ns string) string {
	t.Helper()
	ctx := context.Background()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "taint-canary", Namespace: ns},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "main", Image: wfImage, ImagePullPolicy: corev1.PullIfNotPresent, Command: []string{"sleep", "3600"}}},
			Tolerations: []corev1.Toleration{{Key: nodeGoneTaintKey, Operator: corev1.TolerationOpExists,
				Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](3600)}},
			TerminationGracePeriodSeconds: ptr.To[int64](0),
		},
	}
	if _, err := clientset.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the taint canary: %v", err)
	}
	waitFor(t, "the taint canary to run", time.Minute, func(ctx context.Context) (bool, error) {
		p, err := clientset.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, err
	})
	return pod.Name
}

// setNodeGoneTaint sets node's taints with the key nodeGoneTaintKey to one
// per effect, with value; with no effects it removes them (and no other).
func setNodeGoneTaint(node, value string, effects ...corev1.TaintEffect) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ctx := context.Background()
		n, err := clientset.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		taints := slices.DeleteFunc(slices.Clone(n.Spec.Taints), func(tt corev1.Taint) bool { return tt.Key == nodeGoneTaintKey })
		if len(effects) == 0 && len(taints) == len(n.Spec.Taints) {
			return nil
		}
		for _, e := range effects {
			taints = append(taints, corev1.Taint{Key: nodeGoneTaintKey, Value: value, Effect: e})
		}
		n.Spec.Taints = taints
		_, err = clientset.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
}

// tolerateNodeGone adds a toleration of nodeGoneTaintKey to the running
// agent Pods (a Pod's tolerations may be added to in place), so that the
// taint evicts the step Pods but not the agent.
func tolerateNodeGone(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	pods, err := clientset.CoreV1().Pods(agentmeta.Namespace).List(ctx, metav1.ListOptions{LabelSelector: agentmeta.ComponentLabel + "=" + agentmeta.Name})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("agent pods: %v (%d found)", err, len(pods.Items))
	}
	toleration := corev1.Toleration{Key: nodeGoneTaintKey, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			pod, err := clientset.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
			if isNotFound(err) {
				return nil
			}
			if err != nil {
				return err
			}
			if slices.ContainsFunc(pod.Spec.Tolerations, func(tl corev1.Toleration) bool { return tl.Key == nodeGoneTaintKey }) {
				return nil
			}
			pod.Spec.Tolerations = append(pod.Spec.Tolerations, toleration)
			_, err = clientset.CoreV1().Pods(p.Namespace).Update(ctx, pod, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatalf("letting agent Pod %s tolerate the taint %s: %v", p.Name, nodeGoneTaintKey, err)
		}
	}
}
