package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// operation is one reconcile of one Workflow.
type operation struct {
	r   *Reconciler
	ctx context.Context
	log logr.Logger
	now time.Time

	wf *argov1.Workflow
	// podSpec is the Pod buildPod is building: wrap reads the pull
	// secrets and account it looks an image's entrypoint up with.
	podSpec *corev1.PodSpec
	// spec is the effective spec: the workflow's own, or merged over its
	// workflowTemplateRef's.
	spec *argov1.WorkflowSpec
	// pods are the workflow's step Pods by node ID.
	pods map[string]*corev1.Pod
	// globals are the workflow.* variables.
	globals map[string]string
	// globalArtifacts are workflow.outputs.artifacts.*.
	globalArtifacts map[string]argov1.Artifact
	scopes          map[string]scope
	// metrics are the custom metrics this pass recorded, emitted once its
	// status is written: a pass that loses a write conflict runs again and
	// would count them twice.
	metrics []pendingMetric
	// requeue asks for another look after this long (backoffs, durations);
	// zero means only watch events bring one.
	requeue time.Duration
	// activePods counts Pods running or pending, for spec.parallelism.
	activePods int
	// visited are the Pod nodes the walk looked at.
	visited map[string]bool
	// shutdown is set when the workflow is being stopped or terminated.
	shutdown argov1.ShutdownStrategy
	// deadlineExceeded is set when activeDeadlineSeconds ran out.
	deadlineExceeded bool
	// specJSON is the effective spec as JSON, for reference searches.
	specJSON string
	// inExitHandler is set while the workflow's exit handler runs: a
	// stopped workflow (or one past its deadline) still runs it.
	inExitHandler bool
}

// requeueAfter asks for the earliest of the requested looks.
func (o *operation) requeueAfter(d time.Duration) {
	if d <= 0 {
		d = time.Second
	}
	if o.requeue == 0 || d < o.requeue {
		o.requeue = d
	}
}

// execOpts are what a parent passes to a child template.
type execOpts struct {
	boundaryID string
	flag       *argov1.NodeFlag
	// locals are extra variables such as steps.name or tasks.name.
	locals map[string]string
}

// errSpec marks errors in what the user wrote, as opposed to transient ones.
var errSpec = errors.New("invalid workflow")

func specError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errSpec, fmt.Sprintf(format, args...))
}

// isSpecError reports whether err is the user's to fix.
func isSpecError(err error) bool {
	return errors.Is(err, errSpec) || errors.Is(err, errTemplate)
}

// isPodTemplate reports whether a template runs as a Pod.
func isPodTemplate(t *argov1.Template) bool {
	return t.Container != nil || t.Script != nil || t.ContainerSet != nil || t.Resource != nil
}

// mergeDefaults applies spec.templateDefaults under a template's own fields.
func mergeDefaults(t *argov1.Template, defaults *argov1.Template) (*argov1.Template, error) {
	if defaults == nil {
		return t, nil
	}
	base, err := json.Marshal(defaults)
	if err != nil {
		return nil, err
	}
	own, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	var b, o map[string]any
	if err := json.Unmarshal(base, &b); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(own, &o); err != nil {
		return nil, err
	}
	merged := deepMerge(b, o)
	// The template keeps its own type, as Argo's SetType does after the
	// merge: a default container does not turn a script, steps, DAG or
	// resource template into a container template.
	if own := templateTypeKeys(o); len(own) > 0 {
		for _, k := range templateTypeKeys(merged) {
			if !slices.Contains(own, k) {
				delete(merged, k)
			}
		}
	}
	raw, err := json.Marshal(merged)
	if err != nil {
		return nil, err
	}
	out := &argov1.Template{}
	return out, json.Unmarshal(raw, out)
}

// templateKinds are the keys that give a template its type.
var templateKinds = []string{"container", "script", "containerSet", "resource", "dag", "steps", "suspend", "data", "http", "plugin"}

// templateTypeKeys lists the type keys a template's JSON holds.
func templateTypeKeys(t map[string]any) []string {
	var keys []string
	for _, k := range templateKinds {
		if _, ok := t[k]; ok {
			keys = append(keys, k)
		}
	}
	return keys
}

