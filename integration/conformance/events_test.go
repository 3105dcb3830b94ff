package conformance

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/argolite/argolite/shared/agentmeta"
)

// The Events part: every EventSource and Sensor of Argo Events' e2e suite
// (../shared/conformance/argo-events/testdata) is applied as written (the
// apiVersion mapped) and must be Ready, or, when it uses a source or a
// trigger argolite does not have yet, be refused by name (Ready=False
// naming the field). Then the tests of Argo's functional_test.go that need
// only webhooks and log triggers run step by step, asserting the exact
// trigger counts Argo asserts (through the Sensor's status, where Argo
// counts log lines).

var (
	eventSourceGVR = schema.GroupVersionResource{Group: "argolite.dev", Version: "v1alpha1", Resource: "eventsources"}
	sensorGVR      = schema.GroupVersionResource{Group: "argolite.dev", Version: "v1alpha1", Resource: "sensors"}
)

// eventsEnv is one case's namespace and the agent's webhook address.
type eventsEnv struct {
	ctx    context.Context
	dyn    dynamic.Interface
	kube   kubernetes.Interface
	corpus string
	ns     string
	url    string
}

func (e *eventsEnv) create(file string) (*unstructured.Unstructured, error) {
	objs, err := readObjects(filepath.Join(e.corpus, file))
	if err != nil {
		return nil, err
	}
	if len(objs) != 1 {
		return nil, fmt.Errorf("%s holds %d objects, want 1", file, len(objs))
	}
	o := objs[0]
	mapObject(o)
	gvr := eventSourceGVR
	if o.GetKind() == "Sensor" {
		gvr = sensorGVR
	}
	return e.dyn.Resource(gvr).Namespace(e.ns).Create(e.ctx, o, metav1.CreateOptions{})
}

func (e *eventsEnv) delete(kind, name string) error {
	gvr := eventSourceGVR
	if kind == "Sensor" {
		gvr = sensorGVR
	}
	err := e.dyn.Resource(gvr).Namespace(e.ns).Delete(e.ctx, name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// ready waits for the object's Ready condition: True, or False with a
// message containing refused.
func (e *eventsEnv) ready(kind, name, refused string) error {
	gvr := eventSourceGVR
	if kind == "Sensor" {
		gvr = sensorGVR
	}
	var last string
	err := wait.PollUntilContextTimeout(e.ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		u, err := e.dyn.Resource(gvr).Namespace(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] != "Ready" {
				continue
			}
			last = fmt.Sprintf("%v: %v", m["status"], m["message"])
			msg, _ := m["message"].(string)
			if refused == "" {
				return m["status"] == "True", nil
			}
			return m["status"] == "False" && strings.Contains(msg, refused), nil
		}
		return false, nil
	})
	if err != nil {
		want := "Ready"
		if refused != "" {
			want = "refused naming " + refused
		}
		return fmt.Errorf("%s %s is %q, want %s", kind, name, last, want)
	}
	return nil
}

// post sends {} to a webhook event, as Argo's tests do, and wants 200.
func (e *eventsEnv) post(source, event string) error {
	url := e.url + "/events/" + e.ns + "/" + source + "/" + event
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Post(url, "application/json", bytes.NewReader([]byte("{}")))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: HTTP %d, want 200", url, resp.StatusCode)
	}
	return nil
}

// fired is Argo's ExpectSensorPodLogContains(LogTriggerActionSuccessful(t),
// count): the Sensor's count for the trigger, which it waits to settle at
// want (a count above want fails at once).
func (e *eventsEnv) fired(sensor, trigger string, want int64) error {
	var got int64
	err := wait.PollUntilContextTimeout(e.ctx, 250*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		u, err := e.dyn.Resource(sensorGVR).Namespace(e.ns).Get(ctx, sensor, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		triggers, _, _ := unstructured.NestedSlice(u.Object, "status", "triggers")
		got = 0
		for _, t := range triggers {
			m, _ := t.(map[string]any)
			if m["name"] == trigger {
				got, _, _ = unstructured.NestedInt64(m, "fired")
			}
		}
		if got > want {
			return false, fmt.Errorf("fired %d times", got)
		}
		return got == want, nil
	})
	if err != nil {
		return fmt.Errorf("sensor %s trigger %s fired %d times, want %d", sensor, trigger, got, want)
	}
	return nil
}

