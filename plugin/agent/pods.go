package agent

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Problem is why a replica cannot start and will not recover by waiting.
type Problem struct {
	// Pod is "namespace/name".
	Pod       string
	Container string
	Image     string
	// Reason is the kubelet's waiting reason, such as ImagePullBackOff.
	Reason  string
	Message string
	// ExitCode is the last exit code of a crash-looping container.
	ExitCode int32
}

// fatalReasons are waiting reasons that waiting longer does not cure.
var fatalReasons = map[string]bool{
	"ImagePullBackOff":  true,
	"ErrImagePull":      true,
	"ErrImageNeverPull": true,
	"InvalidImageName":  true,
	"CrashLoopBackOff":  true,
}

// StartFailure returns why pod cannot start, or nil when it may still.
func StartFailure(pod *corev1.Pod) *Problem {
	specs := map[string]corev1.Container{}
	for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		specs[c.Name] = c
	}
	for _, st := range append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		if st.State.Waiting == nil || !fatalReasons[st.State.Waiting.Reason] {
			continue
		}
		p := &Problem{
			Pod:       pod.Namespace + "/" + pod.Name,
			Container: st.Name,
			Image:     specs[st.Name].Image,
			Reason:    st.State.Waiting.Reason,
			Message:   st.State.Waiting.Message,
		}
		if p.Image == "" {
			p.Image = st.Image
		}
		if t := st.LastTerminationState.Terminated; t != nil {
			p.ExitCode = t.ExitCode
		}
		return p
	}
	return nil
}

func (p *Problem) Error() string {
	what := fmt.Sprintf("agent Pod %s cannot start: %s", p.Pod, p.Reason)
	switch p.Reason {
	case "CrashLoopBackOff":
		what = fmt.Sprintf("agent Pod %s keeps crashing (%s, last exit code %d)", p.Pod, p.Reason, p.ExitCode)
	case "InvalidImageName":
		what = fmt.Sprintf("agent Pod %s cannot start: image name %q is invalid (%s)", p.Pod, p.Image, p.Reason)
	case "ErrImageNeverPull":
		what = fmt.Sprintf("agent Pod %s cannot start: image %q is not on the node and its pull policy forbids pulling (%s)", p.Pod, p.Image, p.Reason)
	case "ImagePullBackOff", "ErrImagePull":
		what = fmt.Sprintf("agent Pod %s cannot pull image %q (%s)", p.Pod, p.Image, p.Reason)
	}
	if p.Message != "" {
		what += ": " + p.Message
	}
	return what
}

// Fix says what to do about the problem.
func (p *Problem) Fix() string {
	ns, name, _ := strings.Cut(p.Pod, "/")
	switch p.Reason {
	case "CrashLoopBackOff":
		return fmt.Sprintf("read why with kubectl -n %s logs %s -c %s --previous", ns, name, p.Container)
	case "InvalidImageName":
		return "pass a valid image reference with --image"
	case "ErrImageNeverPull":
		return "load the image onto the node (on the local cluster: make image-import) or pass another --image"
	default:
		return "publish the image where the cluster can pull it or pass another --image; " +
			"on the local cluster, load it with make image-import"
	}
}

// Waiting says briefly why pod is not ready yet, for progress lines.
func Waiting(pod *corev1.Pod) string {
	if pod.DeletionTimestamp != nil {
		return "Terminating"
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			if c.Message != "" {
				return c.Reason + ": " + c.Message
			}
			return c.Reason
		}
	}
	for _, st := range append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		if w := st.State.Waiting; w != nil && w.Reason != "" {
			return w.Reason
		}
	}
	if pod.Status.Phase == corev1.PodRunning && !Ready(pod) {
		return "Running, not ready"
	}
	return string(pod.Status.Phase)
}

// Ready reports whether pod's Ready condition is true.
func Ready(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Restarts is the sum of the restarts of pod's containers.
func Restarts(pod *corev1.Pod) int32 {
	var n int32
	for _, st := range pod.Status.ContainerStatuses {
		n += st.RestartCount
	}
	return n
}

// ReadyContainers is "ready/total" for pod's containers, as kubectl shows it.
func ReadyContainers(pod *corev1.Pod) string {
	ready := 0
	for _, st := range pod.Status.ContainerStatuses {
		if st.Ready {
			ready++
		}
	}
	return fmt.Sprintf("%d/%d", ready, len(pod.Spec.Containers))
}
