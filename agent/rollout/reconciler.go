package rollout

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/agent/ctrlkit"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// Reconciler moves Rollouts to their current template.
type Reconciler struct {
	ctrlkit.Events
	Client    client.Client
	APIReader client.Reader

	status    *ctrlkit.StatusWriter
	reconcile *ctrlkit.Metrics
	now       func() time.Time
}

// kindRollout labels the role's reconcile metrics.
const kindRollout = "Rollout"

func newReconciler(c client.Client, reader client.Reader, events ctrlkit.Events) *Reconciler {
	return &Reconciler{
		Events:    events,
		Client:    c,
		APIReader: reader,
		status:    ctrlkit.NewStatusWriter(c),
		reconcile: ctrlkit.RoleMetrics("rollout"),
		now:       time.Now,
	}
}

// cycle is one reconcile of one Rollout.
type cycle struct {
	r   *Reconciler
	ctx context.Context
	log logr.Logger
	ro  *argov1.Rollout
	now time.Time
	// requeue is the soonest time-based wake-up a step asked for (a pause
	// duration, a scale-down delay, the progress deadline).
	requeue time.Duration
	// retried: the user cleared an abort (rollout retry); the update starts
	// over with new AnalysisRuns.
	retried bool
	// workload is the Deployment a workloadRef names, read this cycle.
	workload *appsv1.Deployment
	// extraWeights are the routes' destinations besides stable and canary:
	// the templates of a running experiment step.
	extraWeights []argov1.WeightDestination
	// experimentOutcome is how the current experiment step's Experiment
	// judged the canary.
	experimentOutcome analysisOutcome
}

func (c *cycle) event(typ, reason, format string, args ...any) {
	c.r.Event(c.ro, typ, reason, "Rollout", format, args...)
}

func (c *cycle) wakeIn(d time.Duration) {
	if d > 0 && (c.requeue == 0 || d < c.requeue) {
		c.requeue = d
	}
}

// specRecheck is how soon a Rollout whose spec names objects that are not
// right yet (a missing AnalysisTemplate or HTTPRoute) is looked at again.
const specRecheck = 30 * time.Second

// Reconcile runs one cycle of a Rollout and writes its status once.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	start := r.now()
	ro := &argov1.Rollout{}
	if err := r.Client.Get(ctx, req.NamespacedName, ro); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if r.status.Stale(ro) {
		return ctrlkit.StaleResult(), nil
	}
	defer func() { r.reconcile.Observe(kindRollout, req.NamespacedName, start, retErr) }()
	if !ro.DeletionTimestamp.IsZero() {
		// The ReplicaSets it owns go with it (garbage collection); a
		// Deployment it scaled down gets its replicas back.
		return ctrl.Result{}, r.finalizeWorkload(ctx, ro)
	}
	if err := r.ensureWorkloadFinalizer(ctx, ro); err != nil {
		return ctrl.Result{}, err
	}
	base := ro.DeepCopy()
	c := &cycle{r: r, ctx: ctx, log: ctrl.LoggerFrom(ctx), ro: ro, now: r.now().UTC()}
	runErr := c.run()
	if !apiequality.Semantic.DeepEqual(base.Status, ro.Status) {
		if res, err := r.status.Patch(ctx, base, ro); err != nil || !res.IsZero() {
			return res, errors.Join(runErr, err)
		}
	}
	if runErr != nil {
		return ctrl.Result{}, runErr
	}
	if c.requeue > 0 {
		return ctrl.Result{RequeueAfter: c.requeue}, nil
	}
	return ctrl.Result{}, nil
}

func (r *Reconciler) forget(key types.NamespacedName) {
	r.status.Forget(key)
	r.reconcile.Forget(kindRollout, key)
}

