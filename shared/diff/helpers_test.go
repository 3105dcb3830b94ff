package diff

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/argolite/argolite/shared/api/v1alpha1"
)

// obj decodes a YAML manifest as apimachinery decodes objects from the API
// server (integers as int64).
func obj(t testing.TB, manifest string) *unstructured.Unstructured {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(manifest))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return u
}

// toYAML renders an object for comparisons in failure messages.
func toYAML(t testing.TB, u *unstructured.Unstructured) string {
	t.Helper()
	if u == nil {
		return "<nil>"
	}
	out, err := yaml.Marshal(u.Object)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(out)
}

func ignorer(t testing.TB, rules ...v1alpha1.ResourceIgnoreDifferences) *Ignorer {
	t.Helper()
	ign, err := NewIgnorer(rules)
	if err != nil {
		t.Fatalf("NewIgnorer: %v", err)
	}
	return ign
}
