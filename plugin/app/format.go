package app

import (
	"fmt"
	"io"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// palette colours the words of tables. Its cells keep tab-aligned columns
// straight: when colour is on, every cell of a coloured column carries
// escape codes of the same length, coloured or not.
type palette struct {
	on                 bool
	green, yellow, red func(string) string
}

func newPalette(w io.Writer) palette {
	c := cli.NewColours(w)
	return palette{on: c.Green("x") != "x", green: c.Green, yellow: c.Yellow, red: c.Red}
}

// plain wraps s in escape codes as long as a colour's, which change nothing.
func (p palette) plain(s string) string {
	if !p.on {
		return s
	}
	return "\x1b[39m" + s + "\x1b[0m"
}

// sync colours a sync status or a resource result.
func (p palette) sync(s string) string {
	switch s {
	case string(argov1.SyncStatusSynced), "Pruned":
		return p.green(s)
	case string(argov1.SyncStatusOutOfSync), "PruneSkipped":
		return p.yellow(s)
	case "SyncFailed":
		return p.red(s)
	}
	return p.plain(s)
}

// health colours a health status.
func (p palette) health(s string) string {
	switch argov1.HealthStatusCode(s) {
	case argov1.HealthHealthy:
		return p.green(s)
	case argov1.HealthProgressing, argov1.HealthSuspended:
		return p.yellow(s)
	case argov1.HealthDegraded, argov1.HealthMissing:
		return p.red(s)
	}
	return p.plain(s)
}

// phase colours an operation or hook phase.
func (p palette) phase(s string) string { return p.byPhase(s, s) }

// byPhase colours text by an operation or hook phase.
func (p palette) byPhase(phase, text string) string {
	switch argov1.OperationPhase(phase) {
	case argov1.OperationSucceeded:
		return p.green(text)
	case argov1.OperationRunning, argov1.OperationTerminating:
		return p.yellow(text)
	case argov1.OperationFailed, argov1.OperationError:
		return p.red(text)
	}
	return p.plain(text)
}

// orUnknown is s, or "Unknown" before the agent has reported anything.
func orUnknown[T ~string](s T) string {
	if s == "" {
		return "Unknown"
	}
	return string(s)
}

// orDash is s, or "-" for an empty table cell.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// shortRevision shortens a commit SHA to 7 characters; branches and tags
// stay whole.
func shortRevision(rev string) string {
	if len(rev) >= 40 && isHex(rev) {
		return rev[:7]
	}
	return rev
}

func isHex(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

// kindOf is group/Kind, or Kind alone for the core group.
func kindOf(group, kind string) string {
	if group == "" {
		return kind
	}
	return group + "/" + kind
}

// source is the Application's first source (nil when it has none).
func source(app *argov1.Application) *argov1.ApplicationSource {
	if app.Spec.Source != nil {
		return app.Spec.Source
	}
	for i := range app.Spec.Sources {
		// A source with only a ref supplies values files to the others.
		if app.Spec.Sources[i].Ref == "" || app.Spec.Sources[i].Path != "" {
			return &app.Spec.Sources[i]
		}
	}
	if len(app.Spec.Sources) > 0 {
		return &app.Spec.Sources[0]
	}
	return nil
}

// target is the source's target revision as people read it.
func target(src *argov1.ApplicationSource) string {
	if src == nil || src.TargetRevision == "" {
		return "HEAD"
	}
	return src.TargetRevision
}

// statusWords is "Synced, Healthy": an Application's state in two words.
func statusWords(app *argov1.Application) string {
	return orUnknown(app.Status.Sync.Status) + ", " + orUnknown(app.Status.Health.Status)
}

// readyCondition is the Ready condition, or nil.
func readyCondition(app *argov1.Application) *metav1.Condition {
	for i := range app.Status.Conditions {
		if app.Status.Conditions[i].Type == "Ready" {
			return &app.Status.Conditions[i]
		}
	}
	return nil
}

// notReady says why the Application is not Ready ("" when it is, or when
// the agent has not said): it names Git and render errors.
func notReady(app *argov1.Application) string {
	c := readyCondition(app)
	if c == nil || c.Status == metav1.ConditionTrue {
		return ""
	}
	s := "Ready=" + string(c.Status)
	if c.Reason != "" {
		s += " (" + c.Reason + ")"
	}
	if c.Message != "" {
		s += ": " + c.Message
	}
	return s
}

// state is an Application's state in one line: sync, health, revision and
// why it is not Ready.
func state(app *argov1.Application) string {
	s := statusWords(app)
	if rev := app.Status.Sync.Revision; rev != "" {
		s += " at " + shortRevision(rev)
	}
	if app.Status.Health.Message != "" && app.Status.Health.Status != argov1.HealthHealthy {
		s += " (" + app.Status.Health.Message + ")"
	}
	if r := notReady(app); r != "" {
		s += "; " + r
	}
	return s
}

// age is how long ago t was, as kubectl prints ages.
func age(now time.Time, t metav1.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// when is a time with how long ago it was.
func when(now time.Time, t metav1.Time) string {
	if t.IsZero() {
		return "-"
	}
	return fmt.Sprintf("%s (%s ago)", t.UTC().Format("2006-01-02 15:04:05 MST"), duration.HumanDuration(now.Sub(t.Time)))
}

// plural is "1 resource" or "2 resources".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
