package workflow

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// holder is what refers to a template: the entrypoint, a step, a DAG task,
// a hook or an exit handler.
type holder struct {
	Name     string
	Template string
	Ref      *argov1.TemplateRef
	Inline   *argov1.Template
}

func stepHolder(s *argov1.WorkflowStep) holder {
	return holder{Name: s.Name, Template: s.Template, Ref: s.TemplateRef, Inline: s.Inline}
}

func taskHolder(t *argov1.DAGTask) holder {
	return holder{Name: t.Name, Template: t.Template, Ref: t.TemplateRef, Inline: t.Inline}
}

func hookHolder(name string, h *argov1.LifecycleHook) holder {
	return holder{Name: name, Template: h.Template, Ref: h.TemplateRef}
}

// scope is where template names resolve: the workflow's own templates, or
// those of the WorkflowTemplate or ClusterWorkflowTemplate a templateRef
// reached.
type scope struct {
	// Kind is "" for the workflow, "namespaced" or "cluster".
	Kind      string
	Name      string
	Templates []argov1.Template
}

// templateRef is how a node records its template.
type templateRef struct {
	Name  string
	Ref   *argov1.TemplateRef
	Scope string
}

func (s scope) label() string {
	if s.Kind == "" {
		return "local/"
	}
	return s.Kind + "/" + s.Name
}

// errTemplate marks specification errors: the workflow cannot run as written.
var errTemplate = errors.New("invalid template reference")

// resolve finds the template a holder refers to and the scope its own
// references resolve in.
func (o *operation) resolve(sc scope, h holder) (scope, *argov1.Template, templateRef, error) {
	switch {
	case h.Inline != nil:
		t := h.Inline.DeepCopy()
		if t.Name == "" {
			t.Name = h.Name
		}
		return sc, t, templateRef{Scope: sc.label()}, nil
	case h.Template != "":
		for i := range sc.Templates {
			if sc.Templates[i].Name == h.Template {
				return sc, sc.Templates[i].DeepCopy(), templateRef{Name: h.Template, Scope: sc.label()}, nil
			}
		}
		where := "the workflow"
		if sc.Kind != "" {
			where = fmt.Sprintf("%s %s", kindOfScope(sc.Kind), sc.Name)
		}
		return sc, nil, templateRef{}, fmt.Errorf("%w: template %q not found in %s", errTemplate, h.Template, where)
	case h.Ref != nil:
		next, err := o.templateScope(h.Ref.Name, h.Ref.ClusterScope)
		if err != nil {
			return sc, nil, templateRef{}, err
		}
		for i := range next.Templates {
			if next.Templates[i].Name == h.Ref.Template {
				return next, next.Templates[i].DeepCopy(), templateRef{Ref: h.Ref.DeepCopy(), Scope: next.label()}, nil
			}
		}
		return sc, nil, templateRef{}, fmt.Errorf("%w: template %q not found in %s %s", errTemplate, h.Ref.Template, kindOfScope(next.Kind), h.Ref.Name)
	}
	return sc, nil, templateRef{}, fmt.Errorf("%w: %q names no template, templateRef or inline template", errTemplate, h.Name)
}

func kindOfScope(kind string) string {
	if kind == "cluster" {
		return "ClusterWorkflowTemplate"
	}
	return "WorkflowTemplate"
}

// templateScope is a WorkflowTemplate's (or ClusterWorkflowTemplate's)
// templates as this workflow first saw them: read from the cache at first
// use and kept in status.storedTemplates (as Argo does), so editing the
// template does not change a running workflow.
func (o *operation) templateScope(name string, cluster bool) (scope, error) {
	kind := "namespaced"
	if cluster {
		kind = "cluster"
	}
	key := kind + "/" + name
	if s, ok := o.scopes[key]; ok {
		return s, nil
	}
	s := scope{Kind: kind, Name: name, Templates: o.storedTemplates(key)}
	if s.Templates == nil {
		spec, err := o.fetchTemplateSpec(name, cluster)
		if err != nil {
			return scope{}, err
		}
		s.Templates = spec.Templates
		if o.wf.Status.StoredTemplates == nil {
			o.wf.Status.StoredTemplates = map[string]argov1.Template{}
		}
		for _, t := range spec.Templates {
			o.wf.Status.StoredTemplates[key+"/"+t.Name] = *t.DeepCopy()
		}
	}
	o.scopes[key] = s
	return s, nil
}

// storedTemplates are the templates status.storedTemplates holds for a
// scope key (kind/name), in name order; nil when it holds none.
func (o *operation) storedTemplates(key string) []argov1.Template {
	var out []argov1.Template
	for k, t := range o.wf.Status.StoredTemplates {
		if strings.HasPrefix(k, key+"/") {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b argov1.Template) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// fetchTemplateSpec reads a WorkflowTemplate's or ClusterWorkflowTemplate's spec.
func (o *operation) fetchTemplateSpec(name string, cluster bool) (*argov1.WorkflowSpec, error) {
	var obj client.Object
	var spec *argov1.WorkflowSpec
	if cluster {
		t := &argov1.ClusterWorkflowTemplate{}
		obj, spec = t, &t.Spec
	} else {
		t := &argov1.WorkflowTemplate{}
		obj, spec = t, &t.Spec
	}
	key := client.ObjectKey{Name: name}
	if !cluster {
		key.Namespace = o.wf.Namespace
	}
	kind := kindOfScope(map[bool]string{true: "cluster", false: "namespaced"}[cluster])
	if err := o.r.Client.Get(o.ctx, key, obj); err != nil {
		if apierrors.IsNotFound(err) {
			where := ""
			if !cluster {
				where = " in namespace " + o.wf.Namespace
			}
			return nil, fmt.Errorf("%w: %s %q not found%s", errTemplate, kind, name, where)
		}
		return nil, fmt.Errorf("reading %s %s: %w", kind, name, err)
	}
	return spec, nil
}
