package rollout

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/rolloutspec"
)

// syncCanary scales the canary and the stable for the current step, points
// the Services and the routes' weights at them, then moves the steps on when
// the step's condition holds, as Argo's canary reconciler does: a step
// completes only once the Pods it asked for are available (and, with
// traffic routing, its weight is set).
func (c *cycle) syncCanary(newRS, stableRS *appsv1.ReplicaSet, olds []*appsv1.ReplicaSet) error {
	ro := c.ro
	st := &ro.Status
	strategy := ro.Spec.Strategy.Canary
	if !stableExists(newRS, stableRS) {
		return c.canaryAtStable(newRS, stableRS, olds)
	}
	if err := c.canaryServices(newRS.Labels[LabelPodTemplateHash], st.StableRS); err != nil {
		return err
	}
	if st.Abort {
		return c.abortCanary(newRS, stableRS, olds)
	}
	var newCount, stableCount int32
	if trafficRouted(ro) {
		newCount, stableCount = trafficRoutedCanaryReplicas(ro, newRS, stableRS, st.Canary.Weights)
	} else {
		newCount, stableCount = basicCanaryReplicas(ro, newRS, stableRS, olds)
	}
	if err := c.scale(newRS, newCount, strategy.CanaryMetadata); err != nil {
		return err
	}
	if err := c.scale(stableRS, stableCount, strategy.StableMetadata); err != nil {
		return err
	}
	if err := c.scaleDownOlds(olds); err != nil {
		return err
	}
	outcome, err := c.reconcileExperiments(newRS, stableRS, append([]*appsv1.ReplicaSet{newRS, stableRS}, olds...))
	if err != nil {
		return err
	}
	if outcome == analysisAborted {
		return c.abortCanary(newRS, stableRS, olds)
	}
	c.experimentOutcome = outcome
	if trafficRouted(ro) {
		if err := c.canaryWeight(newRS); err != nil {
			return err
		}
	}
	if err := c.backgroundAnalysis(newRS, stableRS); err != nil || st.Abort {
		return err
	}
	if ro.Spec.Paused {
		return nil
	}
	return c.stepCanary(newRS, stableRS, olds)
}

// canaryAtStable runs the first revision, or everything back at the stable
// one: no steps, all weight to stable, older revisions scaled down.
func (c *cycle) canaryAtStable(newRS, stableRS *appsv1.ReplicaSet, olds []*appsv1.ReplicaSet) error {
	ro := c.ro
	st := &ro.Status
	strategy := ro.Spec.Strategy.Canary
	hash := newRS.Labels[LabelPodTemplateHash]
	if err := c.scale(newRS, rolloutspec.Replicas(ro), strategy.StableMetadata); err != nil {
		return err
	}
	ready := newRS.Status.AvailableReplicas >= rolloutspec.Replicas(ro)
	if stableRS == nil && !ready {
		// The first revision: the Services follow once its Pods are up.
		return c.scaleDownOlds(olds)
	}
	if err := c.canaryServices(hash, hash); err != nil {
		return err
	}
	if trafficRouted(ro) {
		if err := c.setWeight(0); err != nil {
			return err
		}
		if err := c.removeHeaderRoutes(); err != nil {
			return err
		}
	}
	if err := c.terminateRun(runBackground); err != nil {
		return err
	}
	if err := c.terminateRun(runStep); err != nil {
		return err
	}
	st.CurrentStepIndex = ptrInt32(int32(len(strategy.Steps)))
	if _, err := c.reconcileExperiments(newRS, stableRS, append([]*appsv1.ReplicaSet{newRS, stableRS}, olds...)); err != nil {
		return err
	}
	if stableRS == nil {
		c.promoted(newRS, "Initial deploy")
	}
	st.Abort, st.AbortedAt = false, nil
	return c.scaleDownOlds(olds)
}

// scaleDownOlds scales down the ReplicaSets older than stable and canary:
// at once without traffic routing (every Pod serves), else after
// scaleDownDelaySeconds (the old stable may still take requests while the
// router catches up).
func (c *cycle) scaleDownOlds(olds []*appsv1.ReplicaSet) error {
	if trafficRouted(c.ro) {
		return c.scaleDownPrevious(olds, scaleDownDelay(c.ro))
	}
	for _, rs := range olds {
		if err := c.scale(rs, 0, nil); err != nil {
			return err
		}
	}
	return nil
}

// canaryServices points canaryService at the canary and stableService at
// the stable revision.
func (c *cycle) canaryServices(canaryHash, stableHash string) error {
	cs := c.ro.Spec.Strategy.Canary
	if cs.StableService != "" && stableHash != "" {
		if err := c.switchService(cs.StableService, stableHash); err != nil {
			return err
		}
	}
	if cs.CanaryService != "" && canaryHash != "" {
		return c.switchService(cs.CanaryService, canaryHash)
	}
	return nil
}

// canaryWeight sets the routes' weight for the current step; a raise waits
// until the canary has the Pods for it available, so no request goes to a
// Pod that is not ready.
func (c *cycle) canaryWeight(newRS *appsv1.ReplicaSet) error {
	ro := c.ro
	want := desiredCanaryWeight(ro, newRS, nil)
	current := int32(0)
	if w := ro.Status.Canary.Weights; w != nil {
		current = w.Canary.Weight
	}
	if want > current && newRS.Status.AvailableReplicas < trafficWeightToReplicas(rolloutspec.Replicas(ro), want, rolloutspec.MaxTrafficWeight(ro)) {
		want = current
	}
	return c.setWeight(want)
}

