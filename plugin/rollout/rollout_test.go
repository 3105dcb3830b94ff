package rollout

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/plugin/clitest"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

const ns = clitest.Namespace

var now = clitest.Now

// canary is a canary Rollout at generation 2, observed, paused at its
// second step (a pause without duration) after setWeight 20.
func canary(mutate ...func(*argov1.Rollout)) *argov1.Rollout {
	ro := &argov1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "demo", Generation: 2, UID: "ro-uid",
			CreationTimestamp: metav1.Time{Time: now.Add(-time.Hour)}},
		Spec: argov1.RolloutSpec{
			Replicas: ptr.To[int32](5),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "demo"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "demo"}},
				Spec: corev1.PodSpec{
					InitContainers: []corev1.Container{{Name: "init", Image: "busybox:1"}},
					Containers:     []corev1.Container{{Name: "demo", Image: "argoproj/rollouts-demo:yellow"}},
				},
			},
			Strategy: argov1.RolloutStrategy{Canary: &argov1.CanaryStrategy{Steps: []argov1.CanaryStep{
				{SetWeight: ptr.To[int32](20)}, {Pause: &argov1.RolloutPause{}}, {SetWeight: ptr.To[int32](60)}, {Pause: &argov1.RolloutPause{Duration: ptr.To(intstr.FromString("30s"))}},
			}}},
		},
		Status: argov1.RolloutStatus{
			ObservedGeneration: "2",
			Phase:              argov1.RolloutPhasePaused,
			Message:            "CanaryPauseStep",
			CurrentStepIndex:   ptr.To[int32](1),
			CurrentPodHash:     "new",
			StableRS:           "old",
			PauseConditions:    []argov1.PauseCondition{{Reason: argov1.PauseReasonCanaryPauseStep, StartTime: metav1.Time{Time: now.Add(-time.Minute)}}},
			Replicas:           5, UpdatedReplicas: 1, ReadyReplicas: 5, AvailableReplicas: 5,
		},
	}
	for _, m := range mutate {
		m(ro)
	}
	return ro
}

// replicaSet is a ReplicaSet the Rollout owns, of revision rev and hash,
// running image.
func replicaSet(ro *argov1.Rollout, hash, rev, image string, replicas int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ro.Name + "-" + hash,
			Labels:            map[string]string{"app": "demo", labelPodTemplateHash: hash},
			Annotations:       map[string]string{annotationRevision: rev},
			CreationTimestamp: metav1.Time{Time: now.Add(-30 * time.Minute)},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: argov1.GroupVersion.String(), Kind: "Rollout", Name: ro.Name, UID: ro.UID,
				Controller: ptr.To(true)}}},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(replicas),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "demo", labelPodTemplateHash: hash}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "demo", Image: image}}},
			},
		},
		Status: appsv1.ReplicaSetStatus{Replicas: replicas, ReadyReplicas: replicas, AvailableReplicas: replicas},
	}
}

func clients(t *testing.T, objs ...client.Object) *cli.Clients {
	t.Helper()
	return clitest.Fake{Objects: objs, StatusSubresource: []client.Object{&argov1.Rollout{}, &argov1.AnalysisRun{}}}.Clients(t)
}

func run(t *testing.T, c *cli.Clients, args ...string) clitest.Result {
	t.Helper()
	return clitest.Run(t, clitest.Faked(newCmd, c), args...)
}

func read(t *testing.T, c *cli.Clients) *argov1.Rollout {
	t.Helper()
	ro := &argov1.Rollout{}
	if err := c.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "demo"}, ro); err != nil {
		t.Fatal(err)
	}
	return ro
}

