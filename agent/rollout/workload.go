package rollout

import (
	"context"
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/rolloutspec"
)

const (
	// FinalizerWorkload lets a Rollout with a workloadRef give its
	// Deployment its replicas back before it goes, so deleting the Rollout
	// never leaves the application at zero Pods.
	FinalizerWorkload = "rollouts.argolite.dev/workload"
	// AnnotationScaledDownFrom is on a workloadRef Deployment the Rollout
	// scaled down: its replicas before, restored when the Rollout goes.
	AnnotationScaledDownFrom = "rollouts.argolite.dev/scaled-down-from"
	// fieldWorkloadRef indexes Rollouts by the Deployment they reference.
	fieldWorkloadRef = "spec.workloadRef.name"
)

// scaleDownMode is the workloadRef's scaleDown, never by default.
func scaleDownMode(ro *argov1.Rollout) string {
	if ro.Spec.WorkloadRef == nil || ro.Spec.WorkloadRef.ScaleDown == "" {
		return argov1.ScaleDownNever
	}
	return ro.Spec.WorkloadRef.ScaleDown
}

// resolveWorkload reads the Deployment a workloadRef names and takes its
// Pod template (and selector, when the Rollout gives none) for this cycle,
// in memory only: the Rollout's stored spec keeps the reference, as Argo's.
func (c *cycle) resolveWorkload() error {
	ref := c.ro.Spec.WorkloadRef
	if ref == nil {
		return nil
	}
	switch {
	case ref.Kind != "Deployment" || (ref.APIVersion != "apps/v1" && ref.APIVersion != ""):
		return invalidf("spec.workloadRef: %s %s is not a kind argolite reads Pod templates from: reference an apps/v1 Deployment", ref.APIVersion, ref.Kind)
	case ref.Name == "":
		return invalidf("spec.workloadRef.name: Required value: name the Deployment")
	case len(c.ro.Spec.Template.Spec.Containers) > 0:
		return invalidf("spec.template: template must be empty for workload reference rollout: keep the Pod template in the Deployment, or drop workloadRef")
	}
	switch scaleDownMode(c.ro) {
	case argov1.ScaleDownNever, argov1.ScaleDownOnSuccess, argov1.ScaleDownProgressively:
	default:
		return invalidf("spec.workloadRef.scaleDown: %q is not one of never, onsuccess, progressively", ref.ScaleDown)
	}
	d := &appsv1.Deployment{}
	if err := c.r.Client.Get(c.ctx, client.ObjectKey{Namespace: c.ro.Namespace, Name: ref.Name}, d); err != nil {
		if apierrors.IsNotFound(err) {
			return invalidf("spec.workloadRef: Deployment %s/%s not found: create it, or fix the name", c.ro.Namespace, ref.Name)
		}
		return fmt.Errorf("reading Deployment %s/%s of rollout %s: %w", c.ro.Namespace, ref.Name, c.ro.Name, err)
	}
	c.workload = d
	c.ro.Spec.Template = *d.Spec.Template.DeepCopy()
	if c.ro.Spec.Selector == nil {
		c.ro.Spec.Selector = d.Spec.Selector.DeepCopy()
	}
	c.ro.Status.WorkloadObservedGeneration = strconv.FormatInt(d.Generation, 10)
	return nil
}

// scaleDownWorkload scales the referenced Deployment down as scaleDown
// says: onsuccess once the Rollout is fully promoted, healthy and past any
// post-promotion analysis; progressively as the Rollout's Pods become
// available, for every revision, never up again. Its replicas before are
// kept in an annotation for the Rollout's deletion.
func (c *cycle) scaleDownWorkload() error {
	d := c.workload
	if d == nil || ptr.Deref(d.Spec.Replicas, 1) == 0 {
		return nil
	}
	ro := c.ro
	var want int32
	switch scaleDownMode(ro) {
	case argov1.ScaleDownOnSuccess:
		if !fullyPromoted(ro) || ro.Status.AvailableReplicas < rolloutspec.Replicas(ro) {
			return nil
		}
		if run := ro.Status.BlueGreen.PostPromotionAnalysisRunStatus; run != nil && run.Status != argov1.AnalysisPhaseSuccessful {
			return nil
		}
	case argov1.ScaleDownProgressively:
		want = max(rolloutspec.Replicas(ro)-ro.Status.AvailableReplicas, 0)
		if want >= ptr.Deref(d.Spec.Replicas, 1) {
			return nil
		}
	default:
		return nil
	}
	next := d.DeepCopy()
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	if _, ok := next.Annotations[AnnotationScaledDownFrom]; !ok {
		next.Annotations[AnnotationScaledDownFrom] = strconv.Itoa(int(ptr.Deref(d.Spec.Replicas, 1)))
	}
	next.Spec.Replicas = ptr.To(want)
	if err := c.r.Client.Patch(c.ctx, next, client.MergeFrom(d)); err != nil {
		return fmt.Errorf("scaling down Deployment %s/%s of rollout %s: %w", d.Namespace, d.Name, ro.Name, err)
	}
	c.event(corev1.EventTypeNormal, "ScalingReplicaSet", "Scaled down Deployment %s from %d to %d (workloadRef scaleDown: %s)",
		d.Name, ptr.Deref(d.Spec.Replicas, 1), want, scaleDownMode(ro))
	return nil
}

