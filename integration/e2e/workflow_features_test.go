package e2e

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/argolite/argolite/shared/wfnames"
)

// Workflow features end to end, through the plugin where a user would use
// it: suspend and resume, retry and resubmit, cron schedules, memoization,
// mutexes, custom metrics, results offloaded to the artifact repository and
// a step Pod evicted from its node.

// workflowSuite is what the subtests of TestWorkflowFeatures share: the
// agent they all run against is installed once, and they reach the
// workflows through one dynamic client. Each subtest is a function in the
// file of its feature (workflow_suspend_test.go, workflow_cron_test.go, ...)
// and works in namespaces of its own; they run in the order
// TestWorkflowFeatures lists them.
type workflowSuite struct {
	dyn dynamic.Interface
}

func TestWorkflowFeatures(t *testing.T) {
	needCluster(t)
	sharedAgent(t)
	dyn := dynamic.NewForConfigOrDie(cfg)
	ws := &workflowSuite{dyn: dyn}

	t.Run("suspend node with supplied parameters, and whole-workflow suspend/resume", ws.suspendResume)
	t.Run("retry resumes from the failed step, resubmit runs again", ws.retryResubmit)
	t.Run("cron schedules, triggers, forbids overlap and keeps history", ws.cronSchedules)
	t.Run("memoize hits the cache on the second run", ws.memoize)
	t.Run("a mutex serialises two workflows", ws.mutex)
	t.Run("custom metrics reach the agent's /metrics", ws.customMetrics)
	t.Run("a large result is offloaded to the artifact repository and read back", ws.largeResultOffloaded)
	t.Run("a 1,000-node workflow completes with its status under the size limit", ws.thousandNodes)
}

// featureNamespace is a namespace for one subtest; when the subtest fails
// every workflow in it is logged (phase, message, nodes).
func featureNamespace(t *testing.T, dyn dynamic.Interface) string {
	t.Helper()
	ns := newNamespace(t)
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		list, err := dyn.Resource(workflowGVR).Namespace(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Logf("listing the workflows of %s: %v", ns, err)
			return
		}
		for i := range list.Items {
			t.Logf("%s", describeWorkflow(&list.Items[i]))
		}
	})
	return ns
}

// describeWorkflow is a workflow's phase, message and nodes, for failure messages.
func describeWorkflow(wf *unstructured.Unstructured) string {
	if wf == nil {
		return "(no workflow)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "workflow %s/%s: phase %q, message %q", wf.GetNamespace(), wf.GetName(), phaseOf(wf), messageOf(wf))
	if s, found, _ := unstructured.NestedBool(wf.Object, "spec", "suspend"); found {
		fmt.Fprintf(&b, ", spec.suspend %v", s)
	}
	nodes, _, _ := unstructured.NestedMap(wf.Object, "status", "nodes")
	var lines []string
	for _, v := range nodes {
		n, _ := v.(map[string]any)
		line := fmt.Sprintf("  node %s [%s] %s", nodeStr(n, "name"), nodeStr(n, "type"), nodeStr(n, "phase"))
		if m := nodeStr(n, "message"); m != "" {
			line += fmt.Sprintf(" message %q", clipText(m, 300))
		}
		if r, found, _ := unstructured.NestedString(n, "outputs", "result"); found {
			line += fmt.Sprintf(" result (%d bytes) %q", len(r), clipText(r, 80))
		}
		lines = append(lines, line)
	}
	slices.Sort(lines)
	for _, l := range lines {
		b.WriteString("\n" + l)
	}
	return b.String()
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func getWorkflow(t *testing.T, dyn dynamic.Interface, ns, name string) *unstructured.Unstructured {
	t.Helper()
	wf, err := dyn.Resource(workflowGVR).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading workflow %s/%s: %v", ns, name, err)
	}
	return wf
}

// nodeNamed is the workflow's node with that name, nil when there is none.
func nodeNamed(wf *unstructured.Unstructured, name string) map[string]any {
	nodes, _, _ := unstructured.NestedMap(wf.Object, "status", "nodes")
	for _, v := range nodes {
		if n, ok := v.(map[string]any); ok && n["name"] == name {
			return n
		}
	}
	return nil
}

// nodeStr is a string field of a node ("" when n is nil or lacks it).
func nodeStr(n map[string]any, fields ...string) string {
	s, _, _ := unstructured.NestedString(n, fields...)
	return s
}

// podsOfNode are the workflow's step Pods of one node (by the node-name annotation).
func podsOfNode(t *testing.T, ns, wf, node string) []corev1.Pod {
	t.Helper()
	var out []corev1.Pod
	for _, p := range stepPods(t, ns, wf) {
		if p.Annotations[wfnames.AnnotationNodeName] == node {
			out = append(out, p)
		}
	}
	return out
}

func podNames(pods []corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

func podUIDs(pods []corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name+" (uid "+string(p.UID)+")")
	}
	return out
}

// terminatedMain is the main container's terminated state, nil while it runs.
func terminatedMain(p *corev1.Pod) *corev1.ContainerStateTerminated {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == "main" {
			return cs.State.Terminated
		}
	}
	return nil
}

// submittedRe finds the workflow name in the plugin's
// "workflow.argolite.dev/NAME submitted" line.
var submittedRe = regexp.MustCompile(`workflow\.argolite\.dev/([a-z0-9][a-z0-9.-]*) submitted`)

func submittedName(t *testing.T, r result) string {
	t.Helper()
	m := submittedRe.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no \"workflow.argolite.dev/NAME submitted\" in the output:\n%s%s", r.stdout, r.stderr)
	}
	return m[1]
}