// TestOperations: each operation patches what kubectl-argo-rollouts
// patches, and refuses what makes no sense with the fix.
func TestOperations(t *testing.T) {
	tests := []struct {
		name    string
		rollout *argov1.Rollout
		extra   []client.Object
		args    []string
		wantErr string
		wantOut string
		check   func(t *testing.T, ro *argov1.Rollout)
	}{
		{
			name: "promote clears the pause of a pause step", rollout: canary(),
			args: []string{"promote", "demo"}, wantOut: "rollout 'demo' promoted",
			check: func(t *testing.T, ro *argov1.Rollout) {
				if len(ro.Status.PauseConditions) != 0 || *ro.Status.CurrentStepIndex != 1 {
					t.Errorf("status = %+v, want the pause cleared and the step left to the agent", ro.Status)
				}
			},
		},
		{
			name: "promote of a canary not paused skips its step",
			rollout: canary(func(ro *argov1.Rollout) {
				ro.Status.PauseConditions, ro.Status.Phase, ro.Status.CurrentStepIndex = nil, argov1.RolloutPhaseProgressing, ptr.To[int32](2)
			}),
			args: []string{"promote", "demo"},
			check: func(t *testing.T, ro *argov1.Rollout) {
				if *ro.Status.CurrentStepIndex != 3 {
					t.Errorf("currentStepIndex = %d, want 3", *ro.Status.CurrentStepIndex)
				}
			},
		},
		{
			name:    "promote of a Rollout paused by spec.paused unpauses it",
			rollout: canary(func(ro *argov1.Rollout) { ro.Spec.Paused, ro.Status.PauseConditions = true, nil }),
			args:    []string{"promote", "demo"},
			check: func(t *testing.T, ro *argov1.Rollout) {
				if ro.Spec.Paused || *ro.Status.CurrentStepIndex != 1 {
					t.Errorf("paused %v step %d, want unpaused at the same step", ro.Spec.Paused, *ro.Status.CurrentStepIndex)
				}
			},
		},
		{
			name:    "promote --full of an aborted Rollout goes to the new version",
			rollout: canary(func(ro *argov1.Rollout) { ro.Status.Abort, ro.Status.Phase = true, argov1.RolloutPhaseDegraded }),
			args:    []string{"promote", "demo", "--full"},
			check: func(t *testing.T, ro *argov1.Rollout) {
				if !ro.Status.PromoteFull || ro.Status.Abort || len(ro.Status.PauseConditions) != 0 {
					t.Errorf("status = %+v, want promoteFull, no abort, no pause", ro.Status)
				}
			},
		},
		{
			name: "abort", rollout: canary(), args: []string{"abort", "demo"}, wantOut: "rollout 'demo' aborted",
			check: func(t *testing.T, ro *argov1.Rollout) {
				if !ro.Status.Abort {
					t.Error("status.abort not set")
				}
			},
		},
		{
			name: "retry of an aborted Rollout", rollout: canary(func(ro *argov1.Rollout) { ro.Status.Abort = true }),
			args: []string{"retry", "demo"}, wantOut: "rollout 'demo' retried",
			check: func(t *testing.T, ro *argov1.Rollout) {
				if ro.Status.Abort {
					t.Error("status.abort still set")
				}
			},
		},
		{
			name: "retry of a Rollout not aborted", rollout: canary(), args: []string{"retry", "demo"},
			wantErr: "rollout " + ns + "/demo is not aborted: there is nothing to retry",
		},
		{
			name: "pause", rollout: canary(), args: []string{"pause", "demo"}, wantOut: "rollout 'demo' paused",
			check: func(t *testing.T, ro *argov1.Rollout) {
				if !ro.Spec.Paused {
					t.Error("spec.paused not set")
				}
			},
		},
		{
			name: "set image of one container", rollout: canary(),
			args: []string{"set", "image", "demo", "demo=argoproj/rollouts-demo:blue"}, wantOut: `rollout "demo" image updated`,
			check: func(t *testing.T, ro *argov1.Rollout) {
				if im := ro.Spec.Template.Spec.Containers[0].Image; im != "argoproj/rollouts-demo:blue" {
					t.Errorf("image = %s", im)
				}
				if im := ro.Spec.Template.Spec.InitContainers[0].Image; im != "busybox:1" {
					t.Errorf("the init container's image changed to %s", im)
				}
			},
		},
		{
			name: "set image * sets every container", rollout: canary(),
			args: []string{"set", "image", "demo", "*=registry.example/all:2"},
			check: func(t *testing.T, ro *argov1.Rollout) {
				if ro.Spec.Template.Spec.Containers[0].Image != "registry.example/all:2" || ro.Spec.Template.Spec.InitContainers[0].Image != "registry.example/all:2" {
					t.Errorf("images = %+v", ro.Spec.Template.Spec)
				}
			},
		},
		{
			name: "set image of a container the Rollout lacks", rollout: canary(),
			args: []string{"set", "image", "demo", "web=nginx"}, wantErr: `rollout ` + ns + `/demo has no container "web"`,
			check: func(t *testing.T, ro *argov1.Rollout) {
				if ro.Spec.Template.Spec.Containers[0].Image != "argoproj/rollouts-demo:yellow" {
					t.Error("a refused set image changed the Rollout")
				}
			},
		},
		{
			name: "set image without CONTAINER=IMAGE", rollout: canary(),
			args: []string{"set", "image", "demo", "nginx"}, wantErr: `"nginx" is not CONTAINER=IMAGE`,
		},
		{
			name: "undo goes back to the revision before the current", rollout: canary(),
			extra: []client.Object{replicaSet(canary(), "new", "3", "argoproj/rollouts-demo:yellow", 1), replicaSet(canary(), "old", "2", "argoproj/rollouts-demo:blue", 4),
				replicaSet(canary(), "older", "1", "argoproj/rollouts-demo:red", 0)},
			args: []string{"undo", "demo"}, wantOut: "rollout 'demo' undo to revision 2",
			check: func(t *testing.T, ro *argov1.Rollout) {
				if im := ro.Spec.Template.Spec.Containers[0].Image; im != "argoproj/rollouts-demo:blue" {
					t.Errorf("image = %s, want revision 2's", im)
				}
				if _, ok := ro.Spec.Template.Labels[labelPodTemplateHash]; ok {
					t.Error("undo copied the ReplicaSet's pod-template-hash label into the Rollout")
				}
			},
		},
		{
			name: "undo --to-revision", rollout: canary(),
			extra: []client.Object{replicaSet(canary(), "new", "3", "argoproj/rollouts-demo:yellow", 1), replicaSet(canary(), "older", "1", "argoproj/rollouts-demo:red", 0)},
			args:  []string{"undo", "demo", "--to-revision", "1"},
			check: func(t *testing.T, ro *argov1.Rollout) {
				if im := ro.Spec.Template.Spec.Containers[0].Image; im != "argoproj/rollouts-demo:red" {
					t.Errorf("image = %s, want revision 1's", im)
				}
			},
		},
		{
			name: "undo to a revision that is not there", rollout: canary(),
			extra: []client.Object{replicaSet(canary(), "new", "3", "argoproj/rollouts-demo:yellow", 1)},
			args:  []string{"undo", "demo", "--to-revision", "7"}, wantErr: "rollout " + ns + "/demo has no revision 7 to go back to (it has 3)",
		},
		{
			name: "a Rollout that does not exist", args: []string{"abort", "missing"},
			wantErr: "missing",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var objs []client.Object
			if tt.rollout != nil {
				objs = append(objs, tt.rollout)
			}
			c := clients(t, append(objs, tt.extra...)...)
			r := run(t, c, tt.args...)
			clitest.WantErr(t, r.Err, tt.wantErr)
			if tt.wantOut != "" && !strings.Contains(r.Out, tt.wantOut) {
				t.Errorf("output %q lacks %q", r.Out, tt.wantOut)
			}
			if tt.check != nil {
				tt.check(t, read(t, c))
			}
		})
	}
}

