package events

import (
	"strings"
	"testing"
	"time"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestParseCalendar(t *testing.T) {
	for _, tc := range []struct {
		name string
		cal  argov1.CalendarEventSource
		want string
	}{
		{"interval", argov1.CalendarEventSource{Interval: "10s"}, ""},
		{"schedule", argov1.CalendarEventSource{Schedule: "30 * * * *", Timezone: "Europe/Berlin"}, ""},
		{"neither", argov1.CalendarEventSource{}, "give a schedule (cron) or an interval"},
		{"both", argov1.CalendarEventSource{Schedule: "* * * * *", Interval: "1m"}, "not both"},
		{"bad cron", argov1.CalendarEventSource{Schedule: "every day"}, "not a five-field cron expression"},
		{"bad interval", argov1.CalendarEventSource{Interval: "-5s"}, "not a positive duration"},
		{"bad zone", argov1.CalendarEventSource{Interval: "1m", Timezone: "Mars/Olympus"}, "is not a time zone"},
		{"bad exclusion", argov1.CalendarEventSource{Interval: "1m", ExclusionDates: []string{"2026-01-01"}}, "EXDATE"},
		{"bad catchup", argov1.CalendarEventSource{Interval: "1m", Persistence: &argov1.EventPersistence{Catchup: &argov1.CatchupConfiguration{Enabled: true, MaxDuration: "a while"}}}, "maxDuration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseCalendar(tc.cal, "spec.calendar.x")
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("parseCalendar = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestCalendarNext: exclusion dates skip whole days, as Argo's
// calendar source skips them.
func TestCalendarNext(t *testing.T) {
	cs, err := parseCalendar(argov1.CalendarEventSource{Schedule: "0 9 * * *", ExclusionDates: []string{"EXDATE:20260102T000000Z,20260103T000000Z"}}, "x")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	if got, want := cs.next(from), time.Date(2026, 1, 4, 9, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("next after %s = %s, want %s (the 2nd and 3rd excluded)", from, got, want)
	}
	ev, err := calendarEvent("cal", "example", from, map[string]string{"foo": "bar"})
	if err != nil || !strings.Contains(string(ev.Data), `"eventTime":"2026-01-01 10:00:00 +0000 UTC"`) || !strings.Contains(string(ev.Data), `"metadata":{"foo":"bar"}`) || ev.Context.Type != "calendar" {
		t.Errorf("calendar event = %s %+v, %v", ev.Data, ev.Context, err)
	}
}

func TestResourceFilters(t *testing.T) {
	if _, err := validateResource(argov1.ResourceEventSource{Version: "v1", Resource: "pods", EventTypes: []string{"CREATE"}}, "spec.resource.x"); err == nil || !strings.Contains(err.Error(), `"CREATE" is not one of ADD, UPDATE, DELETE`) {
		t.Errorf("a bad event type: %v", err)
	}
	if _, err := validateResource(argov1.ResourceEventSource{Resource: "pods", EventTypes: []string{"ADD"}}, "spec.resource.x"); err == nil || !strings.Contains(err.Error(), "give version and resource") {
		t.Errorf("no version: %v", err)
	}
	sel, err := validateResource(argov1.ResourceEventSource{Version: "v1", Resource: "pods", EventTypes: []string{"ADD"},
		Filter: &argov1.ResourceFilter{Labels: []argov1.ResourceSelector{{Key: "app", Value: "web"}, {Key: "tier", Operation: "in", Value: "a,b"}}}}, "x")
	if err != nil || sel.String() != "app=web,tier in (a,b)" {
		t.Errorf("label selector = %v, %v", sel, err)
	}
	started := time.Now()
	obj := &unstructured.Unstructured{}
	obj.SetName("test-pod")
	obj.SetCreationTimestamp(metav1.NewTime(started.Add(-time.Minute)))
	_ = unstructured.SetNestedField(obj.Object, "Running", "status", "phase")
	for _, tc := range []struct {
		name string
		f    argov1.ResourceFilter
		typ  string
		want bool
	}{
		{"prefix", argov1.ResourceFilter{Prefix: "test-"}, "ADD", true},
		{"other prefix", argov1.ResourceFilter{Prefix: "web-"}, "ADD", false},
		{"created before the start", argov1.ResourceFilter{AfterStart: true}, "ADD", false},
		{"deleted after the start", argov1.ResourceFilter{AfterStart: true}, "DELETE", true},
		{"field equal", argov1.ResourceFilter{Fields: []argov1.ResourceSelector{{Key: "metadata.name", Operation: "==", Value: "test-pod"}}}, "ADD", true},
		{"field not equal", argov1.ResourceFilter{Fields: []argov1.ResourceSelector{{Key: "status.phase", Operation: "!=", Value: "Run.*"}}}, "ADD", false},
		{"missing field", argov1.ResourceFilter{Fields: []argov1.ResourceSelector{{Key: "spec.nodeName", Value: ".*"}}}, "ADD", false},
		{"created by", argov1.ResourceFilter{CreatedBy: metav1.NewTime(started.Add(-time.Hour))}, "ADD", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			if got := passResource(&f, obj, tc.typ, started); got != tc.want {
				t.Errorf("passResource = %v, want %v", got, tc.want)
			}
		})
	}
	ev, err := resourceEvent("es", "example", argov1.ResourceEventSource{Version: "v1", Resource: "pods"}, "DELETE", obj, nil)
	if err != nil || !strings.Contains(string(ev.Data), `"type":"DELETE"`) || !strings.Contains(string(ev.Data), `"oldBody":null`) || !strings.Contains(string(ev.Data), `"name":"test-pod"`) {
		t.Errorf("resource event = %s, %v", ev.Data, err)
	}
}
