package experiment

import (
	"fmt"
	"maps"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/rolloutspec"
)

// AnnotationScaleDownDeadline is when an Experiment's ReplicaSet is scaled
// down after the experiment ended (Argo's scale-down-deadline).
const AnnotationScaleDownDeadline = "scale-down-deadline"

// templateStatus returns a copy of the template's status in st, nil when
// it has none yet.
func templateStatus(st *argov1.ExperimentStatus, name string) *argov1.ExperimentTemplateStatus {
	for i := range st.TemplateStatuses {
		if st.TemplateStatuses[i].Name == name {
			return st.TemplateStatuses[i].DeepCopy()
		}
	}
	return nil
}

func setTemplateStatus(st *argov1.ExperimentStatus, ts argov1.ExperimentTemplateStatus) {
	for i := range st.TemplateStatuses {
		if st.TemplateStatuses[i].Name == ts.Name {
			st.TemplateStatuses[i] = ts
			return
		}
	}
	st.TemplateStatuses = append(st.TemplateStatuses, ts)
}

// desiredReplicas is Argo's CalculateTemplateReplicasCount: 0 once the
// experiment (or the template) is over, else the template's replicas.
func desiredReplicas(ex *argov1.Experiment, t argov1.ExperimentTemplate) int32 {
	if isTerminating(ex) {
		return 0
	}
	if ts := templateStatus(&ex.Status, t.Name); ts != nil && ts.Status.Completed() {
		return 0
	}
	return ptr.Deref(t.Replicas, 1)
}

// reconcileTemplate is Argo's: the template's ReplicaSet made or scaled
// (down after the scale-down delay once over), its Service made or
// deleted, and its state assessed against the progress deadline.
func (c *cycle) reconcileTemplate(t argov1.ExperimentTemplate) {
	ts := templateStatus(&c.ex.Status, t.Name)
	if ts == nil {
		ts = &argov1.ExperimentTemplateStatus{Name: t.Name}
	}
	prev := ts.DeepCopy()
	desired := desiredReplicas(c.ex, t)
	now := metav1.NewTime(c.now)
	rs := c.rss[t.Name]
	if rs == nil {
		if created, err := c.createReplicaSet(t, ts.CollisionCount, desired); err != nil {
			ts.Status = argov1.TemplateStatusError
			ts.Message = fmt.Sprintf("Failed to create ReplicaSet for template '%s': %v", t.Name, err)
		} else {
			rs = created
			c.rss[t.Name] = rs
			ts.LastTransitionTime = &now
		}
	} else {
		if t.Service != nil {
			if desired != 0 {
				c.ensureService(t, ts, rs)
			} else if rs.Status.AvailableReplicas == 0 {
				c.deleteService(t.Name, ts)
			}
		} else {
			c.deleteService(t.Name, ts)
		}
		if rsReplicas(rs) != desired {
			c.scaleTemplate(rs, t, ts, desired)
			ts.LastTransitionTime = &now
		}
	}
	if rs == nil {
		ts.Replicas, ts.UpdatedReplicas, ts.ReadyReplicas, ts.AvailableReplicas = 0, 0, 0, 0
	} else {
		ts.Replicas, ts.UpdatedReplicas = rs.Status.Replicas, rs.Status.Replicas
		ts.ReadyReplicas, ts.AvailableReplicas = rs.Status.ReadyReplicas, rs.Status.AvailableReplicas
	}
	if prev.Replicas != ts.Replicas || prev.UpdatedReplicas != ts.UpdatedReplicas || prev.ReadyReplicas != ts.ReadyReplicas || prev.AvailableReplicas != ts.AvailableReplicas {
		ts.LastTransitionTime = &now
	}
	if !ts.Status.Completed() {
		if desired == ts.AvailableReplicas {
			if passedDuration(c.ex, c.now) || c.terminating {
				ts.Status = argov1.TemplateStatusSuccessful
			} else {
				ts.Status = argov1.TemplateStatusRunning
			}
		} else {
			from := c.now
			if ts.LastTransitionTime != nil {
				from = ts.LastTransitionTime.Time
			}
			deadline := rolloutspec.ExperimentProgressDeadline(c.ex)
			switch {
			case c.now.After(from.Add(time.Duration(deadline) * time.Second)):
				ts.Status = argov1.TemplateStatusFailed
				ts.Message = fmt.Sprintf("Template '%s' exceeded its progressDeadlineSeconds (%d)", t.Name, deadline)
			case c.terminating:
				ts.Status = argov1.TemplateStatusSuccessful
			default:
				ts.Status = argov1.TemplateStatusProgressing
			}
		}
	}
	if prev.Status != ts.Status {
		msg := fmt.Sprintf("Template '%s' transitioned from %s -> %s", t.Name, prev.Status, ts.Status)
		if ts.Message != "" {
			msg += ": " + ts.Message
		}
		typ := corev1.EventTypeNormal
		if ts.Status == argov1.TemplateStatusFailed || ts.Status == argov1.TemplateStatusError {
			typ = corev1.EventTypeWarning
		}
		c.event(typ, "Template"+string(ts.Status), "%s", msg)
	}
	setTemplateStatus(c.st, *ts)
}

