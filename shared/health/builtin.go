package health

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/argolite/argolite/shared/api/v1alpha1"
)

// The rules in this file follow gitops-engine's pkg/health (Argo CD), branch
// for branch and message for message, except where a comment says otherwise.

type checkFunc func(*unstructured.Unstructured) (Status, error)

// builtin returns the built-in rule for a kind, or nil.
func builtin(gk schema.GroupKind) checkFunc {
	switch gk.Group {
	case "apps":
		switch gk.Kind {
		case "Deployment":
			return deploymentHealth
		case "StatefulSet":
			return statefulSetHealth
		case "ReplicaSet":
			return replicaSetHealth
		case "DaemonSet":
			return daemonSetHealth
		}
	case "extensions", "networking.k8s.io":
		if gk.Kind == "Ingress" {
			return ingressHealth
		}
	case "apiregistration.k8s.io":
		if gk.Kind == "APIService" {
			return apiServiceHealth
		}
	case "":
		switch gk.Kind {
		case "Service":
			return serviceHealth
		case "PersistentVolumeClaim":
			return pvcHealth
		case "Pod":
			return podHealth
		}
	case "batch":
		switch gk.Kind {
		case "Job":
			return jobHealth
		case "CronJob":
			return cronJobHealth
		}
	case "autoscaling":
		if gk.Kind == "HorizontalPodAutoscaler" {
			return hpaHealth
		}
	}
	return nil
}

func healthy(msg string) (Status, error) {
	return Status{Code: v1alpha1.HealthHealthy, Message: msg}, nil
}

func progressing(msg string) (Status, error) {
	return Status{Code: v1alpha1.HealthProgressing, Message: msg}, nil
}

func degraded(msg string) (Status, error) {
	return Status{Code: v1alpha1.HealthDegraded, Message: msg}, nil
}

func suspended(msg string) (Status, error) {
	return Status{Code: v1alpha1.HealthSuspended, Message: msg}, nil
}

