package events

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/plugin/clitest"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

func clients(t *testing.T, objs ...client.Object) *cli.Clients {
	t.Helper()
	return clitest.Fake{Objects: objs, StatusSubresource: []client.Object{&argov1.EventSource{}, &argov1.Sensor{}}}.Clients(t)
}

func run(t *testing.T, c *cli.Clients, args ...string) clitest.Result {
	t.Helper()
	return clitest.Run(t, clitest.Faked(newCmd, c), args...)
}

func TestListAndGet(t *testing.T) {
	created := metav1.Time{Time: clitest.Now.Add(-time.Hour)}
	last := metav1.Time{Time: clitest.Now.Add(-time.Minute)}
	ready := []metav1.Condition{{Type: argov1.ConditionReady, Status: metav1.ConditionTrue}}
	es := &argov1.EventSource{ObjectMeta: metav1.ObjectMeta{Namespace: clitest.Namespace, Name: "webhook", CreationTimestamp: created},
		Spec: argov1.EventSourceSpec{Webhook: map[string]argov1.WebhookEventSource{"example": {}}},
		Status: argov1.EventSourceStatus{Conditions: ready, Endpoints: []argov1.EventEndpoint{
			{EventName: "example", Method: "POST", Path: "/events/" + clitest.Namespace + "/webhook/example", Events: 4, LastEventTime: &last}}}}
	sn := &argov1.Sensor{ObjectMeta: metav1.ObjectMeta{Namespace: clitest.Namespace, Name: "deploy", CreationTimestamp: created},
		Spec: argov1.SensorSpec{Dependencies: []argov1.EventDependency{{Name: "push", EventSourceName: "webhook", EventName: "example"}},
			Triggers: []argov1.Trigger{{Template: &argov1.TriggerTemplate{Name: "workflow", Conditions: "push", K8s: &argov1.StandardK8STrigger{}}}}},
		Status: argov1.SensorStatus{Conditions: []metav1.Condition{{Type: argov1.ConditionReady, Status: metav1.ConditionFalse, Message: "spec.triggers[0]: broken"}},
			Triggers: []argov1.TriggerStatus{{Name: "workflow", Fired: 3, Failed: 1, LastError: "already exists"}}}}
	c := clients(t, es, sn)

	r := run(t, c, "list")
	clitest.WantErr(t, r.Err, "")
	got := clitest.Squeeze(r.Out)
	for _, want := range []string{"KIND NAME READY EVENTS TRIGGERS FIRED AGE MESSAGE", "EventSource webhook True 1 (4 taken) - - 60m -",
		"Sensor deploy False - 1 3 60m spec.triggers[0]: broken"} {
		if !strings.Contains(got, want) {
			t.Errorf("list lacks %q:\n%s", want, r.Out)
		}
	}
	r = run(t, c, "get", "webhook")
	clitest.WantErr(t, r.Err, "")
	got = clitest.Squeeze(r.Out)
	for _, want := range []string{"⚡ webhook EventSource True", "◇ example event POST /events/" + clitest.Namespace + "/webhook/example, 4 taken, last 60s ago", "◉ deploy Sensor False dependency push"} {
		if !strings.Contains(got, want) {
			t.Errorf("get webhook lacks %q:\n%s", want, r.Out)
		}
	}
	r = run(t, c, "get", "deploy")
	clitest.WantErr(t, r.Err, "")
	got = clitest.Squeeze(r.Out)
	for _, want := range []string{"◇ push dependency webhook/example", "▶ workflow trigger k8s when push; fired 3, failed 1; last error: already exists"} {
		if !strings.Contains(got, want) {
			t.Errorf("get deploy lacks %q:\n%s", want, r.Out)
		}
	}
	if r := run(t, c, "get", "nope"); r.Err == nil || !strings.Contains(r.Err.Error(), "nope") {
		t.Errorf("get of a missing name: %v", r.Err)
	}
	if r := run(t, c, "send", "webhook", "other"); r.Err == nil || !strings.Contains(r.Err.Error(), "no webhook event") {
		t.Errorf("send of an unknown event: %v", r.Err)
	}
}
