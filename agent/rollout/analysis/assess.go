package analysis

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

const (
	// DefaultMeasurementHistoryLimit is how many measurements per metric
	// the status keeps unless measurementRetention says otherwise.
	DefaultMeasurementHistoryLimit = 10
	// DefaultErrorRetryInterval is the wait before a measurement that
	// ended in Error is taken again.
	DefaultErrorRetryInterval = 10 * time.Second
	// DefaultConsecutiveErrorLimit is how many errors in a row a metric
	// tolerates when consecutiveErrorLimit is unset.
	DefaultConsecutiveErrorLimit = 4
)

// analysisStatusOrder orders the completed phases from best to worst.
var analysisStatusOrder = []argov1.AnalysisPhase{
	argov1.AnalysisPhasePending, argov1.AnalysisPhaseRunning, argov1.AnalysisPhaseSuccessful,
	argov1.AnalysisPhaseInconclusive, argov1.AnalysisPhaseError, argov1.AnalysisPhaseFailed,
}

// isWorse reports whether next is a worse phase than current.
func isWorse(current, next argov1.AnalysisPhase) bool {
	ci, ni := 0, 0
	for i, p := range analysisStatusOrder {
		if p == current {
			ci = i
		}
		if p == next {
			ni = i
		}
	}
	return ni > ci
}

func result(run *argov1.AnalysisRun, name string) *argov1.MetricResult {
	for i := range run.Status.MetricResults {
		if run.Status.MetricResults[i].Name == name {
			return &run.Status.MetricResults[i]
		}
	}
	return nil
}

func setResult(run *argov1.AnalysisRun, r argov1.MetricResult) {
	if cur := result(run, r.Name); cur != nil {
		*cur = r
		return
	}
	run.Status.MetricResults = append(run.Status.MetricResults, r)
}

func lastMeasurement(run *argov1.AnalysisRun, name string) *argov1.Measurement {
	if r := result(run, name); r != nil && len(r.Measurements) > 0 {
		return &r.Measurements[len(r.Measurements)-1]
	}
	return nil
}

func metricCompleted(run *argov1.AnalysisRun, name string) bool {
	r := result(run, name)
	return r != nil && r.Phase.Completed()
}

// isTerminating reports whether the run stops taking measurements: asked
// to, or a metric that counts ended Failed, Error or Inconclusive.
func isTerminating(run *argov1.AnalysisRun) bool {
	if run.Spec.Terminate {
		return true
	}
	for _, r := range run.Status.MetricResults {
		if r.DryRun {
			continue
		}
		switch r.Phase {
		case argov1.AnalysisPhaseFailed, argov1.AnalysisPhaseError, argov1.AnalysisPhaseInconclusive:
			return true
		}
	}
	return false
}

