package cli

import (
	"io"

	"k8s.io/cli-runtime/pkg/printers"
)

// Colours paints text for a terminal. It is off when the output is not a
// terminal, when TERM=dumb and when NO_COLOR is set (https://no-color.org).
type Colours struct{ on bool }

// NewColours returns the colours suitable for w.
func NewColours(w io.Writer) Colours { return Colours{on: printers.AllowsColorOutput(w)} }

// Green marks success.
func (c Colours) Green(s string) string { return c.paint("32", s) }

// Yellow marks a warning or a change.
func (c Colours) Yellow(s string) string { return c.paint("33", s) }

// Red marks a failure.
func (c Colours) Red(s string) string { return c.paint("31", s) }

func (c Colours) paint(code, s string) string {
	if !c.on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}
