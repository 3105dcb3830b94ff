// Package appsource owns what an Application's sources turn into before
// they are applied: which sources render and at which revision, the
// destination namespace, owner labels, namespaces by scope, the split of
// hooks from resources, and the inventory ids. The agent and the plugin share
// it, so `kubectl argo app manifests` shows exactly what the agent applies.
package appsource

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// HookSkip is the hook type of objects that are never applied.
const HookSkip = "Skip"

// Sources returns the sources to render: an operation's source (a rollback)
// replaces the spec's, and an operation's revision replaces the first
// rendered source's targetRevision.
func Sources(app *argov1.Application, op *argov1.SyncOperation) []argov1.ApplicationSource {
	var out []argov1.ApplicationSource
	switch {
	case op != nil && op.Source != nil:
		out = []argov1.ApplicationSource{*op.Source.DeepCopy()}
	case app.Spec.Source != nil:
		out = []argov1.ApplicationSource{*app.Spec.Source.DeepCopy()}
	default:
		for _, s := range app.Spec.Sources {
			out = append(out, *s.DeepCopy())
		}
	}
	if op != nil && op.Revision != "" {
		for i := range out {
			if !RefOnly(out[i]) {
				out[i].TargetRevision = op.Revision
				break
			}
		}
	}
	return out
}

// RefOnly is a source that only lends Helm value files to the others.
func RefOnly(s argov1.ApplicationSource) bool { return s.Ref != "" && s.Path == "" }

// DestNamespace is where namespaced objects without a namespace go.
func DestNamespace(app *argov1.Application) string {
	if app.Spec.Destination.Namespace != "" {
		return app.Spec.Destination.Namespace
	}
	return app.Namespace
}

// Rendered is what an Application applies.
type Rendered struct {
	// Objects are the resources, labelled, with namespaces, sorted by ObjectID.
	Objects []*unstructured.Unstructured
	// Hooks are the hook objects in render order; Skip hooks are left out.
	Hooks []*unstructured.Unstructured
}

// UnknownKindError is a rendered object whose kind the cluster does not
// serve and no CRD in the same render defines.
type UnknownKindError struct {
	GVK  schema.GroupVersionKind
	Name string
	Err  error
}

func (e *UnknownKindError) Error() string {
	return fmt.Sprintf("%s %s: the cluster does not know kind %s in %s: install its CRD first, or add the CRD to this application (%v)",
		e.GVK.Kind, e.Name, e.GVK.Kind, e.GVK.GroupVersion(), e.Err)
}

func (e *UnknownKindError) Unwrap() error { return e.Err }

// DuplicateError is an object rendered twice.
type DuplicateError struct{ Object string }

func (e *DuplicateError) Error() string {
	return e.Object + " appears twice in the rendered manifests: remove one in Git"
}

// NoNameError is a resource (not a hook) rendered without metadata.name.
type NoNameError struct{ Object, GenerateName string }

func (e *NoNameError) Error() string {
	if e.GenerateName != "" {
		return fmt.Sprintf("%s has generateName %q but no name, and only hooks may use generateName: set metadata.name, or make it a hook with argocd.argoproj.io/hook or helm.sh/hook", e.Object, e.GenerateName)
	}
	return e.Object + " has no metadata.name: set one in Git"
}

