// Package duration owns how argolite reads the durations Argo's specs hold:
// a Go duration (30s, 5m, 1h30m) or a plain number of seconds, as Argo CD's
// retry backoff and Argo Workflows' retryStrategy, suspend and timeouts take
// them. Both binaries use it, so the plugin's lint and the agent agree.
package duration

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Parse reads a Go duration or a whole number of seconds. Empty is zero.
func Parse(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration: write it like 30s, 5m or 1h30m, or as a number of seconds", s)
	}
	return d, nil
}
