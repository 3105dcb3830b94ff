package wfvalidate

import (
	"fmt"
	"strings"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// hasLocation reports whether an artifact says where it is, as the agent
// decides it.
func hasLocation(a argov1.Artifact) bool {
	l := a.ArtifactLocation
	return l.S3 != nil || l.HTTP != nil || l.Raw != nil || l.Plugin != nil || a.From != "" || a.FromExpression != ""
}

// argumentNames checks the names in arguments.
func (v *validator) argumentNames(path string, args argov1.Arguments) {
	v.parameterNames(join(path, "parameters"), args.Parameters)
	v.artifactNames(join(path, "artifacts"), args.Artifacts)
}

// callArguments checks the arguments of a step, task or hook: every
// parameter has a value, every artifact a source.
func (v *validator) callArguments(path string, args argov1.Arguments) {
	v.argumentNames(path, args)
	for i, p := range args.Parameters {
		pp := index(join(path, "parameters"), i)
		switch {
		case p.Value == nil && p.ValueFrom == nil:
			v.add(pp, "parameter %q has no value: give it a value (or valueFrom.configMapKeyRef)", p.Name)
		case p.ValueFrom != nil:
			vf := p.ValueFrom
			if vf.Path != "" || vf.JSONPath != "" || vf.JQFilter != "" || vf.Parameter != "" || vf.Expression != "" ||
				(vf.ConfigMapKeyRef == nil && vf.Supplied == nil && vf.Event == "") {
				v.add(join(pp, "valueFrom"), "an argument takes its value from configMapKeyRef (with an optional default) or supplied only: write the value as value: \"{{...}}\" (or \"{{=expression}}\") instead")
			}
		}
	}
	for i, a := range args.Artifacts {
		v.argumentArtifact(index(join(path, "artifacts"), i), a, false)
	}
}

// argumentArtifact checks an artifact passed to a workflow or a template.
func (v *validator) argumentArtifact(path string, a argov1.Artifact, workflowLevel bool) {
	if a.From != "" && a.FromExpression != "" {
		v.add(path, "set from or fromExpression, not both")
	}
	if !hasLocation(a) {
		v.add(path, "artifact %q has no source: set from (such as {{steps.NAME.outputs.artifacts.ART}}), fromExpression, s3, http or raw", a.Name)
	}
	if a.From != "" {
		f := strings.TrimSpace(a.From)
		if !strings.HasPrefix(f, "{{") || !strings.HasSuffix(f, "}}") || strings.Count(f, "{{") != 1 {
			v.add(join(path, "from"), "%q is not a reference: write one tag such as {{steps.NAME.outputs.artifacts.ART}} or {{inputs.artifacts.NAME}}", a.From)
		} else if workflowLevel {
			v.add(join(path, "from"), "a workflow argument cannot come from a step: give it s3, http or raw")
		}
	}
	v.expression(join(path, "fromExpression"), a.FromExpression)
	v.artifactLocation(path, a)
}

// supplied checks that args give every input of t that has no value of its
// own. who names the caller for the message; workflowArgs says args are the
// workflow's (spec.arguments), which -p values add to.
func (v *validator) supplied(path string, t *argov1.Template, tname string, args argov1.Arguments, who string, workflowArgs bool) {
	given := map[string]int{}
	for i, a := range args.Parameters {
		given[a.Name] = i
	}
	label := fmt.Sprintf("template %q", tname)
	if who != "" {
		label += " (" + who + ")"
	}
	for _, p := range t.Inputs.Parameters {
		i, ok := given[p.Name]
		submitted, isSubmitted := "", false
		if workflowArgs {
			submitted, isSubmitted = v.submitted[p.Name]
		}
		if ok || isSubmitted {
			value, where := "", ""
			switch {
			case isSubmitted:
				value, where = submitted, "-p "+p.Name
			case args.Parameters[i].Value != nil:
				value, where = args.Parameters[i].Value.String(), join(index(join(path, "parameters"), i), "value")
			default:
				continue
			}
			if len(p.Enum) > 0 && !hasTag(value) && !inEnum(value, p.Enum) {
				if isSubmitted {
					where = path
				}
				v.add(where, "%q (%s) is not one of the allowed values (enum) of parameter %q of %s: %s", value, strings.TrimPrefix(where, path+"."), p.Name, label, enumList(p.Enum))
			}
			continue
		}
		if p.Value != nil || p.Default != nil || (p.ValueFrom != nil && (p.ValueFrom.ConfigMapKeyRef != nil || p.ValueFrom.Supplied != nil)) {
			continue
		}
		typo := ""
		if s := suggest(p.Name, undeclared(args.Parameters, t.Inputs.Parameters)); s != "" {
			typo = fmt.Sprintf(" (the arguments name %q: a typo?)", s)
		}
		if workflowArgs {
			v.add(path, "parameter %q of %s is not supplied%s: add it to spec.arguments.parameters (or pass -p %s=VALUE), or give the input a default", p.Name, label, typo, p.Name)
		} else {
			v.add(path, "parameter %q of %s is not supplied%s: add {name: %s, value: ...} to arguments.parameters, or give the input a default", p.Name, label, typo, p.Name)
		}
	}
	givenArt := map[string]bool{}
	for _, a := range args.Artifacts {
		givenArt[a.Name] = true
	}
	for _, a := range t.Inputs.Artifacts {
		if givenArt[a.Name] || a.Optional || hasLocation(a) {
			continue
		}
		v.add(path, "artifact %q of %s is not supplied: add it to arguments.artifacts (with from, s3, http or raw), or mark the input optional", a.Name, label)
	}
}

// undeclared are the names of args that are not inputs.
func undeclared(args, inputs []argov1.Parameter) []string {
	declared := map[string]bool{}
	for _, p := range inputs {
		declared[p.Name] = true
	}
	var out []string
	for _, a := range args {
		if !declared[a.Name] {
			out = append(out, a.Name)
		}
	}
	return out
}

// callee resolves what a step, task or hook calls: a template of the
// workflow, a templateRef, or an inline template. Nil when it cannot be
// known (or is wrong, which is reported). The name is for messages.
func (v *validator) callee(path, name string, ref *argov1.TemplateRef, inline *argov1.Template) (*argov1.Template, string) {
	var set []string
	if name != "" {
		set = append(set, "template")
	}
	if ref != nil {
		set = append(set, "templateRef")
	}
	if inline != nil {
		set = append(set, "inline")
	}
	switch len(set) {
	case 0:
		v.add(path, "calls no template: set template (a template of the workflow), templateRef or inline")
		return nil, ""
	case 1:
	default:
		v.add(path, "sets %s: set only one", andList(set))
		return nil, ""
	}
	switch {
	case inline != nil:
		return inline, "inline"
	case name != "":
		return v.localTemplate(join(path, "template"), name), name
	}
	rp := join(path, "templateRef")
	label := ref.Name + "/" + ref.Template
	if ref.Name == "" {
		v.add(join(rp, "name"), "required: the name of the %s", kindName(ref.ClusterScope))
	}
	if ref.Template == "" {
		v.add(join(rp, "template"), "required: the template to call in %s %q", kindName(ref.ClusterScope), ref.Name)
	}
	if ref.Name == "" || ref.Template == "" || hasTag(ref.Name) || hasTag(ref.Template) {
		return nil, label
	}
	spec, ok := v.lookup(rp, ref.Name, ref.ClusterScope)
	if !ok {
		return nil, label
	}
	byName, names := indexTemplates(spec.Templates)
	if t, ok := byName[ref.Template]; ok {
		return t, label
	}
	v.add(join(rp, "template"), "%s %q has no template %q%s", kindName(ref.ClusterScope), ref.Name, ref.Template, didYouMean(ref.Template, names))
	return nil, label
}

// hook checks a lifecycle hook; callArgs are the arguments its template
// gets.
func (v *validator) hook(path, name string, h *argov1.LifecycleHook, callArgs argov1.Arguments) {
	if name != argov1.ExitLifecycleEvent && strings.TrimSpace(h.Expression) == "" {
		v.add(join(path, "expression"), "required: a hook other than exit runs when its expression becomes true")
	}
	v.expression(join(path, "expression"), h.Expression)
	v.callArguments(join(path, "arguments"), h.Arguments)
	t, tname := v.callee(path, h.Template, h.TemplateRef, nil)
	if t != nil {
		workflowArgs := len(h.Arguments.Parameters) == 0 && len(callArgs.Parameters) > 0
		v.supplied(join(path, "arguments"), t, tname, callArgs, "hook "+name, workflowArgs)
	}
}
