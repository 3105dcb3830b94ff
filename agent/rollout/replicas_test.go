package rollout

// The cases below are Argo Rollouts' own (utils/replicaset/canary_test.go
// at v1.10.2, Apache-2.0), copied with only the names changed, so the
// ported arithmetic is held to Argo's expectations.

import (
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

func equal(t *testing.T, want, got int32, what string) {
	t.Helper()
	if want != got {
		t.Errorf("%s: got %d, want %d", what, got, want)
	}
}

func newRollout(
	specReplicas,
	setWeight int32,
	maxSurge,
	maxUnavailable intstr.IntOrString,
	currentPodHash,
	stablePodHash string,
	scs *argov1.SetCanaryScale,
	rtr *argov1.RolloutTrafficRouting,
) *argov1.Rollout {
	return &argov1.Rollout{
		Spec: argov1.RolloutSpec{
			Replicas: &specReplicas,
			Strategy: argov1.RolloutStrategy{
				Canary: &argov1.CanaryStrategy{
					MaxUnavailable: &maxUnavailable,
					MaxSurge:       &maxSurge,
					Steps: []argov1.CanaryStep{{
						SetWeight:      &setWeight,
						SetCanaryScale: scs,
					}},
					TrafficRouting: rtr,
				},
			},
		},
		Status: argov1.RolloutStatus{
			StableRS:       stablePodHash,
			CurrentPodHash: currentPodHash,
		},
	}
}

func newRS(podHashLabel string, specReplicas, availableReplicas int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Labels: map[string]string{LabelPodTemplateHash: podHashLabel},
			Name:   podHashLabel,
		},
		Spec:   appsv1.ReplicaSetSpec{Replicas: &specReplicas},
		Status: appsv1.ReplicaSetStatus{AvailableReplicas: availableReplicas},
	}
}

func newSetCanaryScale(replicas, weight *int32, matchTrafficWeight bool) *argov1.SetCanaryScale {
	scs := argov1.SetCanaryScale{}
	scs.Replicas = replicas
	scs.Weight = weight
	scs.MatchTrafficWeight = matchTrafficWeight
	return &scs
}

