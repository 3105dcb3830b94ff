package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/argolite/argolite/shared/agentmeta"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// eventsURL is the agent's webhook Service, as a sender in the cluster
// (or the host, through kube-proxy) reaches it.
func eventsURL(t *testing.T) string {
	t.Helper()
	svc, err := clientset.CoreV1().Services(agentmeta.Namespace).Get(context.Background(), agentmeta.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + svc.Spec.ClusterIP + ":80"
}

// postEvent sends body to a webhook event and returns the status and reply.
func postEvent(t *testing.T, url string, body []byte, header http.Header) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("posting to %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestEventsWebhookToWorkflow: Argo Events' own webhook-to-workflow
// pattern, in one agent: a webhook EventSource with a bearer token, a
// Sensor whose filter picks the events and whose k8s trigger creates an
// argoproj.io Workflow with the payload's message as its parameter. The
// workflow role runs it. A bad token, a filtered payload and a payload
// over maxPayloadSize create nothing; a trigger that fails answers 503, so
// the sender retries.
func TestEventsWebhookToWorkflow(t *testing.T) {
	needCluster(t)
	sharedAgent(t)
	ns := newNamespace(t)
	c := newCRClient(t)
	ctx := context.Background()
	if err := c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "webhook-token"}, StringData: map[string]string{"token": "t0ken"}}); err != nil {
		t.Fatal(err)
	}
	createEventObjects(t, c, ns, fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata: {name: webhook}
spec:
  eventBusName: default
  service:
    ports: [{port: 12000, targetPort: 12000}]
  webhook:
    example:
      port: "12000"
      endpoint: /example
      method: POST
      maxPayloadSize: 1024
      authSecret: {name: webhook-token, key: token}
---
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: webhook}
spec:
  template:
    serviceAccountName: operate-workflow-sa
  dependencies:
  - name: payload
    eventSourceName: webhook
    eventName: example
    filters:
      data:
      - path: body.message
        type: string
        value: ["^hello"]
  triggers:
  - template:
      name: workflow
      k8s:
        operation: create
        source:
          resource:
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: webhook-}
            spec:
              entrypoint: say
              arguments:
                parameters: [{name: message, value: placeholder}]
              templates:
              - name: say
                inputs: {parameters: [{name: message}]}
                container:
                  image: %s
                  command: [sh, -c, 'echo "{{inputs.parameters.message}}"']
        parameters:
        - src: {dependencyName: payload, dataKey: body.message}
          dest: spec.arguments.parameters.0.value
  - template:
      name: marker
      k8s:
        source:
          resource:
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: marker}
            data: {from: webhook}
