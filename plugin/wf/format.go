package wf

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

// Palette colours the words and icons of tables and trees. When colour is
// on, every cell of a coloured column carries escape codes of the same
// length, coloured or not, so that tab-aligned columns stay straight.
type Palette struct{ on bool }

// NewPalette returns the palette for w: colour only on a terminal, never
// with NO_COLOR or TERM=dumb (the rules of cli.Colours).
func NewPalette(w io.Writer) Palette {
	return Palette{on: cli.NewColours(w).Green("x") != "x"}
}

// On reports whether the palette paints.
func (p Palette) On() bool { return p.on }

func (p Palette) paint(code, s string) string {
	if !p.on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// Green marks success, Yellow what runs or waits, Red a failure, Plain
// nothing (with escape codes as long as the others').
func (p Palette) Green(s string) string  { return p.paint("32", s) }
func (p Palette) Yellow(s string) string { return p.paint("33", s) }
func (p Palette) Red(s string) string    { return p.paint("31", s) }
func (p Palette) Plain(s string) string  { return p.paint("39", s) }

// prefixColours are the colours of log prefixes, one per Pod in turn.
var prefixColours = []string{"36", "32", "35", "33", "34", "96", "92", "95", "93", "94"}

// prefix colours a log line's prefix with the i-th colour.
func (p Palette) prefix(i int, s string) string {
	return p.paint(prefixColours[i%len(prefixColours)], s)
}

// WorkflowPhase colours a workflow phase (or status text starting with one).
func (p Palette) WorkflowPhase(phase argov1.WorkflowPhase, text string) string {
	switch phase {
	case argov1.WorkflowSucceeded:
		return p.Green(text)
	case argov1.WorkflowFailed, argov1.WorkflowError:
		return p.Red(text)
	case argov1.WorkflowRunning, argov1.WorkflowPending, argov1.WorkflowUnknown:
		return p.Yellow(text)
	}
	return p.Plain(text)
}

// Icons of node phases, as `argo get` shows them.
const (
	IconSucceeded = "✔"
	IconFailed    = "✖"
	IconError     = "⚠"
	IconRunning   = "◷"
	IconSkipped   = "○"
	IconSuspended = "⏸"
)

// nodeIcon is the coloured icon of a node.
func (p Palette) nodeIcon(n *argov1.NodeStatus) string {
	if activeSuspend(n) {
		return p.Yellow(IconSuspended)
	}
	switch n.Phase {
	case argov1.NodeSucceeded:
		return p.Green(IconSucceeded)
	case argov1.NodeFailed:
		return p.Red(IconFailed)
	case argov1.NodeError:
		return p.Red(IconError)
	case argov1.NodeSkipped, argov1.NodeOmitted:
		return p.Plain(IconSkipped)
	}
	return p.Yellow(IconRunning)
}

// activeSuspend reports whether n is a suspend node waiting for a resume.
func activeSuspend(n *argov1.NodeStatus) bool {
	return n.Type == argov1.NodeTypeSuspend && !n.Phase.Fulfilled()
}

// suspended reports whether the workflow waits for a resume: spec.suspend,
// or a suspend node that runs.
func suspended(wf *argov1.Workflow) bool {
	if wf.Status.Phase.Completed() {
		return false
	}
	if wf.Spec.Suspend != nil && *wf.Spec.Suspend {
		return true
	}
	for _, n := range wf.Status.Nodes {
		if activeSuspend(&n) {
			return true
		}
	}
	return false
}

// statusText is a workflow's status as `argo list` shows it: its phase, with
// what it waits for.
func statusText(wf *argov1.Workflow) string {
	phase := string(wf.Status.Phase)
	if wf.Status.Phase == argov1.WorkflowUnknown {
		phase = string(argov1.WorkflowPending)
	}
	if wf.Status.Phase.Completed() {
		return phase
	}
	switch {
	case wf.Spec.Shutdown == argov1.ShutdownTerminate:
		return phase + " (Terminating)"
	case wf.Spec.Shutdown == argov1.ShutdownStop:
		return phase + " (Stopping)"
	case suspended(wf):
		return phase + " (Suspended)"
	}
	return phase
}

// orDash is s, or "-" for an empty table cell.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

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

// span is how long something that started at start ran: until finish, or
// until now while it runs. Empty before it started.
func span(now time.Time, start, finish metav1.Time) string {
	if start.IsZero() {
		return ""
	}
	end := now
	if !finish.IsZero() {
		end = finish.Time
	}
	d := end.Sub(start.Time)
	if d < 0 {
		d = 0
	}
	return duration.HumanDuration(d)
}

// Plural is "1 workflow" or "2 workflows".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// oneLine makes s fit a table cell: its first line, cut to max runes.
func oneLine(s string, max int) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " …"
	}
	if r := []rune(s); max > 0 && len(r) > max {
		s = string(r[:max-1]) + "…"
	}
	return s
}

// parameters is "a=1, b=x" for a list of parameters with values.
func parameters(params []argov1.Parameter) string {
	var out []string
	for _, p := range params {
		if p.Value != nil {
			out = append(out, p.Name+"="+oneLine(p.Value.String(), 40))
		}
	}
	return strings.Join(out, ", ")
}
