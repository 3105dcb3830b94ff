package wfvalidate

import (
	"fmt"
	"regexp"
	"strings"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/expr"
)

// callInfo is what a step or task of a template calls, for the variables
// that name it.
type callInfo struct {
	tmpl  *argov1.Template // nil when not known
	group int              // steps: the group index
	loops bool
}

// steps checks a steps template's groups and returns its steps by name.
func (v *validator) steps(t *argov1.Template, path string, sc *refScope) map[string]*callInfo {
	all := map[string]*callInfo{}
	first := map[string]string{}
	for g, group := range t.Steps {
		for s, step := range group.Steps {
			np := join(fmt.Sprintf("%s.steps[%d][%d]", path, g, s), "name")
			switch step.Name {
			case "":
				v.add(np, "required: every step needs a name (its results are {{steps.NAME.*}})")
				continue
			default:
				if reason := fieldNameProblem(step.Name); reason != "" {
					v.add(np, "%q %s", step.Name, reason)
				}
			}
			if prev, dup := first[step.Name]; dup {
				v.add(np, "%q is also the name of %s: step names must be unique in a template", step.Name, prev)
				continue
			}
			first[step.Name] = fmt.Sprintf("steps[%d][%d]", g, s)
			all[step.Name] = &callInfo{group: g, loops: len(step.WithItems) > 0 || step.WithParam != "" || step.WithSequence != nil}
		}
	}
	before := map[string]bool{} // the steps of the groups before the current one
	for g := range t.Steps {
		group := t.Steps[g].Steps
		for s := range group {
			step := &group[s]
			sp := fmt.Sprintf("%s.steps[%d][%d]", path, g, s)
			callee, cname := v.callee(sp, step.Template, step.TemplateRef, step.Inline)
			if info := all[step.Name]; info != nil && first[step.Name] == fmt.Sprintf("steps[%d][%d]", g, s) {
				info.tmpl = callee
			}
			v.loops(sp, step.WithItems, step.WithParam, step.WithSequence)
			v.when(join(sp, "when"), step.When)
			v.callArguments(join(sp, "arguments"), step.Arguments)
			if callee != nil {
				v.supplied(join(sp, "arguments"), callee, cname, step.Arguments, "", false)
			}
			v.exitHandlers(sp, step.OnExit, step.Hooks)

			vis := &visibleSet{kind: "step", names: before, all: all, tmpl: sc.tmpl, owner: step.Name, ownerGroup: g}
			stepSc := sc.clone()
			stepSc.steps = vis
			stepSc.item = itemScopeOf(step.WithItems, step.WithParam, step.WithSequence)
			v.walkStrings(step, sp, map[string]bool{"inline": true, "hooks": true}, stepSc)
			if len(step.Hooks) > 0 {
				hookSc := stepSc.clone()
				hookSc.steps = vis.withSelf()
				v.walkStrings(step.Hooks, join(sp, "hooks"), nil, hookSc)
			}
			if step.Inline != nil {
				v.template(step.Inline, join(sp, "inline"), stepSc)
			}
		}
		for _, step := range group {
			if step.Name != "" {
				before[step.Name] = true
			}
		}
	}
	return all
}

// exitHandlers checks a step's or task's onExit and hooks.
func (v *validator) exitHandlers(path, onExit string, hooks argov1.LifecycleHooks) {
	if onExit != "" {
		if _, both := hooks[argov1.ExitLifecycleEvent]; both {
			v.add(join(path, "onExit"), "set onExit or hooks.exit, not both")
		}
		if t := v.localTemplate(join(path, "onExit"), onExit); t != nil {
			v.supplied(join(path, "onExit"), t, onExit, argov1.Arguments{}, "onExit, which gets no arguments: use hooks.exit with arguments instead", false)
		}
	}
	for _, name := range sortedKeys(hooks) {
		h := hooks[name]
		v.hook(key(join(path, "hooks"), name), name, &h, h.Arguments)
	}
}

