package gitops

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/argolite/argolite/shared/agentmeta"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/appsource"
	"github.com/argolite/argolite/shared/diff"
	"github.com/argolite/argolite/shared/git"
)

// Reconciler reconciles Applications.
type Reconciler struct {
	Client    client.Client
	APIReader client.Reader
	Mapper    meta.RESTMapper
	Recorder  events.EventRecorder
	Git       *git.Cache
	Options   Options

	renders *renderCache
	memo    *compareMemo
	creds   credentialCache
	config  *configSource
	watcher *watcher
}

// operationPoll is how soon a running operation is looked at again when no
// watch event arrives first (hooks' Pods and Deployments report through watches).
const operationPoll = 5 * time.Second

func logFrom(ctx context.Context) logr.Logger { return ctrl.LoggerFrom(ctx) }

// Reconcile brings one Application's cluster state towards Git.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	start := time.Now()
	app := &argov1.Application{}
	if err := r.Client.Get(ctx, req.NamespacedName, app); err != nil {
		if apierrors.IsNotFound(err) {
			appInfo.DeletePartialMatch(map[string]string{"namespace": req.Namespace, "name": req.Name})
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if st := app.Status.OperationState; st != nil && st.Phase == argov1.OperationRunning {
		// A running sync resumes from its recorded steps: read them from the
		// API server, not from a cache that may not have seen the last patch
		// (a stale step would look for a hook that step already deleted).
		if err := r.APIReader.Get(ctx, req.NamespacedName, app); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}
	defer func() {
		appReconcileSeconds.WithLabelValues(app.Namespace, app.Name).Observe(time.Since(start).Seconds())
	}()

	if !app.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, app)
	}

	// Metadata first: the finalizer, a taken operation and a handled refresh
	// go in one patch of the object itself.
	orig := app.DeepCopy()
	op := app.Operation
	refresh, hard := refreshRequested(app)
	if app.Annotations[argov1.AnnotationCascade] != "false" {
		controllerutil.AddFinalizer(app, argov1.ResourcesFinalizer)
	}
	app.Operation = nil
	if refresh {
		delete(app.Annotations, argov1.Prefix+argov1.AnnotationRefresh)
		delete(app.Annotations, argov1.ArgoCDPrefix+argov1.AnnotationRefresh)
	}
	if op != nil || refresh || len(app.Finalizers) != len(orig.Finalizers) {
		if err := r.Client.Patch(ctx, app, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
			return ctrl.Result{}, fmt.Errorf("updating Application %s/%s: %w", app.Namespace, app.Name, err)
		}
	}
	if hard {
		r.renders.forget(app.UID)
		r.memo.forget(app.UID)
	}

	statusBase := app.DeepCopy()
	defer func() {
		app.Status.ObservedGeneration = app.Generation
		now := metav1.Now()
		app.Status.ReconciledAt = &now
		h, s := app.Status.Health.Status, app.Status.Sync.Status
		appInfo.DeletePartialMatch(map[string]string{"namespace": app.Namespace, "name": app.Name})
		appInfo.WithLabelValues(app.Namespace, app.Name, repoOf(app), string(s), string(h)).Set(1)
		// With the resourceVersion this reconcile read: a merge patch from a
		// cached copy older than the last write would leave out the fields
		// that copy happens to share with this result (a sync status that
		// went OutOfSync and back), keeping the server's stale values.
		err := r.Client.Status().Patch(ctx, app, client.MergeFromWithOptions(statusBase, client.MergeFromWithOptimisticLock{}))
		switch {
		case apierrors.IsConflict(err):
			// The cache had not seen the last write yet: look again.
			result = ctrl.Result{RequeueAfter: 100 * time.Millisecond}
		case err != nil && !apierrors.IsNotFound(err):
			retErr = errors.Join(retErr, fmt.Errorf("patching status of Application %s/%s: %w", app.Namespace, app.Name, err))
		}
	}()

	if err := validate(app); err != nil {
		if op != nil {
			// The requester is waiting for an operation state: say why none runs.
			now := metav1.Now()
			app.Status.OperationState = &argov1.OperationState{Operation: *op, Phase: argov1.OperationError,
				StartedAt: now, FinishedAt: &now, Message: err.Error()}
		}
		r.setReady(app, metav1.ConditionFalse, ReasonInvalidSpec, err.Error())
		r.event(app, corev1.EventTypeWarning, ReasonInvalidSpec, "validate", "%s", err.Error())
		app.Status.Sync.Status = argov1.SyncStatusUnknown
		return ctrl.Result{}, nil // a bad spec waits for an edit
	}
	if op != nil {
		if err := r.startOperation(ctx, app, op); err != nil {
			return r.stepFailed(ctx, app, err)
		}
	}
	if st := app.Status.OperationState; st != nil && st.Phase == argov1.OperationRunning {
		return r.continueOperation(ctx, app)
	}
	return r.reconcileState(ctx, app, true)
}

