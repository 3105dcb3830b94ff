package conformance

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

// The Rollouts part: every Rollout fixture of Argo Rollouts' e2e suite
// (../shared/conformance/argo-rollouts/functional) is applied as Argo's
// suite applies it, with only the apiVersion mapped, into a namespace of
// its own. A fixture argolite supports must reach Healthy; one that uses a
// feature argolite refuses (a traffic router other than the Gateway API,
// ping-pong) must be Degraded with InvalidSpec naming that
// field. Then the scenarios of Argo's own tests (canary_test.go,
// analysis_test.go, functional_test.go, rollback_window_test.go) that need
// no ALB, Istio or the public internet run step by step, as Argo's fixture
// DSL runs them.

var (
	rolloutGVR = schema.GroupVersionResource{Group: "argolite.dev", Version: "v1alpha1", Resource: "rollouts"}
	runGVR     = schema.GroupVersionResource{Group: "argolite.dev", Version: "v1alpha1", Resource: "analysisruns"}
	rsGVR      = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}
)

// rolloutTimeout bounds one wait for a phase.
const rolloutTimeout = 2 * time.Minute

// rolloutsParallel is how many fixtures run at once.
const rolloutsParallel = 4

// analysisTemplates are the templates Argo's AnalysisSuite applies first.
var analysisTemplates = []string{
	"analysistemplate-web-background.yaml", "analysistemplate-web-background-inconclusive.yaml",
	"analysistemplate-sleep-job.yaml", "analysistemplate-multiple-job.yaml", "analysistemplate-fail-multiple-job.yaml",
	"analysistemplate-long-running-job.yaml", "analysistemplate-invalid-image-job.yaml", "analysistemplate-long-running-job-deadline.yaml",
}

// refusedFeature names the field of a fixture that argolite refuses by
// name, or "" when it takes the fixture.
func refusedFeature(objs []*unstructured.Unstructured) string {
	for _, o := range objs {
		if o.GetKind() != "Rollout" {
			continue
		}
		canary, _, _ := unstructured.NestedMap(o.Object, "spec", "strategy", "canary")
		if tr, ok := canary["trafficRouting"].(map[string]any); ok {
			for k := range tr {
				if k != "gatewayAPI" && k != "plugins" && k != "managedRoutes" {
					return k
				}
			}
		}
		if _, ok := canary["pingPong"]; ok {
			return "pingPong"
		}
		steps, _, _ := unstructured.NestedSlice(o.Object, "spec", "strategy", "canary", "steps")
		for _, s := range steps {
			if m, ok := s.(map[string]any); ok {
				for _, k := range []string{"setMirrorRoute", "plugin"} {
					if _, ok := m[k]; ok {
						return k
					}
				}
			}
		}
		if _, ok, _ := unstructured.NestedMap(o.Object, "spec", "workloadRef"); ok {
			return "workloadRef"
		}
	}
	return ""
}

// placeholder says a fixture names its Rollout with a placeholder its
// tests replace.
func placeholder(objs []*unstructured.Unstructured) bool {
	for _, o := range objs {
		if n := o.GetName(); n != "" && strings.ToUpper(n) == n && strings.ToLower(n) != n {
			return true
		}
	}
	return false
}

// rolloutEnv is what one fixture runs with.
type rolloutEnv struct {
	ctx    context.Context
	dyn    dynamic.Interface
	kube   kubernetes.Interface
	mapper meta.RESTMapper
	corpus string
	ns     string
	name   string // the Rollout
	log    []string
	// remembered is a value a step keeps for a later one.
	remembered string
}

func (e *rolloutEnv) logf(format string, args ...any) {
	e.log = append(e.log, fmt.Sprintf(format, args...))
}