// run is the cycle's pipeline: validate, find the revisions, move the
// strategy on, then report.
func (c *cycle) run() error {
	ro := c.ro
	err := c.resolveWorkload()
	if err == nil {
		err = c.validate()
	}
	if err != nil {
		var spec *specError
		if errors.As(err, &spec) {
			c.invalid(spec.Error())
			return nil
		}
		return err
	}
	c.clearInvalid()
	template := ro.Spec.Template
	rss, err := c.ownedReplicaSets()
	if err != nil {
		return err
	}
	newRS := findNewReplicaSet(rss, &template)
	if newRS == nil {
		if newRS, err = c.createReplicaSet(&template, rss); err != nil {
			c.setProgressing(corev1.ConditionFalse, "ReplicaSetCreateError", err.Error())
			return err
		}
		rss = append([]*appsv1.ReplicaSet{newRS}, rss...)
	}
	hash := newRS.Labels[LabelPodTemplateHash]
	stableRS := findByHash(rss, ro.Status.StableRS)
	if ro.Status.CurrentPodHash != hash {
		fast := rollbackWithinWindow(ro, newRS, stableRS, rss) || rollbackToWarm(ro, newRS, stableRS)
		c.startDuration(newRS, stableRS, fast) // before the revision bump: it compares revisions
		if err := c.bumpRevision(newRS, rss); err != nil {
			return err
		}
		c.newRevision(hash, newRS)
		if fast {
			// Back to a recent revision: no steps, no analysis, as Argo.
			c.log.Info("rollback within the rollback window: promoting at once", "revision", revisionOf(newRS))
			ro.Status.PromoteFull = true
		}
	}
	if err := c.syncAntiAffinity(newRS, rss); err != nil {
		return err
	}
	olds := others(rss, newRS, stableRS)
	switch {
	case ro.Status.Abort && ro.Status.AbortedAt == nil:
		ro.Status.AbortedAt = &metav1.Time{Time: c.now}
	case !ro.Status.Abort && ro.Status.AbortedAt != nil:
		c.retried = true
		c.restartDuration()
		ro.Status.AbortedAt = nil
		c.forgetRuns()
		c.setProgressing(corev1.ConditionTrue, "RolloutRetry", "Retrying Rollout after abort")
		c.event(corev1.EventTypeNormal, "RolloutRetry", "Retrying Rollout after abort")
	}
	fast := ro.Status.PromoteFull
	switch {
	case ro.Spec.Strategy.Canary != nil:
		err = c.syncCanary(newRS, stableRS, olds)
	default:
		err = c.syncBlueGreen(newRS, stableRS, olds)
	}
	if err != nil {
		// A fault of the spec found on the way (an analysis arg that
		// cannot be resolved, a route that is not there) is InvalidSpec,
		// not a retry.
		if spec := (*specError)(nil); errors.As(err, &spec) {
			c.invalid(spec.Error())
			// Such faults may lie in other objects (a template, a route):
			// look again in a while as well as on the next change.
			c.wakeIn(specRecheck)
			return nil
		}
		c.setProgressing(corev1.ConditionFalse, "ReconciliationError", fmt.Sprintf("Reconciliation failed with error: %v", err))
		return err
	}
	if err := c.cleanupOld(rss, newRS, findByHash(rss, ro.Status.StableRS)); err != nil {
		return err
	}
	if err := c.cleanupRuns(); err != nil {
		return err
	}
	if err := c.restartPods(rss); err != nil {
		var spec *specError
		if errors.As(err, &spec) {
			c.invalid(spec.Error())
			return nil
		}
		return err
	}
	c.report(newRS, rss)
	c.trackDuration(fast)
	if err := c.scaleDownWorkload(); err != nil {
		return err
	}
	return nil
}

// newRevision starts the update to a new pod-template-hash: steps from the
// beginning, no abort, no pause of the last update.
func (c *cycle) newRevision(hash string, newRS *appsv1.ReplicaSet) {
	st := &c.ro.Status
	first := st.CurrentPodHash == "" && st.StableRS == ""
	st.CurrentPodHash = hash
	st.CurrentStepIndex = nil
	if c.ro.Spec.Strategy.Canary != nil {
		st.CurrentStepIndex = ptrInt32(0)
	}
	st.Abort, st.AbortedAt, st.PromoteFull = false, nil, false
	st.PauseConditions, st.ControllerPause = nil, false
	st.BlueGreen.ScaleUpPreviewCheckPoint = false
	st.Message = ""
	c.forgetRuns()
	if !first {
		c.setCondition(argov1.RolloutCompleted, corev1.ConditionFalse, "RolloutNotCompleted",
			fmt.Sprintf("Rollout not completed, started update to revision %d (%s)", revisionOf(newRS), hash))
		c.event(corev1.EventTypeNormal, "RolloutNotCompleted", "Rollout not completed, started update to revision %d (%s)", revisionOf(newRS), hash)
	}
	c.setProgressing(corev1.ConditionTrue, "ReplicaSetUpdated", fmt.Sprintf("ReplicaSet %q is progressing.", newRS.Name))
}

