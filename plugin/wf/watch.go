package wf

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/printers"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// screen shows successive frames of a view. On a terminal each frame
// replaces the last in place; elsewhere frames are not drawn (the watcher
// prints changes as lines instead).
type screen struct {
	w      io.Writer
	tty    bool
	width  int
	height int
	// rows is how many terminal rows the last frame took.
	rows int
}

func newScreen(w io.Writer) *screen {
	s := &screen{w: w, tty: printers.IsTerminal(w)}
	if f, ok := w.(*os.File); ok && s.tty {
		if width, height, err := term.GetSize(int(f.Fd())); err == nil {
			s.width, s.height = width, height
		}
	}
	return s
}

// draw replaces the last frame with text.
func (s *screen) draw(text string) {
	var b strings.Builder
	switch {
	case s.rows > 0 && s.height > 0 && s.rows >= s.height:
		// The last frame scrolled: clear the whole screen.
		b.WriteString("\x1b[H\x1b[2J")
	case s.rows > 0:
		fmt.Fprintf(&b, "\x1b[%dA\r\x1b[J", s.rows)
	}
	b.WriteString(text)
	fmt.Fprint(s.w, b.String())
	s.rows = s.count(text)
}

// count is how many rows text takes on the terminal, long lines wrapping.
func (s *screen) count(text string) int {
	rows := 0
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		n := utf8.RuneCountInString(stripANSI(line))
		if s.width > 0 && n > s.width {
			rows += (n + s.width - 1) / s.width
			continue
		}
		rows++
	}
	return rows
}

// stripANSI removes colour escape codes.
func stripANSI(s string) string {
	for {
		i := strings.Index(s, "\x1b[")
		if i < 0 {
			return s
		}
		j := strings.IndexByte(s[i:], 'm')
		if j < 0 {
			return s
		}
		s = s[:i] + s[i+j+1:]
	}
}

// nodeState is what the plain watcher remembers of a node.
type nodeState struct {
	phase   argov1.NodePhase
	message string
}

// watch shows the workflow until it ends: the get view redrawn in place on
// a terminal; elsewhere a line per change, then the final view.
func (c *Common) watch(ctx context.Context, name string, out io.Writer, opts treeOptions) (*argov1.Workflow, error) {
	scr := newScreen(out)
	opts.pal = NewPalette(out)
	seen := map[string]nodeState{}
	var lastStatus string
	for {
		wf, err := c.getWorkflow(ctx, name)
		if err != nil {
			return nil, err
		}
		opts.now, opts.podNames = c.Now(), c.podNames(ctx, wf)
		if scr.tty {
			var b bytes.Buffer
			printWorkflow(&b, wf, opts)
			scr.draw(b.String())
		} else {
			if s := statusText(wf); s != lastStatus {
				line := fmt.Sprintf("%s/%s %s", Resource, wf.Name, opts.pal.WorkflowPhase(wf.Status.Phase, s))
				if wf.Status.Message != "" {
					line += ": " + wf.Status.Message
				}
				fmt.Fprintln(out, line)
				lastStatus = s
			}
			printChanges(out, wf, seen, opts)
		}
		if wf.Status.Phase.Completed() {
			if !scr.tty {
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
