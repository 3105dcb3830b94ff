package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// httpbinImage is the go-httpbin the test bed builds (Argo's quick-start
// HTTP peer): the web metrics' in-cluster service.
const httpbinImage = "quay.io/holos/mccutchen/go-httpbin:v2.14.1"

// startHTTPBin runs go-httpbin behind a Service named httpbin in ns.
func startHTTPBin(t *testing.T, ns string) string {
	t.Helper()
	ctx := context.Background()
	labels := map[string]string{"app": "httpbin"}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "httpbin", Namespace: ns}, Spec: appsv1.DeploymentSpec{
		Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "httpbin", Image: httpbinImage, Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/status/200", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1},
		}}}},
	}}
	if _, err := clientset.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating httpbin: %v", err)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "httpbin", Namespace: ns}, Spec: corev1.ServiceSpec{
		Selector: labels, Ports: []corev1.ServicePort{{Port: 8080, TargetPort: intstr.FromInt32(8080)}}}}
	if _, err := clientset.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the httpbin Service: %v", err)
	}
	waitServiceAnswers(t, ns, "httpbin", "/status/200", 1)
	return fmt.Sprintf("http://httpbin.%s.svc:8080", ns)
}

// waitRun waits until the run completes and returns it.
func waitRun(t *testing.T, c client.Client, ns, name string, timeout time.Duration) *argov1.AnalysisRun {
	t.Helper()
	run := &argov1.AnalysisRun{}
	waitFor(t, "AnalysisRun "+name+" to complete", timeout, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, run); err != nil {
			return false, err
		}
		return run.Status.Phase.Completed(), nil
	})
	return run
}

func createRun(t *testing.T, c client.Client, ns, name string, spec argov1.AnalysisRunSpec) {
	t.Helper()
	run := &argov1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
	if err := c.Create(context.Background(), run); err != nil {
		t.Fatalf("creating AnalysisRun %s: %v", name, err)
	}
}

func jobMetric(name, script string) argov1.Metric {
	return argov1.Metric{Name: name, Provider: argov1.MetricProvider{Job: &argov1.JobMetric{Spec: batchv1.JobSpec{
		BackoffLimit: ptr.To(int32(0)),
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
			Name: "check", Image: wfImage, Command: []string{"sh", "-c", script}}}}},
	}}}}
}

