package cli

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestTimes(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }
	tests := []struct {
		name, got, want string
	}{
		{"Age", Age(now, ago(90*time.Minute)), "90m"},
		{"Age of nothing", Age(now, metav1.Time{}), "<unknown>"},
		{"When", When(now, ago(2*time.Hour)), "2026-03-01 10:00:00 UTC (120m ago)"},
		{"When of nothing", When(now, metav1.Time{}), "-"},
		{"Span while it runs", Span(now, ago(time.Minute), metav1.Time{}), "60s"},
		{"Span when it ended", Span(now, ago(time.Hour), ago(59*time.Minute)), "60s"},
		{"Span ending before it started", Span(now, ago(time.Minute), ago(time.Hour)), "0s"},
		{"Span before it started", Span(now, metav1.Time{}, metav1.Time{}), ""},
		{"Plural of one", Plural(1, "step"), "1 step"},
		{"Plural", Plural(3, "step"), "3 steps"},
		{"OrDash", OrDash(""), "-"},
		{"OrDash of something", OrDash("x"), "x"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}