// apply creates every object of a fixture file (or YAML text) in the
// namespace; kinds the cluster does not serve (Istio's VirtualService)
// are skipped, as the routers that need them are refused anyway.
func (e *rolloutEnv) apply(fileOrYAML string) error {
	var objs []*unstructured.Unstructured
	var err error
	if strings.HasSuffix(fileOrYAML, ".yaml") {
		objs, err = readObjects(filepath.Join(e.corpus, fileOrYAML))
	} else {
		objs, err = decodeObjects([]byte(fileOrYAML))
	}
	if err != nil {
		return err
	}
	for _, o := range objs {
		mapObject(o)
		gvk := o.GroupVersionKind()
		m, err := e.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			e.logf("skipped %s %s: the cluster does not serve it", gvk.Kind, o.GetName())
			continue
		}
		var ri dynamic.ResourceInterface = e.dyn.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			ri = e.dyn.Resource(m.Resource).Namespace(e.ns)
		}
		if _, err := ri.Create(e.ctx, o, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			if gvk.Kind == "Rollout" || gvk.Kind == "AnalysisTemplate" || gvk.Kind == "Experiment" {
				return fmt.Errorf("creating %s %s: %w", gvk.Kind, o.GetName(), err)
			}
			e.logf("skipped %s %s: %v", gvk.Kind, o.GetName(), err)
			continue
		}
		if gvk.Kind == "Rollout" && e.name == "" {
			e.name = o.GetName()
		}
	}
	return nil
}

func (e *rolloutEnv) rollout() (*unstructured.Unstructured, error) {
	return e.dyn.Resource(rolloutGVR).Namespace(e.ns).Get(e.ctx, e.name, metav1.GetOptions{})
}

// phase is the Rollout's phase for its current generation, "" before the
// agent has observed it.
func phaseOf(ro *unstructured.Unstructured) string {
	observed, _, _ := unstructured.NestedString(ro.Object, "status", "observedGeneration")
	if observed != fmt.Sprint(ro.GetGeneration()) {
		return ""
	}
	p, _, _ := unstructured.NestedString(ro.Object, "status", "phase")
	return p
}

// waitPhase is Argo's WaitForRolloutStatus.
func (e *rolloutEnv) waitPhase(want string) error {
	var last, msg string
	err := wait.PollUntilContextTimeout(e.ctx, 250*time.Millisecond, rolloutTimeout, true, func(context.Context) (bool, error) {
		ro, err := e.rollout()
		if err != nil {
			return false, nil
		}
		last = phaseOf(ro)
		msg, _, _ = unstructured.NestedString(ro.Object, "status", "message")
		return last == want, nil
	})
	if err != nil {
		return fmt.Errorf("rollout %s is %q (%s), want %s", e.name, last, msg, want)
	}
	return nil
}