// Prepare labels the rendered objects as the Application's, fills in
// namespaces by scope (a CRD in the same render makes its kind known before
// it is installed), splits hooks from resources and rejects duplicates and
// unknown kinds.
func Prepare(app *argov1.Application, objects []*unstructured.Unstructured, mapper meta.RESTMapper) (*Rendered, error) {
	crdScopes := map[schema.GroupKind]bool{} // namespaced?
	for _, o := range objects {
		if gk, namespaced, ok := CRDKind(o); ok {
			crdScopes[gk] = namespaced
		}
	}
	out := &Rendered{}
	seen := map[string]bool{}
	ns := DestNamespace(app)
	for _, o := range objects {
		gvk := o.GroupVersionKind()
		namespaced, ok := crdScopes[gvk.GroupKind()]
		if !ok {
			mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			switch {
			case meta.IsNoMatchError(err):
				return nil, &UnknownKindError{GVK: gvk, Name: o.GetName(), Err: err}
			case err != nil:
				return nil, fmt.Errorf("finding the scope of kind %s in %s: %w", gvk.Kind, gvk.GroupVersion(), err)
			}
			namespaced = mapping.Scope.Name() == meta.RESTScopeNameNamespace
		}
		if namespaced && o.GetNamespace() == "" {
			o.SetNamespace(ns)
		}
		if !namespaced {
			o.SetNamespace("")
		}
		id := ObjectID(o)
		if o.GetName() != "" && seen[id] {
			return nil, &DuplicateError{Object: Describe(o)}
		}
		seen[id] = true
		labels := o.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[argov1.LabelAppName] = app.Name
		labels[argov1.LabelAppNamespace] = app.Namespace
		o.SetLabels(labels)
		hook, isHook := HookOf(o)
		switch {
		case isHook && hook == HookSkip:
		case isHook:
			out.Hooks = append(out.Hooks, o)
		case o.GetName() == "":
			// Only hooks are created; resources are applied server-side, which
			// needs a name (the API server would answer "resource name may not
			// be empty").
			return nil, &NoNameError{Object: Describe(o), GenerateName: o.GetGenerateName()}
		default:
			out.Objects = append(out.Objects, o)
		}
	}
	sort.SliceStable(out.Objects, func(i, j int) bool { return ObjectID(out.Objects[i]) < ObjectID(out.Objects[j]) })
	return out, nil
}

// CRDKind is the group, kind and scope a CustomResourceDefinition defines.
func CRDKind(o *unstructured.Unstructured) (schema.GroupKind, bool, bool) {
	if o.GetKind() != "CustomResourceDefinition" || o.GroupVersionKind().Group != "apiextensions.k8s.io" {
		return schema.GroupKind{}, false, false
	}
	group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
	kind, _, _ := unstructured.NestedString(o.Object, "spec", "names", "kind")
	scope, _, _ := unstructured.NestedString(o.Object, "spec", "scope")
	return schema.GroupKind{Group: group, Kind: kind}, scope != "Cluster", true
}

// HookTypes lists every phase an object is a hook for (Argo CD's or
// argolite's hook annotation, comma separated).
func HookTypes(o *unstructured.Unstructured) []string {
	v, _ := argov1.Annotation(o.GetAnnotations(), argov1.AnnotationHook)
	var out []string
	for _, t := range strings.Split(v, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// HookOf returns an object's first hook type and whether it is a hook.
func HookOf(o *unstructured.Unstructured) (string, bool) {
	types := HookTypes(o)
	if len(types) == 0 {
		return "", false
	}
	return types[0], true
}

// ObjectID is Flux's inventory id: namespace_name_group_kind.
func ObjectID(o *unstructured.Unstructured) string {
	gvk := o.GroupVersionKind()
	return RefID(gvk.Group, gvk.Kind, o.GetNamespace(), o.GetName())
}

// RefID is the inventory id of an object named by its parts.
func RefID(group, kind, namespace, name string) string {
	return strings.Join([]string{namespace, name, group, kind}, "_")
}

// Describe names an object as users read it: Kind/namespace/name.
func Describe(o *unstructured.Unstructured) string {
	return DescribeRef(o.GroupVersionKind(), o.GetNamespace(), o.GetName())
}

// DescribeRef names an object by its parts as Describe does.
func DescribeRef(gvk schema.GroupVersionKind, namespace, name string) string {
	if namespace != "" {
		return fmt.Sprintf("%s/%s/%s", gvk.Kind, namespace, name)
	}
	return fmt.Sprintf("%s/%s", gvk.Kind, name)
}

// InventoryObject turns an inventory entry back into an object reference.
func InventoryObject(e argov1.InventoryEntry) (*unstructured.Unstructured, error) {
	parts := strings.Split(e.ID, "_")
	if len(parts) != 4 {
		return nil, fmt.Errorf("inventory id %q is not namespace_name_group_kind", e.ID)
	}
	o := &unstructured.Unstructured{}
	o.SetGroupVersionKind(schema.GroupVersionKind{Group: parts[2], Version: e.Version, Kind: parts[3]})
	o.SetNamespace(parts[0])
	o.SetName(parts[1])
	return o, nil
}

// Inventory builds the sorted inventory entries of objects.
func Inventory(objs []*unstructured.Unstructured) []argov1.InventoryEntry {
	out := make([]argov1.InventoryEntry, 0, len(objs))
	for _, o := range objs {
		out = append(out, argov1.InventoryEntry{ID: ObjectID(o), Version: o.GroupVersionKind().Version})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