func repoOf(app *argov1.Application) string {
	if app.Spec.Source != nil {
		return app.Spec.Source.RepoURL
	}
	for _, s := range app.Spec.Sources {
		if !appsource.RefOnly(s) {
			return s.RepoURL
		}
	}
	return ""
}

// refreshRequested reads the refresh annotation (ours or Argo CD's).
func refreshRequested(app *argov1.Application) (refresh, hard bool) {
	v, ok := argov1.Annotation(app.Annotations, argov1.AnnotationRefresh)
	return ok, ok && strings.EqualFold(v, "hard")
}

// validate rejects specs the agent can never act on.
func validate(app *argov1.Application) error {
	d := app.Spec.Destination
	if d.Server != "" && strings.TrimSuffix(d.Server, "/") != argov1.InClusterServer {
		return fmt.Errorf("application %s/%s: spec.destination.server %q: argolite deploys only to the cluster its agent runs in; set it to %s (or leave it empty), and install the agent in that other cluster to deploy there (multi-cluster views arrive with the fleet roadmap item)",
			app.Namespace, app.Name, d.Server, argov1.InClusterServer)
	}
	if d.Name != "" && d.Name != "in-cluster" {
		return fmt.Errorf("application %s/%s: spec.destination.name %q: only in-cluster is supported; the agent deploys to its own cluster", app.Namespace, app.Name, d.Name)
	}
	if app.Spec.Source != nil && len(app.Spec.Sources) > 0 {
		return fmt.Errorf("application %s/%s: set spec.source or spec.sources, not both", app.Namespace, app.Name)
	}
	if app.Spec.Source == nil && len(app.Spec.Sources) == 0 {
		return fmt.Errorf("application %s/%s: spec.source is missing: name the Git repository, revision and path", app.Namespace, app.Name)
	}
	if sp := app.Spec.SyncPolicy; sp != nil {
		for name := range parseSyncOptions(sp.SyncOptions) {
			if !supportedSyncOptions[name] {
				return fmt.Errorf("application %s/%s: spec.syncPolicy.syncOptions: unknown option %q; supported: CreateNamespace, PruneLast, ApplyOutOfSyncOnly, Replace, ServerSideApply, RespectIgnoreDifferences, PrunePropagationPolicy, Validate; remove it or fix its spelling", app.Namespace, app.Name, name)
			}
		}
		if sp.Retry != nil && sp.Retry.Backoff != nil {
			for field, v := range map[string]string{"duration": sp.Retry.Backoff.Duration, "maxDuration": sp.Retry.Backoff.MaxDuration} {
				if _, err := parseDuration(v); v != "" && err != nil {
					return fmt.Errorf("application %s/%s: spec.syncPolicy.retry.backoff.%s %q: use a duration such as 5s or 3m", app.Namespace, app.Name, field, v)
				}
			}
		}
	}
	if _, err := diff.NewIgnorer(app.Spec.IgnoreDifferences); err != nil {
		return fmt.Errorf("application %s/%s: spec.%w", app.Namespace, app.Name, err)
	}
	return nil
}

