package workflow

import (
	"fmt"
	"maps"
	"strings"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/expr"
)

// dagRun is one pass over a DAG template.
type dagRun struct {
	o        *operation
	name     string
	sc       scope
	t        *argov1.Template
	node     *argov1.NodeStatus
	tasks    map[string]*argov1.DAGTask
	depends  map[string]*expr.Depends
	ls       *localScope
	visiting map[string]bool
	done     map[string]bool
	failFast bool
	running  int
	// skipped holds the outputs of skipped and omitted tasks (see
	// addSkippedOutputs): seen by the tasks that follow, not by the DAG's
	// own outputs, which fall back to their valueFrom.default as in Argo.
	skipped map[string]string
}

func (d *dagRun) taskNodeName(task string) string { return d.name + "." + task }

// executeDAG runs a DAG template: each task once its depends holds.
func (o *operation) executeDAG(name string, sc scope, t *argov1.Template, ref templateRef, opts execOpts) (*argov1.NodeStatus, error) {
	n := o.node(name)
	if n == nil {
		n = o.initNode(name, argov1.NodeTypeDAG, ref, opts.boundaryID, argov1.NodeRunning, opts.flag, "")
	}
	if n.Phase.Fulfilled() {
		return n, nil
	}
	d := &dagRun{o: o, name: name, sc: sc, t: t, node: n, tasks: map[string]*argov1.DAGTask{}, depends: map[string]*expr.Depends{},
		ls: templateScope(t), skipped: map[string]string{}, visiting: map[string]bool{}, done: map[string]bool{}, failFast: t.DAG.FailFast == nil || *t.DAG.FailFast}
	for i := range t.DAG.Tasks {
		task := &t.DAG.Tasks[i]
		d.tasks[task.Name] = task
	}
	for _, task := range t.DAG.Tasks {
		dep, err := d.parseDepends(&task)
		if err != nil {
			return o.markNode(name, argov1.NodeError, err.Error()), nil
		}
		d.depends[task.Name] = dep
	}
	// Completed tasks are in scope for everyone.
	for _, task := range t.DAG.Tasks {
		if tn := o.node(d.taskNodeName(task.Name)); tn != nil && tn.Phase.Fulfilled() {
			d.addToScope(task.Name, tn)
		}
		if tn := o.node(d.taskNodeName(task.Name)); tn != nil && !tn.Phase.Fulfilled() {
			d.running++
		}
	}
	targets, err := d.targets()
	if err != nil {
		return o.markNode(name, argov1.NodeError, err.Error()), nil
	}
	for _, target := range targets {
		if err := d.executeTask(target); err != nil && !isSpecError(err) {
			return o.node(name), err
		}
	}
	phase := d.assessPhase(targets)
	if !phase.Fulfilled() {
		return o.node(name), nil
	}
	o.stopDaemons(n.ID)
	var outbound []string
	for _, target := range targets {
		if tn := o.node(d.taskNodeName(target)); tn != nil {
			outbound = append(outbound, o.outbound(tn.ID)...)
		}
	}
	if phase == argov1.NodeSucceeded {
		outputs, err := o.templateOutputs(t, d.ls)
		if err != nil {
			return o.markNode(name, argov1.NodeError, err.Error()), nil
		}
		n = o.markNode(name, argov1.NodeSucceeded, "")
		n.Outputs = outputs
		o.addGlobalOutputs(outputs)
	} else {
		n = o.markNode(name, phase, d.failureMessage())
	}
	n.OutboundNodes = outbound
	o.setNode(n)
	return n, nil
}

func (d *dagRun) failureMessage() string {
	for _, task := range d.t.DAG.Tasks {
		if tn := d.o.node(d.taskNodeName(task.Name)); tn != nil && failedOrError(tn.Phase) && !continues(task.ContinueOn, tn.Phase) {
			return fmt.Sprintf("child '%s' failed", tn.ID)
		}
	}
	return ""
}

// parseDepends reads a task's depends (or legacy dependencies).
func (d *dagRun) parseDepends(task *argov1.DAGTask) (*expr.Depends, error) {
	src := task.Depends
	if src == "" && len(task.Dependencies) > 0 {
		src = expr.DependenciesToDepends(task.Dependencies, func(name string) expr.ContinueOn {
			if t, ok := d.tasks[name]; ok && t.ContinueOn != nil {
				return expr.ContinueOn{Failed: t.ContinueOn.Failed, Error: t.ContinueOn.Error}
			}
			return expr.ContinueOn{}
		})
	}
	if strings.TrimSpace(src) == "" {
		return nil, nil
	}
	dep, err := expr.ParseDepends(src)
	if err != nil {
		return nil, specError("task %s: depends %q: %v", task.Name, src, err)
	}
	for _, name := range dep.Tasks() {
		if _, ok := d.tasks[name]; !ok {
			return nil, specError("task %s: depends on %q, which is not a task of template %s", task.Name, name, d.t.Name)
		}
	}
	return dep, nil
}