// update is Argo's UpdateSpec: a merge patch, by default a new template
// annotation.
func (e *rolloutEnv) update(patchYAML string) error {
	patch := []byte(fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"update":%q}}}}}`, time.Now().Format(time.RFC3339Nano)))
	if patchYAML != "" {
		var err error
		if patch, err = yaml.YAMLToJSON([]byte(patchYAML)); err != nil {
			return err
		}
	}
	_, err := e.dyn.Resource(rolloutGVR).Namespace(e.ns).Patch(e.ctx, e.name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

// argo runs kubectl argo rollout with args on the fixture's Rollout.
func (e *rolloutEnv) argo(args ...string) error {
	cmd := exec.CommandContext(e.ctx, filepath.Join(os.Getenv("ARGOLITE_BIN"), "kubectl-argo"), append([]string{"-n", e.ns, "rollout"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("kubectl argo rollout %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// revisionPods is Argo's ExpectRevisionPodCount: the live Pods of the
// ReplicaSet of that revision.
func (e *rolloutEnv) revisionPods(rev string) (int, error) {
	rss, err := e.dyn.Resource(rsGVR).Namespace(e.ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		return 0, err
	}
	for _, rs := range rss.Items {
		if rs.GetAnnotations()["rollout.argoproj.io/revision"] != rev {
			continue
		}
		return e.livePods(rs.GetLabels()["rollouts-pod-template-hash"])
	}
	return 0, nil
}

// livePods counts the Pods of a pod-template-hash that are not going away.
func (e *rolloutEnv) livePods(hash string) (int, error) {
	pods, err := e.kube.CoreV1().Pods(e.ns).List(e.ctx, metav1.ListOptions{LabelSelector: "rollouts-pod-template-hash=" + hash})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			n++
		}
	}
	return n, nil
}

func (e *rolloutEnv) expectRevisionPods(rev string, want int) error {
	var got int
	// Argo's expectation holds at once after its Sleep; a short poll
	// absorbs the cache delay of listing Pods here.
	err := wait.PollUntilContextTimeout(e.ctx, 250*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		var err error
		got, err = e.revisionPods(rev)
		return err == nil && got == want, nil
	})
	if err != nil {
		return fmt.Errorf("revision %s has %d Pods, want %d", rev, got, want)
	}
	return nil
}

// runs are the AnalysisRuns of the fixture's namespace.
func (e *rolloutEnv) runs() ([]unstructured.Unstructured, error) {
	l, err := e.dyn.Resource(runGVR).Namespace(e.ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}

func (e *rolloutEnv) expectRunCount(want int) error {
	runs, err := e.runs()
	if err != nil {
		return err
	}
	if len(runs) != want {
		return fmt.Errorf("%d AnalysisRuns, want %d", len(runs), want)
	}
	return nil
}

// waitRunPhase is Argo's WaitFor{Inline,Background}AnalysisRunPhase: the
// run the Rollout's status tracks of that kind reaches phase.
func (e *rolloutEnv) waitRunPhase(kind, want string) error {
	field := map[string][]string{
		"inline":     {"status", "canary", "currentStepAnalysisRunStatus", "name"},
		"background": {"status", "canary", "currentBackgroundAnalysisRunStatus", "name"},
	}[kind]
	var last string
	err := wait.PollUntilContextTimeout(e.ctx, 250*time.Millisecond, rolloutTimeout, true, func(context.Context) (bool, error) {
		ro, err := e.rollout()
		if err != nil {
			return false, nil
		}
		name, _, _ := unstructured.NestedString(ro.Object, field...)
		if name == "" {
			return false, nil
		}
		run, err := e.dyn.Resource(runGVR).Namespace(e.ns).Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last, _, _ = unstructured.NestedString(run.Object, "status", "phase")
		return last == want, nil
	})
	if err != nil {
		return fmt.Errorf("the %s AnalysisRun is %q, want %s", kind, last, want)
	}
	return nil
}

// markPodsReady plays Argo's MarkPodsReady for the fixtures whose Pods
// wait on the readiness gate argoproj.io/e2e-readiness: it sets the
// condition on each such Pod until ctx ends.
func (e *rolloutEnv) markPodsReady() {
	for e.ctx.Err() == nil {
		pods, err := e.kube.CoreV1().Pods(e.ns).List(e.ctx, metav1.ListOptions{})
		if err == nil {
			for i := range pods.Items {
				p := &pods.Items[i]
				gated := slices.ContainsFunc(p.Spec.ReadinessGates, func(g corev1.PodReadinessGate) bool { return g.ConditionType == "argoproj.io/e2e-readiness" })
				done := slices.ContainsFunc(p.Status.Conditions, func(c corev1.PodCondition) bool { return c.Type == "argoproj.io/e2e-readiness" })
				if !gated || done {
					continue
				}
				p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: "argoproj.io/e2e-readiness", Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()})
				_, _ = e.kube.CoreV1().Pods(e.ns).UpdateStatus(e.ctx, p, metav1.UpdateOptions{})
			}
		}
		select {
		case <-e.ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// TestRolloutsConformance runs Argo Rollouts' fixtures and scenarios; `make
