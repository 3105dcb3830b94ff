package analysis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/agent/ctrlkit"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/rolloutstrict"
)

// kindRun labels the role's reconcile metrics.
const kindRun = "AnalysisRun"

// Reconciler runs AnalysisRuns.
type Reconciler struct {
	ctrlkit.Events
	Client client.Client
	// APIReader reads what the agent does not cache: Secrets, the raw run
	// for the strict check, the Pods of metric Jobs.
	APIReader client.Reader

	status    *ctrlkit.StatusWriter
	reconcile *ctrlkit.Metrics
	now       func() time.Time
	// providers makes the provider of a metric; tests replace it.
	providers func(m argov1.Metric) (provider, error)
}

func newReconciler(c client.Client, reader client.Reader, events ctrlkit.Events) *Reconciler {
	r := &Reconciler{Events: events, Client: c, APIReader: reader, status: ctrlkit.NewStatusWriter(c),
		reconcile: ctrlkit.RoleMetrics("rollout"), now: time.Now}
	r.providers = r.newProvider
	return r
}

func (r *Reconciler) newProvider(m argov1.Metric) (provider, error) {
	switch {
	case m.Provider.Prometheus != nil:
		return quick{run: prometheusQuery}, nil
	case m.Provider.Web != nil:
		return quick{run: webRequest}, nil
	case m.Provider.Job != nil:
		return jobProvider{client: r.Client, reader: r.APIReader}, nil
	}
	return nil, fmt.Errorf("metric %s: no provider: give %s", m.Name, rolloutstrict.SupportedProviders)
}

// Reconcile takes the measurements of one AnalysisRun that are due.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	start := time.Now()
	run := &argov1.AnalysisRun{}
	if err := r.Client.Get(ctx, req.NamespacedName, run); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if r.status.Stale(run) {
		return ctrlkit.StaleResult(), nil
	}
	defer func() { r.reconcile.Observe(kindRun, req.NamespacedName, start, retErr) }()
	if !run.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	if run.Status.Phase.Completed() {
		return r.afterCompletion(ctx, run)
	}
	base := run.DeepCopy()
	defer func() {
		res, err := r.status.Patch(ctx, base, run)
		switch {
		case err != nil:
			retErr = errors.Join(retErr, err)
		case !res.IsZero() && retErr == nil:
			result = res
		}
	}()
	next, err := r.operate(ctx, run, r.now())
	if err != nil || run.Status.Phase.Completed() {
		// The completed run is looked at again after the status write,
		// for its TTL.
		return ctrl.Result{RequeueAfter: ctrlkit.Requeue}, err
	}
	if next != nil {
		return ctrl.Result{RequeueAfter: max(next.Sub(r.now()), 0) + time.Millisecond}, nil
	}
	return ctrl.Result{}, nil
}

func (r *Reconciler) forget(key types.NamespacedName) {
	r.status.Forget(key)
	r.reconcile.Forget(kindRun, key)
}

// fail ends the run in Error with msg (a bad spec or arguments that cannot
// be resolved), as Argo does.
func (r *Reconciler) fail(run *argov1.AnalysisRun, msg string, now time.Time) {
	run.Status.Phase = argov1.AnalysisPhaseError
	run.Status.Message = msg
	t := metav1.NewTime(now)
	run.Status.CompletedAt = &t
	r.completed(run)
}

// completed records Argo's AnalysisRun<Phase> Event.
func (r *Reconciler) completed(run *argov1.AnalysisRun) {
	typ := corev1.EventTypeNormal
	if run.Status.Phase == argov1.AnalysisPhaseError || run.Status.Phase == argov1.AnalysisPhaseFailed {
		typ = corev1.EventTypeWarning
	}
	r.Event(run, typ, "AnalysisRun"+string(run.Status.Phase), "Analyze", "Analysis Completed. Result: %s", run.Status.Phase)
}

