package workflow

import (
	"encoding/json"
	"sort"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/expr"
)

// exitHook is the template a node's exit runs: onExit (a template name) or
// hooks.exit.
func exitHook(onExit string, hooks argov1.LifecycleHooks) *argov1.LifecycleHook {
	if h, ok := hooks[argov1.ExitLifecycleEvent]; ok {
		return &h
	}
	if onExit != "" {
		return &argov1.LifecycleHook{Template: onExit}
	}
	return nil
}

// exitNodeName is Argo's name for the exit handler of a node.
func exitNodeName(parent string) string { return parent + ".onExit" }

// runExitHooks runs the exit hook of the finished node name, with the node's
// own results in scope as key (steps.X or tasks.X).
func (o *operation) runExitHooks(name, key string, sc scope, onExit string, hooks argov1.LifecycleHooks, boundaryID string, vars map[string]string) (*argov1.NodeStatus, error) {
	h := exitHook(onExit, hooks)
	if h == nil || o.shutdown == argov1.ShutdownTerminate {
		return nil, nil
	}
	n := o.node(name)
	ls := newLocalScope()
	o.addNodeToScope(ls, key, n)
	maps := o.scopeVars(ls, vars)
	hook, err := substitute(h, maps)
	if err != nil {
		return nil, err
	}
	arts, err := o.resolveArtifactArgs(hook.Arguments.Artifacts, ls, maps)
	if err != nil {
		return o.nodeError(o.node(exitNodeName(name)), exitNodeName(name), templateRef{Name: hook.Template}, execOpts{boundaryID: boundaryID}, err), err
	}
	hook.Arguments.Artifacts = arts
	hn, err := o.executeTemplate(exitNodeName(name), sc, hookHolder("onExit", hook), hook.Arguments,
		execOpts{boundaryID: boundaryID, flag: &argov1.NodeFlag{Hooked: true}})
	o.addChild(name, exitNodeName(name))
	return hn, err
}

// exitHooksDone reports whether a node's exit hook (if any) has finished.
func (o *operation) exitHooksDone(name, onExit string, hooks argov1.LifecycleHooks) bool {
	if exitHook(onExit, hooks) == nil || o.shutdown == argov1.ShutdownTerminate {
		return true
	}
	n := o.node(exitNodeName(name))
	return n != nil && n.Phase.Fulfilled()
}

// runExpressionHooks starts the hooks whose expression holds (once each).
func (o *operation) runExpressionHooks(parent string, sc scope, hooks argov1.LifecycleHooks, boundaryID string, vars map[string]string) {
	var names []string
	for k := range hooks {
		if k != argov1.ExitLifecycleEvent {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		h := hooks[k]
		hookName := parent + ".hooks." + k
		if o.node(hookName) == nil {
			if h.Expression == "" {
				continue
			}
			ok, err := expr.EvalBool(h.Expression, exprEnv(vars))
			if err != nil || !ok {
				continue
			}
		}
		hook, err := substitute(&h, vars)
		if err != nil {
			continue
		}
		_, _ = o.executeTemplate(hookName, sc, hookHolder(k, hook), hook.Arguments, execOpts{boundaryID: boundaryID, flag: &argov1.NodeFlag{Hooked: true}})
		if o.node(parent) != nil {
			o.addChild(parent, hookName)
		}
	}
}

// failuresJSON is {{workflow.failures}}: the failed nodes as a JSON list.
func (o *operation) failuresJSON() string {
	type failure struct {
		DisplayName  string `json:"displayName"`
		Message      string `json:"message"`
		TemplateName string `json:"templateName"`
		Phase        string `json:"phase"`
		PodName      string `json:"podName"`
		FinishedAt   string `json:"finishedAt"`
	}
	var out []failure
	ids := make([]string, 0, len(o.wf.Status.Nodes))
	for id := range o.wf.Status.Nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		n := o.wf.Status.Nodes[id]
		if !failedOrError(n.Phase) || n.Type == argov1.NodeTypeRetry && false {
			continue
		}
		f := failure{DisplayName: n.DisplayName, Message: n.Message, TemplateName: n.TemplateName, Phase: string(n.Phase)}
		if n.Type == argov1.NodeTypePod {
			f.PodName = podName(o.wf, n.Name, n.TemplateName)
		}
		if !n.FinishedAt.IsZero() {
			f.FinishedAt = n.FinishedAt.UTC().Format("2006-01-02T15:04:05Z")
		}
		out = append(out, f)
	}
	if out == nil {
		return "null"
	}
	b, _ := json.Marshal(out)
	return string(b)
}