// abortCanary sends everything back to stable: analysis terminated, the
// weight to 0 and the header routes removed first, then the canary scaled
// down (with traffic routing, after abortScaleDownDelaySeconds).
func (c *cycle) abortCanary(newRS, stableRS *appsv1.ReplicaSet, olds []*appsv1.ReplicaSet) error {
	ro := c.ro
	st := &ro.Status
	strategy := ro.Spec.Strategy.Canary
	st.CurrentStepIndex = ptrInt32(0)
	st.PauseConditions, st.ControllerPause = nil, false
	if err := c.terminateRun(runStep); err != nil {
		return err
	}
	if err := c.terminateRun(runBackground); err != nil {
		return err
	}
	if _, err := c.reconcileExperiments(newRS, stableRS, nil); err != nil {
		return err
	}
	c.extraWeights = nil
	if trafficRouted(ro) {
		if err := c.setWeight(0); err != nil {
			return err
		}
		if err := c.removeHeaderRoutes(); err != nil {
			return err
		}
	}
	if err := c.scale(stableRS, rolloutspec.Replicas(ro), strategy.StableMetadata); err != nil {
		return err
	}
	if trafficRouted(ro) {
		delay, _ := abortScaleDownDelay(ro)
		left, err := c.scaleDownLater(newRS, time.Duration(ptr.Deref(delay, 0))*time.Second)
		if err != nil {
			return err
		}
		c.wakeIn(left)
	} else {
		newCount, _ := basicCanaryReplicas(ro, newRS, stableRS, olds)
		if err := c.scale(newRS, newCount, strategy.CanaryMetadata); err != nil {
			return err
		}
	}
	if err := c.scaleDownOlds(olds); err != nil {
		return err
	}
	if cond := c.condition(argov1.RolloutProgressing); cond == nil || (cond.Reason != reasonAborted) {
		msg := c.abortMessage(newRS)
		c.setProgressing(corev1.ConditionFalse, reasonAborted, msg)
		c.event(corev1.EventTypeWarning, reasonAborted, "%s", msg)
	}
	return nil
}

// backgroundAnalysis runs the canary's background analysis from its
// startingStep on; a failure aborts, inconclusive pauses.
func (c *cycle) backgroundAnalysis(newRS, stableRS *appsv1.ReplicaSet) error {
	bg := c.ro.Spec.Strategy.Canary.Analysis
	if bg == nil {
		return nil
	}
	_, idx := currentStep(c.ro)
	if start := ptr.Deref(bg.StartingStep, 0); idx != nil && *idx < start {
		return nil
	}
	run, err := c.runFor(runBackground, &bg.RolloutAnalysis, newRS, stableRS, nil)
	if err != nil {
		return err
	}
	if c.judge(run, newRS) == analysisAborted {
		return c.abortCanary(newRS, stableRS, nil)
	}
	return nil
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
			return c.finishCanary(newRS, stableRS, olds, "Full promotion requested")
		}
		return nil
	}
	step, idx := currentStep(ro)
	if step == nil {
		if at && c.weightAt(rolloutspec.MaxTrafficWeight(ro)) {
			return c.finishCanary(newRS, stableRS, olds, fmt.Sprintf("Completed all %d canary steps", len(steps)))
		}
		return nil
	}
	done := false
	switch {
	case step.SetWeight != nil:
		done = at && c.weightAt(*step.SetWeight)
	case step.Pause != nil:
		done = c.pauseStepDone(step.Pause)
	case step.SetCanaryScale != nil:
		done = at
	case step.SetHeaderRoute != nil:
		if err := c.setHeaderRoute(step.SetHeaderRoute); err != nil {
			return err
		}
		done = true
	case step.Experiment != nil:
		switch c.experimentOutcome {
		case analysisPassed:
			done = true
			if st.ControllerPause {
				c.resumed()
			}
			st.Canary.CurrentExperiment = ""
		}
	case step.Analysis != nil:
		run, err := c.runFor(runStep, step.Analysis, newRS, stableRS, idx)
		if err != nil {
			return err
		}
		switch c.judge(run, newRS) {
		case analysisAborted:
			return c.abortCanary(newRS, stableRS, olds)
		case analysisPassed:
			done = true
			if st.ControllerPause {
				c.resumed()
			}
		}
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
	// The next step's scale and weight are set by the next cycle, right away.
	c.wakeIn(time.Millisecond)
	return nil
}

// weightAt says the routes carry weight w to the canary (always true for a
// replica-weighted canary).
func (c *cycle) weightAt(w int32) bool {
	if !trafficRouted(c.ro) {
		return true
	}
	return c.ro.Status.Canary.Weights != nil && c.ro.Status.Canary.Weights.Canary.Weight == min(w, rolloutspec.MaxTrafficWeight(c.ro))
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
	d, err := rolloutspec.PauseDuration(p)
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

// finishCanary makes the canary the stable: the stable Service to it, all
// weight back to the stable Service, header routes and background analysis
// ended, the old stable scaled down (after scaleDownDelaySeconds with
// traffic routing).
func (c *cycle) finishCanary(newRS, stableRS *appsv1.ReplicaSet, olds []*appsv1.ReplicaSet, how string) error {
	ro := c.ro
	hash := newRS.Labels[LabelPodTemplateHash]
	if err := c.scale(newRS, rolloutspec.Replicas(ro), ro.Spec.Strategy.Canary.StableMetadata); err != nil {
		return err
	}
	if err := c.canaryServices(hash, hash); err != nil {
		return err
	}
	c.promoted(newRS, how)
	if trafficRouted(ro) {
		if err := c.setWeight(0); err != nil {
			return err
		}
		if err := c.removeHeaderRoutes(); err != nil {
			return err
		}
	}
	if err := c.terminateRun(runBackground); err != nil {
		return err
	}
	return c.scaleDownOlds(append([]*appsv1.ReplicaSet{stableRS}, olds...))
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
