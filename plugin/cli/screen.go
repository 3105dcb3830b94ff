package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/printers"
)

// Screen shows the successive frames of a --watch view. On a terminal each
// frame replaces the last in place; elsewhere (CI logs, pipes) nothing is
// drawn, and the watcher prints what changed as lines instead.
type Screen struct {
	w      io.Writer
	tty    bool
	width  int
	height int
	// rows is how many terminal rows the last frame took.
	rows int
}

// NewScreen returns the screen of w.
func NewScreen(w io.Writer) *Screen {
	s := &Screen{w: w, tty: printers.IsTerminal(w)}
	if f, ok := w.(*os.File); ok && s.tty {
		if width, height, err := term.GetSize(int(f.Fd())); err == nil {
			s.width, s.height = width, height
		}
	}
	return s
}

// TTY reports whether frames are drawn: whether w is a terminal.
func (s *Screen) TTY() bool { return s.tty }

// Draw replaces the last frame with text.
func (s *Screen) Draw(text string) {
	var b strings.Builder
	switch {
	case s.rows > 0 && s.height > 0 && s.rows >= s.height:
		// The last frame scrolled off the top: moving up cannot reach its
		// first row, so clear the whole screen.
		b.WriteString("\x1b[H\x1b[2J")
	case s.rows > 0:
		fmt.Fprintf(&b, "\x1b[%dA\r\x1b[J", s.rows)
	}
	b.WriteString(text)
	fmt.Fprint(s.w, b.String())
	s.rows = s.count(text)
}

// count is how many rows text takes on the terminal, long lines wrapping.
func (s *Screen) count(text string) int {
	rows := 0
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		n := utf8.RuneCountInString(StripColour(line))
		if s.width > 0 && n > s.width {
			rows += (n + s.width - 1) / s.width
			continue
		}
		rows++
	}
	return rows
}
