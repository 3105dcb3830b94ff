package rollout

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/rolloutspec"
)

// syncBlueGreen runs the new revision beside the active one behind the
// preview Service, pauses when asked to, and switches the active Service's
// selector on promotion, as Argo's blue/green reconciler does.
func (c *cycle) syncBlueGreen(newRS, activeRS *appsv1.ReplicaSet, olds []*appsv1.ReplicaSet) error {
	ro := c.ro
	st := &ro.Status
	bg := ro.Spec.Strategy.BlueGreen
	replicas := rolloutspec.Replicas(ro)
	if activeRS == nil || activeRS.Name == newRS.Name {
		// The first revision, or everything at the active one.
		if err := c.scale(newRS, replicas, bg.ActiveMetadata); err != nil {
			return err
		}
		if activeRS == nil && newRS.Status.AvailableReplicas < replicas {
			return nil
		}
		if activeRS == nil {
			c.promoted(newRS, "Initial deploy")
		}
		if err := c.switchService(bg.ActiveService, st.CurrentPodHash); err != nil {
			return err
		}
		st.BlueGreen.ActiveSelector = st.CurrentPodHash
		if bg.PreviewService != "" {
			if err := c.switchService(bg.PreviewService, st.CurrentPodHash); err != nil {
				return err
			}
			st.BlueGreen.PreviewSelector = st.CurrentPodHash
		}
		st.Abort, st.AbortedAt = false, nil
		return c.scaleDownPrevious(olds, scaleDownDelay(ro))
	}
	// An update is in progress: the active Service stays on activeRS.
	if err := c.scale(activeRS, replicas, bg.ActiveMetadata); err != nil {
		return err
	}
	if st.Abort {
		st.PauseConditions, st.ControllerPause = nil, false
		if err := c.terminateRun(runPrePromotion); err != nil {
			return err
		}
		if err := c.terminateRun(runPostPromotion); err != nil {
			return err
		}
		stableHash := activeRS.Labels[LabelPodTemplateHash]
		if err := c.switchService(bg.ActiveService, stableHash); err != nil {
			return err
		}
		st.BlueGreen.ActiveSelector = stableHash
		if bg.PreviewService != "" {
			if err := c.switchService(bg.PreviewService, activeRS.Labels[LabelPodTemplateHash]); err != nil {
				return err
			}
			st.BlueGreen.PreviewSelector = activeRS.Labels[LabelPodTemplateHash]
		}
		delay, _ := abortScaleDownDelay(ro)
		left, err := c.scaleDownLater(newRS, time.Duration(ptr.Deref(delay, 0))*time.Second)
		if err != nil {
			return err
		}
		c.wakeIn(left)
		if cond := c.condition(argov1.RolloutProgressing); cond == nil || cond.Reason != reasonAborted {
			msg := c.abortMessage(newRS)
			c.setProgressing(corev1.ConditionFalse, reasonAborted, msg)
			c.event(corev1.EventTypeWarning, reasonAborted, "%s", msg)
		}
		return nil
	}
	if st.BlueGreen.ActiveSelector == st.CurrentPodHash {
		// Switched; the post-promotion analysis decides.
		return c.postPromotion(newRS, activeRS)
	}
	previewCount := replicas
	if bg.PreviewReplicaCount != nil && !st.BlueGreen.ScaleUpPreviewCheckPoint && !st.PromoteFull {
		previewCount = *bg.PreviewReplicaCount
	}
	if err := c.scale(newRS, previewCount, bg.PreviewMetadata); err != nil {
		return err
	}
	if bg.PreviewService != "" && st.BlueGreen.PreviewSelector != st.CurrentPodHash {
		if err := c.switchService(bg.PreviewService, st.CurrentPodHash); err != nil {
			return err
		}
		st.BlueGreen.PreviewSelector = st.CurrentPodHash
	}
	for _, rs := range olds {
		if _, ok := rs.Annotations[AnnotationScaleDownDeadline]; ok {
			continue // a previous active, kept up for its delay
		}
		if err := c.scale(rs, 0, nil); err != nil {
			return err
		}
	}
	if err := c.scaleDownPrevious(olds, scaleDownDelay(ro)); err != nil {
		return err
	}
	if newRS.Status.AvailableReplicas < previewCount || rsReplicas(newRS) != previewCount {
		return nil
	}
	if ro.Spec.Paused {
		return nil
	}
	if !st.PromoteFull && bg.PrePromotionAnalysis != nil {
		run, err := c.runFor(runPrePromotion, bg.PrePromotionAnalysis, newRS, activeRS, nil)
		if err != nil {
			return err
		}
		switch c.judge(run, newRS) {
		case analysisAborted:
			c.wakeIn(time.Millisecond)
			return nil
		case analysisWait, analysisPaused:
			c.blueGreenPauseDone() // the pause runs beside the analysis
			return nil
		}
	}
	if !st.PromoteFull && !c.blueGreenPauseDone() {
		return nil
	}
	if previewCount < replicas || (bg.PreviewReplicaCount != nil && !st.BlueGreen.ScaleUpPreviewCheckPoint && !st.PromoteFull) {
		// Promoted with a smaller preview: scale up before the switch.
		st.BlueGreen.ScaleUpPreviewCheckPoint = true
		c.wakeIn(time.Millisecond)
		return nil
	}
	return c.promoteBlueGreen(newRS, activeRS)
}

