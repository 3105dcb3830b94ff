package wfvalidate

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

var (
	// Argo's names of templates, steps and tasks.
	fieldNameRe = regexp.MustCompile(`^[a-zA-Z0-9][-a-zA-Z0-9]*$`)
	// Argo's names of parameters and artifacts.
	paramNameRe  = regexp.MustCompile(`^[-a-zA-Z0-9_]+$`)
	metricNameRe = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
)

const maxFieldName = 128

const noTemplateType = "no template type"

// fieldNameProblem says what is wrong with a template, step or task name,
// or "".
func fieldNameProblem(name string) string {
	if len(name) > maxFieldName {
		return fmt.Sprintf("is %d characters long: names have at most %d", len(name), maxFieldName)
	}
	if !fieldNameRe.MatchString(name) {
		return "is not a valid name: use letters, digits and '-', starting with a letter or digit (such as print-message)"
	}
	return ""
}

// ResolvedNames checks the parameter and artifact names of a template's
// outputs once the controller has substituted them: a name with a {{...}}
// tag passes validation (its value is not known until the template runs) and
// is checked here instead, as Argo's controller does.
func ResolvedNames(tmplName string, out argov1.Outputs) error {
	for _, p := range out.Parameters {
		if !paramNameRe.MatchString(p.Name) {
			return fmt.Errorf("template %s: outputs.parameters name %q (after substitution) is not a valid parameter name: use letters, digits, '_' and '-'", tmplName, p.Name)
		}
	}
	for _, a := range out.Artifacts {
		if !paramNameRe.MatchString(a.Name) {
			return fmt.Errorf("template %s: outputs.artifacts name %q (after substitution) is not a valid artifact name: use letters, digits, '_' and '-'", tmplName, a.Name)
		}
	}
	return nil
}

// templateTypes names the types a template has set.
func templateTypes(t *argov1.Template) []string {
	var types []string
	add := func(set bool, name string) {
		if set {
			types = append(types, name)
		}
	}
	add(t.Container != nil, "container")
	add(t.Script != nil, "script")
	add(t.ContainerSet != nil, "containerSet")
	add(t.Resource != nil, "resource")
	add(t.Steps != nil, "steps")
	add(t.DAG != nil, "dag")
	add(t.Suspend != nil, "suspend")
	add(t.Data != nil, "data")
	return types
}

// isPod reports whether a template runs as a Pod.
func isPod(t *argov1.Template) bool {
	return t.Container != nil || t.Script != nil || t.ContainerSet != nil || t.Resource != nil
}

// produces reports whether a template writes files for outputs (path).
func producesFiles(t *argov1.Template) bool {
	return t.Container != nil || t.Script != nil || t.ContainerSet != nil
}

func isComposite(t *argov1.Template) bool { return t.Steps != nil || t.DAG != nil }

