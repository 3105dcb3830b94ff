package benchkit

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestConclude(t *testing.T) {
	logf := func(string, ...any) {}
	out := filepath.Join(t.TempDir(), "sub", "report.md")
	cleaned := 0
	cleanup := func() error { cleaned++; return nil }
	if code := Conclude("bench-test", out, nil, cleanup, func() string { return "# ok\n" }, logf); code != 0 {
		t.Errorf("a good run exits %d", code)
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != "# ok\n" {
		t.Errorf("report file: %q, %v", b, err)
	}
	failed := filepath.Join(t.TempDir(), "failed.md")
	if code := Conclude("bench-test", failed, errors.New("boom"), cleanup, func() string { return "partial\n" }, logf); code != 1 {
		t.Errorf("a failed run exits %d", code)
	}
	if _, err := os.Stat(failed); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed run wrote its report: %v", err)
	}
	if code := Conclude("bench-test", out, nil, func() error { return errors.New("left over") }, func() string { return "x\n" }, logf); code != 1 {
		t.Errorf("an incomplete cleanup exits %d", code)
	}
	if cleaned != 2 {
		t.Errorf("cleanup ran %d times, want 2", cleaned)
	}
}
