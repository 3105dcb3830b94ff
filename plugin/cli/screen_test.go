package cli

import (
	"bytes"
	"testing"
)

func TestScreenRedrawsInPlace(t *testing.T) {
	var out bytes.Buffer
	s := &Screen{w: &out, tty: true, width: 10, height: 20}
	s.Draw("one\ntwo\n")
	s.Draw("three\n\x1b[32mfour\x1b[0m is longer\n")
	s.Draw("five\n")
	want := "one\ntwo\n" + "\x1b[2A\r\x1b[J" + "three\n\x1b[32mfour\x1b[0m is longer\n" + "\x1b[3A\r\x1b[J" + "five\n"
	if out.String() != want {
		t.Errorf("screen wrote %q, want %q (a wrapped line counts twice, colour codes not at all)", out.String(), want)
	}
	out.Reset()
	s = &Screen{w: &out, tty: true, width: 80, height: 2}
	s.Draw("a\nb\nc\n")
	s.Draw("d\n")
	if want := "a\nb\nc\n\x1b[H\x1b[2Jd\n"; out.String() != want {
		t.Errorf("a frame taller than the terminal: wrote %q, want %q", out.String(), want)
	}
}

func TestScreenOffATerminal(t *testing.T) {
	if NewScreen(&bytes.Buffer{}).TTY() {
		t.Error("a buffer is a terminal")
	}
}
