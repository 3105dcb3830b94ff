package e2e

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// rolloutYAML is a Rollout of the rollouts-demo stand-in as Argo's users
// write it (argoproj.io/v1alpha1), strategy given.
func rolloutYAML(name string, replicas int, strategy string) string {
	return fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: %[1]s
spec:
  replicas: %[2]d
  revisionHistoryLimit: 3
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: demo
        image: argoproj/rollouts-demo:blue
        args: [-termination-delay=0]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          tcpSocket: {port: 8080}
          periodSeconds: 1
  strategy:
%[3]s
`, name, replicas, strategy)
}

// serviceYAML is a Service in front of the rollout's Pods.
func serviceYAML(name, app string) string {
	return fmt.Sprintf(`---
apiVersion: v1
kind: Service
metadata:
  name: %s
spec:
  selector: {app: %s}
  ports: [{name: http, port: 80, targetPort: 8080}]
`, name, app)
}

// canaryRouteYAML is an HTTPRoute on the test bed's Gateway for host,
// sending everything to APP-stable and nothing to APP-canary, as a
// traffic-routed canary starts.
func canaryRouteYAML(name, host, app string) string {
	return fmt.Sprintf(`---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: %s}
spec:
  parentRefs: [{name: %s, namespace: %s}]
  hostnames: [%s]
  rules:
  - backendRefs:
    - {name: %s-stable, port: 80, weight: 100}
    - {name: %s-canary, port: 80, weight: 0}
