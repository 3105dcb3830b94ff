package analysis

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// RunOptions are what NewRunFromTemplates puts on the run besides the
// templates' metrics and the arguments.
type RunOptions struct {
	// Name, or GenerateName when Name is empty.
	Name, GenerateName string
	Labels             map[string]string
	Annotations        map[string]string
	// DryRun and MeasurementRetention are the caller's (a Rollout's
	// analysis step), merged with the templates'.
	DryRun               []argov1.DryRun
	MeasurementRetention []argov1.MeasurementRetention
	// Owner becomes the run's controller owner reference (the Rollout).
	Owner *metav1.OwnerReference
}

// NewRunFromTemplates builds the AnalysisRun that refs describe in
// namespace, as Argo's NewAnalysisRunFromTemplates: it reads the
// AnalysisTemplates (in namespace) and ClusterAnalysisTemplates the refs
// name, and the templates those name in turn (spec.templates), each once;
// joins their metrics (a name twice is an error), args (one arg in two
// templates must agree on its value), dryRun and measurementRetention; and
// sets args from the caller's (by name; a name no template declares is
// ignored, as in Argo). An arg left with neither value nor valueFrom is an
// error naming it. The run is returned, not created.
//
// The caller resolves what only it knows first: a Rollout turns its
// AnalysisRunArguments (podTemplateHashValue, fieldRef) into args with a
// value.
func NewRunFromTemplates(ctx context.Context, c client.Reader, namespace string, refs []argov1.AnalysisTemplateRef, args []argov1.Argument, o RunOptions) (*argov1.AnalysisRun, error) {
	specs, err := templateSpecs(ctx, c, namespace, refs, map[string]bool{})
	if err != nil {
		return nil, err
	}
	var flat argov1.AnalysisTemplateSpec
	metricNames := map[string]bool{}
	for _, s := range specs {
		for _, m := range s.spec.Metrics {
			if metricNames[m.Name] {
				return nil, fmt.Errorf("two metrics have the same name %q (in %s): rename one", m.Name, s.from)
			}
			metricNames[m.Name] = true
			flat.Metrics = append(flat.Metrics, m)
		}
		for _, a := range s.spec.Args {
			if err := appendArg(&flat.Args, a, s.from); err != nil {
				return nil, err
			}
		}
		flat.DryRun = append(flat.DryRun, s.spec.DryRun...)
		flat.MeasurementRetention = append(flat.MeasurementRetention, s.spec.MeasurementRetention...)
	}
	merged, err := mergeArgs(args, flat.Args)
	if err != nil {
		return nil, err
	}
	dryRun := append(append([]argov1.DryRun(nil), o.DryRun...), flat.DryRun...)
	if err := uniqueRules("dryRun", dryRunNames(dryRun)); err != nil {
		return nil, err
	}
	retention := append(append([]argov1.MeasurementRetention(nil), o.MeasurementRetention...), flat.MeasurementRetention...)
	if err := uniqueRules("measurementRetention", retentionNames(retention)); err != nil {
		return nil, err
	}
	run := &argov1.AnalysisRun{
		TypeMeta: metav1.TypeMeta{APIVersion: argov1.GroupVersion.String(), Kind: kindRun},
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, GenerateName: o.GenerateName, Namespace: namespace,
			Labels: o.Labels, Annotations: o.Annotations},
		Spec: argov1.AnalysisRunSpec{Metrics: flat.Metrics, Args: merged, DryRun: dryRun, MeasurementRetention: retention},
	}
	if o.Owner != nil {
		run.OwnerReferences = []metav1.OwnerReference{*o.Owner}
	}
	return run, nil
}

type namedSpec struct {
	from string
	spec argov1.AnalysisTemplateSpec
}

// templateSpecs reads the templates refs name, depth first, each once
// (seen also stops a cycle of templates naming each other).
func templateSpecs(ctx context.Context, c client.Reader, namespace string, refs []argov1.AnalysisTemplateRef, seen map[string]bool) ([]namedSpec, error) {
	var out []namedSpec
	for i, ref := range refs {
		if ref.TemplateName == "" {
			return nil, fmt.Errorf("templates[%d].templateName: required", i)
		}
		var obj client.Object
		var spec *argov1.AnalysisTemplateSpec
		key := types.NamespacedName{Name: ref.TemplateName}
		kind := "ClusterAnalysisTemplate"
		if ref.IsClusterScope() {
			t := &argov1.ClusterAnalysisTemplate{}
			obj, spec = t, &t.Spec
		} else {
			t := &argov1.AnalysisTemplate{}
			obj, spec, key.Namespace, kind = t, &t.Spec, namespace, "AnalysisTemplate"
		}
		id := kind + " " + key.String()
		if seen[id] {
			continue
		}
		seen[id] = true
		if err := c.Get(ctx, key, obj); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("%s not found: create it, or fix templateName (clusterScope: true looks among ClusterAnalysisTemplates)", id)
			}
			return nil, fmt.Errorf("reading %s: %w", id, err)
		}
		out = append(out, namedSpec{from: id, spec: *spec})
		if len(spec.Templates) > 0 {
			inner, err := templateSpecs(ctx, c, namespace, spec.Templates, seen)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", id, err)
			}
			out = append(out, inner...)
		}
	}
	return out, nil
}

// appendArg adds a template's arg, as Argo's flattenArgs: the same arg in
// two templates must not have two values, and a value wins over none.
func appendArg(args *[]argov1.Argument, a argov1.Argument, from string) error {
	for i, prev := range *args {
		if prev.Name != a.Name {
			continue
		}
		if prev.Value != nil && a.Value != nil && *prev.Value != *a.Value {
			return fmt.Errorf("argument %q specified multiple times with different values: %q, %q (in %s)", a.Name, *prev.Value, *a.Value, from)
		}
		if prev.Value == nil {
			(*args)[i] = a
		}
		return nil
	}
	*args = append(*args, a)
	return nil
}

// mergeArgs sets the templates' args from the caller's, as Argo's
// MergeArgs, and fails on an arg that still has no value.
func mergeArgs(incoming, template []argov1.Argument) ([]argov1.Argument, error) {
	out := make([]argov1.Argument, len(template))
	for i := range template {
		out[i] = *template[i].DeepCopy()
	}
	for _, a := range incoming {
		for i := range out {
			if out[i].Name != a.Name {
				continue
			}
			if a.Value != nil {
				out[i].Value, out[i].ValueFrom = a.Value, nil
			} else if a.ValueFrom != nil {
				out[i].ValueFrom = a.ValueFrom
			}
		}
	}
	for _, a := range out {
		if a.Value == nil && a.ValueFrom == nil {
			return nil, fmt.Errorf("args.%s was not resolved: the template declares it without a value, so pass it in the analysis's args", a.Name)
		}
	}
	return out, nil
}

func uniqueRules(field string, names []string) error {
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			return fmt.Errorf("%s: two rules have the same metricName %q", field, n)
		}
		seen[n] = true
	}
	return nil
}

// Terminate asks a run to stop (spec.terminate), as Argo's TerminateRun:
// the controller ends measurements in flight and completes the run.
func Terminate(ctx context.Context, c client.Client, run *argov1.AnalysisRun) error {
	patch := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"terminate":true}}`))
	if err := c.Patch(ctx, run, patch); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("terminating AnalysisRun %s/%s: %w", run.Namespace, run.Name, err)
	}
	return nil
}