func TestNotFoundNamesTheFix(t *testing.T) {
	r := run(t, clients(t), "promote", "missing")
	var e *cli.Error
	if !errors.As(r.Err, &e) || !strings.Contains(e.Problem, "missing") || e.Fix == "" {
		t.Fatalf("err = %v, want a cli.Error naming the Rollout with a fix", r.Err)
	}
}

func TestList(t *testing.T) {
	bg := canary(func(ro *argov1.Rollout) {
		ro.Name = "bg"
		ro.Spec.Strategy = argov1.RolloutStrategy{BlueGreen: &argov1.BlueGreenStrategy{ActiveService: "bg-active"}}
		ro.Status = argov1.RolloutStatus{ObservedGeneration: "2", Phase: argov1.RolloutPhaseHealthy, Replicas: 5, ReadyReplicas: 5, UpdatedReplicas: 5, AvailableReplicas: 5}
	})
	r := run(t, clients(t, canary(), bg), "list")
	clitest.WantErr(t, r.Err, "")
	got := clitest.Squeeze(r.Out)
	for _, want := range []string{
		"NAME STRATEGY STATUS STEP SET-WEIGHT READY DESIRED UP-TO-DATE AVAILABLE",
		"bg BlueGreen Healthy - - 5/5 5 5 5",
		"demo Canary Paused 1/4 20 5/5 5 1 5",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("list lacks %q:\n%s", want, r.Out)
		}
	}
	if r := run(t, clients(t, canary()), "list", "-o", "name"); strings.TrimSpace(r.Out) != "rollout.argolite.dev/demo" {
		t.Errorf("-o name = %q", r.Out)
	}
	if r := run(t, clients(t), "list"); r.Err != nil || !strings.Contains(r.Out+r.ErrOut, "No rollouts") {
		t.Errorf("an empty list: %v %q %q", r.Err, r.Out, r.ErrOut)
	}
}

