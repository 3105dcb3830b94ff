package experiment

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/agent/ctrlkit"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/rolloutspec"
	"github.com/argolite/argolite/shared/rolloutstrict"
)

// Kind is the Experiment kind, for owner references and metrics.
const Kind = "Experiment"

// Reconciler runs Experiments.
type Reconciler struct {
	ctrlkit.Events
	Client client.Client
	// APIReader reads what the cache may not have yet: the raw Experiment
	// for the strict check, a ReplicaSet or Service just created.
	APIReader client.Reader

	status    *ctrlkit.StatusWriter
	reconcile *ctrlkit.Metrics
	now       func() time.Time
}

func newReconciler(c client.Client, reader client.Reader, events ctrlkit.Events) *Reconciler {
	return &Reconciler{Events: events, Client: c, APIReader: reader, status: ctrlkit.NewStatusWriter(c),
		reconcile: ctrlkit.RoleMetrics("rollout"), now: time.Now}
}

// cycle is one reconcile of one Experiment. ex keeps the status as read
// (Argo's decisions in a pass look at the previous status); st is the new
// one.
type cycle struct {
	r   *Reconciler
	ctx context.Context
	ex  *argov1.Experiment
	st  *argov1.ExperimentStatus
	now time.Time
	// terminating: no new ReplicaSets or runs; everything scales down.
	terminating bool
	rss         map[string]*appsv1.ReplicaSet
	services    map[string]*corev1.Service
	wake        time.Duration
}

// Reconcile brings one Experiment's ReplicaSets, Services and AnalysisRuns
// to what its spec and phase ask for, and writes its status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	start := time.Now()
	ex := &argov1.Experiment{}
	if err := r.Client.Get(ctx, req.NamespacedName, ex); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if r.status.Stale(ex) {
		return ctrlkit.StaleResult(), nil
	}
	defer func() { r.reconcile.Observe(Kind, req.NamespacedName, start, retErr) }()
	if !ex.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	base := ex.DeepCopy()
	defer func() {
		ex.Status.ObservedGeneration = ex.Generation
		res, err := r.status.Patch(ctx, base, ex)
		switch {
		case err != nil:
			retErr = errors.Join(retErr, err)
		case !res.IsZero() && retErr == nil:
			result = res
		}
		if err == nil && base.Status.Phase != ex.Status.Phase {
			r.phaseEvent(ex, base.Status.Phase)
		}
	}()
	if msg, err := r.invalid(ctx, ex); err != nil {
		return ctrl.Result{}, err
	} else if msg != "" {
		setCondition(&ex.Status, invalidSpecCondition(ex, msg, r.now()))
		ex.Status.Message = "InvalidSpec: " + msg
		r.Event(ex, corev1.EventTypeWarning, "InvalidSpec", "Validate", "%s", msg)
		return ctrl.Result{}, nil
	}
	if removeCondition(&ex.Status, argov1.ExperimentConditionInvalidSpec) && strings.HasPrefix(ex.Status.Message, "InvalidSpec: ") {
		ex.Status.Message = ""
	}
	c := &cycle{r: r, ctx: ctx, ex: base, st: ex.Status.DeepCopy(), now: r.now(), terminating: isTerminating(base)}
	if err := c.load(); err != nil {
		return ctrl.Result{}, err
	}
	c.run()
	ex.Status = *c.st
	if c.wake > 0 {
		return ctrl.Result{RequeueAfter: c.wake}, nil
	}
	return ctrl.Result{}, nil
}

func (r *Reconciler) forget(key types.NamespacedName) {
	r.status.Forget(key)
	r.reconcile.Forget(Kind, key)
}

