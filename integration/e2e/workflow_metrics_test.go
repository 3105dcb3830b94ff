package e2e

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"

	"github.com/argolite/argolite/shared/agentmeta"
)

// customMetrics is the subtest of TestWorkflowFeatures
// "custom metrics reach the agent's /metrics".
func (ws *workflowSuite) customMetrics(t *testing.T) {
	dyn := ws.dyn
	ns := featureNamespace(t, dyn)
	name := submitWorkflow(t, dyn, ns, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: metrics-}
spec:
  entrypoint: main
  metrics:
    prometheus:
    - name: e2e_feature_runs
      help: Runs of the e2e metrics workflow
      labels:
      - {key: wf, value: "{{workflow.name}}"}
      - {key: status, value: "{{workflow.status}}"}
      counter: {value: "1"}
    - name: e2e_feature_duration_seconds
      help: Duration of the e2e metrics workflow
      labels:
      - {key: wf, value: "{{workflow.name}}"}
      gauge: {value: "{{workflow.duration}}", realtime: false}
  templates:
  - name: main
    container: {image: `+wfImage+`, imagePullPolicy: IfNotPresent, command: [echo, measured]}
`)
	wf := waitWorkflow(t, dyn, ns, name, "to end", 2*time.Minute, completed)
	if phaseOf(wf) != "Succeeded" {
		t.Fatalf("want Succeeded:\n%s", describeWorkflow(wf))
	}
	// The agent records the metrics when the workflow ends, before it
	// writes the status: they should be there by now; a short poll
	// covers a scrape that races the write.
	var text string
	var runs, dur float64
	var okRuns, okDur bool
	_ = wait.PollUntilContextTimeout(context.Background(), time.Second, 15*time.Second, true, func(context.Context) (bool, error) {
		text = agentMetrics(t)
		runs, okRuns = metricSample(text, "argo_workflows_e2e_feature_runs", map[string]string{"wf": name, "status": "Succeeded"})
		dur, okDur = metricSample(text, "argo_workflows_e2e_feature_duration_seconds", map[string]string{"wf": name})
		return okRuns && okDur, nil
	})
	if !okRuns || runs != 1 || !okDur || dur < 0 || dur > 600 {
		var ours []string
		for _, l := range strings.Split(text, "\n") {
			if strings.Contains(l, "e2e_feature") {
				ours = append(ours, l)
			}
		}
		t.Errorf("want argo_workflows_e2e_feature_runs{status=\"Succeeded\",wf=%q} 1 and a duration gauge in 0..600 s; got runs=%v (%v), duration=%v (%v); the agent's e2e_feature lines:\n%s",
			name, runs, okRuns, dur, okDur, strings.Join(ours, "\n"))
	}

	// The role's own series: one per workflow, gone with it.
	ours := map[string]string{"kind": "Workflow", "namespace": ns, "name": name}
	if n, ok := metricSample(text, "argolite_workflow_reconcile_seconds_count", ours); !ok || n < 1 {
		t.Errorf("want argolite_workflow_reconcile_seconds_count for %s/%s, got %v (%v)", ns, name, n, ok)
	}

	// With Argo's metricsConfig.metricsTTL in argolite-config, series not
	// emitted for that long go (the agent watches its config and sweeps
	// every 30 s).
	setAgentConfigKey(t, "metricsConfig", "metricsTTL: 1s\n")
	waitFor(t, "the finished workflow's metric series to expire", 2*time.Minute, func(context.Context) (bool, error) {
		_, present := metricSample(agentMetrics(t), "argo_workflows_e2e_feature_runs", map[string]string{"wf": name, "status": "Succeeded"})
		return !present, nil
	})

	if err := dyn.Resource(workflowGVR).Namespace(ns).Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deleted workflow's reconcile series to go", time.Minute, func(context.Context) (bool, error) {
		_, present := metricSample(agentMetrics(t), "argolite_workflow_reconcile_seconds_count", ours)
		return !present, nil
	})
}

var (
	sampleRe = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)`)
	labelRe  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// metricSample is the value of the sample of metric name (or name_total)
// whose labels include want, in Prometheus text format.
func metricSample(text, name string, want map[string]string) (float64, bool) {
	for _, l := range strings.Split(text, "\n") {
		m := sampleRe.FindStringSubmatch(l)
		if m == nil || (m[1] != name && m[1] != name+"_total") {
			continue
		}
		labels := map[string]string{}
		for _, lm := range labelRe.FindAllStringSubmatch(m[2], -1) {
			labels[lm[1]] = lm[2]
		}
		match := true
		for k, v := range want {
			match = match && labels[k] == v
		}
		if !match {
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		return v, err == nil
	}
	return 0, false
}

// setAgentConfigKey sets one key of the agent's argolite-config ConfigMap
// (creating it if need be) and restores what was there when the test ends.
func setAgentConfigKey(t *testing.T, key, value string) {
	t.Helper()
	restore := putAgentConfigKey(t, key, value)
	t.Cleanup(func() {
		if err := restore(); err != nil {
			t.Errorf("restoring %s in ConfigMap %s/%s: %v", key, agentmeta.Namespace, agentmeta.ConfigMapName, err)
		}
	})
}

// putAgentConfigKey sets one key of the agent's argolite-config ConfigMap,
// creating it if need be, and returns what puts the old value back.
func putAgentConfigKey(t *testing.T, key, value string) (restore func() error) {
	t.Helper()
	ctx := context.Background()
	cms := clientset.CoreV1().ConfigMaps(agentmeta.Namespace)
	const name = agentmeta.ConfigMapName
	var old string
	var had, created bool
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cm, err := cms.Get(ctx, name, metav1.GetOptions{})
		if isNotFound(err) {
			created = true
			_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: agentmeta.Namespace},
				Data: map[string]string{key: value}}, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				return apierrors.NewConflict(corev1.Resource("configmaps"), name, err)
			}
			return err
		}
		if err != nil {
			return err
		}
		created = false
		old, had = cm.Data[key]
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[key] = value
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("setting %s in ConfigMap %s/%s: %v", key, agentmeta.Namespace, name, err)
	}
	return func() error {
		return retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cm, err := cms.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if created && len(cm.Data) == 1 {
				return cms.Delete(ctx, name, metav1.DeleteOptions{})
			}
			if had {
				cm.Data[key] = old
			} else {
				delete(cm.Data, key)
			}
			_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
			return err
		})
	}
}