func rsReplicas(rs *appsv1.ReplicaSet) int32 { return ptr.Deref(rs.Spec.Replicas, 1) }

// newReplicaSet is Argo's newReplicaSetFromTemplate: named
// EXPERIMENT-TEMPLATE, the template's labels plus its own
// rollouts-pod-template-hash (so it never shares Pods with the Rollout's
// ReplicaSet of the same template), annotated with the Experiment and the
// template.
func newReplicaSet(ex *argov1.Experiment, t argov1.ExperimentTemplate, collisionCount *int32, replicas int32) *appsv1.ReplicaSet {
	tmpl := *t.Template.DeepCopy()
	delete(tmpl.Labels, argov1.LabelPodTemplateHash)
	hash := rolloutspec.PodTemplateHash(&tmpl, collisionCount)
	tmpl.Labels = maps.Clone(tmpl.Labels)
	if tmpl.Labels == nil {
		tmpl.Labels = map[string]string{}
	}
	tmpl.Labels[argov1.LabelPodTemplateHash] = hash
	sel := t.Selector.DeepCopy()
	if sel.MatchLabels == nil {
		sel.MatchLabels = map[string]string{}
	}
	sel.MatchLabels[argov1.LabelPodTemplateHash] = hash
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            ex.Name + "-" + t.Name,
			Namespace:       ex.Namespace,
			Labels:          maps.Clone(tmpl.Labels),
			Annotations:     map[string]string{argov1.ExperimentNameAnnotationKey: ex.Name, argov1.ExperimentTemplateNameAnnotationKey: t.Name},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ex, argov1.GroupVersion.WithKind(Kind))},
		},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(replicas), MinReadySeconds: t.MinReadySeconds, Selector: sel, Template: tmpl},
	}
}

// createReplicaSet creates the template's ReplicaSet; one already there
// (a cache that had not seen it yet) is taken when the Experiment
// controls it.
func (c *cycle) createReplicaSet(t argov1.ExperimentTemplate, collisionCount *int32, replicas int32) (*appsv1.ReplicaSet, error) {
	if c.terminating {
		replicas = 0
	}
	rs := newReplicaSet(c.ex, t, collisionCount, replicas)
	err := c.r.Client.Create(c.ctx, rs)
	if apierrors.IsAlreadyExists(err) {
		existing := &appsv1.ReplicaSet{}
		if gerr := c.r.APIReader.Get(c.ctx, client.ObjectKeyFromObject(rs), existing); gerr != nil {
			return nil, gerr
		}
		if ownedTemplate(c.ex, existing) != t.Name {
			return nil, fmt.Errorf("ReplicaSet %s exists and is not this experiment's: delete it or rename the experiment", rs.Name)
		}
		return existing, nil
	}
	if err != nil {
		c.event(corev1.EventTypeWarning, "ReplicaSetCreateError", "Failed to create new replica set %q: %v", rs.Name, err)
		return nil, err
	}
	if replicas > 0 {
		c.event(corev1.EventTypeNormal, "NewReplicaSetCreated", "Created ReplicaSet %s with size %d", rs.Name, replicas)
	}
	return rs, nil
}

// scaleTemplate scales the template's ReplicaSet to desired; a scale to 0
// waits for the scale-down deadline it stamps first (scaleDownDelaySeconds,
// so a router still sending to the Service has time to stop).
func (c *cycle) scaleTemplate(rs *appsv1.ReplicaSet, t argov1.ExperimentTemplate, ts *argov1.ExperimentTemplateStatus, desired int32) {
	if desired == 0 {
		left, err := c.scaleDownDelayLeft(rs)
		if err != nil {
			ts.Status = argov1.TemplateStatusError
			ts.Message = fmt.Sprintf("Unable to scale ReplicaSet for template '%s' to desired replica count '0': %v", t.Name, err)
			return
		}
		if left > 0 {
			c.wakeIn(left)
			return
		}
	}
	from := rsReplicas(rs)
	patch := client.MergeFrom(rs.DeepCopy())
	rs.Spec.Replicas = ptr.To(desired)
	if err := c.r.Client.Patch(c.ctx, rs, patch); err != nil {
		if apierrors.IsConflict(err) {
			c.wakeIn(time.Second)
			return
		}
		ts.Status = argov1.TemplateStatusError
		ts.Message = fmt.Sprintf("Unable to scale ReplicaSet for template '%s' to desired replica count '%d': %v", t.Name, desired, err)
		c.event(corev1.EventTypeWarning, "ReplicaSetUpdateError", "Failed to scale %s: %v", rs.Name, err)
		return
	}
	op := "up"
	if desired < from {
		op = "down"
	}
	c.event(corev1.EventTypeNormal, "ScalingReplicaSet", "Scaled %s ReplicaSet %s from %d to %d", op, rs.Name, from, desired)
}

