package wfvalidate

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// ErrUnchecked, returned (or wrapped) by a TemplateLookup, says the template
// cannot be read now (an offline lint): the references to it are left
// unchecked, as with no TemplateLookup, instead of being reported.
var ErrUnchecked = errors.New("not checked")

// Options tune the semantic checks.
type Options struct {
	// TemplateLookup returns the spec of the WorkflowTemplate (cluster
	// false) or ClusterWorkflowTemplate (cluster true) called name, for
	// templateRef and workflowTemplateRef. Nil skips the checks that need
	// it (the referenced template exists, its inputs are supplied); an error
	// it returns is reported on the path of the reference, unless it wraps
	// ErrUnchecked. It is called once per name in a run.
	TemplateLookup func(name string, cluster bool) (*argov1.WorkflowSpec, error)
	// Submit says the workflow is about to run: every workflow argument
	// (spec.arguments.parameters) must then have a value, a valueFrom, or
	// one in Parameters. Without it (lint) a workflow argument may be left
	// for submit time.
	Submit bool
	// Parameters are the values given at submit time (`-p name=value`),
	// which override and add to spec.arguments.parameters.
	Parameters map[string]string
}

// Workflow checks a Workflow's spec: see the package documentation. The
// faults' paths start at the object ("metadata.name", "spec.entrypoint").
func Workflow(wf *argov1.Workflow, o Options) Errors {
	v := newValidator(o, KindWorkflow)
	v.objectName(wf.ObjectMeta, 63)
	v.workflowSpec(&wf.Spec, "spec", o.Submit)
	return v.errs
}

// WorkflowTemplate checks a WorkflowTemplate. As in Argo, its entrypoint is
// optional, and inputs of the entrypoint and `{{workflow.parameters.*}}`
// may be left to the workflow that uses it.
func WorkflowTemplate(t *argov1.WorkflowTemplate, o Options) Errors {
	v := newValidator(o, KindWorkflowTemplate)
	v.objectName(t.ObjectMeta, 63)
	v.workflowSpec(&t.Spec, "spec", false)
	return v.errs
}

// ClusterWorkflowTemplate checks a ClusterWorkflowTemplate, as
// WorkflowTemplate.
func ClusterWorkflowTemplate(t *argov1.ClusterWorkflowTemplate, o Options) Errors {
	v := newValidator(o, KindClusterWorkflowTemplate)
	v.objectName(t.ObjectMeta, 63)
	v.workflowSpec(&t.Spec, "spec", false)
	return v.errs
}

// CronWorkflow checks a CronWorkflow: its schedules, timezone and policies,
// and its workflowSpec as a Workflow that is submitted without parameters
// (every workflow argument needs a value).
func CronWorkflow(c *argov1.CronWorkflow, o Options) Errors {
	v := newValidator(o, KindCronWorkflow)
	// Argo appends a timestamp to the name of each workflow it starts.
	v.objectName(c.ObjectMeta, 52)
	v.cronSpec(&c.Spec, "spec")
	o.Parameters = nil
	v.o = o
	v.workflowSpec(&c.Spec.WorkflowSpec, "spec.workflowSpec", true)
	return v.errs
}

type lookupKey struct {
	name    string
	cluster bool
}

type lookupResult struct {
	spec *argov1.WorkflowSpec
	err  error
}

// validator holds one run.
type validator struct {
	errorList
	o    Options
	kind string
	// templateKind: a WorkflowTemplate or ClusterWorkflowTemplate.
	templateKind bool
	// local are the templates names resolve to; localKnown is false when
	// they live in a workflowTemplateRef that could not be read.
	local      map[string]*argov1.Template
	localNames []string
	localKnown bool
	localWhere string
	// wfParams are the workflow arguments `{{workflow.parameters.X}}` may
	// name; nil when any name goes (templates, unknown references).
	wfParams map[string]bool
	// submitted are the parameters supplied at submit time.
	submitted map[string]string
	// defaults is spec.templateDefaults.
	defaults *argov1.Template
	lookups  map[lookupKey]lookupResult
}

func newValidator(o Options, kind string) *validator {
	return &validator{
		o:            o,
		kind:         kind,
		templateKind: kind == KindWorkflowTemplate || kind == KindClusterWorkflowTemplate,
		lookups:      map[lookupKey]lookupResult{},
	}
}

func (v *validator) objectName(m metav1.ObjectMeta, max int) {
	if m.Name == "" && m.GenerateName == "" {
		if v.kind == KindWorkflow {
			v.add("metadata", "set name or generateName")
		} else {
			v.add("metadata.name", "required: the name other objects refer to this %s by", v.kind)
		}
		return
	}
	if len(m.Name) > max {
		v.add("metadata.name", "%q is %d characters long: a %s name may have at most %d", m.Name, len(m.Name), v.kind, max)
	}
}