// parseDuration accepts Argo CD's forms: a Go duration or a number of seconds.
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}

// options merges the spec's sync options with an operation's.
func options(app *argov1.Application, op *argov1.SyncOperation) syncOptions {
	var lists [][]string
	if app.Spec.SyncPolicy != nil {
		lists = append(lists, app.Spec.SyncPolicy.SyncOptions)
	}
	if op != nil {
		lists = append(lists, op.SyncOptions)
	}
	return parseSyncOptions(lists...)
}

// reconcileState compares Git with the cluster, starts an automated sync
// when the policy asks for one, and reports.
func (r *Reconciler) reconcileState(ctx context.Context, app *argov1.Application, mayAutoSync bool) (ctrl.Result, error) {
	d, err := r.loadDesired(ctx, app, nil, false)
	if err != nil {
		return r.stepFailed(ctx, app, err)
	}
	checker, cfgErr := r.config.health(ctx)
	ign, err := diff.NewIgnorer(app.Spec.IgnoreDifferences)
	if err != nil {
		return r.stepFailed(ctx, app, failed(ReasonInvalidSpec, err))
	}
	cmp, err := r.compare(ctx, app, d, ign, checker)
	if err != nil {
		return r.stepFailed(ctx, app, err)
	}
	wasSynced := app.Status.Sync.Status == argov1.SyncStatusSynced && app.Status.Sync.Revision == d.revision
	app.Status.Sync = argov1.SyncStatus{Status: cmp.sync, Revision: d.revision}
	app.Status.Health = cmp.health
	app.Status.Resources = cmp.resources
	if cmp.sync == argov1.SyncStatusOutOfSync && wasSynced {
		r.event(app, corev1.EventTypeNormal, "OutOfSync", "compare", "drift: %s", summarize(cmp))
	}

	if mayAutoSync {
		if op := r.autoSync(app, d, cmp); op != nil {
			// Never start a sync from a stale view: the cache may not have
			// seen the status of a sync that just started or finished.
			fresh := &argov1.Application{}
			if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(app), fresh); err != nil {
				return ctrl.Result{}, client.IgnoreNotFound(err)
			}
			if fresh.ResourceVersion != app.ResourceVersion {
				return ctrl.Result{RequeueAfter: 200 * time.Millisecond}, nil
			}
			if err := r.startOperation(ctx, app, op); err != nil {
				return r.stepFailed(ctx, app, err)
			}
			return r.continueOperation(ctx, app)
		}
	}

	msg := fmt.Sprintf("%s to %s (%s), %s", cmp.sync, orDefault(d.source.TargetRevision, "HEAD"), short(d.revision), cmp.health.Status)
	if cmp.sync == argov1.SyncStatusOutOfSync {
		msg += ": " + summarize(cmp)
	}
	if st := app.Status.OperationState; st != nil && st.Phase != argov1.OperationSucceeded && st.SyncResult != nil && st.SyncResult.Revision == d.revision {
		r.setReady(app, metav1.ConditionFalse, ReasonSyncFailed, fmt.Sprintf("last sync of %s failed: %s", short(d.revision), st.Message))
	} else {
		r.setReady(app, metav1.ConditionTrue, ReasonReconciled, msg)
	}
	if cfgErr != nil {
		r.setCondition(app, "ConfigError", metav1.ConditionTrue, "InvalidHealthRule", cfgErr.Error())
	} else {
		meta.RemoveStatusCondition(&app.Status.Conditions, "ConfigError")
	}
	return ctrl.Result{RequeueAfter: r.jitteredPoll()}, nil
}

func summarize(cmp *comparison) string {
	var parts []string
	parts = append(parts, cmp.drifted...)
	for _, o := range cmp.extraneous {
		parts = append(parts, appsource.Describe(o)+" requires pruning")
	}
	if len(parts) > 5 {
		parts = append(parts[:5], fmt.Sprintf("and %d more", len(parts)-5))
	}
	return strings.Join(parts, "; ")
}

