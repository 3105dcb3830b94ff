package cli

import (
	"context"
	"io"
	"strings"
	"time"
)

// WaitAll reads each of names with get every interval until pending says
// that every one is done, with a progress line on out: "Waiting for a:
// <pending>; b: <pending>". pending is what an object still lacks, "" once
// it is done; a done object is not read again.
//
// It returns the last object read of each name (of those read at least
// once, for the caller's final lines or timeout error) and get's error, or
// ctx's when ctx ends first.
func WaitAll[T any](ctx context.Context, out io.Writer, interval time.Duration, names []string,
	get func(ctx context.Context, name string) (T, error), pending func(T) string) (map[string]T, error) {
	last := make(map[string]T, len(names))
	progress := NewProgress(out)
	_, err := Poll(ctx, progress, interval, "", func(ctx context.Context) (bool, string, error) {
		var msgs []string
		for _, name := range names {
			if prev, ok := last[name]; ok && pending(prev) == "" {
				continue
			}
			obj, err := get(ctx, name)
			if err != nil {
				return false, "", err
			}
			last[name] = obj
			if p := pending(obj); p != "" {
				msgs = append(msgs, name+": "+p)
			}
		}
		return len(msgs) == 0, "Waiting for " + strings.Join(msgs, "; "), nil
	})
	if err == nil {
		progress.Clear()
	}
	return last, err
}
