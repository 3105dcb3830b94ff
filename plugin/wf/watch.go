package wf

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// nodeState is what the plain watcher remembers of a node.
type nodeState struct {
	phase   argov1.NodePhase
	message string
}

// watch shows the workflow until it ends: the get view redrawn in place on
// a terminal; elsewhere a line per change, then the final view.
func (c *Common) watch(ctx context.Context, name string, out io.Writer, opts treeOptions) (*argov1.Workflow, error) {
	scr := cli.NewScreen(out)
	opts.pal = newPalette(out)
	seen := map[string]nodeState{}
	var lastStatus string
	for {
		wf, err := c.getWorkflow(ctx, name)
		if err != nil {
			return nil, err
		}
		opts.now, opts.podNames = c.Now(), c.podNames(ctx, wf)
		if scr.TTY() {
			var b bytes.Buffer
			printWorkflow(&b, wf, opts)
			scr.Draw(b.String())
		} else {
			if s := statusText(wf); s != lastStatus {
				line := fmt.Sprintf("%s/%s %s", Resource, wf.Name, opts.pal.workflowPhase(wf.Status.Phase, s))
				if wf.Status.Message != "" {
					line += ": " + wf.Status.Message
				}
				fmt.Fprintln(out, line)
				lastStatus = s
			}
			printChanges(out, wf, seen, opts)
		}
		if wf.Status.Phase.Completed() {
			if !scr.TTY() {
				fmt.Fprintln(out)
				printWorkflow(out, wf, opts)
			}
			return wf, nil
		}
		select {
		case <-ctx.Done():
			return wf, ctx.Err()
		case <-time.After(c.Interval):
		}
	}
}

// printChanges prints a line for each step whose phase or message changed
// since seen, and remembers them.
func printChanges(out io.Writer, wf *argov1.Workflow, seen map[string]nodeState, opts treeOptions) {
	var changed []argov1.NodeStatus
	for id, n := range wf.Status.Nodes {
		switch n.Type {
		case argov1.NodeTypePod, argov1.NodeTypeSuspend, argov1.NodeTypeSkipped:
		default:
			continue
		}
		if n.Phase == argov1.NodeOmitted {
			continue
		}
		st := nodeState{phase: n.Phase, message: n.Message}
		if prev, ok := seen[id]; ok && prev == st {
			continue
		}
		seen[id] = st
		changed = append(changed, n)
	}
	slices.SortFunc(changed, func(a, b argov1.NodeStatus) int {
		return cmp.Or(a.StartedAt.Compare(b.StartedAt.Time), cmp.Compare(a.Name, b.Name))
	})
	for i := range changed {
		n := &changed[i]
		phase := string(n.Phase)
		if activeSuspend(n) {
			phase = "Suspended"
		}
		line := fmt.Sprintf("%s %s %s", opts.pal.nodeIcon(n), n.DisplayName, phase)
		if t := nodeTemplateName(n); t != "" {
			line = fmt.Sprintf("%s %s (%s) %s", opts.pal.nodeIcon(n), n.DisplayName, t, phase)
		}
		if n.Message != "" {
			line += ": " + oneLine(n.Message, 0)
		}
		fmt.Fprintln(out, line)
	}
}