`, name, gatewayName, gatewayNamespace, host, app, app)
}

// createFromYAML writes text to a file and runs `rollout create -f` on it.
func createFromYAML(t *testing.T, ns, text string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "rollout.yaml")
	if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := argo(t, "-n", ns, "rollout", "create", "-f", f); r.code != 0 {
		t.Fatalf("rollout create exited %d: %s", r.code, r.stderr)
	}
}

// waitRollout waits until the rollout's status, for its current generation,
// satisfies cond.
func waitRollout(t *testing.T, c client.Client, ns, name, what string, cond func(*argov1.Rollout) bool) *argov1.Rollout {
	t.Helper()
	ro := &argov1.Rollout{}
	waitFor(t, "rollout "+name+" "+what, 3*time.Minute, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, ro); err != nil {
			return false, err
		}
		return ro.Status.ObservedGeneration == fmt.Sprint(ro.Generation) && cond(ro), nil
	})
	return ro
}

// replicaCounts maps each image of the rollout's ReplicaSets to its
// spec.replicas and available Pods.
func replicaCounts(t *testing.T, c client.Client, ns string, ro *argov1.Rollout) map[string][2]int32 {
	t.Helper()
	var rss appsv1.ReplicaSetList
	if err := c.List(context.Background(), &rss, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	out := map[string][2]int32{}
	for _, rs := range rss.Items {
		if metav1.IsControlledBy(&rs, ro) {
			img := rs.Spec.Template.Spec.Containers[0].Image
			out[img[strings.LastIndex(img, ":")+1:]] = [2]int32{*rs.Spec.Replicas, rs.Status.AvailableReplicas}
		}
	}
	return out
}

func waitCounts(t *testing.T, c client.Client, ns, name string, want map[string][2]int32) {
	t.Helper()
	var got map[string][2]int32
	waitFor(t, fmt.Sprintf("rollout %s's ReplicaSets at %v", name, want), 3*time.Minute, func(ctx context.Context) (bool, error) {
		ro := &argov1.Rollout{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, ro); err != nil {
			return false, err
		}
		got = replicaCounts(t, c, ns, ro)
		for k, v := range want {
			if got[k] != v {
				return false, nil
			}
		}
		for k, v := range got {
			if _, ok := want[k]; !ok && v != [2]int32{0, 0} {
				return false, nil
			}
		}
		return true, nil
	})
}

// rolloutEvents are the reasons of the rollout's Events, oldest first.
func rolloutEvents(t *testing.T, ns, name string) []string {
	t.Helper()
	list, err := clientset.EventsV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortStableFunc(list.Items, func(a, b eventsv1.Event) int { return a.CreationTimestamp.Compare(b.CreationTimestamp.Time) })
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Kind == "Rollout" && e.Regarding.Name == name {
			out = append(out, e.Reason)
		}
	}
	return out
}

// inOrder says want appears in got in that order (other reasons between).
func inOrder(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// TestRolloutCanary runs a replica-weighted canary of Argo's shape through
// the plugin: setWeight 20 gives 1 of 5 Pods to the canary, pause waits for
// promote, abort goes back to 5 stable Pods and Degraded (status exits 1),
// retry starts over, promote --full finishes; the Events come in Argo's order.
func TestRolloutCanary(t *testing.T) {
	needCluster(t)
	sharedAgent(t)
	ns := newNamespace(t)
	c := newCRClient(t)
	createFromYAML(t, ns, rolloutYAML("demo", 5, `    canary:
      canaryService: demo-canary
      stableService: demo-stable
      steps:
      - setWeight: 20
      - pause: {}
      - setWeight: 60
      - pause: {duration: 1s}`)+serviceYAML("demo-canary", "demo")+serviceYAML("demo-stable", "demo"))
	if r := argo(t, "-n", ns, "rollout", "status", "demo", "--timeout", "3m"); r.code != 0 {
		t.Fatalf("status of the first revision exited %d, want 0 (Healthy)", r.code)
	}
	waitCounts(t, c, ns, "demo", map[string][2]int32{"blue": {5, 5}})
	first := waitRollout(t, c, ns, "demo", "Healthy", func(ro *argov1.Rollout) bool { return ro.Status.Phase == argov1.RolloutPhaseHealthy })
	if first.Status.StableRS == "" || first.Status.StableRS != first.Status.CurrentPodHash {
		t.Fatalf("first revision: stableRS %q currentPodHash %q, want both the one revision", first.Status.StableRS, first.Status.CurrentPodHash)
	}

	if r := argo(t, "-n", ns, "rollout", "set", "image", "demo", "demo=argoproj/rollouts-demo:yellow"); r.code != 0 {
		t.Fatalf("set image exited %d", r.code)
	}
	paused := waitRollout(t, c, ns, "demo", "paused at step 1", func(ro *argov1.Rollout) bool {
		return ro.Status.Phase == argov1.RolloutPhasePaused && ro.Status.CurrentStepIndex != nil && *ro.Status.CurrentStepIndex == 1
	})
	if len(paused.Status.PauseConditions) != 1 || paused.Status.PauseConditions[0].Reason != argov1.PauseReasonCanaryPauseStep {
		t.Errorf("pause conditions = %+v, want one CanaryPauseStep", paused.Status.PauseConditions)
	}
	waitCounts(t, c, ns, "demo", map[string][2]int32{"yellow": {1, 1}, "blue": {4, 4}})
	checkSelector(t, ns, "demo-canary", paused.Status.CurrentPodHash)
	checkSelector(t, ns, "demo-stable", first.Status.StableRS)
	// Argo's status exits 0 on Paused.
	if r := argo(t, "-n", ns, "rollout", "status", "demo", "--timeout", "30s"); r.code != 0 || !strings.Contains(r.stdout, "Paused") {
		t.Errorf("status while paused exited %d (%q), want 0 saying Paused", r.code, r.stdout)
	}
	list := argo(t, "-n", ns, "rollout", "list")
	if !regexpMatch(`demo\s+Canary\s+Paused\s+1/4\s+20\s+5/5\s+5\s+1\s+5`, list.stdout) {
		t.Errorf("rollout list:\n%s\nwant demo Canary Paused 1/4 20 5/5 5 1 5", list.stdout)
	}
	get := argo(t, "-n", ns, "rollout", "get", "demo")
	for _, want := range []string{"Status:", "॥ Paused", "Step:", "1/4", "SetWeight:", "20", "argoproj/rollouts-demo:yellow (canary)", "argoproj/rollouts-demo:blue (stable)", "# revision:2", "# revision:1", "ReplicaSet", "ready:1/1"} {
		if !strings.Contains(get.stdout, want) {
			t.Errorf("rollout get lacks %q:\n%s", want, get.stdout)
		}
	}

	// Abort: back to 5 stable, Degraded, status exits 1.
	if r := argo(t, "-n", ns, "rollout", "abort", "demo"); r.code != 0 {
		t.Fatalf("abort exited %d", r.code)
	}
	waitRollout(t, c, ns, "demo", "Degraded after abort", func(ro *argov1.Rollout) bool { return ro.Status.Phase == argov1.RolloutPhaseDegraded })
	waitCounts(t, c, ns, "demo", map[string][2]int32{"blue": {5, 5}, "yellow": {0, 0}})
	if r := argo(t, "-n", ns, "rollout", "status", "demo", "--timeout", "30s"); r.code != 1 {
		t.Errorf("status after abort exited %d, want 1 (Degraded)", r.code)
	}

	// Retry: the steps start over.
	if r := argo(t, "-n", ns, "rollout", "retry", "demo"); r.code != 0 {
		t.Fatalf("retry exited %d", r.code)
	}
	waitRollout(t, c, ns, "demo", "paused at step 1 again", func(ro *argov1.Rollout) bool {
		return !ro.Status.Abort && ro.Status.Phase == argov1.RolloutPhasePaused && ro.Status.CurrentStepIndex != nil && *ro.Status.CurrentStepIndex == 1
	})
	waitCounts(t, c, ns, "demo", map[string][2]int32{"yellow": {1, 1}, "blue": {4, 4}})

	// Promote: on to setWeight 60 (3 of 5), a 1 s pause, then done.
	if r := argo(t, "-n", ns, "rollout", "promote", "demo"); r.code != 0 {
		t.Fatalf("promote exited %d", r.code)
	}
	if r := argo(t, "-n", ns, "rollout", "status", "demo", "--timeout", "3m"); r.code != 0 {
		t.Fatalf("status after promote exited %d, want 0 (Healthy)", r.code)
	}
	done := waitRollout(t, c, ns, "demo", "Healthy at the new revision", func(ro *argov1.Rollout) bool {
		return ro.Status.Phase == argov1.RolloutPhaseHealthy && ro.Status.StableRS == ro.Status.CurrentPodHash
	})
	waitCounts(t, c, ns, "demo", map[string][2]int32{"yellow": {5, 5}})
	checkSelector(t, ns, "demo-stable", done.Status.StableRS)
	events := rolloutEvents(t, ns, "demo")
	want := []string{"RolloutUpdated", "NewReplicaSetCreated", "ScalingReplicaSet", "RolloutCompleted", // revision 1
		"RolloutUpdated", "NewReplicaSetCreated", "RolloutNotCompleted", "ScalingReplicaSet", "RolloutStepCompleted", "RolloutPaused",
		"RolloutAborted", "RolloutRetry", "RolloutResumed", "RolloutStepCompleted", "RolloutStepCompleted", "RolloutCompleted"}
	if !inOrder(events, want) {
		t.Errorf("events %v\nwant in this order %v", events, want)
	}

	// promote --full skips every step of the next update.
	if r := argo(t, "-n", ns, "rollout", "set", "image", "demo", "*=argoproj/rollouts-demo:green"); r.code != 0 {
		t.Fatalf("set image exited %d", r.code)
	}
	waitRollout(t, c, ns, "demo", "paused on green", func(ro *argov1.Rollout) bool { return ro.Status.Phase == argov1.RolloutPhasePaused })
	if r := argo(t, "-n", ns, "rollout", "promote", "demo", "--full"); r.code != 0 {
		t.Fatalf("promote --full exited %d", r.code)
	}
	waitCounts(t, c, ns, "demo", map[string][2]int32{"green": {5, 5}})
	waitRollout(t, c, ns, "demo", "Healthy on green", func(ro *argov1.Rollout) bool {
		return ro.Status.Phase == argov1.RolloutPhaseHealthy && ro.Status.StableRS == ro.Status.CurrentPodHash
	})

	// undo goes back to yellow, a new revision.
	if r := argo(t, "-n", ns, "rollout", "undo", "demo"); r.code != 0 || !strings.Contains(r.stdout, "revision 2") {
		t.Fatalf("undo exited %d (%q), want revision 2", r.code, r.stdout)
	}
	back := waitRollout(t, c, ns, "demo", "paused on yellow again", func(ro *argov1.Rollout) bool {
		return ro.Status.Phase == argov1.RolloutPhasePaused && strings.HasSuffix(ro.Spec.Template.Spec.Containers[0].Image, ":yellow")
	})
	// The old ReplicaSet, the new revision again, is revision 4 now.
	if rev := rsRevision(t, c, ns, back.Status.CurrentPodHash); rev != "4" {
		t.Errorf("the undone-to ReplicaSet has revision %s, want 4 (as Argo and Deployments count)", rev)
	}

	// rollbackWindow: going back one revision skips the steps.
	if r := argo(t, "-n", ns, "rollout", "promote", "demo", "--full"); r.code != 0 {
		t.Fatalf("promote --full exited %d", r.code)
	}
	waitRollout(t, c, ns, "demo", "Healthy on yellow", func(ro *argov1.Rollout) bool {
		return ro.Status.Phase == argov1.RolloutPhaseHealthy && ro.Status.StableRS == ro.Status.CurrentPodHash
	})
	ro := &argov1.Rollout{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "demo"}, ro); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(ro.DeepCopy())
	ro.Spec.RollbackWindow = &argov1.RollbackWindowSpec{Revisions: 3}
	if err := c.Patch(context.Background(), ro, patch); err != nil {
		t.Fatal(err)
	}
	if r := argo(t, "-n", ns, "rollout", "undo", "demo"); r.code != 0 || !strings.Contains(r.stdout, "revision 3") {
		t.Fatalf("undo exited %d (%q), want revision 3 (green)", r.code, r.stdout)
	}
	waitRollout(t, c, ns, "demo", "Healthy on green without pausing", func(ro *argov1.Rollout) bool {
		return strings.HasSuffix(ro.Spec.Template.Spec.Containers[0].Image, ":green") && ro.Status.Phase == argov1.RolloutPhaseHealthy &&
			ro.Status.StableRS == ro.Status.CurrentPodHash
	})
	waitCounts(t, c, ns, "demo", map[string][2]int32{"green": {5, 5}})
	if events := rolloutEvents(t, ns, "demo"); slices.Contains(events[len(events)-3:], "RolloutPaused") {
		t.Errorf("a rollback within the window paused: %v", events)
	}
}

// rsAntiAffinity is the preferred pod anti-affinity of the rollout's
// ReplicaSet of hash.
func rsAntiAffinity(t *testing.T, c client.Client, ns, hash string) []corev1.WeightedPodAffinityTerm {
	t.Helper()
	var rss appsv1.ReplicaSetList
	if err := c.List(context.Background(), &rss, client.InNamespace(ns), client.MatchingLabels{"rollouts-pod-template-hash": hash}); err != nil || len(rss.Items) != 1 {
		t.Fatalf("the ReplicaSet of %s: %v (%d found)", hash, err, len(rss.Items))
	}
	if a := rss.Items[0].Spec.Template.Spec.Affinity; a != nil && a.PodAntiAffinity != nil {
		return a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution
	}
	return nil
}

// rsRevision is the revision annotation of the rollout's ReplicaSet of hash.
func rsRevision(t *testing.T, c client.Client, ns, hash string) string {
	t.Helper()
	var rss appsv1.ReplicaSetList
	if err := c.List(context.Background(), &rss, client.InNamespace(ns), client.MatchingLabels{"rollouts-pod-template-hash": hash}); err != nil || len(rss.Items) != 1 {
		t.Fatalf("the ReplicaSet of %s: %v (%d found)", hash, err, len(rss.Items))
	}
	return rss.Items[0].Annotations["rollout.argoproj.io/revision"]
}

// TestRolloutInvalidSpec: an invalid strategy is InvalidSpec with the field
// and the fix, nothing is created; a misspelt traffic router is rejected by
// name; fixing the spec lets the rollout go on.
func TestRolloutInvalidSpec(t *testing.T) {
	needCluster(t)
	sharedAgent(t)
	ns := newNamespace(t)
	c := newCRClient(t)
	// Both fenceposts zero, and a setCanaryScale without traffic routing.
	createFromYAML(t, ns, rolloutYAML("bad", 2, `    canary:
      maxSurge: 0
      maxUnavailable: 0
      steps:
      - setCanaryScale: {replicas: 1}`))
	ro := waitRollout(t, c, ns, "bad", "InvalidSpec", func(ro *argov1.Rollout) bool { return ro.Status.Phase == argov1.RolloutPhaseDegraded })
	for _, want := range []string{"spec.strategy.canary.maxSurge: MaxSurge and MaxUnavailable both can not be zero", "SetCanaryScale requires TrafficRouting"} {
		if !strings.Contains(ro.Status.Message, want) {
			t.Errorf("message %q lacks %q", ro.Status.Message, want)
		}
	}
	if got := replicaCounts(t, c, ns, ro); len(got) != 0 {
		t.Errorf("an invalid rollout made ReplicaSets: %v", got)
	}
	// A router argolite does not have is named, not ignored (argo-rollouts #4569).
	raw := (`{"spec":{"strategy":{"canary":{"maxSurge":1,"steps":[{"setWeight":50}],"canaryService":"a","stableService":"b","trafficRouting":{"nginx":{"stableIngress":"x"}}}}}}`)
	if err := c.Patch(context.Background(), ro, client.RawPatch("application/merge-patch+json", []byte(raw))); err != nil {
		t.Fatal(err)
	}
	ro = waitRollout(t, c, ns, "bad", "rejecting nginx", func(ro *argov1.Rollout) bool {
		return strings.Contains(ro.Status.Message, "trafficRouting.nginx")
	})
	if !strings.Contains(ro.Status.Message, "Gateway API") {
		t.Errorf("message %q does not name the Gateway API as the way", ro.Status.Message)
	}
	fixed := `{"spec":{"strategy":{"canary":{"canaryService":null,"stableService":null,"trafficRouting":null}}}}`
	if err := c.Patch(context.Background(), ro, client.RawPatch("application/merge-patch+json", []byte(fixed))); err != nil {
		t.Fatal(err)
	}
	waitRollout(t, c, ns, "bad", "Healthy once fixed", func(ro *argov1.Rollout) bool { return ro.Status.Phase == argov1.RolloutPhaseHealthy })
}

// TestRolloutBlueGreen: the preview Service gets the new revision while the
// active one keeps the old; promote switches the active Service; the old
// ReplicaSet goes after scaleDownDelaySeconds.
func TestRolloutBlueGreen(t *testing.T) {
	needCluster(t)
	sharedAgent(t)
	ns := newNamespace(t)
	c := newCRClient(t)
	createFromYAML(t, ns, rolloutYAML("bg", 2, `    blueGreen:
      activeService: bg-active
      previewService: bg-preview
      autoPromotionEnabled: false
      antiAffinity:
        preferredDuringSchedulingIgnoredDuringExecution: {weight: 50}
      scaleDownDelaySeconds: 3`)+serviceYAML("bg-active", "bg")+serviceYAML("bg-preview", "bg"))
	first := waitRollout(t, c, ns, "bg", "Healthy", func(ro *argov1.Rollout) bool { return ro.Status.Phase == argov1.RolloutPhaseHealthy })
	checkSelector(t, ns, "bg-active", first.Status.CurrentPodHash)
	if r := argo(t, "-n", ns, "rollout", "set", "image", "bg", "demo=argoproj/rollouts-demo:yellow"); r.code != 0 {
		t.Fatalf("set image exited %d", r.code)
	}
	paused := waitRollout(t, c, ns, "bg", "paused before the switch", func(ro *argov1.Rollout) bool {
		return ro.Status.Phase == argov1.RolloutPhasePaused && ro.Status.BlueGreen.PreviewSelector == ro.Status.CurrentPodHash
	})
	waitCounts(t, c, ns, "bg", map[string][2]int32{"blue": {2, 2}, "yellow": {2, 2}})
	checkSelector(t, ns, "bg-active", first.Status.CurrentPodHash)
	checkSelector(t, ns, "bg-preview", paused.Status.CurrentPodHash)
	// antiAffinity: the preview's Pods prefer nodes without the active's.
	if terms := rsAntiAffinity(t, c, ns, paused.Status.CurrentPodHash); len(terms) != 1 || terms[0].Weight != 50 ||
		terms[0].PodAffinityTerm.LabelSelector.MatchExpressions[0].Values[0] != first.Status.CurrentPodHash {
		t.Errorf("the preview ReplicaSet's anti-affinity = %+v, want weight 50 off the stable %s", terms, first.Status.CurrentPodHash)
	}
	if r := argo(t, "-n", ns, "rollout", "promote", "bg"); r.code != 0 {
		t.Fatalf("promote exited %d", r.code)
	}
	done := waitRollout(t, c, ns, "bg", "Healthy after the switch", func(ro *argov1.Rollout) bool {
		return ro.Status.Phase == argov1.RolloutPhaseHealthy && ro.Status.StableRS == ro.Status.CurrentPodHash
	})
	checkSelector(t, ns, "bg-active", done.Status.CurrentPodHash)
	waitCounts(t, c, ns, "bg", map[string][2]int32{"yellow": {2, 2}})
	waitFor(t, "the new stable ReplicaSet to lose the injected anti-affinity", time.Minute, func(context.Context) (bool, error) {
		return len(rsAntiAffinity(t, c, ns, done.Status.CurrentPodHash)) == 0, nil
	})
	if !inOrder(rolloutEvents(t, ns, "bg"), []string{
		// Argo's functional_test.go TestBlueGreenUpdate order, with the pause and promote of autoPromotionEnabled: false.
		"RolloutUpdated", "NewReplicaSetCreated", "ScalingReplicaSet", "RolloutCompleted", "SwitchService",
		"RolloutUpdated", "NewReplicaSetCreated", "RolloutNotCompleted", "ScalingReplicaSet", "RolloutPaused",
		"SwitchService", "RolloutResumed", "RolloutCompleted"}) {
		t.Errorf("events %v not in Argo's order", rolloutEvents(t, ns, "bg"))
	}
}

// TestRolloutGatewayCanary drives the test bed's Traefik through an
// HTTPRoute: at setWeight 20 the canary answers 20 % of requests through the
// Gateway (within ±6 %), a header route sends only matching requests to the
// canary, and after abort every answer is the stable's.
func TestRolloutGatewayCanary(t *testing.T) {
	needCluster(t)
	sharedAgent(t)
	ns := newNamespace(t)
	c := newCRClient(t)
	host := "canary." + ns + ".e2e.local"
	route := canaryRouteYAML("web", host, "gw")
	createFromYAML(t, ns, rolloutYAML("gw", 2, `    canary:
      canaryService: gw-canary
      stableService: gw-stable
      trafficRouting:
        plugins:
          argoproj-labs/gatewayAPI:
            httpRoute: web
        managedRoutes:
        - name: canary-header
      steps:
      - setWeight: 20
      - pause: {}
      - setHeaderRoute:
          name: canary-header
          match:
          - headerName: X-Canary
            headerValue: {exact: "yes"}
      - pause: {}`)+serviceYAML("gw-stable", "gw")+serviceYAML("gw-canary", "gw")+route)
	waitRollout(t, c, ns, "gw", "Healthy", func(ro *argov1.Rollout) bool { return ro.Status.Phase == argov1.RolloutPhaseHealthy })
	routes := dynamic.NewForConfigOrDie(cfg).Resource(httpRoutes).Namespace(ns)
	waitRouteAccepted(t, routes, ns)
	url := "http://" + net.JoinHostPort(nodeIP(t), gatewayPort) + "/color"
	waitFor(t, "Traefik to route "+host, time.Minute, func(ctx context.Context) (bool, error) {
		v, err := getVersion(ctx, url, host, nil)
		return err == nil && v == `"blue"`, nil
	})

	if r := argo(t, "-n", ns, "rollout", "set", "image", "gw", "demo=argoproj/rollouts-demo:yellow"); r.code != 0 {
		t.Fatalf("set image exited %d", r.code)
	}
	paused := waitRollout(t, c, ns, "gw", "paused at weight 20", func(ro *argov1.Rollout) bool {
		return ro.Status.Phase == argov1.RolloutPhasePaused && ro.Status.Canary.Weights != nil && ro.Status.Canary.Weights.Canary.Weight == 20
	})
	// Traffic-routed: the canary takes the ceiling of 20 % of 2, the stable stays whole.
	waitCounts(t, c, ns, "gw", map[string][2]int32{"yellow": {1, 1}, "blue": {2, 2}})
	waitFor(t, "the canary to answer through the Gateway", time.Minute, func(ctx context.Context) (bool, error) {
		v, err := getVersion(ctx, url, host, nil)
		return err == nil && v == `"yellow"`, nil
	})
	const n, share, tolerance = 400, 0.20, 0.06
	counts := countVersions(t, url, host, nil, n)
	if got := float64(counts[`"yellow"`]) / n; math.Abs(got-share) > tolerance || counts[`"yellow"`]+counts[`"blue"`] != n {
		t.Errorf("at setWeight 20: %v in %d requests, canary share %.3f; want %.2f±%.2f", counts, n, got, share, tolerance)
	} else {
		t.Logf("at setWeight 20: %v in %d requests, canary share %.3f", counts, n, got)
	}
	if paused.Status.Canary.Weights.Stable.Weight != 80 {
		t.Errorf("status weights = %+v, want stable 80", paused.Status.Canary.Weights)
	}

	// Promote to the header route: X-Canary: yes reaches the canary only.
	if r := argo(t, "-n", ns, "rollout", "promote", "gw"); r.code != 0 {
		t.Fatalf("promote exited %d", r.code)
	}
	waitRollout(t, c, ns, "gw", "paused after the header route", func(ro *argov1.Rollout) bool {
		return ro.Status.Phase == argov1.RolloutPhasePaused && ro.Status.CurrentStepIndex != nil && *ro.Status.CurrentStepIndex == 3
	})
	canary := http.Header{"X-Canary": {"yes"}}
	waitFor(t, "the header route in Traefik", time.Minute, func(ctx context.Context) (bool, error) {
		c := countVersions(t, url, host, canary, 10)
		return c[`"yellow"`] == 10, nil
	})
	if c := countVersions(t, url, host, canary, 50); c[`"yellow"`] != 50 {
		t.Errorf("with X-Canary: yes: %v in 50 requests, want all the canary", c)
	}

	// Abort: every answer is the stable's; the header route is gone.
	if r := argo(t, "-n", ns, "rollout", "abort", "gw"); r.code != 0 {
		t.Fatalf("abort exited %d", r.code)
	}
	waitRollout(t, c, ns, "gw", "Degraded with weight 0", func(ro *argov1.Rollout) bool {
		return ro.Status.Phase == argov1.RolloutPhaseDegraded && ro.Status.Canary.Weights != nil && ro.Status.Canary.Weights.Canary.Weight == 0
	})
	waitFor(t, "Traefik to send everything to stable", time.Minute, func(ctx context.Context) (bool, error) {
		c := countVersions(t, url, host, canary, 20)
		return c[`"blue"`] == 20, nil
	})
	for _, h := range []http.Header{nil, canary} {
		if c := countVersions(t, url, host, h, 100); c[`"blue"`] != 100 {
			t.Errorf("after abort (headers %v): %v in 100 requests, want all stable", h, c)
		}
	}
}

// checkSelector asserts a Service selects one pod-template-hash.
func checkSelector(t *testing.T, ns, svc, hash string) {
	t.Helper()
	s, err := clientset.CoreV1().Services(ns).Get(context.Background(), svc, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Spec.Selector["rollouts-pod-template-hash"]; got != hash {
		t.Errorf("service %s selects rollouts-pod-template-hash %q, want %q", svc, got, hash)
	}
}

func regexpMatch(pattern, text string) bool { return regexp.MustCompile(pattern).MatchString(text) }

// TestRolloutFromGit: an Application whose Git holds Argo's own Rollout
// (argoproj.io/v1alpha1, as Argo CD's blue-green example keeps it) applies
// it as argolite's; the app is Suspended while the canary pauses, as Argo
// CD shows a paused Rollout, and Healthy again after a promote.
func TestRolloutFromGit(t *testing.T) {
	needCluster(t)
	sharedAgent(t)
	ns := newNamespace(t)
	c := newCRClient(t)
	srv := startGitServer(t, "", "")
	repo := srv.newRepo(t, "rollout")
	manifest := rolloutYAML("git-demo", 2, `    canary:
      steps:
      - setWeight: 50
      - pause: {}