`, wfImage))
	waitFor(t, "the EventSource and the Sensor Ready", time.Minute, func(ctx context.Context) (bool, error) {
		es, sn := &argov1.EventSource{}, &argov1.Sensor{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "webhook"}, es); err != nil {
			return false, err
		}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "webhook"}, sn); err != nil {
			return false, err
		}
		return readyTrue(es.Status.Conditions) && readyTrue(sn.Status.Conditions), nil
	})
	url := eventsURL(t) + "/events/" + ns + "/webhook/example"
	bearer := http.Header{"Authorization": {"Bearer t0ken"}}
	dyn := dynamic.NewForConfigOrDie(cfg).Resource(argov1.GroupVersion.WithResource("workflows")).Namespace(ns)
	workflows := func() []unstructured.Unstructured {
		l, err := dyn.List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return l.Items
	}

	if code, reply := postEvent(t, url, []byte(`{"message": "hello"}`), nil); code != http.StatusUnauthorized {
		t.Errorf("no token: HTTP %d %s, want 401", code, reply)
	}
	if code, reply := postEvent(t, url, []byte(`{"message": "hello"}`), http.Header{"Authorization": {"Bearer wrong"}}); code != http.StatusUnauthorized {
		t.Errorf("a wrong token: HTTP %d %s, want 401", code, reply)
	}
	if code, reply := postEvent(t, url, []byte(`{"message": "`+strings.Repeat("x", 2048)+`"}`), bearer); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a payload over maxPayloadSize: HTTP %d %s, want 413", code, reply)
	}
	if code, reply := postEvent(t, url, []byte(`{"message": "goodbye"}`), bearer); code != http.StatusOK || !strings.Contains(reply, `"triggered":0`) {
		t.Errorf("a payload the filter drops: HTTP %d %s, want 200 with nothing triggered", code, reply)
	}
	if n := len(workflows()); n != 0 {
		t.Fatalf("%d Workflows after the refused and filtered events, want none", n)
	}

	code, reply := postEvent(t, url, []byte(`{"message": "hello from the webhook"}`), bearer)
	if code != http.StatusOK || !strings.Contains(reply, `"triggered":2`) {
		t.Fatalf("the event: HTTP %d %s, want 200 with both triggers fired", code, reply)
	}
	// The Workflow exists once the sender has its 200: the trigger ran
	// before the answer.
	wfs := workflows()
	if len(wfs) != 1 {
		t.Fatalf("%d Workflows right after the event, want 1", len(wfs))
	}
	params, _, _ := unstructured.NestedSlice(wfs[0].Object, "spec", "arguments", "parameters")
	if v, _ := params[0].(map[string]any)["value"].(string); v != "hello from the webhook" {
		t.Errorf("the Workflow's parameter = %v, want the payload's message", params)
	}
	name := wfs[0].GetName()
	waitFor(t, "the triggered Workflow to succeed", 2*time.Minute, func(ctx context.Context) (bool, error) {
		wf, err := dyn.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		phase, _, _ := unstructured.NestedString(wf.Object, "status", "phase")
		if phase == "Failed" || phase == "Error" {
			return false, fmt.Errorf("workflow %s is %s", name, phase)
		}
		return phase == "Succeeded", nil
	})

	// The marker ConfigMap exists now: creating it again fails, the
	// sender gets 503 (and would retry), and the Sensor's status says so.
	code, reply = postEvent(t, url, []byte(`{"message": "hello again"}`), bearer)
	if code != http.StatusServiceUnavailable || !strings.Contains(reply, "marker") {
		t.Errorf("a failing trigger: HTTP %d %s, want 503 naming it", code, reply)
	}
	waitFor(t, "the Sensor's trigger counts", time.Minute, func(ctx context.Context) (bool, error) {
		sn := &argov1.Sensor{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "webhook"}, sn); err != nil || len(sn.Status.Triggers) != 2 {
			return false, err
		}
		wf, marker := sn.Status.Triggers[0], sn.Status.Triggers[1]
		return wf.Fired == 2 && marker.Fired == 1 && marker.Failed == 1 && strings.Contains(marker.LastError, "already exists"), nil
	})
	waitFor(t, "the EventSource's event count", time.Minute, func(ctx context.Context) (bool, error) {
		es := &argov1.EventSource{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "webhook"}, es); err != nil || len(es.Status.Endpoints) != 1 {
			return false, err
		}
		// Three events passed the token and the size check.
		return es.Status.Endpoints[0].Events == 3 && es.Status.Endpoints[0].Path == "/events/"+ns+"/webhook/example", nil
	})
}

// TestEventsPlugin: kubectl argo events send posts through the API
// server's proxy to the agent, list and get show the objects and counts.
func TestEventsPlugin(t *testing.T) {
	needCluster(t)
	sharedAgent(t)
	ns := newNamespace(t)
	c := newCRClient(t)
	createEventObjects(t, c, ns, `apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata: {name: open}
spec:
  webhook:
    ping: {endpoint: /ping, port: "12000"}
    locked: {endpoint: /locked, port: "12000", authSecret: {name: nope, key: token}}
