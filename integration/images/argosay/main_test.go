package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestArgosay(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data.txt")
	if err := os.WriteFile(data, []byte("one\nhello world\nthree"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{nil, 0, "hello argo\n"},
		{[]string{"echo"}, 0, "hello argo\n"},
		{[]string{"echo", "hi there"}, 0, "hi there\n"},
		{[]string{"echo", `a\tb\nc`}, 0, "a\tb\nc\n"},
		{[]string{"echo", `stop\cnot this`}, 0, "stop"},
		{[]string{"echo", `\0101\x`}, 0, "A\\x\n"},
		{[]string{"echo", "-n"}, 0, ""},
		{[]string{"echo", "a", "b", "c"}, 0, ""},
		{[]string{"cat", data}, 0, "one\nhello world\nthree"},
		{[]string{"cat", filepath.Join(dir, "missing")}, 1, ""},
		{[]string{"cat"}, 2, ""},
		{[]string{"assert_contains", data, "hello"}, 0, "hello world\n"},
		{[]string{"assert_contains", data, "three"}, 0, "three\n"},
		{[]string{"assert_contains", data, "absent"}, 1, ""},
		{[]string{"assert_contains", filepath.Join(dir, "missing"), "x"}, 2, ""},
		{[]string{"assert_contains", data}, 2, ""},
		{[]string{"exit"}, 0, ""},
		{[]string{"exit", "0"}, 0, ""},
		{[]string{"exit", "3"}, 3, ""},
		{[]string{"exit", "x"}, 2, ""},
		{[]string{"sleep", "0.01"}, 0, ""},
		{[]string{"sleep"}, 2, ""},
		{[]string{"sleep", "soon"}, 1, ""},
		{[]string{"cowsay"}, 1, ""},
	} {
		var out bytes.Buffer
		code, _ := argosay(tc.args, &out)
		if code != tc.code || out.String() != tc.out {
			t.Errorf("argosay %q = exit %d, %q; want exit %d, %q", tc.args, code, out.String(), tc.code, tc.out)
		}
	}
}

func TestEchoToFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a", "b", "out.txt")
	var out bytes.Buffer
	if code, err := argosay([]string{"echo", "hello", file}, &out); code != 0 {
		t.Fatalf("exit %d: %v", code, err)
	}
	got, err := os.ReadFile(file)
	if err != nil || string(got) != "hello\n" || out.Len() != 0 {
		t.Errorf("file = %q (%v), stdout %q; want the text with a newline in the file only", got, err, out.String())
	}
}

func TestParseSleep(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"5": 5 * time.Second, "1.5s": 1500 * time.Millisecond, "2m": 2 * time.Minute,
		"1h": time.Hour, "1d": 24 * time.Hour, "1m30s": 90 * time.Second, "0": 0,
	} {
		if got, err := parseSleep(in); err != nil || got != want {
			t.Errorf("parseSleep(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "x", "1x"} {
		if _, err := parseSleep(in); err == nil {
			t.Errorf("parseSleep(%q) took it", in)
		}
	}
}

func TestShell(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	script := filepath.Join(t.TempDir(), "s.sh")
	if err := os.WriteFile(script, []byte("exit 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, err := argosay([]string{"sh", script}, &bytes.Buffer{}); code != 4 {
		t.Errorf("sh script = exit %d (%v), want the script's 4", code, err)
	}
	if code, _ := argosay([]string{"sh"}, &bytes.Buffer{}); code == 0 {
		t.Error(`sh without a file ran sh "0" successfully`)
	}
}
