package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/duration"
	"github.com/argolite/argolite/shared/expr"
	"github.com/argolite/argolite/shared/wfnames"
)

// operation is one reconcile of one Workflow.
type operation struct {
	r   *Reconciler
	ctx context.Context
	log logr.Logger
	now time.Time

	wf *argov1.Workflow
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

// setGlobals fills workflow.* from the workflow and its arguments.
func (o *operation) setGlobals() error {
	wf := o.wf
	g := map[string]string{
		"workflow.name":               wf.Name,
		"workflow.namespace":          wf.Namespace,
		"workflow.uid":                string(wf.UID),
		"workflow.mainEntrypoint":     o.spec.Entrypoint,
		"workflow.serviceAccountName": o.spec.ServiceAccountName,
		"workflow.creationTimestamp":  wf.CreationTimestamp.UTC().Format(time.RFC3339),
		"workflow.duration":           strconv.FormatFloat(o.now.Sub(wf.Status.StartedAt.Time).Seconds(), 'f', -1, 64),
	}
	if wf.Status.StartedAt.IsZero() {
		g["workflow.duration"] = "0"
	}
	for i, c := range strftimeChars {
		g["workflow.creationTimestamp."+string(c)] = strftime(wf.CreationTimestamp.UTC(), strftimeChars[i])
	}
	g["workflow.creationTimestamp.s"] = strconv.FormatInt(wf.CreationTimestamp.Unix(), 10)
	g["workflow.creationTimestamp.RFC3339"] = wf.CreationTimestamp.UTC().Format(time.RFC3339)
	if o.spec.Priority != nil {
		g["workflow.priority"] = strconv.Itoa(int(*o.spec.Priority))
	}
	for k, v := range wf.Labels {
		g["workflow.labels."+k] = v
	}
	for k, v := range wf.Annotations {
		g["workflow.annotations."+k] = v
	}
	if b, err := json.Marshal(wf.Labels); err == nil {
		g["workflow.labels.json"] = string(b)
	}
	if b, err := json.Marshal(wf.Annotations); err == nil {
		g["workflow.annotations.json"] = string(b)
	}
	if t, ok := wf.Annotations[wfnames.AnnotationScheduledTime]; ok {
		g["workflow.scheduledTime"] = t
	}
	params := map[string]string{}
	for _, p := range o.spec.Arguments.Parameters {
		v, err := o.parameterValue(p, g)
		if err != nil {
			return fmt.Errorf("spec.arguments.parameters.%s: %w", p.Name, err)
		}
		g["workflow.parameters."+p.Name] = v
		params[p.Name] = v
	}
	if b, err := json.Marshal(o.spec.Arguments.Parameters); err == nil {
		g["workflow.parameters.json"] = string(b)
	}
	// Global outputs recorded by earlier operations.
	o.globalArtifacts = map[string]argov1.Artifact{}
	if out := wf.Status.Outputs; out != nil {
		for _, p := range out.Parameters {
			if p.Value != nil {
				g["workflow.outputs.parameters."+p.Name] = p.Value.String()
			}
		}
		for _, a := range out.Artifacts {
			o.globalArtifacts["workflow.outputs.artifacts."+a.Name] = a
		}
	}
	o.globals = g
	return nil
}

// parameterValue is a workflow argument's value: its value, default, or a
// ConfigMap key.
func (o *operation) parameterValue(p argov1.Parameter, vars map[string]string) (string, error) {
	if p.Value != nil {
		return p.Value.String(), nil
	}
	if p.ValueFrom != nil && p.ValueFrom.ConfigMapKeyRef != nil {
		return o.configMapValue(p.ValueFrom.ConfigMapKeyRef, p.ValueFrom.Default, vars)
	}
	if p.Default != nil {
		return p.Default.String(), nil
	}
	if p.ValueFrom != nil && p.ValueFrom.Default != nil {
		return p.ValueFrom.Default.String(), nil
	}
	return "", specError("no value: give it a value, or pass one with -p %s=VALUE", p.Name)
}

// configMapValue reads a ConfigMap key (its name may hold variables).
func (o *operation) configMapValue(ref *corev1.ConfigMapKeySelector, def *argov1.AnyString, vars map[string]string) (string, error) {
	name, err := expr.Replace(ref.Name, vars, expr.Options{})
	if err != nil {
		return "", specError("configMapKeyRef.name: %v", err)
	}
	cm := &corev1.ConfigMap{}
	err = o.r.APIReader.Get(o.ctx, client.ObjectKey{Namespace: o.wf.Namespace, Name: name}, cm)
	if err == nil {
		if v, ok := cm.Data[ref.Key]; ok {
			return v, nil
		}
	}
	if def != nil {
		return def.String(), nil
	}
	if err != nil {
		if apierrors.IsNotFound(err) {
			if ref.Optional != nil && *ref.Optional {
				return "", nil
			}
			return "", specError("ConfigMap %s/%s not found", o.wf.Namespace, name)
		}
		return "", fmt.Errorf("reading ConfigMap %s/%s: %w", o.wf.Namespace, name, err)
	}
	return "", specError("ConfigMap %s/%s has no key %q", o.wf.Namespace, name, ref.Key)
}

// mergedVars is globals overlaid with locals.
func (o *operation) mergedVars(locals map[string]string) map[string]string {
	m := make(map[string]string, len(o.globals)+len(locals))
	maps.Copy(m, o.globals)
	maps.Copy(m, locals)
	return m
}

// substitute replaces variables in a template's JSON form, leaving the ones
// not known yet (such as {{steps.x...}} inside a steps template).
func substitute[T any](v *T, vars map[string]string) (*T, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	s, err := expr.Replace(string(b), vars, expr.Options{AllowUnresolved: true, JSONEscape: true})
	if err != nil {
		return nil, specError("%v", err)
	}
	out := new(T)
	if err := json.Unmarshal([]byte(s), out); err != nil {
		return nil, specError("after substitution: %v", err)
	}
	return out, nil
}

// processArgs binds a template's inputs to the arguments and substitutes
// globals, locals and inputs, as Argo's ProcessArgs does.
func (o *operation) processArgs(tmpl *argov1.Template, args argov1.Arguments, locals map[string]string) (*argov1.Template, error) {
	t := tmpl.DeepCopy()
	vars := o.mergedVars(locals)
	for i := range t.Inputs.Parameters {
		p := &t.Inputs.Parameters[i]
		if p.Value == nil && p.Default != nil {
			p.Value = p.Default
		}
		for _, a := range args.Parameters {
			if a.Name != p.Name {
				continue
			}
			if a.Value != nil {
				p.Value = a.Value
			} else if a.ValueFrom != nil {
				p.ValueFrom = a.ValueFrom
			}
		}
		if p.ValueFrom != nil && p.ValueFrom.ConfigMapKeyRef != nil {
			v, err := o.configMapValue(p.ValueFrom.ConfigMapKeyRef, p.ValueFrom.Default, vars)
			if err != nil {
				return nil, fmt.Errorf("inputs.parameters.%s: %w", p.Name, err)
			}
			p.Value = argov1.AnyStringPtr(v)
		}
		if p.Value == nil && (p.ValueFrom == nil || p.ValueFrom.Supplied == nil) {
			return nil, specError("inputs.parameters.%s of template %s was not supplied: pass it in the step's or task's arguments, or give it a default", p.Name, t.Name)
		}
	}
	for i := range t.Inputs.Artifacts {
		in := &t.Inputs.Artifacts[i]
		var arg *argov1.Artifact
		for j := range args.Artifacts {
			if args.Artifacts[j].Name == in.Name {
				arg = &args.Artifacts[j]
			}
		}
		if arg == nil {
			if !in.Optional && !hasLocation(in) {
				return nil, specError("inputs.artifacts.%s of template %s was not supplied: pass it in the arguments (from, s3, raw, ...)", in.Name, t.Name)
			}
			continue
		}
		path, mode := in.Path, in.Mode
		optional := in.Optional
		*in = *arg.DeepCopy()
		in.Path, in.Mode = path, mode
		in.Optional = in.Optional || optional
	}
	first, err := substitute(t, vars)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", t.Name, err)
	}
	for _, p := range first.Inputs.Parameters {
		if p.Value != nil {
			vars["inputs.parameters."+p.Name] = p.Value.String()
		}
	}
	if b, err := json.Marshal(first.Inputs.Parameters); err == nil {
		vars["inputs.parameters"] = string(b)
	}
	for _, a := range first.Inputs.Artifacts {
		if a.Path != "" {
			vars["inputs.artifacts."+a.Name+".path"] = a.Path
		}
	}
	for _, a := range first.Outputs.Artifacts {
		if a.Path != "" {
			vars["outputs.artifacts."+a.Name+".path"] = a.Path
		}
	}
	for _, p := range first.Outputs.Parameters {
		if p.ValueFrom != nil && p.ValueFrom.Path != "" {
			vars["outputs.parameters."+p.Name+".path"] = p.ValueFrom.Path
		}
	}
	out, err := substitute(first, vars)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", t.Name, err)
	}
	for _, p := range out.Inputs.Parameters {
		if len(p.Enum) > 0 && p.Value != nil {
			ok := false
			for _, e := range p.Enum {
				ok = ok || e == *p.Value
			}
			if !ok {
				return nil, specError("inputs.parameters.%s of template %s: %q is not one of %v", p.Name, t.Name, p.Value.String(), p.Enum)
			}
		}
	}
	return out, nil
}

