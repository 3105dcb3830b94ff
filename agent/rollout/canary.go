package rollout

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/argolite/argolite/shared/duration"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// syncCanary scales the canary and the stable for the current step, then
// moves the steps on when the step's condition holds, as Argo's canary
// reconciler does: a step completes only once the Pods it asked for are
// available.
func (c *cycle) syncCanary(newRS, stableRS *appsv1.ReplicaSet, olds []*appsv1.ReplicaSet) error {
	ro := c.ro
	st := &ro.Status
	strategy := ro.Spec.Strategy.Canary
	if !stableExists(newRS, stableRS) {
		// The first revision, or back at the stable one: no steps.
		if err := c.scale(newRS, replicasOf(ro), strategy.StableMetadata); err != nil {
			return err
		}
		for _, rs := range olds {
			if err := c.scale(rs, 0, nil); err != nil {
				return err
			}
		}
		st.CurrentStepIndex = ptrInt32(int32(len(strategy.Steps)))
		if stableRS == nil && newRS.Status.AvailableReplicas >= replicasOf(ro) {
			c.promoted(newRS, "Initial deploy")
		}
		st.Abort, st.AbortedAt = false, nil
		return nil
	}
	if st.Abort {
		st.CurrentStepIndex = ptrInt32(0)
		st.PauseConditions, st.ControllerPause = nil, false
	}
	newCount, stableCount := basicCanaryReplicas(ro, newRS, stableRS, olds)
	if err := c.scale(newRS, newCount, strategy.CanaryMetadata); err != nil {
		return err
	}
	if err := c.scale(stableRS, stableCount, strategy.StableMetadata); err != nil {
		return err
	}
	for _, rs := range olds {
		if err := c.scale(rs, 0, nil); err != nil {
			return err
		}
	}
	if st.Abort {
		if c.condition(argov1.RolloutProgressing) == nil || c.condition(argov1.RolloutProgressing).Reason != "RolloutAborted" {
			msg := fmt.Sprintf("Rollout aborted update to revision %d", revisionOf(newRS))
			c.setProgressing(corev1.ConditionFalse, "RolloutAborted", msg)
			c.event(corev1.EventTypeWarning, "RolloutAborted", "%s", msg)
		}
		return nil
	}
	if ro.Spec.Paused {
		return nil
	}
	return c.stepCanary(newRS, stableRS, olds)
}

// stepCanary advances through the steps that are complete, one per cycle
// (each change of scale needs the next cycle's ReplicaSet state).
func (c *cycle) stepCanary(newRS, stableRS *appsv1.ReplicaSet, olds []*appsv1.ReplicaSet) error {
	ro := c.ro
	st := &ro.Status
	steps := ro.Spec.Strategy.Canary.Steps
	at := atDesiredCanaryCounts(ro, newRS, stableRS, olds, st.Canary.Weights)
	if st.PromoteFull {
		if at {
			st.CurrentStepIndex = ptrInt32(int32(len(steps)))
			c.resumed()
			return c.finishCanary(newRS, stableRS, "Full promotion requested")
		}
		return nil
	}
	step, idx := currentStep(ro)
	if step == nil {
		if at {
			return c.finishCanary(newRS, stableRS, fmt.Sprintf("Completed all %d canary steps", len(steps)))
		}
		return nil
	}
	done := false
	switch {
	case step.SetWeight != nil:
		done = at
	case step.Pause != nil:
		done = c.pauseStepDone(step.Pause)
	}
	if !done {
		return nil
	}
	next := *idx + 1
	st.CurrentStepIndex = &next
	c.event(corev1.EventTypeNormal, "RolloutStepCompleted", "Rollout step %d/%d completed (%s)", next, len(steps), describeStep(step))
	if step.Pause != nil {
		c.resumed()
	}
	if int(next) == len(steps) && atDesiredCanaryCounts(ro, newRS, stableRS, olds, st.Canary.Weights) {
		return c.finishCanary(newRS, stableRS, fmt.Sprintf("Completed all %d canary steps", len(steps)))
	}
	// The next step's scale is set by the next cycle, right away.
	c.wakeIn(time.Millisecond)
	return nil
}

// pauseStepDone pauses at a pause step, and says when the pause is over:
// its duration passed, or a promote cleared the pause condition.
func (c *cycle) pauseStepDone(p *argov1.RolloutPause) bool {
	cond := c.pauseCondition(argov1.PauseReasonCanaryPauseStep)
	if !c.ro.Status.ControllerPause {
		c.pause(argov1.PauseReasonCanaryPauseStep)
		cond = c.pauseCondition(argov1.PauseReasonCanaryPauseStep)
	} else if cond == nil {
		return true // promoted
	}
	if p.Duration == nil {
		return false
	}
	d, err := pauseDuration(p)
	if err != nil {
		return false // validation rejects it before
	}
	left := cond.StartTime.Add(d).Sub(c.now)
	if left <= 0 {
		return true
	}
	c.wakeIn(left)
	return false
}

// finishCanary makes the canary the stable and scales the old stable down.
func (c *cycle) finishCanary(newRS, stableRS *appsv1.ReplicaSet, how string) error {
	c.promoted(newRS, how)
	if err := c.scale(newRS, replicasOf(c.ro), c.ro.Spec.Strategy.Canary.StableMetadata); err != nil {
		return err
	}
	return c.scale(stableRS, 0, nil)
}

// pauseDuration reads a pause step's duration: seconds, or a duration
// string such as 30s, 5m or 1h.
func pauseDuration(p *argov1.RolloutPause) (time.Duration, error) {
	if p.Duration == nil {
		return 0, nil
	}
	if p.Duration.Type == 0 {
		return time.Duration(p.Duration.IntVal) * time.Second, nil
	}
	return duration.Parse(p.Duration.StrVal)
}

// describeStep is the step as Argo's Events describe it ("setWeight: 20",
// "pause: 30s", "pause").
func describeStep(s *argov1.CanaryStep) string {
	switch {
	case s.SetWeight != nil:
		return fmt.Sprintf("setWeight: %d", *s.SetWeight)
	case s.Pause != nil && s.Pause.Duration != nil:
		return "pause: " + s.Pause.Duration.String()
	case s.Pause != nil:
		return "pause"
	case s.SetCanaryScale != nil:
		return "setCanaryScale"
	case s.SetHeaderRoute != nil:
		return "setHeaderRoute"
	case s.Analysis != nil:
		return "analysis"
	case s.Experiment != nil:
		return "experiment"
	}
	return "step"
}