// test-conformance-rollouts` runs it alone.
func TestRolloutsConformance(t *testing.T) {
	if v := os.Getenv("ARGOLITE_E2E"); v != "1" {
		t.Skip("ARGOLITE_E2E is not 1: run make test-conformance-rollouts, which starts the local cluster and sets ARGOLITE_E2E=1")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		t.Fatalf("loading KUBECONFIG: %v", err)
	}
	cfg.QPS, cfg.Burst = -1, 0
	dyn := dynamic.NewForConfigOrDie(cfg)
	kube := kubernetes.NewForConfigOrDie(cfg)
	install(t, kube)
	report := runRollouts(t, context.Background(), dyn, kube)
	t.Log("\n" + report)
	if dir := os.Getenv("ARGOLITE_E2E_REPORT_DIR"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "conformance-rollouts.txt"), []byte(report), 0o644)
	}
}

// rolloutStep is one step of a scenario.
type rolloutStep func(e *rolloutEnv) error

func waitPhase(p string) rolloutStep  { return func(e *rolloutEnv) error { return e.waitPhase(p) } }
func updateSpec(y string) rolloutStep { return func(e *rolloutEnv) error { return e.update(y) } }
func cli(args ...string) rolloutStep {
	return func(e *rolloutEnv) error { return e.argo(append(args, e.name)...) }
}
func pods(rev string, n int) rolloutStep {
	return func(e *rolloutEnv) error { return e.expectRevisionPods(rev, n) }
}
func runCount(n int) rolloutStep { return func(e *rolloutEnv) error { return e.expectRunCount(n) } }
func runPhase(kind, p string) rolloutStep {
	return func(e *rolloutEnv) error { return e.waitRunPhase(kind, p) }
}
func sleep(d time.Duration) rolloutStep { return func(*rolloutEnv) error { time.Sleep(d); return nil } }
func promote() rolloutStep              { return cli("promote") }
func abort() rolloutStep                { return cli("abort") }
func stableRevision(rev string) rolloutStep {
	return func(e *rolloutEnv) error { return e.expectStableRevision(rev) }
}
func replicas(n int) rolloutStep { return updateSpec(fmt.Sprintf("spec: {replicas: %d}", n)) }
func availableReplicas(n int64) rolloutStep {
	return func(e *rolloutEnv) error { return e.waitAvailable(n) }
}
func canaryStable(canary, stable int) rolloutStep {
	return func(e *rolloutEnv) error { return e.expectCanaryStable(canary, stable) }
}

func (e *rolloutEnv) expectStableRevision(rev string) error {
	ro, err := e.rollout()
	if err != nil {
		return err
	}
	stable, _, _ := unstructured.NestedString(ro.Object, "status", "stableRS")
	rs, err := e.dyn.Resource(rsGVR).Namespace(e.ns).Get(e.ctx, e.name+"-"+stable, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("the stable ReplicaSet %s: %w", stable, err)
	}
	if got := rs.GetAnnotations()["rollout.argoproj.io/revision"]; got != rev {
		return fmt.Errorf("stable revision %s, want %s", got, rev)
	}
	return nil
}

func (e *rolloutEnv) waitAvailable(n int64) error {
	var got int64
	err := wait.PollUntilContextTimeout(e.ctx, 250*time.Millisecond, rolloutTimeout, true, func(context.Context) (bool, error) {
		ro, err := e.rollout()
		if err != nil {
			return false, nil
		}
		got, _, _ = unstructured.NestedInt64(ro.Object, "status", "availableReplicas")
		return got == n && phaseOf(ro) != "", nil
	})
	if err != nil {
		return fmt.Errorf("%d available replicas, want %d", got, n)
	}
	return nil
}

// expectCanaryStable is Argo's ExpectCanaryStablePodCount.
func (e *rolloutEnv) expectCanaryStable(canary, stable int) error {
	ro, err := e.rollout()
	if err != nil {
		return err
	}
	cur, _, _ := unstructured.NestedString(ro.Object, "status", "currentPodHash")
	st, _, _ := unstructured.NestedString(ro.Object, "status", "stableRS")
	var c, s int
	err = wait.PollUntilContextTimeout(e.ctx, 250*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		var err1, err2 error
		c, err1 = e.livePods(cur)
		s, err2 = e.livePods(st)
		return err1 == nil && err2 == nil && c == canary && s == stable, nil
	})
	if err != nil {
		return fmt.Errorf("canary/stable Pods %d/%d, want %d/%d", c, s, canary, stable)
	}
	return nil
}