func TestGetTree(t *testing.T) {
	ro := canary()
	run1 := &argov1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "demo-new-3-1",
		Annotations:       map[string]string{annotationRevision: "3"},
		CreationTimestamp: metav1.Time{Time: now.Add(-time.Minute)},
		OwnerReferences:   []metav1.OwnerReference{{APIVersion: argov1.GroupVersion.String(), Kind: "Rollout", Name: "demo", UID: ro.UID, Controller: ptr.To(true)}}},
		Status: argov1.AnalysisRunStatus{Phase: argov1.AnalysisPhaseRunning}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "demo-new-abcde", Labels: map[string]string{labelPodTemplateHash: "new"},
		CreationTimestamp: metav1.Time{Time: now.Add(-2 * time.Minute)}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Ready: true}}}}
	c := clients(t, ro, replicaSet(ro, "new", "3", "argoproj/rollouts-demo:yellow", 1), replicaSet(ro, "old", "2", "argoproj/rollouts-demo:blue", 4), pod, run1)
	r := run(t, c, "get", "demo")
	clitest.WantErr(t, r.Err, "")
	got := clitest.Squeeze(r.Out)
	for _, want := range []string{
		"Status: ॥ Paused", "Message: CanaryPauseStep", "Strategy: Canary", "Step: 1/4", "SetWeight: 20",
		"argoproj/rollouts-demo:blue (stable)", "argoproj/rollouts-demo:yellow (canary)",
		"# revision:3", "⧉ demo-new ReplicaSet", "□ demo-new-abcde Pod", "α demo-new-3-1 AnalysisRun", "# revision:2",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("get lacks %q:\n%s", want, r.Out)
		}
	}
	if strings.Index(r.Out, "revision:3") > strings.Index(r.Out, "revision:2") {
		t.Errorf("revisions should be newest first:\n%s", r.Out)
	}
	if r := run(t, c, "get", "demo", "-w", "-o", "yaml"); r.Err == nil || !strings.Contains(r.Err.Error(), "-w draws the tree") {
		t.Errorf("-w with -o: %v", r.Err)
	}
	if r := run(t, c, "get", "demo", "-o", "yaml"); !strings.Contains(r.Out, "kind: Rollout") || !strings.Contains(r.Out, "apiVersion: argolite.dev/v1alpha1") {
		t.Errorf("-o yaml:\n%s", r.Out)
	}
}

