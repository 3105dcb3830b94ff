package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clienttesting "k8s.io/client-go/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/yaml"

	"github.com/argolite/argolite/agent/config"
	"github.com/argolite/argolite/agent/ctrlkit"
	"github.com/argolite/argolite/agent/exec"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// harness drives the reconciler against a fake API server and plays the
// kubelet: each Pod the agent creates finishes as the test says.
type harness struct {
	t      *testing.T
	c      client.Client
	r      *Reconciler
	key    types.NamespacedName
	finish func(pod *corev1.Pod) (exitCode int, result exec.Result)
	// stored is the workflow as last read from the fake API server, nodes
	// compressed or not; maxStored is the largest JSON it had.
	stored    *argov1.Workflow
	maxStored int
}

func newHarness(t *testing.T, wfYAML string, objs ...client.Object) *harness {
	t.Helper()
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = argov1.AddToScheme(scheme)
	wf := &argov1.Workflow{}
	if err := yaml.UnmarshalStrict([]byte(wfYAML), wf); err != nil {
		t.Fatal(err)
	}
	wf.Namespace, wf.UID = "ns", "uid-1"
	wf.CreationTimestamp = metav1.Now()
	// A plain object tracker: the default one, which manages fields, builds a
	// REST mapper on every write and makes a 1,000-Pod run take a minute.
	tracker := clienttesting.NewObjectTracker(scheme, serializer.NewCodecFactory(scheme).UniversalDecoder())
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjectTracker(tracker).WithObjects(append(objs, wf)...).
		WithStatusSubresource(&argov1.Workflow{}).Build()
	h := &harness{t: t, c: c, key: types.NamespacedName{Namespace: "ns", Name: wf.Name}}
	h.r = newReconciler(c, c, config.Reader{Client: c, NS: "argolite-system"}, Options{Namespace: "argolite-system", ExecutorImage: "agent:test"})
	h.r.locks = newLockManager(func(ctx context.Context) ([]argov1.Workflow, error) {
		var list argov1.WorkflowList
		err := c.List(ctx, &list)
		return list.Items, err
	})
	h.finish = func(pod *corev1.Pod) (int, exec.Result) { return 0, exec.Result{} }
	return h
}

// run reconciles and completes Pods until the workflow ends.
func (h *harness) run() *argov1.Workflow {
	h.t.Helper()
	ctx := ctrl.LoggerInto(context.Background(), ctrl.Log)
	done := map[string]bool{}
	for range 200 {
		res, err := h.r.Reconcile(ctx, ctrl.Request{NamespacedName: h.key})
		if err != nil {
			h.t.Fatalf("reconcile: %v", err)
		}
		wf := &argov1.Workflow{}
		if err := h.c.Get(ctx, h.key, wf); err != nil {
			h.t.Fatal(err)
		}
		h.stored = wf.DeepCopy()
		if len(wf.Status.Nodes) > 0 && wf.Status.CompressedNodes != "" {
			h.t.Fatalf("the stored workflow has both status.nodes and status.compressedNodes: a status patch mixed the forms")
		}
		if b, err := json.Marshal(wf); err == nil {
			h.maxStored = max(h.maxStored, len(b))
		}
		if err := wf.InflateNodes(); err != nil {
			h.t.Fatal(err)
		}
		if wf.Status.Phase.Completed() {
			return wf
		}
		var pods corev1.PodList
		if err := h.c.List(ctx, &pods); err != nil {
			h.t.Fatal(err)
		}
		progressed := false
		for i := range pods.Items {
			p := &pods.Items[i]
			if done[p.Name] {
				continue
			}
			done[p.Name] = true
			progressed = true
			code, res := h.finish(p)
			res.ExitCode = &code
			msg, _ := json.Marshal(res)
			p.Status.Phase = corev1.PodSucceeded
			if code != 0 {
				p.Status.Phase = corev1.PodFailed
			}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", State: corev1.ContainerState{
				Terminated: &corev1.ContainerStateTerminated{ExitCode: int32(code), Message: string(msg)}}}}
			if err := h.c.Status().Update(ctx, p); err != nil {
				h.t.Fatal(err)
			}
		}
		if !progressed && res.IsZero() {
			h.t.Fatalf("stuck in phase %q: %s", wf.Status.Phase, summary(wf))
		}
	}
	h.t.Fatal("the workflow did not end in 200 reconciles")
	return nil
}

