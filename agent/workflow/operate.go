package workflow

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/duration"
)

// operate is one pass over a running (or new) workflow.
func (o *operation) operate() error {
	wf := o.wf
	if wf.Status.Phase == argov1.WorkflowUnknown {
		if err := o.start(); err != nil {
			if isSpecError(err) {
				o.finish(argov1.WorkflowError, err.Error())
				o.setCondition("SpecError", metav1.ConditionTrue, err.Error())
				o.r.Event(wf, corev1.EventTypeWarning, "WorkflowFailed", "Validate", "%s", err.Error())
				return nil
			}
			return err
		}
	}
	o.spec = &wf.Spec
	if wf.Status.StoredWorkflowSpec != nil {
		o.spec = wf.Status.StoredWorkflowSpec
	}
	if err := o.setGlobals(); err != nil {
		if isSpecError(err) {
			o.finish(argov1.WorkflowError, err.Error())
			return nil
		}
		return err
	}
	if err := o.resolveRepository(); err != nil {
		if isSpecError(err) {
			o.finish(argov1.WorkflowError, err.Error())
			return nil
		}
		return err
	}
	if err := o.listPods(); err != nil {
		return err
	}
	o.shutdown = wf.Spec.Shutdown
	if ads := o.spec.ActiveDeadlineSeconds; ads != nil && o.shutdown == "" {
		deadline := wf.Status.StartedAt.Add(time.Duration(*ads) * time.Second)
		if !o.now.Before(deadline) {
			o.shutdown = argov1.ShutdownStop
			o.deadlineExceeded = true
		} else {
			o.requeueAfter(deadline.Sub(o.now))
		}
	}
	if o.shutdown != "" {
		o.stopRunning()
	}
	if s := o.spec.Synchronization; s != nil && o.shutdown == "" {
		waiting, err := o.acquireLocks(s, workflowHolder(wf))
		if err != nil {
			if isSpecError(err) {
				o.finish(argov1.WorkflowError, err.Error())
				return nil
			}
			return err
		}
		if waiting != "" {
			wf.Status.Phase = argov1.WorkflowPending
			wf.Status.Message = fmt.Sprintf("Waiting for %s lock", waiting)
			return nil
		}
		if wf.Status.Phase == argov1.WorkflowPending {
			wf.Status.Phase, wf.Status.Message = argov1.WorkflowRunning, ""
		}
	}
	root := scope{Templates: o.spec.Templates}
	main, err := o.executeTemplate(wf.Name, root, holder{Name: wf.Name, Template: o.spec.Entrypoint}, o.spec.Arguments, execOpts{})
	if err != nil && !isSpecError(err) {
		return err
	}
	if len(o.spec.Hooks) > 0 && main != nil {
		vars := o.mergedVars(map[string]string{"workflow.status": string(o.workflowStatusForHooks(main))})
		o.runExpressionHooks(wf.Name, root, o.spec.Hooks, "", vars)
	}
	o.sweepUnvisited()
	o.progress()
	if main == nil || !main.Phase.Fulfilled() {
		if o.shutdown != "" && !o.anyActive() {
			// Nothing runs any more; the walk cannot finish the tree.
			main = o.markNode(wf.Name, argov1.NodeFailed, o.shutdownMessage())
		} else {
			o.setCondition("PodRunning", statusOf(o.activePods > 0), "")
			return nil
		}
	}
	// The workflow's exit handler runs with workflow.status known.
	if h := exitHook(o.spec.OnExit, o.spec.Hooks); h != nil && o.shutdown != argov1.ShutdownTerminate {
		o.globals["workflow.status"] = string(main.Phase)
		o.globals["workflow.failures"] = o.failuresJSON()
		exitName := exitNodeName(wf.Name)
		args := o.spec.Arguments
		if len(h.Arguments.Parameters) > 0 || len(h.Arguments.Artifacts) > 0 {
			hook, err := substitute(h, o.globals)
			if err != nil {
				return err
			}
			h, args = hook, hook.Arguments
		}
		o.inExitHandler = true
		exit, err := o.executeTemplate(exitName, root, hookHolder(exitName, h), args,
			execOpts{flag: &argov1.NodeFlag{Hooked: true}})
		o.inExitHandler = false
		if err != nil && !isSpecError(err) {
			return err
		}
		o.progress()
		if exit == nil || !exit.Phase.Fulfilled() {
			return nil
		}
		if failedOrError(exit.Phase) && main.Phase == argov1.NodeSucceeded {
			o.finish(argov1.WorkflowFailed, exit.Message)
			o.completed()
			return nil
		}
	}
	switch main.Phase {
	case argov1.NodeSucceeded, argov1.NodeSkipped:
		o.finish(argov1.WorkflowSucceeded, "")
	case argov1.NodeError:
		o.finish(argov1.WorkflowError, main.Message)
	default:
		msg := main.Message
		if o.shutdown != "" {
			msg = o.shutdownMessage()
		}
		o.finish(argov1.WorkflowFailed, msg)
	}
	o.completed()
	return nil
}