`)
	rev1 := repo.commit("blue", map[string]string{"rollout.yaml": manifest})
	newApp(t, c, ns, "demo", argov1.ApplicationSpec{
		Source:     &argov1.ApplicationSource{RepoURL: repo.URL},
		SyncPolicy: automated(true, false),
	})
	waitApp(t, c, ns, "demo", "synced and healthy at the first commit", 3*time.Minute, syncedHealthy(rev1))
	ro := &argov1.Rollout{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "git-demo"}, ro); err != nil {
		t.Fatalf("the Rollout from Git is not an argolite.dev Rollout: %v", err)
	}

	rev2 := repo.commit("yellow", map[string]string{"rollout.yaml": strings.Replace(manifest, "rollouts-demo:blue", "rollouts-demo:yellow", 1)})
	argo(t, "-n", ns, "app", "refresh", "demo")
	app := waitApp(t, c, ns, "demo", "Suspended while the canary pauses", 3*time.Minute, func(a *argov1.Application) bool {
		return a.Status.Sync.Revision == rev2 && a.Status.Sync.Status == argov1.SyncStatusSynced && a.Status.Health.Status == argov1.HealthSuspended
	})
	if !strings.Contains(app.Status.Health.Message, "Rollout/git-demo") {
		t.Errorf("health message %q does not name the paused Rollout", app.Status.Health.Message)
	}
	waitCounts(t, c, ns, "git-demo", map[string][2]int32{"blue": {1, 1}, "yellow": {1, 1}})

	if r := argo(t, "-n", ns, "rollout", "promote", "git-demo"); r.code != 0 {
		t.Fatalf("promote exited %d: %s", r.code, r.stderr)
	}
	waitApp(t, c, ns, "demo", "healthy after the promote", 3*time.Minute, syncedHealthy(rev2))
	waitCounts(t, c, ns, "git-demo", map[string][2]int32{"yellow": {2, 2}})
}

// TestRolloutRestart: `rollout restart` replaces every Pod through
// evictions, keeps the revision, and records status.restartedAt.
func TestRolloutRestart(t *testing.T) {
	needCluster(t)
	sharedAgent(t)
	ns := newNamespace(t)
	c := newCRClient(t)
	createFromYAML(t, ns, rolloutYAML("restart-demo", 3, `    canary:
      maxUnavailable: 1
      steps: [{setWeight: 50}, {pause: {}}]