// runSucceeded runs the workflow and fails the test unless it Succeeded.
func (h *harness) runSucceeded() *argov1.Workflow {
	h.t.Helper()
	wf := h.run()
	if wf.Status.Phase != argov1.WorkflowSucceeded {
		h.t.Fatalf("phase %s: %s: %s", wf.Status.Phase, wf.Status.Message, summary(wf))
	}
	return wf
}

func summary(wf *argov1.Workflow) string {
	var s []string
	for _, n := range wf.Status.Nodes {
		s = append(s, fmt.Sprintf("%s=%s(%s)", n.Name, n.Phase, n.Message))
	}
	return strings.Join(s, ", ")
}

func nodeNamed(t *testing.T, wf *argov1.Workflow, name string) argov1.NodeStatus {
	t.Helper()
	for _, n := range wf.Status.Nodes {
		if n.Name == name {
			return n
		}
	}
	t.Fatalf("no node %s: %s", name, summary(wf))
	return argov1.NodeStatus{}
}

// podArgs is the user's command line of a step Pod (after the wrapper's).
func podArgs(p *corev1.Pod) string {
	c := p.Spec.Containers[0]
	cmd := c.Command
	for i, a := range cmd {
		if a == "--" {
			cmd = cmd[i+1:]
			break
		}
	}
	return strings.Join(append(cmd, c.Args...), " ")
}

func TestStepsPassOutputs(t *testing.T) {
	h := newHarness(t, `
metadata: {name: wf}
spec:
  entrypoint: main
  arguments: {parameters: [{name: who, value: world}]}
  templates:
  - name: main
    steps:
    - - name: a
        template: echo
        arguments: {parameters: [{name: msg, value: "hello {{workflow.parameters.who}}"}]}
    - - name: b
        template: echo
        arguments: {parameters: [{name: msg, value: "{{steps.a.outputs.result}}!"}]}
        when: "'{{steps.a.outputs.result}}' == 'hello world'"
      - name: c
        template: echo
        arguments: {parameters: [{name: msg, value: never}]}
        when: "'{{steps.a.outputs.result}}' != 'hello world'"
  - name: echo
    inputs: {parameters: [{name: msg}]}
    script: {image: alpine, command: [sh], source: "echo {{inputs.parameters.msg}}"}
`)
	h.finish = func(p *corev1.Pod) (int, exec.Result) {
		var spec exec.Spec
		_ = json.Unmarshal([]byte(p.Annotations[exec.AnnotationSpec]), &spec)
		out := strings.TrimPrefix(spec.Script.Source, "echo ")
		return 0, exec.Result{Result: &out}
	}
	wf := h.run()
	if wf.Status.Phase != argov1.WorkflowSucceeded {
		t.Fatalf("phase %s: %s", wf.Status.Phase, wf.Status.Message)
	}
	if got := *nodeNamed(t, wf, "wf[1].b").Outputs.Result; got != "hello world!" {
		t.Errorf("b got %q", got)
	}
	if c := nodeNamed(t, wf, "wf[1].c"); c.Phase != argov1.NodeSkipped || !strings.Contains(c.Message, "evaluated false") {
		t.Errorf("c: %s %s", c.Phase, c.Message)
	}
	if wf.Status.Progress != "2/2" {
		t.Errorf("progress %s", wf.Status.Progress)
	}
}

