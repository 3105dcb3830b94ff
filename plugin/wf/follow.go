package wf

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// followOptions say how a command that started workflows follows them.
type followOptions struct {
	watch, wait, log bool
	timeout          time.Duration
	// structured is true when stdout carries -o output: progress goes to stderr.
	structured bool
}

// follow waits for, watches or streams the logs of the workflows names, as
// asked, and fails with a cli.ExitError when one did not succeed.
func (c *Common) follow(ctx context.Context, names []string, opts followOptions) error {
	if !opts.watch && !opts.wait && !opts.log {
		if len(names) == 1 && !opts.structured {
			fmt.Fprintf(c.Out, "Next: kubectl argo wf get %s%s -w, or kubectl argo wf logs %s%s -f\n",
				names[0], c.NSFlag(c.Namespace), names[0], c.NSFlag(c.Namespace))
		}
		return nil
	}
	out := c.Out
	if opts.structured {
		out = c.ErrOut
	}
	if opts.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = cli.WithTimeout(ctx, opts.timeout)
		defer cancel()
	}
	var wfs []*argov1.Workflow
	var err error
	switch {
	case opts.watch:
		var wf *argov1.Workflow
		wf, err = c.watch(ctx, names[0], out, treeOptions{})
		wfs = []*argov1.Workflow{wf}
	case opts.log:
		var wf *argov1.Workflow
		wf, err = c.streamLogs(ctx, names[0], logOptions{follow: true, container: "main"}, out)
		if err == nil {
			fmt.Fprintln(out, outcomeLine(wf, newPalette(out), c.Now()))
		}
		wfs = []*argov1.Workflow{wf}
	default:
		wfs, err = c.waitFor(ctx, names, out)
	}
	if err != nil {
		if ctx.Err() != nil && opts.timeout > 0 {
			return cli.WaitTimeout(ctx, opts.timeout, "workflow "+strings.Join(names, ", ")+" to end",
				fmt.Sprintf("see where it is with kubectl argo wf get %s%s, or wait longer with --timeout", names[0], c.NSFlag(c.Namespace)))
		}
		return err
	}
	return c.outcome(wfs)
}

// waitFor polls the workflows until every one has ended, with a progress
// line on out, then prints each one's outcome.
func (c *Common) waitFor(ctx context.Context, names []string, out io.Writer) ([]*argov1.Workflow, error) {
	wfs, err := cli.WaitAll(ctx, out, c.Interval, names, c.getWorkflow, func(wf *argov1.Workflow) string {
		if wf.Status.Phase.Completed() {
			return ""
		}
		return runningState(wf)
	})
	if err != nil {
		return nil, err
	}
	pal := newPalette(out)
	list := make([]*argov1.Workflow, len(names))
	for i, name := range names {
		list[i] = wfs[name]
		fmt.Fprintln(out, outcomeLine(wfs[name], pal, c.Now()))
	}
	return list, nil
}

// runningState says where a running workflow is: "Running 2/5: build, test".
func runningState(wf *argov1.Workflow) string {
	s := statusText(wf)
	if wf.Status.Progress != "" {
		s += " " + wf.Status.Progress
	}
	var running []*argov1.NodeStatus
	for _, n := range wf.Status.Nodes {
		if (n.Type == argov1.NodeTypePod || n.Type == argov1.NodeTypeSuspend) && !n.Phase.Fulfilled() {
			running = append(running, &n)
		}
	}
	slices.SortFunc(running, func(a, b *argov1.NodeStatus) int {
		return cmp.Or(a.StartedAt.Compare(b.StartedAt.Time), cmp.Compare(a.Name, b.Name))
	})
	var steps []string
	for i, n := range running {
		if i == 3 {
			steps = append(steps, fmt.Sprintf("and %d more", len(running)-3))
			break
		}
		step := n.DisplayName
		if activeSuspend(n) {
			step += " (suspended)"
		} else if n.Message != "" {
			step += " (" + oneLine(n.Message, 60) + ")"
		}
		steps = append(steps, step)
	}
	if len(steps) > 0 {
		s += ": " + strings.Join(steps, ", ")
	}
	if wf.Status.Phase == argov1.WorkflowUnknown && len(wf.Status.Nodes) == 0 {
		s += " (the agent has not started it yet)"
	}
	return s
}

// outcomeLine is "workflow.argolite.dev/NAME Succeeded in 1m".
func outcomeLine(wf *argov1.Workflow, pal palette, now time.Time) string {
	s := fmt.Sprintf("%s/%s %s", Resource, wf.Name, pal.workflowPhase(wf.Status.Phase, string(wf.Status.Phase)))
	if d := cli.Span(now, wf.Status.StartedAt, wf.Status.FinishedAt); d != "" {
		s += " in " + d
	}
	if msg := failureMessage(wf); msg != "" {
		s += ": " + msg
	}
	return s
}

// failureMessage is why a workflow did not succeed: its message and the
// first failed step's.
func failureMessage(wf *argov1.Workflow) string {
	if wf.Status.Phase == argov1.WorkflowSucceeded {
		return ""
	}
	msg := wf.Status.Message
	if step := firstFailedStep(wf); step != nil && step.Message != "" && !strings.Contains(msg, step.Message) {
		s := fmt.Sprintf("step %s: %s", step.DisplayName, step.Message)
		if msg == "" {
			return s
		}
		return msg + " (" + s + ")"
	}
	return msg
}

// firstFailedStep is the failed Pod node that started first.
func firstFailedStep(wf *argov1.Workflow) *argov1.NodeStatus {
	var first *argov1.NodeStatus
	for _, n := range wf.Status.Nodes {
		if n.Type != argov1.NodeTypePod || (n.Phase != argov1.NodeFailed && n.Phase != argov1.NodeError) {
			continue
		}
		if first == nil || n.StartedAt.Before(&first.StartedAt) || (n.StartedAt.Equal(&first.StartedAt) && n.Name < first.Name) {
			node := n
			first = &node
		}
	}
	return first
}

// outcome is nil when every workflow succeeded, else an ExitError naming
// those that did not.
func (c *Common) outcome(wfs []*argov1.Workflow) error {
	var failed []*argov1.Workflow
	for _, wf := range wfs {
		if wf != nil && wf.Status.Phase != argov1.WorkflowSucceeded {
			failed = append(failed, wf)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	var problems []string
	for _, wf := range failed {
		p := fmt.Sprintf("workflow %s/%s %s", wf.Namespace, wf.Name, wf.Status.Phase)
		if msg := failureMessage(wf); msg != "" {
			p += ": " + msg
		}
		problems = append(problems, p)
	}
	name := failed[0].Name
	return &cli.ExitError{Code: 1, Err: &cli.Error{
		Problem: strings.Join(problems, "; "),
		Fix: fmt.Sprintf("see the failed steps with kubectl argo wf get %s%s and their logs with kubectl argo wf logs %s%s; run them again with kubectl argo wf retry %s%s",
			name, c.NSFlag(c.Namespace), name, c.NSFlag(c.Namespace), name, c.NSFlag(c.Namespace)),
	}}
}

// Follow is what --wait and --watch do after a command started the
// workflows names (cron trigger): watch shows the tree of the first, wait
// waits for all; both fail with a cli.ExitError when one did not succeed.
// With neither it prints how to follow them.
func (c *Common) Follow(ctx context.Context, names []string, wait, watch bool, timeout time.Duration) error {
	return c.follow(ctx, names, followOptions{wait: wait, watch: watch, timeout: timeout})
}