---
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: pinged}
spec:
  dependencies: [{name: ping, eventSourceName: open, eventName: ping, filters: {data: [{path: body.a, type: number, value: ["1"]}]}}]
  triggers: [{template: {name: log, log: {}}}]`)
	waitFor(t, "the EventSource and the Sensor Ready", time.Minute, func(ctx context.Context) (bool, error) {
		es, sn := &argov1.EventSource{}, &argov1.Sensor{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "open"}, es); err != nil {
			return false, err
		}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "pinged"}, sn); err != nil {
			return false, err
		}
		return readyTrue(es.Status.Conditions) && readyTrue(sn.Status.Conditions), nil
	})
	r := argo(t, "-n", ns, "events", "send", "open", "ping", "-d", `{"a": 1}`)
	if r.code != 0 || !strings.Contains(r.stdout, "HTTP 200") || !strings.Contains(r.stdout, `"triggered":1`) {
		t.Fatalf("events send: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if r := argo(t, "-n", ns, "events", "send", "open", "ping", "-d", `{"a": 2}`); r.code != 0 || !strings.Contains(r.stdout, `"triggered":0`) {
		t.Errorf("a filtered event: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if r := argo(t, "-n", ns, "events", "send", "open", "locked"); r.code == 0 || !strings.Contains(r.stderr, "bearer token") {
		t.Errorf("an event with an authSecret: exit %d, %q, want refused naming the token", r.code, r.stderr)
	}
	if r := argo(t, "-n", ns, "events", "send", "open", "nope"); r.code == 0 || !strings.Contains(r.stderr, "ping") {
		t.Errorf("an unknown event: exit %d, %q, want the events listed", r.code, r.stderr)
	}
	waitFor(t, "the Sensor's count", time.Minute, func(ctx context.Context) (bool, error) {
		r := argo(t, "-n", ns, "events", "get", "pinged")
		return r.code == 0 && strings.Contains(r.stdout, "fired 1, failed 0"), nil
	})
	if r := argo(t, "-n", ns, "events", "get", "open"); r.code != 0 || !strings.Contains(r.stdout, "/events/"+ns+"/open/ping") || !strings.Contains(r.stdout, "pinged") {
		t.Errorf("events get open: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := argo(t, "-n", ns, "events", "list"); r.code != 0 || !strings.Contains(r.stdout, "EventSource") || !strings.Contains(r.stdout, "pinged") {
		t.Errorf("events list: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestEventsInvalidSensor: a Sensor whose filter does not parse, or that
// uses a trigger argolite lacks, is not loaded: Ready=False naming the
// field, and its events fire nothing.
func TestEventsInvalidSensor(t *testing.T) {
	needCluster(t)
	sharedAgent(t)
	ns := newNamespace(t)
	c := newCRClient(t)
	for name, spec := range map[string]string{
		"bad-expr": `dependencies: [{name: d, eventSourceName: es, eventName: e, filters: {exprs: [{expr: "a ==", fields: [{name: a, path: body.a}]}]}}]
  triggers: [{template: {name: log, log: {}}}]`,
		"http-trigger": `dependencies: [{name: d, eventSourceName: es, eventName: e}]
  triggers: [{template: {name: call, http: {url: "http://example.com"}}}]`,
	} {
		createEventObjects(t, c, ns, "apiVersion: argoproj.io/v1alpha1\nkind: Sensor\nmetadata: {name: "+name+"}\nspec:\n  "+spec)
	}
	want := map[string]string{
		"bad-expr":     "spec.dependencies[0].filters.exprs[0].expr",
		"http-trigger": `spec.triggers[0].template.http: field "http" is not supported by argolite`,
	}
	for name, msg := range want {
		waitFor(t, "Sensor "+name+" refused", time.Minute, func(ctx context.Context) (bool, error) {
			sn := &argov1.Sensor{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, sn); err != nil {
				return false, err
			}
			for _, cond := range sn.Status.Conditions {
				if cond.Type == argov1.ConditionReady && cond.Status == metav1.ConditionFalse && strings.Contains(cond.Message, msg) {
					return true, nil
				}
			}
			return false, fmt.Errorf("conditions %+v", sn.Status.Conditions)
		})
	}
}

func readyTrue(conds []metav1.Condition) bool {
	for _, c := range conds {
		if c.Type == argov1.ConditionReady {
			return c.Status == metav1.ConditionTrue
		}
	}
	return false
}

// createEventObjects creates the documents of text in ns, Argo Events'
// argoproj.io kinds as argolite's (as the GitOps role maps them).
func createEventObjects(t *testing.T, c client.Client, ns, text string) {
	t.Helper()
	for _, doc := range strings.Split(text, "\n---\n") {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatalf("decoding %s: %v", doc, err)
		}
		if u.GetAPIVersion() == "argoproj.io/v1alpha1" {
			u.SetAPIVersion(argov1.GroupVersion.String())
		}
		u.SetNamespace(ns)
		if err := c.Create(context.Background(), u); err != nil {
			t.Fatalf("creating %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
}

// TestEventsCalendarCatchup: a calendar event with persistence.catchup
// fires every interval, each fire a ConfigMap carrying its eventTime; the
// agent is stopped for several intervals and started again: the missed
// fire times are fired on its return (from the last fire time the
// EventSource's status kept), so the eventTimes run on with no gap.
func TestEventsCalendarCatchup(t *testing.T) {
	needCluster(t)
	sharedAgentAlone(t)
	ns := newNamespace(t)
	c := newCRClient(t)
	ctx := context.Background()
	const interval = 4 * time.Second
	createEventObjects(t, c, ns, `apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata: {name: ticker}