// TestInputArtifactPassedOn: a steps or DAG template hands its own input
// artifact to a child with from: "{{inputs.artifacts.NAME}}", as Argo's
// variables-showcase example does.
func TestInputArtifactPassedOn(t *testing.T) {
	for _, body := range []string{
		`steps:
    - - name: use
        template: cat
        arguments: {artifacts: [{name: in, from: "{{inputs.artifacts.seed}}"}]}`,
		`dag:
      tasks:
      - name: use
        template: cat
        arguments: {artifacts: [{name: in, from: "{{inputs.artifacts.seed}}"}]}`,
	} {
		h := newHarness(t, `
metadata: {name: wf}
spec:
  entrypoint: main
  arguments: {artifacts: [{name: seed, raw: {data: seed-content}}]}
  templates:
  - name: main
    inputs: {artifacts: [{name: seed}]}
    `+body+`
  - name: cat
    inputs: {artifacts: [{name: in, path: /tmp/in}]}
    container: {image: alpine, command: [cat, /tmp/in]}
`)
		var got string
		h.finish = func(p *corev1.Pod) (int, exec.Result) {
			var spec exec.Spec
			_ = json.Unmarshal([]byte(p.Annotations[exec.AnnotationSpec]), &spec)
			for _, a := range spec.Inputs {
				if a.Location.Raw != nil {
					got = *a.Location.Raw
				}
			}
			return 0, exec.Result{}
		}
		if wf := h.run(); wf.Status.Phase != argov1.WorkflowSucceeded {
			t.Fatalf("phase %s: %s", wf.Status.Phase, wf.Status.Message)
		}
		if got != "seed-content" {
			t.Errorf("the child's input artifact = %q, want the workflow's raw seed-content", got)
		}
	}
}

// TestRunningWorkflowKeepsItsTemplates: a WorkflowTemplate edited while a
// workflow runs does not change the workflow's later steps.
func TestRunningWorkflowKeepsItsTemplates(t *testing.T) {
	wft := &argov1.WorkflowTemplate{}
	if err := yaml.UnmarshalStrict([]byte(`
metadata: {name: lib, namespace: ns}
spec:
  templates:
  - name: say
    container: {image: alpine, command: [echo, before]}
`), wft); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, `
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: one, templateRef: {name: lib, template: say}}
    - - {name: two, templateRef: {name: lib, template: say}}
`, wft)
	var said []string
	h.finish = func(p *corev1.Pod) (int, exec.Result) {
		said = append(said, podArgs(p))
		edited := &argov1.WorkflowTemplate{}
		if err := h.c.Get(context.Background(), types.NamespacedName{Namespace: "ns", Name: "lib"}, edited); err != nil {
			t.Fatal(err)
		}
		edited.Spec.Templates[0].Container.Command = []string{"echo", "after"}
		if err := h.c.Update(context.Background(), edited); err != nil {
			t.Fatal(err)
		}
		return 0, exec.Result{}
	}
	wf := h.run()
	if wf.Status.Phase != argov1.WorkflowSucceeded {
		t.Fatalf("phase %s: %s", wf.Status.Phase, wf.Status.Message)
	}
	if !slices.Equal(said, []string{"echo before", "echo before"}) {
		t.Errorf("the steps ran %q: the edit of the WorkflowTemplate reached the running workflow", said)
	}
	if _, ok := wf.Status.StoredTemplates["namespaced/lib/say"]; !ok {
		t.Errorf("status.storedTemplates = %v, want namespaced/lib/say", wf.Status.StoredTemplates)
	}
}

