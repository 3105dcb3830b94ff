package diff

import (
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// noiseMetadata are metadata fields the API server and controllers set:
// never drift.
var noiseMetadata = []string{
	"managedFields", "resourceVersion", "uid", "generation", "creationTimestamp",
	"selfLink", "deletionTimestamp", "deletionGracePeriodSeconds",
}

// noiseAnnotations are annotations tools and controllers write: never drift.
var noiseAnnotations = []string{
	"kubectl.kubernetes.io/last-applied-configuration",
	"deprecated.daemonset.template.generation",
}

// Normalize returns a copy of obj without the fields that never count as
// drift (the metadata the server sets, kubectl's last-applied annotation,
// the DaemonSet generation annotation, and status, which Argo CD ignores by
// default), then with ign's ignored fields removed; ign nil ignores nothing.
// managedFieldsManagers rules read the managedFields of managedFieldsFrom,
// or of obj when it is nil. A nil obj gives nil.
func Normalize(obj *unstructured.Unstructured, ign *Ignorer, managedFieldsFrom *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	if obj == nil {
		return nil, nil
	}
	if managedFieldsFrom == nil {
		managedFieldsFrom = obj
	}
	return normalize(obj, ign, &managedCache{from: managedFieldsFrom})
}

func normalize(obj *unstructured.Unstructured, ign *Ignorer, mf *managedCache) (*unstructured.Unstructured, error) {
	out := &unstructured.Unstructured{Object: copyWithoutNoise(obj.Object)}
	paths, err := ign.paths(out, out, mf)
	if err != nil {
		return nil, err
	}
	removeAll(out.Object, paths)
	return out, nil
}

// copyWithoutNoise deep-copies obj, leaving out status and the noise in
// metadata without copying them first.
func copyWithoutNoise(obj map[string]any) map[string]any {
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		switch k {
		case "status":
			continue
		case "metadata":
			if meta, ok := v.(map[string]any); ok {
				out[k] = copyMetadata(meta)
				continue
			}
		}
		out[k] = deepCopy(v)
	}
	return out
}

func copyMetadata(meta map[string]any) map[string]any {
	out := make(map[string]any, len(meta))
	for k, v := range meta {
		if slices.Contains(noiseMetadata, k) {
			continue
		}
		if ann, ok := v.(map[string]any); ok && k == "annotations" {
			kept := make(map[string]any, len(ann))
			for a, av := range ann {
				if !slices.Contains(noiseAnnotations, a) {
					kept[a] = deepCopy(av)
				}
			}
			if len(kept) > 0 {
				out[k] = kept
			}
			continue
		}
		out[k] = deepCopy(v)
	}
	return out
}