`))
	ro := waitRollout(t, c, ns, "restart-demo", "Healthy", func(ro *argov1.Rollout) bool { return ro.Status.Phase == argov1.RolloutPhaseHealthy })
	before := map[string]bool{}
	pods, err := clientset.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=restart-demo"})
	if err != nil || len(pods.Items) != 3 {
		t.Fatalf("%d Pods before the restart (%v), want 3", len(pods.Items), err)
	}
	for _, p := range pods.Items {
		before[p.Name] = true
	}
	hash := ro.Status.CurrentPodHash

	if r := argo(t, "-n", ns, "rollout", "restart", "restart-demo"); r.code != 0 {
		t.Fatalf("restart exited %d: %s", r.code, r.stderr)
	}
	ro = waitRollout(t, c, ns, "restart-demo", "restarted", func(ro *argov1.Rollout) bool {
		return ro.Spec.RestartAt != nil && ro.Status.RestartedAt != nil && ro.Status.RestartedAt.Equal(ro.Spec.RestartAt)
	})
	if ro.Status.CurrentPodHash != hash || ro.Status.StableRS != hash {
		t.Errorf("the restart changed the revision: current %s stable %s, want %s", ro.Status.CurrentPodHash, ro.Status.StableRS, hash)
	}
	pods, err = clientset.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=restart-demo"})
	if err != nil {
		t.Fatal(err)
	}
	live := 0
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		live++
		if before[p.Name] {
			t.Errorf("Pod %s from before the restart is still running", p.Name)
		}
		if p.CreationTimestamp.Before(ro.Spec.RestartAt) {
			t.Errorf("Pod %s was created at %s, before restartAt %s", p.Name, p.CreationTimestamp, ro.Spec.RestartAt)
		}
	}
	if live != 3 {
		t.Errorf("%d live Pods after the restart, want 3", live)
	}
	waitEventNote(t, ns, "restart-demo", "RolloutRestarted", time.Minute)
}

// TestRolloutCanaryExample runs examples/rollout-canary as its docs do:
// create -f on the directory, set image, the HTTPRoute weighed 80/20 at
// the first pause, promote --full back to 100/0 on the new version.
func TestRolloutCanaryExample(t *testing.T) {
	needCluster(t)
	sharedAgent(t)
	ns := newNamespace(t)
	c := newCRClient(t)
	if r := argo(t, "-n", ns, "rollout", "create", "-f", filepath.Join(e2e.repoRoot, "examples", "rollout-canary")); r.code != 0 {
		t.Fatalf("create -f examples/rollout-canary exited %d: %s", r.code, r.stderr)
	}
	const name = "rollouts-demo"
	waitRollout(t, c, ns, name, "Healthy", func(ro *argov1.Rollout) bool { return ro.Status.Phase == argov1.RolloutPhaseHealthy })
	routes := dynamic.NewForConfigOrDie(cfg).Resource(httpRoutes).Namespace(ns)
	weights := func(ctx context.Context) (map[string]int64, error) {
		r, err := routes.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		rules, _, _ := unstructured.NestedSlice(r.Object, "spec", "rules")
		out := map[string]int64{}
		for _, rule := range rules {
			refs, _, _ := unstructured.NestedSlice(rule.(map[string]any), "backendRefs")
			for _, ref := range refs {
				m := ref.(map[string]any)
				w, _, _ := unstructured.NestedInt64(m, "weight")
				out[m["name"].(string)] = w
			}
		}
		return out, nil
	}
	wantWeights := func(what string, stable, canary int64) {
		t.Helper()
		var got map[string]int64
		waitFor(t, "the HTTPRoute "+what, time.Minute, func(ctx context.Context) (bool, error) {
			var err error
			got, err = weights(ctx)
			return err == nil && got["rollouts-demo-stable"] == stable && got["rollouts-demo-canary"] == canary, err
		})
	}
	wantWeights("at 100/0 before the update", 100, 0)

	if r := argo(t, "-n", ns, "rollout", "set", "image", name, "rollouts-demo=argoproj/rollouts-demo:yellow"); r.code != 0 {
		t.Fatalf("set image exited %d", r.code)
	}
	waitRollout(t, c, ns, name, "paused at the first step", func(ro *argov1.Rollout) bool {
		return ro.Status.Phase == argov1.RolloutPhasePaused && ro.Status.CurrentStepIndex != nil && *ro.Status.CurrentStepIndex == 1
	})
	wantWeights("at 80/20 at the first pause", 80, 20)
	waitCounts(t, c, ns, name, map[string][2]int32{"blue": {4, 4}, "yellow": {1, 1}})

	if r := argo(t, "-n", ns, "rollout", "promote", name, "--full"); r.code != 0 {
		t.Fatalf("promote --full exited %d", r.code)
	}
	waitRollout(t, c, ns, name, "Healthy on the new version", func(ro *argov1.Rollout) bool {
		return ro.Status.Phase == argov1.RolloutPhaseHealthy && ro.Status.StableRS == ro.Status.CurrentPodHash
	})
	wantWeights("back at 100/0, on the new stable", 100, 0)
	if r := argo(t, "-n", ns, "rollout", "status", name, "--timeout", "1m"); r.code != 0 || !strings.Contains(r.stdout, "Healthy") {
		t.Errorf("rollout status exited %d: %s", r.code, r.stdout)
	}
}

// TestRolloutWorkloadRef: a Rollout takes its Pod template from a running
// Deployment (workloadRef), scales it down progressively as its own Pods
// come up, follows the Deployment's template changes as new revisions, and,
// deleted, gives the Deployment its replicas back.
func TestRolloutWorkloadRef(t *testing.T) {
	needCluster(t)
	sharedAgent(t)
	ns := newNamespace(t)
	c := newCRClient(t)
	ctx := context.Background()
	createFromYAML(t, ns, `apiVersion: apps/v1
