package cli

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

func TestWaitAll(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		// states are what each read of a name returns in turn, the last
		// again and again; "ERR" fails the read.
		states   map[string][]string
		wantLast map[string]string
		wantErr  error
		wantOut  string
		// wantReads is how often each name was read.
		wantReads map[string]int
	}{
		{name: "until every one is done", states: map[string][]string{"a": {"1/2", "done"}, "b": {"0/1", "0/1", "done"}},
			wantLast: map[string]string{"a": "done", "b": "done"}, wantReads: map[string]int{"a": 2, "b": 3},
			wantOut: "Waiting for a: 1/2; b: 0/1\nWaiting for b: 0/1\n"},
		{name: "a failed read stops the wait", states: map[string][]string{"a": {"1/2", "ERR"}, "b": {"0/1"}},
			wantLast: map[string]string{"a": "1/2", "b": "0/1"}, wantReads: map[string]int{"a": 2, "b": 1},
			wantErr: boom, wantOut: "Waiting for a: 1/2; b: 0/1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reads := map[string]int{}
			get := func(_ context.Context, name string) (string, error) {
				s := tt.states[name][min(reads[name], len(tt.states[name])-1)]
				reads[name]++
				if s == "ERR" {
					return "", boom
				}
				return s, nil
			}
			pending := func(s string) string {
				if s == "done" {
					return ""
				}
				return s
			}
			var out bytes.Buffer
			last, err := WaitAll(context.Background(), &out, time.Millisecond, []string{"a", "b"}, get, pending)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			for name, want := range tt.wantLast {
				if last[name] != want {
					t.Errorf("last[%s] = %q, want %q", name, last[name], want)
				}
			}
			for name, want := range tt.wantReads {
				if reads[name] != want {
					t.Errorf("%s read %d times, want %d", name, reads[name], want)
				}
			}
			if out.String() != tt.wantOut {
				t.Errorf("progress = %q, want %q", out.String(), tt.wantOut)
			}
		})
	}
}