// loops checks withItems, withParam and withSequence.
func (v *validator) loops(path string, items []argov1.Item, param string, seq *argov1.Sequence) {
	var set []string
	if len(items) > 0 {
		set = append(set, "withItems")
	}
	if param != "" {
		set = append(set, "withParam")
	}
	if seq != nil {
		set = append(set, "withSequence")
	}
	if len(set) > 1 {
		v.add(path, "sets %s: a step or task loops over one of withItems, withParam or withSequence", andList(set))
	}
	if param != "" && !hasTag(param) && !jsonList(param) {
		v.add(join(path, "withParam"), "%q is not a JSON list: give a list such as [\"a\", \"b\"], or a tag that gives one such as {{steps.NAME.outputs.result}}", param)
	}
	if seq != nil {
		sp := join(path, "withSequence")
		switch {
		case seq.Count != nil && seq.End != nil:
			v.add(sp, "sets count and end: set count (how many numbers) or end (the last number), not both")
		case seq.Count == nil && seq.End == nil:
			v.add(sp, "set count (how many numbers) or end (the last number)")
		}
		if seq.Count != nil {
			v.nonNegativeIntOrString(join(sp, "count"), *seq.Count)
		}
		if seq.Start != nil {
			v.intOrString(join(sp, "start"), *seq.Start)
		}
		if seq.End != nil {
			v.intOrString(join(sp, "end"), *seq.End)
		}
	}
}

// when checks a condition that holds no tags: it must evaluate, with
// govaluate as Argo does, to a boolean. A condition with tags is only
// complete at run time; its tags are checked by the variables walk.
func (v *validator) when(path, cond string) {
	if strings.TrimSpace(cond) == "" || hasTag(cond) {
		return
	}
	if _, err := expr.When(cond); err != nil {
		v.add(path, "%v: a condition compares words, numbers and {{...}} values with ==, !=, <, >, <=, >=, =~ or !~, and combines them with &&, || and !", err)
	}
}

// itemsBased matches the results of a depends expression that need a task
// that loops.
var itemsBased = regexp.MustCompile(`([A-Za-z0-9][-A-Za-z0-9]*)\.(AnySucceeded|AllFailed)\b`)

