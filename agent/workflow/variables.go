package workflow

import (
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/expr"
	"github.com/argolite/argolite/shared/wfnames"
	"github.com/argolite/argolite/shared/wfvalidate"
)

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
	if err := wfvalidate.ResolvedNames(t.Name, out.Outputs); err != nil {
		return nil, specError("%v", err)
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