// scaleDownDelayLeft stamps the scale-down deadline on rs when it has
// none (or drops it when the delay is 0) and returns the time left.
func (c *cycle) scaleDownDelayLeft(rs *appsv1.ReplicaSet) (time.Duration, error) {
	delay := time.Duration(rolloutspec.ExperimentScaleDownDelay(c.ex)) * time.Second
	stamped, has := rs.Annotations[AnnotationScaleDownDeadline]
	if delay == 0 {
		if has {
			patch := client.MergeFrom(rs.DeepCopy())
			delete(rs.Annotations, AnnotationScaleDownDeadline)
			if err := c.r.Client.Patch(c.ctx, rs, patch); err != nil {
				return 0, err
			}
		}
		return 0, nil
	}
	if !has {
		patch := client.MergeFrom(rs.DeepCopy())
		if rs.Annotations == nil {
			rs.Annotations = map[string]string{}
		}
		stamped = c.now.Add(delay).UTC().Format(time.RFC3339)
		rs.Annotations[AnnotationScaleDownDeadline] = stamped
		if err := c.r.Client.Patch(c.ctx, rs, patch); err != nil {
			return 0, err
		}
	}
	deadline, err := time.Parse(time.RFC3339, stamped)
	if err != nil {
		return 0, fmt.Errorf("annotation %s on ReplicaSet %s is %q, not an RFC 3339 time: %w", AnnotationScaleDownDeadline, rs.Name, stamped, err)
	}
	return deadline.Sub(c.now), nil
}

// ensureService makes the template's Service: the ReplicaSet's name (or
// service.name), selecting its Pods, one port per container port. A
// template without ports gets none, as in Argo.
func (c *cycle) ensureService(t argov1.ExperimentTemplate, ts *argov1.ExperimentTemplateStatus, rs *appsv1.ReplicaSet) {
	var ports []corev1.ServicePort
	for _, ctr := range rs.Spec.Template.Spec.Containers {
		for _, p := range ctr.Ports {
			ports = append(ports, corev1.ServicePort{Name: p.Name, Protocol: p.Protocol, Port: p.ContainerPort, TargetPort: intstr.FromInt32(p.ContainerPort)})
		}
	}
	if len(ports) == 0 {
		return
	}
	name := rs.Name
	if t.Service.Name != "" {
		name = t.Service.Name
	}
	if svc := c.services[t.Name]; svc != nil && svc.Name == name {
		ts.ServiceName, ts.PodTemplateHash = svc.Name, rs.Labels[argov1.LabelPodTemplateHash]
		return
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: c.ex.Namespace,
			Annotations:     map[string]string{argov1.ExperimentNameAnnotationKey: c.ex.Name, argov1.ExperimentTemplateNameAnnotationKey: t.Name},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(c.ex, argov1.GroupVersion.WithKind(Kind))},
		},
		Spec: corev1.ServiceSpec{Selector: maps.Clone(rs.Labels), Ports: ports},
	}
	err := c.r.Client.Create(c.ctx, svc)
	if apierrors.IsAlreadyExists(err) {
		existing := &corev1.Service{}
		if err = c.r.APIReader.Get(c.ctx, client.ObjectKeyFromObject(svc), existing); err == nil && ownedTemplate(c.ex, existing) != t.Name {
			err = fmt.Errorf("the Service %s exists and is not this experiment template's: rename service.name or delete it", name)
		}
	}
	if err != nil {
		ts.Status = argov1.TemplateStatusError
		ts.Message = fmt.Sprintf("Failed to create Service %s for template '%s': %v", name, t.Name, err)
		return
	}
	c.services[t.Name] = svc
	ts.ServiceName, ts.PodTemplateHash = name, rs.Labels[argov1.LabelPodTemplateHash]
}

// deleteService deletes the template's Service, if it has one.
func (c *cycle) deleteService(template string, ts *argov1.ExperimentTemplateStatus) {
	svc := c.services[template]
	if svc == nil {
		return
	}
	if err := c.r.Client.Delete(c.ctx, svc); client.IgnoreNotFound(err) != nil {
		ts.Status = argov1.TemplateStatusError
		ts.Message = fmt.Sprintf("Failed to delete Service for template '%s': %v", template, err)
		return
	}
	delete(c.services, template)
	ts.ServiceName, ts.PodTemplateHash = "", ""
}