// firedAtLeast waits for a trigger to have fired at least want times
// (Argo's ExpectSensorPodLogContains without a count).
func (e *eventsEnv) firedAtLeast(sensor, trigger string, want int64) error {
	var got int64
	err := wait.PollUntilContextTimeout(e.ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		got = e.count(sensorGVR, sensor, "triggers", trigger, "fired")
		return got >= want, nil
	})
	if err != nil {
		return fmt.Errorf("sensor %s trigger %s fired %d times, want at least %d", sensor, trigger, got, want)
	}
	return nil
}

// count reads a count from a status list (triggers by name, events by
// eventName).
func (e *eventsEnv) count(gvr schema.GroupVersionResource, name, list, key, field string) int64 {
	u, err := e.dyn.Resource(gvr).Namespace(e.ns).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		return 0
	}
	items, _, _ := unstructured.NestedSlice(u.Object, "status", list)
	for _, it := range items {
		m, _ := it.(map[string]any)
		if m["name"] == key || m["eventName"] == key {
			n, _, _ := unstructured.NestedInt64(m, field)
			return n
		}
	}
	return 0
}

// calendarFired waits for a calendar event to have fired at least want
// times (Argo's ExpectEventSourcePodLogContains(LogPublishEventSuccessful)).
func (e *eventsEnv) calendarFired(source, event string, want int64) error {
	var got int64
	err := wait.PollUntilContextTimeout(e.ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		got = e.count(eventSourceGVR, source, "events", event, "events")
		return got >= want, nil
	})
	if err != nil {
		return fmt.Errorf("eventsource %s event %s fired %d times, want at least %d", source, event, got, want)
	}
	return nil
}

type eventsStep func(e *eventsEnv) error

// argoEventsNamespace is where Argo's resource fixture watches Pods (its
// suite's own namespace).
const argoEventsNamespace = "argo-events"

// testPod plays Argo's `kubectl run test-pod` (create) and `kubectl
// delete pod test-pod` (delete) in the fixture's namespace.
func testPod(create bool) eventsStep {
	return func(e *eventsEnv) error {
		pods := e.kube.CoreV1().Pods(argoEventsNamespace)
		if !create {
			return pods.Delete(e.ctx, "test-pod", metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
		}
		if _, err := e.kube.CoreV1().Namespaces().Create(e.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: argoEventsNamespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		_, err := pods.Create(e.ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "test-pod"}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "test-pod", Image: "busybox:1.36", Command: []string{"sleep", "3600"}}}}}, metav1.CreateOptions{})
		return err
	}
}

func firedAtLeast(sensor, trigger string, n int64) eventsStep {
	return func(e *eventsEnv) error { return e.firedAtLeast(sensor, trigger, n) }
}
func calendarFired(source, event string, n int64) eventsStep {
	return func(e *eventsEnv) error { return e.calendarFired(source, event, n) }
}

func esCreate(file, name string) eventsStep {
	return func(e *eventsEnv) error {
		if _, err := e.create(file); err != nil {
			return err
		}
		return e.ready("EventSource", name, "")
	}
}
func snCreate(file, name string) eventsStep {
	return func(e *eventsEnv) error {
		if _, err := e.create(file); err != nil {
			return err
		}
		return e.ready("Sensor", name, "")
	}
}
func snDelete(name string) eventsStep {
	return func(e *eventsEnv) error { return e.delete("Sensor", name) }
}
func send(source, event string) eventsStep {
	return func(e *eventsEnv) error { return e.post(source, event) }
}
func fired(sensor, trigger string, n int64) eventsStep {
	return func(e *eventsEnv) error { return e.fired(sensor, trigger, n) }
}