// template checks one template (of spec.templates, or inline in a step or
// task, with outer the scope of that step or task).
func (v *validator) template(t *argov1.Template, path string, outer *refScope) {
	types := templateTypes(t)
	switch len(types) {
	case 0:
		v.add(path, "%s: set one of container, script, containerSet, resource, steps, dag, suspend or data", noTemplateType)
	case 1:
	default:
		v.add(path, "sets %s: a template has exactly one type, keep one of them", andList(types))
	}
	sc := templateScope(t, outer)

	// Inputs.
	inPath := join(path, "inputs")
	v.parameterNames(join(inPath, "parameters"), t.Inputs.Parameters)
	for i, p := range t.Inputs.Parameters {
		pp := index(join(inPath, "parameters"), i)
		if p.Enum != nil {
			if len(p.Enum) == 0 {
				v.add(join(pp, "enum"), "empty: list the allowed values, or remove enum")
			}
			for _, f := range []struct {
				name string
				val  *argov1.AnyString
			}{{"value", p.Value}, {"default", p.Default}} {
				if f.val != nil && len(p.Enum) > 0 && !hasTag(f.val.String()) && !inEnum(f.val.String(), p.Enum) {
					v.add(join(pp, f.name), "%q is not one of the allowed values (enum) of %q: %s", f.val.String(), p.Name, enumList(p.Enum))
				}
			}
		}
	}
	v.artifactNames(join(inPath, "artifacts"), t.Inputs.Artifacts)
	for i, a := range t.Inputs.Artifacts {
		ap := index(join(inPath, "artifacts"), i)
		if a.From != "" || a.FromExpression != "" {
			v.add(ap, "from and fromExpression are for arguments: an input artifact gets its value from the caller's arguments.artifacts (or from s3, http or raw here)")
		}
		if a.Path != "" && !producesFiles(t) && len(types) == 1 {
			v.add(join(ap, "path"), "only container, script and containerSet templates put artifacts at a path: remove path, and pass the artifact on in the arguments of a step or task")
		}
		v.artifactLocation(ap, a)
	}

	// Outputs.
	outPath := join(path, "outputs")
	v.parameterNames(join(outPath, "parameters"), t.Outputs.Parameters)
	for i, p := range t.Outputs.Parameters {
		v.outputParameter(index(join(outPath, "parameters"), i), t, p)
	}
	v.artifactNames(join(outPath, "artifacts"), t.Outputs.Artifacts)
	for i, a := range t.Outputs.Artifacts {
		ap := index(join(outPath, "artifacts"), i)
		if isComposite(t) && a.Path != "" {
			v.add(join(ap, "path"), "a steps or DAG template runs no Pod to take a file from: name the artifact of a step or task with from (such as {{steps.NAME.outputs.artifacts.ART}}) instead")
		}
		if a.From != "" && a.FromExpression != "" {
			v.add(ap, "set from or fromExpression, not both")
		}
		v.expression(join(ap, "fromExpression"), a.FromExpression)
		if a.GlobalName != "" && !hasTag(a.GlobalName) && !paramNameRe.MatchString(a.GlobalName) {
			v.add(join(ap, "globalName"), "%q is not a valid name: use letters, digits, '_' and '-'", a.GlobalName)
		}
		v.artifactLocation(ap, a)
	}

	// Fields that depend on the type.
	if t.ActiveDeadlineSeconds != nil {
		adPath := join(path, "activeDeadlineSeconds")
		if isComposite(t) {
			v.add(adPath, "only container, script, containerSet, resource and suspend templates take activeDeadlineSeconds: set it on the templates the steps or tasks call, or use timeout on the workflow")
		} else {
			v.positiveIntOrString(adPath, *t.ActiveDeadlineSeconds, "seconds the Pod may run")
		}
	}
	if t.Parallelism != nil {
		if !isComposite(t) && len(types) == 1 {
			v.add(join(path, "parallelism"), "only steps and DAG templates take parallelism (how many of their children run at once): remove it, or set spec.parallelism")
		} else if *t.Parallelism < 0 {
			v.add(join(path, "parallelism"), "must be 0 or more (0: no limit), not %d", *t.Parallelism)
		}
	}
	if t.Timeout != "" {
		tp := join(path, "timeout")
		if !isPod(t) && len(types) == 1 {
			v.add(tp, "only container, script, containerSet and resource templates take timeout: set it on the templates the steps or tasks call (or use activeDeadlineSeconds on the workflow)")
		} else if !hasTag(t.Timeout) {
			if _, err := strconv.Atoi(t.Timeout); err == nil {
				v.add(tp, "%q has no unit: write it as a duration such as %ss", t.Timeout, t.Timeout)
			} else if _, err := time.ParseDuration(t.Timeout); err != nil {
				v.add(tp, "%q is not a duration: write it like 30s, 5m or 1h30m", t.Timeout)
			}
		}
	}
	if t.Container != nil {
		if t.Container.Image == "" && !v.defaultImage(func(d *argov1.Template) bool { return d.Container != nil && d.Container.Image != "" }) {
			v.add(join(path, "container.image"), "required: the image the step runs (or set templateDefaults.container.image)")
		}
		v.mountPaths(join(path, "container"), t.Container.VolumeMounts, t.Inputs.Artifacts)
	}
	if t.Script != nil {
		if t.Script.Image == "" && !v.defaultImage(func(d *argov1.Template) bool { return d.Script != nil && d.Script.Image != "" }) {
			v.add(join(path, "script.image"), "required: the image that runs the script (or set templateDefaults.script.image)")
		}
	}
	if t.ContainerSet != nil {
		v.containerSet(join(path, "containerSet"), t)
	}
	if t.Resource != nil {
		v.resource(join(path, "resource"), t)
	}
	if t.Suspend != nil && t.Suspend.Duration != "" {
		v.duration(join(path, "suspend.duration"), t.Suspend.Duration, true)
	}
	if t.Data != nil {
		v.data(join(path, "data"), t)
	}
	for i, c := range t.InitContainers {
		if c.Name == "" {
			v.add(join(index(join(path, "initContainers"), i), "name"), "required: every init container needs a name")
		}
	}
	for i, c := range t.Sidecars {
		if c.Name == "" {
			v.add(join(index(join(path, "sidecars"), i), "name"), "required: every sidecar needs a name")
		}
	}
	if t.RetryStrategy != nil {
		v.retryStrategy(join(path, "retryStrategy"), t.RetryStrategy)
	}
	v.synchronization(join(path, "synchronization"), t.Synchronization)
	v.metrics(join(path, "metrics"), t.Metrics)
	v.volumeNames(join(path, "volumes"), t.Volumes)
	if m := t.Memoize; m != nil {
		mp := join(path, "memoize")
		if m.Key == "" {
			v.add(join(mp, "key"), "required: the cache key, usually made of the inputs (such as \"{{inputs.parameters.x}}\")")
		}
		if m.Cache == nil || m.Cache.ConfigMap == nil || m.Cache.ConfigMap.Name == "" {
			v.add(join(mp, "cache.configMap.name"), "required: the ConfigMap that keeps the cached outputs")
		}
		if m.MaxAge != "" {
			v.duration(join(mp, "maxAge"), m.MaxAge, false)
		}
	}
	v.podSpecPatch(join(path, "podSpecPatch"), t.PodSpecPatch)

	// Steps and tasks, then the variables of the template's own fields,
	// which see every step or task.
	all := sc.clone()
	skip := map[string]bool{}
	switch {
	case t.Steps != nil:
		steps := v.steps(t, path, sc)
		all.steps = &visibleSet{kind: "step", names: allNames(steps), all: steps, tmpl: sc.tmpl}
		skip["steps"] = true
	case t.DAG != nil:
		tasks := v.dag(t, path, sc)
		all.tasks = &visibleSet{kind: "task", names: allNames(tasks), all: tasks, tmpl: sc.tmpl}
		skip["dag"] = true
		v.walkStrings(t.DAG, join(path, "dag"), map[string]bool{"tasks": true}, all)
	}
	v.walkStrings(t, path, skip, all)
}

