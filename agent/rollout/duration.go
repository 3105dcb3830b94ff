package rollout

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// startDuration times a new update, as Argo's status.duration: a new
// revision starts a new one, except a return to the stable revision in the
// middle of an update, which ends that update at once as FastRollbacked.
// A rollback (to a revision older than the stable) is marked so from its
// start: Rollbacked, or FastRollbacked within rollbackWindow.
func (c *cycle) startDuration(newRS, stableRS *appsv1.ReplicaSet, fastRollback bool) {
	st := &c.ro.Status
	now := metav1.NewTime(c.now)
	d := st.Duration
	if stableRS != nil && newRS.Name == stableRS.Name {
		if d != nil && d.FinishedAt == nil {
			c.completeDuration(argov1.CompletionStatusFastRollbacked)
		}
		return
	}
	st.Duration = &argov1.RolloutDurationStatus{RolloutStartedAt: &now}
	if stableRS != nil && revisionOf(newRS) < revisionOf(stableRS) {
		how := argov1.CompletionStatusRollbacked
		if fastRollback {
			how = argov1.CompletionStatusFastRollbacked
		}
		st.Duration.CompletionStatus = &how
	}
}

// restartDuration times a retried update from now.
func (c *cycle) restartDuration() {
	now := metav1.NewTime(c.now)
	c.ro.Status.Duration = &argov1.RolloutDurationStatus{RolloutStartedAt: &now}
}

// trackDuration keeps the manual pause time and ends the update's timing
// when it is aborted or fully promoted; fast says promote --full (or a
// rollback within the window) took it there.
func (c *cycle) trackDuration(fast bool) {
	st := &c.ro.Status
	d := st.Duration
	if d == nil || d.FinishedAt != nil {
		return
	}
	now := metav1.NewTime(c.now)
	if manual := c.waitsForAPerson(); manual && d.ManualPauseStartedAt == nil {
		d.ManualPauseStartedAt = &now
	} else if !manual && d.ManualPauseStartedAt != nil {
		endManualPause(d, c.now)
	}
	switch {
	case st.Abort:
		c.completeDuration(argov1.CompletionStatusAborted)
	case st.StableRS != "" && st.StableRS == st.CurrentPodHash:
		how := argov1.CompletionStatusPromoted
		if fast {
			how = argov1.CompletionStatusFastPromoted
		}
		c.completeDuration(how)
	}
}

// completeDuration ends the update's timing; a rollback keeps the status it
// started with.
func (c *cycle) completeDuration(how argov1.CompletionStatus) {
	d := c.ro.Status.Duration
	if d == nil {
		return
	}
	if d.ManualPauseStartedAt != nil {
		endManualPause(d, c.now)
	}
	now := metav1.NewTime(c.now)
	d.FinishedAt = &now
	if d.CompletionStatus == nil || how == argov1.CompletionStatusAborted {
		d.CompletionStatus = &how
	}
}

// endManualPause adds the pause that began at ManualPauseStartedAt to the
// total, in whole seconds.
func endManualPause(d *argov1.RolloutDurationStatus, now time.Time) {
	secs := int64(now.Sub(d.ManualPauseStartedAt.Time).Seconds())
	d.TotalManualPauseDuration = ptr.To(ptr.Deref(d.TotalManualPauseDuration, 0) + max(secs, 0))
	d.ManualPauseStartedAt = nil
}

// waitsForAPerson says the Rollout waits for a promote: spec.paused, a
// canary pause step without a duration, or a blue/green switch without
// auto-promotion.
func (c *cycle) waitsForAPerson() bool {
	ro := c.ro
	if ro.Spec.Paused {
		return true
	}
	for _, p := range ro.Status.PauseConditions {
		switch p.Reason {
		case argov1.PauseReasonCanaryPauseStep:
			if step, _ := currentStep(ro); step != nil && step.Pause != nil && step.Pause.Duration == nil {
				return true
			}
		case argov1.PauseReasonBlueGreenPause:
			if bg := ro.Spec.Strategy.BlueGreen; bg != nil && bg.AutoPromotionSeconds == 0 {
				return true
			}
		}
	}
	return false
}
