package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// labelResubmittedFrom is the label the plugin puts on a resubmitted workflow.
const labelResubmittedFrom = "argolite.dev/resubmitted-from" // plugin/wf/submit.go

// retryResubmit is the subtest of TestWorkflowFeatures
// "retry resumes from the failed step, resubmit runs again".
func (ws *workflowSuite) retryResubmit(t *testing.T) {
	dyn := ws.dyn
	ns := featureNamespace(t, dyn)
	// B succeeds once this host directory (mounted into its Pod) holds "ok".
	dir, err := os.MkdirTemp("/tmp", "argolite-e2e-retry-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	name := submitWorkflow(t, dyn, ns, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: retry-}
spec:
  entrypoint: main
  volumes:
  - name: data
    hostPath: {path: `+dir+`, type: Directory}
  templates:
  - name: main
    steps:
    - - {name: a, template: a}
    - - {name: b, template: b}
  - name: a
    container: {image: `+wfImage+`, imagePullPolicy: IfNotPresent, command: [echo, a ran]}
  - name: b
    container:
      image: `+wfImage+`
      imagePullPolicy: IfNotPresent
      command: [sh, -c, "test -e /data/ok && echo found"]
      volumeMounts: [{name: data, mountPath: /data}]
`)
	a, b := name+"[0].a", name+"[1].b"
	wf := waitWorkflow(t, dyn, ns, name, "to end", 2*time.Minute, completed)
	if phaseOf(wf) != "Failed" || nodeStr(nodeNamed(wf, a), "phase") != "Succeeded" || nodeStr(nodeNamed(wf, b), "phase") != "Failed" {
		t.Fatalf("want Failed with a Succeeded and b Failed; got:\n%s", describeWorkflow(wf))
	}
	aPods, bPods := podsOfNode(t, ns, name, a), podsOfNode(t, ns, name, b)
	if len(aPods) != 1 || len(bPods) != 1 {
		t.Fatalf("Pods of a: %v, of b: %v; want one each", podNames(aPods), podNames(bPods))
	}

	if err := os.WriteFile(filepath.Join(dir, "ok"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := argo(t, "wf", "retry", name, "-n", ns, "--wait"); r.code != 0 {
		t.Fatalf("wf retry --wait exited %d: %s%s", r.code, r.stdout, r.stderr)
	}
	wf = getWorkflow(t, dyn, ns, name)
	if phaseOf(wf) != "Succeeded" || nodeStr(nodeNamed(wf, b), "phase") != "Succeeded" {
		t.Errorf("after wf retry: want Succeeded; got:\n%s", describeWorkflow(wf))
	}
	if got := podsOfNode(t, ns, name, a); len(got) != 1 || got[0].UID != aPods[0].UID {
		t.Errorf("a succeeded before the retry and must not run again: its Pods were %s (uid %s), now %v", aPods[0].Name, aPods[0].UID, podUIDs(got))
	}
	if got := podsOfNode(t, ns, name, b); len(got) != 1 || got[0].UID == bPods[0].UID {
		t.Errorf("b must run again in a new Pod: its Pod was %s (uid %s), now %v", bPods[0].Name, bPods[0].UID, podUIDs(got))
	}

	r := argo(t, "wf", "resubmit", name, "-n", ns, "--wait")
	if r.code != 0 {
		t.Fatalf("wf resubmit --wait exited %d: %s%s", r.code, r.stdout, r.stderr)
	}
	again := submittedName(t, r)
	if again == name {
		t.Fatalf("wf resubmit reused the name %s", name)
	}
	wf = getWorkflow(t, dyn, ns, again)
	if phaseOf(wf) != "Succeeded" || wf.GetLabels()[labelResubmittedFrom] != name {
		t.Errorf("the resubmitted workflow: want Succeeded, labelled %s=%s; got labels %v and:\n%s", labelResubmittedFrom, name, wf.GetLabels(), describeWorkflow(wf))
	}
	if pods := stepPods(t, ns, again); len(pods) != 2 {
		t.Errorf("the resubmitted workflow ran %d step Pods, want 2 (every step again): %v", len(pods), podNames(pods))
	}
}