// operate is one pass of Argo's reconcileAnalysisRun over run: it returns
// when the run next has something to do. A spec error ends the run; an
// error returned is one to retry (a status write, a listing).
func (r *Reconciler) operate(ctx context.Context, run *argov1.AnalysisRun, now time.Time) (*time.Time, error) {
	log := ctrl.LoggerFrom(ctx)
	if run.Status.Phase == "" {
		if msg, err := r.checkStrict(ctx, run); err != nil {
			return nil, err
		} else if msg != "" {
			r.fail(run, "Analysis spec invalid: "+msg, now)
			return nil, nil
		}
	}
	metrics, _, err := resolveMetrics(ctx, nil, run.Namespace, run.Spec.Metrics, run.Spec.Args)
	if err != nil {
		r.fail(run, "Unable to resolve metric arguments: "+err.Error(), now)
		return nil, nil
	}
	if err := validateMetrics(metrics); err != nil {
		r.fail(run, "Analysis spec invalid: "+err.Error(), now)
		return nil, nil
	}
	dryRun, err := matchMetrics("spec.dryRun", dryRunNames(run.Spec.DryRun), metrics)
	if err != nil {
		r.fail(run, "Analysis spec invalid: "+err.Error(), now)
		return nil, nil
	}
	retention, err := matchMetrics("spec.measurementRetention", retentionNames(run.Spec.MeasurementRetention), metrics)
	if err != nil {
		r.fail(run, "Analysis spec invalid: "+err.Error(), now)
		return nil, nil
	}
	if run.Status.Phase == "" || run.Status.Phase == argov1.AnalysisPhasePending {
		run.Status.Phase = argov1.AnalysisPhaseRunning
		r.Event(run, corev1.EventTypeNormal, "AnalysisRunRunning", "Analyze", "Analysis started: %d metric(s)", len(metrics))
	}
	if run.Status.StartedAt == nil {
		t := metav1.NewTime(now)
		run.Status.StartedAt = &t
	}
	tasks := dueTasks(run, metrics, now)
	if len(tasks) > 0 {
		log.V(1).Info("taking measurements", "count", len(tasks))
		if err := r.measure(ctx, run, tasks, dryRun, now); err != nil {
			r.fail(run, "Unable to resolve metric arguments: "+err.Error(), now)
			return nil, nil
		}
	}
	phase, msg, events := assessRun(run, metrics, dryRun, now)
	for _, e := range events {
		typ := corev1.EventTypeNormal
		if e.phase == argov1.AnalysisPhaseError || e.phase == argov1.AnalysisPhaseFailed {
			typ = corev1.EventTypeWarning
		}
		r.Event(run, typ, "Metric"+string(e.phase), "Analyze", "Metric '%s' Completed. Result: %s", e.name, e.phase)
	}
	if phase != run.Status.Phase {
		run.Status.Phase, run.Status.Message = phase, msg
		if phase.Completed() {
			if run.Status.CompletedAt == nil {
				t := metav1.NewTime(now)
				run.Status.CompletedAt = &t
			}
			r.completed(run)
			log.Info("analysis completed", "phase", phase, "message", msg)
		}
	}
	r.trimMeasurements(ctx, run, metrics, retention)
	return nextReconcile(run, metrics, now), nil
}

func dryRunNames(l []argov1.DryRun) []string {
	out := make([]string, len(l))
	for i, d := range l {
		out[i] = d.MetricName
	}
	return out
}

func retentionNames(l []argov1.MeasurementRetention) []string {
	out := make([]string, len(l))
	for i, d := range l {
		out[i] = d.MetricName
	}
	return out
}

// checkStrict checks the run as stored (the CRD keeps fields the types do
// not know) and returns the faults as one message.
func (r *Reconciler) checkStrict(ctx context.Context, run *argov1.AnalysisRun) (string, error) {
	raw, err := ctrlkit.StoredSpec(ctx, r.APIReader, run, kindRun)
	if err != nil {
		return "", err
	}
	if faults := rolloutstrict.Analysis(raw, &argov1.AnalysisRun{}); len(faults) > 0 {
		return rolloutstrict.Text(faults), nil
	}
	return "", nil
}

