package app

import (
	"io"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// palette is cli's with the colours of sync, health and operation phases.
type palette struct{ cli.Palette }

func newPalette(w io.Writer) palette { return palette{cli.NewPalette(w)} }

// sync colours a sync status or a resource result.
func (p palette) sync(s string) string {
	switch s {
	case string(argov1.SyncStatusSynced), "Pruned":
		return p.Green(s)
	case string(argov1.SyncStatusOutOfSync), "PruneSkipped":
		return p.Yellow(s)
	case "SyncFailed":
		return p.Red(s)
	}
	return p.Plain(s)
}

// health colours a health status.
func (p palette) health(s string) string {
	switch argov1.HealthStatusCode(s) {
	case argov1.HealthHealthy:
		return p.Green(s)
	case argov1.HealthProgressing, argov1.HealthSuspended:
		return p.Yellow(s)
	case argov1.HealthDegraded, argov1.HealthMissing:
		return p.Red(s)
	}
	return p.Plain(s)
}

// phase colours an operation or hook phase.
func (p palette) phase(s string) string { return p.byPhase(s, s) }

// byPhase colours text by an operation or hook phase.
func (p palette) byPhase(phase, text string) string {
	switch argov1.OperationPhase(phase) {
	case argov1.OperationSucceeded:
		return p.Green(text)
	case argov1.OperationRunning, argov1.OperationTerminating:
		return p.Yellow(text)
	case argov1.OperationFailed, argov1.OperationError:
		return p.Red(text)
	}
	return p.Plain(text)
}

// orUnknown is s, or "Unknown" before the agent has reported anything.
func orUnknown[T ~string](s T) string {
	if s == "" {
		return "Unknown"
	}
	return string(s)
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
		if app.Status.Conditions[i].Type == argov1.ConditionReady {
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
