package workflow

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/agent/exec"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

func resourceQuantity(s string) resource.Quantity { return resource.MustParse(s) }

// fatalWaiting are container waiting reasons that do not go away by waiting.
var fatalWaiting = map[string]bool{
	"ImagePullBackOff":           true,
	"ErrImageNeverPull":          true,
	"InvalidImageName":           true,
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
}

// assessPod folds a step Pod's state into its node. t may be nil when the
// walk did not reach the node (its outputs are then read without the
// template's declarations).
func (o *operation) assessPod(n *argov1.NodeStatus, pod *corev1.Pod, t *argov1.Template) {
	n.HostNodeName = firstNonEmpty(pod.Spec.NodeName, n.HostNodeName)
	n.PodIP = firstNonEmpty(pod.Status.PodIP, n.PodIP)
	main := containerStatus(pod.Status.ContainerStatuses, exec.MainContainer)
	if main == nil && len(pod.Status.ContainerStatuses) > 0 && t != nil && t.ContainerSet != nil {
		main = lastTerminated(pod.Status.ContainerStatuses)
	}
	// A failed init container (ours or the user's) ends the step.
	for _, ic := range pod.Status.InitContainerStatuses {
		if term := ic.State.Terminated; term != nil && term.ExitCode != 0 {
			msg := fmt.Sprintf("init container %s failed: %s (exit code %d)", ic.Name, firstNonEmpty(strings.TrimSpace(term.Message), term.Reason), term.ExitCode)
			o.setNode(n)
			o.markNode(n.Name, argov1.NodeError, msg)
			o.podDone(pod, argov1.NodeError)
			return
		}
		if w := ic.State.Waiting; w != nil && fatalWaiting[w.Reason] {
			o.failPending(n, pod, w)
			return
		}
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && fatalWaiting[w.Reason] {
			o.failPending(n, pod, w)
			return
		}
	}
	if pod.DeletionTimestamp != nil && (main == nil || main.State.Terminated == nil || main.State.Terminated.ExitCode != 0) {
		// Someone deleted the Pod under the step (the agent marks a node
		// done before it deletes its Pod): an error a retry may repeat.
		o.setNode(n)
		o.markNode(n.Name, argov1.NodeError, podDeletedMessage(pod))
		return
	}
	switch {
	case main != nil && main.State.Terminated != nil:
		o.finishFromContainer(n, pod, main.State.Terminated, t)
		return
	case pod.Status.Phase == corev1.PodFailed:
		msg := firstNonEmpty(pod.Status.Message, pod.Status.Reason, "pod failed")
		phase := argov1.NodeError
		if pod.Status.Reason == "DeadlineExceeded" {
			phase = argov1.NodeFailed
			msg = "Pod was active on the node longer than the specified deadline"
		}
		o.setNode(n)
		o.markNode(n.Name, phase, msg)
		o.podDone(pod, phase)
		return
	case pod.Status.Phase == corev1.PodSucceeded:
		// Succeeded without a main status: trust the Pod.
		o.setNode(n)
		o.markNode(n.Name, argov1.NodeSucceeded, "")
		o.podDone(pod, argov1.NodeSucceeded)
		return
	case pod.Status.Phase == corev1.PodRunning:
		if n.Phase != argov1.NodeRunning {
			n.Phase = argov1.NodeRunning
			n.Message = ""
		}
		if t != nil && t.Daemon != nil && *t.Daemon && podReady(pod) {
			n.Daemoned = ptr.To(true)
		}
		o.activePods++
		o.setNode(n)
		return
	default:
		n.Phase = argov1.NodePending
		n.Message = pendingReason(pod)
		o.activePods++
		o.setNode(n)
	}
}

// failPending ends a node whose Pod cannot start.
func (o *operation) failPending(n *argov1.NodeStatus, pod *corev1.Pod, w *corev1.ContainerStateWaiting) {
	o.setNode(n)
	o.markNode(n.Name, argov1.NodeError, strings.TrimSpace(w.Reason+": "+w.Message))
	// Nothing ran; the Pod would only wait.
	if err := o.r.Client.Delete(o.ctx, pod); client.IgnoreNotFound(err) != nil {
		o.log.Error(err, "deleting a pod that cannot start", "pod", pod.Name)
	}
}

