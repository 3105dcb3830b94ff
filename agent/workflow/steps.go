package workflow

import (
	"fmt"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/expr"
)

// executeSteps runs a steps template: its groups one after another, the
// steps of a group at the same time.
func (o *operation) executeSteps(name string, sc scope, t *argov1.Template, ref templateRef, opts execOpts) (*argov1.NodeStatus, error) {
	n := o.node(name)
	if n == nil {
		n = o.initNode(name, argov1.NodeTypeSteps, ref, opts.boundaryID, argov1.NodeRunning, opts.flag, "")
	}
	if n.Phase.Fulfilled() {
		return n, nil
	}
	ls := templateScope(t)
	prev := ""
	for i, group := range t.Steps {
		sgName := fmt.Sprintf("%s[%d]", name, i)
		if o.node(sgName) == nil {
			o.initNode(sgName, argov1.NodeTypeStepGroup, templateRef{Name: t.Name, Scope: ref.Scope}, n.ID, argov1.NodeRunning, nil, "")
			if prev == "" {
				o.addChild(name, sgName)
			} else {
				for _, out := range o.groupOutbound(prev) {
					o.addChild(o.nodeByID(out).Name, sgName)
				}
			}
		}
		sg, err := o.executeStepGroup(sgName, sc, group.Steps, ls, n.ID, t.Parallelism)
		if err != nil && !isSpecError(err) {
			return o.node(name), err
		}
		if err != nil {
			return o.markNode(name, argov1.NodeError, err.Error()), nil
		}
		if !sg.Phase.Fulfilled() {
			return o.node(name), nil
		}
		if failedOrError(sg.Phase) {
			o.stopDaemons(n.ID)
			n = o.markNode(name, sg.Phase, sg.Message)
			o.setOutbound(n, o.groupOutbound(sgName))
			return n, nil
		}
		for _, step := range group.Steps {
			o.addStepToScope(ls, sgName, step.Name, "steps.")
		}
		prev = sgName
	}
	outputs, err := o.templateOutputs(t, ls)
	if err != nil {
		return o.markNode(name, argov1.NodeError, err.Error()), nil
	}
	o.stopDaemons(n.ID)
	n = o.markNode(name, argov1.NodeSucceeded, "")
	n.Outputs = outputs
	if prev != "" {
		n.OutboundNodes = o.groupOutbound(prev)
	}
	o.setNode(n)
	o.addGlobalOutputs(outputs)
	return n, nil
}

// addStepToScope adds the results of one step (or of its loop) to the scope.
func (o *operation) addStepToScope(ls *localScope, parentName, stepName, prefix string) {
	childName := parentName + "." + stepName
	if c := o.node(childName); c != nil && c.Type != argov1.NodeTypeTaskGroup {
		o.addNodeToScope(ls, prefix+stepName, c)
		return
	}
	if c := o.node(childName); c != nil {
		// A DAG task's loop: a TaskGroup with the items as children.
		addAggregateToScope(ls, prefix+stepName, o.indexedChildren(c))
		ls.params[prefix+stepName+".status"] = string(c.Phase)
		ls.params[prefix+stepName+".id"] = c.ID
		return
	}
	// A step's loop: items are siblings named step(i:item) in the group.
	parent := o.node(parentName)
	if parent == nil {
		return
	}
	var items []argov1.NodeStatus
	for _, id := range parent.Children {
		c := o.nodeByID(id)
		if c != nil && len(c.Name) > len(childName) && c.Name[:len(childName)+1] == childName+"(" {
			items = append(items, *c)
		}
	}
	items = sortByLoopIndex(items)
	addAggregateToScope(ls, prefix+stepName, items)
}

func sortByLoopIndex(ns []argov1.NodeStatus) []argov1.NodeStatus {
	for i := 1; i < len(ns); i++ {
		for j := i; j > 0 && loopIndex(ns[j].Name) < loopIndex(ns[j-1].Name); j-- {
			ns[j], ns[j-1] = ns[j-1], ns[j]
		}
	}
	return ns
}