func TestDAGDependsAndFanIn(t *testing.T) {
	h := newHarness(t, `
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: gen, template: gen}
      - name: each
        template: num
        depends: gen
        withParam: "{{tasks.gen.outputs.result}}"
        arguments: {parameters: [{name: num, value: "{{item}}"}]}
      - name: sum
        template: num
        depends: each
        arguments: {parameters: [{name: num, value: "{{tasks.each.outputs.result}}"}]}
      - name: on-fail
        template: num
        depends: gen.Failed
        arguments: {parameters: [{name: num, value: "0"}]}
  - name: gen
    script: {image: alpine, command: [sh], source: "echo '[1,2,3]'"}
  - name: num
    inputs: {parameters: [{name: num}]}
    script: {image: alpine, command: [sh], source: "echo {{inputs.parameters.num}}"}
`)
	h.finish = func(p *corev1.Pod) (int, exec.Result) {
		var spec exec.Spec
		_ = json.Unmarshal([]byte(p.Annotations[exec.AnnotationSpec]), &spec)
		out := strings.Trim(strings.TrimPrefix(spec.Script.Source, "echo "), "'")
		return 0, exec.Result{Result: &out}
	}
	wf := h.run()
	if wf.Status.Phase != argov1.WorkflowSucceeded {
		t.Fatalf("phase %s: %s (%s)", wf.Status.Phase, wf.Status.Message, summary(wf))
	}
	if got := *nodeNamed(t, wf, "wf.sum").Outputs.Result; got != "[1,2,3]" {
		t.Errorf("fan-in %q", got)
	}
	if n := nodeNamed(t, wf, "wf.on-fail"); n.Phase != argov1.NodeOmitted {
		t.Errorf("on-fail %s", n.Phase)
	}
	if n := nodeNamed(t, wf, "wf.each(1:2)"); n.Phase != argov1.NodeSucceeded {
		t.Errorf("item node %s", n.Phase)
	}
}

func TestRetriesThenExitHandler(t *testing.T) {
	h := newHarness(t, `
metadata: {name: wf}
spec:
  entrypoint: flaky
  onExit: report
  templates:
  - name: flaky
    retryStrategy: {limit: "2"}
    container: {image: alpine, command: [sh, -c, "exit 1"]}
  - name: report
    container: {image: alpine, command: [echo, "{{workflow.status}}"]}
`)
	var reported string
	attempts := 0
	h.finish = func(p *corev1.Pod) (int, exec.Result) {
		if strings.HasPrefix(podArgs(p), "echo") {
			reported = podArgs(p)
			return 0, exec.Result{}
		}
		attempts++
		if attempts < 3 {
			return 1, exec.Result{}
		}
		return 0, exec.Result{}
	}
	wf := h.run()
	if wf.Status.Phase != argov1.WorkflowSucceeded || attempts != 3 {
		t.Fatalf("phase %s after %d attempts: %s", wf.Status.Phase, attempts, summary(wf))
	}
	if reported != "echo Succeeded" {
		t.Errorf("exit handler ran %q", reported)
	}
	if n := nodeNamed(t, wf, "wf(1)"); n.Phase != argov1.NodeFailed || n.Message != "Error (exit code 1)" {
		t.Errorf("second attempt %s %q", n.Phase, n.Message)
	}
}

func TestBadSpecFailsBeforeAnyPod(t *testing.T) {
	for name, tt := range map[string]struct{ yaml, want string }{
		"missing template": {`
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
  - name: main
    steps: [[{name: a, template: nope}]]
`, `spec.templates[0].steps[0][0].template: template "nope" not found in the Workflow`},
		"missing entrypoint": {`
metadata: {name: wf}
spec:
  entrypoint: start
  templates: [{name: main, container: {image: x, command: [x]}}]
`, `spec.entrypoint: template "start" not found`},
		"parameter not supplied": {`
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
  - name: main
    inputs: {parameters: [{name: p}]}
    container: {image: x, command: [x]}
`, `spec.arguments: parameter "p" of template "main" (the entrypoint) is not supplied`},
		"cycle": {`
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: c, depends: b}
      - {name: b, template: c, depends: a}
  - {name: c, container: {image: x, command: [x]}}
`, "dependency cycle"},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, tt.yaml)
			wf := h.run()
			if wf.Status.Phase != argov1.WorkflowError && wf.Status.Phase != argov1.WorkflowFailed {
				t.Fatalf("phase %s", wf.Status.Phase)
			}
			if !strings.Contains(wf.Status.Message+summary(wf), tt.want) {
				t.Errorf("message %q (%s), want %q", wf.Status.Message, summary(wf), tt.want)
			}
			var pods corev1.PodList
			_ = h.c.List(context.Background(), &pods)
			if len(pods.Items) != 0 {
				t.Errorf("%d pods started", len(pods.Items))
			}
		})
	}
}

