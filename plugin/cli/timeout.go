package cli

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrTimeout is the cause of a context that a command's --timeout ended.
var ErrTimeout = errors.New("timed out")

// WithTimeout returns ctx ended by timeout, with ErrTimeout as its cause.
func WithTimeout(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, timeout, ErrTimeout)
}

// WaitTimeout is the error of a wait for what that ctx ended: when --timeout
// ran out, it says so with fix; on Ctrl-C it says what was left.
func WaitTimeout(ctx context.Context, timeout time.Duration, what, fix string) error {
	if !errors.Is(context.Cause(ctx), ErrTimeout) {
		return fmt.Errorf("stopped waiting for %s: %w", what, ctx.Err())
	}
	return &Error{
		Problem: fmt.Sprintf("timed out after %s waiting for %s", timeout, what),
		Fix:     fix,
		Err:     context.Cause(ctx),
	}
}

// ValidateTimeout rejects a --timeout that cannot be waited for.
func ValidateTimeout(flag string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("--%s %s: must be positive", flag, d)
	}
	return nil
}
