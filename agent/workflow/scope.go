package workflow

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/expr"
)

// localScope holds what the steps or tasks of one steps or DAG template
// produced so far: steps.X.* or tasks.X.*.
type localScope struct {
	params    map[string]string
	artifacts map[string]argov1.Artifact
}

func newLocalScope() *localScope {
	return &localScope{params: map[string]string{}, artifacts: map[string]argov1.Artifact{}}
}

// templateScope is the scope of a steps or DAG template's children: it
// starts with the template's own input artifacts, so an argument can pass
// one on with from: "{{inputs.artifacts.NAME}}", and its input parameters
// as processArgs resolved them (Argo's createScope), so a tag left in a step
// or task because it read an input that was itself an expression over
// another input (list: "{{= ... inputs.parameters.test ...}}") resolves
// when the step or task runs.
func templateScope(t *argov1.Template) *localScope {
	s := newLocalScope()
	for _, p := range t.Inputs.Parameters {
		if p.Value != nil {
			s.params["inputs.parameters."+p.Name] = p.Value.String()
		}
	}
	for _, a := range t.Inputs.Artifacts {
		// An optional input that was not given is still in scope, empty, as
		// in Argo, so passing it on (from: '{{inputs.artifacts.x}}') passes
		// nothing rather than failing.
		if hasLocation(&a) || a.Optional {
			s.artifacts["inputs.artifacts."+a.Name] = a
		}
	}
	return s
}

// addNode adds a finished child's results under prefix (steps.X or tasks.X).
func (o *operation) addNodeToScope(s *localScope, prefix string, n *argov1.NodeStatus) {
	if n.Type == argov1.NodeTypeRetry {
		if kids := o.indexedChildren(n); len(kids) > 0 {
			last := kids[len(kids)-1]
			n = &last
		}
	}
	s.params[prefix+".id"] = n.ID
	if !n.StartedAt.IsZero() {
		s.params[prefix+".startedAt"] = n.StartedAt.UTC().Format(time.RFC3339)
	}
	if !n.FinishedAt.IsZero() {
		s.params[prefix+".finishedAt"] = n.FinishedAt.UTC().Format(time.RFC3339)
	}
	if n.PodIP != "" {
		s.params[prefix+".ip"] = n.PodIP
	}
	if n.Phase != "" {
		s.params[prefix+".status"] = string(n.Phase)
	}
	if n.HostNodeName != "" {
		s.params[prefix+".hostNodeName"] = n.HostNodeName
	}
	if out := n.Outputs; out != nil {
		if out.Result != nil {
			s.params[prefix+".outputs.result"] = *out.Result
		}
		if out.ExitCode != nil {
			s.params[prefix+".exitCode"] = *out.ExitCode
		}
		for _, p := range out.Parameters {
			if p.Value != nil {
				s.params[prefix+".outputs.parameters."+p.Name] = p.Value.String()
			}
		}
		for _, a := range out.Artifacts {
			s.artifacts[prefix+".outputs.artifacts."+a.Name] = a
		}
	}
}

// addSkippedOutputs gives a skipped or omitted child that produced nothing
// the output parameters its template declares, as Argo's
// buildLocalScopeFromTask does, so a consumer reading
// {{tasks.X.outputs.parameters.P}} (or withParam over it) runs instead of
// failing on a value that will never come. Argo fills "" and so does
// argolite, except that a parameter with a valueFrom.default gets the
// default: the value the producer would have reported had its file been
// missing.
func (o *operation) addSkippedOutputs(into map[string]string, prefix string, sc scope, h holder, n *argov1.NodeStatus) {
	if (n.Phase != argov1.NodeSkipped && n.Phase != argov1.NodeOmitted) || n.Outputs != nil {
		return
	}
	_, t, _, err := o.resolve(sc, h)
	if err != nil {
		// The template is missing: nothing is declared, and the consumer
		// reports the unresolved reference itself.
		return
	}
	for _, p := range t.Outputs.Parameters {
		v := ""
		if p.ValueFrom != nil && p.ValueFrom.Default != nil {
			v = p.ValueFrom.Default.String()
		}
		into[prefix+".outputs.parameters."+p.Name] = v
	}
	if t.Outputs.Result != nil {
		into[prefix+".outputs.result"] = ""
	}
}

