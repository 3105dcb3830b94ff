package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// memoize is the subtest of TestWorkflowFeatures
// "memoize hits the cache on the second run".
func (ws *workflowSuite) memoize(t *testing.T) {
	dyn := ws.dyn
	ns := featureNamespace(t, dyn)
	const key = "memo-key-1"
	doc := `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: memo-}
spec:
  entrypoint: main
  arguments: {parameters: [{name: x, value: ` + key + `}]}
  templates:
  - name: main
    inputs: {parameters: [{name: x}]}
    memoize:
      key: "{{inputs.parameters.x}}"
      maxAge: 1h
      cache: {configMap: {name: memo-cache}}
    script:
      image: ` + wfImage + `
      imagePullPolicy: IfNotPresent
      command: [sh]
      source: cat /proc/sys/kernel/random/uuid
`
	first := submitWorkflow(t, dyn, ns, doc)
	wf := waitWorkflow(t, dyn, ns, first, "to end", 2*time.Minute, completed)
	n := nodeNamed(wf, first)
	want := nodeStr(n, "outputs", "result")
	if hit, found, _ := unstructured.NestedBool(n, "memoizationStatus", "hit"); phaseOf(wf) != "Succeeded" || want == "" || !found || hit {
		t.Fatalf("first run: want Succeeded with a result and memoizationStatus.hit false; got memoizationStatus %v:\n%s", n["memoizationStatus"], describeWorkflow(wf))
	}
	waitFor(t, "the result in ConfigMap memo-cache under "+key, 30*time.Second, func(ctx context.Context) (bool, error) {
		cm, err := clientset.CoreV1().ConfigMaps(ns).Get(ctx, "memo-cache", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return strings.Contains(cm.Data[key], want), nil
	})

	second := submitWorkflow(t, dyn, ns, doc)
	wf = waitWorkflow(t, dyn, ns, second, "to end", 2*time.Minute, completed)
	n = nodeNamed(wf, second)
	if hit, _, _ := unstructured.NestedBool(n, "memoizationStatus", "hit"); phaseOf(wf) != "Succeeded" || !hit || nodeStr(n, "outputs", "result") != want {
		t.Errorf("second run: want Succeeded from the cache (memoizationStatus.hit true) with the first run's result %q; got memoizationStatus %v:\n%s",
			want, n["memoizationStatus"], describeWorkflow(wf))
	}
	if pods := stepPods(t, ns, second); len(pods) != 0 {
		t.Errorf("the cached run started %d Pods, want none: %v", len(pods), podNames(pods))
	}
}
