package cli

import (
	"io"
	"strings"

	"k8s.io/cli-runtime/pkg/printers"
)

// Palette paints the words of tables, trees and messages for a terminal. It
// is off when the output is not a terminal, when TERM=dumb and when NO_COLOR
// is set (https://no-color.org).
//
// Every colour, Plain included, wraps text in escape codes of the same
// length, so that the cells of a tab-aligned column stay straight whether
// they are coloured or not.
type Palette struct {
	// On is whether the palette paints: NewPalette decides it for an output,
	// tests set it.
	On bool
}

// NewPalette returns the palette suitable for w.
func NewPalette(w io.Writer) Palette { return Palette{On: printers.AllowsColorOutput(w)} }

// Green marks success, Yellow what runs, waits or changed, Red a failure,
// Plain nothing.
func (p Palette) Green(s string) string  { return p.paint("32", s) }
func (p Palette) Yellow(s string) string { return p.paint("33", s) }
func (p Palette) Red(s string) string    { return p.paint("31", s) }
func (p Palette) Plain(s string) string  { return p.paint("39", s) }

// cycle are the colours of Cycle: ones that read on dark and light terminals.
var cycle = []string{"36", "32", "35", "33", "34", "96", "92", "95", "93", "94"}

// Cycle paints s with the i-th of a set of colours, which repeats: it tells
// many things apart (the Pods whose log lines interleave).
func (p Palette) Cycle(i int, s string) string { return p.paint(cycle[i%len(cycle)], s) }

func (p Palette) paint(code, s string) string {
	if !p.On {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// StripColour removes colour escape codes from s.
func StripColour(s string) string {
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