// targets are the target tasks, or every task nothing depends on.
func (d *dagRun) targets() ([]string, error) {
	if d.t.DAG.Target != "" {
		s, err := expr.Replace(d.t.DAG.Target, d.o.globals, expr.Options{AllowUnresolved: true})
		if err != nil {
			return nil, specError("dag.target: %v", err)
		}
		var out []string
		for _, f := range strings.Fields(s) {
			if _, ok := d.tasks[f]; !ok {
				return nil, specError("dag.target names %q, which is not a task of template %s", f, d.t.Name)
			}
			out = append(out, f)
		}
		return out, nil
	}
	depended := map[string]bool{}
	for _, dep := range d.depends {
		if dep == nil {
			continue
		}
		for _, name := range dep.Tasks() {
			depended[name] = true
		}
	}
	var out []string
	for _, task := range d.t.DAG.Tasks {
		if !depended[task.Name] {
			out = append(out, task.Name)
		}
	}
	return out, nil
}

// state is what a depends expression sees of a task.
func (d *dagRun) state(task string) expr.TaskState {
	n := d.o.node(d.taskNodeName(task))
	if n == nil {
		return expr.TaskState{}
	}
	s := expr.TaskState{Phase: expr.Phase(n.Phase), Daemoned: n.Daemoned != nil && *n.Daemoned}
	if n.Type == argov1.NodeTypeTaskGroup {
		for _, c := range d.o.indexedChildren(n) {
			if c.NodeFlag != nil && c.NodeFlag.Hooked {
				continue
			}
			s.Children = append(s.Children, expr.Phase(c.Phase))
		}
	}
	return s
}

// executeTask runs a task after its dependencies (depth first).
func (d *dagRun) executeTask(name string) error {
	if d.done[name] {
		return nil
	}
	if d.visiting[name] {
		return specError("template %s: task %s depends on itself (a cycle)", d.t.Name, name)
	}
	d.visiting[name] = true
	defer func() { d.visiting[name] = false; d.done[name] = true }()
	o := d.o
	task := d.tasks[name]
	nodeName := d.taskNodeName(name)
	if n := o.node(nodeName); n != nil && n.Phase.Fulfilled() {
		return d.afterTask(task, n)
	}
	dep := d.depends[name]
	if dep != nil {
		for _, parent := range dep.Tasks() {
			if err := d.executeTask(parent); err != nil {
				return err
			}
		}
		if !dep.Ready(d.state) {
			return nil
		}
	}
	existing := o.node(nodeName)
	if existing == nil {
		if dep != nil {
			ok, err := dep.Eval(d.state)
			if err != nil {
				return specError("task %s: %v", name, err)
			}
			if !ok {
				n := o.initNode(nodeName, argov1.NodeTypeSkipped, templateRef{Name: task.Template}, d.node.ID, argov1.NodeOmitted, nil,
					"omitted: depends condition not met")
				d.link(task, dep)
				d.addToScope(name, n)
				return nil
			}
		}
		if d.failFast && d.hasFailure() {
			return nil
		}
		if d.t.Parallelism != nil && int64(d.running) >= *d.t.Parallelism {
			return nil
		}
	}
	locals := maps.Clone(d.skipped)
	locals["tasks.name"] = name
	vars := o.scopeVars(d.ls, locals)
	resolved, err := substitute(task, vars)
	if err != nil {
		return d.taskError(nodeName, task, dep, err)
	}
	arts, err := o.resolveArtifactArgs(resolved.Arguments.Artifacts, d.ls, vars)
	if err != nil {
		return d.taskError(nodeName, task, dep, err)
	}
	resolved.Arguments.Artifacts = arts
	items, loops, err := loopItems(resolved.WithItems, resolved.WithParam, resolved.WithSequence, vars)
	if err != nil {
		return d.taskError(nodeName, task, dep, err)
	}
	if existing == nil {
		if !loops && resolved.When != "" {
			ok, err := expr.When(resolved.When)
			if err != nil {
				return d.taskError(nodeName, task, dep, specError("when %q: %v", resolved.When, err))
			}
			if !ok {
				n := o.initNode(nodeName, argov1.NodeTypeSkipped, templateRef{Name: task.Template}, d.node.ID, argov1.NodeSkipped, nil,
					fmt.Sprintf("when '%s' evaluated false", resolved.When))
				d.link(task, dep)
				d.addToScope(name, n)
				return nil
			}
		}
		if existing == nil {
			d.running++
		}
	}
	var n *argov1.NodeStatus
	if !loops {
		n, err = o.executeTemplate(nodeName, d.sc, taskHolder(resolved), resolved.Arguments, execOpts{boundaryID: d.node.ID, locals: map[string]string{"tasks.name": name}})
		d.link(task, dep)
	} else {
		n, err = d.executeLoop(nodeName, resolved, items, dep)
	}
	if err != nil && !isSpecError(err) {
		return err
	}
	if n != nil && len(task.Hooks) > 0 {
		ls := newLocalScope()
		o.addNodeToScope(ls, "tasks."+name, n)
		o.runExpressionHooks(nodeName, d.sc, task.Hooks, d.node.ID, o.scopeVars(d.ls, ls.params))
	}
	if n != nil && n.Phase.Fulfilled() {
		return d.afterTask(task, n)
	}
	return nil
}

