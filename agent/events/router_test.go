package events

import (
	"context"
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

func multiDepSensor() *argov1.Sensor {
	dep := func(n, e string) argov1.EventDependency {
		return argov1.EventDependency{Name: n, EventSourceName: "e2e-multi-dep", EventName: e}
	}
	return &argov1.Sensor{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "e2e-multi-dep", Generation: 1}, Spec: argov1.SensorSpec{
		Dependencies: []argov1.EventDependency{dep("test-dep-1", "example1"), dep("test-dep-2", "example2"), dep("test-dep-3", "example3")},
		Triggers: []argov1.Trigger{
			{Template: &argov1.TriggerTemplate{Name: "log-trigger-1", Conditions: "(test-dep-1 && test-dep-2) || test-dep-3", Log: &argov1.LogTrigger{}}},
			{Template: &argov1.TriggerTemplate{Name: "log-trigger-2", Conditions: "test-dep-1", Log: &argov1.LogTrigger{}}},
		},
	}}
}

// TestMultiDependencyConditions is Argo's functional test of the same
// name, on the router: the exact count of each trigger after each event.
func TestMultiDependencyConditions(t *testing.T) {
	r := newRouter()
	fired := map[string]int{}
	r.fire = func(_ context.Context, _ *argov1.Sensor, tr argov1.Trigger, _ map[string]*Event) error {
		fired[tr.Template.Name]++
		return nil
	}
	rt, err := loadSensor(multiDepSensor())
	if err != nil {
		t.Fatal(err)
	}
	r.setSensor(types.NamespacedName{Namespace: "ns", Name: "e2e-multi-dep"}, rt)
	send := func(event string) {
		t.Helper()
		if _, err := r.Dispatch(context.Background(), "ns", "e2e-multi-dep", event, &Event{Data: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []struct {
		event    string
		one, two int
	}{{"example1", 0, 1}, {"example2", 1, 1}, {"example2", 1, 1}, {"example3", 2, 1}} {
		send(step.event)
		if fired["log-trigger-1"] != step.one || fired["log-trigger-2"] != step.two {
			t.Fatalf("after %s: log-trigger-1 %d, log-trigger-2 %d; want %d, %d", step.event, fired["log-trigger-1"], fired["log-trigger-2"], step.one, step.two)
		}
	}
	st, _ := r.stats(types.NamespacedName{Namespace: "ns", Name: "e2e-multi-dep"})
	if st[0].Fired != 2 || st[1].Fired != 1 {
		t.Errorf("stats = %+v", st)
	}
	// Another namespace's source of the same name reaches nobody.
	if n, err := r.Dispatch(context.Background(), "other", "e2e-multi-dep", "example3", &Event{Data: []byte(`{}`)}); n != 0 || err != nil {
		t.Errorf("another namespace: %d fired, %v", n, err)
	}
}

// A failed trigger returns the error (the webhook answers 5xx), drops the
// event it was given, and fires when the event comes again.
func TestFailedTriggerIsRetriedBySender(t *testing.T) {
	r := newRouter()
	fail := true
	calls := 0
	r.fire = func(context.Context, *argov1.Sensor, argov1.Trigger, map[string]*Event) error {
		calls++
		if fail {
			return errors.New("the API server said no")
		}
		return nil
	}
	s := multiDepSensor()
	s.Spec.Triggers = s.Spec.Triggers[1:]
	rt, err := loadSensor(s)
	if err != nil {
		t.Fatal(err)
	}
	key := types.NamespacedName{Namespace: "ns", Name: "e2e-multi-dep"}
	r.setSensor(key, rt)
	if _, err := r.Dispatch(context.Background(), "ns", "e2e-multi-dep", "example1", &Event{Data: []byte(`{}`)}); err == nil || !strings.Contains(err.Error(), "the API server said no") {
		t.Fatalf("a failed trigger: %v", err)
	}
	fail = false
	if n, err := r.Dispatch(context.Background(), "ns", "e2e-multi-dep", "example1", &Event{Data: []byte(`{}`)}); n != 1 || err != nil {
		t.Fatalf("the retried event: %d, %v", n, err)
	}
	st, _ := r.stats(key)
	if st[0].Fired != 1 || st[0].Failed != 1 || st[0].LastError != "" || calls != 2 {
		t.Errorf("stats %+v after %d calls", st[0], calls)
	}
}

func TestLoadSensorErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*argov1.Sensor)
		want   string
	}{
		{"conditions name an unknown dependency", func(s *argov1.Sensor) { s.Spec.Triggers[0].Template.Conditions = "test-dep-1 && nope" },
			`spec.triggers[0].template.conditions: "test-dep-1 && nope" names "nope"`},
		{"conditions do not parse", func(s *argov1.Sensor) { s.Spec.Triggers[0].Template.Conditions = "(test-dep-1 &&" }, "does not parse"},
		{"repeated dependency", func(s *argov1.Sensor) { s.Spec.Dependencies[1].Name = "test-dep-1" }, `two dependencies are named "test-dep-1"`},
		{"bad regular expression", func(s *argov1.Sensor) {
			s.Spec.Dependencies[0].Filters = &argov1.EventDependencyFilter{Data: []argov1.DataFilter{{Path: "body.a", Type: "string", Value: []string{"("}}}}
		}, "spec.dependencies[0].filters.data[0].value[0]"},
		{"bad expression", func(s *argov1.Sensor) {
			s.Spec.Dependencies[0].Filters = &argov1.EventDependencyFilter{Exprs: []argov1.ExprFilter{{Expr: "a ==", Fields: []argov1.PayloadField{{Name: "a", Path: "body.a"}}}}}
		}, "spec.dependencies[0].filters.exprs[0].expr"},
		{"no trigger kind", func(s *argov1.Sensor) { s.Spec.Triggers[0].Template.Log = nil }, "give exactly one of k8s and log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := multiDepSensor()
			tc.change(s)
			if _, err := loadSensor(s); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("loadSensor = %v, want %q", err, tc.want)
			}
		})
	}
}