func TestNamesMatchArgo(t *testing.T) {
	wf := &argov1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: "steps-abc"}}
	// Argo: wf.NodeID("steps-abc[0].hello") and the v2 Pod name.
	if got := nodeID(wf, "steps-abc"); got != "steps-abc" {
		t.Errorf("root id %s", got)
	}
	id := nodeID(wf, "steps-abc[0].hello")
	if !strings.HasPrefix(id, "steps-abc-") || id == "steps-abc-" {
		t.Errorf("id %s", id)
	}
	if got := podName(wf, "steps-abc[0].hello", "whalesay"); got != "steps-abc-whalesay-"+strings.TrimPrefix(id, "steps-abc-") {
		t.Errorf("pod name %s for id %s", got, id)
	}
	for name, want := range map[string]string{"wf[0].a": "a", "wf.t(0:x.y)": "t(0:x.y)", "wf[1].s(2:{a:b})": "s(2:{a:b})", "wf": "wf"} {
		if got := displayName(&argov1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: "wf"}}, name); got != want {
			t.Errorf("displayName(%s) = %s, want %s", name, got, want)
		}
	}
}

func TestAggregatedValues(t *testing.T) {
	for in, want := range map[string]string{
		`["a","b"]`:         `["a","b"]`,
		`[{"x":1},[2]]`:     `[{"x":1},[2]]`,
		`[{"x":1},"plain"]`: `["{\"x\":1}","plain"]`,
	} {
		var vals []string
		var raw []json.RawMessage
		_ = json.Unmarshal([]byte(in), &raw)
		for _, r := range raw {
			var s string
			if json.Unmarshal(r, &s) != nil {
				s = string(r)
			}
			vals = append(vals, s)
		}
		if got := aggregatedJSONValueList(vals); got != want {
			t.Errorf("%s: got %s want %s", in, got, want)
		}
	}
}

func TestLoopItemNames(t *testing.T) {
	for in, want := range map[string]string{
		`"hello"`:                  "hello",
		`5`:                        "5",
		`{"os":"debian","ver":10}`: "os:debian,ver:10",
	} {
		_, desc, err := itemVars(argov1.Item{Value: json.RawMessage(in)})
		if err != nil || desc != want {
			t.Errorf("%s: %q %v, want %q", in, desc, err, want)
		}
	}
	items, err := expandSequence(&argov1.Sequence{Count: ptrIntStr("3"), Start: ptrIntStr("1"), Format: "n%02d"}, nil)
	if err != nil || len(items) != 3 || items[2].String() != "n03" {
		t.Errorf("sequence %v %v", items, err)
	}
}

func ptrIntStr(s string) *intstr.IntOrString {
	v := intstr.Parse(s)
	return &v
}

