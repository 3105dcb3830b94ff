package rollout

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/rolloutspec"
)

// Annotations on the ReplicaSets a Rollout owns, as Argo's.
const (
	AnnotationRevision = "rollout.argoproj.io/revision"
	// AnnotationScaleDownDeadline is when a ReplicaSet kept up after a
	// switch (scaleDownDelaySeconds) is scaled down.
	AnnotationScaleDownDeadline = "scale-down-deadline"
	// AnnotationEphemeralMetadata records the canary/stable/active/preview
	// metadata injected into a ReplicaSet's Pods, so it can be taken away.
	AnnotationEphemeralMetadata = "rollout.argoproj.io/ephemeral-metadata"
	// AnnotationTemplateHash is the hash of the Rollout's Pod template as
	// written, which the ReplicaSet was made from: the API server defaults
	// the ReplicaSet's copy (imagePullPolicy, dnsPolicy, ...) but not the
	// Rollout's, so the two no longer compare equal.
	AnnotationTemplateHash = "rollouts.argolite.dev/template-hash"
)

// revisionOf is a ReplicaSet's revision number (0 when it has none).
func revisionOf(rs *appsv1.ReplicaSet) int {
	n, _ := strconv.Atoi(rs.Annotations[AnnotationRevision])
	return n
}

// bumpRevision gives an older ReplicaSet that becomes the new revision again
// (an undo, a revert in Git) the next revision number, as the Deployment
// controller and Argo do, so revisions count updates.
func (c *cycle) bumpRevision(newRS *appsv1.ReplicaSet, rss []*appsv1.ReplicaSet) error {
	top := 0
	for _, rs := range rss {
		top = max(top, revisionOf(rs))
	}
	if revisionOf(newRS) == top {
		return nil
	}
	next := newRS.DeepCopy()
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	next.Annotations[AnnotationRevision] = strconv.Itoa(top + 1)
	if err := c.r.Client.Patch(c.ctx, next, client.MergeFrom(newRS)); err != nil {
		return fmt.Errorf("setting the revision of ReplicaSet %s/%s: %w", newRS.Namespace, newRS.Name, err)
	}
	*newRS = *next
	c.event(corev1.EventTypeNormal, "RolloutUpdated", "Rollout updated to revision %d", top+1)
	return nil
}

// ownedReplicaSets lists the ReplicaSets the Rollout controls, newest
// revision first.
func (c *cycle) ownedReplicaSets() ([]*appsv1.ReplicaSet, error) {
	var list appsv1.ReplicaSetList
	if err := c.r.Client.List(c.ctx, &list, client.InNamespace(c.ro.Namespace)); err != nil {
		return nil, fmt.Errorf("listing the ReplicaSets of rollout %s/%s: %w", c.ro.Namespace, c.ro.Name, err)
	}
	var out []*appsv1.ReplicaSet
	for i := range list.Items {
		rs := &list.Items[i]
		if ref := metav1.GetControllerOf(rs); ref != nil && ref.UID == c.ro.UID {
			out = append(out, rs)
		}
	}
	sort.Slice(out, func(i, j int) bool { return revisionOf(out[i]) > revisionOf(out[j]) })
	return out, nil
}

// sameTemplate compares two Pod templates without the revision's hash label.
func sameTemplate(a, b *corev1.PodTemplateSpec) bool {
	a, b = a.DeepCopy(), b.DeepCopy()
	delete(a.Labels, LabelPodTemplateHash)
	delete(b.Labels, LabelPodTemplateHash)
	return apiequality.Semantic.DeepEqual(a, b)
}

// madeFrom says rs runs template: it was made from it, or its (defaulted)
// template is template (an undo copies a ReplicaSet's template back).
func madeFrom(rs *appsv1.ReplicaSet, template *corev1.PodTemplateSpec) bool {
	return rs.Annotations[AnnotationTemplateHash] == rolloutspec.PodTemplateHash(template, nil) || sameTemplate(&rs.Spec.Template, template)
}

// findNewReplicaSet is the ReplicaSet of the current template, if any.
func findNewReplicaSet(rss []*appsv1.ReplicaSet, template *corev1.PodTemplateSpec) *appsv1.ReplicaSet {
	for _, rs := range rss {
		if madeFrom(rs, template) {
			return rs
		}
	}
	return nil
}

