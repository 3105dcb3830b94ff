package cli

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// Age is how long ago t was, as kubectl prints ages.
func Age(now time.Time, t metav1.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// When is a time with how long ago it was.
func When(now time.Time, t metav1.Time) string {
	if t.IsZero() {
		return "-"
	}
	return fmt.Sprintf("%s (%s ago)", t.UTC().Format("2006-01-02 15:04:05 MST"), duration.HumanDuration(now.Sub(t.Time)))
}

// Span is how long something that started at start ran: until finish, or
// until now while it runs. Empty before it started.
func Span(now time.Time, start, finish metav1.Time) string {
	if start.IsZero() {
		return ""
	}
	end := now
	if !finish.IsZero() {
		end = finish.Time
	}
	return duration.HumanDuration(max(end.Sub(start.Time), 0))
}

// Plural is "1 workflow" or "2 workflows".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// OrDash is s, or "-" for an empty table cell.
func OrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