func TestMutexQueuesTheSecondWorkflow(t *testing.T) {
	spec := `
spec:
  entrypoint: main
  synchronization: {mutexes: [{name: deploy}]}
  templates: [{name: main, container: {image: alpine, command: ["true"]}}]
`
	h := newHarness(t, "metadata: {name: first}"+spec)
	second := &argov1.Workflow{}
	if err := yaml.UnmarshalStrict([]byte("metadata: {name: second, namespace: ns}"+spec), second); err != nil {
		t.Fatal(err)
	}
	second.CreationTimestamp = metav1.NewTime(metav1.Now().Add(time.Second))
	ctx := ctrl.LoggerInto(context.Background(), ctrl.Log)
	if err := h.c.Create(ctx, second); err != nil {
		t.Fatal(err)
	}
	reconcile := func(name string) *argov1.Workflow {
		key := types.NamespacedName{Namespace: "ns", Name: name}
		if _, err := h.r.Reconcile(ctx, ctrl.Request{NamespacedName: key}); err != nil {
			t.Fatal(err)
		}
		wf := &argov1.Workflow{}
		_ = h.c.Get(ctx, key, wf)
		return wf
	}
	if wf := reconcile("first"); wf.Status.Phase != argov1.WorkflowRunning {
		t.Fatalf("first: %s %s", wf.Status.Phase, wf.Status.Message)
	}
	wf := reconcile("second")
	if wf.Status.Phase != argov1.WorkflowPending || wf.Status.Message != "Waiting for ns/Mutex/deploy lock" {
		t.Fatalf("second: %s %q", wf.Status.Phase, wf.Status.Message)
	}
	if wf.Status.Synchronization == nil || wf.Status.Synchronization.Mutex == nil || len(wf.Status.Synchronization.Mutex.Waiting) != 1 {
		t.Errorf("second's lock status %+v", wf.Status.Synchronization)
	}
	if first := h.run(); first.Status.Phase != argov1.WorkflowSucceeded {
		t.Fatalf("first: %s", first.Status.Phase)
	}
	select {
	case ev := <-h.r.locks.wake:
		if ev.Object.GetName() != "second" {
			t.Errorf("woke %s, want second", ev.Object.GetName())
		}
	default:
		t.Fatal("releasing the mutex woke no one")
	}
	if wf := reconcile("second"); wf.Status.Phase != argov1.WorkflowRunning {
		t.Fatalf("second after the release: %s %s", wf.Status.Phase, wf.Status.Message)
	}
}

func TestCustomMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newCustomMetrics(reg)
	g := &argov1.Prometheus{Name: "task_seconds", Help: "h", Labels: []*argov1.MetricLabel{{Key: "status", Value: "{{status}}"}},
		Gauge: &argov1.Gauge{Value: "{{duration}}"}}
	c := &argov1.Prometheus{Name: "runs", Help: "h", Labels: []*argov1.MetricLabel{{Key: "status", Value: "{{status}}"}},
		Counter: &argov1.Counter{Value: "1"}, When: "{{status}} == Succeeded"}
	for _, status := range []string{"Succeeded", "Succeeded", "Failed"} {
		vars := map[string]string{"status": status, "duration": "2.5"}
		if err := m.emit(g, vars); err != nil {
			t.Fatal(err)
		}
		if err := m.emit(c, vars); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.emit(&argov1.Prometheus{Name: "runs", Help: "h", Gauge: &argov1.Gauge{Value: "1"}}, nil); err == nil {
		t.Error("a gauge under a counter's name was accepted")
	}
	if err := m.emit(&argov1.Prometheus{Name: "bad", Help: "h", Gauge: &argov1.Gauge{Value: "{{x}}"}}, map[string]string{"x": "abc"}); err == nil ||
		!strings.Contains(err.Error(), `value "abc" is not a number`) {
		t.Errorf("bad value: %v", err)
	}
	want := `
# HELP argo_workflows_runs h
# TYPE argo_workflows_runs counter
argo_workflows_runs{status="Succeeded"} 2
`
	if err := promtestutil.GatherAndCompare(reg, strings.NewReader(want), "argo_workflows_runs"); err != nil {
		t.Error(err)
	}
	if n := promtestutil.CollectAndCount(m.vecs["argo_workflows_task_seconds"]); n != 2 {
		t.Errorf("%d gauge series, want 2 (Succeeded, Failed)", n)
	}
}