// rolloutScenario is one of Argo's tests: the fixture, then its steps.
type rolloutScenario struct {
	test  string // Argo's test, file and function
	file  string
	steps []rolloutStep
	// name fills in a template's ROLLOUT_NAME (Argo's RolloutTemplate).
	name string
	// given are merge patches on the Rollout before it is created (Argo's
	// SetSteps, AutoPromotionSeconds, ...).
	given []string
}

// rolloutScenarios are Argo's e2e tests whose fixtures argolite takes, as
// Argo wrote them (test/e2e at v1.10.2). Left out: tests on ALB, Istio,
// SMI, APISIX or App Mesh (refused by name), TestAnalysisWithSecret
// (its URL is on the public internet), and tests that need Argo's
// controller metrics or its kubectl plugin's output format.
var rolloutScenarios = []rolloutScenario{
	{test: "canary_test.go TestCanaryScaleDownOnAbortNoTrafficRouting", file: "canary-scaledownonabortnotrafficrouting.yaml", steps: []rolloutStep{
		waitPhase("Healthy"), updateSpec(""), waitPhase("Paused"), abort(), waitPhase("Degraded"), sleep(3 * time.Second), pods("2", 0)}},
	{test: "canary_test.go TestCanaryWithPausedRollout", file: "rollout-canary-with-pause.yaml", steps: []rolloutStep{
		waitPhase("Healthy"), updateSpec(""), waitPhase("Paused"), updateSpec(""), waitPhase("Paused"), sleep(time.Second),
		pods("1", 3), pods("2", 0), pods("3", 1)}},
	{test: "canary_test.go TestRolloutScalingWhenPaused", file: "rollout-basic.yaml", steps: []rolloutStep{
		updateSpec("spec: {strategy: {canary: {steps: [{setWeight: 25}, {pause: {}}]}}}"),
		waitPhase("Healthy"), updateSpec(""), waitPhase("Paused"), canaryStable(1, 1),
		replicas(8), availableReplicas(8), canaryStable(2, 6), replicas(4), availableReplicas(4), canaryStable(1, 3)}},
	{test: "functional_test.go TestBlueGreenUpdate", file: "rollout-bluegreen.yaml", steps: []rolloutStep{
		waitPhase("Healthy"), updateSpec(""), waitPhase("Healthy"), stableRevision("2")}},
	{test: "analysis_test.go TestCanaryBackgroundAnalysis", file: "rollout-background-analysis.yaml", steps: []rolloutStep{
		waitPhase("Healthy"), runCount(0), updateSpec(""), waitPhase("Paused"), runCount(1), runPhase("background", "Running"),
		promote(), waitPhase("Healthy")}},
	{test: "analysis_test.go TestCanaryInlineAnalysis", file: "rollout-inline-analysis.yaml", steps: []rolloutStep{
		waitPhase("Healthy"), runCount(0), updateSpec(""), waitPhase("Paused"), runCount(1), runPhase("inline", "Successful"),
		promote(), waitPhase("Healthy"), runCount(3)}},
	{test: "analysis_test.go TestCanaryInlineMultipleAnalysis", file: "rollout-inline-multiple-analysis.yaml", steps: []rolloutStep{
		waitPhase("Healthy"), runCount(0), updateSpec(""), waitPhase("Paused"), promote(), sleep(5 * time.Second), runCount(1),
		runPhase("inline", "Successful"), waitPhase("Healthy"), runCount(1)}},
	{test: "analysis_test.go TestCanaryFailInlineMultipleAnalysis", file: "rollout-degraded-inline-multiple-analysis.yaml", steps: []rolloutStep{
		waitPhase("Healthy"), runCount(0), updateSpec(""), waitPhase("Paused"), promote(), sleep(time.Second),
		runPhase("inline", "Failed"), waitPhase("Degraded")}},
	{test: "analysis_test.go TestCanaryInlineAnalysisInvalidImageJob", file: "rollout-inline-invalid-image-job.yaml", steps: []rolloutStep{
		waitPhase("Healthy"), runCount(0), updateSpec(""), waitPhase("Paused"), runCount(1), runPhase("inline", "Inconclusive")}},
	{test: "rollback_window_test.go TestRollbackAnalysisWithinWindow", file: "rollout-rollback-window.yaml", steps: []rolloutStep{
		waitPhase("Healthy"),
		updateSpec("{metadata: {labels: {rev: two}}, spec: {template: {metadata: {labels: {rev: two}}}}}"), waitPhase("Healthy"), runCount(1),
		updateSpec("{metadata: {labels: {rev: three}}, spec: {template: {metadata: {labels: {rev: three}}}}}"), waitPhase("Healthy"), runCount(2),
		updateSpec("{metadata: {labels: {rev: two}}, spec: {template: {metadata: {labels: {rev: two}}}}}"), waitPhase("Healthy"), runCount(2)}},
}