func TestStatus(t *testing.T) {
	tests := []struct {
		name     string
		rollout  *argov1.Rollout
		args     []string
		wantCode int // -1: no error
		wantOut  string
	}{
		{"paused exits 0", canary(), nil, -1, "Paused - CanaryPauseStep"},
		{"healthy exits 0", canary(func(ro *argov1.Rollout) {
			ro.Status.Phase, ro.Status.Message = argov1.RolloutPhaseHealthy, ""
		}), nil, -1, "Healthy"},
		{"degraded exits 1", canary(func(ro *argov1.Rollout) {
			ro.Status.Phase, ro.Status.Message = argov1.RolloutPhaseDegraded, "RolloutAborted: Rollout aborted update to revision 3"
		}), nil, 1, "Degraded - RolloutAborted"},
		{"progressing runs into --timeout", canary(func(ro *argov1.Rollout) {
			ro.Status.Phase, ro.Status.Message = argov1.RolloutPhaseProgressing, "more replicas need to be updated"
		}), []string{"--timeout", "20ms"}, 0, "Progressing - more replicas need to be updated"},
		{"a spec the agent has not seen yet is Progressing", canary(func(ro *argov1.Rollout) { ro.Generation = 3 }),
			[]string{"--timeout", "20ms"}, 0, "waiting for the agent to observe the latest spec"},
		{"--watch=false prints once", canary(func(ro *argov1.Rollout) {
			ro.Status.Phase = argov1.RolloutPhaseProgressing
		}), []string{"--watch=false"}, -1, "Progressing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, clients(t, tt.rollout), append([]string{"status", "demo"}, tt.args...)...)
			if !strings.Contains(r.Out, tt.wantOut) {
				t.Errorf("output %q lacks %q", r.Out, tt.wantOut)
			}
			var exit *cli.ExitError
			switch {
			case tt.wantCode == -1:
				clitest.WantErr(t, r.Err, "")
			case tt.wantCode == 0:
				if r.Err == nil || !strings.Contains(r.Err.Error(), "timed out") && !strings.Contains(r.Err.Error(), "20ms") {
					t.Errorf("err = %v, want the timeout", r.Err)
				}
			case !errors.As(r.Err, &exit) || exit.Code != tt.wantCode:
				t.Errorf("err = %v, want exit %d", r.Err, tt.wantCode)
			}
		})
	}
}

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string { return writeFile(t, dir, name, body) }
	good := write("good.yaml", `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: demo}
spec:
  replicas: 2
  selector: {matchLabels: {app: demo}}
  template:
    metadata: {labels: {app: demo}}
    spec: {containers: [{name: demo, image: argoproj/rollouts-demo:blue}]}
  strategy:
    canary:
      steps: [{setWeight: 50}, {pause: {}}]
---
apiVersion: v1
kind: Service
metadata: {name: demo}
spec: {selector: {app: demo}, ports: [{port: 80}]}
`)
	c := clients(t)
	r := run(t, c, "create", "-f", good)
	clitest.WantErr(t, r.Err, "")
	if !strings.Contains(r.Out, "rollout/demo created") || !strings.Contains(r.Out, "service/demo created") {
		t.Errorf("output = %q", r.Out)
	}
	if ro := read(t, c); *ro.Spec.Strategy.Canary.Steps[0].SetWeight != 50 {
		t.Errorf("created Rollout = %+v", ro.Spec)
	}

	bad := write("bad.yaml", `apiVersion: v1
kind: Service
metadata: {name: first}
spec: {ports: [{port: 80}]}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: typo}
spec:
  strategy:
    canary:
      trafficRoutng: {}
`)
	c = clients(t)
	r = run(t, c, "create", "-f", bad)
	clitest.WantErr(t, r.Err, `bad.yaml (document 2, Rollout typo)`)
	if r.Err != nil && !strings.Contains(r.Err.Error(), "trafficRoutng") {
		t.Errorf("the error does not name the misspelt field: %v", r.Err)
	}
	var svcs corev1.ServiceList
	if err := c.Client.List(context.Background(), &svcs); err != nil || len(svcs.Items) != 0 {
		t.Errorf("a refused file created %d objects (%v), want none", len(svcs.Items), err)
	}
	istio := write("istio.yaml", "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: mesh}\nspec:\n  strategy:\n    canary:\n      trafficRouting: {istio: {virtualService: {name: vs}}}\n")
	if r := run(t, clients(t), "create", "-f", istio); r.Err == nil || !strings.Contains(r.Err.Error(), "spec.strategy.canary.trafficRouting.istio") ||
		!strings.Contains(r.Err.Error(), "argolite routes traffic with the Gateway API") {
		t.Errorf("an Istio Rollout: %v, want the field and the Gateway API fix, as the agent says", r.Err)
	}
	sub := filepath.Join(t.TempDir(), "app")
	if err := os.MkdirAll(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(good)
	if err := os.WriteFile(filepath.Join(sub, "rollout.yaml"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := run(t, clients(t), "create", "-f", sub); r.Err != nil || !strings.Contains(r.Out, "rollout/demo created") {
		t.Errorf("create -f DIR: %v %q", r.Err, r.Out)
	}
	if r := run(t, clients(t, canary()), "create", "-f", write("again.yaml", "apiVersion: argolite.dev/v1alpha1\nkind: Rollout\nmetadata: {name: demo}\nspec: {}\n")); r.Err == nil || !strings.Contains(r.Err.Error(), "already exists") {
		t.Errorf("creating an existing Rollout: %v", r.Err)
	}
	if r := run(t, clients(t), "create"); r.Err == nil || !strings.Contains(r.Err.Error(), "no file given") {
		t.Errorf("create without -f: %v", r.Err)
	}
}

func TestRestart(t *testing.T) {
	c := clients(t, canary())
	r := run(t, c, "restart", "demo", "--in", "10m")
	clitest.WantErr(t, r.Err, "")
	if !strings.Contains(r.Out, "rollout 'demo' restarts in 10m0s") {
		t.Errorf("output = %q", r.Out)
	}
	if at := read(t, c).Spec.RestartAt; at == nil || !at.Time.Equal(now.Add(10*time.Minute).UTC().Truncate(time.Second)) {
		t.Errorf("spec.restartAt = %v, want now + 10m", at)
	}
	if r := run(t, c, "restart", "demo", "--in", "-1m"); r.Err == nil || !strings.Contains(r.Err.Error(), "in the past") {
		t.Errorf("--in -1m: %v", r.Err)
	}
}

func TestAnalysisRunCommands(t *testing.T) {
	ro := canary()
	run1 := &argov1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "demo-new-3-1", CreationTimestamp: metav1.Time{Time: now.Add(-3 * time.Minute)},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: argov1.GroupVersion.String(), Kind: "Rollout", Name: "demo", UID: ro.UID, Controller: ptr.To(true)}}},
		Spec: argov1.AnalysisRunSpec{Metrics: []argov1.Metric{{Name: "success-rate"}, {Name: "latency"}}},
		Status: argov1.AnalysisRunStatus{Phase: argov1.AnalysisPhaseRunning, MetricResults: []argov1.MetricResult{{
			Name: "success-rate", Phase: argov1.AnalysisPhaseRunning, Count: 2, Successful: 1, Error: 1,
			Measurements: []argov1.Measurement{
				{Phase: argov1.AnalysisPhaseError, Message: "received non 2xx response code: 503"},
				{Phase: argov1.AnalysisPhaseSuccessful, Value: "[0.99]"},
			},
		}}},
	}
	manual := &argov1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "by-hand", CreationTimestamp: metav1.Time{Time: now.Add(-time.Minute)}},
		Status: argov1.AnalysisRunStatus{Phase: argov1.AnalysisPhaseFailed, Message: "Metric \"x\" assessed Failed"}}
	c := clients(t, ro, run1, manual)

	r := run(t, c, "analysisrun", "list")
	clitest.WantErr(t, r.Err, "")
	got := clitest.Squeeze(r.Out)
	for _, want := range []string{"NAME STATUS ROLLOUT METRICS AGE MESSAGE", "demo-new-3-1 Running demo 2 3m -", `by-hand Failed - 0 60s Metric "x" assessed Failed`} {
		if !strings.Contains(got, want) {
			t.Errorf("list lacks %q:\n%s", want, r.Out)
		}
	}
	if strings.Index(r.Out, "demo-new-3-1") > strings.Index(r.Out, "by-hand") {
		t.Errorf("runs should be oldest first:\n%s", r.Out)
	}

	r = run(t, c, "ar", "get", "demo-new-3-1")
	clitest.WantErr(t, r.Err, "")
	got = clitest.Squeeze(r.Out)
	for _, want := range []string{
		"METRIC STATUS COUNT SUCCESSFUL FAILED INCONCLUSIVE ERROR LAST",
		"success-rate ◌ Running 2 1 0 0 1 Error: received non 2xx response code: 503; Successful: [0.99]",
		"latency Pending 0 0 0 0 0 -",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("get lacks %q:\n%s", want, r.Out)
		}
	}

	r = run(t, c, "analysisrun", "terminate", "demo-new-3-1")
	clitest.WantErr(t, r.Err, "")
	stored := &argov1.AnalysisRun{}
	if err := c.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "demo-new-3-1"}, stored); err != nil || !stored.Spec.Terminate {
		t.Errorf("spec.terminate = %v (%v), want true", stored.Spec.Terminate, err)
	}
	if r := run(t, c, "analysisrun", "get", "nope"); r.Err == nil || !strings.Contains(r.Err.Error(), "nope") {
		t.Errorf("get of a missing run: %v", r.Err)
	}
}