func statusOf(b bool) metav1.ConditionStatus {
	if b {
		return metav1.ConditionTrue
	}
	return metav1.ConditionFalse
}

func (o *operation) shutdownMessage() string {
	if o.deadlineExceeded {
		return "Max duration limit exceeded"
	}
	return fmt.Sprintf("Stopped with strategy '%s'", o.shutdown)
}

// start validates a new workflow and marks it Running.
func (o *operation) start() error {
	wf := o.wf
	if err := o.resolveWorkflowTemplate(); err != nil {
		return err
	}
	if err := o.r.validate(o.ctx, wf); err != nil {
		return err
	}
	spec := &wf.Spec
	if wf.Status.StoredWorkflowSpec != nil {
		spec = wf.Status.StoredWorkflowSpec
	}
	if err := o.createClaims(spec); err != nil {
		return err
	}
	if err := o.createPDB(spec); err != nil {
		return err
	}
	wf.Status.Phase = argov1.WorkflowRunning
	wf.Status.StartedAt = metav1.NewTime(o.now)
	o.r.Event(wf, corev1.EventTypeNormal, "WorkflowRunning", "Run", "Workflow Running")
	return nil
}

// resolveWorkflowTemplate merges a workflowTemplateRef's spec under the
// workflow's own and stores it, so the run does not change with the template.
func (o *operation) resolveWorkflowTemplate() error {
	wf := o.wf
	ref := wf.Spec.WorkflowTemplateRef
	if ref == nil {
		return nil
	}
	base, err := o.fetchTemplateSpec(ref.Name, ref.ClusterScope)
	if err != nil {
		return err
	}
	own := wf.Spec.DeepCopy()
	own.WorkflowTemplateRef = nil
	ob, err := json.Marshal(own)
	if err != nil {
		return err
	}
	bb, err := json.Marshal(base)
	if err != nil {
		return err
	}
	var om, bm map[string]any
	if err := json.Unmarshal(ob, &om); err != nil {
		return err
	}
	if err := json.Unmarshal(bb, &bm); err != nil {
		return err
	}
	merged := deepMerge(bm, om)
	// Arguments merge by name: the workflow's values win.
	args := base.Arguments.DeepCopy()
	for _, p := range own.Arguments.Parameters {
		found := false
		for i := range args.Parameters {
			if args.Parameters[i].Name == p.Name {
				args.Parameters[i] = p
				found = true
			}
		}
		if !found {
			args.Parameters = append(args.Parameters, p)
		}
	}
	for _, a := range own.Arguments.Artifacts {
		found := false
		for i := range args.Artifacts {
			if args.Artifacts[i].Name == a.Name {
				args.Artifacts[i] = a
				found = true
			}
		}
		if !found {
			args.Artifacts = append(args.Artifacts, a)
		}
	}
	raw, err := json.Marshal(merged)
	if err != nil {
		return err
	}
	spec := &argov1.WorkflowSpec{}
	if err := json.Unmarshal(raw, spec); err != nil {
		return err
	}
	spec.Arguments = *args
	spec.Templates = append(append([]argov1.Template(nil), base.Templates...), own.Templates...)
	wf.Status.StoredWorkflowSpec = spec
	return nil
}