// blueGreenPauseDone pauses before the switch when autoPromotionEnabled is
// false (until promoted) or autoPromotionSeconds is set (until they pass).
func (c *cycle) blueGreenPauseDone() bool {
	bg := c.ro.Spec.Strategy.BlueGreen
	st := &c.ro.Status
	auto := ptr.Deref(bg.AutoPromotionEnabled, true)
	if auto && bg.AutoPromotionSeconds == 0 {
		return true
	}
	if st.BlueGreen.ScaleUpPreviewCheckPoint {
		return true // already promoted; scaling the preview up
	}
	cond := c.pauseCondition(argov1.PauseReasonBlueGreenPause)
	if !st.ControllerPause {
		c.pause(argov1.PauseReasonBlueGreenPause)
		cond = c.pauseCondition(argov1.PauseReasonBlueGreenPause)
	} else if cond == nil {
		return true // promoted
	}
	if !auto {
		return false
	}
	left := cond.StartTime.Add(time.Duration(bg.AutoPromotionSeconds) * time.Second).Sub(c.now)
	if left <= 0 {
		return true
	}
	c.wakeIn(left)
	return false
}

// promoteBlueGreen switches the active Service to the new revision; it is
// the stable one at once, or after its post-promotion analysis.
func (c *cycle) promoteBlueGreen(newRS, activeRS *appsv1.ReplicaSet) error {
	ro := c.ro
	st := &ro.Status
	bg := ro.Spec.Strategy.BlueGreen
	if err := c.switchService(bg.ActiveService, st.CurrentPodHash); err != nil {
		return err
	}
	st.BlueGreen.ActiveSelector = st.CurrentPodHash
	c.resumed()
	st.BlueGreen.ScaleUpPreviewCheckPoint = false
	if err := c.scale(newRS, rolloutspec.Replicas(ro), bg.ActiveMetadata); err != nil {
		return err
	}
	return c.postPromotion(newRS, activeRS)
}

// postPromotion makes the switched revision stable, after its
// post-promotion analysis succeeded when there is one (a failure aborts,
// which switches the active Service back), and scales the previous active
// down after scaleDownDelaySeconds.
func (c *cycle) postPromotion(newRS, activeRS *appsv1.ReplicaSet) error {
	ro := c.ro
	st := &ro.Status
	bg := ro.Spec.Strategy.BlueGreen
	if bg.PostPromotionAnalysis != nil && !st.PromoteFull {
		run, err := c.runFor(runPostPromotion, bg.PostPromotionAnalysis, newRS, activeRS, nil)
		if err != nil {
			return err
		}
		switch c.judge(run, newRS) {
		case analysisAborted:
			c.wakeIn(time.Millisecond)
			return nil
		case analysisWait, analysisPaused:
			return nil
		}
	}
	c.promoted(newRS, "Completed blue-green update")
	left, err := c.scaleDownLater(activeRS, time.Duration(scaleDownDelay(ro))*time.Second)
	c.wakeIn(left)
	return err
}

// scaleDownPrevious scales down earlier actives whose delay has passed.
func (c *cycle) scaleDownPrevious(olds []*appsv1.ReplicaSet, delaySeconds int32) error {
	limit := scaleDownDelayRevisionLimit(c.ro)
	waiting := int32(0)
	for _, rs := range olds { // newest first: the newest wait out the delay
		delay := time.Duration(delaySeconds) * time.Second
		if limit != nil && rsReplicas(rs) > 0 {
			if waiting >= *limit {
				delay = 0
			}
			waiting++
		}
		left, err := c.scaleDownLater(rs, delay)
		if err != nil {
			return err
		}
		c.wakeIn(left)
	}
	return nil
}

// switchService points a Service's selector at one revision, with Argo's
// SwitchService Event.
func (c *cycle) switchService(name, hash string) error {
	svc := &corev1.Service{}
	key := client.ObjectKey{Namespace: c.ro.Namespace, Name: name}
	if err := c.r.Client.Get(c.ctx, key, svc); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("service %q not found: create it, or fix the Service name in the rollout's strategy", name)
		}
		return fmt.Errorf("reading service %s: %w", name, err)
	}
	from := svc.Spec.Selector[LabelPodTemplateHash]
	if from == hash {
		return nil
	}
	next := svc.DeepCopy()
	if next.Spec.Selector == nil {
		next.Spec.Selector = map[string]string{}
	}
	next.Spec.Selector[LabelPodTemplateHash] = hash
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	next.Annotations[AnnotationManagedBy] = c.ro.Name
	if err := c.r.Client.Patch(c.ctx, next, client.MergeFrom(svc)); err != nil {
		return fmt.Errorf("switching service %s to %s: %w", name, hash, err)
	}
	c.event(corev1.EventTypeNormal, "SwitchService", "Switched selector for service '%s' from '%s' to '%s'", name, from, hash)
	return nil
}

// AnnotationManagedBy marks a Service whose selector a Rollout manages.
const AnnotationManagedBy = "argo-rollouts.argoproj.io/managed-by-rollouts"
