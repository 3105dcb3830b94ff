package rollout

import (
	"math"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/rolloutspec"
)

// The replica arithmetic of a canary is Argo Rollouts' own
// (utils/replicaset/canary.go and replicaset.go, Apache-2.0), ported
// function by function so that a Rollout scales here exactly as it does
// there: Argo's users read their replica counts per step off its docs.

func rsReplicas(rs *appsv1.ReplicaSet) int32 {
	if rs == nil || rs.Spec.Replicas == nil {
		return 0
	}
	return *rs.Spec.Replicas
}

func trafficRouted(ro *argov1.Rollout) bool {
	return ro.Spec.Strategy.Canary != nil && ro.Spec.Strategy.Canary.TrafficRouting != nil
}

// maxSurge is the Pods a canary may run above replicas (blue/green: none).
func maxSurge(ro *argov1.Rollout) int32 {
	if ro.Spec.Strategy.Canary == nil {
		return 0
	}
	s, _, _ := rolloutspec.ResolveFenceposts(rolloutspec.MaxSurgeOrDefault(ro), rolloutspec.MaxUnavailableOrDefault(ro), rolloutspec.Replicas(ro))
	return s
}

// maxUnavailable is the Pods that may be unavailable during an update.
func maxUnavailable(ro *argov1.Rollout) int32 {
	replicas := rolloutspec.Replicas(ro)
	if replicas == 0 {
		return 0
	}
	var u int32
	if ro.Spec.Strategy.Canary != nil {
		_, u, _ = rolloutspec.ResolveFenceposts(rolloutspec.MaxSurgeOrDefault(ro), rolloutspec.MaxUnavailableOrDefault(ro), replicas)
	} else {
		v, _ := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(rolloutspec.MaxUnavailableOrDefault(ro), intstr.FromInt(0)), int(replicas), false)
		u = int32(v)
	}
	return min(u, replicas)
}

// currentStep is the canary step being run and its index; nil step when
// there are none or all are done.
func currentStep(ro *argov1.Rollout) (*argov1.CanaryStep, *int32) {
	c := ro.Spec.Strategy.Canary
	if c == nil || len(c.Steps) == 0 {
		return nil, nil
	}
	idx := int32(0)
	if ro.Status.CurrentStepIndex != nil {
		idx = *ro.Status.CurrentStepIndex
	}
	if int(idx) >= len(c.Steps) {
		return nil, &idx
	}
	return &c.Steps[idx], &idx
}

// currentSetWeight is the weight of the last setWeight step up to the
// current one (0 aborted, the maximum when all steps are done).
func currentSetWeight(ro *argov1.Rollout) int32 {
	if ro.Status.Abort {
		return 0
	}
	step, idx := currentStep(ro)
	if step == nil {
		return rolloutspec.MaxTrafficWeight(ro)
	}
	for i := *idx; i >= 0; i-- {
		if w := ro.Spec.Strategy.Canary.Steps[i].SetWeight; w != nil {
			return *w
		}
	}
	return 0
}

// useSetCanaryScale is the setCanaryScale in force, if any.
func useSetCanaryScale(ro *argov1.Rollout) *argov1.SetCanaryScale {
	if !trafficRouted(ro) {
		return nil
	}
	if ro.Status.Abort {
		if d, _ := abortScaleDownDelay(ro); d != nil {
			return nil
		}
	}
	step, idx := currentStep(ro)
	if step == nil {
		return nil
	}
	for i := *idx; i >= 0; i-- {
		s := ro.Spec.Strategy.Canary.Steps[i].SetCanaryScale
		if s == nil {
			continue
		}
		if s.MatchTrafficWeight {
			return nil
		}
		return s
	}
	return nil
}

// desiredCanaryWeight is the weight wanted now; aborting with
// dynamicStableScale walks the steps back so the stable is not surged.
func desiredCanaryWeight(ro *argov1.Rollout, newRS, stableRS *appsv1.ReplicaSet) int32 {
	if ro.Status.Abort && ro.Spec.Strategy.Canary.DynamicStableScale && newRS != nil && stableRS != nil {
		mw := rolloutspec.MaxTrafficWeight(ro)
		replicas := rolloutspec.Replicas(ro)
		canary := max(replicas-stableRS.Status.AvailableReplicas, newRS.Status.AvailableReplicas)
		steps := ro.Spec.Strategy.Canary.Steps
		for i := len(steps) - 1; i >= 0; i-- {
			if w := steps[i].SetWeight; w != nil && trafficWeightToReplicas(replicas, *w, mw) < canary {
				return *w
			}
		}
		return 0
	}
	return currentSetWeight(ro)
}