func TestCalculateReplicaCountsForCanary(t *testing.T) {
	intPnt := func(i int32) *int32 {
		return &i
	}
	tests := []struct {
		name string

		rolloutSpecReplicas int32
		setWeight           int32
		maxSurge            intstr.IntOrString
		maxUnavailable      intstr.IntOrString
		promoteFull         bool

		stableSpecReplica      int32
		stableAvailableReplica int32

		canarySpecReplica      int32
		canaryAvailableReplica int32

		expectedStableReplicaCount int32
		expectedCanaryReplicaCount int32

		olderRS        *appsv1.ReplicaSet
		setCanaryScale *argov1.SetCanaryScale
		trafficRouting *argov1.RolloutTrafficRouting

		abortScaleDownDelaySeconds *int32
		statusAbort                bool
		minPodsPerReplicaSet       *int32
	}{
		{
			name:                "Do not add extra RSs in scaleDownCount when .Spec.Replica < AvailableReplicas",
			rolloutSpecReplicas: 10,
			setWeight:           100,
			maxSurge:            intstr.FromInt(3),
			maxUnavailable:      intstr.FromInt(0),

			stableSpecReplica:      7,
			stableAvailableReplica: 8,

			canarySpecReplica:      6,
			canaryAvailableReplica: 3,

			expectedStableReplicaCount: 7,
			expectedCanaryReplicaCount: 6,
		},
		{
			name:                "Use max surge int to scale up canary",
			rolloutSpecReplicas: 10,
			setWeight:           20,
			maxSurge:            intstr.FromInt(2),
			maxUnavailable:      intstr.FromInt(0),

			stableSpecReplica:      10,
			stableAvailableReplica: 10,

			canarySpecReplica:      0,
			canaryAvailableReplica: 0,

			expectedStableReplicaCount: 10,
			expectedCanaryReplicaCount: 2,
		},
		{
			name:                "Use max surge percentage to scale up canary",
			rolloutSpecReplicas: 10,
			setWeight:           20,
			maxSurge:            intstr.FromString("20%"),
			maxUnavailable:      intstr.FromInt(0),

			stableSpecReplica:      10,
			stableAvailableReplica: 10,

			canarySpecReplica:      0,
			canaryAvailableReplica: 0,

			expectedStableReplicaCount: 10,
			expectedCanaryReplicaCount: 2,
		},
		{
			name:                "Scale down extra stable replicas",
			rolloutSpecReplicas: 10,
			setWeight:           20,
			maxSurge:            intstr.FromString("20%"),
			maxUnavailable:      intstr.FromInt(0),

			stableSpecReplica:      10,
			stableAvailableReplica: 10,

			canarySpecReplica:      2,
			canaryAvailableReplica: 2,

			expectedStableReplicaCount: 8,
			expectedCanaryReplicaCount: 2,
		},
		{
			name:                "Do not go past max surge",
			rolloutSpecReplicas: 10,
			setWeight:           30,
			maxSurge:            intstr.FromInt(2),
			maxUnavailable:      intstr.FromInt(0),

			stableSpecReplica:      10,
			stableAvailableReplica: 10,

			canarySpecReplica:      0,
			canaryAvailableReplica: 0,

			expectedStableReplicaCount: 10,
			expectedCanaryReplicaCount: 2,
		},
		{
			name:                "Use max unavailable int to scale down stableRS",
			rolloutSpecReplicas: 10,
			setWeight:           20,
			maxSurge:            intstr.FromInt(0),
			maxUnavailable:      intstr.FromInt(2),

			stableSpecReplica:      10,
			stableAvailableReplica: 10,

			canarySpecReplica:      0,
			canaryAvailableReplica: 0,

			expectedStableReplicaCount: 8,
			expectedCanaryReplicaCount: 0,
		},
		{
			name:                "Use max surge percentage to scale down stableRS",
			rolloutSpecReplicas: 10,
			setWeight:           20,
			maxSurge:            intstr.FromInt(0),
			maxUnavailable:      intstr.FromString("20%"),

			stableSpecReplica:      10,
			stableAvailableReplica: 10,

			canarySpecReplica:      0,
			canaryAvailableReplica: 0,

			expectedStableReplicaCount: 8,
			expectedCanaryReplicaCount: 0,
		},
		{
			name:                "Do not go past max unavailable",
			rolloutSpecReplicas: 10,
			setWeight:           30,
			maxSurge:            intstr.FromInt(0),
			maxUnavailable:      intstr.FromInt(2),

			stableSpecReplica:      10,
			stableAvailableReplica: 10,

			canarySpecReplica:      0,
			canaryAvailableReplica: 0,

			expectedStableReplicaCount: 8,
			expectedCanaryReplicaCount: 0,
		},
		{
			name:                "Use Max Surge and Max Unavailable",
			rolloutSpecReplicas: 10,
			setWeight:           50,
			maxSurge:            intstr.FromInt(2),
			maxUnavailable:      intstr.FromInt(1),

			stableSpecReplica:      10,
			stableAvailableReplica: 10,

			canarySpecReplica:      0,
			canaryAvailableReplica: 0,

			expectedStableReplicaCount: 9,
			expectedCanaryReplicaCount: 2,
		},
		{
			name:                "Scale canaryRS to zero on setWeight of 0%",
			rolloutSpecReplicas: 10,
			setWeight:           0,
			maxSurge:            intstr.FromInt(1),
			maxUnavailable:      intstr.FromInt(1),

			stableSpecReplica:      10,
			stableAvailableReplica: 10,

			canarySpecReplica:      1,
			canaryAvailableReplica: 1,

			expectedStableReplicaCount: 10,
			expectedCanaryReplicaCount: 0,
		},
		{
			name:                "Scale stable to zero on setWeight of 100%",
			rolloutSpecReplicas: 10,
			setWeight:           100,
			maxSurge:            intstr.FromInt(1),
			maxUnavailable:      intstr.FromInt(1),

			stableSpecReplica:      1,
			stableAvailableReplica: 1,

			canarySpecReplica:      10,
			canaryAvailableReplica: 10,

			expectedStableReplicaCount: 0,
			expectedCanaryReplicaCount: 10,
		},
		{
			name:                "Do not scale canaryRS down to zero on non-zero weight",
			rolloutSpecReplicas: 1,
			setWeight:           20,
			maxSurge:            intstr.FromInt(1),
			maxUnavailable:      intstr.FromInt(0),

			stableSpecReplica:      1,
			stableAvailableReplica: 1,

			canarySpecReplica:      0,
			canaryAvailableReplica: 0,

			expectedStableReplicaCount: 1,
			expectedCanaryReplicaCount: 1,
		},
		{
			name:                "Do not scale canaryRS down to zero on non-100 weight",
			rolloutSpecReplicas: 1,
			setWeight:           90,
			maxSurge:            intstr.FromInt(1),
			maxUnavailable:      intstr.FromInt(0),

			stableSpecReplica:      1,
			stableAvailableReplica: 1,

			canarySpecReplica:      0,
			canaryAvailableReplica: 0,

			expectedStableReplicaCount: 1,
			expectedCanaryReplicaCount: 1,
		},
		{
			name:                "Scale canaryRS to zero on <50 weight without surge",
			rolloutSpecReplicas: 1,
			setWeight:           49,
			maxSurge:            intstr.FromInt(0),
			maxUnavailable:      intstr.FromInt(1),

			stableSpecReplica:      1,
			stableAvailableReplica: 1,

			canarySpecReplica:      0,
			canaryAvailableReplica: 0,

			expectedStableReplicaCount: 1,
			expectedCanaryReplicaCount: 0,
		},
		{
			name:                "Scale stableRS down to zero on >=50 weight without surge",
			rolloutSpecReplicas: 1,
			setWeight:           51,
			maxSurge:            intstr.FromInt(0),
			maxUnavailable:      intstr.FromInt(1),

			stableSpecReplica:      1,
			stableAvailableReplica: 1,

			canarySpecReplica:      0,
			canaryAvailableReplica: 0,

			expectedStableReplicaCount: 0,
			expectedCanaryReplicaCount: 0,
		},
		{
			name:                "Scale canaryRS to one on >=50 weight without surge and stable replicas",
			rolloutSpecReplicas: 1,
			setWeight:           51,
			maxSurge:            intstr.FromInt(0),
			maxUnavailable:      intstr.FromInt(1),

			stableSpecReplica:      0,
			stableAvailableReplica: 0,

			canarySpecReplica:      0,
			canaryAvailableReplica: 0,

			expectedStableReplicaCount: 0,
			expectedCanaryReplicaCount: 1,
		},
		{
			name:                "Scale up Stable before canaryRS",
			rolloutSpecReplicas: 10,
			setWeight:           30,
			maxSurge:            intstr.FromInt(1),
			maxUnavailable:      intstr.FromInt(0),

			stableSpecReplica:      1,
			stableAvailableReplica: 1,

			canarySpecReplica:      0,
			canaryAvailableReplica: 0,

			expectedStableReplicaCount: 7,
			expectedCanaryReplicaCount: 1,

			olderRS: newRS("older", 3, 3),
		},
		{
			name:                "Scale down canaryRS and stable",
			rolloutSpecReplicas: 10,
			setWeight:           30,
			maxSurge:            intstr.FromInt(0),
			maxUnavailable:      intstr.FromInt(3),

			stableSpecReplica:      8,
			stableAvailableReplica: 5,

			canarySpecReplica:      4,
			canaryAvailableReplica: 4,

			expectedStableReplicaCount: 7,
			expectedCanaryReplicaCount: 3,
		},
		{
			name:                "Scale down stable and canary available",
			rolloutSpecReplicas: 10,
			setWeight:           100,
			maxSurge:            intstr.FromInt(1),
			maxUnavailable:      intstr.FromInt(0),

			stableSpecReplica:      10,
			stableAvailableReplica: 2,

			canarySpecReplica:      10,
			canaryAvailableReplica: 8,

			expectedStableReplicaCount: 2,
			expectedCanaryReplicaCount: 9,
		},
		{
			name:                "Do not scale down canaryRS or stable when older RS count >= scaleDownCount",
			rolloutSpecReplicas: 10,
			setWeight:           30,
			maxSurge:            intstr.FromInt(0),
			maxUnavailable:      intstr.FromInt(1),

			stableSpecReplica:      8,
			stableAvailableReplica: 6,

			canarySpecReplica:      4,
			canaryAvailableReplica: 2,

			expectedStableReplicaCount: 8,
			expectedCanaryReplicaCount: 4,

			olderRS: newRS("older", 3, 3),
		},
		{
			name:                "Do not round past maxSurge with uneven setWeight divisor",
			rolloutSpecReplicas: 10,
			setWeight:           5,
			maxSurge:            intstr.FromInt(0),
			maxUnavailable:      intstr.FromInt(1),

			stableSpecReplica:      10,
			stableAvailableReplica: 10,

			canarySpecReplica:      0,
			canaryAvailableReplica: 0,

			expectedStableReplicaCount: 9,
			expectedCanaryReplicaCount: 0,
		},
		{
			name:                "Do not round past maxSurge with uneven setWeight divisor (part 2)",
			rolloutSpecReplicas: 10,
			setWeight:           5,
			maxSurge:            intstr.FromInt(0),
			maxUnavailable:      intstr.FromInt(1),

			stableSpecReplica:      9,
			stableAvailableReplica: 9,

			canarySpecReplica:      0,
			canaryAvailableReplica: 0,

			expectedStableReplicaCount: 9,
			expectedCanaryReplicaCount: 1,
		},
		{
			name:                "Use maxUnavailable of 1 when percentage of maxUnavailable and maxSurge result in 0 replicas",
			rolloutSpecReplicas: 10,
			setWeight:           10,
			maxSurge:            intstr.FromString("0%"),
			maxUnavailable:      intstr.FromString("0%"),

			stableSpecReplica:      10,
			stableAvailableReplica: 10,

			canarySpecReplica:      0,
			canaryAvailableReplica: 0,

			expectedStableReplicaCount: 9,
			expectedCanaryReplicaCount: 0,
		},
		{
			name: "For canary replicas, use setCanaryScale.replicas when specified along with trafficRouting (and ignore setWeight)",

			rolloutSpecReplicas:    1,
			stableSpecReplica:      1,
			stableAvailableReplica: 1,

			expectedStableReplicaCount: 1,
			expectedCanaryReplicaCount: 9,
			setWeight:                  100,
			setCanaryScale:             newSetCanaryScale(intPnt(9), nil, false),
			trafficRouting:             &argov1.RolloutTrafficRouting{},
		},
		{
			name: "Use setCanaryScale.weight for canary replicas when specified with trafficRouting (and ignore setWeight)",

			rolloutSpecReplicas:    4,
			stableSpecReplica:      4,
			stableAvailableReplica: 4,

			expectedStableReplicaCount: 4,
			expectedCanaryReplicaCount: 8,
			setWeight:                  100,
			setCanaryScale:             newSetCanaryScale(nil, intPnt(200), false),
			trafficRouting:             &argov1.RolloutTrafficRouting{},
		},
		{
			name:                "Ignore setCanaryScale replicas/weight when matchTrafficWeight is true",
			rolloutSpecReplicas: 10,
			setWeight:           20,
			maxSurge:            intstr.FromString("20%"),
			maxUnavailable:      intstr.FromInt(0),

			stableSpecReplica:      10,
			stableAvailableReplica: 10,

			canarySpecReplica:      0,
			canaryAvailableReplica: 0,

			setCanaryScale: newSetCanaryScale(intPnt(9), intPnt(100), true),
			trafficRouting: &argov1.RolloutTrafficRouting{},

			expectedStableReplicaCount: 10,
			expectedCanaryReplicaCount: 2,
		},
		{
			name:                "Ignore setCanaryScale when trafficRouting is missing and use setWeight for replicas",
			rolloutSpecReplicas: 10,
			setWeight:           20,
			maxSurge:            intstr.FromString("20%"),
			maxUnavailable:      intstr.FromInt(0),

			stableSpecReplica:      10,
			stableAvailableReplica: 10,

			canarySpecReplica:      0,
			canaryAvailableReplica: 0,

			setCanaryScale: newSetCanaryScale(intPnt(9), intPnt(100), false),
			trafficRouting: nil,

			expectedStableReplicaCount: 10,
			expectedCanaryReplicaCount: 2,
		},
		{
			// verify we surge canary up correctly when stable RS is not available
			name:                "honor maxSurge during scale up when stableRS unavailable",
			rolloutSpecReplicas: 4,
			setWeight:           100,
			maxSurge:            intstr.FromInt(1),
			maxUnavailable:      intstr.FromInt(0),

			stableSpecReplica:      4,
			stableAvailableReplica: 1,

			canarySpecReplica:      0,
			canaryAvailableReplica: 0,

			expectedStableReplicaCount: 4,
			expectedCanaryReplicaCount: 1, // should only surge by 1 to honor maxSurge: 1
		},
		{
			name:                "scale down to maxunavailable without exceeding maxSurge",
			rolloutSpecReplicas: 3,
			setWeight:           99,
			maxSurge:            intstr.FromInt(0),
			maxUnavailable:      intstr.FromInt(2),

			stableSpecReplica:      3,
			stableAvailableReplica: 3,

			canarySpecReplica:      0,
			canaryAvailableReplica: 0,

			expectedStableReplicaCount: 1,
			expectedCanaryReplicaCount: 0,
		},
		{
			name:                "scale down to maxunavailable without exceeding maxSurge (part 2)",
			rolloutSpecReplicas: 3,
			setWeight:           99,
			maxSurge:            intstr.FromInt(0),
			maxUnavailable:      intstr.FromInt(2),

			stableSpecReplica:      1,
			stableAvailableReplica: 1,

			canarySpecReplica:      0,
			canaryAvailableReplica: 0,

			expectedStableReplicaCount: 1,
			expectedCanaryReplicaCount: 2,
		}, {
			// verify we scale down stableRS while honoring maxUnavailable even when stableRS unavailable
			name:                "honor maxUnavailable during scale down stableRS unavailable",
			rolloutSpecReplicas: 4,
			setWeight:           100,
			maxSurge:            intstr.FromInt(1),
			maxUnavailable:      intstr.FromInt(0),

			stableSpecReplica:      4,
			stableAvailableReplica: 1,

			canarySpecReplica:      1,
			canaryAvailableReplica: 1,

			expectedStableReplicaCount: 3, // should only scale down by 1 to honor maxUnavailable: 0
			expectedCanaryReplicaCount: 1,
		},
		{
			// verify we honor maxUnavailable when aborting or reducing weight
			name:                "honor maxUnavailable when aborting or reducing weight part 1",
			rolloutSpecReplicas: 4,
			setWeight:           0,
			maxSurge:            intstr.FromInt(1),
			maxUnavailable:      intstr.FromInt(0),

			stableSpecReplica:      0,
			stableAvailableReplica: 0,

			canarySpecReplica:      4,
			canaryAvailableReplica: 4,

			expectedStableReplicaCount: 1,
			expectedCanaryReplicaCount: 4, // should not bring down canary until we surge stable
		},
		{
			// verify we honor maxUnavailable when aborting or reducing weight (after surging stable)
			name:                "honor maxUnavailable when aborting or reducing weight part 2",
			rolloutSpecReplicas: 4,
			setWeight:           0,
			maxSurge:            intstr.FromInt(1),
			maxUnavailable:      intstr.FromInt(0),

			stableSpecReplica:      1,
			stableAvailableReplica: 0,

			canarySpecReplica:      4,
			canaryAvailableReplica: 4,

			expectedStableReplicaCount: 1, // should not adjust counts at all since stable not available
			expectedCanaryReplicaCount: 4,
		},
		{
			// verify we honor maxUnavailable when aborting or reducing weight (after stable surge availability)
			name:                "honor maxUnavailable when aborting or reducing weight part 3",
			rolloutSpecReplicas: 4,
			setWeight:           0,
			maxSurge:            intstr.FromInt(1),
			maxUnavailable:      intstr.FromInt(0),

			stableSpecReplica:      1,
			stableAvailableReplica: 1,

			canarySpecReplica:      4,
			canaryAvailableReplica: 4,

			expectedStableReplicaCount: 1,
			expectedCanaryReplicaCount: 3, // should only reduce by 1 to honor maxUnavailable
		},
		{
			// verify when promoting a rollout fully, we don't consider canary weight
			name:                "promote full does not consider weight",
			promoteFull:         true,
			rolloutSpecReplicas: 4,
			setWeight:           1,
			maxSurge:            intstr.FromInt(4),
			maxUnavailable:      intstr.FromInt(4),

			stableSpecReplica:      4,
			stableAvailableReplica: 4,

			canarySpecReplica:      0,
			canaryAvailableReplica: 0,

			expectedStableReplicaCount: 0,
			expectedCanaryReplicaCount: 4,
		},
		{
			// verify when promoting a rollout fully, we still honor maxSurge and maxUnavailable
			name:                "promote full still honors maxSurge/maxUnavailable",
			promoteFull:         true,
			rolloutSpecReplicas: 4,
			setWeight:           1,
			maxSurge:            intstr.FromInt(3),
			maxUnavailable:      intstr.FromInt(0),

			stableSpecReplica:      4,
			stableAvailableReplica: 4,

			canarySpecReplica:      0,
			canaryAvailableReplica: 0,

			expectedStableReplicaCount: 4,
			expectedCanaryReplicaCount: 3,
		},
		{
			// verify when we are aborted, and have abortScaleDownDelaySeconds: 0, and use setCanaryScale, we dont scale down canary
			name:                       "aborted with abortScaleDownDelaySeconds:0 and setCanaryScale",
			rolloutSpecReplicas:        1,
			setCanaryScale:             newSetCanaryScale(intPnt(1), nil, false),
			trafficRouting:             &argov1.RolloutTrafficRouting{},
			abortScaleDownDelaySeconds: intPnt(0),
			statusAbort:                true,

			stableSpecReplica:      1,
			stableAvailableReplica: 1,

			canarySpecReplica:      1,
			canaryAvailableReplica: 1,

			expectedStableReplicaCount: 1,
			expectedCanaryReplicaCount: 1,
		},
		{
			// verify when we are aborted, and have abortScaleDownDelaySeconds>0, and use setCanaryScale, we scale down canary
			name:                       "aborted with abortScaleDownDelaySeconds>0 and setCanaryScale",
			rolloutSpecReplicas:        1,
			setCanaryScale:             newSetCanaryScale(intPnt(1), nil, false),
			trafficRouting:             &argov1.RolloutTrafficRouting{},
			abortScaleDownDelaySeconds: intPnt(30),
			statusAbort:                true,

			stableSpecReplica:      1,
			stableAvailableReplica: 1,

			canarySpecReplica:      1,
			canaryAvailableReplica: 1,

			expectedStableReplicaCount: 1,
			expectedCanaryReplicaCount: 0,
		},
		{
			name:                "Honor MinPodsPerReplicaSet when using trafficRouting and starting canary",
			rolloutSpecReplicas: 10,
			setWeight:           5,

			stableSpecReplica:      10,
			stableAvailableReplica: 10,

			canarySpecReplica:      0,
			canaryAvailableReplica: 0,

			trafficRouting:       &argov1.RolloutTrafficRouting{},
			minPodsPerReplicaSet: intPnt(2),

			expectedStableReplicaCount: 10,
			expectedCanaryReplicaCount: 2,
		},
		{
			name:                "Cap MinPodsPerReplicaSet when it exceeds rollout replicas with trafficRouting",
			rolloutSpecReplicas: 1,
			setWeight:           100,
			promoteFull:         true,

			stableSpecReplica:      1,
			stableAvailableReplica: 1,

			canarySpecReplica:      0,
			canaryAvailableReplica: 0,

			trafficRouting:       &argov1.RolloutTrafficRouting{},
			minPodsPerReplicaSet: intPnt(2),

			expectedStableReplicaCount: 1,
			expectedCanaryReplicaCount: 1,
		},
	}
	for i := range tests {
		test := tests[i]
		t.Run(test.name, func(t *testing.T) {
			rollout := newRollout(test.rolloutSpecReplicas, test.setWeight, test.maxSurge, test.maxUnavailable, "canary", "stable", test.setCanaryScale, test.trafficRouting)
			rollout.Status.PromoteFull = test.promoteFull
			rollout.Status.Abort = test.statusAbort
			stableRS := newRS("stable", test.stableSpecReplica, test.stableAvailableReplica)
			canaryRS := newRS("canary", test.canarySpecReplica, test.canaryAvailableReplica)
			rollout.Spec.Strategy.Canary.AbortScaleDownDelaySeconds = test.abortScaleDownDelaySeconds
			if test.minPodsPerReplicaSet != nil {
				rollout.Spec.Strategy.Canary.MinPodsPerReplicaSet = test.minPodsPerReplicaSet
			}
			var newRSReplicaCount, stableRSReplicaCount int32
			if test.trafficRouting != nil {
				newRSReplicaCount, stableRSReplicaCount = trafficRoutedCanaryReplicas(rollout, nil, nil, nil)
			} else {
				newRSReplicaCount, stableRSReplicaCount = basicCanaryReplicas(rollout, canaryRS, stableRS, []*appsv1.ReplicaSet{test.olderRS})
			}
			equal(t, test.expectedCanaryReplicaCount, newRSReplicaCount, "check canary replica count")
			equal(t, test.expectedStableReplicaCount, stableRSReplicaCount, "check stable replica count")
		})
	}
}