func kindName(cluster bool) string {
	if cluster {
		return KindClusterWorkflowTemplate
	}
	return KindWorkflowTemplate
}

// lookup reads a referenced template spec once per run; ok is false when it
// is not known (no lookup, or an error, reported at path).
func (v *validator) lookup(path, name string, cluster bool) (*argov1.WorkflowSpec, bool) {
	if v.o.TemplateLookup == nil || name == "" || hasTag(name) {
		return nil, false
	}
	k := lookupKey{name, cluster}
	r, seen := v.lookups[k]
	if !seen {
		r.spec, r.err = v.o.TemplateLookup(name, cluster)
		if r.err == nil && r.spec == nil {
			r.err = fmt.Errorf("not found")
		}
		v.lookups[k] = r
	}
	if errors.Is(r.err, ErrUnchecked) {
		return nil, false
	}
	if r.err != nil {
		v.add(path, "%s %q: %v", kindName(cluster), name, r.err)
		return nil, false
	}
	return r.spec, true
}

func indexTemplates(ts []argov1.Template) (map[string]*argov1.Template, []string) {
	m := make(map[string]*argov1.Template, len(ts))
	var names []string
	for i := range ts {
		if _, dup := m[ts[i].Name]; !dup && ts[i].Name != "" {
			m[ts[i].Name] = &ts[i]
			names = append(names, ts[i].Name)
		}
	}
	return m, names
}

// mergeArguments overlays own on base by name, as the agent does for a
// workflowTemplateRef: the workflow's values win.
func mergeArguments(base, own argov1.Arguments) argov1.Arguments {
	out := argov1.Arguments{}
	seen := map[string]bool{}
	for _, p := range own.Parameters {
		seen[p.Name] = true
	}
	for _, p := range base.Parameters {
		if !seen[p.Name] {
			out.Parameters = append(out.Parameters, p)
		}
	}
	out.Parameters = append(out.Parameters, own.Parameters...)
	seenArt := map[string]bool{}
	for _, a := range own.Artifacts {
		seenArt[a.Name] = true
	}
	for _, a := range base.Artifacts {
		if !seenArt[a.Name] {
			out.Artifacts = append(out.Artifacts, a)
		}
	}
	out.Artifacts = append(out.Artifacts, own.Artifacts...)
	return out
}

