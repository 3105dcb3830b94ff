package workflow

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/robfig/cron/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/agent/ctrlkit"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/wfnames"
	"github.com/argolite/argolite/shared/wfvalidate"
)

// CronReconciler submits the Workflows of CronWorkflows on their schedules.
type CronReconciler struct {
	ctrlkit.Events
	Client client.Client
	// Now is the clock (time.Now in the agent).
	Now func() time.Time

	status  *ctrlkit.StatusWriter
	metrics *ctrlkit.Metrics
}

// kindCronWorkflow labels the role's reconcile metrics.
const kindCronWorkflow = "CronWorkflow"

func newCronReconciler(c client.Client, events ctrlkit.Events, now func() time.Time) *CronReconciler {
	return &CronReconciler{Events: events, Client: c, Now: now,
		status: ctrlkit.NewStatusWriter(c), metrics: ctrlkit.RoleMetrics("workflow")}
}

// Schedules parses a CronWorkflow's schedules in its timezone (the
// validator's parser, shared with the plugin); errors are the user's to fix.
func Schedules(spec *argov1.CronWorkflowSpec) ([]cron.Schedule, error) {
	scheds, err := wfvalidate.Schedules(spec)
	if err != nil {
		return nil, specError("%v", err)
	}
	return scheds, nil
}

// lastDue is the latest schedule time in (after, now], or zero.
func lastDue(scheds []cron.Schedule, after, now time.Time) time.Time {
	var last time.Time
	for _, s := range scheds {
		// Walk forward; bounded so a long-stopped agent does not loop for ages.
		t := s.Next(after)
		for i := 0; !t.After(now) && !t.IsZero() && i < 100000; i++ {
			if t.After(last) {
				last = t
			}
			t = s.Next(t)
		}
	}
	return last
}