func TestApproximateWeightedNewStableReplicaCounts(t *testing.T) {
	tests := []struct {
		replicas  int32
		weight    int32
		maxWeight int32
		maxSurge  int32
		expCanary int32
		expStable int32
	}{
		{replicas: 0, weight: 0, maxWeight: 100, maxSurge: 0, expCanary: 0, expStable: 0},   // 0%
		{replicas: 0, weight: 50, maxWeight: 100, maxSurge: 0, expCanary: 0, expStable: 0},  // 0%
		{replicas: 0, weight: 100, maxWeight: 100, maxSurge: 0, expCanary: 0, expStable: 0}, // 0%

		{replicas: 0, weight: 0, maxWeight: 100, maxSurge: 1, expCanary: 0, expStable: 0},   // 0%
		{replicas: 0, weight: 50, maxWeight: 100, maxSurge: 1, expCanary: 0, expStable: 0},  // 0%
		{replicas: 0, weight: 100, maxWeight: 100, maxSurge: 1, expCanary: 0, expStable: 0}, // 0%

		{replicas: 1, weight: 0, maxWeight: 100, maxSurge: 0, expCanary: 0, expStable: 1},   // 0%
		{replicas: 1, weight: 1, maxWeight: 100, maxSurge: 0, expCanary: 0, expStable: 1},   // 0%
		{replicas: 1, weight: 49, maxWeight: 100, maxSurge: 0, expCanary: 0, expStable: 1},  // 0%
		{replicas: 1, weight: 50, maxWeight: 100, maxSurge: 0, expCanary: 1, expStable: 0},  // 100%
		{replicas: 1, weight: 99, maxWeight: 100, maxSurge: 0, expCanary: 1, expStable: 0},  // 100%
		{replicas: 1, weight: 100, maxWeight: 100, maxSurge: 0, expCanary: 1, expStable: 0}, // 100%

		{replicas: 1, weight: 0, maxWeight: 100, maxSurge: 1, expCanary: 0, expStable: 1},   // 0%
		{replicas: 1, weight: 1, maxWeight: 100, maxSurge: 1, expCanary: 1, expStable: 1},   // 50%
		{replicas: 1, weight: 49, maxWeight: 100, maxSurge: 1, expCanary: 1, expStable: 1},  // 50%
		{replicas: 1, weight: 50, maxWeight: 100, maxSurge: 1, expCanary: 1, expStable: 1},  // 50%
		{replicas: 1, weight: 99, maxWeight: 100, maxSurge: 1, expCanary: 1, expStable: 1},  // 50%
		{replicas: 1, weight: 100, maxWeight: 100, maxSurge: 1, expCanary: 1, expStable: 0}, // 100%

		{replicas: 2, weight: 0, maxWeight: 100, maxSurge: 0, expCanary: 0, expStable: 2},   // 0%
		{replicas: 2, weight: 1, maxWeight: 100, maxSurge: 0, expCanary: 1, expStable: 1},   // 50%
		{replicas: 2, weight: 50, maxWeight: 100, maxSurge: 0, expCanary: 1, expStable: 1},  // 50%
		{replicas: 2, weight: 99, maxWeight: 100, maxSurge: 0, expCanary: 1, expStable: 1},  // 50%
		{replicas: 2, weight: 100, maxWeight: 100, maxSurge: 0, expCanary: 2, expStable: 0}, // 100%

		{replicas: 2, weight: 0, maxWeight: 100, maxSurge: 1, expCanary: 0, expStable: 2},   // 0%
		{replicas: 2, weight: 1, maxWeight: 100, maxSurge: 1, expCanary: 1, expStable: 2},   // 33.3%
		{replicas: 2, weight: 50, maxWeight: 100, maxSurge: 1, expCanary: 1, expStable: 1},  // 50%
		{replicas: 2, weight: 99, maxWeight: 100, maxSurge: 1, expCanary: 2, expStable: 1},  // 66.6%
		{replicas: 2, weight: 100, maxWeight: 100, maxSurge: 1, expCanary: 2, expStable: 0}, // 100%

		{replicas: 3, weight: 10, maxWeight: 100, maxSurge: 0, expCanary: 1, expStable: 2}, // 33.3%
		{replicas: 3, weight: 25, maxWeight: 100, maxSurge: 0, expCanary: 1, expStable: 2}, // 33.3%
		{replicas: 3, weight: 33, maxWeight: 100, maxSurge: 0, expCanary: 1, expStable: 2}, // 33.3%
		{replicas: 3, weight: 34, maxWeight: 100, maxSurge: 0, expCanary: 1, expStable: 2}, // 33.3%
		{replicas: 3, weight: 49, maxWeight: 100, maxSurge: 0, expCanary: 1, expStable: 2}, // 33.3%
		{replicas: 3, weight: 50, maxWeight: 100, maxSurge: 0, expCanary: 2, expStable: 1}, // 66.6%

		{replicas: 3, weight: 10, maxWeight: 100, maxSurge: 1, expCanary: 1, expStable: 3}, // 25%
		{replicas: 3, weight: 25, maxWeight: 100, maxSurge: 1, expCanary: 1, expStable: 3}, // 25%
		{replicas: 3, weight: 33, maxWeight: 100, maxSurge: 1, expCanary: 1, expStable: 2}, // 33.3%
		{replicas: 3, weight: 34, maxWeight: 100, maxSurge: 1, expCanary: 1, expStable: 2}, // 33.3%
		{replicas: 3, weight: 49, maxWeight: 100, maxSurge: 1, expCanary: 2, expStable: 2}, // 50%
		{replicas: 3, weight: 50, maxWeight: 100, maxSurge: 1, expCanary: 2, expStable: 2}, // 50%

		{replicas: 10, weight: 0, maxWeight: 100, maxSurge: 1, expCanary: 0, expStable: 10},   // 0%
		{replicas: 10, weight: 1, maxWeight: 100, maxSurge: 0, expCanary: 1, expStable: 9},    // 10%
		{replicas: 10, weight: 14, maxWeight: 100, maxSurge: 0, expCanary: 1, expStable: 9},   // 10%
		{replicas: 10, weight: 15, maxWeight: 100, maxSurge: 0, expCanary: 2, expStable: 8},   // 20%
		{replicas: 10, weight: 16, maxWeight: 100, maxSurge: 0, expCanary: 2, expStable: 8},   // 20%
		{replicas: 10, weight: 99, maxWeight: 100, maxSurge: 0, expCanary: 9, expStable: 1},   // 90%
		{replicas: 10, weight: 100, maxWeight: 100, maxSurge: 1, expCanary: 10, expStable: 0}, // 100%

		{replicas: 10, weight: 0, maxWeight: 100, maxSurge: 1, expCanary: 0, expStable: 10},   // 0%
		{replicas: 10, weight: 1, maxWeight: 100, maxSurge: 1, expCanary: 1, expStable: 10},   // 9.1%
		{replicas: 10, weight: 18, maxWeight: 100, maxSurge: 1, expCanary: 2, expStable: 9},   // 18.1%
		{replicas: 10, weight: 19, maxWeight: 100, maxSurge: 1, expCanary: 2, expStable: 9},   // 18.1%
		{replicas: 10, weight: 20, maxWeight: 100, maxSurge: 1, expCanary: 2, expStable: 8},   // 20%
		{replicas: 10, weight: 23, maxWeight: 100, maxSurge: 1, expCanary: 2, expStable: 8},   // 20%
		{replicas: 10, weight: 24, maxWeight: 100, maxSurge: 1, expCanary: 3, expStable: 8},   // 27.2%
		{replicas: 10, weight: 25, maxWeight: 100, maxSurge: 1, expCanary: 3, expStable: 8},   // 27.2%
		{replicas: 10, weight: 99, maxWeight: 100, maxSurge: 1, expCanary: 10, expStable: 1},  // 90.9%
		{replicas: 10, weight: 100, maxWeight: 100, maxSurge: 1, expCanary: 10, expStable: 0}, // 100%

	}
	for i := range tests {
		test := tests[i]
		t.Run(fmt.Sprintf("%s_replicas:%d_weight:%d_maxweight:%d_surge:%d", t.Name(), test.replicas, test.weight, test.maxWeight, test.maxSurge), func(t *testing.T) {
			newRSReplicaCount, stableRSReplicaCount := approximateWeightedCounts(test.replicas, test.weight, test.maxWeight, test.maxSurge)
			equal(t, test.expCanary, newRSReplicaCount, "check canary replica count")
			equal(t, test.expStable, stableRSReplicaCount, "check stable replica count")
		})
	}
}
func TestCalculateReplicaCountsForNewDeployment(t *testing.T) {
	rollout := newRollout(10, 10, intstr.FromInt(0), intstr.FromInt(1), "canary", "stable", nil, nil)
	stableRS := newRS("stable", 10, 0)
	newRS := newRS("stable", 10, 0)
	newRSReplicaCount, stableRSReplicaCount := basicCanaryReplicas(rollout, newRS, stableRS, nil)
	equal(t, int32(10), newRSReplicaCount, "count")
	equal(t, int32(0), stableRSReplicaCount, "count")
}