func (r *Reconciler) jitteredPoll() time.Duration {
	p := r.Options.PollInterval
	if p <= 0 {
		p = 3 * time.Minute
	}
	return p + time.Duration(rand.Int64N(int64(p)/10+1))
}

// autoSync decides whether the automated policy starts a sync now: on a new
// revision once, and on drift of a synced revision when selfHeal is on.
func (r *Reconciler) autoSync(app *argov1.Application, d *desired, cmp *comparison) *argov1.Operation {
	sp := app.Spec.SyncPolicy
	if sp == nil || sp.Automated == nil || cmp.sync != argov1.SyncStatusOutOfSync {
		return nil
	}
	auto := sp.Automated
	if len(cmp.drifted) == 0 && !auto.Prune {
		return nil // only pruning is left, and automated prune is off
	}
	if len(d.objects) == 0 && !auto.AllowEmpty {
		r.setCondition(app, "SyncError", metav1.ConditionTrue, "EmptyRender",
			"Git renders no objects: automated sync would prune everything; set spec.syncPolicy.automated.allowEmpty to allow it")
		return nil
	}
	meta.RemoveStatusCondition(&app.Status.Conditions, "SyncError")
	if st := app.Status.OperationState; alreadyAttempted(st, d) {
		// Argo CD's rule: one automated attempt per revision and source,
		// whoever started the last one. Only selfHeal syncs it again, and
		// never after a failure (retry handles that).
		if !auto.SelfHeal || st.Phase != argov1.OperationSucceeded {
			return nil
		}
		r.event(app, corev1.EventTypeNormal, "SelfHeal", "sync", "re-applying drifted objects: %s", summarize(cmp))
	}
	return &argov1.Operation{
		Sync:        &argov1.SyncOperation{Revision: d.revision, Prune: auto.Prune},
		InitiatedBy: argov1.OperationInitiator{Automated: true},
	}
}

// alreadyAttempted reports whether the last operation st synced what d
// renders: the same revision and source, a full sync (not limited to some
// resources) that really applied (not a dry run).
func alreadyAttempted(st *argov1.OperationState, d *desired) bool {
	if st == nil || st.SyncResult == nil || st.SyncResult.Revision != d.revision {
		return false
	}
	if s := st.Operation.Sync; s != nil && (s.DryRun || len(s.Resources) > 0) {
		return false
	}
	return st.SyncResult.Source == nil || d.source == nil || equality.Semantic.DeepEqual(st.SyncResult.Source, d.source)
}

// startOperation begins a sync: it pins the revision and records it running.
func (r *Reconciler) startOperation(ctx context.Context, app *argov1.Application, op *argov1.Operation) error {
	if op.Sync == nil {
		op.Sync = &argov1.SyncOperation{}
	}
	d, err := r.loadDesired(ctx, app, op.Sync, false)
	if err != nil {
		now := metav1.Now()
		app.Status.OperationState = &argov1.OperationState{
			Operation: *op, Phase: argov1.OperationError, StartedAt: now, FinishedAt: &now,
			Message: err.Error(),
		}
		appSyncTotal.WithLabelValues(app.Namespace, app.Name, string(argov1.OperationError)).Inc()
		return err
	}
	op = op.DeepCopy()
	op.Sync.Revision = d.revision
	if op.Sync.Source == nil && app.Spec.Source != nil {
		// Pin the source too, so an edit of the spec mid-sync does not change
		// what this sync applies. Multiple sources keep their refs: only the
		// rendered source's revision is pinned.
		op.Sync.Source = d.source.DeepCopy()
	}
	app.Status.OperationState = &argov1.OperationState{
		Operation:  *op,
		Phase:      argov1.OperationRunning,
		StartedAt:  metav1.Now(),
		Message:    "starting",
		SyncResult: &argov1.SyncOperationResult{Revision: d.revision, Source: d.source.DeepCopy()},
	}
	who := "automated sync policy"
	if !op.InitiatedBy.Automated {
		who = orDefault(op.InitiatedBy.Username, "a user")
	}
	r.event(app, corev1.EventTypeNormal, "SyncStarted", "sync", "sync to %s started by %s", short(d.revision), who)
	return nil
}