func TestExperimentCommands(t *testing.T) {
	ro := canary()
	ex := &argov1.Experiment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "demo-new-3-0", CreationTimestamp: metav1.Time{Time: now.Add(-2 * time.Minute)},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: argov1.GroupVersion.String(), Kind: "Rollout", Name: "demo", UID: ro.UID, Controller: ptr.To(true)}}},
		Spec: argov1.ExperimentSpec{Duration: "5m",
			Templates: []argov1.ExperimentTemplate{{Name: "baseline"}, {Name: "canary"}},
			Analyses:  []argov1.ExperimentAnalysisTemplateRef{{Name: "compare", TemplateName: "compare", RequiredForCompletion: true}}},
		Status: argov1.ExperimentStatus{Phase: argov1.AnalysisPhaseRunning,
			TemplateStatuses: []argov1.ExperimentTemplateStatus{{Name: "baseline", Status: argov1.TemplateStatusRunning, Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1,
				PodTemplateHash: "abc123", ServiceName: "demo-new-3-0-baseline"}},
			AnalysisRuns: []argov1.ExperimentAnalysisRunStatus{{Name: "compare", AnalysisRun: "demo-new-3-0-compare", Phase: argov1.AnalysisPhaseRunning}}},
	}
	ex.Annotations = map[string]string{"rollout.argoproj.io/revision": "3"}
	ex.UID = "ex-uid"
	exRS := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "demo-new-3-0-baseline", CreationTimestamp: metav1.Time{Time: now.Add(-time.Minute)},
		Labels:          map[string]string{"rollouts-pod-template-hash": "abc123"},
		Annotations:     map[string]string{argov1.ExperimentNameAnnotationKey: ex.Name, argov1.ExperimentTemplateNameAnnotationKey: "baseline"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: argov1.GroupVersion.String(), Kind: "Experiment", Name: ex.Name, UID: ex.UID, Controller: ptr.To(true)}}},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(int32(1))}, Status: appsv1.ReplicaSetStatus{Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1}}
	c := clients(t, ro, ex, exRS)

	// The rollout's tree shows the experiment under its revision, with its
	// template's ReplicaSet.
	r := run(t, c, "get", "demo")
	clitest.WantErr(t, r.Err, "")
	got := clitest.Squeeze(r.Out)
	for _, want := range []string{"Σ demo-new-3-0 Experiment ◌ Running", "⧉ demo-new-3-0-baseline ReplicaSet"} {
		if !strings.Contains(got, want) {
			t.Errorf("get lacks %q:\n%s", want, r.Out)
		}
	}

	r = run(t, c, "experiment", "list")
	clitest.WantErr(t, r.Err, "")
	got = clitest.Squeeze(r.Out)
	for _, want := range []string{"NAME STATUS ROLLOUT TEMPLATES ANALYSES DURATION AGE MESSAGE", "demo-new-3-0 Running demo 2 1 5m 2m -"} {
		if !strings.Contains(got, want) {
			t.Errorf("list lacks %q:\n%s", want, r.Out)
		}
	}
	r = run(t, c, "exp", "get", "demo-new-3-0")
	clitest.WantErr(t, r.Err, "")
	got = clitest.Squeeze(r.Out)
	for _, want := range []string{
		"TEMPLATE STATUS REPLICAS READY AVAILABLE POD-HASH SERVICE MESSAGE",
		"baseline Running 1 1 1 abc123 demo-new-3-0-baseline -",
		"canary Pending 0 0 0 - - -",
		"compare ◌ Running demo-new-3-0-compare true -",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("get lacks %q:\n%s", want, r.Out)
		}
	}
	r = run(t, c, "experiment", "terminate", "demo-new-3-0")
	clitest.WantErr(t, r.Err, "")
	stored := &argov1.Experiment{}
	if err := c.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "demo-new-3-0"}, stored); err != nil || !stored.Spec.Terminate {
		t.Errorf("spec.terminate = %v (%v), want true", stored.Spec.Terminate, err)
	}
	if r := run(t, c, "experiment", "get", "nope"); r.Err == nil || !strings.Contains(r.Err.Error(), "nope") {
		t.Errorf("get of a missing experiment: %v", r.Err)
	}
}