// TestAnalysisRuns runs AnalysisRuns with web metrics against an in-cluster
// go-httpbin and with job metrics, as the rollout role will.
func TestAnalysisRuns(t *testing.T) {
	needCluster(t)
	sharedAgent(t)
	ns := newNamespace(t)
	c := newCRClient(t)
	base := startHTTPBin(t, ns)
	web := func() argov1.MetricProvider {
		return argov1.MetricProvider{Web: &argov1.WebMetric{URL: "{{args.base}}/json", JSONPath: "{$.slideshow.author}"}}
	}
	args := []argov1.Argument{{Name: "base", Value: ptr.To(base)}}
	three := intstr.FromInt32(3)
	five := intstr.FromInt32(5)
	one := intstr.FromInt32(1)

	createRun(t, c, ns, "web-ok", argov1.AnalysisRunSpec{Args: args, Metrics: []argov1.Metric{{
		Name: "author", Interval: "2s", Count: &three, SuccessCondition: `result == "Yours Truly"`, Provider: web()}}})
	createRun(t, c, ns, "web-fail", argov1.AnalysisRunSpec{Args: args, Metrics: []argov1.Metric{{
		Name: "author", Interval: "2s", Count: &five, FailureLimit: &one, SuccessCondition: `result == "someone else"`, Provider: web()}}})
	createRun(t, c, ns, "job-ok", argov1.AnalysisRunSpec{Metrics: []argov1.Metric{jobMetric("check", "exit 0")}})
	createRun(t, c, ns, "job-fail", argov1.AnalysisRunSpec{Metrics: []argov1.Metric{jobMetric("check", "exit 1")}})

	start := time.Now()
	ok := waitRun(t, c, ns, "web-ok", 2*time.Minute)
	if ok.Status.Phase != argov1.AnalysisPhaseSuccessful {
		t.Fatalf("web-ok: phase %s (%s), want Successful", ok.Status.Phase, ok.Status.Message)
	}
	// The first measurement may meet the Service before kube-proxy has its
	// endpoints: an Error, retried after 10s.
	r := ok.Status.MetricResults[0]
	if r.Count != 3 || r.Successful != 3 || int(r.Error) != len(r.Measurements)-3 || r.Measurements[len(r.Measurements)-1].Value != `"Yours Truly"` {
		t.Errorf("web-ok result = %+v, want 3 successful measurements of \"Yours Truly\"", r)
	}
	// Measurements are one interval apart, not sooner.
	for i := 1; i < len(r.Measurements); i++ {
		if r.Measurements[i-1].Phase == argov1.AnalysisPhaseError {
			continue
		}
		if gap := r.Measurements[i].StartedAt.Sub(r.Measurements[i-1].FinishedAt.Time); gap < 2*time.Second-10*time.Millisecond {
			t.Errorf("measurement %d started %s after the one before finished, want the 2s interval", i, gap)
		}
	}
	t.Logf("web-ok completed %s after creation", time.Since(start))
	if note := waitEventNote(t, ns, "web-ok", "AnalysisRunSuccessful", time.Minute); !strings.Contains(note, "Successful") {
		t.Errorf("AnalysisRunSuccessful note = %q", note)
	}
	waitEventNote(t, ns, "web-ok", "MetricSuccessful", time.Minute)
	waitEventNote(t, ns, "web-ok", "AnalysisRunRunning", time.Minute)

	failed := waitRun(t, c, ns, "web-fail", 2*time.Minute)
	if failed.Status.Phase != argov1.AnalysisPhaseFailed || !strings.Contains(failed.Status.Message, "failed (2) > failureLimit (1)") {
		t.Errorf("web-fail: phase %s (%q), want Failed after failureLimit 1", failed.Status.Phase, failed.Status.Message)
	}
	if r := failed.Status.MetricResults[0]; r.Failed != 2 || r.Count != 2 {
		t.Errorf("web-fail result = %+v, want it stopped at the second failure", r)
	}
	waitEventNote(t, ns, "web-fail", "AnalysisRunFailed", time.Minute)

	jobOK := waitRun(t, c, ns, "job-ok", 3*time.Minute)
	if jobOK.Status.Phase != argov1.AnalysisPhaseSuccessful {
		t.Errorf("job-ok: phase %s (%s), want Successful", jobOK.Status.Phase, jobOK.Status.Message)
	}
	jobName := jobOK.Status.MetricResults[0].Measurements[0].Metadata["job-name"]
	job, err := clientset.BatchV1().Jobs(ns).Get(context.Background(), jobName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the job metric's Job %q: %v", jobName, err)
	}
	if ref := metav1.GetControllerOf(job); ref == nil || ref.UID != jobOK.UID {
		t.Errorf("Job %s is not owned by its AnalysisRun: %+v", jobName, job.OwnerReferences)
	}
	jobFail := waitRun(t, c, ns, "job-fail", 3*time.Minute)
	if jobFail.Status.Phase != argov1.AnalysisPhaseFailed {
		t.Errorf("job-fail: phase %s (%s), want Failed", jobFail.Status.Phase, jobFail.Status.Message)
	}
}