// toTyped converts the parts of obj a rule reads into a typed API object.
// A pod template (and claim templates) are left out: no rule reads them and
// they are the bulk of the object, so conversion stays cheaper.
func toTyped(obj *unstructured.Unstructured, into any) error {
	src := obj.Object
	if spec, ok := src["spec"].(map[string]any); ok {
		_, hasTemplate := spec["template"]
		_, hasClaims := spec["volumeClaimTemplates"]
		if hasTemplate || hasClaims {
			trimmed := make(map[string]any, len(spec))
			for k, v := range spec {
				if k != "template" && k != "volumeClaimTemplates" {
					trimmed[k] = v
				}
			}
			src = map[string]any{"metadata": src["metadata"], "spec": trimmed, "status": src["status"]}
		}
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(src, into); err != nil {
		return fmt.Errorf("reading it as %T failed (the object does not match its API schema): %w", into, err)
	}
	return nil
}

// The workload rules read fields directly rather than converting to typed
// objects: they judge every Deployment of every application on every
// reconcile, and conversion costs ten times the judgement.

func deploymentHealth(obj *unstructured.Unstructured) (Status, error) {
	f := fields{obj: obj.Object}
	paused := f.boolean("spec", "paused")
	generation := f.integer("metadata", "generation")
	observed := f.integer("status", "observedGeneration")
	replicas, hasReplicas := f.optInteger("spec", "replicas")
	statusReplicas := f.integer("status", "replicas")
	updated := f.integer("status", "updatedReplicas")
	available := f.integer("status", "availableReplicas")
	conds, err := conditions(obj)
	if f.err != nil || err != nil {
		return Status{}, errors.Join(f.err, err)
	}
	if paused {
		return suspended("Deployment is paused")
	}
	if generation > observed {
		return progressing("Waiting for rollout to finish: observed deployment generation less than desired generation")
	}
	for _, c := range conds {
		if c.Type == "Progressing" && c.Reason == "ProgressDeadlineExceeded" {
			return degraded(fmt.Sprintf("Deployment %q exceeded its progress deadline", obj.GetName()))
		}
	}
	switch {
	case hasReplicas && updated < replicas:
		return progressing(fmt.Sprintf("Waiting for rollout to finish: %d out of %d new replicas have been updated...", updated, replicas))
	case statusReplicas > updated:
		return progressing(fmt.Sprintf("Waiting for rollout to finish: %d old replicas are pending termination...", statusReplicas-updated))
	case available < updated:
		return progressing(fmt.Sprintf("Waiting for rollout to finish: %d of %d updated replicas are available...", available, updated))
	}
	return healthy("")
}

func statefulSetHealth(obj *unstructured.Unstructured) (Status, error) {
	f := fields{obj: obj.Object}
	generation := f.integer("metadata", "generation")
	observed := f.integer("status", "observedGeneration")
	replicas, hasReplicas := f.optInteger("spec", "replicas")
	ready := f.integer("status", "readyReplicas")
	updated := f.integer("status", "updatedReplicas")
	current := f.integer("status", "currentReplicas")
	strategy := f.str("spec", "updateStrategy", "type")
	hasRollingUpdate := f.present("spec", "updateStrategy", "rollingUpdate")
	partition, hasPartition := f.optInteger("spec", "updateStrategy", "rollingUpdate", "partition")
	currentRevision := f.str("status", "currentRevision")
	updateRevision := f.str("status", "updateRevision")
	if f.err != nil {
		return Status{}, f.err
	}
	if observed == 0 || generation > observed {
		return progressing("Waiting for statefulset spec update to be observed...")
	}
	if hasReplicas && ready < replicas {
		return progressing(fmt.Sprintf("Waiting for %d pods to be ready...", replicas-ready))
	}
	if strategy == "RollingUpdate" && hasRollingUpdate {
		if hasReplicas && hasPartition && updated < replicas-partition {
			return progressing(fmt.Sprintf("Waiting for partitioned roll out to finish: %d out of %d new pods have been updated...", updated, replicas-partition))
		}
		return healthy(fmt.Sprintf("partitioned roll out complete: %d new pods have been updated...", updated))
	}
	if strategy == "OnDelete" {
		return healthy(fmt.Sprintf("statefulset has %d ready pods", ready))
	}
	if updateRevision != currentRevision {
		return progressing(fmt.Sprintf("waiting for statefulset rolling update to complete %d pods at revision %s...", updated, updateRevision))
	}
	return healthy(fmt.Sprintf("statefulset rolling update complete %d pods at revision %s...", current, currentRevision))
}

func daemonSetHealth(obj *unstructured.Unstructured) (Status, error) {
	f := fields{obj: obj.Object}
	generation := f.integer("metadata", "generation")
	observed := f.integer("status", "observedGeneration")
	strategy := f.str("spec", "updateStrategy", "type")
	desired := f.integer("status", "desiredNumberScheduled")
	updated := f.integer("status", "updatedNumberScheduled")
	available := f.integer("status", "numberAvailable")
	if f.err != nil {
		return Status{}, f.err
	}
	name := obj.GetName()
	if generation > observed {
		return progressing("Waiting for rollout to finish: observed daemon set generation less than desired generation")
	}
	if strategy == "OnDelete" {
		return healthy(fmt.Sprintf("daemon set %d out of %d new pods have been updated", updated, desired))
	}
	if updated < desired {
		return progressing(fmt.Sprintf("Waiting for daemon set %q rollout to finish: %d out of %d new pods have been updated...", name, updated, desired))
	}
	if available < desired {
		return progressing(fmt.Sprintf("Waiting for daemon set %q rollout to finish: %d of %d updated pods are available...", name, available, desired))
	}
	return healthy("")
}

func replicaSetHealth(obj *unstructured.Unstructured) (Status, error) {
	f := fields{obj: obj.Object}
	generation := f.integer("metadata", "generation")
	observed := f.integer("status", "observedGeneration")
	replicas, hasReplicas := f.optInteger("spec", "replicas")
	available := f.integer("status", "availableReplicas")
	conds, err := conditions(obj)
	if f.err != nil || err != nil {
		return Status{}, errors.Join(f.err, err)
	}
	if generation > observed {
		return progressing("Waiting for rollout to finish: observed replica set generation less than desired generation")
	}
	for _, c := range conds {
		if c.Type == "ReplicaFailure" && c.Status == "True" {
			return degraded(c.Message)
		}
	}
	if hasReplicas && available < replicas {
		return progressing(fmt.Sprintf("Waiting for rollout to finish: %d out of %d new replicas are available...", available, replicas))
	}
	return healthy("")
}

// jobHealth follows gitops-engine with two corrections: a condition counts
// only when its status is True (gitops-engine treats a Suspended=False
// condition, left behind when a Job is resumed, as completion and reports the
// running Job Healthy), and a suspended Job carries its condition's message.
func jobHealth(obj *unstructured.Unstructured) (Status, error) {
	var j batchv1.Job
	if err := toTyped(obj, &j); err != nil {
		return Status{}, err
	}
	var failed, complete, isSuspended *batchv1.JobCondition
	for i := range j.Status.Conditions {
		c := &j.Status.Conditions[i]
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobFailed:
			failed = c
		case batchv1.JobComplete:
			complete = c
		case batchv1.JobSuspended:
			isSuspended = c
		}
	}
	switch {
	case failed != nil:
		return degraded(failed.Message)
	case complete != nil:
		return healthy(complete.Message)
	case isSuspended != nil:
		return suspended(isSuspended.Message)
	}
	return progressing("")
}