// listPods reads the workflow's step Pods from the cache.
func (o *operation) listPods() error {
	var pods corev1.PodList
	if err := o.r.Client.List(o.ctx, &pods, client.InNamespace(o.wf.Namespace), client.MatchingLabels{LabelWorkflow: o.wf.Name}); err != nil {
		return fmt.Errorf("listing pods of workflow %s/%s: %w", o.wf.Namespace, o.wf.Name, err)
	}
	o.pods = map[string]*corev1.Pod{}
	for i := range pods.Items {
		p := &pods.Items[i]
		if !metav1.IsControlledBy(p, o.wf) {
			continue
		}
		if id := p.Annotations[AnnotationNodeID]; id != "" {
			o.pods[id] = p
		}
	}
	return nil
}

// anyActive reports whether a Pod node is still pending or running.
func (o *operation) anyActive() bool {
	for _, n := range o.wf.Status.Nodes {
		if n.Type == argov1.NodeTypePod && !n.Phase.Fulfilled() {
			if _, ok := o.pods[n.ID]; ok {
				return true
			}
		}
	}
	return false
}

// stopRunning ends the running Pods and suspend nodes of a workflow being
// stopped, terminated or past its deadline.
func (o *operation) stopRunning() {
	msg := o.shutdownMessage()
	for id, n := range o.wf.Status.Nodes {
		if n.Phase.Fulfilled() {
			continue
		}
		switch n.Type {
		case argov1.NodeTypePod:
			// The workflow's exit handler runs to its end unless terminated.
			if o.shutdown != argov1.ShutdownTerminate && strings.HasPrefix(n.Name, exitNodeName(o.wf.Name)) {
				continue
			}
			o.stopNodePods(id)
			o.markNode(n.Name, argov1.NodeFailed, msg)
		case argov1.NodeTypeSuspend:
			o.markNode(n.Name, argov1.NodeFailed, msg)
		}
	}
}

// stopDaemons ends the daemons started inside a steps or DAG node (or the
// whole workflow when boundaryID is empty): their scope is over.
func (o *operation) stopDaemons(boundaryID string) {
	for id, n := range o.wf.Status.Nodes {
		if !daemoned(&n) || (boundaryID != "" && !o.inBoundary(&n, boundaryID)) {
			continue
		}
		o.stopNodePods(id)
		o.markNode(n.Name, argov1.NodeSucceeded, "daemon stopped: its scope ended")
	}
}

// inBoundary reports whether n runs inside the steps or DAG node boundaryID.
func (o *operation) inBoundary(n *argov1.NodeStatus, boundaryID string) bool {
	for seen := 0; n != nil && seen < 1000; seen++ {
		if n.BoundaryID == boundaryID {
			return true
		}
		if n.BoundaryID == "" {
			return false
		}
		n = o.nodeByID(n.BoundaryID)
	}
	return false
}

// stopNodePods deletes the Pod of a node.
func (o *operation) stopNodePods(id string) {
	if pod, ok := o.pods[id]; ok {
		if err := o.r.Client.Delete(o.ctx, pod); client.IgnoreNotFound(err) != nil {
			o.log.Error(err, "deleting pod", "pod", pod.Name)
		}
		delete(o.pods, id)
	}
}

// sweepUnvisited updates Pod nodes the walk did not reach (such as the
// running tasks of a DAG that failed fast).
func (o *operation) sweepUnvisited() {
	for id, n := range o.wf.Status.Nodes {
		if n.Type != argov1.NodeTypePod || n.Phase.Fulfilled() || o.visited[id] {
			continue
		}
		if pod, ok := o.pods[id]; ok {
			node := n
			o.assessPod(&node, pod, nil)
		} else if n.Phase == argov1.NodeRunning {
			o.markNode(n.Name, argov1.NodeError, "pod deleted")
		}
	}
}

// progress is "succeeded/total" of the Pod nodes.
func (o *operation) progress() {
	done, total := 0, 0
	for _, n := range o.wf.Status.Nodes {
		if n.Type != argov1.NodeTypePod {
			continue
		}
		total++
		if n.Phase == argov1.NodeSucceeded || n.Phase == argov1.NodeSkipped {
			done++
		}
	}
	o.wf.Status.Progress = strconv.Itoa(done) + "/" + strconv.Itoa(total)
}

