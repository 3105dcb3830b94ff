package agent

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func waiting(reason, message string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "agent", State: corev1.ContainerState{
			Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}}}
	}
}

func TestStartFailure(t *testing.T) {
	crashLoop := func(p *corev1.Pod) {
		waiting("CrashLoopBackOff", "back-off 10s restarting failed container")(p)
		p.Status.ContainerStatuses[0].LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 2}
	}
	initPull := func(p *corev1.Pod) {
		p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox:bad"}}
		p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "init", State: corev1.ContainerState{
			Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull"}}}}
	}
	tests := []struct {
		name      string
		pod       *corev1.Pod
		wantNil   bool
		wantError []string
		wantFix   string
	}{
		{name: "creating", pod: agentPod("p", "h", waiting("ContainerCreating", "")), wantNil: true},
		{name: "running", pod: agentPod("p", "h"), wantNil: true},
		{name: "image pull back-off", pod: agentPod("p", "h", waiting("ImagePullBackOff", "Back-off pulling image")),
			wantError: []string{"argolite-system/p", `cannot pull image "ghcr.io/argolite/argolite-agent:v1"`, "ImagePullBackOff", "Back-off pulling image"},
			wantFix:   "make image-import"},
		{name: "pull error", pod: agentPod("p", "h", waiting("ErrImagePull", "not found")),
			wantError: []string{"cannot pull image", "ErrImagePull"}, wantFix: "--image"},
		{name: "never pull", pod: agentPod("p", "h", waiting("ErrImageNeverPull", "")),
			wantError: []string{"not on the node"}, wantFix: "make image-import"},
		{name: "invalid name", pod: agentPod("p", "h", waiting("InvalidImageName", "")),
			wantError: []string{"image name", "is invalid"}, wantFix: "valid image reference"},
		{name: "crash loop", pod: agentPod("p", "h", crashLoop),
			wantError: []string{"keeps crashing", "last exit code 2"}, wantFix: "kubectl -n argolite-system logs p -c agent --previous"},
		{name: "init container", pod: agentPod("p", "h", initPull),
			wantError: []string{`"busybox:bad"`, "ErrImagePull"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := StartFailure(tt.pod)
			if tt.wantNil {
				if p != nil {
					t.Fatalf("StartFailure = %v, want nil", p)
				}
				return
			}
			if p == nil {
				t.Fatal("StartFailure = nil, want a problem")
			}
			for _, s := range tt.wantError {
				if !strings.Contains(p.Error(), s) {
					t.Errorf("Error() = %q, want it to contain %q", p.Error(), s)
				}
			}
			if !strings.Contains(p.Fix(), tt.wantFix) {
				t.Errorf("Fix() = %q, want it to contain %q", p.Fix(), tt.wantFix)
			}
		})
	}
}

func TestWaiting(t *testing.T) {
	unschedulable := func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodPending
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
			Reason: "Unschedulable", Message: "0/1 nodes are available: 1 Insufficient memory."}}
	}
	runningNotReady := func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{name: "unschedulable", pod: agentPod("p", "h", unschedulable), want: "Unschedulable: 0/1 nodes are available: 1 Insufficient memory."},
		{name: "container waiting", pod: agentPod("p", "h", waiting("ContainerCreating", "")), want: "ContainerCreating"},
		{name: "running, not ready", pod: agentPod("p", "h", runningNotReady), want: "Running, not ready"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Waiting(tt.pod); got != tt.want {
				t.Errorf("Waiting = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadyRestartsContainers(t *testing.T) {
	p := agentPod("p", "h", func(p *corev1.Pod) {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "sidecar"})
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "agent", Ready: true, RestartCount: 2}, {Name: "sidecar", RestartCount: 1}}
	})
	if !Ready(p) || Restarts(p) != 3 || ReadyContainers(p) != "1/2" {
		t.Errorf("Ready, Restarts, ReadyContainers = %v, %d, %s; want true, 3, 1/2", Ready(p), Restarts(p), ReadyContainers(p))
	}
}
