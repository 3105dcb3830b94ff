package events

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// TestWebhookHandler: what a sender gets for each kind of request, and
// that nothing is dispatched for a refused one.
func TestWebhookHandler(t *testing.T) {
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "tok"}, Data: map[string][]byte{"token": []byte("s3cret\n")}}
	r := newRouter()
	var got []*Event
	fail := false
	r.fire = func(_ context.Context, _ *argov1.Sensor, _ argov1.Trigger, events map[string]*Event) error {
		if fail {
			return errors.New("no room")
		}
		got = append(got, events["d"])
		return nil
	}
	r.setSource(types.NamespacedName{Namespace: "ns", Name: "hook"}, &argov1.EventSource{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "hook"},
		Spec: argov1.EventSourceSpec{Webhook: map[string]argov1.WebhookEventSource{
			"open":   {WebhookContext: argov1.WebhookContext{Metadata: map[string]string{"team": "a"}}},
			"locked": {WebhookContext: argov1.WebhookContext{AuthSecret: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "tok"}, Key: "token"}, MaxPayloadSize: ptr.To(int64(16))}},
		}}})
	s := &argov1.Sensor{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "s", Generation: 1}, Spec: argov1.SensorSpec{
		Dependencies: []argov1.EventDependency{{Name: "d", EventSourceName: "hook", EventName: "open"}, {Name: "l", EventSourceName: "hook", EventName: "locked"}},
		Triggers:     []argov1.Trigger{{Template: &argov1.TriggerTemplate{Name: "t", Conditions: "d || l", Log: &argov1.LogTrigger{}}}},
	}}
	rt, err := loadSensor(s)
	if err != nil {
		t.Fatal(err)
	}
	r.setSensor(types.NamespacedName{Namespace: "ns", Name: "s"}, rt)
	h := &webhookHandler{log: logr.Discard(), router: r, reader: fake.NewClientBuilder().WithObjects(secret).Build()}
	do := func(method, path, body string, header map[string]string) (int, string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		for k, v := range header {
			req.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}
	for _, tc := range []struct {
		name, method, path, body string
		header                   map[string]string
		code                     int
		reply                    string
	}{
		{"bad path", "POST", "/events/ns/hook", "{}", nil, 404, "NAMESPACE/EVENTSOURCE/EVENT"},
		{"unknown source", "POST", "/events/ns/other/open", "{}", nil, 404, "no EventSource ns/other"},
		{"unknown event", "POST", "/events/ns/hook/nope", "{}", nil, 404, `no webhook event`},
		{"wrong method", "GET", "/events/ns/hook/open", "", nil, 405, "takes POST"},
		{"no token", "POST", "/events/ns/hook/locked", "{}", nil, 401, "bearer token"},
		{"wrong token", "POST", "/events/ns/hook/locked", "{}", map[string]string{"Authorization": "Bearer nope"}, 401, "bearer token"},
		{"too large", "POST", "/events/ns/hook/locked", `{"x": "0123456789abcdef"}`, map[string]string{"Authorization": "Bearer s3cret"}, 413, "maxPayloadSize (16 bytes)"},
		{"good token", "POST", "/events/ns/hook/locked", `{}`, map[string]string{"Authorization": "Bearer s3cret"}, 200, `"triggered":1`},
		{"a text body", "POST", "/events/ns/hook/open", `hello`, map[string]string{"X-Test": "yes"}, 200, `"triggered":1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(got)
			code, reply := do(tc.method, tc.path, tc.body, tc.header)
			if code != tc.code || !strings.Contains(reply, tc.reply) {
				t.Errorf("HTTP %d %s, want %d with %q", code, reply, tc.code, tc.reply)
			}
			if tc.code != 200 && len(got) != before {
				t.Errorf("a refused request fired a trigger")
			}
		})
	}
	// The payload is Argo's {header, body, metadata}; a text body is a
	// JSON string.
	last := string(got[len(got)-1].Data)
	for _, want := range []string{`"body":"hello"`, `"metadata":{"team":"a"}`, `"X-Test":["yes"]`} {
		if !strings.Contains(last, want) {
			t.Errorf("payload %s lacks %s", last, want)
		}
	}
	if ev := got[len(got)-1]; ev.Context.Source != "hook" || ev.Context.Subject != "open" || ev.Context.Type != "webhook" || ev.Context.ID == "" {
		t.Errorf("context = %+v", ev.Context)
	}
	fail = true
	if code, reply := do("POST", "/events/ns/hook/open", "{}", nil); code != 503 || !strings.Contains(reply, "no room") {
		t.Errorf("a failing trigger: HTTP %d %s, want 503 with the error", code, reply)
	}
}
