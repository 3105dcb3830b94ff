package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// mutex is the subtest of TestWorkflowFeatures
// "a mutex serialises two workflows".
func (ws *workflowSuite) mutex(t *testing.T) {
	dyn := ws.dyn
	ns := featureNamespace(t, dyn)
	doc := `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: mutex-}
spec:
  entrypoint: main
  synchronization:
    mutexes: [{name: one-at-a-time}]
  templates:
  - name: main
    container: {image: ` + wfImage + `, imagePullPolicy: IfNotPresent, command: [sh, -c, "sleep 3"]}
`
	names := []string{submitWorkflow(t, dyn, ns, doc), submitWorkflow(t, dyn, ns, doc)}
	lock := ns + "/Mutex/one-at-a-time"
	var holder, waiter string
	waitFor(t, "one workflow to hold the mutex while the other waits for it", time.Minute, func(ctx context.Context) (bool, error) {
		wfs := make([]*unstructured.Unstructured, 2)
		for i, n := range names {
			wf, err := dyn.Resource(workflowGVR).Namespace(ns).Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			wfs[i] = wf
		}
		for i := range wfs {
			w, h := wfs[i], wfs[1-i]
			if phaseOf(w) == "Pending" && strings.Contains(messageOf(w), "Waiting for "+lock+" lock") &&
				lockListed(w, "waiting", lock, ns+"/"+w.GetName()) && lockListed(h, "holding", lock, ns+"/"+h.GetName()) {
				waiter, holder = w.GetName(), h.GetName()
				return true, nil
			}
		}
		return false, nil
	})
	for _, n := range names {
		wf := waitWorkflow(t, dyn, ns, n, "to end", 2*time.Minute, completed)
		if phaseOf(wf) != "Succeeded" || lockListed(wf, "holding", lock, ns+"/"+n) || lockListed(wf, "waiting", lock, ns+"/"+n) {
			sync, _, _ := unstructured.NestedFieldNoCopy(wf.Object, "status", "synchronization")
			t.Errorf("%s: want Succeeded with the mutex released; status.synchronization %v:\n%s", n, sync, describeWorkflow(wf))
		}
	}
	hStart, hEnd := mainRun(t, ns, holder)
	wStart, wEnd := mainRun(t, ns, waiter)
	// Container times have whole seconds: the waiter's start may equal the holder's end, not precede it.
	if wStart.Before(hEnd) {
		t.Errorf("the steps overlap: %s ran %s..%s, %s (which waited for the mutex) ran %s..%s",
			holder, hStart.Format(time.TimeOnly), hEnd.Format(time.TimeOnly), waiter, wStart.Format(time.TimeOnly), wEnd.Format(time.TimeOnly))
	}
}

// lockListed reports whether status.synchronization.mutex lists holder
// under list ("holding" or "waiting") for lock.
func lockListed(wf *unstructured.Unstructured, list, lock, holder string) bool {
	entries, _, _ := unstructured.NestedSlice(wf.Object, "status", "synchronization", "mutex", list)
	for _, e := range entries {
		m, _ := e.(map[string]any)
		if m["lock"] != lock {
			continue
		}
		holders, _, _ := unstructured.NestedStringSlice(m, "holders")
		if slices.Contains(holders, holder) {
			return true
		}
	}
	return false
}

// mainRun is when the main container of a one-step workflow's Pod ran.
func mainRun(t *testing.T, ns, wf string) (start, end time.Time) {
	t.Helper()
	pods := stepPods(t, ns, wf)
	if len(pods) != 1 {
		t.Fatalf("%s has step Pods %v, want 1", wf, podNames(pods))
	}
	term := terminatedMain(&pods[0])
	if term == nil {
		t.Fatalf("the main container of %s has not ended: %+v", pods[0].Name, pods[0].Status.ContainerStatuses)
	}
	return term.StartedAt.Time, term.FinishedAt.Time
}
