package health

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/argolite/argolite/shared/api/v1alpha1"
)

// Hook phases, as Argo CD's operation phases spell them.
const (
	HookRunning   = "Running"
	HookSucceeded = "Succeeded"
	HookFailed    = "Failed"
	HookError     = "Error"
)

// HookPhase returns the phase of a live hook object with the built-in rules
// only; see (*Checker).HookPhase.
func HookPhase(obj *unstructured.Unstructured) (phase string, done bool, failed bool, message string) {
	var c *Checker
	return c.HookPhase(obj)
}

// HookPhase returns the phase of a live hook object as gitops-engine's sync
// does: a kind with a health rule (Job, Pod, a Workflow, a custom rule, ...)
// is Running while Progressing or Suspended, Succeeded when Healthy, and
// Failed when Degraded or Unknown; a rule that cannot judge the object gives
// Error. A kind with no rule (a ConfigMap, most custom resources) Succeeded
// once applied. done is true for Succeeded, Failed and Error; failed for the
// last two. A nil object (not created yet, or not yet in the cache) is
// Running, as gitops-engine leaves a hook without a live object running.
func (c *Checker) HookPhase(obj *unstructured.Unstructured) (phase string, done bool, failed bool, message string) {
	if obj == nil {
		return HookRunning, false, false, "waiting for the hook object to exist"
	}
	st, known, err := c.assess(obj)
	switch {
	case err != nil:
		return HookError, true, true, err.Error()
	case !known:
		return HookSucceeded, true, false, obj.GetName() + " created"
	}
	switch st.Code {
	case v1alpha1.HealthHealthy:
		return HookSucceeded, true, false, st.Message
	case v1alpha1.HealthProgressing, v1alpha1.HealthSuspended:
		return HookRunning, false, false, st.Message
	case v1alpha1.HealthDegraded, v1alpha1.HealthUnknown:
		return HookFailed, true, true, st.Message
	}
	// Missing cannot come from a live object; gitops-engine keeps its
	// "created" default for any code it does not list.
	return HookSucceeded, true, false, obj.GetName() + " created"
}