// createReplicaSet creates the ReplicaSet of a new revision at zero Pods;
// a hash collision with another template bumps status.collisionCount and
// tries the next hash.
func (c *cycle) createReplicaSet(template *corev1.PodTemplateSpec, rss []*appsv1.ReplicaSet) (*appsv1.ReplicaSet, error) {
	ro := c.ro
	revision := 1
	for _, rs := range rss {
		revision = max(revision, revisionOf(rs)+1)
	}
	for range 5 {
		hash := rolloutspec.PodTemplateHash(template, ro.Status.CollisionCount)
		rs := &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{
				Name:        ro.Name + "-" + hash,
				Namespace:   ro.Namespace,
				Labels:      maps.Clone(template.Labels),
				Annotations: map[string]string{AnnotationRevision: strconv.Itoa(revision), AnnotationTemplateHash: rolloutspec.PodTemplateHash(template, nil)},
			},
			Spec: appsv1.ReplicaSetSpec{
				Replicas:        ptr.To[int32](0),
				MinReadySeconds: ro.Spec.MinReadySeconds,
				Selector:        selectorWithHash(ro.Spec.Selector, hash),
				Template:        *template.DeepCopy(),
			},
		}
		if rs.Labels == nil {
			rs.Labels = map[string]string{}
		}
		rs.Labels[LabelPodTemplateHash] = hash
		if rs.Spec.Template.Labels == nil {
			rs.Spec.Template.Labels = map[string]string{}
		}
		rs.Spec.Template.Labels[LabelPodTemplateHash] = hash
		if err := controllerutil.SetControllerReference(ro, rs, c.r.Client.Scheme()); err != nil {
			return nil, err
		}
		err := c.r.Client.Create(c.ctx, rs)
		if err == nil {
			c.event(corev1.EventTypeNormal, "RolloutUpdated", "Rollout updated to revision %d", revision)
			c.event(corev1.EventTypeNormal, "NewReplicaSetCreated", "Created ReplicaSet %s (revision %d)", rs.Name, revision)
			return rs, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("creating ReplicaSet %s for rollout %s/%s: %w", rs.Name, ro.Namespace, ro.Name, err)
		}
		existing := &appsv1.ReplicaSet{}
		if err := c.r.APIReader.Get(c.ctx, client.ObjectKeyFromObject(rs), existing); err != nil {
			return nil, fmt.Errorf("reading ReplicaSet %s: %w", rs.Name, err)
		}
		if ref := metav1.GetControllerOf(existing); ref != nil && ref.UID == ro.UID && madeFrom(existing, template) {
			return existing, nil
		}
		ro.Status.CollisionCount = ptr.To(ptr.Deref(ro.Status.CollisionCount, 0) + 1)
	}
	return nil, fmt.Errorf("rollout %s/%s: no free pod-template-hash after 5 collisions", ro.Namespace, ro.Name)
}

// selectorWithHash is the Rollout's selector narrowed to one revision.
func selectorWithHash(sel *metav1.LabelSelector, hash string) *metav1.LabelSelector {
	out := sel.DeepCopy()
	if out == nil {
		out = &metav1.LabelSelector{}
	}
	if out.MatchLabels == nil {
		out.MatchLabels = map[string]string{}
	}
	out.MatchLabels[LabelPodTemplateHash] = hash
	return out
}

// scale sets a ReplicaSet's replicas (and the metadata its Pods get), with
// Argo's ScalingReplicaSet Event.
func (c *cycle) scale(rs *appsv1.ReplicaSet, replicas int32, meta *argov1.PodTemplateMetadata) error {
	if rs == nil {
		return nil
	}
	from := rsReplicas(rs)
	next := rs.DeepCopy()
	next.Spec.Replicas = ptr.To(replicas)
	syncEphemeralMetadata(next, meta)
	if replicas > 0 {
		delete(next.Annotations, AnnotationScaleDownDeadline)
	}
	if apiequality.Semantic.DeepEqual(rs.Spec, next.Spec) && maps.Equal(rs.Annotations, next.Annotations) {
		return nil
	}
	if err := c.r.Client.Patch(c.ctx, next, client.MergeFrom(rs)); err != nil {
		return fmt.Errorf("scaling ReplicaSet %s/%s to %d: %w", rs.Namespace, rs.Name, replicas, err)
	}
	*rs = *next
	if from != replicas {
		dir := "up"
		if replicas < from {
			dir = "down"
		}
		c.event(corev1.EventTypeNormal, "ScalingReplicaSet", "Scaled %s ReplicaSet %s (revision %d) from %d to %d", dir, rs.Name, revisionOf(rs), from, replicas)
	}
	return nil
}