kind: Deployment
metadata: {name: wl}
spec:
  replicas: 3
  selector: {matchLabels: {app: wl}}
  template:
    metadata: {labels: {app: wl}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: demo
        image: argoproj/rollouts-demo:blue
        args: [-termination-delay=0]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: wl}
spec:
  replicas: 3
  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: wl, scaleDown: progressively}
  strategy:
    canary:
      steps: [{setWeight: 50}, {pause: {}}]
`)
	deployReplicas := func() (int32, string) {
		d, err := clientset.AppsV1().Deployments(ns).Get(ctx, "wl", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return *d.Spec.Replicas, d.Annotations["rollouts.argolite.dev/scaled-down-from"]
	}
	ro := waitRollout(t, c, ns, "wl", "Healthy", func(ro *argov1.Rollout) bool { return ro.Status.Phase == argov1.RolloutPhaseHealthy })
	waitCounts(t, c, ns, "wl", map[string][2]int32{"blue": {3, 3}})
	waitFor(t, "the Deployment scaled down to 0", time.Minute, func(context.Context) (bool, error) {
		n, from := deployReplicas()
		return n == 0 && from == "3", nil
	})
	if len(ro.Spec.Template.Spec.Containers) != 0 {
		t.Errorf("the agent wrote the Deployment's template into the Rollout's spec")
	}

	// A change of the Deployment's template is the Rollout's next revision.
	patch := `{"spec":{"template":{"spec":{"containers":[{"name":"demo","image":"argoproj/rollouts-demo:yellow"}]}}}}`
	if _, err := clientset.AppsV1().Deployments(ns).Patch(ctx, "wl", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRollout(t, c, ns, "wl", "paused at setWeight 50", func(ro *argov1.Rollout) bool {
		return ro.Status.Phase == argov1.RolloutPhasePaused && ro.Status.CurrentStepIndex != nil && *ro.Status.CurrentStepIndex == 1
	})
	waitCounts(t, c, ns, "wl", map[string][2]int32{"blue": {2, 2}, "yellow": {2, 2}})
	if n, _ := deployReplicas(); n != 0 {
		t.Errorf("the Deployment went back up to %d replicas during the second revision", n)
	}

	// Deleted, the Rollout hands the Deployment its 3 replicas back.
	if err := c.Delete(ctx, &argov1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "wl"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the Deployment back at 3 replicas", time.Minute, func(context.Context) (bool, error) {
		n, from := deployReplicas()
		return n == 3 && from == "", nil
	})
	waitFor(t, "the Rollout gone", time.Minute, func(ctx context.Context) (bool, error) {
		return isNotFound(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "wl"}, &argov1.Rollout{})), nil
	})
}

// TestRolloutUnpullableCanary: a canary whose image cannot be pulled never
// gets traffic (the weight waits for available canary Pods), ends Degraded
// after progressDeadlineSeconds and, with progressDeadlineAbort, is
// aborted; no request through the Gateway fails meanwhile.
func TestRolloutUnpullableCanary(t *testing.T) {
	needCluster(t)
	sharedAgent(t)
	ns := newNamespace(t)
	c := newCRClient(t)
	host := "unpullable." + ns + ".e2e.local"
	route := canaryRouteYAML("web", host, "up")
	createFromYAML(t, ns, strings.Replace(rolloutYAML("up", 2, `    canary:
      canaryService: up-canary
      stableService: up-stable
      trafficRouting: {gatewayAPI: {httpRoute: web}}
      steps: [{setWeight: 20}, {pause: {}}]`), "  revisionHistoryLimit: 3\n", "  revisionHistoryLimit: 3\n  progressDeadlineSeconds: 10\n  progressDeadlineAbort: true\n", 1)+
		serviceYAML("up-stable", "up")+serviceYAML("up-canary", "up")+route)
	waitRollout(t, c, ns, "up", "Healthy", func(ro *argov1.Rollout) bool { return ro.Status.Phase == argov1.RolloutPhaseHealthy })
	waitRouteAccepted(t, dynamic.NewForConfigOrDie(cfg).Resource(httpRoutes).Namespace(ns), ns)
	url := "http://" + net.JoinHostPort(nodeIP(t), gatewayPort) + "/color"
	waitFor(t, "Traefik to route "+host, time.Minute, func(ctx context.Context) (bool, error) {
		v, err := getVersion(ctx, url, host, nil)
		return err == nil && v == `"blue"`, nil
	})

	// Requests go on through the Gateway the whole time; every one must be
	// answered by the stable.
	ctx, stop := context.WithCancel(context.Background())
	type tally struct{ ok, failed int }
	done := make(chan tally)
	go func() {
		var n tally
		for ctx.Err() == nil {
			if v, err := getVersion(ctx, url, host, nil); err == nil && v == `"blue"` {
				n.ok++
			} else if ctx.Err() == nil {
				n.failed++
			}
			time.Sleep(20 * time.Millisecond)
		}
		done <- n
	}()
	if r := argo(t, "-n", ns, "rollout", "set", "image", "up", "demo=argoproj/rollouts-demo:no-such-tag"); r.code != 0 {
		stop()
		t.Fatalf("set image exited %d", r.code)
	}
	ro := waitRollout(t, c, ns, "up", "Degraded and aborted after the progress deadline", func(ro *argov1.Rollout) bool {
		return ro.Status.Phase == argov1.RolloutPhaseDegraded && ro.Status.Abort
	})
	stop()
	n := <-done
	if !strings.Contains(ro.Status.Message, "ProgressDeadlineExceeded") {
		t.Errorf("message %q, want ProgressDeadlineExceeded", ro.Status.Message)
	}
	if w := ro.Status.Canary.Weights; w != nil && w.Canary.Weight != 0 {
		t.Errorf("canary weight %d, want 0: its Pods were never available", w.Canary.Weight)
	}
	if n.failed > 0 || n.ok == 0 {
		t.Errorf("through the Gateway: %d answered by stable, %d failed or not stable; want none failed", n.ok, n.failed)
	} else {
		t.Logf("through the Gateway while the canary could not start: %d requests, all answered by stable", n.ok)
	}
	waitCounts(t, c, ns, "up", map[string][2]int32{"blue": {2, 2}})
}

// TestRolloutAgentRestart: the agent restarted while a step's analysis
// runs resumes the same step with the same AnalysisRun, and takes no
// measurement sooner than its interval.
func TestRolloutAgentRestart(t *testing.T) {
	needCluster(t)
	sharedAgentAlone(t)
	ns := newNamespace(t)
	c := newCRClient(t)
	base := startHTTPBin(t, ns)
	createFromYAML(t, ns, fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: up}
spec:
  metrics:
  - name: up
    interval: 3s
    count: 5
    provider:
      web: {url: "%s/status/200"}
---
`, base)+rolloutYAML("restart", 2, `    canary:
      steps: [{setWeight: 50}, {analysis: {templates: [{templateName: up}]}}, {pause: {}}]`))
	waitRollout(t, c, ns, "restart", "Healthy", func(ro *argov1.Rollout) bool { return ro.Status.Phase == argov1.RolloutPhaseHealthy })
	if r := argo(t, "-n", ns, "rollout", "set", "image", "restart", "demo=argoproj/rollouts-demo:yellow"); r.code != 0 {
		t.Fatalf("set image exited %d", r.code)
	}
	var runName string
	waitFor(t, "the step's analysis to have measured once", 2*time.Minute, func(ctx context.Context) (bool, error) {
		var runs argov1.AnalysisRunList
		if err := c.List(ctx, &runs, client.InNamespace(ns)); err != nil || len(runs.Items) != 1 {
			return false, err
		}
		r := runs.Items[0]
		runName = r.Name
		return len(r.Status.MetricResults) == 1 && r.Status.MetricResults[0].Count >= 1, nil
	})
	deleteAgentPods(t)
	ro := waitRollout(t, c, ns, "restart", "paused after the analysis", func(ro *argov1.Rollout) bool {
		return ro.Status.Phase == argov1.RolloutPhasePaused && ro.Status.CurrentStepIndex != nil && *ro.Status.CurrentStepIndex == 2
	})
	var runs argov1.AnalysisRunList
	if err := c.List(context.Background(), &runs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(runs.Items) != 1 || runs.Items[0].Name != runName {
		t.Fatalf("%d AnalysisRuns after the restart, want only %s", len(runs.Items), runName)
	}
	r := runs.Items[0].Status.MetricResults[0]
	if r.Count != 5 || r.Successful != 5 {
		t.Errorf("measurements: %+v, want 5 successful", r)
	}
	for i := 1; i < len(r.Measurements); i++ {
		if gap := r.Measurements[i].StartedAt.Sub(r.Measurements[i-1].FinishedAt.Time); gap < 3*time.Second-10*time.Millisecond {
			t.Errorf("measurement %d started %s after the one before: sooner than the 3s interval (taken twice?)", i, gap)
		}
	}
	if ro.Status.Canary.CurrentStepAnalysisRunStatus == nil || ro.Status.Canary.CurrentStepAnalysisRunStatus.Name != runName {
		t.Errorf("status tracks run %+v, want %s", ro.Status.Canary.CurrentStepAnalysisRunStatus, runName)
	}
}