// finalizeWorkload is the Rollout's deletion: the Deployment it scaled
// down gets its replicas back, then the finalizer goes.
func (r *Reconciler) finalizeWorkload(ctx context.Context, ro *argov1.Rollout) error {
	if !controllerutil.ContainsFinalizer(ro, FinalizerWorkload) {
		return nil
	}
	if ref := ro.Spec.WorkloadRef; ref != nil && ref.Name != "" {
		d := &appsv1.Deployment{}
		err := r.Client.Get(ctx, client.ObjectKey{Namespace: ro.Namespace, Name: ref.Name}, d)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return fmt.Errorf("reading Deployment %s/%s of rollout %s: %w", ro.Namespace, ref.Name, ro.Name, err)
		default:
			if from, ok := d.Annotations[AnnotationScaledDownFrom]; ok {
				n, err := strconv.Atoi(from)
				if err != nil || n < 0 {
					n = int(rolloutspec.Replicas(ro))
				}
				next := d.DeepCopy()
				delete(next.Annotations, AnnotationScaledDownFrom)
				next.Spec.Replicas = ptr.To(int32(n))
				if err := r.Client.Patch(ctx, next, client.MergeFrom(d)); err != nil {
					return fmt.Errorf("restoring the replicas of Deployment %s/%s: %w", d.Namespace, d.Name, err)
				}
				r.Event(ro, corev1.EventTypeNormal, "ScalingReplicaSet", "Rollout", "Scaled Deployment %s back up to %d: its Rollout is deleted", d.Name, n)
			}
		}
	}
	patch := client.MergeFrom(ro.DeepCopy())
	controllerutil.RemoveFinalizer(ro, FinalizerWorkload)
	return client.IgnoreNotFound(r.Client.Patch(ctx, ro, patch))
}

// ensureWorkloadFinalizer adds the finalizer to a Rollout that may scale a
// Deployment down.
func (r *Reconciler) ensureWorkloadFinalizer(ctx context.Context, ro *argov1.Rollout) error {
	if scaleDownMode(ro) == argov1.ScaleDownNever || controllerutil.ContainsFinalizer(ro, FinalizerWorkload) {
		return nil
	}
	patch := client.MergeFrom(ro.DeepCopy())
	controllerutil.AddFinalizer(ro, FinalizerWorkload)
	if err := r.Client.Patch(ctx, ro, patch); err != nil {
		return fmt.Errorf("adding the finalizer to rollout %s/%s: %w", ro.Namespace, ro.Name, err)
	}
	return nil
}

// rolloutsOfDeployment maps a Deployment to the Rollouts whose workloadRef
// names it.
func rolloutsOfDeployment(c client.Client) func(context.Context, client.Object) []reconcile.Request {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		var list argov1.RolloutList
		if err := c.List(ctx, &list, client.InNamespace(obj.GetNamespace()), client.MatchingFields{fieldWorkloadRef: obj.GetName()}); err != nil {
			return nil
		}
		out := make([]reconcile.Request, 0, len(list.Items))
		for _, ro := range list.Items {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&ro)})
		}
		return out
	}
}

// workloadRefName is the index function of fieldWorkloadRef.
func workloadRefName(obj client.Object) []string {
	ro, ok := obj.(*argov1.Rollout)
	if !ok || ro.Spec.WorkloadRef == nil || ro.Spec.WorkloadRef.Name == "" {
		return nil
	}
	return []string{ro.Spec.WorkloadRef.Name}
}
