package workflow

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// DefaultMaxWorkflowSize is the largest JSON a Workflow is written with
// (Argo's default MAX_WORKFLOW_SIZE): beyond it status.nodes is compressed.
// It leaves room under etcd's 1.5 MiB request limit for the object's
// metadata and the API server's own fields.
const DefaultMaxWorkflowSize = 1 << 20

// tooLargeMessage starts the message of a workflow that does not fit, as
// Argo's ("workflow is longer than maximum allowed size"), so that tools
// matching Argo's message keep working.
const tooLargeMessage = "workflow is longer than maximum allowed size"

func (r *Reconciler) maxWorkflowSize() int {
	if r.Options.MaxWorkflowSize > 0 {
		return r.Options.MaxWorkflowSize
	}
	return DefaultMaxWorkflowSize
}

// compact is the workflow to write: o.wf itself when its JSON fits in the
// maximum size, else a copy with status.compressedNodes. When even that is
// too large the workflow ends in Error, and what is written is the stored
// workflow with only the ending added, so no oversized object reaches the
// API server. o.wf keeps its nodes inflated either way.
func (o *operation) compact(stored *argov1.Workflow) (*argov1.Workflow, error) {
	limit := o.r.maxWorkflowSize()
	size, err := jsonSize(o.wf)
	if err != nil || size <= limit {
		return o.wf, err
	}
	out := o.wf.DeepCopy()
	if err := out.DeflateNodes(); err != nil {
		return nil, err
	}
	compressed, err := jsonSize(out)
	if err != nil {
		return nil, err
	}
	if compressed <= limit {
		o.log.V(1).Info("status.nodes compressed", "bytes", size, "compressedBytes", compressed, "maxBytes", limit)
		return out, nil
	}
	msg := fmt.Sprintf("%s: its JSON takes %d bytes, %d with status.nodes compressed, more than the agent's --max-workflow-size of %d bytes; "+
		"run fewer steps per workflow (split it, or loop over fewer, larger items), keep output parameters and results small, "+
		"or pass large results as artifacts", tooLargeMessage, size, compressed, limit)
	o.log.Info("workflow too large, ending it in Error", "bytes", size, "compressedBytes", compressed, "maxBytes", limit)
	// The workflow is over: no one would record what its Pods do. Stop them
	// and release what it holds, as at any end; the nodes this changes are
	// not written.
	o.stopPods()
	o.finish(argov1.WorkflowError, msg)
	if o.spec != nil {
		o.completed()
	} else {
		o.r.Event(o.wf, corev1.EventTypeWarning, "WorkflowFailed", "Run", "%s", msg)
	}
	return endedForm(stored, o.wf), nil
}

// stopPods deletes the workflow's step Pods that have not finished. It lists
// them live: those this pass created are not in o.pods nor yet in the cache.
// Finished Pods stay for their logs.
func (o *operation) stopPods() {
	var pods corev1.PodList
	if err := o.r.APIReader.List(o.ctx, &pods, client.InNamespace(o.wf.Namespace), client.MatchingLabels{LabelWorkflow: o.wf.Name}); err != nil {
		o.log.Error(err, "listing the pods to stop")
		return
	}
	for i := range pods.Items {
		pod := &pods.Items[i]
		if !metav1.IsControlledBy(pod, o.wf) || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		if err := o.r.Client.Delete(o.ctx, pod); client.IgnoreNotFound(err) != nil {
			o.log.Error(err, "deleting pod", "pod", pod.Name)
		}
	}
}

// endedForm is stored (as the API server has it) with the ending of ended:
// its phase, message, times and conditions, and the locks and claims it
// released. Its nodes stay those last written.
func endedForm(stored, ended *argov1.Workflow) *argov1.Workflow {
	out := stored.DeepCopy()
	st, e := &out.Status, &ended.Status
	st.Phase, st.Message, st.StartedAt, st.FinishedAt = e.Phase, e.Message, e.StartedAt, e.FinishedAt
	st.Conditions = e.Conditions
	st.Synchronization, st.PersistentVolumeClaims = e.Synchronization, e.PersistentVolumeClaims
	return out
}

// jsonSize is the length of the workflow's JSON, what etcd stores.
func jsonSize(wf *argov1.Workflow) (int, error) {
	b, err := json.Marshal(wf)
	if err != nil {
		return 0, fmt.Errorf("measuring workflow %s/%s: %w", wf.Namespace, wf.Name, err)
	}
	return len(b), nil
}