// TestAnalysisRunUnsupported: a provider argolite does not support ends the
// run in Error naming it, and terminate ends runs that would go on forever.
func TestAnalysisRunUnsupported(t *testing.T) {
	needCluster(t)
	sharedAgent(t)
	ns := newNamespace(t)
	c := newCRClient(t)
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(`
apiVersion: argolite.dev/v1alpha1
kind: AnalysisRun
metadata: {name: datadog}
spec:
  metrics:
  - name: errors
    provider:
      datadog: {query: "avg:errors"}
`), &u.Object); err != nil {
		t.Fatal(err)
	}
	u.SetNamespace(ns)
	if err := c.Create(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	run := waitRun(t, c, ns, "datadog", time.Minute)
	if run.Status.Phase != argov1.AnalysisPhaseError || !strings.Contains(run.Status.Message, `spec.metrics[0].provider.datadog: field "datadog" is not supported by argolite`) ||
		!strings.Contains(run.Status.Message, "prometheus, web or job") {
		t.Errorf("datadog run: phase %s message %q, want Error naming datadog and the supported providers", run.Status.Phase, run.Status.Message)
	}

	// A metric with an interval and no count runs until terminated: with
	// its measurement done, the run ends Successful.
	base := startHTTPBin(t, ns)
	createRun(t, c, ns, "forever-web", argov1.AnalysisRunSpec{Metrics: []argov1.Metric{{Name: "up", Interval: "1h",
		Provider: argov1.MetricProvider{Web: &argov1.WebMetric{URL: base + "/json"}}}}})
	forever := &argov1.AnalysisRun{}
	waitFor(t, "a successful measurement of forever-web", 2*time.Minute, func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "forever-web"}, forever)
		return err == nil && (forever.Status.Phase.Completed() || len(forever.Status.MetricResults) == 1 && forever.Status.MetricResults[0].Successful == 1), err
	})
	if forever.Status.Phase.Completed() {
		t.Fatalf("forever-web ended %s (%s) before it was terminated; its results: %+v", forever.Status.Phase, forever.Status.Message, forever.Status.MetricResults)
	}
	terminate(t, c, ns, "forever-web")
	done := waitRun(t, c, ns, "forever-web", time.Minute)
	if done.Status.Phase != argov1.AnalysisPhaseSuccessful || done.Status.Message != "Run Terminated" {
		t.Errorf("terminated run: phase %s message %q, want Successful, Run Terminated", done.Status.Phase, done.Status.Message)
	}

	// A Job in flight is deleted, and its measurement ends Inconclusive
	// with "Metric Terminated", as in Argo.
	createRun(t, c, ns, "forever-job", argov1.AnalysisRunSpec{Metrics: []argov1.Metric{{Name: "job", Interval: "1h",
		Provider: jobMetric("job", "sleep 3600").Provider}}})
	var jobName string
	waitFor(t, "the forever-job run's Job", 2*time.Minute, func(ctx context.Context) (bool, error) {
		r := &argov1.AnalysisRun{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "forever-job"}, r); err != nil || len(r.Status.MetricResults) == 0 || len(r.Status.MetricResults[0].Measurements) == 0 {
			return false, err
		}
		jobName = r.Status.MetricResults[0].Measurements[0].Metadata["job-name"]
		return jobName != "", nil
	})
	terminate(t, c, ns, "forever-job")
	done = waitRun(t, c, ns, "forever-job", time.Minute)
	if ms := done.Status.MetricResults[0].Measurements[0]; ms.Phase != argov1.AnalysisPhaseInconclusive || ms.Message != "Metric Terminated" {
		t.Errorf("terminated Job measurement: %s %q, want Inconclusive, Metric Terminated", ms.Phase, ms.Message)
	}
	waitFor(t, "the terminated measurement's Job to be deleted", time.Minute, func(ctx context.Context) (bool, error) {
		_, err := clientset.BatchV1().Jobs(ns).Get(ctx, jobName, metav1.GetOptions{})
		return isNotFound(err), nil
	})
}

func terminate(t *testing.T, c client.Client, ns, name string) {
	t.Helper()
	patch := client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"terminate":true}}`))
	if err := c.Patch(context.Background(), &argov1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}, patch); err != nil {
		t.Fatalf("terminating %s: %v", name, err)
	}
}
