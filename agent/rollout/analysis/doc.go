// Package analysis owns the analysis part of the rollout role: it runs
// AnalysisRuns (Argo Rollouts' kind, in argolite.dev) as Argo's
// analysis controller does, and builds them from AnalysisTemplates and
// ClusterAnalysisTemplates for the Rollout reconciler (NewRunFromTemplates).
//
// A reconcile of a run takes the measurements that are due, one per metric
// (prometheus: an instant query of the HTTP API; web: an HTTP request and a
// JSONPath; job: a Job owned by the run), judges each with the metric's
// successCondition and failureCondition (expr-lang with Argo's env: result,
// asInt, asFloat, isNaN, isInf, isNil, default), folds the outcome into
// status.metricResults with Argo's limits (failureLimit, inconclusiveLimit,
// consecutiveErrorLimit, consecutiveSuccessLimit, count) and derives the
// run's phase with Argo's rules (the worst completed metric, dry-run metrics
// not counting). Whether a measurement is due is decided from the last
// measurement in status alone (its finishedAt plus the interval, or the
// initialDelay from status.startedAt), so an agent that restarts takes no
// measurement twice for one interval; the reconcile asks to be woken exactly
// when the next one is due, and Job changes wake it through a watch.
//
// Specs are checked strictly against the raw object: fields argolite does not
// support (the providers other than prometheus, web and job, Prometheus
// authentication, ...) are rejected by name and the run ends in Error.
package analysis