// hasLocation reports whether an artifact says where it is.
func hasLocation(a *argov1.Artifact) bool {
	l := a.ArtifactLocation
	return l.S3 != nil || l.HTTP != nil || l.Raw != nil || l.Plugin != nil || a.From != "" || a.FromExpression != ""
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
	// A default container only applies to container templates.
	for _, k := range []string{"container", "script", "containerSet", "resource", "dag", "steps", "suspend"} {
		if _, own := o[k]; !own {
			if k == "container" {
				if _, isScript := o["script"]; isScript {
					delete(merged, k)
				}
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
	inner, tmpl, ref, err := o.resolve(sc, h)
	if err != nil {
		return o.nodeError(n, name, ref, opts, err), err
	}
	tmpl, err = mergeDefaults(tmpl, o.spec.TemplateDefaults)
	if err != nil {
		return o.nodeError(n, name, ref, opts, err), err
	}
	locals := maps.Clone(opts.locals)
	if locals == nil {
		locals = map[string]string{}
	}
	locals["node.name"] = name
	if isPodTemplate(tmpl) && tmpl.RetryStrategy == nil && o.spec.RetryStrategy == nil {
		locals["pod.name"] = podName(o.wf, name, tmpl.Name)
	}
	processed, err := o.processArgs(tmpl, args, locals)
	if err != nil {
		return o.nodeError(n, name, ref, opts, err), err
	}
	if n != nil && processed.Timeout != "" {
		if d, err := time.ParseDuration(processed.Timeout); err == nil && !n.StartedAt.IsZero() {
			if left := n.StartedAt.Add(d).Sub(o.now); left <= 0 {
				o.stopNodePods(n.ID)
				return o.markNode(name, argov1.NodeFailed, fmt.Sprintf("Max duration limit exceeded: the template's timeout is %s", processed.Timeout)), nil
			} else {
				o.requeueAfter(left)
			}
		}
	}
	if s := processed.Synchronization; s != nil {
		holder := workflowHolder(o.wf) + "/" + nodeID(o.wf, name)
		waiting, err := o.acquireLocks(s, holder)
		if err != nil {
			return o.nodeError(n, name, ref, opts, err), err
		}
		if waiting != "" {
			if n == nil {
				n = o.initNode(name, argov1.NodeTypePod, ref, opts.boundaryID, argov1.NodePending, opts.flag, "")
			}
			n.Message = fmt.Sprintf("Waiting for %s lock", waiting)
			n.SynchronizationStatus = &argov1.NodeSynchronizationStatus{Waiting: waiting}
			o.setNode(n)
			return n, nil
		}
		if n != nil && n.SynchronizationStatus != nil {
			n.SynchronizationStatus, n.Message = nil, ""
			o.setNode(n)
		}
		defer func() {
			if done := o.node(name); done != nil && done.Phase.Fulfilled() {
				o.releaseLocks(holder)
			}
		}()
	}
	if m := processed.Memoize; m != nil && n == nil {
		out, hit, err := o.memoLoad(m)
		if err != nil {
			return o.nodeError(n, name, ref, opts, err), err
		}
		if hit {
			typ := argov1.NodeTypePod
			switch {
			case processed.Steps != nil:
				typ = argov1.NodeTypeSteps
			case processed.DAG != nil:
				typ = argov1.NodeTypeDAG
			}
			hn := o.initNode(name, typ, ref, opts.boundaryID, argov1.NodeSucceeded, opts.flag, "")
			hn.Outputs = out
			hn.MemoizationStatus = &argov1.MemoizationStatus{Hit: true, Key: m.Key, CacheName: m.Cache.ConfigMap.Name}
			o.setNode(hn)
			o.addGlobalOutputs(out)
			return hn, nil
		}
	}
	retry := processed.RetryStrategy
	if retry == nil && isPodTemplate(processed) {
		retry = o.spec.RetryStrategy
	}
	var result *argov1.NodeStatus
	if retry != nil {
		result, err = o.executeWithRetries(name, inner, processed, ref, retry, opts, locals)
	} else {
		result, err = o.executeType(name, inner, processed, ref, opts)
	}
	if processed.Metrics != nil && result != nil && result.Phase.Fulfilled() {
		o.emitMetrics(processed.Metrics, o.nodeMetricVars(result, processed, locals))
	}
	if m := processed.Memoize; m != nil && result != nil && m.Cache != nil && m.Cache.ConfigMap != nil {
		if result.MemoizationStatus == nil {
			result.MemoizationStatus = &argov1.MemoizationStatus{Key: m.Key, CacheName: m.Cache.ConfigMap.Name}
			o.setNode(result)
		}
		if result.Phase == argov1.NodeSucceeded {
			if serr := o.memoSave(m, result.ID, result.Outputs); serr != nil {
				o.log.Error(serr, "memoization cache", "node", name)
			}
		}
	}
	return result, err
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
	}
	err := specError("template %s has nothing to run: give it one of container, script, containerSet, resource, steps, dag or suspend", t.Name)
	return o.nodeError(o.node(name), name, ref, opts, err), err
}

// executeWithRetries runs attempts name(0), name(1), ... under a Retry node
// until one succeeds or the strategy says stop.
func (o *operation) executeWithRetries(name string, sc scope, t *argov1.Template, ref templateRef, rs *argov1.WorkflowRetryStrategy, opts execOpts, locals map[string]string) (*argov1.NodeStatus, error) {
	parent := o.node(name)
	if parent == nil {
		parent = o.initNode(name, argov1.NodeTypeRetry, ref, opts.boundaryID, argov1.NodeRunning, opts.flag, "")
	}
	for range 2 {
		attempts := o.indexedChildren(parent)
		var last *argov1.NodeStatus
		if len(attempts) > 0 {
			last = &attempts[len(attempts)-1]
		}
		if last != nil && last.Phase.Fulfilled() {
			done, phase, msg, wait, err := o.retryDecision(rs, parent, attempts, last)
			if err != nil {
				return o.markNode(name, argov1.NodeError, err.Error()), err
			}
			if done {
				p := o.markNode(name, phase, msg)
				p.Outputs = last.Outputs.DeepCopy()
				o.setNode(p)
				return p, nil
			}
			if wait > 0 {
				o.requeueAfter(wait)
				return parent, nil
			}
			last = nil
		}
		childName := fmt.Sprintf("%s(%d)", name, len(attempts))
		if last != nil {
			childName = last.Name
		}
		attemptLocals := maps.Clone(locals)
		retryNum := len(attempts)
		if last != nil {
			retryNum = len(attempts) - 1
		}
		attemptLocals["retries"] = strconv.Itoa(retryNum)
		attemptLocals["node.name"] = childName
		if isPodTemplate(t) {
			attemptLocals["pod.name"] = podName(o.wf, childName, t.Name)
		}
		if retryNum > 0 {
			prev := attempts[retryNum-1]
			attemptLocals["lastRetry.exitCode"] = "0"
			if prev.Outputs != nil && prev.Outputs.ExitCode != nil {
				attemptLocals["lastRetry.exitCode"] = *prev.Outputs.ExitCode
			}
			attemptLocals["lastRetry.status"] = string(prev.Phase)
			attemptLocals["lastRetry.duration"] = strconv.FormatFloat(o.duration(&prev).Seconds(), 'f', -1, 64)
			attemptLocals["lastRetry.message"] = prev.Message
		}
		at, err := substitute(t, o.mergedVars(attemptLocals))
		if err != nil {
			return o.markNode(name, argov1.NodeError, err.Error()), err
		}
		at.RetryStrategy = nil
		childOpts := opts
		childOpts.flag = &argov1.NodeFlag{Retried: true}
		if opts.flag != nil {
			childOpts.flag.Hooked = opts.flag.Hooked
		}
		child, err := o.executeType(childName, sc, at, ref, childOpts)
		o.addChild(name, childName)
		parent = o.node(name)
		if err != nil && !isSpecError(err) {
			return parent, err
		}
		if child == nil || !child.Phase.Fulfilled() {
			if child != nil && child.Phase == argov1.NodeRunning && parent.Phase != argov1.NodeRunning {
				parent = o.markNode(name, argov1.NodeRunning, "")
			}
			return parent, nil
		}
		if isSpecError(err) {
			return o.markNode(name, argov1.NodeError, err.Error()), err
		}
		// The attempt ended in this pass: decide at once.
	}
	return o.node(name), nil
}

// retryDecision says whether a Retry node is done (and how), or when the
// next attempt may start.
func (o *operation) retryDecision(rs *argov1.WorkflowRetryStrategy, parent *argov1.NodeStatus, attempts []argov1.NodeStatus, last *argov1.NodeStatus) (done bool, phase argov1.NodePhase, msg string, wait time.Duration, err error) {
	if last.Phase == argov1.NodeSucceeded || last.Phase == argov1.NodeSkipped || last.Phase == argov1.NodeOmitted {
		return true, last.Phase, "", 0, nil
	}
	if o.shutdown != "" {
		return true, last.Phase, last.Message, 0, nil
	}
	policy := rs.RetryPolicy
	if policy == "" {
		policy = argov1.RetryPolicyOnFailure
	}
	retryable := false
	switch policy {
	case argov1.RetryPolicyAlways:
		retryable = true
	case argov1.RetryPolicyOnFailure:
		retryable = last.Phase == argov1.NodeFailed
	case argov1.RetryPolicyOnError:
		retryable = last.Phase == argov1.NodeError
	case argov1.RetryPolicyOnTransientError:
		retryable = last.Phase == argov1.NodeError && isTransientMessage(last.Message)
	}
	if !retryable {
		return true, last.Phase, last.Message, 0, nil
	}
	if rs.Limit != nil {
		limit, lerr := intOrStringValue(rs.Limit, o.globals)
		if lerr != nil {
			return false, "", "", 0, specError("retryStrategy.limit: %v", lerr)
		}
		if len(attempts) > limit {
			return true, last.Phase, "No more retries left", 0, nil
		}
	}
	if rs.Expression != "" {
		env := map[string]any{
			"lastRetry": map[string]any{
				"exitCode": exitCodeOf(last),
				"status":   string(last.Phase),
				"duration": o.duration(last).Seconds(),
				"message":  last.Message,
			},
		}
		ok, eerr := expr.EvalBool(rs.Expression, env)
		if eerr != nil {
			return false, "", "", 0, specError("retryStrategy.expression %q: %v", rs.Expression, eerr)
		}
		if !ok {
			return true, last.Phase, last.Message, 0, nil
		}
	}
	if b := rs.Backoff; b != nil && b.Duration != "" {
		base, perr := duration.Parse(b.Duration)
		if perr != nil {
			return false, "", "", 0, specError("retryStrategy.backoff.duration: %v", perr)
		}
		factor := 1.0
		if b.Factor != nil {
			f, ferr := intOrStringValue(b.Factor, o.globals)
			if ferr != nil {
				return false, "", "", 0, specError("retryStrategy.backoff.factor: %v", ferr)
			}
			factor = float64(f)
		}
		d := float64(base)
		for range len(attempts) - 1 {
			d *= factor
		}
		delay := time.Duration(d)
		if b.Cap != "" {
			if c, err := duration.Parse(b.Cap); err == nil && delay > c {
				delay = c
			}
		}
		if b.MaxDuration != "" {
			maxD, merr := duration.Parse(b.MaxDuration)
			if merr != nil {
				return false, "", "", 0, specError("retryStrategy.backoff.maxDuration: %v", merr)
			}
			first := attempts[0].StartedAt.Time
			if !first.IsZero() && o.now.Add(delay).Sub(first) > maxD {
				return true, last.Phase, "Max duration limit exceeded", 0, nil
			}
		}
		next := last.FinishedAt.Add(delay)
		if o.now.Before(next) {
			p := *parent
			p.Message = fmt.Sprintf("Backoff for %s", delay.Round(time.Second))
			o.setNode(&p)
			return false, "", "", next.Sub(o.now), nil
		}
	}
	return false, "", "", 0, nil
}

func exitCodeOf(n *argov1.NodeStatus) int {
	if n.Outputs != nil && n.Outputs.ExitCode != nil {
		if c, err := strconv.Atoi(*n.Outputs.ExitCode); err == nil {
			return c
		}
	}
	return -1
}

// isTransientMessage recognises errors Argo treats as transient.
func isTransientMessage(msg string) bool {
	for _, s := range []string{"pod deleted", "etcdserver", "connection refused", "i/o timeout", "TLS handshake timeout", "the object has been modified", "exceeded quota", "NodeLost", "Evicted"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// intOrStringValue reads an int, or a string holding one (after substitution).
func intOrStringValue(v interface{ String() string }, vars map[string]string) (int, error) {
	s, err := expr.Replace(v.String(), vars, expr.Options{})
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	return n, nil
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