// canaryReplicasOrWeight is the canary's explicit scale, or its weight.
func canaryReplicasOrWeight(ro *argov1.Rollout, newRS, stableRS *appsv1.ReplicaSet) (*int32, int32) {
	st := &ro.Status
	if st.PromoteFull || st.StableRS == "" || st.CurrentPodHash == st.StableRS {
		return nil, rolloutspec.MaxTrafficWeight(ro)
	}
	if s := useSetCanaryScale(ro); s != nil {
		if s.Replicas != nil {
			return s.Replicas, 0
		}
		if s.Weight != nil {
			return nil, *s.Weight
		}
	}
	return nil, desiredCanaryWeight(ro, newRS, stableRS)
}

func stableExists(newRS, stableRS *appsv1.ReplicaSet) bool {
	return stableRS != nil && (newRS == nil || newRS.Name != stableRS.Name)
}

func sumReplicas(rss []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		n += rsReplicas(rs)
	}
	return n
}

func sumAvailable(rss []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		if rs != nil {
			n += rs.Status.AvailableReplicas
		}
	}
	return n
}

// basicCanaryReplicas is Argo's CalculateReplicaCountsForBasicCanary: the
// new and stable counts for a canary without traffic routing, within
// maxSurge and maxUnavailable, older ReplicaSets drained first.
func basicCanaryReplicas(ro *argov1.Rollout, newRS, stableRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) (int32, int32) {
	replicas := rolloutspec.Replicas(ro)
	_, weight := canaryReplicasOrWeight(ro, newRS, stableRS)
	surge := maxSurge(ro)
	desiredNew, desiredStable := approximateWeightedCounts(replicas, weight, rolloutspec.MaxTrafficWeight(ro), surge)

	newCount, stableCount := rsReplicas(newRS), int32(0)
	scaleStable := stableExists(newRS, stableRS)
	if scaleStable {
		stableCount = rsReplicas(stableRS)
	} else {
		desiredNew, desiredStable = replicas, 0
	}
	maxAllowed := replicas + surge
	all := append(append([]*appsv1.ReplicaSet{}, oldRSs...), newRS)
	if scaleStable {
		all = append(all, stableRS)
	}
	scaleUp := maxAllowed - sumReplicas(all)
	if scaleStable && rsReplicas(stableRS) < desiredStable && scaleUp > 0 {
		if rsReplicas(stableRS)+scaleUp < desiredStable {
			stableCount = rsReplicas(stableRS) + scaleUp
			scaleUp = 0
		} else {
			stableCount = desiredStable
			scaleUp -= desiredStable - rsReplicas(stableRS)
		}
	}
	if newRS != nil && rsReplicas(newRS) < desiredNew && scaleUp > 0 {
		newCount = min(rsReplicas(newRS)+scaleUp, desiredNew)
	}
	if sumReplicas(oldRSs) > 0 {
		return newCount, stableCount
	}
	minAvailable := replicas - maxUnavailable(ro)
	increasing := newRS == nil || desiredNew >= rsReplicas(newRS)
	toScaleDown := replicasForScaleDown(newRS, !increasing) + replicasForScaleDown(stableRS, increasing)
	if toScaleDown <= minAvailable {
		return newCount, stableCount
	}
	scaleDown := toScaleDown - minAvailable
	if !increasing {
		newCount = scaleDownCount(newRS, desiredNew, scaleDown, newCount)
		newCount, stableCount = adjustWithinLimits(newRS, stableRS, newCount, stableCount, maxAllowed, minAvailable)
	} else if scaleStable {
		stableCount = scaleDownCount(stableRS, desiredStable, scaleDown, stableCount)
		stableCount, newCount = adjustWithinLimits(stableRS, newRS, stableCount, newCount, maxAllowed, minAvailable)
	}
	return newCount, stableCount
}