// addAggregateToScope adds the fan-in of a loop's children: results and
// parameters as JSON lists, as Argo's processAggregateNodeOutputs does.
func addAggregateToScope(s *localScope, prefix string, children []argov1.NodeStatus) {
	paramList := []map[string]string{}
	valueLists := map[string][]string{}
	var order []string
	results := []json.RawMessage{}
	for _, n := range children {
		if n.NodeFlag != nil && n.NodeFlag.Hooked {
			continue
		}
		if n.Outputs == nil || n.Phase != argov1.NodeSucceeded {
			continue
		}
		if len(n.Outputs.Parameters) > 0 {
			m := map[string]string{}
			for _, p := range n.Outputs.Parameters {
				v := ""
				if p.Value != nil {
					v = p.Value.String()
				}
				m[p.Name] = v
				if _, seen := valueLists[p.Name]; !seen {
					order = append(order, p.Name)
				}
				valueLists[p.Name] = append(valueLists[p.Name], v)
			}
			paramList = append(paramList, m)
		}
		if n.Outputs.Result != nil {
			r := *n.Outputs.Result
			if json.Valid([]byte(r)) {
				results = append(results, json.RawMessage(r))
			} else {
				b, _ := json.Marshal(r)
				results = append(results, b)
			}
		}
	}
	b, _ := json.Marshal(results)
	s.params[prefix+".outputs.result"] = string(b)
	b, _ = json.Marshal(paramList)
	s.params[prefix+".outputs.parameters"] = string(b)
	for _, name := range order {
		s.params[prefix+".outputs.parameters."+name] = aggregatedJSONValueList(valueLists[name])
	}
}

// aggregatedJSONValueList is a JSON list of the values, parsed when every
// value is a JSON map or list, else as strings (Argo's rule).
func aggregatedJSONValueList(values []string) string {
	parsed := make([]any, 0, len(values))
	for _, v := range values {
		var x any
		if err := json.Unmarshal([]byte(v), &x); err != nil {
			parsed = nil
			break
		}
		switch x.(type) {
		case []any, map[string]any:
			parsed = append(parsed, x)
			continue
		}
		parsed = nil
		break
	}
	if parsed != nil {
		b, _ := json.Marshal(parsed)
		return string(b)
	}
	b, _ := json.Marshal(values)
	return string(b)
}

// vars is the substitution map for a child: globals and the scope.
func (o *operation) scopeVars(s *localScope, extra map[string]string) map[string]string {
	v := o.mergedVars(s.params)
	maps.Copy(v, extra)
	return v
}

// resolveArtifactArgs turns `from` and `fromExpression` references in
// arguments into the artifacts they name.
func (o *operation) resolveArtifactArgs(args []argov1.Artifact, s *localScope, vars map[string]string) ([]argov1.Artifact, error) {
	out := make([]argov1.Artifact, 0, len(args))
	for _, a := range args {
		switch {
		case a.From != "":
			ref := strings.TrimSpace(a.From)
			if !strings.HasPrefix(ref, "{{") || !strings.HasSuffix(ref, "}}") {
				return nil, specError("artifact %s: from %q must be a reference such as {{steps.NAME.outputs.artifacts.ART}}", a.Name, a.From)
			}
			key := strings.TrimSpace(ref[2 : len(ref)-2])
			found, ok := s.artifacts[key]
			if !ok {
				found, ok = o.globalArtifacts[key]
			}
			if !ok {
				if a.Optional {
					out = append(out, argov1.Artifact{Name: a.Name, Optional: true})
					continue
				}
				return nil, fmt.Errorf("%w: artifact %s: %s is not available (did that step produce it?)", errSpec, a.Name, a.From)
			}
			r := *found.DeepCopy()
			r.Name, r.From, r.GlobalName = a.Name, "", ""
			r.SubPath = a.SubPath
			r.Optional = a.Optional || found.Optional && !hasLocation(&found)
			out = append(out, r)
		case a.FromExpression != "":
			env := exprEnv(vars, s.artifacts, o.globalArtifacts)
			v, err := expr.Eval(a.FromExpression, env)
			if err != nil {
				return nil, specError("artifact %s: fromExpression %q: %v", a.Name, a.FromExpression, err)
			}
			art, ok := v.(argov1.Artifact)
			if !ok {
				return nil, specError("artifact %s: fromExpression %q gave %T, not an artifact", a.Name, a.FromExpression, v)
			}
			r := *art.DeepCopy()
			r.Name, r.GlobalName = a.Name, ""
			out = append(out, r)
		default:
			out = append(out, a)
		}
	}
	return out, nil
}

// exprEnv builds an expression environment from dotted variables, with
// artifacts as values.
func exprEnv(vars map[string]string, artifactMaps ...map[string]argov1.Artifact) map[string]any {
	env := map[string]any{}
	for k, v := range vars {
		setPath(env, k, v)
	}
	for _, m := range artifactMaps {
		for k, a := range m {
			setPath(env, k, a)
		}
	}
	return env
}

