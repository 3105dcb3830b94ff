package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestProgressPlain(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(&out)
	if p.tty {
		t.Fatal("a buffer is not a terminal")
	}
	p.Update("waiting: 0/1 ready")
	p.Update("waiting: 0/1 ready") // unchanged: no new line in logs
	p.Update("waiting: 1/1 ready")
	p.Clear()
	p.Done("done")
	want := "waiting: 0/1 ready\nwaiting: 1/1 ready\ndone\n"
	if out.String() != want {
		t.Errorf("plain progress wrote %q, want %q", out.String(), want)
	}
	if strings.ContainsAny(out.String(), "\r\x1b") {
		t.Error("plain progress wrote terminal control characters")
	}
}

func TestProgressTerminal(t *testing.T) {
	var out bytes.Buffer
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	p := &Progress{w: &out, tty: true, width: 30, start: start, now: func() time.Time { return now }}

	p.Update("waiting")
	now = now.Add(3 * time.Second)
	p.Update("waiting")
	if got, want := out.String(), clearLine+"waiting (0s)"+clearLine+"waiting (3s)"; got != want {
		t.Errorf("terminal progress wrote %q, want %q (redrawn in place with the elapsed time)", got, want)
	}

	out.Reset()
	p.Update(strings.Repeat("x", 100))
	line := strings.TrimPrefix(out.String(), clearLine)
	if n := len([]rune(line)); n >= 30 || !strings.HasSuffix(line, "…") {
		t.Errorf("long line %q (%d runes) not cut to the 30-column terminal", line, n)
	}

	out.Reset()
	p.Done("ready")
	if got, want := out.String(), clearLine+"ready\n"; got != want {
		t.Errorf("Done wrote %q, want %q", got, want)
	}
	out.Reset()
	p.Clear()
	if out.Len() != 0 {
		t.Errorf("Clear after Done wrote %q, want nothing", out.String())
	}
}

func TestPoll(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name     string
		steps    []string // a check's messages in turn; "ERR" fails, "DONE:x" finishes with x, "END:x" ends ctx
		wantLast string
		wantErr  error
		wantOut  string
	}{
		{name: "done on the third check", steps: []string{"0/1", "0/1", "DONE:1/1"},
			wantLast: "1/1", wantOut: "wait 0/1\n"},
		{name: "a failing check stops at once", steps: []string{"0/1", "ERR"},
			wantLast: "0/1", wantErr: boom, wantOut: "wait 0/1\n"},
		{name: "an ended context keeps the last message", steps: []string{"0/1", "END:1/2", "DONE:never"},
			wantLast: "1/2", wantErr: context.Canceled, wantOut: "wait 0/1\nwait 1/2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out bytes.Buffer
			i := 0
			last, err := Poll(ctx, NewProgress(&out), 10*time.Millisecond, "wait ", func(context.Context) (bool, string, error) {
				step := tt.steps[min(i, len(tt.steps)-1)]
				i++
				switch {
				case step == "ERR":
					return false, "", boom
				case strings.HasPrefix(step, "DONE:"):
					return true, strings.TrimPrefix(step, "DONE:"), nil
				case strings.HasPrefix(step, "END:"):
					cancel()
					return false, strings.TrimPrefix(step, "END:"), nil
				}
				return false, step, nil
			})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if last != tt.wantLast {
				t.Errorf("last = %q, want %q", last, tt.wantLast)
			}
			if out.String() != tt.wantOut {
				t.Errorf("progress output = %q, want %q", out.String(), tt.wantOut)
			}
		})
	}
}