// executeStepGroup runs the steps of one group in parallel.
func (o *operation) executeStepGroup(sgName string, sc scope, steps []argov1.WorkflowStep, ls *localScope, boundaryID string, parallelism *int64) (*argov1.NodeStatus, error) {
	sg := o.node(sgName)
	if sg.Phase.Fulfilled() {
		return sg, nil
	}
	vars := o.scopeVars(ls, nil)
	type child struct {
		name string
		step argov1.WorkflowStep
	}
	var children []child
	for _, step := range steps {
		resolved, err := substitute(&step, vars)
		if err != nil {
			return o.markNode(sgName, argov1.NodeError, fmt.Sprintf("step %s: %v", step.Name, err)), err
		}
		arts, err := o.resolveArtifactArgs(resolved.Arguments.Artifacts, ls, vars)
		if err != nil {
			return o.markNode(sgName, argov1.NodeError, fmt.Sprintf("step %s: %v", step.Name, err)), err
		}
		resolved.Arguments.Artifacts = arts
		items, loops, err := loopItems(resolved.WithItems, resolved.WithParam, resolved.WithSequence, vars)
		if err != nil {
			return o.markNode(sgName, argov1.NodeError, fmt.Sprintf("step %s: %v", step.Name, err)), err
		}
		if !loops {
			children = append(children, child{sgName + "." + step.Name, *resolved})
			continue
		}
		if len(items) == 0 {
			skipped := sgName + "." + step.Name
			if o.node(skipped) == nil {
				o.initNode(skipped, argov1.NodeTypeSkipped, templateRef{Name: step.Template}, boundaryID, argov1.NodeSkipped, nil, "Skipped, empty params")
				o.addChild(sgName, skipped)
			}
			continue
		}
		for i, it := range items {
			iv, desc, err := itemVars(it)
			if err != nil {
				return o.markNode(sgName, argov1.NodeError, fmt.Sprintf("step %s: %v", step.Name, err)), err
			}
			expanded, err := substitute(resolved, iv)
			if err != nil {
				return o.markNode(sgName, argov1.NodeError, fmt.Sprintf("step %s: %v", step.Name, err)), err
			}
			expanded.WithItems, expanded.WithParam, expanded.WithSequence = nil, "", nil
			expanded.Name = loopNodeName(step.Name, i, desc)
			children = append(children, child{sgName + "." + expanded.Name, *expanded})
		}
	}
	running := 0
	for _, c := range children {
		if n := o.node(c.name); n != nil && !n.Phase.Fulfilled() {
			running++
		}
	}
	for _, c := range children {
		existing := o.node(c.name)
		if existing == nil && parallelism != nil && int64(running) >= *parallelism {
			continue
		}
		if existing == nil && c.step.When != "" {
			ok, err := expr.When(c.step.When)
			if err != nil {
				return o.markNode(sgName, argov1.NodeError, fmt.Sprintf("step %s: when %q: %v", c.step.Name, c.step.When, err)), specError("%v", err)
			}
			if !ok {
				o.initNode(c.name, argov1.NodeTypeSkipped, templateRef{Name: c.step.Template}, boundaryID, argov1.NodeSkipped, nil,
					fmt.Sprintf("when '%s' evaluated false", c.step.When))
				o.addChild(sgName, c.name)
				continue
			}
		}
		step := c.step
		locals := map[string]string{"steps.name": step.Name}
		n, err := o.executeTemplate(c.name, sc, stepHolder(&step), step.Arguments, execOpts{boundaryID: boundaryID, locals: locals})
		o.addChild(sgName, c.name)
		if existing == nil && n != nil && !n.Phase.Fulfilled() {
			running++
		}
		if err != nil && !isSpecError(err) {
			return o.node(sgName), err
		}
		if n != nil && len(step.Hooks) > 0 {
			own := newLocalScope()
			o.addNodeToScope(own, "steps."+step.Name, n)
			o.runExpressionHooks(c.name, sc, step.Hooks, boundaryID, o.scopeVars(ls, own.params))
		}
		if n != nil && n.Phase.Fulfilled() {
			if _, err := o.runExitHooks(c.name, "steps."+step.Name, sc, step.OnExit, step.Hooks, boundaryID, vars); err != nil && !isSpecError(err) {
				return o.node(sgName), err
			}
		}
	}
	// The group is done when every child (and its exit hook) is.
	var failed *argov1.NodeStatus
	for _, c := range children {
		n := o.node(c.name)
		if !doneForParent(n) {
			return o.node(sgName), nil
		}
		if !o.exitHooksDone(c.name, c.step.OnExit, c.step.Hooks) {
			return o.node(sgName), nil
		}
		if failedOrError(n.Phase) && !continues(c.step.ContinueOn, n.Phase) && failed == nil {
			failed = n
		}
	}
	if failed != nil {
		return o.markNode(sgName, failed.Phase, fmt.Sprintf("child '%s' failed", failed.ID)), nil
	}
	return o.markNode(sgName, argov1.NodeSucceeded, ""), nil
}

// continues reports whether continueOn lets the parent go on after phase.
func continues(c *argov1.ContinueOn, phase argov1.NodePhase) bool {
	if c == nil {
		return false
	}
	return (phase == argov1.NodeFailed && c.Failed) || (phase == argov1.NodeError && c.Error)
}

// groupOutbound are the IDs of the nodes a group ends in.
func (o *operation) groupOutbound(sgName string) []string {
	sg := o.node(sgName)
	if sg == nil {
		return nil
	}
	var out []string
	for _, id := range sg.Children {
		out = append(out, o.outbound(id)...)
	}
	if len(out) == 0 {
		out = []string{sg.ID}
	}
	return out
}

// outbound are the IDs of the nodes a node ends in: itself for a leaf, the
// recorded outbound nodes of a steps or DAG node, the last attempt of a retry.
func (o *operation) outbound(id string) []string {
	n := o.nodeByID(id)
	if n == nil {
		return nil
	}
	switch n.Type {
	case argov1.NodeTypePod, argov1.NodeTypeSkipped, argov1.NodeTypeSuspend, argov1.NodeTypeContainer:
		return []string{id}
	case argov1.NodeTypeRetry:
		if kids := o.indexedChildren(n); len(kids) > 0 {
			return o.outbound(kids[len(kids)-1].ID)
		}
		return []string{id}
	case argov1.NodeTypeTaskGroup:
		var out []string
		for _, c := range n.Children {
			out = append(out, o.outbound(c)...)
		}
		return out
	}
	if len(n.OutboundNodes) > 0 {
		return n.OutboundNodes
	}
	return []string{id}
}

func (o *operation) setOutbound(n *argov1.NodeStatus, ids []string) {
	n.OutboundNodes = ids
	o.setNode(n)
}