// TestMetricsOnceDespiteAConflict: a pass whose status write loses a
// conflict runs again; its metrics count once.
func TestMetricsOnceDespiteAConflict(t *testing.T) {
	h := newHarness(t, `
metadata: {name: wf}
spec:
  entrypoint: main
  metrics:
    prometheus:
    - {name: runs, help: h, labels: [{key: status, value: "{{workflow.status}}"}], counter: {value: "1"}}
  templates:
  - name: main
    steps:
    - - {name: a, template: echo}
  - name: echo
    metrics:
      prometheus:
      - {name: steps, help: h, counter: {value: "1"}}
    container: {image: alpine, command: [echo]}
`)
	reg := prometheus.NewRegistry()
	h.r.metrics = newCustomMetrics(reg)
	conflicts := 0
	h.r.Client = interceptor.NewClient(h.c.(client.WithWatch), interceptor.Funcs{
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			// Every write that ends a node loses once.
			if wf, ok := obj.(*argov1.Workflow); ok && conflicts < 4 && strings.Contains(summary(wf), "Succeeded") {
				conflicts++
				return apierrors.NewConflict(schema.GroupResource{Group: "argolite.dev", Resource: "workflows"}, wf.Name, errors.New("someone else wrote it"))
			}
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
	})
	h.r.status = ctrlkit.NewStatusWriter(h.r.Client)
	if wf := h.run(); wf.Status.Phase != argov1.WorkflowSucceeded {
		t.Fatalf("phase %s: %s", wf.Status.Phase, wf.Status.Message)
	}
	if conflicts == 0 {
		t.Fatal("no write conflicted: the test tests nothing")
	}
	want := `
# HELP argo_workflows_runs h
# TYPE argo_workflows_runs counter
argo_workflows_runs{status="Succeeded"} 1
# HELP argo_workflows_steps h
# TYPE argo_workflows_steps counter
argo_workflows_steps 1
`
	if err := promtestutil.GatherAndCompare(reg, strings.NewReader(want), "argo_workflows_runs", "argo_workflows_steps"); err != nil {
		t.Errorf("after %d conflicts: %v", conflicts, err)
	}
}