// matchMetrics maps the metric names a list of rules (regular expressions)
// match; a rule that matches none is an error, as in Argo.
func matchMetrics(field string, rules []string, metrics []argov1.Metric) (map[string]int, error) {
	out := map[string]int{}
	for i, rule := range rules {
		re, err := regexp.Compile(rule)
		if err != nil {
			return nil, fmt.Errorf("%s[%d].metricName %q: %w", field, i, rule, err)
		}
		n := 0
		for _, m := range metrics {
			if re.MatchString(m.Name) {
				out[m.Name] = i
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("%s[%d]: rule %q didn't match any metric name(s)", field, i, rule)
		}
	}
	return out, nil
}

// task is a measurement to take (incomplete nil) or to finish.
type task struct {
	metric     argov1.Metric
	incomplete *argov1.Measurement
}

// dueTasks lists the measurements to take or resume now, from status
// alone, as Argo's generateMetricTasks: a metric is measured again when its
// last measurement finished at least one interval ago (10s after an
// error), first after initialDelay from status.startedAt. A measurement in
// flight is resumed (or, terminating, terminated).
func dueTasks(run *argov1.AnalysisRun, metrics []argov1.Metric, now time.Time) []task {
	var tasks []task
	terminating := isTerminating(run)
	for _, m := range metrics {
		if metricCompleted(run, m.Name) {
			continue
		}
		last := lastMeasurement(run, m.Name)
		if last != nil && last.FinishedAt == nil {
			// In flight (a Job): looked at on every pass, since a Job's
			// change wakes the run; the provider keeps its resumeAt.
			tasks = append(tasks, task{metric: m, incomplete: last})
			continue
		}
		if terminating {
			continue
		}
		if last == nil {
			if m.InitialDelay != "" {
				d, err := m.InitialDelay.Duration()
				if err != nil || run.Status.StartedAt == nil || run.Status.StartedAt.Add(d).After(now) {
					continue
				}
			}
			tasks = append(tasks, task{metric: m})
			continue
		}
		if c := m.EffectiveCount(); c != nil && result(run, m.Name).Count >= int32(c.IntValue()) { //nolint:gosec // a count fits
			continue
		}
		interval, ok := nextInterval(m, last)
		if !ok {
			continue
		}
		if !now.Before(last.FinishedAt.Add(interval)) {
			tasks = append(tasks, task{metric: m})
		}
	}
	return tasks
}

// nextInterval is the wait after last before the next measurement.
func nextInterval(m argov1.Metric, last *argov1.Measurement) (time.Duration, bool) {
	if last.Phase == argov1.AnalysisPhaseError {
		return DefaultErrorRetryInterval, true
	}
	if m.Interval == "" {
		return 0, false
	}
	d, err := m.Interval.Duration()
	return d, err == nil
}

// nextReconcile is when the run next has something to do, as Argo's
// calculateNextReconcileTime; nil when only an event can move it on.
func nextReconcile(run *argov1.AnalysisRun, metrics []argov1.Metric, now time.Time) *time.Time {
	var next *time.Time
	earliest := func(t time.Time) {
		if next == nil || t.Before(*next) {
			next = &t
		}
	}
	for _, m := range metrics {
		if metricCompleted(run, m.Name) {
			continue
		}
		last := lastMeasurement(run, m.Name)
		if last == nil {
			if m.InitialDelay != "" {
				start := now
				if run.Status.StartedAt != nil {
					start = run.Status.StartedAt.Time
				}
				if d, err := m.InitialDelay.Duration(); err == nil {
					earliest(start.Add(d))
				}
			}
			continue
		}
		if last.FinishedAt == nil {
			if last.ResumeAt != nil {
				earliest(last.ResumeAt.Time)
			}
			continue
		}
		if c := m.EffectiveCount(); c != nil && result(run, m.Name).Count >= int32(c.IntValue()) { //nolint:gosec // a count fits
			continue
		}
		if d, ok := nextInterval(m, last); ok {
			earliest(last.FinishedAt.Add(d))
		}
	}
	return next
}

// countMeasurement folds a completed measurement into the metric's counters.
func countMeasurement(r *argov1.MetricResult, phase argov1.AnalysisPhase) {
	switch phase {
	case argov1.AnalysisPhaseSuccessful:
		r.Successful++
		r.Count++
		r.ConsecutiveError = 0
		r.ConsecutiveSuccess++
	case argov1.AnalysisPhaseFailed:
		r.Failed++
		r.Count++
		r.ConsecutiveError = 0
		r.ConsecutiveSuccess = 0
	case argov1.AnalysisPhaseInconclusive:
		r.Inconclusive++
		r.Count++
		r.ConsecutiveError = 0
		r.ConsecutiveSuccess = 0
	case argov1.AnalysisPhaseError:
		r.Error++
		r.ConsecutiveError++
		r.ConsecutiveSuccess = 0
	}
}

func limit(v *intstr.IntOrString, def int32) int32 {
	if v == nil {
		return def
	}
	return int32(v.IntValue()) //nolint:gosec // limits are small
}

// metricFailure says whether the metric's counters broke a limit:
// failureLimit (Failed), inconclusiveLimit (Inconclusive) or
// consecutiveErrorLimit (Error), the last that applies winning, as in Argo.
func metricFailure(m argov1.Metric, r argov1.MetricResult) (argov1.AnalysisPhase, string) {
	var phase argov1.AnalysisPhase
	var msg string
	if fl := limit(m.FailureLimit, 0); fl >= 0 && r.Failed > fl {
		phase, msg = argov1.AnalysisPhaseFailed, fmt.Sprintf("failed (%d) > failureLimit (%d)", r.Failed, fl)
	}
	if il := limit(m.InconclusiveLimit, 0); r.Inconclusive > il {
		phase, msg = argov1.AnalysisPhaseInconclusive, fmt.Sprintf("inconclusive (%d) > inconclusiveLimit (%d)", r.Inconclusive, il)
	}
	if el := limit(m.ConsecutiveErrorLimit, DefaultConsecutiveErrorLimit); r.ConsecutiveError > el {
		phase, msg = argov1.AnalysisPhaseError, fmt.Sprintf("consecutiveErrors (%d) > consecutiveErrorLimit (%d)", r.ConsecutiveError, el)
	}
	return phase, msg
}

// metricPhase is the phase of one metric, as Argo's assessMetricStatus.
func metricPhase(m argov1.Metric, r argov1.MetricResult, terminating bool) argov1.AnalysisPhase {
	if r.Phase.Completed() {
		return r.Phase
	}
	if len(r.Measurements) == 0 {
		if terminating {
			return argov1.AnalysisPhaseSuccessful
		}
		return argov1.AnalysisPhasePending
	}
	if !r.Measurements[len(r.Measurements)-1].Phase.Completed() {
		return argov1.AnalysisPhaseRunning
	}
	if phase, _ := metricFailure(m, r); phase != "" {
		return phase
	}
	successLimit := limit(m.ConsecutiveSuccessLimit, 0)
	if successLimit > 0 && r.ConsecutiveSuccess >= successLimit {
		return argov1.AnalysisPhaseSuccessful
	}
	if c := m.EffectiveCount(); c != nil && r.Count >= int32(c.IntValue()) { //nolint:gosec // a count fits
		failureApplicable := limit(m.FailureLimit, 0) >= 0
		switch {
		case failureApplicable && successLimit > 0:
			return argov1.AnalysisPhaseInconclusive
		case successLimit > 0:
			return argov1.AnalysisPhaseFailed
		}
		return argov1.AnalysisPhaseSuccessful
	}
	if terminating {
		return argov1.AnalysisPhaseSuccessful
	}
	return argov1.AnalysisPhaseRunning
}

// metricEvent is a metric that reached a final phase in this reconcile.
type metricEvent struct {
	name  string
	phase argov1.AnalysisPhase
}

// assessRun sets every metric's phase and the summaries, and returns the
// run's phase and message, as Argo's assessRunStatus: Running until every
// metric completed, then the worst phase of the metrics that count;
// terminating ends it with what it has (Successful when nothing counts).
func assessRun(run *argov1.AnalysisRun, metrics []argov1.Metric, dryRun map[string]int, now time.Time) (argov1.AnalysisPhase, string, []metricEvent) {
	var worst argov1.AnalysisPhase
	var worstMsg string
	var events []metricEvent
	terminating := isTerminating(run)
	done := true
	if run.Status.StartedAt == nil {
		t := metav1.NewTime(now)
		run.Status.StartedAt = &t
	}
	if run.Spec.Terminate {
		worstMsg = "Run Terminated"
	}
	var summary, drySummary argov1.RunSummary
	for _, m := range metrics {
		_, isDry := dryRun[m.Name]
		sum := &summary
		if isDry {
			sum = &drySummary
		}
		sum.Count++
		r := result(run, m.Name)
		if r == nil {
			done = false
			continue
		}
		phase := metricPhase(m, *r, terminating)
		if r.Phase != phase {
			if phase.Completed() {
				events = append(events, metricEvent{name: m.Name, phase: phase})
			}
			if last := lastMeasurement(run, m.Name); last != nil {
				r.Message = last.Message
			}
			r.Phase = phase
		}
		if !phase.Completed() {
			done = false
			continue
		}
		failPhase, msg := metricFailure(m, *r)
		if isDry {
			if worst == "" {
				worst = argov1.AnalysisPhaseSuccessful
			}
			if msg != "" {
				r.Message = fmt.Sprintf("Metric assessed %s due to %s", phase, msg)
			}
		} else if worst == "" || isWorse(worst, phase) {
			worst = phase
			if msg != "" {
				worstMsg = fmt.Sprintf("Metric %q assessed %s due to %s", m.Name, phase, msg)
				if r.Message != "" {
					worstMsg += fmt.Sprintf(": \"Error Message: %s\"", r.Message)
				}
			}
		}
		switch failPhase {
		case argov1.AnalysisPhaseError:
			sum.Error++
		case argov1.AnalysisPhaseFailed:
			sum.Failed++
		case argov1.AnalysisPhaseInconclusive:
			sum.Inconclusive++
		default:
			sum.Successful++
		}
	}
	run.Status.RunSummary = summary
	run.Status.DryRunSummary = &drySummary
	worstMsg = strings.TrimSpace(worstMsg)
	if terminating {
		if worst == "" {
			return argov1.AnalysisPhaseSuccessful, worstMsg, events
		}
		return worst, worstMsg, events
	}
	if !done || worst == "" {
		return argov1.AnalysisPhaseRunning, "", events
	}
	return worst, worstMsg, events
}

// ttlLeft is how long a completed run has before its ttlStrategy deletes
// it; ok is false when it is kept.
func ttlLeft(run *argov1.AnalysisRun, now time.Time) (time.Duration, bool) {
	ttl := run.Spec.TTLStrategy
	if !run.Status.Phase.Completed() || ttl == nil || run.Status.CompletedAt == nil {
		return 0, false
	}
	secs := ttl.SecondsAfterCompletion
	switch {
	case run.Status.Phase == argov1.AnalysisPhaseSuccessful && ttl.SecondsAfterSuccess != nil:
		secs = ttl.SecondsAfterSuccess
	case run.Status.Phase == argov1.AnalysisPhaseFailed && ttl.SecondsAfterFailure != nil:
		secs = ttl.SecondsAfterFailure
	}
	if secs == nil {
		return 0, false
	}
	return run.Status.CompletedAt.Add(time.Duration(*secs) * time.Second).Sub(now), true
}