// TestRolloutPrometheusAbort: a canary that serves errors fails its
// background analysis in the test bed's Prometheus, with the traffic the
// Gateway sends it, and the rollout aborts by itself: every request is the
// stable's again.
func TestRolloutPrometheusAbort(t *testing.T) {
	needCluster(t)
	sharedAgent(t)
	ns := newNamespace(t)
	c := newCRClient(t)
	host := "prom." + ns + ".e2e.local"
	prom := "http://" + net.JoinHostPort(nodeIP(t), strconv.Itoa(prometheusPort))
	query := fmt.Sprintf(`(sum(rate(http_requests_total{namespace=%[1]q, color="yellow", status=~"5.."}[20s])) or vector(0)) / sum(rate(http_requests_total{namespace=%[1]q, color="yellow"}[20s]))`, ns)
	createFromYAML(t, ns, fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: error-rate}
spec:
  metrics:
  - name: error-rate
    interval: 5s
    failureLimit: 1
    successCondition: result[0] < 0.1
    provider:
      prometheus:
        address: %[1]s
        query: '%[2]s'
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: prom}
spec:
  replicas: 2
  selector: {matchLabels: {app: prom}}
  template:
    metadata:
      labels: {app: prom}
      annotations: {prometheus.io/scrape: "true", prometheus.io/port: "8080"}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: demo
        image: argoproj/rollouts-demo:blue
        args: [-termination-delay=0]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
  strategy:
    canary:
      canaryService: prom-canary
      stableService: prom-stable
      trafficRouting: {gatewayAPI: {httpRoute: web}}
      analysis:
        templates: [{templateName: error-rate}]
        startingStep: 1
      steps: [{setWeight: 50}, {pause: {duration: 10m}}]
