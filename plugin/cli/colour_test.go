package cli

import (
	"bytes"
	"testing"
)

func TestPalette(t *testing.T) {
	off := NewPalette(&bytes.Buffer{})
	if off.On || off.Red("x") != "x" || off.Plain("x") != "x" || off.Cycle(3, "x") != "x" {
		t.Error("a palette on a buffer paints")
	}
	on := Palette{On: true}
	if got, want := on.Green("ok"), "\x1b[32mok\x1b[0m"; got != want {
		t.Errorf("Green = %q, want %q", got, want)
	}
	// Equal-width codes keep coloured cells aligned with plain ones.
	for _, s := range []string{on.Red("x"), on.Yellow("x"), on.Plain("x"), on.Cycle(0, "x")} {
		if len(s) != len(on.Green("x")) {
			t.Errorf("%q is not as long as %q", s, on.Green("x"))
		}
	}
	if on.Cycle(0, "a") == on.Cycle(1, "a") || on.Cycle(0, "a") != on.Cycle(len(cycle), "a") {
		t.Errorf("Cycle: %q %q %q", on.Cycle(0, "a"), on.Cycle(1, "a"), on.Cycle(len(cycle), "a"))
	}
}

func TestStripColour(t *testing.T) {
	on := Palette{On: true}
	for in, want := range map[string]string{
		"":                                  "",
		"plain":                             "plain",
		on.Green("a") + " b " + on.Red("c"): "a b c",
		"cut \x1b[3":                        "cut \x1b[3",
	} {
		if got := StripColour(in); got != want {
			t.Errorf("StripColour(%q) = %q, want %q", in, got, want)
		}
	}
}
