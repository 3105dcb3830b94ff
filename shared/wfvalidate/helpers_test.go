package wfvalidate

import (
	"fmt"
	"strings"
	"testing"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// indent indents every line of s by n spaces.
func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// workflowYAML is a Workflow (in Argo's apiVersion) with spec.
func workflowYAML(spec string) string {
	return "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  generateName: test-\nspec:\n" + indent(spec, 2)
}

func objectYAML(kind, spec string) string {
	return fmt.Sprintf("apiVersion: argolite.dev/v1alpha1\nkind: %s\nmetadata:\n  name: test\nspec:\n", kind) + indent(spec, 2)
}

// decodeOne decodes a file of one document that must decode cleanly.
func decodeOne(t *testing.T, y string) *Document {
	t.Helper()
	docs, err := DecodeFile("test.yaml", []byte(y))
	if err != nil {
		t.Fatalf("decoding:\n%v\n---\n%s", err, y)
	}
	if len(docs) != 1 {
		t.Fatalf("%d documents, want 1", len(docs))
	}
	return &docs[0]
}

// lookupOf serves the given WorkflowTemplates (cluster false) and
// ClusterWorkflowTemplates (cluster true), written as YAML specs.
func lookupOf(t *testing.T, namespaced, cluster map[string]string) func(string, bool) (*argov1.WorkflowSpec, error) {
	t.Helper()
	specs := map[lookupKey]*argov1.WorkflowSpec{}
	for name, spec := range namespaced {
		doc := decodeOne(t, objectYAML(KindWorkflowTemplate, spec))
		specs[lookupKey{name, false}] = &doc.Object.(*argov1.WorkflowTemplate).Spec
	}
	for name, spec := range cluster {
		doc := decodeOne(t, objectYAML(KindClusterWorkflowTemplate, spec))
		specs[lookupKey{name, true}] = &doc.Object.(*argov1.ClusterWorkflowTemplate).Spec
	}
	return func(name string, c bool) (*argov1.WorkflowSpec, error) {
		if s, ok := specs[lookupKey{name, c}]; ok {
			return s, nil
		}
		return nil, fmt.Errorf("not found in namespace default")
	}
}

// want is an expected fault: its exact path, and a part of its reason.
type want struct {
	path   string
	reason string
}

// expectErrors checks that errs holds exactly the wanted faults (each
// matched by path and reason fragment), reporting the rest.
func expectErrors(t *testing.T, errs Errors, wants ...want) {
	t.Helper()
	used := make([]bool, len(errs))
	for _, w := range wants {
		found := false
		for i, e := range errs {
			if !used[i] && e.Path == w.path && strings.Contains(e.Reason, w.reason) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("missing fault %s: ...%s...", w.path, w.reason)
		}
	}
	for i, e := range errs {
		if !used[i] {
			t.Errorf("unexpected fault %v", e)
		}
	}
}