func allNames(m map[string]*callInfo) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

func andList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// defaultImage reports whether spec.templateDefaults provides an image.
func (v *validator) defaultImage(has func(*argov1.Template) bool) bool {
	return v.defaults != nil && has(v.defaults)
}

func (v *validator) mountPaths(path string, mounts []corev1.VolumeMount, inputs []argov1.Artifact) {
	seen := map[string]string{}
	for i, m := range mounts {
		if prev, dup := seen[m.MountPath]; dup && m.MountPath != "" {
			v.add(join(index(join(path, "volumeMounts"), i), "mountPath"), "%q is already mounted by %s: mount each path once", m.MountPath, prev)
		}
		seen[m.MountPath] = fmt.Sprintf("volumeMounts[%d]", i)
	}
	for _, a := range inputs {
		if prev, dup := seen[a.Path]; dup && a.Path != "" {
			v.add(join(path, "volumeMounts"), "input artifact %q goes to %q, which %s mounts too: use another path for one of them", a.Name, a.Path, prev)
		}
	}
}

func (v *validator) containerSet(path string, t *argov1.Template) {
	cs := t.ContainerSet
	if len(cs.Containers) == 0 {
		v.add(join(path, "containers"), "a container set needs at least one container")
		return
	}
	names := map[string]bool{}
	for i, c := range cs.Containers {
		cp := index(join(path, "containers"), i)
		switch {
		case c.Name == "":
			v.add(join(cp, "name"), "required: containers of a set are named, and depend on each other by name")
		case names[c.Name]:
			v.add(join(cp, "name"), "%q is used twice: container names must be unique", c.Name)
		}
		names[c.Name] = true
		if c.Image == "" {
			v.add(join(cp, "image"), "required: the image the container runs")
		}
	}
	deps := map[string][]string{}
	for i, c := range cs.Containers {
		for j, d := range c.Dependencies {
			if !names[d] {
				v.add(index(join(index(join(path, "containers"), i), "dependencies"), j), "container %q is not in this container set%s", d, didYouMean(d, keysOf(names)))
				continue
			}
			deps[c.Name] = append(deps[c.Name], d)
		}
	}
	order := make([]string, 0, len(cs.Containers))
	for _, c := range cs.Containers {
		order = append(order, c.Name)
	}
	for _, cycle := range findCycles(order, deps) {
		v.add(join(path, "containers"), "dependency cycle %s: remove one of these dependencies", strings.Join(cycle, " -> "))
	}
	if (len(t.Inputs.Artifacts) > 0 || len(t.Outputs.Parameters) > 0 || len(t.Outputs.Artifacts) > 0) && !names["main"] {
		v.add(join(path, "containers"), "a container set with input artifacts or outputs needs a container named \"main\", whose files they are")
	}
	if rs := cs.RetryStrategy; rs != nil {
		if rs.Duration != "" {
			v.duration(join(path, "retryStrategy.duration"), rs.Duration, true)
		}
		if rs.Retries != nil {
			v.nonNegativeIntOrString(join(path, "retryStrategy.retries"), *rs.Retries)
		}
	}
}