// afterTask runs a finished task's exit hook and adds it to the scope.
func (d *dagRun) afterTask(task *argov1.DAGTask, n *argov1.NodeStatus) error {
	if exitHook(task.OnExit, task.Hooks) != nil {
		vars := d.o.scopeVars(d.ls, nil)
		if _, err := d.o.runExitHooks(n.Name, "tasks."+task.Name, d.sc, task.OnExit, task.Hooks, d.node.ID, vars); err != nil && !isSpecError(err) {
			return err
		}
	}
	d.addToScope(task.Name, n)
	return nil
}

func (d *dagRun) taskError(nodeName string, task *argov1.DAGTask, dep *expr.Depends, err error) error {
	d.o.nodeError(d.o.node(nodeName), nodeName, templateRef{Name: task.Template}, execOpts{boundaryID: d.node.ID}, err)
	d.link(task, dep)
	return err
}

// executeLoop runs a looping task's items under a TaskGroup node.
func (d *dagRun) executeLoop(nodeName string, task *argov1.DAGTask, items []argov1.Item, dep *expr.Depends) (*argov1.NodeStatus, error) {
	o := d.o
	group := o.node(nodeName)
	if group == nil {
		o.initNode(nodeName, argov1.NodeTypeTaskGroup, templateRef{Name: task.Template}, d.node.ID, argov1.NodeRunning, nil, "")
		d.link(task, dep)
	}
	if len(items) == 0 {
		return o.markNode(nodeName, argov1.NodeSkipped, "Skipped, empty params"), nil
	}
	running := 0
	for i, it := range items {
		iv, desc, err := itemVars(it)
		if err != nil {
			return o.markNode(nodeName, argov1.NodeError, err.Error()), err
		}
		expanded, err := substitute(task, iv)
		if err != nil {
			return o.markNode(nodeName, argov1.NodeError, err.Error()), err
		}
		childName := loopNodeName(nodeName, i, desc)
		existing := o.node(childName)
		if existing == nil {
			if d.t.Parallelism != nil && int64(running) >= *d.t.Parallelism {
				continue
			}
			if expanded.When != "" {
				ok, err := expr.When(expanded.When)
				if err != nil {
					return o.markNode(nodeName, argov1.NodeError, fmt.Sprintf("when %q: %v", expanded.When, err)), specError("%v", err)
				}
				if !ok {
					o.initNode(childName, argov1.NodeTypeSkipped, templateRef{Name: task.Template}, d.node.ID, argov1.NodeSkipped, nil,
						fmt.Sprintf("when '%s' evaluated false", expanded.When))
					o.addChild(nodeName, childName)
					continue
				}
			}
		}
		n, err := o.executeTemplate(childName, d.sc, taskHolder(expanded), expanded.Arguments,
			execOpts{boundaryID: d.node.ID, locals: map[string]string{"tasks.name": task.Name}})
		o.addChild(nodeName, childName)
		if err != nil && !isSpecError(err) {
			return o.node(nodeName), err
		}
		if n != nil && !n.Phase.Fulfilled() {
			running++
		}
	}
	group = o.node(nodeName)
	kids := o.indexedChildren(group)
	if len(kids) < len(items) {
		return group, nil
	}
	var failed *argov1.NodeStatus
	for i := range kids {
		if kids[i].NodeFlag != nil && kids[i].NodeFlag.Hooked {
			continue
		}
		if !kids[i].Phase.Fulfilled() {
			return group, nil
		}
		if failedOrError(kids[i].Phase) && failed == nil {
			failed = &kids[i]
		}
	}
	if failed != nil {
		return o.markNode(nodeName, failed.Phase, fmt.Sprintf("child '%s' failed", failed.ID)), nil
	}
	return o.markNode(nodeName, argov1.NodeSucceeded, ""), nil
}