spec:
  calendar:
    tick:
      interval: 4s
      metadata: {app: ticker}
      persistence:
        catchup: {enabled: true, maxDuration: 5m}
        configMap: {name: ticker-state, createIfNotExist: true}
---
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: ticker}
spec:
  dependencies: [{name: tick, eventSourceName: ticker, eventName: tick}]
  triggers:
  - template:
      name: record
      k8s:
        source:
          resource:
            apiVersion: v1
            kind: ConfigMap
            metadata: {generateName: tick-, labels: {tick: "yes"}}
            data: {eventTime: placeholder}
        parameters:
        - src: {dependencyName: tick, dataKey: eventTime}
          dest: data.eventTime`)
	ticks := func() []time.Time {
		cms, err := clientset.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: "tick=yes"})
		if err != nil {
			t.Fatal(err)
		}
		var out []time.Time
		for _, cm := range cms.Items {
			// Argo's eventTime is Go's time.String(), with a monotonic
			// suffix at most.
			text, _, _ := strings.Cut(cm.Data["eventTime"], " m=")
			at, err := time.Parse("2006-01-02 15:04:05.999999999 -0700 MST", text)
			if err != nil {
				t.Fatalf("ConfigMap %s: eventTime %q: %v", cm.Name, cm.Data["eventTime"], err)
			}
			out = append(out, at)
		}
		slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
		return out
	}
	waitFor(t, "two ticks", time.Minute, func(context.Context) (bool, error) { return len(ticks()) >= 2, nil })

	deploys := clientset.AppsV1().Deployments(agentmeta.Namespace)
	scale := func(n int32) {
		t.Helper()
		s, err := deploys.GetScale(ctx, agentmeta.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s.Spec.Replicas = n
		if _, err := deploys.UpdateScale(ctx, agentmeta.Name, s, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	scale(0)
	t.Cleanup(func() { scale(1) })
	waitFor(t, "the agent stopped", 2*time.Minute, func(ctx context.Context) (bool, error) {
		pods, err := clientset.CoreV1().Pods(agentmeta.Namespace).List(ctx, metav1.ListOptions{LabelSelector: agentmeta.ComponentLabel + "=" + agentmeta.Name})
		return err == nil && len(pods.Items) == 0, err
	})
	before := ticks()
	// The downtime itself: several intervals with no agent.
	time.Sleep(3 * interval)
	back := time.Now()
	scale(1)
	waitAgentReady(t)
	waitFor(t, "the ticks to catch up past the restart", 2*time.Minute, func(context.Context) (bool, error) {
		ts := ticks()
		return len(ts) > 0 && ts[len(ts)-1].After(back), nil
	})
	all := ticks()
	dups, gaps := 0, 0
	for i := 1; i < len(all); i++ {
		switch d := all[i].Sub(all[i-1]); {
		case d == 0:
			dups++ // at least once: a fire whose record the stop cut short comes again
		case d != interval:
			gaps++
			t.Errorf("ticks %s and %s are %s apart, want %s: a fire time was missed", all[i-1], all[i], d, interval)
		}
	}
	if dups > 1 {
		t.Errorf("%d repeated ticks across one stop, want at most one", dups)
	}
	missed := len(all) - len(before)
	t.Logf("%d ticks before the stop, %d after (%d repeated), no gap: %v", len(before), missed, dups, gaps == 0)
	if missed < 3 {
		t.Errorf("%d ticks after a stop of %s at a %s interval, want the missed ones fired", missed, 3*interval, interval)
	}
}