var resourceActions = []string{"get", "create", "apply", "delete", "replace", "patch"}

func (v *validator) resource(path string, t *argov1.Template) {
	r := t.Resource
	if !hasTag(r.Action) && !contains(resourceActions, r.Action) {
		if r.Action == "" {
			v.add(join(path, "action"), "required: one of %s", strings.Join(resourceActions, ", "))
		} else {
			v.add(join(path, "action"), "%q is not an action: use one of %s", r.Action, strings.Join(resourceActions, ", "))
		}
	}
	switch r.MergeStrategy {
	case "", "strategic", "merge", "json":
	default:
		v.add(join(path, "mergeStrategy"), "%q is not a merge strategy: use strategic, merge or json", r.MergeStrategy)
	}
	if r.Action != "delete" && r.Action != "get" {
		switch {
		case r.Manifest == "" && r.ManifestFrom == nil:
			v.add(path, "set manifest (the object, as YAML) or manifestFrom (an input artifact holding it)")
		case r.Manifest != "" && r.ManifestFrom != nil:
			v.add(path, "set manifest or manifestFrom, not both")
		}
	}
	if mf := r.ManifestFrom; mf != nil {
		if mf.Artifact == nil || mf.Artifact.Name == "" {
			v.add(join(path, "manifestFrom.artifact.name"), "required: the input artifact that holds the manifest")
		} else {
			found := false
			for _, a := range t.Inputs.Artifacts {
				found = found || a.Name == mf.Artifact.Name
			}
			if !found {
				v.add(join(path, "manifestFrom.artifact.name"), "%q is not an input artifact of this template: declare it under inputs.artifacts", mf.Artifact.Name)
			}
		}
	}
	if r.Manifest != "" {
		var obj any
		if err := yaml.Unmarshal([]byte(replaceTags(r.Manifest, "placeholder")), &obj); err != nil {
			v.add(join(path, "manifest"), "not valid YAML: %s", cleanYAMLError(err))
		} else if _, ok := obj.(map[string]any); !ok && !hasTag(r.Manifest) && r.Action != "patch" {
			v.add(join(path, "manifest"), "must be one Kubernetes object (a YAML mapping with apiVersion, kind and metadata)")
		}
	}
}

func (v *validator) podSpecPatch(path, patch string) {
	if strings.TrimSpace(patch) == "" {
		return
	}
	var obj any
	if err := yaml.Unmarshal([]byte(replaceTags(patch, "placeholder")), &obj); err != nil {
		v.add(path, "not valid YAML or JSON: %s", cleanYAMLError(err))
		return
	}
	if _, ok := obj.(map[string]any); !ok && !hasTag(patch) {
		v.add(path, "must be a patch of the Pod spec: a YAML or JSON object such as {\"containers\": [{\"name\": \"main\", ...}]}")
	}
}

