package wf

import (
	"io"
	"strings"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// palette is cli's with the colours of workflow and node phases.
type palette struct{ cli.Palette }

func newPalette(w io.Writer) palette { return palette{cli.NewPalette(w)} }

// workflowPhase colours a workflow phase (or status text starting with one).
func (p palette) workflowPhase(phase argov1.WorkflowPhase, text string) string {
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
func (p palette) nodeIcon(n *argov1.NodeStatus) string {
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