// link makes a task node a child of its dependencies (or of the DAG node).
func (d *dagRun) link(task *argov1.DAGTask, dep *expr.Depends) {
	nodeName := d.taskNodeName(task.Name)
	if dep == nil || len(dep.Tasks()) == 0 {
		d.o.addChild(d.name, nodeName)
		return
	}
	for _, parent := range dep.Tasks() {
		pn := d.o.node(d.taskNodeName(parent))
		if pn == nil {
			continue
		}
		for _, out := range d.o.outbound(pn.ID) {
			if on := d.o.nodeByID(out); on != nil {
				d.o.addChild(on.Name, nodeName)
			}
		}
	}
}

func (d *dagRun) addToScope(task string, n *argov1.NodeStatus) {
	if n.Type == argov1.NodeTypeTaskGroup {
		d.o.addStepToScope(d.ls, d.name, task, "tasks.")
		return
	}
	d.o.addNodeToScope(d.ls, "tasks."+task, n)
	if t := d.tasks[task]; t != nil {
		d.o.addSkippedOutputs(d.skipped, "tasks."+task, d.sc, taskHolder(t), n)
	}
}

// hasFailure reports whether a task failed without continueOn (failFast).
func (d *dagRun) hasFailure() bool {
	for _, task := range d.t.DAG.Tasks {
		n := d.o.node(d.taskNodeName(task.Name))
		if n != nil && failedOrError(n.Phase) && !continues(task.ContinueOn, n.Phase) && !d.failureHandled(task.Name) {
			return true
		}
	}
	return false
}

// failureHandled reports whether some task's depends names this task's
// failure (then the failure is part of the plan, not a reason to stop).
func (d *dagRun) failureHandled(task string) bool {
	for _, dep := range d.depends {
		if dep == nil {
			continue
		}
		src := dep.String()
		for _, r := range []string{".Failed", ".Errored", ".AnySucceeded", ".AllFailed"} {
			if strings.Contains(src, task+r) {
				return true
			}
		}
	}
	return false
}

// assessPhase is Argo's assessDAGPhase: walk from the roots carrying the
// last completed phase of each branch to the target tasks (omitted tasks
// inherit it), then the DAG failed if a target's branch failed.
func (d *dagRun) assessPhase(targets []string) argov1.NodePhase {
	o := d.o
	targetPhase := map[string]argov1.NodePhase{}
	isTarget := map[string]bool{}
	for _, t := range targets {
		isTarget[nodeID(o.wf, d.taskNodeName(t))] = true
	}
	type item struct {
		id    string
		phase argov1.NodePhase
	}
	root := o.node(d.name)
	var queue []item
	for _, c := range root.Children {
		queue = append(queue, item{c, argov1.NodeSucceeded})
	}
	seen := map[item]bool{}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if seen[cur] {
			continue
		}
		seen[cur] = true
		n := o.nodeByID(cur.id)
		if !doneForParent(n) {
			return argov1.NodeRunning
		}
		branch := cur.phase
		if n.Phase != argov1.NodeOmitted {
			branch = n.Phase
		}
		if isTarget[n.ID] {
			if _, ok := targetPhase[n.ID]; !ok {
				targetPhase[n.ID] = branch
			}
			continue
		}
		kids := n.Children
		if n.Type == argov1.NodeTypeRetry || n.Type == argov1.NodeTypeTaskGroup {
			// The attempts and items are inside the task; follow its dependants.
			kids = nil
			for _, id := range n.Children {
				c := o.nodeByID(id)
				if c == nil {
					continue
				}
				kids = append(kids, c.Children...)
			}
		}
		for _, c := range kids {
			if cn := o.nodeByID(c); cn != nil && cn.NodeFlag != nil && cn.NodeFlag.Hooked {
				continue
			}
			queue = append(queue, item{c, branch})
		}
	}
	result := argov1.NodeSucceeded
	for _, t := range targets {
		id := nodeID(o.wf, d.taskNodeName(t))
		phase, ok := targetPhase[id]
		if !ok {
			if n := o.nodeByID(id); doneForParent(n) {
				phase = n.Phase
			} else {
				if !d.failFast || !d.hasFailure() || d.running > 0 {
					return argov1.NodeRunning
				}
				continue
			}
		}
		if failedOrError(phase) {
			if task := d.tasks[t]; continues(task.ContinueOn, phase) {
				continue
			}
			result = phase
		}
	}
	if result == argov1.NodeSucceeded && d.hasFailure() {
		for _, task := range d.t.DAG.Tasks {
			if n := o.node(d.taskNodeName(task.Name)); n != nil && failedOrError(n.Phase) && !continues(task.ContinueOn, n.Phase) && !d.failureHandled(task.Name) {
				return n.Phase
			}
		}
	}
	return result
}