// cronJobHealth is not in gitops-engine; it gives a suspended CronJob the
// Suspended status gitops-engine documents as the typical example of that
// code, and leaves every other CronJob Healthy.
func cronJobHealth(obj *unstructured.Unstructured) (Status, error) {
	var cj batchv1.CronJob
	if err := toTyped(obj, &cj); err != nil {
		return Status{}, err
	}
	if cj.Spec.Suspend != nil && *cj.Spec.Suspend {
		return suspended("CronJob is suspended")
	}
	return healthy("")
}

func pvcHealth(obj *unstructured.Unstructured) (Status, error) {
	var p corev1.PersistentVolumeClaim
	if err := toTyped(obj, &p); err != nil {
		return Status{}, err
	}
	switch p.Status.Phase {
	case corev1.ClaimLost:
		return degraded("")
	case corev1.ClaimPending:
		return progressing("")
	case corev1.ClaimBound:
		return healthy("")
	}
	return Status{Code: v1alpha1.HealthUnknown}, nil
}

func serviceHealth(obj *unstructured.Unstructured) (Status, error) {
	var s corev1.Service
	if err := toTyped(obj, &s); err != nil {
		return Status{}, err
	}
	if s.Spec.Type == corev1.ServiceTypeLoadBalancer && len(s.Status.LoadBalancer.Ingress) == 0 {
		return progressing("")
	}
	return healthy("")
}

// ingressHealth reads status.loadBalancer.ingress directly: the field has the
// same shape in networking.k8s.io/v1, v1beta1 and extensions/v1beta1.
func ingressHealth(obj *unstructured.Unstructured) (Status, error) {
	ingress, err := nestedSlice(obj, "status", "loadBalancer", "ingress")
	if err != nil {
		return Status{}, err
	}
	if len(ingress) > 0 {
		return healthy("")
	}
	return progressing("")
}

// podHealth follows gitops-engine, honouring its ignore-restart-policy
// annotation (and ours), and reading an unset restartPolicy as the API
// default, Always. Waiting containers with an empty message report their
// reason instead of an empty string.
func podHealth(obj *unstructured.Unstructured) (Status, error) {
	var pod corev1.Pod
	if err := toTyped(obj, &pod); err != nil {
		return Status{}, err
	}
	longRunning := pod.Spec.RestartPolicy == corev1.RestartPolicyAlways || pod.Spec.RestartPolicy == ""
	for _, a := range ignoreRestartPolicyAnnotations {
		if _, ok := pod.Annotations[a]; ok {
			longRunning = true
		}
	}
	// Only long-running Pods: a hook Pod waiting on an image must not fail
	// the hook early, for it would run later, after the sync had ended.
	if longRunning {
		var msgs []string
		for _, cs := range pod.Status.ContainerStatuses {
			w := cs.State.Waiting
			if w != nil && (strings.HasPrefix(w.Reason, "Err") || strings.HasSuffix(w.Reason, "Error") || strings.HasSuffix(w.Reason, "BackOff")) {
				msg := w.Message
				if msg == "" {
					msg = fmt.Sprintf("container %q is waiting: %s", cs.Name, w.Reason)
				}
				msgs = append(msgs, msg)
			}
		}
		if len(msgs) > 0 {
			return degraded(strings.Join(msgs, ", "))
		}
	}
	switch pod.Status.Phase {
	case corev1.PodPending:
		return progressing(pod.Status.Message)
	case corev1.PodSucceeded:
		return healthy(pod.Status.Message)
	case corev1.PodFailed:
		if pod.Status.Message != "" {
			return degraded(pod.Status.Message)
		}
		for _, statuses := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
			for i := range statuses {
				if msg := containerFailMessage(&statuses[i]); msg != "" {
					return degraded(msg)
				}
			}
		}
		return degraded("")
	case corev1.PodRunning:
		if !longRunning {
			// Pods that restart Never or OnFailure have a finite life and are
			// usually hooks: running is progress, not health.
			return progressing(pod.Status.Message)
		}
		if podReady(&pod) {
			return healthy(pod.Status.Message)
		}
		for _, cs := range pod.Status.ContainerStatuses {
			if cs.LastTerminationState.Terminated != nil {
				return degraded(pod.Status.Message)
			}
		}
		return progressing(pod.Status.Message)
	}
	return Status{Code: v1alpha1.HealthUnknown, Message: pod.Status.Message}, nil
}