// continueOperation runs the current operation as far as it goes, then
// compares again when it finished.
func (r *Reconciler) continueOperation(ctx context.Context, app *argov1.Application) (ctrl.Result, error) {
	st := app.Status.OperationState
	if due := retryDue(app, st); !due.IsZero() {
		if wait := time.Until(due); wait > 0 {
			return ctrl.Result{RequeueAfter: wait}, nil
		}
		st.FinishedAt = nil
	}
	sel := st.Operation.Sync
	d, err := r.loadDesired(ctx, app, sel, false)
	if err != nil {
		now := metav1.Now()
		st.Phase, st.Message, st.FinishedAt = argov1.OperationError, err.Error(), &now
		appSyncTotal.WithLabelValues(app.Namespace, app.Name, string(argov1.OperationError)).Inc()
		return r.stepFailed(ctx, app, err)
	}
	checker, _ := r.config.health(ctx)
	ign, err := diff.NewIgnorer(app.Spec.IgnoreDifferences)
	if err != nil {
		return r.stepFailed(ctx, app, failed(ReasonInvalidSpec, err))
	}
	oc := &opContext{
		app: app, state: st, d: d, options: options(app, sel), ign: ign, checker: checker,
		dryRun:  sel.DryRun,
		partial: len(sel.Resources) > 0,
		prune:   sel.Prune || (app.Spec.SyncPolicy != nil && app.Spec.SyncPolicy.Automated != nil && app.Spec.SyncPolicy.Automated.Prune),
	}
	if !st.Operation.InitiatedBy.Automated {
		oc.prune = sel.Prune
	}
	writer := r.Client
	if oc.dryRun {
		writer = client.NewDryRunClient(r.Client)
	}
	oc.rm = ssa.NewResourceManager(writer, polling.NewStatusPoller(r.Client, r.Mapper, polling.Options{}), ssa.Owner{Field: agentmeta.FieldManager, Group: "argolite.dev"})
	oc.rm.SetConcurrency(compareConcurrency)
	if st.CompletedSteps == 0 && len(st.SyncResult.Resources) == 0 && oc.options.on("CreateNamespace") && !oc.dryRun {
		if err := r.createNamespace(ctx, app); err != nil {
			return r.stepFailed(ctx, app, failed(ReasonSyncFailed, err))
		}
	}

	r.setReady(app, metav1.ConditionUnknown, ReasonSyncRunning, "sync to "+short(d.revision)+" running")
	if err := r.runOperation(ctx, oc); err != nil {
		if errors.Is(err, errWaiting) {
			if due := retryDue(app, st); !due.IsZero() {
				return ctrl.Result{RequeueAfter: time.Until(due)}, nil
			}
			return ctrl.Result{RequeueAfter: operationPoll}, nil
		}
		return r.stepFailed(ctx, app, err)
	}
	// The operation ended: report the state it left, without syncing again now.
	return r.reconcileState(ctx, app, false)
}

// createNamespace applies the destination namespace (CreateNamespace=true).
func (r *Reconciler) createNamespace(ctx context.Context, app *argov1.Application) error {
	ns := appsource.DestNamespace(app)
	obj := &unstructured.Unstructured{}
	obj.SetAPIVersion("v1")
	obj.SetKind("Namespace")
	obj.SetName(ns)
	if err := r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner(agentmeta.FieldManager)); err != nil {
		return fmt.Errorf("creating namespace %s (CreateNamespace=true): %w", ns, err)
	}
	return nil
}

