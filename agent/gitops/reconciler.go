package gitops

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
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
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/argolite/argolite/agent/config"
	"github.com/argolite/argolite/agent/ctrlkit"
	"github.com/argolite/argolite/shared/agentmeta"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/appsource"
	"github.com/argolite/argolite/shared/diff"
	"github.com/argolite/argolite/shared/duration"
	"github.com/argolite/argolite/shared/git"
	"github.com/argolite/argolite/shared/health"
)

// Reconciler reconciles Applications.
type Reconciler struct {
	ctrlkit.Events
	Client    client.Client
	APIReader client.Reader
	Mapper    meta.RESTMapper
	Git       *git.Cache
	Options   Options

	status  *ctrlkit.StatusWriter
	metrics *ctrlkit.Metrics
	health  *config.Parsed[*health.Checker]
	renders *renderCache
	memo    *compareMemo
	creds   credentialCache
	watcher *watcher
}

// kind labels the role's metrics.
const kind = "Application"

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
			r.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	// A cached copy older than our last status write would resume a sync
	// from steps it already finished (a hook it already deleted) or start
	// one that already ran.
	if r.status.Stale(app) {
		return ctrlkit.StaleResult(), nil
	}
	defer func() { r.metrics.Observe(kind, req.NamespacedName, start, retErr) }()

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
		res, err := r.status.Patch(ctx, statusBase, app)
		if err != nil {
			retErr = errors.Join(retErr, err)
		} else if !res.IsZero() {
			result = res
		}
	}()

	if err := validate(app); err != nil {
		if op != nil {
			// The requester is waiting for an operation state: say why none runs.
			now := metav1.Now()
			app.Status.OperationState = &argov1.OperationState{Operation: *op, Phase: argov1.OperationError,
				StartedAt: now, FinishedAt: &now, Message: err.Error()}
		}
		conditions(app).Failed(argov1.ReasonInvalidSpec, err.Error(), true)
		r.Event(app, corev1.EventTypeWarning, argov1.ReasonInvalidSpec, "validate", "%s", err.Error())
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
				return fmt.Errorf("application %s/%s: spec.syncPolicy.syncOptions: unknown option %q; supported: %s; remove it or fix its spelling", app.Namespace, app.Name, name, strings.Join(slices.Sorted(maps.Keys(supportedSyncOptions)), ", "))
			}
		}
		if sp.Retry != nil && sp.Retry.Backoff != nil {
			for field, v := range map[string]string{"duration": sp.Retry.Backoff.Duration, "maxDuration": sp.Retry.Backoff.MaxDuration} {
				if _, err := duration.Parse(v); err != nil {
					return fmt.Errorf("application %s/%s: spec.syncPolicy.retry.backoff.%s: %w", app.Namespace, app.Name, field, err)
				}
			}
		}
	}
	if _, err := diff.NewIgnorer(app.Spec.IgnoreDifferences); err != nil {
		return fmt.Errorf("application %s/%s: spec.%w", app.Namespace, app.Name, err)
	}
	return nil
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
	d, err := r.loadDesired(ctx, app, nil)
	if err != nil {
		return r.stepFailed(ctx, app, err)
	}
	checker, cfgErr := r.health.Get(ctx)
	ign, err := diff.NewIgnorer(app.Spec.IgnoreDifferences)
	if err != nil {
		return r.stepFailed(ctx, app, failed(argov1.ReasonInvalidSpec, err))
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
		r.Event(app, corev1.EventTypeNormal, "OutOfSync", "compare", "drift: %s", summarize(cmp))
	}

	if mayAutoSync {
		if op := r.autoSync(app, d, cmp); op != nil {
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
		// Stalled until a new revision or a sync by hand: retries are over.
		conditions(app).Failed(argov1.ReasonSyncFailed, fmt.Sprintf("last sync of %s failed: %s", short(d.revision), st.Message), true)
	} else {
		conditions(app).Ready(argov1.ReasonReconciled, msg)
	}
	if cfgErr != nil {
		conditions(app).Set(argov1.ConditionConfigError, metav1.ConditionTrue, argov1.ReasonInvalidHealthRule, cfgErr.Error())
	} else {
		conditions(app).Remove(argov1.ConditionConfigError)
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
		conditions(app).Set(argov1.ConditionSyncError, metav1.ConditionTrue, argov1.ReasonEmptyRender,
			"Git renders no objects: automated sync would prune everything; set spec.syncPolicy.automated.allowEmpty to allow it")
		return nil
	}
	conditions(app).Remove(argov1.ConditionSyncError)
	if st := app.Status.OperationState; alreadyAttempted(st, d) {
		// Argo CD's rule: one automated attempt per revision and source,
		// whoever started the last one. Only selfHeal syncs it again, and
		// never after a failure (retry handles that).
		if !auto.SelfHeal || st.Phase != argov1.OperationSucceeded {
			return nil
		}
		r.Event(app, corev1.EventTypeNormal, "SelfHeal", "sync", "re-applying drifted objects: %s", summarize(cmp))
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
	d, err := r.loadDesired(ctx, app, op.Sync)
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
	r.Event(app, corev1.EventTypeNormal, "SyncStarted", "sync", "sync to %s started by %s", short(d.revision), who)
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
	d, err := r.loadDesired(ctx, app, sel)
	if err != nil {
		now := metav1.Now()
		st.Phase, st.Message, st.FinishedAt = argov1.OperationError, err.Error(), &now
		appSyncTotal.WithLabelValues(app.Namespace, app.Name, string(argov1.OperationError)).Inc()
		return r.stepFailed(ctx, app, err)
	}
	checker, _ := r.health.Get(ctx)
	ign, err := diff.NewIgnorer(app.Spec.IgnoreDifferences)
	if err != nil {
		return r.stepFailed(ctx, app, failed(argov1.ReasonInvalidSpec, err))
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
			return r.stepFailed(ctx, app, failed(argov1.ReasonSyncFailed, err))
		}
	}

	conditions(app).Progressing(argov1.ReasonProgressing, "sync to "+short(d.revision)+" running")
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
	reason := argov1.ReasonGitFailed
	var se *stepError
	if errors.As(err, &se) {
		reason = se.reason
	}
	msg := err.Error()
	// Fixed in Git or in the spec: Stalled until then; a poll picks up the
	// fix (a webhook sooner). Git and cluster errors are retried sooner.
	terminal := reason == argov1.ReasonInvalidSpec || reason == argov1.ReasonRenderFailed || reason == argov1.ReasonUnknownKind
	conditions(app).Failed(reason, msg, terminal)
	if app.Status.Sync.Status == "" {
		app.Status.Sync.Status = argov1.SyncStatusUnknown
	}
	r.Event(app, corev1.EventTypeWarning, reason, "reconcile", "%s", msg)
	logFrom(ctx).Info("reconcile step failed", "reason", reason, "error", msg)
	if terminal {
		return ctrl.Result{RequeueAfter: min(r.jitteredPoll(), time.Minute)}, nil
	}
	return ctrl.Result{RequeueAfter: min(r.jitteredPoll(), 30*time.Second)}, nil
}

// conditions sets the Application's conditions at its generation.
func conditions(app *argov1.Application) ctrlkit.Conditions {
	return ctrlkit.Conditions{List: &app.Status.Conditions, Generation: app.Generation}
}

// forget drops what the agent keeps of a deleted Application: its metric
// series and its last status write.
func (r *Reconciler) forget(key types.NamespacedName) {
	appInfo.DeletePartialMatch(map[string]string{"namespace": key.Namespace, "name": key.Name})
	appSyncTotal.DeletePartialMatch(map[string]string{"namespace": key.Namespace, "name": key.Name})
	r.metrics.Forget(kind, key)
	r.status.Forget(key)
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
		r.Event(app, corev1.EventTypeNormal, "Deleted", "delete", "deleted the application's objects")
	}
	orig := app.DeepCopy()
	controllerutil.RemoveFinalizer(app, argov1.ResourcesFinalizer)
	if err := r.Client.Patch(ctx, app, client.MergeFrom(orig)); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	r.forget(client.ObjectKeyFromObject(app))
	return ctrl.Result{}, nil
}