// replaceTags replaces every {{...}} tag of s by with, reading tags as the
// agent does (a tag ends at the first "}}"), so YAML with tags in it can be
// checked before substitution.
func replaceTags(s, with string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.Index(s[i+2:], "}}")
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(with)
		s = s[i+2+j+2:]
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func keysOf(m map[string]bool) []string { return sortedKeys(m) }

func didYouMean(name string, candidates []string) string {
	if s := suggest(name, candidates); s != "" {
		return fmt.Sprintf(": did you mean %q?", s)
	}
	if len(candidates) > 0 && len(candidates) <= 15 {
		return " (" + strings.Join(candidates, ", ") + ")"
	}
	return ""
}

// outputParameter checks one output parameter, with Argo's rules of where
// each template type takes its outputs from.
func (v *validator) outputParameter(path string, t *argov1.Template, p argov1.Parameter) {
	if p.GlobalName != "" && !hasTag(p.GlobalName) && !paramNameRe.MatchString(p.GlobalName) {
		v.add(join(path, "globalName"), "%q is not a valid name: use letters, digits, '_' and '-'", p.GlobalName)
	}
	if p.Value != nil && p.ValueFrom != nil {
		v.add(path, "set value or valueFrom, not both")
		return
	}
	if p.Value != nil {
		return
	}
	vf := p.ValueFrom
	if vf == nil {
		v.add(path, "output parameter %q has no value: set valueFrom (path for a container or script, parameter or expression for steps and DAGs, supplied for suspend) or value", p.Name)
		return
	}
	var sources []string
	for _, s := range []struct {
		set  bool
		name string
	}{{vf.Path != "", "path"}, {vf.JSONPath != "", "jsonPath"}, {vf.JQFilter != "", "jqFilter"}, {vf.Parameter != "", "parameter"},
		{vf.Expression != "", "expression"}, {vf.Supplied != nil, "supplied"}, {vf.ConfigMapKeyRef != nil, "configMapKeyRef"}, {vf.Event != "", "event"}} {
		if s.set {
			sources = append(sources, s.name)
		}
	}
	vp := join(path, "valueFrom")
	if len(sources) > 1 {
		v.add(vp, "sets %s: choose one source", andList(sources))
		return
	}
	src := ""
	if len(sources) == 1 {
		src = sources[0]
	}
	types := templateTypes(t)
	switch {
	case src == "" && vf.Default == nil:
		v.add(vp, "empty: say where the value comes from (path, jsonPath, jqFilter, parameter, expression or supplied)")
	case len(types) != 1:
	case producesFiles(t) && src != "path":
		v.add(vp, "a %s template's output parameters are read from a file: set valueFrom.path (the file the step writes)%s", types[0], notSource(src))
	case t.Resource != nil && src != "jsonPath" && src != "jqFilter":
		v.add(vp, "a resource template's output parameters come from the object: set valueFrom.jsonPath or valueFrom.jqFilter%s", notSource(src))
	case isComposite(t) && src != "parameter" && src != "expression" && src != "":
		v.add(vp, "a steps or DAG template's output parameters come from its steps or tasks: set valueFrom.parameter (such as {{steps.NAME.outputs.parameters.P}}) or valueFrom.expression%s", notSource(src))
	}
	v.expression(join(vp, "expression"), vf.Expression)
}

func notSource(src string) string {
	if src == "" {
		return ""
	}
	return ", not " + src
}

func (v *validator) parameterNames(path string, params []argov1.Parameter) {
	seen := map[string]int{}
	for i, p := range params {
		np := join(index(path, i), "name")
		switch {
		case p.Name == "":
			v.add(np, "required: every parameter needs a name")
			continue
		case !hasTag(p.Name) && !paramNameRe.MatchString(p.Name):
			// A name with a {{...}} tag (result-{{inputs.parameters.v}}) is checked
			// once the controller has resolved it, as Argo does.
			v.add(np, "%q is not a valid parameter name: use letters, digits, '_' and '-'", p.Name)
		}
		if j, dup := seen[p.Name]; dup {
			v.add(np, "%q is also the name of %s: parameter names must be unique", p.Name, index(lastSegment(path), j))
		} else {
			seen[p.Name] = i
		}
	}
}

func (v *validator) artifactNames(path string, arts []argov1.Artifact) {
	seen := map[string]int{}
	for i, a := range arts {
		np := join(index(path, i), "name")
		switch {
		case a.Name == "":
			v.add(np, "required: every artifact needs a name")
			continue
		case !hasTag(a.Name) && !paramNameRe.MatchString(a.Name):
			// A name with a {{...}} tag (result-{{inputs.parameters.v}}) is checked
			// once the controller has resolved it, as Argo does.
			v.add(np, "%q is not a valid artifact name: use letters, digits, '_' and '-'", a.Name)
		}
		if j, dup := seen[a.Name]; dup {
			v.add(np, "%q is also the name of %s: artifact names must be unique", a.Name, index(lastSegment(path), j))
		} else {
			seen[a.Name] = i
		}
	}
}

func lastSegment(path string) string {
	if i := strings.LastIndex(path, "."); i >= 0 {
		return path[i+1:]
	}
	return path
}

// artifactLocation checks the parts of an artifact's location argolite reads.
func (v *validator) artifactLocation(path string, a argov1.Artifact) {
	if a.HTTP != nil && a.HTTP.URL == "" {
		v.add(join(path, "http.url"), "required: the URL to fetch the artifact from")
	}
	if a.Plugin != nil && a.Plugin.Name == "" {
		v.add(join(path, "plugin.name"), "required: the artifact driver, as configured in argolite-config")
	}
	if ar := a.Archive; ar != nil && ar.Tar != nil && ar.None != nil {
		v.add(join(path, "archive"), "set tar or none, not both")
	}
}

func (v *validator) retryStrategy(path string, rs *argov1.WorkflowRetryStrategy) {
	if rs.Limit != nil {
		v.nonNegativeIntOrString(join(path, "limit"), *rs.Limit)
	}
	switch rs.RetryPolicy {
	case "", argov1.RetryPolicyAlways, argov1.RetryPolicyOnFailure, argov1.RetryPolicyOnError, argov1.RetryPolicyOnTransientError:
	default:
		v.add(join(path, "retryPolicy"), "%q is not a retry policy: use Always, OnFailure, OnError or OnTransientError", rs.RetryPolicy)
	}
	if b := rs.Backoff; b != nil {
		bp := join(path, "backoff")
		for _, f := range []struct{ name, val string }{{"duration", b.Duration}, {"maxDuration", b.MaxDuration}, {"cap", b.Cap}} {
			if f.val != "" {
				v.duration(join(bp, f.name), f.val, true)
			}
		}
		if b.Factor != nil {
			v.nonNegativeIntOrString(join(bp, "factor"), *b.Factor)
		}
	}
	v.expression(join(path, "expression"), rs.Expression)
}

func (v *validator) synchronization(path string, s *argov1.Synchronization) {
	if s == nil {
		return
	}
	for i, m := range s.Mutexes {
		if m.Name == "" {
			v.add(join(index(join(path, "mutexes"), i), "name"), "required: the name of the lock")
		}
	}
	for i, sem := range s.Semaphores {
		sp := index(join(path, "semaphores"), i)
		switch {
		case sem.ConfigMapKeyRef == nil:
			v.add(join(sp, "configMapKeyRef"), "required: the ConfigMap key that holds the semaphore's limit")
		case sem.ConfigMapKeyRef.Name == "" || sem.ConfigMapKeyRef.Key == "":
			v.add(join(sp, "configMapKeyRef"), "set name and key: the ConfigMap key that holds the semaphore's limit")
		}
	}
}

func (v *validator) metrics(path string, m *argov1.Metrics) {
	if m == nil {
		return
	}
	for i, p := range m.Prometheus {
		if p == nil {
			continue
		}
		mp := index(join(path, "prometheus"), i)
		if !metricNameRe.MatchString(p.Name) {
			v.add(join(mp, "name"), "%q is not a metric name: use letters, digits and '_' (such as duration_seconds)", p.Name)
		}
		if p.Help == "" {
			v.add(join(mp, "help"), "required: a description of the metric")
		}
		var kinds []string
		if p.Gauge != nil {
			kinds = append(kinds, "gauge")
		}
		if p.Histogram != nil {
			kinds = append(kinds, "histogram")
		}
		if p.Counter != nil {
			kinds = append(kinds, "counter")
		}
		switch len(kinds) {
		case 0:
			v.add(mp, "set one of gauge, histogram or counter")
		case 1:
		default:
			v.add(mp, "sets %s: a metric is one of them", andList(kinds))
		}
		if p.Histogram != nil && len(p.Histogram.Buckets) == 0 {
			v.add(join(mp, "histogram.buckets"), "required: the upper bounds of the buckets")
		}
	}
}

func (v *validator) volumeNames(path string, vols []corev1.Volume) {
	seen := map[string]bool{}
	for i, vol := range vols {
		np := join(index(path, i), "name")
		switch {
		case vol.Name == "":
			v.add(np, "required: volume mounts refer to volumes by name")
		case seen[vol.Name]:
			v.add(np, "%q is used twice: volume names must be unique", vol.Name)
		}
		seen[vol.Name] = true
	}
}