// measure runs the tasks, in parallel as Argo does, and folds each
// measurement into its metric's result. Secrets are read for this pass
// only and redacted from every message.
func (r *Reconciler) measure(ctx context.Context, run *argov1.AnalysisRun, tasks []task, dryRun map[string]int, now time.Time) error {
	// The tasks hold the metrics resolved without secrets: resolve the
	// spec's again, with them.
	byName := map[string]argov1.Metric{}
	for _, m := range run.Spec.Metrics {
		byName[m.Name] = m
	}
	var specs []argov1.Metric
	for _, t := range tasks {
		specs = append(specs, byName[t.metric.Name])
	}
	resolved, secrets, err := resolveMetrics(ctx, r.APIReader, run.Namespace, specs, run.Spec.Args)
	if err != nil {
		return err
	}
	terminating := isTerminating(run)
	out := make([]argov1.Measurement, len(tasks))
	var wg sync.WaitGroup
	for i, t := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := resolved[i]
			p, err := r.providers(m)
			switch {
			case err != nil:
				ms := started(now)
				if t.incomplete != nil {
					ms = *t.incomplete
				}
				out[i] = markError(ms, err, now)
			case t.incomplete == nil:
				out[i] = p.Run(ctx, run, m, now)
			case terminating:
				out[i] = p.Terminate(ctx, run, m, *t.incomplete, now)
				if out[i].Phase == argov1.AnalysisPhaseSuccessful || out[i].Phase == argov1.AnalysisPhaseInconclusive {
					out[i].Message = "Metric Terminated"
				}
			default:
				out[i] = p.Resume(ctx, run, m, *t.incomplete, now)
			}
		}()
	}
	wg.Wait()
	log := ctrl.LoggerFrom(ctx)
	for i, t := range tasks {
		ms := out[i]
		ms.Message = redact(ms.Message, secrets)
		res := result(run, t.metric.Name)
		if res == nil {
			_, dry := dryRun[t.metric.Name]
			res = &argov1.MetricResult{Name: t.metric.Name, Phase: argov1.AnalysisPhaseRunning, DryRun: dry}
		}
		if ms.Phase.Completed() {
			if ms.FinishedAt == nil {
				f := metav1.NewTime(r.now())
				ms.FinishedAt = &f
			}
			countMeasurement(res, ms.Phase)
			log.V(1).Info("measurement completed", "metric", t.metric.Name, "phase", ms.Phase, "value", redact(ms.Value, secrets))
			if ms.Phase == argov1.AnalysisPhaseError {
				log.Info("measurement had an error", "metric", t.metric.Name, "message", ms.Message)
			}
		}
		ms.Value = redact(ms.Value, secrets)
		if t.incomplete == nil {
			res.Measurements = append(res.Measurements, ms)
		} else {
			res.Measurements[len(res.Measurements)-1] = ms
		}
		setResult(run, *res)
	}
	return nil
}

// trimMeasurements keeps the last measurements of each metric (10, or
// what measurementRetention says), and lets the provider drop what the
// older ones left (a job metric's Jobs).
func (r *Reconciler) trimMeasurements(ctx context.Context, run *argov1.AnalysisRun, metrics []argov1.Metric, retention map[string]int) {
	byName := map[string]argov1.Metric{}
	for _, m := range metrics {
		byName[m.Name] = m
	}
	for i := range run.Status.MetricResults {
		res := &run.Status.MetricResults[i]
		keep := DefaultMeasurementHistoryLimit
		if j, ok := retention[res.Name]; ok && run.Spec.MeasurementRetention[j].Limit > 0 {
			keep = int(run.Spec.MeasurementRetention[j].Limit)
		}
		if len(res.Measurements) <= keep {
			continue
		}
		m, ok := byName[res.Name]
		if !ok {
			continue
		}
		if p, err := r.providers(m); err == nil {
			if err := p.GarbageCollect(ctx, run, m, keep); err != nil {
				ctrl.LoggerFrom(ctx).Error(err, "garbage collecting measurements", "metric", m.Name)
			}
		}
		res.Measurements = res.Measurements[len(res.Measurements)-keep:]
	}
}

// afterCompletion applies the ttlStrategy of a completed run.
func (r *Reconciler) afterCompletion(ctx context.Context, run *argov1.AnalysisRun) (ctrl.Result, error) {
	left, ok := ttlLeft(run, r.now())
	if !ok {
		return ctrl.Result{}, nil
	}
	if left > 0 {
		return ctrl.Result{RequeueAfter: left}, nil
	}
	if err := r.Client.Delete(ctx, run); client.IgnoreNotFound(err) != nil {
		return ctrl.Result{}, fmt.Errorf("deleting AnalysisRun %s/%s after its ttlStrategy: %w", run.Namespace, run.Name, err)
	}
	ctrl.LoggerFrom(ctx).Info("analysis run deleted by its ttlStrategy")
	return ctrl.Result{}, nil
}