func TestInNamespace(t *testing.T) {
	for in, want := range map[string]string{
		"minio:9000":                    "minio.team-a:9000",
		"http://minio:9000":             "http://minio.team-a:9000",
		"minio":                         "minio.team-a",
		"minio.storage:9000":            "minio.storage:9000",
		"s3.amazonaws.com":              "s3.amazonaws.com",
		"198.19.0.10:9000":              "198.19.0.10:9000",
		"localhost:9000":                "localhost:9000",
		"https://minio.storage.svc:443": "https://minio.storage.svc:443",
	} {
		if got := inNamespace(in, "team-a"); got != want {
			t.Errorf("inNamespace(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPodDeletedMessageSaysWhy(t *testing.T) {
	pod := &corev1.Pod{}
	if got := podDeletedMessage(pod); got != "pod deleted" {
		t.Errorf("without a reason: %q", got)
	}
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
		Reason: "DeletionByTaintManager", Message: "Taint manager: deleting due to NoExecute taint"}}
	if got, want := podDeletedMessage(pod), "pod deleted (DeletionByTaintManager: Taint manager: deleting due to NoExecute taint)"; got != want {
		t.Errorf("podDeletedMessage = %q, want %q", got, want)
	}
}

// TestStepPodsGetNoCredentialsUnlessAsked: a step Pod mounts no API token
// unless its template names a serviceAccountName (or is a resource template).
func TestStepPodsGetNoCredentialsUnlessAsked(t *testing.T) {
	h := newHarness(t, `
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: plain, template: plain}
      - {name: robot, template: robot}
  - name: plain
    container: {image: alpine, command: [echo]}
  - name: robot
    serviceAccountName: robot
    container: {image: alpine, command: [echo]}
`)
	mounts := map[string]bool{}
	h.finish = func(p *corev1.Pod) (int, exec.Result) {
		a := p.Spec.AutomountServiceAccountToken
		mounts[p.Annotations[AnnotationNodeName]+" as "+p.Spec.ServiceAccountName] = a == nil || *a
		return 0, exec.Result{}
	}
	if wf := h.run(); wf.Status.Phase != argov1.WorkflowSucceeded {
		t.Fatalf("phase %s: %s", wf.Status.Phase, wf.Status.Message)
	}
	want := map[string]bool{"wf[0].plain as ": false, "wf[0].robot as robot": true}
	if !maps.Equal(mounts, want) {
		t.Errorf("token mounted per step: %v, want %v", mounts, want)
	}
}

// TestMetricsExpire: series not emitted for the TTL go; the others stay.
func TestMetricsExpire(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newCustomMetrics(reg)
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	m.now = func() time.Time { return now }
	g := &argov1.Prometheus{Name: "duration", Help: "h", Labels: []*argov1.MetricLabel{{Key: "wf", Value: "{{wf}}"}}, Gauge: &argov1.Gauge{Value: "1"}}
	if err := m.emit(g, map[string]string{"wf": "old"}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(8 * time.Minute)
	if err := m.emit(g, map[string]string{"wf": "new"}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(3 * time.Minute)
	if n := m.expire(0); n != 0 {
		t.Errorf("a TTL of 0 expired %d series", n)
	}
	if n := m.expire(10 * time.Minute); n != 1 {
		t.Errorf("expired %d series, want 1 (old, 11 minutes)", n)
	}
	want := `
# HELP argo_workflows_duration h
# TYPE argo_workflows_duration gauge
argo_workflows_duration{wf="new"} 1
`
	if err := promtestutil.GatherAndCompare(reg, strings.NewReader(want), "argo_workflows_duration"); err != nil {
		t.Error(err)
	}
	// Emitted again, a series comes back.
	if err := m.emit(g, map[string]string{"wf": "old"}); err != nil {
		t.Fatal(err)
	}
	if n := promtestutil.CollectAndCount(m.vecs["argo_workflows_duration"]); n != 2 {
		t.Errorf("%d series, want 2", n)
	}
}

func TestParseMetricsTTL(t *testing.T) {
	for raw, want := range map[string]time.Duration{"metricsTTL: 10m": 10 * time.Minute, "metricsTTL: \"0\"": 0, "{}": 0} {
		if got, err := parseMetricsTTL(raw); err != nil || got != want {
			t.Errorf("parseMetricsTTL(%q) = %v, %v; want %v", raw, got, err, want)
		}
	}
	for _, raw := range []string{"metricsTTL: soon", "metricsTTL: -1m", "metricTTL: 10m"} {
		if _, err := parseMetricsTTL(raw); err == nil {
			t.Errorf("parseMetricsTTL(%q) accepted it", raw)
		}
	}
}

// TestTemplateDefaultsKeepTheType: Argo's templateDefaults merge into each
// template, which keeps its own type (SetType after the merge).
func TestTemplateDefaultsKeepTheType(t *testing.T) {
	defaults := &argov1.Template{
		Container: &corev1.Container{Image: "alpine", Env: []corev1.EnvVar{{Name: "FROM", Value: "defaults"}}},
		Timeout:   "1m",
	}
	for name, tc := range map[string]struct {
		tmpl          argov1.Template
		wantContainer bool
	}{
		"container":          {tmpl: argov1.Template{Name: "c", Container: &corev1.Container{Command: []string{"echo"}}}, wantContainer: true},
		"script":             {tmpl: argov1.Template{Name: "s", Script: &argov1.ScriptTemplate{Source: "echo"}}},
		"steps":              {tmpl: argov1.Template{Name: "st", Steps: []argov1.ParallelSteps{{Steps: []argov1.WorkflowStep{{Name: "a", Template: "c"}}}}}},
		"dag":                {tmpl: argov1.Template{Name: "d", DAG: &argov1.DAGTemplate{Tasks: []argov1.DAGTask{{Name: "a", Template: "c"}}}}},
		"resource":           {tmpl: argov1.Template{Name: "r", Resource: &argov1.ResourceTemplate{Action: "create"}}},
		"no type of its own": {tmpl: argov1.Template{Name: "n"}, wantContainer: true},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := mergeDefaults(&tc.tmpl, defaults)
			if err != nil {
				t.Fatal(err)
			}
			if (got.Container != nil) != tc.wantContainer {
				t.Errorf("container after the merge: %v, want %v", got.Container != nil, tc.wantContainer)
			}
			if tc.wantContainer && (got.Container.Image != "alpine" || len(got.Container.Env) != 1) {
				t.Errorf("the default container was not merged: %+v", got.Container)
			}
			if got.Timeout != "1m" {
				t.Errorf("timeout %q, want the default's 1m", got.Timeout)
			}
		})
	}
}