var ignoreRestartPolicyAnnotations = []string{
	"argocd.argoproj.io/ignore-restart-policy",
	"argolite.dev/ignore-restart-policy",
}

func containerFailMessage(cs *corev1.ContainerStatus) string {
	t := cs.State.Terminated
	switch {
	case t == nil:
		return ""
	case t.Message != "":
		return t.Message
	case t.Reason == "OOMKilled":
		return t.Reason
	case t.ExitCode != 0:
		return fmt.Sprintf("container %q failed with exit code %d", cs.Name, t.ExitCode)
	}
	return ""
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// condition is the common shape of status conditions, and of the
// autoscaling/v1 HPA conditions annotation.
type condition struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

const conditionsAnnotation = "autoscaling.alpha.kubernetes.io/conditions"

var hpaWaiting = Status{Code: v1alpha1.HealthProgressing, Message: "Waiting to Autoscale"}

// hpaHealth reads autoscaling/v1 conditions from their annotation and v2
// conditions from status. It checks every condition for a failure before
// accepting a healthy one, so a failing metric is not hidden by an earlier
// AbleToScale=True (gitops-engine stops at the first match either way), and
// it recognises the metric failures newer Argo CD reports as Degraded.
func hpaHealth(obj *unstructured.Unstructured) (Status, error) {
	var conds []condition
	if obj.GroupVersionKind().Version == "v1" {
		raw, ok := obj.GetAnnotations()[conditionsAnnotation]
		if !ok {
			return hpaWaiting, nil
		}
		if err := json.Unmarshal([]byte(raw), &conds); err != nil {
			return Status{}, fmt.Errorf("annotation %s is not a JSON list of conditions: %w", conditionsAnnotation, err)
		}
	} else {
		var err error
		if conds, err = conditions(obj); err != nil {
			return Status{}, err
		}
	}
	for _, c := range conds {
		if hpaDegraded(c) {
			return degraded(c.Message)
		}
	}
	for _, c := range conds {
		if (c.Type == "AbleToScale" || c.Type == "ScalingLimited") && c.Status == "True" {
			return healthy(c.Message)
		}
	}
	return hpaWaiting, nil
}

func hpaDegraded(c condition) bool {
	switch c.Type {
	case "AbleToScale":
		return c.Reason == "FailedGetScale" || c.Reason == "FailedUpdateScale"
	case "ScalingActive":
		switch c.Reason {
		case "FailedGetResourceMetric", "InvalidSelector",
			"FailedGetObjectMetric", "FailedGetPodsMetric", "FailedGetExternalMetric", "FailedGetContainerResourceMetric":
			return true
		}
	}
	return false
}

// apiServiceHealth reads the Available condition directly: the shape is the
// same in apiregistration.k8s.io v1 and v1beta1.
func apiServiceHealth(obj *unstructured.Unstructured) (Status, error) {
	conds, err := conditions(obj)
	if err != nil {
		return Status{}, err
	}
	for _, c := range conds {
		if c.Type != "Available" {
			continue
		}
		msg := c.Reason + ": " + c.Message
		if c.Status == "True" {
			return healthy(msg)
		}
		return progressing(msg)
	}
	return progressing("Waiting to be processed")
}

// conditions reads status.conditions in the usual type/status/reason/message shape.
func conditions(obj *unstructured.Unstructured) ([]condition, error) {
	raw, err := nestedSlice(obj, "status", "conditions")
	if err != nil || raw == nil {
		return nil, err
	}
	out := make([]condition, 0, len(raw))
	for i, item := range raw {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("status.conditions[%d] is a %T, not an object", i, item)
		}
		str := func(k string) string { s, _ := m[k].(string); return s }
		out = append(out, condition{Type: str("type"), Status: str("status"), Reason: str("reason"), Message: str("message")})
	}
	return out, nil
}

// nestedSlice returns the list at path without copying it, nil when absent.
func nestedSlice(obj *unstructured.Unstructured, path ...string) ([]any, error) {
	v, found, err := unstructured.NestedFieldNoCopy(obj.Object, path...)
	if err != nil || !found || v == nil {
		return nil, err
	}
	s, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s is a %T, not a list", strings.Join(path, "."), v)
	}
	return s, nil
}