// workflowSpec checks a spec at root ("spec" or "spec.workflowSpec").
// requireValues: every workflow argument needs a value (submit, cron).
func (v *validator) workflowSpec(spec *argov1.WorkflowSpec, root string, requireValues bool) {
	args := spec.Arguments
	entry := spec.Entrypoint
	v.defaults = spec.TemplateDefaults
	v.local, v.localNames = indexTemplates(spec.Templates)
	v.localKnown, v.localWhere = true, "the "+v.kind
	var base *argov1.WorkflowSpec
	ref := spec.WorkflowTemplateRef
	if ref != nil {
		path := join(root, "workflowTemplateRef")
		if len(spec.Templates) > 0 {
			v.add(join(root, "templates"), "a workflow with workflowTemplateRef runs the templates of %s %q: remove templates, or remove workflowTemplateRef",
				kindName(ref.ClusterScope), ref.Name)
		}
		if ref.Name == "" {
			v.add(join(path, "name"), "required: the name of the %s to run", kindName(ref.ClusterScope))
		}
		var ok bool
		base, ok = v.lookup(path, ref.Name, ref.ClusterScope)
		v.localKnown = ok
		if ok {
			v.local, v.localNames = indexTemplates(base.Templates)
			v.localWhere = fmt.Sprintf("%s %q", kindName(ref.ClusterScope), ref.Name)
			if entry == "" {
				entry = base.Entrypoint
			}
			args = mergeArguments(base.Arguments, spec.Arguments)
		}
	}
	if v.o.Submit && !v.templateKind {
		v.submitted = v.o.Parameters
	}
	if !v.templateKind && v.localKnown {
		v.wfParams = map[string]bool{}
		for _, p := range args.Parameters {
			v.wfParams[p.Name] = true
		}
		for name := range v.submitted {
			v.wfParams[name] = true
		}
	}

	v.workflowArguments(join(root, "arguments"), spec, args, requireValues)

	// The entrypoint, the exit handler and the workflow's hooks.
	switch {
	case entry == "" && ref != nil && !v.localKnown:
		// The entrypoint may come from the template that could not be read.
	case entry == "" && ref != nil:
		v.add(join(root, "entrypoint"), "required: neither the workflow nor %s names an entrypoint", v.localWhere)
	case entry == "" && !v.templateKind:
		v.add(join(root, "entrypoint"), "required: name the template the workflow starts with%s", v.candidates())
	case entry != "":
		if t := v.localTemplate(join(root, "entrypoint"), entry); t != nil && !v.templateKind {
			v.supplied(join(root, "arguments"), t, entry, args, "the entrypoint", true)
		}
	}
	if spec.OnExit != "" {
		if t := v.localTemplate(join(root, "onExit"), spec.OnExit); t != nil && !v.templateKind {
			v.supplied(join(root, "arguments"), t, spec.OnExit, args, "the exit handler (onExit)", true)
		}
	}
	if _, both := spec.Hooks[argov1.ExitLifecycleEvent]; both && spec.OnExit != "" {
		v.add(join(root, "hooks.exit"), "the workflow has both onExit and hooks.exit: keep one exit handler")
	}
	for _, name := range sortedKeys(spec.Hooks) {
		h := spec.Hooks[name]
		path := key(join(root, "hooks"), name)
		callArgs := h.Arguments
		if name == argov1.ExitLifecycleEvent && len(h.Arguments.Parameters) == 0 && len(h.Arguments.Artifacts) == 0 {
			callArgs = args // the workflow's exit hook gets the workflow's arguments
		}
		v.hook(path, name, &h, callArgs)
	}

	// Scalars.
	if spec.ActiveDeadlineSeconds != nil && *spec.ActiveDeadlineSeconds <= 0 {
		v.add(join(root, "activeDeadlineSeconds"), "must be more than 0 (seconds the workflow may run), not %d", *spec.ActiveDeadlineSeconds)
	}
	if spec.Parallelism != nil && *spec.Parallelism < 0 {
		v.add(join(root, "parallelism"), "must be 0 or more (0: no limit), not %d", *spec.Parallelism)
	}
	switch spec.Shutdown {
	case "", argov1.ShutdownStop, argov1.ShutdownTerminate:
	default:
		v.add(join(root, "shutdown"), "%q is not a shutdown strategy: use Stop (runs exit handlers) or Terminate", spec.Shutdown)
	}
	if gc := spec.PodGC; gc != nil {
		switch gc.Strategy {
		case argov1.PodGCOnPodNone, argov1.PodGCOnPodCompletion, argov1.PodGCOnPodSuccess, argov1.PodGCOnWorkflowCompletion, argov1.PodGCOnWorkflowSuccess:
		default:
			v.add(join(root, "podGC.strategy"), "%q is not a pod GC strategy: use OnPodCompletion, OnPodSuccess, OnWorkflowCompletion or OnWorkflowSuccess", gc.Strategy)
		}
		if gc.LabelSelector != nil {
			if _, err := metav1.LabelSelectorAsSelector(gc.LabelSelector); err != nil {
				v.add(join(root, "podGC.labelSelector"), "%v", err)
			}
		}
		if gc.DeleteDelayDuration != "" {
			v.duration(join(root, "podGC.deleteDelayDuration"), gc.DeleteDelayDuration, false)
		}
	}
	if gc := spec.VolumeClaimGC; gc != nil {
		switch gc.Strategy {
		case "", "OnWorkflowCompletion", "OnWorkflowSuccess":
		default:
			v.add(join(root, "volumeClaimGC.strategy"), "%q is not a volume claim GC strategy: use OnWorkflowCompletion or OnWorkflowSuccess", gc.Strategy)
		}
	}
	if ttl := spec.TTLStrategy; ttl != nil {
		for _, f := range []struct {
			name string
			n    *int32
		}{{"secondsAfterCompletion", ttl.SecondsAfterCompletion}, {"secondsAfterSuccess", ttl.SecondsAfterSuccess}, {"secondsAfterFailure", ttl.SecondsAfterFailure}} {
			if f.n != nil && *f.n < 0 {
				v.add(join(root, "ttlStrategy."+f.name), "must be 0 or more seconds, not %d", *f.n)
			}
		}
	}
	if wm := spec.WorkflowMetadata; wm != nil {
		for _, k := range sortedKeys(wm.LabelsFrom) {
			v.expression(key(join(root, "workflowMetadata.labelsFrom"), k)+".expression", wm.LabelsFrom[k].Expression)
		}
	}
	if spec.RetryStrategy != nil {
		v.retryStrategy(join(root, "retryStrategy"), spec.RetryStrategy)
	}
	v.synchronization(join(root, "synchronization"), spec.Synchronization)
	v.metrics(join(root, "metrics"), spec.Metrics)
	v.volumeNames(join(root, "volumes"), spec.Volumes)
	v.podSpecPatch(join(root, "podSpecPatch"), spec.PodSpecPatch)

	// Variables in the spec's own fields (not the templates).
	global := &refScope{global: true}
	v.walkStrings(spec, root, map[string]bool{"templates": true, "templateDefaults": true}, global)
	if spec.TemplateDefaults != nil {
		v.walkStrings(spec.TemplateDefaults, join(root, "templateDefaults"), nil, &refScope{syntaxOnly: true})
	}

	// The templates.
	seen := map[string]int{}
	for i := range spec.Templates {
		t := &spec.Templates[i]
		path := index(join(root, "templates"), i)
		switch t.Name {
		case "":
			v.add(join(path, "name"), "required: every template needs a name to be called by")
		default:
			if reason := fieldNameProblem(t.Name); reason != "" {
				v.add(join(path, "name"), "%q %s", t.Name, reason)
			}
			if j, dup := seen[t.Name]; dup {
				v.add(join(path, "name"), "%q is also the name of templates[%d]: template names must be unique", t.Name, j)
			} else {
				seen[t.Name] = i
			}
		}
		v.template(t, path, nil)
	}
}