// eventsScenarios are Argo's functional_test.go tests that need only
// webhook and calendar sources and log triggers, as written. Left out, and
// why: TestMetricsWithWebhook, TestMetricsWithCalendar: Argo's Prometheus
// metric names;
// TestAtLeastOnce, TestAtMostOnce, TestMultipleSensorAtLeastOnceTrigger:
// http triggers are not supported yet; TestDurableConsumer: it needs the
// bus to keep an event for a Sensor deleted and created again.
var eventsScenarios = []struct {
	test  string
	steps []eventsStep
}{
	{"functional_test.go TestCreateCalendarEventSource", []eventsStep{
		esCreate("es-calendar.yaml", "e2e-calendar"), snCreate("sensor-log.yaml", "e2e-log"), firedAtLeast("e2e-log", "log-trigger", 1),
	}},
	{"functional_test.go TestCreateCalendarEventSourceWithHA", []eventsStep{
		esCreate("es-calendar-ha.yaml", "e2e-calendar-ha"), snCreate("sensor-log-ha.yaml", "e2e-log-ha"), firedAtLeast("e2e-log-ha", "log-trigger", 1),
		esCreate("es-calendar-ha-k8s.yaml", "e2e-calendar-ha-k8s"), snCreate("sensor-log-ha-k8s.yaml", "e2e-log-ha-k8s"), firedAtLeast("e2e-log-ha-k8s", "log-trigger", 1),
	}},
	{"functional_test.go TestResourceEventSource", []eventsStep{
		esCreate("es-resource.yaml", "test-resource"), testPod(true), snCreate("sensor-resource.yaml", "e2e-resource-log"),
		testPod(false), firedAtLeast("e2e-resource-log", "log-trigger", 1),
	}},
	{"functional_test.go TestDuplicateDependency", []eventsStep{
		esCreate("es-calendar-metadata.yaml", "e2e-calendar-metadata"), snCreate("sensor-duplicate-deps.yaml", "e2e-duplicate-dep"),
		firedAtLeast("e2e-duplicate-dep", "log-trigger", 1),
	}},
	// The filter of test-dep-2 never passes: after events came, still 0.
	{"functional_test.go TestDuplicateDependencyWithFilterDoesntTrigger", []eventsStep{
		esCreate("es-calendar-metadata.yaml", "e2e-calendar-metadata"), snCreate("sensor-duplicate-deps-filter.yaml", "e2e-duplicate-dep-filter"),
		calendarFired("e2e-calendar-metadata", "example", 2), fired("e2e-duplicate-dep-filter", "log-trigger", 0),
	}},
	{"functional_test.go TestMultiDependencyConditions", []eventsStep{
		esCreate("es-multi-dep.yaml", "e2e-multi-dep"), snCreate("sensor-multi-dep.yaml", "e2e-multi-dep"),
		send("e2e-multi-dep", "example1"), fired("e2e-multi-dep", "log-trigger-2", 1), fired("e2e-multi-dep", "log-trigger-1", 0),
		send("e2e-multi-dep", "example2"), fired("e2e-multi-dep", "log-trigger-1", 1),
		send("e2e-multi-dep", "example2"), fired("e2e-multi-dep", "log-trigger-1", 1),
		send("e2e-multi-dep", "example3"), fired("e2e-multi-dep", "log-trigger-1", 2),
	}},
	{"functional_test.go TestMultipleSensors", []eventsStep{
		esCreate("es-multi-sensor.yaml", "e2e-multi-sensor"), snCreate("sensor-multi-sensor.yaml", "e2e-multi-sensor"),
		send("e2e-multi-sensor", "example1"),
		snCreate("sensor-multi-sensor-2.yaml", "e2e-multi-sensor-2"),
		send("e2e-multi-sensor", "example2"),
		fired("e2e-multi-sensor", "log-trigger-1", 1), fired("e2e-multi-sensor-2", "log-trigger-1", 0),
	}},
	// Argo's EventSource here is e2e-trigger-spec-change while its Sensors
	// wait on e2e-multi-event-webhook: as in Argo, nothing may fire.
	{"functional_test.go TestTriggerSpecChange", []eventsStep{
		esCreate("es-trigger-spec-change.yaml", "e2e-trigger-spec-change"), snCreate("sensor-trigger-spec-change.yaml", "e2e-trigger-spec-change"),
		send("e2e-trigger-spec-change", "example1"),
		snDelete("e2e-trigger-spec-change"),
		snCreate("sensor-trigger-spec-change-2.yaml", "e2e-trigger-spec-change"),
		send("e2e-trigger-spec-change", "example3"),
		fired("e2e-trigger-spec-change", "log-trigger-1", 0),
	}},
}

// eventsRefused are the fields the corpus uses that argolite refuses by
// name so far: a fixture using one must be refused naming it. Two of
// Argo's Sensors put atLeastOnce inside the trigger's template, where Argo
// ignores it: argolite names it.
var eventsRefused = []string{"http", "atLeastOnce"}