// completed releases what the finished workflow held.
func (o *operation) completed() {
	wf := o.wf
	o.setCondition("PodRunning", metav1.ConditionFalse, "")
	vars := o.mergedVars(map[string]string{"workflow.status": string(wf.Status.Phase),
		"workflow.duration": strconv.FormatFloat(wf.Status.FinishedAt.Sub(wf.Status.StartedAt.Time).Seconds(), 'f', -1, 64)})
	o.emitMetrics(o.spec.Metrics, vars)
	if wf.Status.Phase == argov1.WorkflowSucceeded {
		o.r.Event(wf, corev1.EventTypeNormal, "WorkflowSucceeded", "Run", "Workflow completed")
	} else {
		o.r.Event(wf, corev1.EventTypeWarning, "WorkflowFailed", "Run", "%s", wf.Status.Message)
	}
	o.stopDaemons("")
	o.releaseLocks(workflowHolder(wf))
	o.deleteClaims()
	o.deletePDB()
	o.workflowPodGC()
}

// executeSuspend waits for a resume, or for its duration.
func (o *operation) executeSuspend(name string, t *argov1.Template, ref templateRef, opts execOpts) (*argov1.NodeStatus, error) {
	n := o.node(name)
	if n == nil {
		n = o.initNode(name, argov1.NodeTypeSuspend, ref, opts.boundaryID, argov1.NodeRunning, opts.flag, "")
		if len(t.Inputs.Parameters) > 0 {
			n.Inputs = t.Inputs.DeepCopy()
			o.setNode(n)
		}
	}
	if n.Phase.Fulfilled() {
		return n, nil
	}
	if t.Suspend.Duration == "" {
		return n, nil
	}
	d, err := duration.Parse(t.Suspend.Duration)
	if err != nil {
		return o.markNode(name, argov1.NodeError, fmt.Sprintf("suspend.duration: %v", err)), specError("%v", err)
	}
	if left := n.StartedAt.Add(d).Sub(o.now); left > 0 {
		o.requeueAfter(left)
		return n, nil
	}
	// Timed out: outputs take their defaults.
	var out *argov1.Outputs
	for _, p := range t.Outputs.Parameters {
		if p.ValueFrom != nil && p.ValueFrom.Default != nil {
			if out == nil {
				out = &argov1.Outputs{}
			}
			out.Parameters = append(out.Parameters, argov1.Parameter{Name: p.Name, Value: p.ValueFrom.Default, GlobalName: p.GlobalName})
		}
	}
	n = o.markNode(name, argov1.NodeSucceeded, "")
	n.Outputs = out
	o.setNode(n)
	o.addGlobalOutputs(out)
	return n, nil
}

// workflowStatusForHooks is workflow.status while the workflow runs.
func (o *operation) workflowStatusForHooks(main *argov1.NodeStatus) argov1.WorkflowPhase {
	switch main.Phase {
	case argov1.NodeSucceeded:
		return argov1.WorkflowSucceeded
	case argov1.NodeFailed:
		return argov1.WorkflowFailed
	case argov1.NodeError:
		return argov1.WorkflowError
	}
	return argov1.WorkflowRunning
}

// createPDB protects the workflow's Pods with spec.podDisruptionBudget.
func (o *operation) createPDB(spec *argov1.WorkflowSpec) error {
	if spec.PodDisruptionBudget == nil {
		return nil
	}
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: o.wf.Name, Namespace: o.wf.Namespace,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: argov1.GroupVersion.String(), Kind: "Workflow", Name: o.wf.Name, UID: o.wf.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}},
		Spec: *spec.PodDisruptionBudget.DeepCopy(),
	}
	pdb.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{LabelWorkflow: o.wf.Name}}
	if err := o.r.Client.Create(o.ctx, pdb); err != nil && !apierrors.IsAlreadyExists(err) {
		if apierrors.IsInvalid(err) {
			return specError("spec.podDisruptionBudget: %v", err)
		}
		return fmt.Errorf("creating PodDisruptionBudget %s: %w", pdb.Name, err)
	}
	return nil
}

// deletePDB removes the workflow's PodDisruptionBudget when it ends.
func (o *operation) deletePDB() {
	if o.spec.PodDisruptionBudget == nil {
		return
	}
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: o.wf.Name, Namespace: o.wf.Namespace}}
	if err := o.r.Client.Delete(o.ctx, pdb); client.IgnoreNotFound(err) != nil {
		o.log.Error(err, "deleting PodDisruptionBudget", "pdb", pdb.Name)
	}
}