// approximateWeightedCounts picks the canary and stable counts whose split
// is closest to the weight; with a weight of 1-99 and two or more Pods
// neither side is zero; a tie rounds the canary up.
func approximateWeightedCounts(replicas, weight, maxWeight, surge int32) (int32, int32) {
	if replicas == 0 {
		return 0, 0
	}
	type option struct{ canary, total int32 }
	var options []option
	ceil := int32(math.Ceil(float64(replicas*weight) / float64(maxWeight)))
	floor := int32(math.Floor(float64(replicas*weight) / float64(maxWeight)))
	tied := floorCeilingTied(weight, maxWeight, replicas)
	zeroAllowed := weight == maxWeight || weight == 0 || (replicas == 1 && surge == 0)
	if ceil < replicas || zeroAllowed {
		options = append(options, option{ceil, replicas})
	}
	if !tied && (floor != 0 || zeroAllowed) {
		options = append(options, option{floor, replicas})
	}
	if surge > 0 {
		options = append(options, option{ceil, replicas + 1})
		if !floorCeilingTied(weight, maxWeight, replicas+1) && (floor != 0 || zeroAllowed) {
			options = append(options, option{floor, replicas + 1})
		}
	}
	if len(options) == 0 {
		return 0, replicas
	}
	best := options[0]
	bestDelta := weightDelta(weight, maxWeight, best.canary, best.total)
	for _, o := range options[1:] {
		if d := weightDelta(weight, maxWeight, o.canary, o.total); d < bestDelta {
			best, bestDelta = o, d
		}
	}
	return best.canary, best.total - best.canary
}

func floorCeilingTied(weight, maxWeight, total int32) bool {
	_, frac := math.Modf(float64(total) * (float64(weight) / float64(maxWeight)))
	return frac == 0.5
}

func weightDelta(weight, maxWeight, canary, total int32) float64 {
	return math.Abs(float64(canary*maxWeight)/float64(total) - float64(weight))
}

func scaleDownCount(drain *appsv1.ReplicaSet, desired, scaleDown, count int32) int32 {
	if drain != nil && rsReplicas(drain) > desired {
		count = max(desired, rsReplicas(drain)-scaleDown)
	}
	return count
}

// adjustWithinLimits keeps the two counts within maxSurge and
// maxUnavailable, taking from the ReplicaSet being drained.
func adjustWithinLimits(drain, adjust *appsv1.ReplicaSet, drainCount, adjustCount, maxAllowed, minAvailable int32) (int32, int32) {
	over := max(0, adjustCount+drainCount-maxAllowed)
	available := int32(0)
	if drain != nil {
		available += min(drain.Status.AvailableReplicas, drainCount)
	}
	if adjust != nil {
		adjustCount -= over
		available += min(adjust.Status.AvailableReplicas, adjustCount)
		extra := max(0, adjust.Status.AvailableReplicas-adjustCount)
		need := max(0, minAvailable-available)
		adjustCount += min(extra, need)
		over = max(0, adjustCount+drainCount-maxAllowed)
		drainCount -= over
	}
	return drainCount, adjustCount
}

// replicasForScaleDown counts a ReplicaSet's Pods that may be scaled down:
// its available ones, or all it asks for when availability is ignored.
func replicasForScaleDown(rs *appsv1.ReplicaSet, ignoreAvailability bool) int32 {
	if rs == nil {
		return 0
	}
	if rsReplicas(rs) < rs.Status.AvailableReplicas || ignoreAvailability {
		return rsReplicas(rs)
	}
	return rs.Status.AvailableReplicas
}

// minPodsPerReplicaSet raises a non-zero count of a traffic-routed canary
// or stable to minPodsPerReplicaSet (at most replicas).
func minPodsPerReplicaSet(ro *argov1.Rollout, count int32) int32 {
	c := ro.Spec.Strategy.Canary
	if count == 0 || c == nil || c.MinPodsPerReplicaSet == nil || c.TrafficRouting == nil {
		return count
	}
	return max(count, min(*c.MinPodsPerReplicaSet, rolloutspec.Replicas(ro)))
}