// TestEventsConformance runs Argo Events' fixtures and scenarios; `make
// test-conformance-events` runs it alone.
func TestEventsConformance(t *testing.T) {
	if v := os.Getenv("ARGOLITE_E2E"); v != "1" {
		t.Skip("ARGOLITE_E2E is not 1: run make test-conformance-events, which starts the local cluster and sets ARGOLITE_E2E=1")
	}
	corpus, err := filepath.Abs(filepath.Join(corpusDir(), "argo-events", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	var report string
	if _, err := os.Stat(corpus); err != nil {
		report = fmt.Sprintf("Argo Events e2e conformance: skipped: the corpus is absent (%v)\n", err)
	} else {
		cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
		if err != nil {
			t.Fatalf("loading KUBECONFIG: %v", err)
		}
		dyn := dynamic.NewForConfigOrDie(cfg)
		kube := kubernetes.NewForConfigOrDie(cfg)
		install(t, kube)
		report = runEvents(t, context.Background(), dyn, kube, corpus)
	}
	t.Log("\n" + report)
	if dir := os.Getenv("ARGOLITE_E2E_REPORT_DIR"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "conformance-events.txt"), []byte(report), 0o644)
	}
}

func runEvents(t *testing.T, ctx context.Context, dyn dynamic.Interface, kube kubernetes.Interface, corpus string) string {
	svc, err := kube.CoreV1().Services(agentmeta.Namespace).Get(ctx, agentmeta.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + svc.Spec.ClusterIP + ":80"
	newEnv := func(i int) (*eventsEnv, func(), error) {
		ns := fmt.Sprintf("argo-events-%d", i)
		if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return nil, nil, err
		}
		done := func() { _ = kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) }
		cctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		return &eventsEnv{ctx: cctx, dyn: dyn, kube: kube, corpus: corpus, ns: ns, url: url}, func() { cancel(); done() }, nil
	}
	entries, err := os.ReadDir(corpus)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var fixtureFails, refusedNames []string
	passed, refused := 0, 0
	for i, en := range entries {
		if !strings.HasSuffix(en.Name(), ".yaml") {
			continue
		}
		objs, err := readObjects(filepath.Join(corpus, en.Name()))
		if err != nil || len(objs) != 1 {
			fixtureFails = append(fixtureFails, fmt.Sprintf("  FAIL %s: %v (%d objects)", en.Name(), err, len(objs)))
			continue
		}
		e, done, err := newEnv(i)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := os.ReadFile(filepath.Join(corpus, en.Name()))
		field := ""
		for _, f := range eventsRefused {
			if bytes.Contains(raw, []byte("\n  "+f+":")) || bytes.Contains(raw, []byte("        "+f+":")) {
				field = f
			}
		}
		if _, err = e.create(en.Name()); err == nil {
			want := ""
			if field != "" {
				want = `field "` + field + `" is not supported by argolite`
			}
			err = e.ready(objs[0].GetKind(), objs[0].GetName(), want)
		}
		done()
		switch {
		case err != nil:
			fixtureFails = append(fixtureFails, fmt.Sprintf("  FAIL %s: %v", en.Name(), err))
		case field != "":
			refused++
			passed++
			refusedNames = append(refusedNames, en.Name()+" ("+field+")")
		default:
			passed++
		}
	}
	total := passed + len(fixtureFails)
	fmt.Fprintf(&b, "Argo Events e2e fixtures (test/e2e/testdata) conformance, Ready or refused by name: %d passed, %d failed (of %d; %d of the passed are refused by name as documented: %s)\n",
		passed, len(fixtureFails), total, refused, strings.Join(refusedNames, ", "))
	sort.Strings(fixtureFails)
	for _, f := range fixtureFails {
		b.WriteString(f + "\n")
		t.Errorf("events conformance: %s", strings.TrimSpace(f))
	}
	// The scenarios run at once, each in its namespace: the calendar ones
	// mostly wait for their intervals.
	start := time.Now()
	fails := make([]string, len(eventsScenarios))
	var wg sync.WaitGroup
	for i, sc := range eventsScenarios {
		e, done, err := newEnv(100 + i)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer done()
			for j, step := range sc.steps {
				if err := step(e); err != nil {
					fails[i] = fmt.Sprintf("  FAIL %s: step %d: %v", sc.test, j+1, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	_ = kube.CoreV1().Namespaces().Delete(context.Background(), argoEventsNamespace, metav1.DeleteOptions{})
	var scenarioFails []string
	for _, f := range fails {
		if f != "" {
			scenarioFails = append(scenarioFails, f)
		}
	}
	fmt.Fprintf(&b, "Argo Events e2e scenarios (functional_test.go, step by step) conformance, in %s: %d passed, %d failed (of %d)\n",
		time.Since(start).Round(time.Second), len(eventsScenarios)-len(scenarioFails), len(scenarioFails), len(eventsScenarios))
	for _, f := range scenarioFails {
		b.WriteString(f + "\n")
		t.Errorf("events conformance: %s", strings.TrimSpace(f))
	}
	return b.String()
}