// finishFromContainer ends a node from its main container's exit and the
// wrapper's report.
func (o *operation) finishFromContainer(n *argov1.NodeStatus, pod *corev1.Pod, term *corev1.ContainerStateTerminated, t *argov1.Template) {
	var res exec.Result
	parsed := json.Unmarshal([]byte(term.Message), &res) == nil
	if parsed && res.Offloaded != nil {
		loc := *res.Offloaded
		if loc.S3 != nil {
			s3 := *loc.S3
			s3.Endpoint = inNamespace(s3.Endpoint, pod.Namespace)
			loc.S3 = &s3
		}
		full, err := exec.ReadOffloaded(o.ctx, loc, o.podEnv(pod))
		if err != nil {
			o.setNode(n)
			o.markNode(n.Name, argov1.NodeError, fmt.Sprintf("reading the step's outputs from the artifact repository: %v", err))
			o.podDone(pod, argov1.NodeError)
			return
		}
		if res.ExitCode != nil && full.ExitCode == nil {
			full.ExitCode = res.ExitCode
		}
		res = *full
	}
	code := int(term.ExitCode)
	if parsed && res.ExitCode != nil {
		code = *res.ExitCode
	}
	out := &argov1.Outputs{ExitCode: ptr.To(strconv.Itoa(code))}
	if parsed {
		out.Result = res.Result
		values := map[string]string{}
		for _, p := range res.Parameters {
			values[p.Name] = p.Value
		}
		if t != nil {
			for _, p := range t.Outputs.Parameters {
				v, ok := values[p.Name]
				switch {
				case ok:
				case p.ValueFrom == nil && p.Value != nil:
					// A literal output (value: '{{inputs.parameters.x}}',
					// substituted with the inputs): Argo reports it as written.
					v = p.Value.String()
				case p.ValueFrom != nil && p.ValueFrom.Default != nil:
					v = p.ValueFrom.Default.String()
				default:
					continue
				}
				out.Parameters = append(out.Parameters, argov1.Parameter{Name: p.Name, Value: argov1.AnyStringPtr(v), GlobalName: p.GlobalName})
			}
			out.Artifacts = o.outputArtifacts(t, pod.Name, res.Artifacts)
		} else {
			for _, p := range res.Parameters {
				out.Parameters = append(out.Parameters, argov1.Parameter{Name: p.Name, Value: argov1.AnyStringPtr(p.Value)})
			}
		}
	}
	n.Outputs = out
	phase, msg := argov1.NodeSucceeded, ""
	if code != 0 {
		phase = argov1.NodeFailed
		msg = fmt.Sprintf("Error (exit code %d)", code)
		if term.Reason == "OOMKilled" {
			msg = "OOMKilled (exit code 137)"
		}
	}
	if parsed && res.Message != "" {
		if code == 0 {
			phase = argov1.NodeFailed
		}
		if msg != "" {
			msg += ": "
		}
		msg += res.Message
	}
	if !parsed && strings.TrimSpace(term.Message) != "" && code != 0 {
		msg += ": " + strings.TrimSpace(term.Message)
	}
	o.setNode(n)
	o.markNode(n.Name, phase, msg)
	if phase == argov1.NodeSucceeded {
		o.addGlobalOutputs(out)
	}
	o.podDone(pod, phase)
}

// podDone applies the Pod GC strategy to a finished step Pod.
func (o *operation) podDone(pod *corev1.Pod, phase argov1.NodePhase) {
	gc := o.spec.PodGC
	if gc == nil {
		return
	}
	del := gc.Strategy == argov1.PodGCOnPodCompletion || (gc.Strategy == argov1.PodGCOnPodSuccess && phase == argov1.NodeSucceeded)
	if del && o.podMatchesGC(pod) {
		if err := o.r.Client.Delete(o.ctx, pod); client.IgnoreNotFound(err) != nil {
			o.log.Error(err, "pod GC", "pod", pod.Name)
		}
	}
}

func containerStatus(list []corev1.ContainerStatus, name string) *corev1.ContainerStatus {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

// lastTerminated is a container set's status once all its containers ended.
func lastTerminated(list []corev1.ContainerStatus) *corev1.ContainerStatus {
	var last *corev1.ContainerStatus
	for i := range list {
		if list[i].State.Terminated == nil {
			return nil
		}
		if last == nil || list[i].State.Terminated.ExitCode != 0 {
			last = &list[i]
		}
	}
	return last
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// pendingReason says why a Pod waits.
func pendingReason(pod *corev1.Pod) string {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Message != "" {
			return c.Reason + ": " + c.Message
		}
	}
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for _, cs := range list {
			if w := cs.State.Waiting; w != nil && w.Reason != "" && w.Reason != "PodInitializing" && w.Reason != "ContainerCreating" {
				return strings.TrimSpace(w.Reason + ": " + w.Message)
			}
		}
	}
	return ""
}

// podEnv resolves a step Pod's Secret-backed environment variables (the
// artifact credentials) the way the kubelet does, for the agent's own reads.
func (o *operation) podEnv(pod *corev1.Pod) func(string) string {
	var env []corev1.EnvVar
	for _, c := range pod.Spec.Containers {
		env = append(env, c.Env...)
	}
	return o.secretEnv(pod.Namespace, env)
}

// secretEnv resolves the Secret-backed variables of env (those credentials
// records) for code in the agent that reaches an artifact store itself.
func (o *operation) secretEnv(namespace string, env []corev1.EnvVar) func(string) string {
	return func(name string) string {
		for _, e := range env {
			if e.Name != name || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				continue
			}
			ref := e.ValueFrom.SecretKeyRef
			sec := &corev1.Secret{}
			if err := o.r.APIReader.Get(o.ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, sec); err != nil {
				return ""
			}
			return string(sec.Data[ref.Key])
		}
		return ""
	}
}

// podDeletedMessage says a step's Pod was deleted and, when Kubernetes said
// why (the DisruptionTarget condition: a drain's eviction, a NoExecute taint
// of a node going away, preemption), why.
func podDeletedMessage(pod *corev1.Pod) string {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue {
			return fmt.Sprintf("pod deleted (%s: %s)", c.Reason, c.Message)
		}
	}
	return "pod deleted"
}
