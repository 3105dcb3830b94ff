package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
	"unicode/utf8"

	"golang.org/x/term"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/printers"
)

// clearLine returns the cursor to the start of the line and erases it.
const clearLine = "\r\x1b[K"

// Progress shows what a long wait is waiting for. On a terminal it keeps one
// line and redraws it in place with the time spent so far; elsewhere (CI
// logs, pipes) it prints a plain line each time the message changes.
type Progress struct {
	w     io.Writer
	tty   bool
	width int
	start time.Time
	last  string
	drawn bool
	now   func() time.Time
}

// NewProgress returns a progress line on w.
func NewProgress(w io.Writer) *Progress {
	p := &Progress{w: w, tty: printers.IsTerminal(w), now: time.Now}
	if f, ok := w.(*os.File); ok && p.tty {
		if width, _, err := term.GetSize(int(f.Fd())); err == nil {
			p.width = width
		}
	}
	p.start = p.now()
	return p
}

// Update shows msg as the current state.
func (p *Progress) Update(msg string) {
	if !p.tty {
		if msg != p.last {
			fmt.Fprintln(p.w, msg)
		}
		p.last = msg
		return
	}
	line := fmt.Sprintf("%s (%s)", msg, duration.HumanDuration(p.now().Sub(p.start)))
	// A line that wraps cannot be redrawn with \r: keep it within the terminal.
	if p.width > 1 && utf8.RuneCountInString(line) >= p.width {
		r := []rune(line)
		line = string(r[:p.width-2]) + "…"
	}
	fmt.Fprint(p.w, clearLine+line)
	p.last, p.drawn = msg, true
}

// Clear removes the progress line so that other output can follow.
func (p *Progress) Clear() {
	if p.tty && p.drawn {
		fmt.Fprint(p.w, clearLine)
		p.drawn = false
	}
}

// Done replaces the progress line with a final message.
func (p *Progress) Done(msg string) {
	p.Clear()
	fmt.Fprintln(p.w, msg)
}

// Poll calls check every interval until it reports done or fails, keeping
// prefix+msg on p. It returns the last message check gave, for the caller's
// final line or timeout error, and check's error, or ctx's when ctx ends first.
func Poll(ctx context.Context, p *Progress, interval time.Duration, prefix string,
	check func(context.Context) (done bool, msg string, err error)) (last string, err error) {
	for {
		done, msg, err := check(ctx)
		if err != nil {
			p.Clear()
			if ctx.Err() != nil {
				return last, ctx.Err()
			}
			return last, err
		}
		last = msg
		if done {
			return last, nil
		}
		p.Update(prefix + msg)
		select {
		case <-ctx.Done():
			p.Clear()
			return last, ctx.Err()
		case <-time.After(interval):
		}
	}
}
