package rollout

import (
	"fmt"
	"time"

	"github.com/argolite/argolite/shared/rolloutspec"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// restartCheck is how soon a restart that could not evict every old Pod
// looks again (Argo's restartPodCheckTime is 30 s; Pods usually turn ready
// sooner, and a ReplicaSet's Pod events wake the Rollout anyway).
const restartCheck = 5 * time.Second

// restartPods restarts the Pods created before spec.restartAt, as Argo's
// pod restarter does: it evicts as many at a time as leave
// max(replicas, Pods wanted) - max(maxUnavailable, 1) available, so a
// PodDisruptionBudget is honoured, and records status.restartedAt once no
// Pod older than restartAt is left.
func (c *cycle) restartPods(rss []*appsv1.ReplicaSet) error {
	ro := c.ro
	at := ro.Spec.RestartAt
	if at == nil || (ro.Status.RestartedAt != nil && ro.Status.RestartedAt.Equal(at)) {
		return nil
	}
	if !c.now.After(at.Time) {
		c.wakeIn(at.Sub(c.now) + time.Second)
		return nil
	}
	pods, err := c.rolloutPods(rss)
	if err != nil {
		return err
	}
	replicas := rolloutspec.Replicas(ro)
	var wanted int32
	for _, rs := range rss {
		wanted += rsReplicas(rs)
	}
	var available int32
	for _, p := range pods {
		if p.DeletionTimestamp == nil && podAvailable(p, ro.Spec.MinReadySeconds, c.now) {
			available++
		}
	}
	maxUnavailable, err := intstr.GetScaledValueFromIntOrPercent(rolloutspec.MaxUnavailableOrDefault(ro), int(replicas), false)
	if err != nil {
		return &specError{msg: fmt.Sprintf("maxUnavailable: %v", err)}
	}
	canRestart := available - (max(replicas, wanted) - max(int32(maxUnavailable), 1))
	old, evicted := 0, 0
	for _, p := range pods {
		if !p.CreationTimestamp.Before(at) {
			continue
		}
		old++
		if canRestart <= 0 || p.DeletionTimestamp != nil {
			continue
		}
		ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace}}
		if err := c.r.Client.SubResource("eviction").Create(c.ctx, p, ev); err != nil {
			if apierrors.IsTooManyRequests(err) || apierrors.IsNotFound(err) {
				// A PodDisruptionBudget says not now, or it is gone already.
				continue
			}
			return fmt.Errorf("evicting Pod %s/%s to restart rollout %s: %w", p.Namespace, p.Name, ro.Name, err)
		}
		c.log.Info("restarting a Pod older than restartAt", "pod", p.Name, "createdAt", p.CreationTimestamp.UTC(), "restartAt", at.UTC())
		canRestart--
		evicted++
	}
	if old > evicted {
		c.wakeIn(restartCheck)
		return nil
	}
	if evicted > 0 {
		// The evicted Pods are still there: the next cycle sees them gone.
		c.wakeIn(restartCheck)
		return nil
	}
	ro.Status.RestartedAt = at.DeepCopy()
	c.event(corev1.EventTypeNormal, "RolloutRestarted", "Restarted every Pod created before %s", at.UTC().Format(time.RFC3339))
	return nil
}

// rolloutPods are the Pods of the Rollout's ReplicaSets, read from the API
// server: the agent's cache holds only the Pods of its workflows.
func (c *cycle) rolloutPods(rss []*appsv1.ReplicaSet) ([]*corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(c.ro.Spec.Selector)
	if err != nil {
		return nil, &specError{msg: fmt.Sprintf("spec.selector: %v", err)}
	}
	var list corev1.PodList
	if err := c.r.APIReader.List(c.ctx, &list, client.InNamespace(c.ro.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, fmt.Errorf("listing the Pods of rollout %s/%s: %w", c.ro.Namespace, c.ro.Name, err)
	}
	owners := map[types.UID]bool{}
	for _, rs := range rss {
		owners[rs.UID] = true
	}
	var out []*corev1.Pod
	for i := range list.Items {
		if ref := metav1.GetControllerOf(&list.Items[i]); ref != nil && owners[ref.UID] {
			out = append(out, &list.Items[i])
		}
	}
	return out, nil
}

// podAvailable is the Deployment controller's test: Ready for at least
// minReadySeconds.
func podAvailable(p *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady {
			return cond.Status == corev1.ConditionTrue &&
				(minReadySeconds == 0 || !cond.LastTransitionTime.Add(time.Duration(minReadySeconds)*time.Second).After(now))
		}
	}
	return false
}