// trafficRoutedCanaryReplicas is Argo's
// CalculateReplicaCountsForTrafficRoutedCanary: the canary takes the
// ceiling of its weight; the stable stays whole unless dynamicStableScale.
func trafficRoutedCanaryReplicas(ro *argov1.Rollout, newRS, stableRS *appsv1.ReplicaSet, weights *argov1.TrafficWeights) (int32, int32) {
	replicas := rolloutspec.Replicas(ro)
	explicit, weight := canaryReplicasOrWeight(ro, newRS, stableRS)
	mw := rolloutspec.MaxTrafficWeight(ro)
	var canary int32
	if explicit != nil {
		canary = *explicit
	} else {
		canary = minPodsPerReplicaSet(ro, trafficWeightToReplicas(replicas, weight, mw))
	}
	if !ro.Spec.Strategy.Canary.DynamicStableScale {
		return canary, replicas
	}
	stable := trafficWeightToReplicas(replicas, mw-weight, mw)
	if weights != nil {
		stable = max(stable, trafficWeightToReplicas(replicas, weights.Stable.Weight, mw))
		if ro.Status.Abort {
			canary = max(trafficWeightToReplicas(replicas, weights.Canary.Weight, mw), canary)
		}
	}
	return minPodsPerReplicaSet(ro, canary), minPodsPerReplicaSet(ro, stable)
}

func trafficWeightToReplicas(replicas, weight, maxWeight int32) int32 {
	return int32(math.Ceil(float64(weight) * float64(replicas) / float64(maxWeight)))
}

// atDesiredCanaryCounts is Argo's AtDesiredReplicaCountsForCanary: the new
// ReplicaSet has all its Pods available, the stable all created, and (for a
// replica-weighted canary, where every Pod serves) no older Pods left.
func atDesiredCanaryCounts(ro *argov1.Rollout, newRS, stableRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet, weights *argov1.TrafficWeights) bool {
	var desiredNew, desiredStable int32
	if trafficRouted(ro) {
		desiredNew, desiredStable = trafficRoutedCanaryReplicas(ro, newRS, stableRS, weights)
	} else {
		desiredNew, desiredStable = basicCanaryReplicas(ro, newRS, stableRS, oldRSs)
	}
	if newRS == nil || desiredNew != rsReplicas(newRS) || desiredNew != newRS.Status.AvailableReplicas {
		return false
	}
	if !trafficRouted(ro) || !ro.Spec.Strategy.Canary.DynamicStableScale {
		if stableRS == nil || desiredStable != rsReplicas(stableRS) || desiredStable != stableRS.Status.Replicas {
			return false
		}
	}
	if !trafficRouted(ro) && sumAvailable(oldRSs) != 0 {
		return false
	}
	return true
}

// abortScaleDownDelay is how long an aborted canary or preview stays up
// (nil: scaled down at once; set: the user chose it).
func abortScaleDownDelay(ro *argov1.Rollout) (*int32, bool) {
	var set *int32
	switch {
	case ro.Spec.Strategy.BlueGreen != nil:
		set = ro.Spec.Strategy.BlueGreen.AbortScaleDownDelaySeconds
	case trafficRouted(ro):
		set = ro.Spec.Strategy.Canary.AbortScaleDownDelaySeconds
	default:
		return nil, false
	}
	if set == nil {
		d := rolloutspec.DefaultAbortScaleDownDelay
		return &d, false
	}
	if *set == 0 {
		return nil, true
	}
	return set, true
}

// scaleDownDelay is how long the previous version stays up after a switch.
func scaleDownDelay(ro *argov1.Rollout) int32 {
	switch {
	case ro.Spec.Strategy.BlueGreen != nil:
		if d := ro.Spec.Strategy.BlueGreen.ScaleDownDelaySeconds; d != nil {
			return *d
		}
		return rolloutspec.DefaultScaleDownDelaySeconds
	case trafficRouted(ro):
		if d := ro.Spec.Strategy.Canary.ScaleDownDelaySeconds; d != nil {
			return *d
		}
		return rolloutspec.DefaultScaleDownDelaySeconds
	}
	return 0
}

// scaleDownDelayRevisionLimit is how many old versions may stay up, waiting
// out their scale-down delay, at once (nil: no limit).
func scaleDownDelayRevisionLimit(ro *argov1.Rollout) *int32 {
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		return bg.ScaleDownDelayRevisionLimit
	}
	if cs := ro.Spec.Strategy.Canary; cs != nil {
		return cs.ScaleDownDelayRevisionLimit
	}
	return nil
}