func TestWorkloadRefTemplateIsTheDeployments(t *testing.T) {
	ro := canary(func(ro *argov1.Rollout) {
		ro.Spec.Template = corev1.PodTemplateSpec{}
		ro.Spec.WorkloadRef = &argov1.ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", ScaleDown: argov1.ScaleDownProgressively}
	})
	c := clients(t, ro)
	r := run(t, c, "set", "image", "demo", "demo=nginx:2")
	clitest.WantErr(t, r.Err, "takes its Pod template from Deployment web (workloadRef)")
	if r.Err != nil && !strings.Contains(r.Err.Error(), "kubectl set image deployment/web") {
		t.Errorf("the fix does not say how to change the Deployment: %v", r.Err)
	}
	r = run(t, c, "undo", "demo")
	clitest.WantErr(t, r.Err, "kubectl rollout undo deployment/web")
}

func TestLint(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string { return writeFile(t, dir, name, body) }
	good := write("good.yaml", `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: demo}
spec:
  selector: {matchLabels: {app: demo}}
  template:
    metadata: {labels: {app: demo}}
    spec: {containers: [{name: demo, image: nginx}]}
  strategy: {canary: {steps: [{setWeight: 50}, {pause: {}}]}}
---
apiVersion: v1
kind: Service
metadata: {name: skipped}
`)
	bad := write("bad.yaml", `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: mismatch}
spec:
  selector: {matchLabels: {app: other}}
  template:
    metadata: {labels: {app: demo}}
    spec: {containers: [{name: demo, image: nginx}]}
  strategy: {canary: {maxSurge: 0, maxUnavailable: 0}}
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: dd}
spec:
  metrics: [{name: m, provider: {datadog: {query: x}}}]
`)
	r := run(t, clients(t), "lint", good)
	clitest.WantErr(t, r.Err, "")
	if !strings.Contains(r.Out, "✔ "+good) || !strings.Contains(r.Out, "1 object(s) in 1 file(s): no problems") {
		t.Errorf("lint of a good file:\n%s", r.Out)
	}
	r = run(t, clients(t), "lint", dir)
	var exit *cli.ExitError
	if !errors.As(r.Err, &exit) || exit.Code != 1 {
		t.Fatalf("lint of a bad file: err %v, want exit 1", r.Err)
	}
	for _, want := range []string{"✖ " + bad, "(document 1, Rollout mismatch): spec.template.metadata.labels: `selector` does not match template `labels`",
		"MaxSurge and MaxUnavailable both can not be zero", "(document 2, AnalysisTemplate dd)", `field "datadog" is not supported by argolite`, "✔ " + good, "2 problem(s) in 2 file(s)"} {
		if !strings.Contains(r.Out, want) {
			t.Errorf("lint output lacks %q:\n%s", want, r.Out)
		}
	}
}

// writeFile writes body to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