func TestCalculateReplicaCountsForCanaryTrafficRouting(t *testing.T) {
	rollout := newRollout(10, 10, intstr.FromInt(0), intstr.FromInt(1), "canary", "stable", nil, nil)
	rollout.Spec.Strategy.Canary.TrafficRouting = &argov1.RolloutTrafficRouting{}
	newRSReplicaCount, stableRSReplicaCount := trafficRoutedCanaryReplicas(rollout, nil, nil, rollout.Status.Canary.Weights)
	equal(t, int32(1), newRSReplicaCount, "count")
	equal(t, int32(10), stableRSReplicaCount, "count")
}

func TestCalculateReplicaCountsForCanaryTrafficRoutingDynamicScale(t *testing.T) {
	tests := []struct {
		name                    string
		rolloutReplicas         int32
		rolloutMaxReplicas      int32
		rolloutAbort            bool
		steps                   []argov1.CanaryStep
		canaryWeight            int32
		stableWeight            int32
		canaryRSReplicas        int32
		availableCanaryReplicas int32
		stableRSReplicas        int32
		availableStableReplicas int32
		expectedCanaryReplicas  int32
		expectedStableReplicas  int32
	}{
		{
			// E.g. if next step is to scale canary down to 2 and we have 10 replicas, we should scale stable up to 8
			name:                    "Should scale stable replica up depending on next expected canary downscale step, if abort is true",
			rolloutReplicas:         10,
			rolloutMaxReplicas:      20,
			canaryWeight:            60,
			stableWeight:            40,
			canaryRSReplicas:        6,
			availableCanaryReplicas: 6,
			stableRSReplicas:        4,
			availableStableReplicas: 4,
			expectedCanaryReplicas:  6,
			expectedStableReplicas:  8,
			rolloutAbort:            true,
			steps:                   []argov1.CanaryStep{{SetWeight: ptr.To[int32](60)}},
		},
		{
			name:                    "Should scale stable replica up depending on available canary replicas, if actual number of canaries is less than expected and abort is true",
			rolloutReplicas:         10,
			rolloutMaxReplicas:      20,
			rolloutAbort:            true,
			canaryWeight:            60,
			stableWeight:            40,
			canaryRSReplicas:        1,
			availableCanaryReplicas: 1,
			stableRSReplicas:        4,
			availableStableReplicas: 4,
			expectedCanaryReplicas:  6,
			expectedStableReplicas:  8,
			steps:                   []argov1.CanaryStep{{SetWeight: ptr.To[int32](60)}},
		},
		{
			name:                    "Should scale stable replica up depending on available stable replicas, if abort is true",
			rolloutReplicas:         10,
			rolloutMaxReplicas:      20,
			rolloutAbort:            true,
			canaryWeight:            60,
			stableWeight:            40,
			canaryRSReplicas:        2,
			availableCanaryReplicas: 2,
			stableRSReplicas:        8,
			availableStableReplicas: 4,
			expectedCanaryReplicas:  6,
			expectedStableReplicas:  8,
			steps:                   []argov1.CanaryStep{{SetWeight: ptr.To[int32](60)}},
		},
		{
			name:                   "Should scale stable up as if canaries are scaled down to 0 if stable and canary replicas not passed, and abort is true",
			rolloutReplicas:        10,
			rolloutMaxReplicas:     20,
			rolloutAbort:           true,
			canaryWeight:           60,
			stableWeight:           40,
			expectedCanaryReplicas: 6,
			expectedStableReplicas: 10,
			steps:                  []argov1.CanaryStep{{SetWeight: ptr.To[int32](60)}},
		},

		// without steps
		{
			name:                   "Should scale down stable",
			rolloutReplicas:        10,
			rolloutMaxReplicas:     10,
			rolloutAbort:           false,
			canaryWeight:           10,
			stableWeight:           90,
			expectedCanaryReplicas: 1,
			expectedStableReplicas: 9,
		},
		{
			name:                   "Should take max of desired canary (20) > actual (10)",
			rolloutReplicas:        10,
			rolloutMaxReplicas:     20,
			rolloutAbort:           false,
			canaryWeight:           10,
			stableWeight:           90,
			expectedCanaryReplicas: 2,
			expectedStableReplicas: 9,
		},
		{
			name:                   "Should leave canary scaled up if there is still traffic to it on abort",
			rolloutReplicas:        10,
			rolloutMaxReplicas:     20,
			rolloutAbort:           true,
			canaryWeight:           20,
			stableWeight:           80,
			expectedCanaryReplicas: 2,
			expectedStableReplicas: 10,
		},
		{
			name:                   "Should reduce canary when there is less traffic to it on abort",
			rolloutReplicas:        10,
			rolloutMaxReplicas:     20,
			rolloutAbort:           true,
			canaryWeight:           10,
			stableWeight:           90,
			expectedCanaryReplicas: 1,
			expectedStableReplicas: 10,
		},
	}

	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			rollout := newRollout(test.rolloutReplicas, test.rolloutMaxReplicas, intstr.FromInt(0), intstr.FromInt(1), "canary", "stable", nil, nil)
			rollout.Spec.Strategy.Canary.TrafficRouting = &argov1.RolloutTrafficRouting{}
			rollout.Spec.Strategy.Canary.DynamicStableScale = true
			rollout.Status.Abort = test.rolloutAbort
			if len(test.steps) > 0 {
				rollout.Spec.Strategy.Canary.Steps = append(rollout.Spec.Strategy.Canary.Steps, test.steps...)
			}
			weights := argov1.TrafficWeights{
				Canary: argov1.WeightDestination{
					Weight: test.canaryWeight,
				},
				Stable: argov1.WeightDestination{
					Weight: test.stableWeight,
				},
			}
			var stableRS, canaryRS *appsv1.ReplicaSet
			if test.stableRSReplicas > 0 {
				stableRS = newRS("stable", test.stableRSReplicas, test.availableStableReplicas)
			}
			if test.canaryRSReplicas > 0 {
				canaryRS = newRS("canary", test.canaryRSReplicas, test.canaryRSReplicas)
			}
			newRSReplicaCount, stableRSReplicaCount := trafficRoutedCanaryReplicas(rollout, canaryRS, stableRS, &weights)
			equal(t, test.expectedCanaryReplicas, newRSReplicaCount, "count")
			equal(t, test.expectedStableReplicas, stableRSReplicaCount, "count")
		})
	}
}

func TestCalculateReplicaCountsForCanaryStableRSdEdgeCases(t *testing.T) {
	rollout := newRollout(10, 10, intstr.FromInt(0), intstr.FromInt(1), "", "", nil, nil)
	newRS := newRS("stable", 9, 9)
	newRSReplicaCount, stableRSReplicaCount := basicCanaryReplicas(rollout, newRS, nil, []*appsv1.ReplicaSet{})
	equal(t, int32(10), newRSReplicaCount, "count")
	equal(t, int32(0), stableRSReplicaCount, "count")

	newRSReplicaCount, stableRSReplicaCount = basicCanaryReplicas(rollout, newRS, newRS, []*appsv1.ReplicaSet{})
	equal(t, int32(10), newRSReplicaCount, "count")
	equal(t, int32(0), stableRSReplicaCount, "count")
}