// stepFailed reports a failed step on the Ready condition and as an Event.
// Git and cluster errors are retried with backoff; spec errors wait for an edit.
func (r *Reconciler) stepFailed(ctx context.Context, app *argov1.Application, err error) (ctrl.Result, error) {
	reason := ReasonGitFailed
	var se *stepError
	if errors.As(err, &se) {
		reason = se.reason
	}
	msg := err.Error()
	r.setReady(app, metav1.ConditionFalse, reason, msg)
	if app.Status.Sync.Status == "" {
		app.Status.Sync.Status = argov1.SyncStatusUnknown
	}
	r.event(app, corev1.EventTypeWarning, reason, "reconcile", "%s", msg)
	logFrom(ctx).Info("reconcile step failed", "reason", reason, "error", msg)
	switch reason {
	case ReasonInvalidSpec, ReasonRenderFailed, ReasonUnknownKind:
		// Fixed in Git or in the spec; a poll picks up the fix (a webhook sooner).
		return ctrl.Result{RequeueAfter: min(r.jitteredPoll(), time.Minute)}, nil
	default:
		return ctrl.Result{RequeueAfter: min(r.jitteredPoll(), 30*time.Second)}, nil
	}
}

func (r *Reconciler) setReady(app *argov1.Application, status metav1.ConditionStatus, reason, msg string) {
	r.setCondition(app, "Ready", status, reason, msg)
}

func (r *Reconciler) setCondition(app *argov1.Application, typ string, status metav1.ConditionStatus, reason, msg string) {
	if len(msg) > 32*1024 {
		msg = msg[:32*1024]
	}
	meta.SetStatusCondition(&app.Status.Conditions, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: app.Generation,
	})
}

// event records a Kubernetes Event on the Application.
func (r *Reconciler) event(app *argov1.Application, typ, reason, action, note string, args ...any) {
	if r.Recorder == nil {
		return
	}
	r.Recorder.Eventf(app, nil, typ, reason, action, note, args...)
}

// finalize deletes the application's objects (unless cascade is off) and
// then lets the Application go.
func (r *Reconciler) finalize(ctx context.Context, app *argov1.Application) (ctrl.Result, error) {
	defer func() {
		r.renders.forget(app.UID)
		r.memo.forget(app.UID)
	}()
	if !controllerutil.ContainsFinalizer(app, argov1.ResourcesFinalizer) {
		return ctrl.Result{}, nil
	}
	if app.Annotations[argov1.AnnotationCascade] != "false" && app.Status.Inventory != nil {
		var remaining []string
		for _, e := range app.Status.Inventory.Entries {
			o, err := appsource.InventoryObject(e)
			if err != nil {
				continue
			}
			live := &metav1.PartialObjectMetadata{}
			live.SetGroupVersionKind(o.GroupVersionKind())
			if err := r.Client.Get(ctx, client.ObjectKeyFromObject(o), live); err != nil {
				if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
					continue
				}
				return ctrl.Result{}, fmt.Errorf("reading %s: %w", appsource.Describe(o), err)
			}
			if live.Labels[argov1.LabelAppName] != app.Name || live.Labels[argov1.LabelAppNamespace] != app.Namespace {
				continue
			}
			// The options are the live object's: inventory entries carry none.
			if liveOptions(live).off("Delete") {
				continue
			}
			if live.DeletionTimestamp == nil {
				if err := r.Client.Delete(ctx, live, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil && !apierrors.IsNotFound(err) {
					return ctrl.Result{}, fmt.Errorf("deleting %s of Application %s/%s: %w", appsource.Describe(o), app.Namespace, app.Name, err)
				}
			}
			remaining = append(remaining, appsource.Describe(o))
		}
		if len(remaining) > 0 {
			logFrom(ctx).Info("waiting for the application's objects to be deleted", "remaining", len(remaining))
			return ctrl.Result{RequeueAfter: 2 * time.Second}, nil
		}
		r.event(app, corev1.EventTypeNormal, "Deleted", "delete", "deleted the application's objects")
	}
	orig := app.DeepCopy()
	controllerutil.RemoveFinalizer(app, argov1.ResourcesFinalizer)
	if err := r.Client.Patch(ctx, app, client.MergeFrom(orig)); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	appInfo.DeletePartialMatch(map[string]string{"namespace": app.Namespace, "name": app.Name})
	return ctrl.Result{}, nil
}
