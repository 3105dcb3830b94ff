package rollout

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/rolloutspec"
)

// Argo's condition reasons this package sets.
const (
	reasonReplicaSetUpdated = "ReplicaSetUpdated"
	reasonNewRSAvailable    = "NewReplicaSetAvailable"
	reasonTimedOut          = "ProgressDeadlineExceeded"
	reasonAborted           = "RolloutAborted"
	reasonPaused            = "RolloutPaused"
	reasonAvailable         = "AvailableReason"
	reasonHealthy           = "RolloutHealthy"
	reasonAnalysisFailed    = "AnalysisRunFailed"
)

func (c *cycle) condition(t argov1.RolloutConditionType) *argov1.RolloutCondition {
	for i := range c.ro.Status.Conditions {
		if c.ro.Status.Conditions[i].Type == t {
			return &c.ro.Status.Conditions[i]
		}
	}
	return nil
}

// setCondition sets a condition; lastUpdateTime moves when anything about
// it changes, lastTransitionTime when its status does (as Argo's).
func (c *cycle) setCondition(t argov1.RolloutConditionType, status corev1.ConditionStatus, reason, msg string) {
	now := metav1.Time{Time: c.now}
	cond := c.condition(t)
	if cond == nil {
		c.ro.Status.Conditions = append(c.ro.Status.Conditions, argov1.RolloutCondition{
			Type: t, Status: status, Reason: reason, Message: msg, LastUpdateTime: now, LastTransitionTime: now,
		})
		return
	}
	if cond.Status == status && cond.Reason == reason && cond.Message == msg {
		return
	}
	if cond.Status != status {
		cond.LastTransitionTime = now
	}
	cond.Status, cond.Reason, cond.Message, cond.LastUpdateTime = status, reason, msg, now
}

func (c *cycle) setProgressing(status corev1.ConditionStatus, reason, msg string) {
	c.setCondition(argov1.RolloutProgressing, status, reason, msg)
}

// touchProgressing records progress: the deadline counts from now.
func (c *cycle) touchProgressing(msg string) {
	cond := c.condition(argov1.RolloutProgressing)
	if cond == nil || cond.Reason != reasonReplicaSetUpdated || cond.Message != msg || cond.Status != corev1.ConditionTrue {
		c.setProgressing(corev1.ConditionTrue, reasonReplicaSetUpdated, msg)
		return
	}
	cond.LastUpdateTime = metav1.Time{Time: c.now}
}

// fullyPromoted says the current revision is the stable (and, blue/green,
// the active) one.
func fullyPromoted(ro *argov1.Rollout) bool {
	st := &ro.Status
	if ro.Spec.Strategy.BlueGreen != nil && st.BlueGreen.ActiveSelector != st.CurrentPodHash {
		return false
	}
	return st.StableRS != "" && st.StableRS == st.CurrentPodHash
}

// report writes the replica counts, conditions, phase and message, as
// Argo's syncRolloutStatus, and checks the progress deadline.
func (c *cycle) report(newRS *appsv1.ReplicaSet, rss []*appsv1.ReplicaSet) {
	ro := c.ro
	st := &ro.Status
	prev := *st.DeepCopy()
	st.Replicas, st.ReadyReplicas, st.AvailableReplicas = 0, 0, 0
	for _, rs := range rss {
		st.Replicas += rs.Status.Replicas
		st.ReadyReplicas += rs.Status.ReadyReplicas
		st.AvailableReplicas += rs.Status.AvailableReplicas
	}
	st.UpdatedReplicas = newRS.Status.Replicas
	st.HPAReplicas = st.Replicas
	st.Selector = metav1.FormatLabelSelector(ro.Spec.Selector)
	c.observed()

	replicas := rolloutspec.Replicas(ro)
	minAvailable := replicas - maxUnavailable(ro)
	if st.AvailableReplicas >= minAvailable {
		c.setCondition(argov1.RolloutAvailable, corev1.ConditionTrue, reasonAvailable, "Rollout has minimum availability")
	} else {
		c.setCondition(argov1.RolloutAvailable, corev1.ConditionFalse, reasonAvailable, "Rollout does not have minimum availability")
	}

	paused := ro.Spec.Paused || len(st.PauseConditions) > 0
	if paused {
		if cond := c.condition(argov1.RolloutPausedCond); cond == nil || cond.Status != corev1.ConditionTrue {
			c.setCondition(argov1.RolloutPausedCond, corev1.ConditionTrue, reasonPaused, "Rollout is paused")
			if ro.Spec.Paused && !st.ControllerPause {
				c.event(corev1.EventTypeNormal, reasonPaused, "Rollout is paused")
			}
		}
	} else if cond := c.condition(argov1.RolloutPausedCond); cond != nil && cond.Status == corev1.ConditionTrue {
		c.setCondition(argov1.RolloutPausedCond, corev1.ConditionFalse, "RolloutResumed", "Rollout is resumed")
	}

	c.progress(newRS, &prev, paused)

	st.Phase, st.Message = phase(ro)
	healthy := st.Phase == argov1.RolloutPhaseHealthy
	if healthy {
		c.setCondition(argov1.RolloutHealthy, corev1.ConditionTrue, reasonHealthy, "Rollout is healthy")
	} else {
		c.setCondition(argov1.RolloutHealthy, corev1.ConditionFalse, reasonHealthy, "Rollout is not healthy")
	}
}

