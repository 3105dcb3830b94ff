package conformance

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
)

// The Experiment part: Argo's Experiment fixtures (experiment-*.yaml) must
// run their templates and end Successful, and the tests of Argo's
// experiment_test.go run step by step.

var experimentGVR = schema.GroupVersionResource{Group: "argolite.dev", Version: "v1alpha1", Resource: "experiments"}

// experiments are the fixture namespace's Experiments.
func (e *rolloutEnv) experiments() ([]unstructured.Unstructured, error) {
	l, err := e.dyn.Resource(experimentGVR).Namespace(e.ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}

// experiment is the Experiment named name, or, with name "", the only one
// (a fixture with generateName).
func (e *rolloutEnv) experiment(name string) (*unstructured.Unstructured, error) {
	if name != "" {
		return e.dyn.Resource(experimentGVR).Namespace(e.ns).Get(e.ctx, name, metav1.GetOptions{})
	}
	exs, err := e.experiments()
	if err != nil {
		return nil, err
	}
	if len(exs) != 1 {
		return nil, fmt.Errorf("%d Experiments, want 1", len(exs))
	}
	return &exs[0], nil
}

// waitExperimentPhase is Argo's WaitForExperimentPhase.
func (e *rolloutEnv) waitExperimentPhase(name, want string) error {
	var last, msg string
	err := wait.PollUntilContextTimeout(e.ctx, 250*time.Millisecond, rolloutTimeout, true, func(context.Context) (bool, error) {
		ex, err := e.experiment(name)
		if err != nil {
			return false, nil
		}
		last, _, _ = unstructured.NestedString(ex.Object, "status", "phase")
		msg, _, _ = unstructured.NestedString(ex.Object, "status", "message")
		return last == want, nil
	})
	if err != nil {
		return fmt.Errorf("experiment %s is %q (%s), want %s", name, last, msg, want)
	}
	return nil
}

// experimentRS is the ReplicaSet of an Experiment's template (Argo's
// GetReplicaSetFromExperiment).
func (e *rolloutEnv) experimentRS(ex *unstructured.Unstructured, template string) (*unstructured.Unstructured, error) {
	rss, err := e.dyn.Resource(rsGVR).Namespace(e.ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for i := range rss.Items {
		rs := &rss.Items[i]
		ann := rs.GetAnnotations()
		if ann["experiment.argoproj.io/name"] == ex.GetName() && ann["experiment.argoproj.io/template-name"] == template {
			return rs, nil
		}
	}
	return nil, fmt.Errorf("experiment %s has no ReplicaSet for template %s", ex.GetName(), template)
}

// waitExperimentRS waits for the template's ReplicaSet to have n replicas
// (status.replicas, or status.availableReplicas with available).
func (e *rolloutEnv) waitExperimentRS(name, template string, n int64, available bool) error {
	field := "replicas"
	if available {
		field = "availableReplicas"
	}
	var got int64
	err := wait.PollUntilContextTimeout(e.ctx, 250*time.Millisecond, rolloutTimeout, true, func(context.Context) (bool, error) {
		ex, err := e.experiment(name)
		if err != nil {
			return false, nil
		}
		rs, err := e.experimentRS(ex, template)
		if err != nil {
			return false, nil
		}
		got, _, _ = unstructured.NestedInt64(rs.Object, "status", field)
		return got == n, nil
	})
	if err != nil {
		return fmt.Errorf("experiment %s template %s ReplicaSet has %s %d, want %d", name, template, field, got, n)
	}
	return nil
}

// expectExperimentServices is Argo's ExpectExperimentServiceCount: the
// Services the Experiment controls.
func (e *rolloutEnv) expectExperimentServices(name string, want int) error {
	ex, err := e.experiment(name)
	if err != nil {
		return err
	}
	svcs, err := e.kube.CoreV1().Services(e.ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	n := 0
	for _, s := range svcs.Items {
		if ref := metav1.GetControllerOf(&s); ref != nil && ref.UID == ex.GetUID() && s.DeletionTimestamp == nil {
			n++
		}
	}
	if n != want {
		return fmt.Errorf("experiment %s has %d Services, want %d", name, n, want)
	}
	return nil
}

// experimentRun is the AnalysisRun of the Experiment's first analysis.
func (e *rolloutEnv) experimentRun(name string) (*unstructured.Unstructured, error) {
	ex, err := e.experiment(name)
	if err != nil {
		return nil, err
	}
	runs, _, _ := unstructured.NestedSlice(ex.Object, "status", "analysisRuns")
	if len(runs) == 0 {
		return nil, fmt.Errorf("experiment %s has no AnalysisRun in status", name)
	}
	runName, _, _ := unstructured.NestedString(runs[0].(map[string]any), "analysisRun")
	return e.dyn.Resource(runGVR).Namespace(e.ns).Get(e.ctx, runName, metav1.GetOptions{})
}

func expPhase(name, phase string) rolloutStep {
	return func(e *rolloutEnv) error { return e.waitExperimentPhase(name, phase) }
}
func expReplicas(name, template string, n int64) rolloutStep {
	return func(e *rolloutEnv) error { return e.waitExperimentRS(name, template, n, false) }
}
func expAvailable(name, template string, n int64) rolloutStep {
	return func(e *rolloutEnv) error { return e.waitExperimentRS(name, template, n, true) }
}
func expServices(name string, n int) rolloutStep {
	return func(e *rolloutEnv) error { return e.expectExperimentServices(name, n) }
}
func expCount(n int) rolloutStep {
	return func(e *rolloutEnv) error {
		exs, err := e.experiments()
		if err == nil && len(exs) != n {
			err = fmt.Errorf("%d Experiments, want %d", len(exs), n)
		}
		return err
	}
}

// expDryRun is Argo's ExpectExperimentDryRunSummary.
func expDryRun(count, errors, failed int64, name string) rolloutStep {
	return func(e *rolloutEnv) error {
		run, err := e.experimentRun(name)
		if err != nil {
			return err
		}
		sum, ok, _ := unstructured.NestedMap(run.Object, "status", "dryRunSummary")
		if !ok {
			return fmt.Errorf("AnalysisRun %s has no dryRunSummary", run.GetName())
		}
		c, _, _ := unstructured.NestedInt64(sum, "count")
		er, _, _ := unstructured.NestedInt64(sum, "error")
		f, _, _ := unstructured.NestedInt64(sum, "failed")
		if c != count || er != errors || f != failed {
			return fmt.Errorf("dry-run summary of %s is %v, want count %d error %d failed %d", run.GetName(), sum, count, errors, failed)
		}
		return nil
	}
}

// expMeasurements is Argo's ExpectExperimentMeasurementsLength.
func expMeasurements(metric, want int, name string) rolloutStep {
	return func(e *rolloutEnv) error {
		run, err := e.experimentRun(name)
		if err != nil {
			return err
		}
		results, _, _ := unstructured.NestedSlice(run.Object, "status", "metricResults")
		if len(results) <= metric {
			return fmt.Errorf("AnalysisRun %s has %d metric results", run.GetName(), len(results))
		}
		ms, _, _ := unstructured.NestedSlice(results[metric].(map[string]any), "measurements")
		if len(ms) != want {
			return fmt.Errorf("AnalysisRun %s metric %d keeps %d measurements, want %d", run.GetName(), metric, len(ms), want)
		}
		return nil
	}
}

// experimentHashes is the assertion block of Argo's
// TestRolloutWithExperimentAndAnalysis: the templates run the stable's and
// the canary's Pod specs under their own pod-template-hashes, and the
// job metric got each hash through the args.
func experimentHashes(e *rolloutEnv) error {
	byRev := map[string]*unstructured.Unstructured{}
	rss, err := e.dyn.Resource(rsGVR).Namespace(e.ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range rss.Items {
		if rev := rss.Items[i].GetAnnotations()["rollout.argoproj.io/revision"]; rev != "" && rss.Items[i].GetAnnotations()["experiment.argoproj.io/name"] == "" {
			byRev[rev] = &rss.Items[i]
		}
	}
	rs1, rs2 := byRev["1"], byRev["2"]
	if rs1 == nil || rs2 == nil {
		return fmt.Errorf("the ReplicaSets of revisions 1 and 2: %v %v", rs1 != nil, rs2 != nil)
	}
	exs, err := e.experiments()
	if err != nil {
		return err
	}
	if len(exs) != 1 {
		return fmt.Errorf("%d Experiments, want the one of revision 2", len(exs))
	}
	ex := &exs[0]
	canary, err := e.experimentRS(ex, "canary")
	if err != nil {
		return err
	}
	baseline, err := e.experimentRS(ex, "baseline")
	if err != nil {
		return err
	}
	spec := func(u *unstructured.Unstructured) string {
		s, _, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "template", "spec")
		return fmt.Sprint(s)
	}
	if spec(rs1) != spec(baseline) || spec(rs2) != spec(canary) {
		return fmt.Errorf("the experiment's Pod specs are not the stable's (baseline) and the canary's")
	}
	hash := func(u *unstructured.Unstructured) string { return u.GetLabels()["rollouts-pod-template-hash"] }
	run, err := e.experimentRun(ex.GetName())
	if err != nil {
		return err
	}
	jobs, err := e.kube.BatchV1().Jobs(e.ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	var env []corev1.EnvVar
	for _, j := range jobs.Items {
		if ref := metav1.GetControllerOf(&j); ref != nil && ref.UID == run.GetUID() {
			env = j.Spec.Template.Spec.Containers[0].Env
			if j.Labels["foo"] != "bar" || j.Annotations["foo2"] != "bar2" {
				return fmt.Errorf("job %s lacks the template's job metadata: %v %v", j.Name, j.Labels, j.Annotations)
			}
		}
	}
	if len(env) < 4 {
		return fmt.Errorf("the analysis Job's env: %v", env)
	}
	want := []string{hash(rs2), hash(rs1), hash(baseline), hash(canary)}
	for i, w := range want {
		if env[i].Value != w {
			return fmt.Errorf("job env %s = %q, want %q", env[i].Name, env[i].Value, w)
		}
	}
	if hash(baseline) == hash(rs1) || hash(canary) == hash(rs2) || hash(baseline) == hash(canary) {
		return fmt.Errorf("experiment ReplicaSets share pod-template-hashes with the Rollout's: %s %s %s %s", hash(rs1), hash(rs2), hash(baseline), hash(canary))
	}
	return nil
}

// experimentScenarios are Argo's experiment_test.go, as written.
var experimentScenarios = []rolloutScenario{
	{test: "experiment_test.go TestRolloutWithExperimentAndAnalysis", file: "rollout-experiment-analysis.yaml", steps: []rolloutStep{
		waitPhase("Healthy"), expCount(0), updateSpec(""), waitPhase("Paused"), expCount(1), expPhase("", "Successful"),
		experimentHashes, promote(), waitPhase("Healthy")}},
	{test: "experiment_test.go TestExperimentWithServiceAndScaleDownDelay", file: "experiment-with-service.yaml", steps: experimentServiceSteps("experiment-with-service")},
	{test: "experiment_test.go TestExperimentWithServiceNameAndScaleDownDelay", file: "experiment-with-service-name.yaml", steps: experimentServiceSteps("experiment-with-service-name")},
	{test: "experiment_test.go TestExperimentWithMultiportServiceAndScaleDownDelay", file: "experiment-with-multiport-service.yaml", steps: experimentServiceSteps("experiment-with-multiport-service")},
	{test: "experiment_test.go TestExperimentWithDryRunMetrics", file: "experiment-dry-run-analysis.yaml", steps: []rolloutStep{
		expPhase("experiment-with-dry-run", "Successful"), sleep(3 * time.Second), expDryRun(1, 0, 1, "experiment-with-dry-run")}},
	{test: "experiment_test.go TestExperimentWithMeasurementRetentionMetrics", file: "experiment-measurement-retention-analysis.yaml", steps: []rolloutStep{
		expPhase("experiment-with-mr", "Successful"), sleep(3 * time.Second), expMeasurements(0, 2, "experiment-with-mr")}},
}

func experimentServiceSteps(name string) []rolloutStep {
	return []rolloutStep{
		expPhase(name, "Running"), expReplicas(name, "test", 1), expServices(name, 1),
		expPhase(name, "Successful"), expReplicas(name, "test", 0), expAvailable(name, "test", 0), expServices(name, 0),
	}
}