// workflowArguments checks spec.arguments: names, values when required,
// enums. args are the arguments in force (merged with a
// workflowTemplateRef's).
func (v *validator) workflowArguments(path string, spec *argov1.WorkflowSpec, args argov1.Arguments, requireValues bool) {
	v.argumentNames(path, spec.Arguments)
	own := map[string]int{}
	for i, p := range spec.Arguments.Parameters {
		own[p.Name] = i
	}
	for _, p := range args.Parameters {
		ppath := join(path, "parameters")
		i, isOwn := own[p.Name]
		if isOwn {
			ppath = index(ppath, i)
		}
		from := ""
		if !isOwn {
			from = " (from " + v.localWhere + ")"
		}
		given, hasGiven := v.submitted[p.Name]
		if p.ValueFrom != nil {
			vf := p.ValueFrom
			if vf.Path != "" || vf.JSONPath != "" || vf.JQFilter != "" || vf.Parameter != "" || vf.Expression != "" {
				v.add(join(ppath, "valueFrom"), "a workflow argument takes its value from configMapKeyRef (with an optional default) or supplied only: path, jsonPath, jqFilter, parameter and expression are for outputs")
			} else if vf.ConfigMapKeyRef == nil && vf.Supplied == nil && vf.Event == "" && vf.Default == nil {
				v.add(join(ppath, "valueFrom"), "empty: set configMapKeyRef (name and key), or give the parameter a value instead")
			}
		}
		if requireValues && p.Value == nil && p.ValueFrom == nil && p.Default == nil && !hasGiven {
			if v.kind == KindCronWorkflow {
				v.add(ppath, "parameter %q%s has no value: a CronWorkflow submits its workflows without parameters, so give it a value", p.Name, from)
			} else {
				v.add(ppath, "parameter %q%s has no value: give it a value, or pass one with -p %s=VALUE", p.Name, from, p.Name)
			}
		}
		if p.Enum != nil {
			if len(p.Enum) == 0 && isOwn {
				v.add(join(ppath, "enum"), "empty: list the allowed values, or remove enum")
				continue
			}
			value, field := "", ""
			switch {
			case hasGiven:
				value, field = given, "-p "+p.Name
			case p.Value != nil:
				value, field = p.Value.String(), join(ppath, "value")
			case p.Default != nil:
				value, field = p.Default.String(), join(ppath, "default")
			default:
				continue
			}
			if !hasTag(value) && !inEnum(value, p.Enum) {
				where := ppath
				if !hasGiven && isOwn {
					where = field
				}
				v.add(where, "%q is not one of the allowed values (enum) of %q: %s", value, p.Name, enumList(p.Enum))
			}
		}
	}
	for i, a := range spec.Arguments.Artifacts {
		v.argumentArtifact(index(join(path, "artifacts"), i), a, true)
	}
}

func inEnum(value string, enum []argov1.AnyString) bool {
	for _, e := range enum {
		if string(e) == value {
			return true
		}
	}
	return false
}

func enumList(enum []argov1.AnyString) string {
	parts := make([]string, len(enum))
	for i, e := range enum {
		parts[i] = fmt.Sprintf("%q", string(e))
	}
	return strings.Join(parts, ", ")
}

// candidates lists the local template names for a message.
func (v *validator) candidates() string {
	if len(v.localNames) == 0 {
		return ""
	}
	return " (templates: " + strings.Join(v.localNames, ", ") + ")"
}

// localTemplate finds a template by name where names resolve, reporting a
// missing one at path. Nil when missing or not known.
func (v *validator) localTemplate(path, name string) *argov1.Template {
	if !v.localKnown || hasTag(name) {
		return nil
	}
	if t, ok := v.local[name]; ok {
		return t
	}
	reason := fmt.Sprintf("template %q not found in %s", name, v.localWhere)
	if s := suggest(name, v.localNames); s != "" {
		reason += fmt.Sprintf(": did you mean %q?", s)
	} else {
		reason += v.candidates()
	}
	v.add(path, "%s", reason)
	return nil
}

func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func hasTag(s string) bool { return strings.Contains(s, "{{") }