// nextDue is the earliest schedule time after now.
func nextDue(scheds []cron.Schedule, now time.Time) time.Time {
	var next time.Time
	for _, s := range scheds {
		if t := s.Next(now); !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	return next
}

// Reconcile submits what is due, applies the concurrency policy and the
// history limits, and asks to be woken at the next schedule time.
func (r *CronReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	start := time.Now()
	cw := &argov1.CronWorkflow{}
	if err := r.Client.Get(ctx, req.NamespacedName, cw); err != nil {
		if apierrors.IsNotFound(err) {
			r.status.Forget(req.NamespacedName)
			r.metrics.Forget(kindCronWorkflow, req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	// An older copy would submit the run its last write recorded again.
	if r.status.Stale(cw) {
		return ctrlkit.StaleResult(), nil
	}
	defer func() { r.metrics.Observe(kindCronWorkflow, req.NamespacedName, start, retErr) }()
	if !cw.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	orig := cw.DeepCopy()
	result, err := r.reconcile(ctx, cw, r.Now())
	if res, perr := r.status.Patch(ctx, orig, cw); perr != nil || !res.IsZero() {
		return res, errors.Join(err, perr)
	}
	return result, err
}

func (r *CronReconciler) reconcile(ctx context.Context, cw *argov1.CronWorkflow, now time.Time) (ctrl.Result, error) {
	scheds, err := Schedules(&cw.Spec)
	if err != nil {
		setCronCondition(cw, "SpecError", err.Error())
		r.Event(cw, corev1.EventTypeWarning, "SpecError", "Schedule", "%s", err.Error())
		return ctrl.Result{}, nil
	}
	setCronCondition(cw, "SpecError", "")
	owned, err := r.ownedWorkflows(ctx, cw)
	if err != nil {
		return ctrl.Result{}, err
	}
	r.updateHistory(ctx, cw, owned)
	if cw.Spec.Suspend {
		cw.Status.Phase = "Suspended"
		return ctrl.Result{}, nil
	}
	cw.Status.Phase = "Active"
	after := cw.CreationTimestamp.Time
	if cw.Status.LastScheduledTime != nil {
		after = cw.Status.LastScheduledTime.Time
	}
	if due := lastDue(scheds, after, now); !due.IsZero() {
		late := now.Sub(due)
		if d := cw.Spec.StartingDeadlineSeconds; d != nil && late > time.Duration(*d)*time.Second {
			r.Event(cw, corev1.EventTypeWarning, "MissedSchedule", "Schedule", "missed the run of %s: %s late, more than startingDeadlineSeconds %d",
				due.Format(time.RFC3339), late.Round(time.Second), *d)
			cw.Status.LastScheduledTime = &metav1.Time{Time: due}
		} else if err := r.run(ctx, cw, due, owned); err != nil {
			return ctrl.Result{}, err
		}
	}
	next := nextDue(scheds, now)
	if next.IsZero() {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: next.Sub(now) + 100*time.Millisecond}, nil
}

// run submits the Workflow for one schedule time, after the concurrency policy.
func (r *CronReconciler) run(ctx context.Context, cw *argov1.CronWorkflow, at time.Time, owned []argov1.Workflow) error {
	var active []argov1.Workflow
	for _, wf := range owned {
		if !wf.Status.Phase.Completed() {
			active = append(active, wf)
		}
	}
	switch cw.Spec.ConcurrencyPolicy {
	case argov1.ForbidConcurrent:
		if len(active) > 0 {
			r.Event(cw, corev1.EventTypeNormal, "Skipped", "Schedule", "skipped the run of %s: %s is still running (concurrencyPolicy Forbid)",
				at.Format(time.RFC3339), active[0].Name)
			cw.Status.LastScheduledTime = &metav1.Time{Time: at}
			return nil
		}
	case argov1.ReplaceConcurrent:
		for i := range active {
			wf := &active[i]
			patch := client.MergeFrom(wf.DeepCopy())
			wf.Spec.Shutdown = argov1.ShutdownTerminate
			if err := r.Client.Patch(ctx, wf, patch); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("terminating %s for the next run (concurrencyPolicy Replace): %w", wf.Name, err)
			}
		}
	}
	wf := NewCronWorkflowRun(cw, at)
	if err := r.Client.Create(ctx, wf); err != nil && !apierrors.IsAlreadyExists(err) {
		r.Event(cw, corev1.EventTypeWarning, "SubmitFailed", "Schedule", "submitting %s: %v", wf.Name, err)
		return fmt.Errorf("submitting the run of %s of CronWorkflow %s/%s: %w", at.Format(time.RFC3339), cw.Namespace, cw.Name, err)
	}
	r.Event(cw, corev1.EventTypeNormal, "Submitted", "Schedule", "submitted %s", wf.Name)
	cw.Status.LastScheduledTime = &metav1.Time{Time: at}
	cw.Status.Active = append(cw.Status.Active, corev1.ObjectReference{APIVersion: argov1.GroupVersion.String(), Kind: "Workflow",
		Namespace: wf.Namespace, Name: wf.Name})
	return nil
}

// NewCronWorkflowRun is the Workflow a CronWorkflow submits for time at
// (also used by `kubectl argo cron trigger`).
func NewCronWorkflowRun(cw *argov1.CronWorkflow, at time.Time) *argov1.Workflow {
	wf := &argov1.Workflow{
		TypeMeta: metav1.TypeMeta{APIVersion: argov1.GroupVersion.String(), Kind: "Workflow"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        cw.Name + "-" + strconv.FormatInt(at.Unix(), 10),
			Namespace:   cw.Namespace,
			Labels:      map[string]string{wfnames.LabelCronWorkflow: cw.Name},
			Annotations: map[string]string{wfnames.AnnotationScheduledTime: at.UTC().Format(time.RFC3339)},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: argov1.GroupVersion.String(), Kind: "CronWorkflow",
				Name: cw.Name, UID: cw.UID, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}},
		},
		Spec: *cw.Spec.WorkflowSpec.DeepCopy(),
	}
	if m := cw.Spec.WorkflowMetadata; m != nil {
		for k, v := range m.Labels {
			wf.Labels[k] = v
		}
		for k, v := range m.Annotations {
			wf.Annotations[k] = v
		}
	}
	return wf
}

// ownedWorkflows lists the CronWorkflow's Workflows, oldest first.
func (r *CronReconciler) ownedWorkflows(ctx context.Context, cw *argov1.CronWorkflow) ([]argov1.Workflow, error) {
	var list argov1.WorkflowList
	if err := r.Client.List(ctx, &list, client.InNamespace(cw.Namespace), client.MatchingLabels{wfnames.LabelCronWorkflow: cw.Name}); err != nil {
		return nil, fmt.Errorf("listing the workflows of CronWorkflow %s/%s: %w", cw.Namespace, cw.Name, err)
	}
	var out []argov1.Workflow
	for _, wf := range list.Items {
		if metav1.IsControlledBy(&wf, cw) {
			out = append(out, wf)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreationTimestamp.Before(&out[j].CreationTimestamp) })
	return out, nil
}

// updateHistory records the active runs and deletes finished ones beyond
// the history limits (3 successful and 1 failed by default, as Argo).
func (r *CronReconciler) updateHistory(ctx context.Context, cw *argov1.CronWorkflow, owned []argov1.Workflow) {
	cw.Status.Active = nil
	var succeeded, failed []argov1.Workflow
	for _, wf := range owned {
		switch {
		case !wf.Status.Phase.Completed():
			cw.Status.Active = append(cw.Status.Active, corev1.ObjectReference{APIVersion: argov1.GroupVersion.String(), Kind: "Workflow",
				Namespace: wf.Namespace, Name: wf.Name, UID: wf.UID})
		case wf.Status.Phase == argov1.WorkflowSucceeded:
			succeeded = append(succeeded, wf)
		default:
			failed = append(failed, wf)
		}
	}
	cw.Status.Succeeded, cw.Status.Failed = int64(len(succeeded)), int64(len(failed))
	prune := func(list []argov1.Workflow, limit *int32, def int) {
		keep := def
		if limit != nil {
			keep = int(*limit)
		}
		for i := 0; i < len(list)-keep; i++ {
			if err := r.Client.Delete(ctx, &list[i], client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
				ctrl.LoggerFrom(ctx).Error(err, "deleting a finished run beyond the history limit", "workflow", list[i].Name)
			}
		}
	}
	prune(succeeded, cw.Spec.SuccessfulJobsHistoryLimit, 3)
	prune(failed, cw.Spec.FailedJobsHistoryLimit, 1)
}

func setCronCondition(cw *argov1.CronWorkflow, typ, msg string) {
	var out []argov1.WorkflowCondition
	for _, c := range cw.Status.Conditions {
		if c.Type != typ {
			out = append(out, c)
		}
	}
	if msg != "" {
		out = append(out, argov1.WorkflowCondition{Type: typ, Status: metav1.ConditionTrue, Message: msg})
	}
	cw.Status.Conditions = out
}