// progress keeps the Progressing condition: successfully progressed once
// the update is complete, Unknown while paused, its deadline counted from
// the last change of the replica counts, and ProgressDeadlineExceeded (with
// progressDeadlineAbort, an abort) once that deadline passed.
func (c *cycle) progress(newRS *appsv1.ReplicaSet, prev *argov1.RolloutStatus, paused bool) {
	ro := c.ro
	st := &ro.Status
	cond := c.condition(argov1.RolloutProgressing)
	if cond != nil && (cond.Reason == reasonAborted || cond.Reason == reasonAnalysisFailed) && st.Abort {
		return
	}
	replicas := rolloutspec.Replicas(ro)
	complete := fullyPromoted(ro) && st.UpdatedReplicas == replicas && st.AvailableReplicas >= replicas &&
		(trafficRouted(ro) || ro.Spec.Strategy.BlueGreen != nil || st.Replicas == st.UpdatedReplicas)
	switch {
	case complete:
		c.setProgressing(corev1.ConditionTrue, reasonNewRSAvailable, fmt.Sprintf("ReplicaSet %q has successfully progressed.", newRS.Name))
		return
	case paused:
		c.setProgressing(corev1.ConditionUnknown, reasonPaused, "Rollout is paused")
		return
	case cond != nil && cond.Reason == reasonTimedOut:
		return // stays timed out until the template changes or it completes
	}
	moved := cond == nil || cond.Reason != reasonReplicaSetUpdated ||
		prev.UpdatedReplicas != st.UpdatedReplicas || prev.ReadyReplicas != st.ReadyReplicas ||
		prev.AvailableReplicas != st.AvailableReplicas || prev.Replicas != st.Replicas ||
		!ptr.Equal(prev.CurrentStepIndex, st.CurrentStepIndex)
	msg := fmt.Sprintf("ReplicaSet %q is progressing.", newRS.Name)
	if moved {
		c.touchProgressing(msg)
		cond = c.condition(argov1.RolloutProgressing)
	}
	deadline := time.Duration(rolloutspec.ProgressDeadline(ro)) * time.Second
	left := cond.LastUpdateTime.Add(deadline).Sub(c.now)
	if left > 0 {
		c.wakeIn(left)
		return
	}
	timedOut := fmt.Sprintf("ReplicaSet %q has timed out progressing.", newRS.Name)
	c.setProgressing(corev1.ConditionFalse, reasonTimedOut, timedOut)
	c.event(corev1.EventTypeWarning, reasonTimedOut, "%s", timedOut)
	if ro.Spec.ProgressDeadlineAbort && !st.Abort && st.StableRS != "" && st.StableRS != st.CurrentPodHash {
		st.Abort = true
		st.AbortedAt = &metav1.Time{Time: c.now}
		c.wakeIn(time.Millisecond) // scale back to stable now
	}
}

// phase is Argo's CalculateRolloutPhase.
func phase(ro *argov1.Rollout) (argov1.RolloutPhase, string) {
	st := &ro.Status
	for _, cond := range st.Conditions {
		if cond.Type == argov1.InvalidSpec {
			return argov1.RolloutPhaseDegraded, "InvalidSpec: " + cond.Message
		}
		switch cond.Reason {
		case reasonAborted, reasonTimedOut:
			return argov1.RolloutPhaseDegraded, cond.Reason + ": " + cond.Message
		}
	}
	if ro.Spec.Paused {
		return argov1.RolloutPhasePaused, "manually paused"
	}
	for _, p := range st.PauseConditions {
		return argov1.RolloutPhasePaused, string(p.Reason)
	}
	if st.UpdatedReplicas < rolloutspec.Replicas(ro) {
		return argov1.RolloutPhaseProgressing, "more replicas need to be updated"
	}
	if st.AvailableReplicas < st.UpdatedReplicas {
		return argov1.RolloutPhaseProgressing, "updated replicas are still becoming available"
	}
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		if st.BlueGreen.ActiveSelector == "" || st.BlueGreen.ActiveSelector != st.CurrentPodHash {
			return argov1.RolloutPhaseProgressing, "active service cutover pending"
		}
		if st.StableRS == "" || !fullyPromoted(ro) {
			if bg.PostPromotionAnalysis != nil && (st.BlueGreen.PostPromotionAnalysisRunStatus == nil || !st.BlueGreen.PostPromotionAnalysisRunStatus.Status.Completed()) {
				return argov1.RolloutPhaseProgressing, "waiting for analysis to complete"
			}
			return argov1.RolloutPhaseProgressing, "waiting for post-promotion verification to complete"
		}
	} else if ro.Spec.Strategy.Canary != nil {
		if !trafficRouted(ro) && st.Replicas > st.UpdatedReplicas {
			return argov1.RolloutPhaseProgressing, "old replicas are pending termination"
		}
		if st.StableRS == "" || !fullyPromoted(ro) {
			return argov1.RolloutPhaseProgressing, "waiting for all steps to complete"
		}
	}
	return argov1.RolloutPhaseHealthy, ""
}

// abortMessage is Argo's "Rollout aborted update to revision N", with the
// reason when the progress deadline caused it (progressDeadlineAbort).
func (c *cycle) abortMessage(newRS *appsv1.ReplicaSet) string {
	msg := fmt.Sprintf("Rollout aborted update to revision %d", revisionOf(newRS))
	if cond := c.condition(argov1.RolloutProgressing); cond != nil && cond.Reason == reasonTimedOut {
		msg += ": " + reasonTimedOut + ": " + cond.Message
	}
	return msg
}