// invalid runs the strict field check on the Experiment as stored and
// Argo's spec rules; "" when the spec is good.
func (r *Reconciler) invalid(ctx context.Context, ex *argov1.Experiment) (string, error) {
	raw, err := ctrlkit.StoredSpec(ctx, r.APIReader, ex, Kind)
	if err != nil {
		return "", err
	}
	if faults := rolloutstrict.Experiment(raw); len(faults) > 0 {
		return rolloutstrict.Text(faults), nil
	}
	return rolloutspec.ValidateExperiment(ex), nil
}

// phaseEvent is Argo's Experiment<Phase> Event.
func (r *Reconciler) phaseEvent(ex *argov1.Experiment, prev argov1.AnalysisPhase) {
	typ := corev1.EventTypeNormal
	if bad(ex.Status.Phase) {
		typ = corev1.EventTypeWarning
	}
	r.Event(ex, typ, "Experiment"+string(ex.Status.Phase), "Reconcile", "Experiment transitioned from %s -> %s", prev, ex.Status.Phase)
}

// bad says a phase is Failed, Error or Inconclusive.
func bad(p argov1.AnalysisPhase) bool {
	return p == argov1.AnalysisPhaseFailed || p == argov1.AnalysisPhaseError || p == argov1.AnalysisPhaseInconclusive
}

func (c *cycle) event(typ, reason, format string, args ...any) {
	ex := c.ex.DeepCopy()
	c.r.Event(ex, typ, reason, "Reconcile", format, args...)
}

// wakeIn asks for another reconcile within d.
func (c *cycle) wakeIn(d time.Duration) {
	if d <= 0 {
		d = time.Millisecond
	}
	if c.wake == 0 || d < c.wake {
		c.wake = d
	}
}

// load finds the ReplicaSets and Services the Experiment owns, by the
// template they were made for.
func (c *cycle) load() error {
	ex := c.ex
	defined := map[string]bool{}
	for _, t := range ex.Spec.Templates {
		defined[t.Name] = true
	}
	var rss appsv1.ReplicaSetList
	if err := c.r.Client.List(c.ctx, &rss, client.InNamespace(ex.Namespace)); err != nil {
		return fmt.Errorf("listing the ReplicaSets of experiment %s/%s: %w", ex.Namespace, ex.Name, err)
	}
	c.rss = map[string]*appsv1.ReplicaSet{}
	for i := range rss.Items {
		rs := &rss.Items[i]
		if name := ownedTemplate(ex, rs); name != "" && defined[name] {
			if _, dup := c.rss[name]; dup {
				return fmt.Errorf("experiment %s/%s: multiple ReplicaSets match single experiment template: %s", ex.Namespace, ex.Name, name)
			}
			c.rss[name] = rs
		}
	}
	var svcs corev1.ServiceList
	if err := c.r.Client.List(c.ctx, &svcs, client.InNamespace(ex.Namespace)); err != nil {
		return fmt.Errorf("listing the Services of experiment %s/%s: %w", ex.Namespace, ex.Name, err)
	}
	c.services = map[string]*corev1.Service{}
	for i := range svcs.Items {
		svc := &svcs.Items[i]
		if name := ownedTemplate(ex, svc); name != "" && defined[name] {
			c.services[name] = svc
		}
	}
	return nil
}

// ownedTemplate is the template an object of the Experiment was made for,
// "" when the Experiment does not control it.
func ownedTemplate(ex *argov1.Experiment, obj metav1.Object) string {
	ref := metav1.GetControllerOf(obj)
	if ref == nil || ref.UID != ex.UID || obj.GetAnnotations()[argov1.ExperimentNameAnnotationKey] != ex.Name {
		return ""
	}
	return obj.GetAnnotations()[argov1.ExperimentTemplateNameAnnotationKey]
}

// run is Argo's experimentContext.reconcile.
func (c *cycle) run() {
	for _, t := range c.ex.Spec.Templates {
		c.reconcileTemplate(t)
	}
	for _, a := range c.ex.Spec.Analyses {
		c.reconcileAnalysis(a)
	}
	c.assess()
	c.requeue()
}