`, prom, query)+canaryRouteYAML("web", host, "prom")+serviceYAML("prom-stable", "prom")+serviceYAML("prom-canary", "prom"))
	waitRollout(t, c, ns, "prom", "Healthy", func(ro *argov1.Rollout) bool { return ro.Status.Phase == argov1.RolloutPhaseHealthy })
	url := "http://" + net.JoinHostPort(nodeIP(t), gatewayPort) + "/color"
	waitFor(t, "Traefik to route "+host, time.Minute, func(ctx context.Context) (bool, error) {
		v, err := getVersion(ctx, url, host, nil)
		return err == nil && v == `"blue"`, nil
	})
	// Users' traffic, through the Gateway, for the whole test.
	ctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	go func() {
		for ctx.Err() == nil {
			_, _ = getVersion(ctx, url, host, nil)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	if r := argo(t, "-n", ns, "rollout", "set", "image", "prom", "demo=argoproj/rollouts-demo:bad-yellow"); r.code != 0 {
		t.Fatalf("set image exited %d", r.code)
	}
	ro := waitRollout(t, c, ns, "prom", "aborted by its analysis", func(ro *argov1.Rollout) bool {
		return ro.Status.Phase == argov1.RolloutPhaseDegraded && ro.Status.Abort
	})
	run := ro.Status.Canary.CurrentBackgroundAnalysisRunStatus
	if run == nil || run.Status != argov1.AnalysisPhaseFailed {
		t.Fatalf("background analysis %+v, want Failed", run)
	}
	ar := &argov1.AnalysisRun{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: run.Name}, ar); err != nil {
		t.Fatal(err)
	}
	t.Logf("analysis %s: %s; measurements %+v", ar.Name, ar.Status.Message, ar.Status.MetricResults[0].Measurements)
	if !strings.Contains(ro.Status.Message, "error-rate") && !strings.Contains(ro.Status.Message, "Failed") {
		t.Errorf("message %q does not say the analysis failed", ro.Status.Message)
	}
	// Traefik applies the route change within its 2 s throttle: until then
	// the canary may still answer (with its errors).
	waitFor(t, "Traefik to send everything to stable", time.Minute, func(ctx context.Context) (bool, error) {
		for range 20 {
			if v, err := getVersion(ctx, url, host, nil); err != nil || v != `"blue"` {
				return false, err
			}
		}
		return true, nil
	})
	if got := countVersions(t, url, host, nil, 100); got[`"blue"`] != 100 {
		t.Errorf("after the abort: %v in 100 requests, want all stable", got)
	}
}

// TestRolloutExperimentGateway: an experiment step runs a baseline (the
// stable's template) and a canary template beside the Rollout, each
// behind a Service of its own that the HTTPRoute weights (10 % each, the
// stable 80 %), measured through Traefik; once the experiment's duration
// is over the step completes, the experiment Services leave the route and
// its ReplicaSets scale down.
func TestRolloutExperimentGateway(t *testing.T) {
	needCluster(t)
	sharedAgent(t)
	ns := newNamespace(t)
	c := newCRClient(t)
	host := "exp." + ns + ".e2e.local"
	createFromYAML(t, ns, rolloutYAML("ex", 2, `    canary:
      canaryService: ex-canary
      stableService: ex-stable
      trafficRouting:
        gatewayAPI:
          httpRoute: web
      steps:
      - experiment:
          duration: 40s
          scaleDownDelaySeconds: 5
          templates:
          - name: baseline
            specRef: stable
            weight: 10
          - name: candidate
            specRef: canary
            weight: 10
            service: {name: ex-candidate}
      - pause: {}`)+serviceYAML("ex-stable", "ex")+serviceYAML("ex-canary", "ex")+canaryRouteYAML("web", host, "ex"))
	waitRollout(t, c, ns, "ex", "Healthy", func(ro *argov1.Rollout) bool { return ro.Status.Phase == argov1.RolloutPhaseHealthy })
	routes := dynamic.NewForConfigOrDie(cfg).Resource(httpRoutes).Namespace(ns)
	waitRouteAccepted(t, routes, ns)
	url := "http://" + net.JoinHostPort(nodeIP(t), gatewayPort) + "/color"
	waitFor(t, "Traefik to route "+host, time.Minute, func(ctx context.Context) (bool, error) {
		v, err := getVersion(ctx, url, host, nil)
		return err == nil && v == `"blue"`, nil
	})

	if r := argo(t, "-n", ns, "rollout", "set", "image", "ex", "demo=argoproj/rollouts-demo:yellow"); r.code != 0 {
		t.Fatalf("set image exited %d", r.code)
	}
	running := waitRollout(t, c, ns, "ex", "weighting the experiment", func(ro *argov1.Rollout) bool {
		return ro.Status.Canary.Weights != nil && len(ro.Status.Canary.Weights.Additional) == 2
	})
	if w := running.Status.Canary.Weights; w.Stable.Weight != 80 || w.Canary.Weight != 0 {
		t.Errorf("weights during the experiment = %+v, want stable 80, canary 0, 10 to each template", w)
	}
	exName := running.Status.Canary.CurrentExperiment
	ex := &argov1.Experiment{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: exName}, ex); err != nil {
		t.Fatalf("the current experiment %q: %v", exName, err)
	}
	if !metav1.IsControlledBy(ex, running) || ex.Status.Phase != argov1.AnalysisPhaseRunning {
		t.Errorf("experiment %s: phase %s, owners %+v; want Running, controlled by the Rollout", ex.Name, ex.Status.Phase, ex.OwnerReferences)
	}
	services := map[string]bool{}
	for _, ts := range ex.Status.TemplateStatuses {
		services[ts.ServiceName] = true
	}
	if !services["ex-candidate"] || !services[exName+"-baseline"] {
		t.Errorf("experiment Services = %v, want ex-candidate and %s-baseline", services, exName)
	}
	// Through Traefik: the baseline answers blue like the stable, the
	// candidate yellow, about 10 % of requests.
	waitFor(t, "the candidate to answer through the Gateway", time.Minute, func(ctx context.Context) (bool, error) {
		v, err := getVersion(ctx, url, host, nil)
		return err == nil && v == `"yellow"`, nil
	})
	const n, share, tolerance = 300, 0.10, 0.05
	counts := countVersions(t, url, host, nil, n)
	if got := float64(counts[`"yellow"`]) / n; math.Abs(got-share) > tolerance || counts[`"yellow"`]+counts[`"blue"`] != n {
		t.Errorf("during the experiment: %v in %d requests, candidate share %.3f; want %.2f±%.2f", counts, n, got, share, tolerance)
	} else {
		t.Logf("during the experiment: %v in %d requests, candidate share %.3f", counts, n, got)
	}

	// The duration ends: the step completes, the route loses the
	// experiment's Services, its ReplicaSets scale down.
	paused := waitRollout(t, c, ns, "ex", "paused after the experiment", func(ro *argov1.Rollout) bool {
		return ro.Status.Phase == argov1.RolloutPhasePaused && ro.Status.CurrentStepIndex != nil && *ro.Status.CurrentStepIndex == 1
	})
	if w := paused.Status.Canary.Weights; w == nil || len(w.Additional) != 0 || w.Stable.Weight != 100 {
		t.Errorf("weights after the experiment = %+v, want all to stable, no additional", w)
	}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: exName}, ex); err != nil || ex.Status.Phase != argov1.AnalysisPhaseSuccessful {
		t.Errorf("experiment %s: %v, phase %s; want Successful", exName, err, ex.Status.Phase)
	}
	waitFor(t, "the experiment Services to leave the HTTPRoute", time.Minute, func(ctx context.Context) (bool, error) {
		u, err := routes.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
		refs, _ := rules[0].(map[string]any)["backendRefs"].([]any)
		return len(refs) == 2, nil
	})
	waitFor(t, "the experiment's ReplicaSets to scale down and its Services to go", 2*time.Minute, func(ctx context.Context) (bool, error) {
		rss, err := clientset.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, rs := range rss.Items {
			if rs.Annotations[argov1.ExperimentNameAnnotationKey] == exName && rs.Status.Replicas != 0 {
				return false, nil
			}
		}
		_, err = clientset.CoreV1().Services(ns).Get(ctx, "ex-candidate", metav1.GetOptions{})
		return isNotFound(err), nil
	})
	if c := countVersions(t, url, host, nil, 100); c[`"blue"`] != 100 {
		t.Errorf("after the experiment: %v in 100 requests, want all stable", c)
	}
	if r := argo(t, "-n", ns, "rollout", "promote", "ex"); r.code != 0 {
		t.Fatalf("promote exited %d", r.code)
	}
	waitRollout(t, c, ns, "ex", "Healthy at the candidate", func(ro *argov1.Rollout) bool {
		return ro.Status.Phase == argov1.RolloutPhaseHealthy && ro.Status.StableRS == ro.Status.CurrentPodHash
	})
}