// rollbackWithinWindow says the new revision is an older ReplicaSet than the
// stable one with fewer than spec.rollbackWindow.revisions revisions between
// them, as Argo's isRollbackWithinWindow.
func rollbackWithinWindow(ro *argov1.Rollout, newRS, stableRS *appsv1.ReplicaSet, rss []*appsv1.ReplicaSet) bool {
	if ro.Spec.RollbackWindow == nil || ro.Spec.RollbackWindow.Revisions <= 0 || stableRS == nil || newRS == nil {
		return false
	}
	from, to := revisionOf(newRS), revisionOf(stableRS)
	if from >= to {
		return false
	}
	between := int32(0)
	for _, rs := range rss {
		if r := revisionOf(rs); r > from && r < to {
			between++
		}
	}
	return between < ro.Spec.RollbackWindow.Revisions
}

// rollbackToWarm says a blue/green update goes back to an earlier active
// that is still up, waiting out its scaleDownDelaySeconds: its Pods serve
// at once, so it is promoted without a pause, as in Argo.
func rollbackToWarm(ro *argov1.Rollout, newRS, stableRS *appsv1.ReplicaSet) bool {
	if ro.Spec.Strategy.BlueGreen == nil || stableRS == nil || revisionOf(newRS) >= revisionOf(stableRS) {
		return false
	}
	_, waiting := newRS.Annotations[AnnotationScaleDownDeadline]
	return waiting && rsReplicas(newRS) > 0 && newRS.Status.AvailableReplicas >= rsReplicas(newRS)
}

// forgetRuns drops the AnalysisRuns of an earlier attempt from status, so
// the steps create new ones.
func (c *cycle) forgetRuns() {
	st := &c.ro.Status
	st.Canary.CurrentStepAnalysisRunStatus, st.Canary.CurrentBackgroundAnalysisRunStatus = nil, nil
	st.BlueGreen.PrePromotionAnalysisRunStatus, st.BlueGreen.PostPromotionAnalysisRunStatus = nil, nil
}

// promoted makes the new revision the stable one.
func (c *cycle) promoted(newRS *appsv1.ReplicaSet, how string) {
	st := &c.ro.Status
	if st.StableRS == st.CurrentPodHash {
		return
	}
	st.StableRS = st.CurrentPodHash
	st.PromoteFull = false
	st.PauseConditions, st.ControllerPause = nil, false
	msg := fmt.Sprintf("Rollout completed update to revision %d (%s): %s", revisionOf(newRS), st.CurrentPodHash, how)
	c.setCondition(argov1.RolloutCompleted, corev1.ConditionTrue, "RolloutCompleted", msg)
	c.event(corev1.EventTypeNormal, "RolloutCompleted", "%s", msg)
}

// pause adds a pause condition (the agent paused the rollout) once.
func (c *cycle) pause(reason argov1.PauseReason) {
	st := &c.ro.Status
	for _, p := range st.PauseConditions {
		if p.Reason == reason {
			return
		}
	}
	st.PauseConditions = append(st.PauseConditions, argov1.PauseCondition{Reason: reason, StartTime: metav1.Time{Time: c.now}})
	st.ControllerPause = true
	c.event(corev1.EventTypeNormal, "RolloutPaused", "Rollout is paused (%s)", reason)
}

func (c *cycle) pauseCondition(reason argov1.PauseReason) *argov1.PauseCondition {
	for i := range c.ro.Status.PauseConditions {
		if c.ro.Status.PauseConditions[i].Reason == reason {
			return &c.ro.Status.PauseConditions[i]
		}
	}
	return nil
}

// resumed clears a pause the agent made, after a promote or its duration.
func (c *cycle) resumed() {
	st := &c.ro.Status
	if !st.ControllerPause && len(st.PauseConditions) == 0 {
		return
	}
	st.PauseConditions, st.ControllerPause = nil, false
	c.event(corev1.EventTypeNormal, "RolloutResumed", "Rollout is resumed")
}

func findByHash(rss []*appsv1.ReplicaSet, hash string) *appsv1.ReplicaSet {
	if hash == "" {
		return nil
	}
	for _, rs := range rss {
		if rs.Labels[LabelPodTemplateHash] == hash {
			return rs
		}
	}
	return nil
}

func others(rss []*appsv1.ReplicaSet, keep ...*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	for _, rs := range rss {
		skip := false
		for _, k := range keep {
			if k != nil && k.Name == rs.Name {
				skip = true
			}
		}
		if !skip {
			out = append(out, rs)
		}
	}
	return out
}

func ptrInt32(v int32) *int32 { return &v }

// storedObject is the Rollout as stored, for the strict field check.
func (c *cycle) storedObject() (map[string]any, error) {
	return ctrlkit.StoredSpec(c.ctx, c.r.APIReader, c.ro, kindRollout)
}

// observed records the generation the status is for (Argo keeps it as a string).
func (c *cycle) observed() {
	c.ro.Status.ObservedGeneration = strconv.FormatInt(c.ro.Generation, 10)
}