// setPath sets env[a][b][c] = v for key "a.b.c"; a scalar in the way keeps
// its flat key too.
func setPath(env map[string]any, key string, v any) {
	env[key] = v
	parts := strings.Split(key, ".")
	cur := env
	for i, p := range parts {
		if i == len(parts)-1 {
			if _, isMap := cur[p].(map[string]any); !isMap {
				cur[p] = v
			}
			return
		}
		next, ok := cur[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[p] = next
		}
		cur = next
	}
}

// templateOutputs resolves a steps or DAG template's outputs from its scope
// (valueFrom.parameter, valueFrom.expression, artifacts from).
func (o *operation) templateOutputs(t *argov1.Template, s *localScope) (*argov1.Outputs, error) {
	if len(t.Outputs.Parameters) == 0 && len(t.Outputs.Artifacts) == 0 {
		return nil, nil
	}
	vars := o.scopeVars(s, nil)
	out := &argov1.Outputs{}
	for _, p := range t.Outputs.Parameters {
		if p.ValueFrom == nil {
			out.Parameters = append(out.Parameters, p)
			continue
		}
		var value string
		switch {
		case p.ValueFrom.Parameter != "":
			v, err := expr.Replace(p.ValueFrom.Parameter, vars, expr.Options{})
			if err != nil {
				if p.ValueFrom.Default == nil {
					return nil, specError("outputs.parameters.%s: %v", p.Name, err)
				}
				v = p.ValueFrom.Default.String()
			}
			value = v
		case p.ValueFrom.Expression != "":
			v, err := expr.Eval(p.ValueFrom.Expression, exprEnv(vars))
			if err != nil {
				if p.ValueFrom.Default == nil {
					return nil, specError("outputs.parameters.%s: expression %q: %v", p.Name, p.ValueFrom.Expression, err)
				}
				value = p.ValueFrom.Default.String()
			} else {
				value = stringify(v)
			}
		case p.ValueFrom.Default != nil:
			value = p.ValueFrom.Default.String()
		default:
			continue
		}
		out.Parameters = append(out.Parameters, argov1.Parameter{Name: p.Name, Value: argov1.AnyStringPtr(value), GlobalName: p.GlobalName})
	}
	arts, err := o.resolveArtifactArgs(t.Outputs.Artifacts, s, vars)
	if err != nil {
		return nil, err
	}
	for i := range arts {
		arts[i].GlobalName = t.Outputs.Artifacts[i].GlobalName
	}
	out.Artifacts = arts
	return out, nil
}

// stringify formats an expression result as Argo does: strings as they are,
// everything else as JSON.
func stringify(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// addGlobalOutputs exports outputs with a globalName to workflow.outputs.
func (o *operation) addGlobalOutputs(out *argov1.Outputs) {
	if out == nil {
		return
	}
	for _, p := range out.Parameters {
		if p.GlobalName == "" || p.Value == nil {
			continue
		}
		o.globals["workflow.outputs.parameters."+p.GlobalName] = p.Value.String()
		if o.wf.Status.Outputs == nil {
			o.wf.Status.Outputs = &argov1.Outputs{}
		}
		set := false
		for i := range o.wf.Status.Outputs.Parameters {
			if o.wf.Status.Outputs.Parameters[i].Name == p.GlobalName {
				o.wf.Status.Outputs.Parameters[i].Value = p.Value
				set = true
			}
		}
		if !set {
			o.wf.Status.Outputs.Parameters = append(o.wf.Status.Outputs.Parameters, argov1.Parameter{Name: p.GlobalName, Value: p.Value})
		}
	}
	for _, a := range out.Artifacts {
		if a.GlobalName == "" || !hasLocation(&a) {
			continue
		}
		g := *a.DeepCopy()
		g.Name, g.GlobalName = a.GlobalName, ""
		o.globalArtifacts["workflow.outputs.artifacts."+g.Name] = g
		if o.wf.Status.Outputs == nil {
			o.wf.Status.Outputs = &argov1.Outputs{}
		}
		set := false
		for i := range o.wf.Status.Outputs.Artifacts {
			if o.wf.Status.Outputs.Artifacts[i].Name == g.Name {
				o.wf.Status.Outputs.Artifacts[i] = g
				set = true
			}
		}
		if !set {
			o.wf.Status.Outputs.Artifacts = append(o.wf.Status.Outputs.Artifacts, g)
		}
	}
}