// syncEphemeralMetadata puts meta on the ReplicaSet's Pod template and
// takes away what an earlier call put there and meta no longer has.
func syncEphemeralMetadata(rs *appsv1.ReplicaSet, meta *argov1.PodTemplateMetadata) {
	var old argov1.PodTemplateMetadata
	if s := rs.Annotations[AnnotationEphemeralMetadata]; s != "" {
		_ = json.Unmarshal([]byte(s), &old)
	}
	want := argov1.PodTemplateMetadata{}
	if meta != nil {
		want = *meta
	}
	tm := &rs.Spec.Template.ObjectMeta
	for k := range old.Labels {
		if _, keep := want.Labels[k]; !keep {
			delete(tm.Labels, k)
		}
	}
	for k := range old.Annotations {
		if _, keep := want.Annotations[k]; !keep {
			delete(tm.Annotations, k)
		}
	}
	for k, v := range want.Labels {
		if tm.Labels == nil {
			tm.Labels = map[string]string{}
		}
		tm.Labels[k] = v
	}
	for k, v := range want.Annotations {
		if tm.Annotations == nil {
			tm.Annotations = map[string]string{}
		}
		tm.Annotations[k] = v
	}
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	if len(want.Labels) == 0 && len(want.Annotations) == 0 {
		delete(rs.Annotations, AnnotationEphemeralMetadata)
		return
	}
	b, _ := json.Marshal(want)
	rs.Annotations[AnnotationEphemeralMetadata] = string(b)
}

// scaleDownLater marks a ReplicaSet to be scaled down at now+delay, and
// scales it down once that time has passed; it returns how long is left.
func (c *cycle) scaleDownLater(rs *appsv1.ReplicaSet, delay time.Duration) (time.Duration, error) {
	if rs == nil || rsReplicas(rs) == 0 {
		return 0, nil
	}
	if delay <= 0 {
		return 0, c.scale(rs, 0, nil)
	}
	deadline, err := time.Parse(time.RFC3339, rs.Annotations[AnnotationScaleDownDeadline])
	if err != nil {
		next := rs.DeepCopy()
		if next.Annotations == nil {
			next.Annotations = map[string]string{}
		}
		deadline = c.now.Add(delay)
		next.Annotations[AnnotationScaleDownDeadline] = deadline.UTC().Format(time.RFC3339)
		if err := c.r.Client.Patch(c.ctx, next, client.MergeFrom(rs)); err != nil {
			return 0, fmt.Errorf("marking ReplicaSet %s/%s for scale-down: %w", rs.Namespace, rs.Name, err)
		}
		*rs = *next
	}
	if left := deadline.Sub(c.now); left > 0 {
		return left, nil
	}
	return 0, c.scale(rs, 0, nil)
}

// cleanupOld deletes the oldest scaled-down ReplicaSets beyond
// revisionHistoryLimit.
func (c *cycle) cleanupOld(rss []*appsv1.ReplicaSet, keep ...*appsv1.ReplicaSet) error {
	limit := int(ptr.Deref(c.ro.Spec.RevisionHistoryLimit, rolloutspec.DefaultRevisionHistoryLimit))
	var idle []*appsv1.ReplicaSet
	for _, rs := range rss {
		if slices.ContainsFunc(keep, func(k *appsv1.ReplicaSet) bool { return k != nil && k.Name == rs.Name }) {
			continue
		}
		if rsReplicas(rs) == 0 && rs.Status.Replicas == 0 && rs.DeletionTimestamp == nil {
			idle = append(idle, rs)
		}
	}
	// rss is newest first: the oldest are at the end.
	for i := limit; i < len(idle); i++ {
		if err := c.r.Client.Delete(c.ctx, idle[i]); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting old ReplicaSet %s/%s: %w", idle[i].Namespace, idle[i].Name, err)
		}
	}
	return nil
}
