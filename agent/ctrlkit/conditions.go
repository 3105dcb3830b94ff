package ctrlkit

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// maxMessage is the API's limit on a condition message (32 KiB).
const maxMessage = 32 * 1024

// Conditions sets the conditions of one object at one generation.
type Conditions struct {
	List       *[]metav1.Condition
	Generation int64
}

// Set sets one condition, with the generation it describes.
func (c Conditions) Set(typ string, status metav1.ConditionStatus, reason, msg string) {
	if len(msg) > maxMessage {
		msg = msg[:maxMessage]
	}
	meta.SetStatusCondition(c.List, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: c.Generation,
	})
}

// Remove drops a condition.
func (c Conditions) Remove(typ string) { meta.RemoveStatusCondition(c.List, typ) }

// Ready says the object is as its spec asks: Ready=True, and neither
// Reconciling nor Stalled.
func (c Conditions) Ready(reason, msg string) {
	c.Set(argov1.ConditionReady, metav1.ConditionTrue, reason, msg)
	c.Remove(argov1.ConditionReconciling)
	c.Remove(argov1.ConditionStalled)
}

// Progressing says work is under way: Ready=Unknown and Reconciling=True,
// both with reason.
func (c Conditions) Progressing(reason, msg string) {
	c.Set(argov1.ConditionReady, metav1.ConditionUnknown, reason, msg)
	c.Set(argov1.ConditionReconciling, metav1.ConditionTrue, reason, msg)
	c.Remove(argov1.ConditionStalled)
}

// Failed says a step failed: Ready=False with reason. A failure the agent
// retries keeps Reconciling=True (ProgressingWithRetry); a terminal one,
// which waits for an edit of the spec, is Stalled=True with reason.
func (c Conditions) Failed(reason, msg string, terminal bool) {
	c.Set(argov1.ConditionReady, metav1.ConditionFalse, reason, msg)
	if terminal {
		c.Set(argov1.ConditionStalled, metav1.ConditionTrue, reason, msg)
		c.Remove(argov1.ConditionReconciling)
		return
	}
	c.Set(argov1.ConditionReconciling, metav1.ConditionTrue, argov1.ReasonProgressingWithRetry, msg)
	c.Remove(argov1.ConditionStalled)
}