// deepMerge overlays o on b: maps merge key by key, anything else in o wins.
func deepMerge(b, o map[string]any) map[string]any {
	out := maps.Clone(b)
	for k, v := range o {
		if bm, ok := out[k].(map[string]any); ok {
			if om, ok := v.(map[string]any); ok {
				out[k] = deepMerge(bm, om)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// executeTemplate runs (or looks again at) the node name for the template h
// refers to, with args. It returns the node; an error is returned only when
// the node could not be created or is in error.
func (o *operation) executeTemplate(name string, sc scope, h holder, args argov1.Arguments, opts execOpts) (*argov1.NodeStatus, error) {
	n := o.node(name)
	if n != nil && n.Phase.Fulfilled() {
		return n, nil
	}
	inner, tmpl, ref, err := o.resolveWithDefaults(sc, h)
	if err != nil {
		return o.nodeError(n, name, ref, opts, err), err
	}
	locals := o.nodeLocals(name, tmpl, opts.locals)
	processed, err := o.processArgs(tmpl, args, locals)
	if err != nil {
		return o.nodeError(n, name, ref, opts, err), err
	}
	if failed, expired := o.enforceTimeout(n, name, processed); expired {
		return failed, nil
	}
	if s := processed.Synchronization; s != nil {
		waiting, unlock, err := o.lock(n, name, s, ref, opts)
		if err != nil {
			return o.nodeError(n, name, ref, opts, err), err
		}
		if waiting != nil {
			return waiting, nil
		}
		defer unlock()
	}
	if m := processed.Memoize; m != nil && n == nil {
		hit, err := o.memoized(name, m, processed, ref, opts)
		if err != nil {
			return o.nodeError(n, name, ref, opts, err), err
		}
		if hit != nil {
			return hit, nil
		}
	}
	result, err := o.run(name, inner, processed, ref, opts, locals)
	o.emitTemplateMetrics(processed, result, locals)
	o.memoRecord(name, processed.Memoize, result)
	return result, err
}

// resolveWithDefaults is the template h refers to, with
// spec.templateDefaults under its own fields.
func (o *operation) resolveWithDefaults(sc scope, h holder) (scope, *argov1.Template, templateRef, error) {
	inner, t, ref, err := o.resolve(sc, h)
	if err != nil {
		return inner, nil, ref, err
	}
	t, err = mergeDefaults(t, o.spec.TemplateDefaults)
	return inner, t, ref, err
}

// nodeLocals are the parent's locals and the node's own variables.
func (o *operation) nodeLocals(name string, t *argov1.Template, parent map[string]string) map[string]string {
	locals := maps.Clone(parent)
	if locals == nil {
		locals = map[string]string{}
	}
	locals["node.name"] = name
	// With retries each attempt is its own Pod and sets its own pod.name.
	if isPodTemplate(t) && o.retryStrategy(t) == nil {
		locals["pod.name"] = podName(o.wf, name, t.Name)
	}
	return locals
}

// enforceTimeout fails a started node whose template's timeout has passed,
// stopping its Pods; before that it asks for a look when it will have.
func (o *operation) enforceTimeout(n *argov1.NodeStatus, name string, t *argov1.Template) (failed *argov1.NodeStatus, expired bool) {
	if n == nil || t.Timeout == "" {
		return nil, false
	}
	d, err := time.ParseDuration(t.Timeout)
	if err != nil || n.StartedAt.IsZero() {
		return nil, false
	}
	left := n.StartedAt.Add(d).Sub(o.now)
	if left > 0 {
		o.requeueAfter(left)
		return nil, false
	}
	o.stopNodePods(n.ID)
	return o.markNode(name, argov1.NodeFailed, fmt.Sprintf("Max duration limit exceeded: the template's timeout is %s", t.Timeout)), true
}

// run runs a processed template, under a Retry node when it has a retry
// strategy.
func (o *operation) run(name string, sc scope, t *argov1.Template, ref templateRef, opts execOpts, locals map[string]string) (*argov1.NodeStatus, error) {
	if retry := o.retryStrategy(t); retry != nil {
		return o.executeWithRetries(name, sc, t, ref, retry, opts, locals)
	}
	return o.executeType(name, sc, t, ref, opts)
}

// nodeError records err on the node (creating it in Error when missing).
func (o *operation) nodeError(n *argov1.NodeStatus, name string, ref templateRef, opts execOpts, err error) *argov1.NodeStatus {
	if n == nil {
		return o.initNode(name, argov1.NodeTypeSkipped, ref, opts.boundaryID, argov1.NodeError, opts.flag, err.Error())
	}
	return o.markNode(name, argov1.NodeError, err.Error())
}

// executeType runs a processed template by its kind.
func (o *operation) executeType(name string, sc scope, t *argov1.Template, ref templateRef, opts execOpts) (*argov1.NodeStatus, error) {
	switch {
	case t.Container != nil, t.Script != nil, t.ContainerSet != nil, t.Resource != nil:
		return o.executePod(name, t, ref, opts)
	case t.Steps != nil:
		return o.executeSteps(name, sc, t, ref, opts)
	case t.DAG != nil:
		return o.executeDAG(name, sc, t, ref, opts)
	case t.Suspend != nil:
		return o.executeSuspend(name, t, ref, opts)
	case t.Data != nil:
		return o.executeData(name, t, ref, opts)
	}
	err := specError("template %s has nothing to run: give it one of container, script, containerSet, resource, steps, dag, suspend or data", t.Name)
	return o.nodeError(o.node(name), name, ref, opts, err), err
}

// finish sets the workflow's final phase.
func (o *operation) finish(phase argov1.WorkflowPhase, msg string) {
	st := &o.wf.Status
	st.Phase = phase
	st.Message = msg
	if st.FinishedAt.IsZero() {
		st.FinishedAt = metav1.NewTime(o.now)
	}
	o.setCondition("Completed", metav1.ConditionTrue, "")
}

// setCondition sets one of Argo's workflow conditions.
func (o *operation) setCondition(typ string, status metav1.ConditionStatus, msg string) {
	for i, c := range o.wf.Status.Conditions {
		if c.Type == typ {
			o.wf.Status.Conditions[i].Status = status
			o.wf.Status.Conditions[i].Message = msg
			return
		}
	}
	o.wf.Status.Conditions = append(o.wf.Status.Conditions, argov1.WorkflowCondition{Type: typ, Status: status, Message: msg})
}