// dag checks a DAG template's tasks and returns them by name.
func (v *validator) dag(t *argov1.Template, path string, sc *refScope) map[string]*callInfo {
	dp := join(path, "dag")
	tasks := t.DAG.Tasks
	all := map[string]*callInfo{}
	if len(tasks) == 0 {
		v.add(join(dp, "tasks"), "a DAG needs at least one task")
		return all
	}
	pos := map[string]int{}
	usesDepends := false
	for i, task := range tasks {
		np := join(index(join(dp, "tasks"), i), "name")
		usesDepends = usesDepends || task.Depends != ""
		switch task.Name {
		case "":
			v.add(np, "required: every task needs a name (others depend on it by name)")
			continue
		default:
			if reason := fieldNameProblem(task.Name); reason != "" {
				v.add(np, "%q %s", task.Name, reason)
			}
		}
		if j, dup := pos[task.Name]; dup {
			v.add(np, "%q is also the name of tasks[%d]: task names must be unique", task.Name, j)
			continue
		}
		pos[task.Name] = i
		all[task.Name] = &callInfo{loops: len(task.WithItems) > 0 || task.WithParam != "" || task.WithSequence != nil}
	}
	names := sortedKeys(pos)

	// Dependencies.
	deps := map[string][]string{}
	for i, task := range tasks {
		tp := index(join(dp, "tasks"), i)
		switch {
		case task.Depends != "" && len(task.Dependencies) > 0:
			v.add(tp, "sets depends and dependencies: keep depends (dependencies is the older form; \"a && b\" means both)")
		case usesDepends && len(task.Dependencies) > 0:
			v.add(join(tp, "dependencies"), "other tasks of this DAG use depends: write these as depends too (such as \"%s\"), as Argo requires one form per DAG", strings.Join(task.Dependencies, " && "))
		}
		if usesDepends && task.ContinueOn != nil {
			v.add(join(tp, "continueOn"), "cannot be used in a DAG that uses depends: say it in the depends of the tasks that follow (such as \"%s.Succeeded || %s.Failed\")", task.Name, task.Name)
		}
		var refs []string
		if task.Depends != "" {
			d, err := expr.ParseDepends(task.Depends)
			if err != nil {
				v.add(join(tp, "depends"), "%v: write task names joined with && and ||, optionally with .Succeeded, .Failed, .Errored, .Skipped, .Omitted, .Daemoned, .AnySucceeded or .AllFailed", err)
			} else {
				for _, name := range d.Tasks() {
					if _, ok := pos[name]; !ok {
						v.add(join(tp, "depends"), "task %q is not in this DAG%s", name, didYouMean(name, names))
						continue
					}
					refs = append(refs, name)
				}
				for _, m := range itemsBased.FindAllStringSubmatch(task.Depends, -1) {
					if info, ok := all[m[1]]; ok && !info.loops {
						v.add(join(tp, "depends"), "%s.%s is for a task that loops (withItems, withParam or withSequence), and %q does not: use %s.Succeeded or %s.Failed", m[1], m[2], m[1], m[1], m[1])
					}
				}
			}
		}
		for j, name := range task.Dependencies {
			if _, ok := pos[name]; !ok {
				v.add(index(join(tp, "dependencies"), j), "task %q is not in this DAG%s", name, didYouMean(name, names))
				continue
			}
			refs = append(refs, name)
		}
		if task.Name != "" {
			deps[task.Name] = append(deps[task.Name], refs...)
		}
	}
	order := make([]string, 0, len(tasks))
	for _, task := range tasks {
		if task.Name != "" {
			order = append(order, task.Name)
		}
	}
	for _, cycle := range findCycles(order, deps) {
		field := "depends"
		if tasks[pos[cycle[0]]].Depends == "" {
			field = "dependencies"
		}
		v.add(join(index(join(dp, "tasks"), pos[cycle[0]]), field),
			"dependency cycle %s (each task waits for the next): remove one of these dependencies", strings.Join(cycle, " -> "))
	}
	if !hasTag(t.DAG.Target) {
		for _, name := range strings.Fields(t.DAG.Target) {
			if _, ok := pos[name]; !ok {
				v.add(join(dp, "target"), "task %q is not in this DAG%s", name, didYouMean(name, names))
			}
		}
	}

	// Each task.
	for i := range tasks {
		task := &tasks[i]
		tp := index(join(dp, "tasks"), i)
		callee, cname := v.callee(tp, task.Template, task.TemplateRef, task.Inline)
		if info := all[task.Name]; info != nil && pos[task.Name] == i {
			info.tmpl = callee
		}
		v.loops(tp, task.WithItems, task.WithParam, task.WithSequence)
		v.when(join(tp, "when"), task.When)
		v.callArguments(join(tp, "arguments"), task.Arguments)
		if callee != nil {
			v.supplied(join(tp, "arguments"), callee, cname, task.Arguments, "", false)
		}
		v.exitHandlers(tp, task.OnExit, task.Hooks)

		vis := &visibleSet{kind: "task", names: ancestors(task.Name, deps), all: all, tmpl: sc.tmpl, owner: task.Name}
		taskSc := sc.clone()
		taskSc.tasks = vis
		taskSc.item = itemScopeOf(task.WithItems, task.WithParam, task.WithSequence)
		v.walkStrings(task, tp, map[string]bool{"inline": true, "hooks": true}, taskSc)
		if len(task.Hooks) > 0 {
			hookSc := taskSc.clone()
			hookSc.tasks = vis.withSelf()
			v.walkStrings(task.Hooks, join(tp, "hooks"), nil, hookSc)
		}
		if task.Inline != nil {
			v.template(task.Inline, join(tp, "inline"), taskSc)
		}
	}
	return all
}

// ancestors are the tasks name depends on, directly or not.
func ancestors(name string, deps map[string][]string) map[string]bool {
	out := map[string]bool{}
	var visit func(string)
	visit = func(n string) {
		for _, d := range deps[n] {
			if !out[d] {
				out[d] = true
				visit(d)
			}
		}
	}
	visit(name)
	delete(out, name)
	return out
}

// findCycles returns the dependency cycles among nodes (each as
// `a, b, ..., a`: a depends on b, ...), each once, in the order of nodes.
func findCycles(nodes []string, deps map[string][]string) [][]string {
	const (
		unvisited = iota
		active
		done
	)
	state := map[string]int{}
	inCycle := map[string]bool{}
	var cycles [][]string
	var stack []string
	var visit func(string)
	visit = func(n string) {
		state[n] = active
		stack = append(stack, n)
		for _, d := range deps[n] {
			switch state[d] {
			case unvisited:
				visit(d)
			case active:
				start := 0
				for i, s := range stack {
					if s == d {
						start = i
					}
				}
				cycle := append(append([]string(nil), stack[start:]...), d)
				seen := false
				for _, c := range cycle {
					seen = seen || inCycle[c]
				}
				if !seen {
					cycles = append(cycles, cycle)
				}
				for _, c := range cycle {
					inCycle[c] = true
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
	}
	for _, n := range nodes {
		if state[n] == unvisited {
			visit(n)
		}
	}
	return cycles
}