// rolloutCase is what one fixture or scenario came to.
type rolloutCase struct {
	name    string
	refused string // the field refused by name, for a fixture argolite does not take
	err     error
	log     []string
}

// runRollouts runs the fixtures and the scenarios and reports them.
func runRollouts(t *testing.T, ctx context.Context, dyn dynamic.Interface, kube kubernetes.Interface) string {
	t.Helper()
	corpus, err := filepath.Abs(filepath.Join(corpusDir(), "argo-rollouts", "functional"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(corpus); err != nil {
		return fmt.Sprintf("Argo Rollouts e2e fixtures conformance: skipped: the corpus is absent (%v)\n", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(kube.Discovery()))
	entries, err := os.ReadDir(corpus)
	if err != nil {
		t.Fatal(err)
	}
	var fixtures, templates []string
	for _, en := range entries {
		objs, err := readObjects(filepath.Join(corpus, en.Name()))
		if err != nil || !slices.ContainsFunc(objs, func(o *unstructured.Unstructured) bool {
			return o.GetKind() == "Rollout" || o.GetKind() == "Experiment"
		}) {
			continue
		}
		if placeholder(objs) {
			// A template Argo's tests fill in (ROLLOUT_NAME, REPLACEME):
			// not a Rollout as written; its tests are the scenarios.
			templates = append(templates, en.Name())
			continue
		}
		fixtures = append(fixtures, en.Name())
	}
	start := time.Now()
	type job struct {
		name  string
		file  string
		steps []rolloutStep // nil: the fixture check
		fill  string
		given []string
	}
	var jobs []job
	for _, f := range fixtures {
		jobs = append(jobs, job{name: f, file: f})
	}
	for _, s := range slices.Concat(rolloutScenarios, durationScenarios, experimentScenarios) {
		jobs = append(jobs, job{name: s.test, file: s.file, steps: s.steps, fill: s.name, given: s.given})
	}
	results := make([]rolloutCase, len(jobs))
	sem := make(chan struct{}, rolloutsParallel)
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = runRolloutJob(ctx, dyn, kube, mapper, corpus, fmt.Sprintf("argo-rollouts-%d", i), j.name, j.file, j.fill, j.given, j.steps)
		}()
	}
	wg.Wait()

	var b strings.Builder
	report := func(title string, cases []rolloutCase) {
		passed, refused := 0, 0
		var failed []string
		for _, c := range cases {
			switch {
			case c.err != nil:
				failed = append(failed, fmt.Sprintf("  FAIL %s: %v%s", c.name, c.err, logTail(c.log)))
			case c.refused != "":
				refused++
				passed++
			default:
				passed++
			}
		}
		fmt.Fprintf(&b, "%s: %d passed, %d failed (of %d", title, passed, len(failed), len(cases))
		if refused > 0 {
			fmt.Fprintf(&b, "; %d of the passed are refused by name as documented: a traffic router other than the Gateway API, ping-pong", refused)
		}
		fmt.Fprintf(&b, ")\n")
		sort.Strings(failed)
		for _, f := range failed {
			b.WriteString(f + "\n")
		}
	}
	report("Argo Rollouts e2e fixtures (test/e2e/functional) conformance, first revision Healthy (an Experiment Successful) or refused by name", results[:len(fixtures)])
	if len(templates) > 0 {
		fmt.Fprintf(&b, "  not run as fixtures (templates Argo's tests fill in): %s\n", strings.Join(templates, ", "))
	}
	report(fmt.Sprintf("Argo Rollouts e2e scenarios (their tests, step by step) conformance, in %s", time.Since(start).Round(time.Second)), results[len(fixtures):])
	for i, c := range results {
		if c.err != nil {
			t.Errorf("rollouts conformance %s: %v", jobs[i].name, c.err)
		}
	}
	return b.String()
}

func logTail(log []string) string {
	if len(log) == 0 {
		return ""
	}
	return " [" + strings.Join(log, "; ") + "]"
}

// runRolloutJob runs one fixture check (steps nil) or scenario in a fresh
// namespace, deleted afterwards.
func runRolloutJob(parent context.Context, dyn dynamic.Interface, kube kubernetes.Interface, mapper meta.RESTMapper, corpus, ns, name, file, fill string, given []string, steps []rolloutStep) rolloutCase {
	ctx, cancel := context.WithTimeout(parent, 8*time.Minute)
	defer cancel()
	c := rolloutCase{name: name}
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		c.err = fmt.Errorf("creating namespace %s: %w", ns, err)
		return c
	}
	defer func() { _ = kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) }()
	e := &rolloutEnv{ctx: ctx, dyn: dyn, kube: kube, mapper: mapper, corpus: corpus, ns: ns}
	defer func() { c.log = e.log }()
	// The default ServiceAccount must exist before Pods can be created.
	_ = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := kube.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	go e.markPodsReady()
	for _, tmpl := range analysisTemplates {
		if err := e.apply(tmpl); err != nil {
			c.err = fmt.Errorf("the suite's template %s: %w", tmpl, err)
			return c
		}
	}
	objs, err := readObjects(filepath.Join(corpus, file))
	if err != nil {
		c.err = err
		return c
	}
	if fill != "" || len(given) > 0 {
		text, err := givenText(filepath.Join(corpus, file), fill, given)
		if err != nil {
			c.err = err
			return c
		}
		file = text
	}
	if err := e.apply(file); err != nil {
		c.err = err
		return c
	}
	if steps == nil {
		if !slices.ContainsFunc(objs, func(o *unstructured.Unstructured) bool { return o.GetKind() == "Rollout" }) {
			// An Experiment fixture: its templates run for its duration.
			c.err = e.waitExperimentPhase("", "Successful")
			return c
		}
		if field := refusedFeature(objs); field != "" {
			c.refused = field
			c.err = e.waitRefused(field)
			return c
		}
		c.err = e.waitPhase("Healthy")
		return c
	}
	for i, step := range steps {
		if err := step(e); err != nil {
			c.err = fmt.Errorf("step %d: %w", i+1, err)
			return c
		}
	}
	return c
}

// waitRefused waits for InvalidSpec naming field.
func (e *rolloutEnv) waitRefused(field string) error {
	var msg string
	err := wait.PollUntilContextTimeout(e.ctx, 250*time.Millisecond, rolloutTimeout, true, func(context.Context) (bool, error) {
		ro, err := e.rollout()
		if err != nil {
			return false, nil
		}
		msg, _, _ = unstructured.NestedString(ro.Object, "status", "message")
		return phaseOf(ro) == "Degraded" && strings.HasPrefix(msg, "InvalidSpec") && strings.Contains(msg, field), nil
	})
	if err != nil {
		return fmt.Errorf("want InvalidSpec naming %q, got %q", field, msg)
	}
	return nil
}
