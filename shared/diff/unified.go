package diff

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/fluxcd/pkg/ssa"
	"github.com/pmezard/go-difflib/difflib"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// ANSI colours of the diff lines, as git and kubectl diff use them.
const (
	ansiBold  = "\x1b[1m"
	ansiRed   = "\x1b[31m"
	ansiGreen = "\x1b[32m"
	ansiCyan  = "\x1b[36m"
	ansiReset = "\x1b[0m"
)

// Unified renders a unified diff (3 lines of context) of live and desired as
// YAML, under headers such as "--- live/apps/v1/Deployment/ns/web" and
// "+++ desired/apps/v1/Deployment/ns/web". A nil object is an empty file.
// With colour, headers are bold, removed lines red, added lines green and
// hunk headers cyan. The values under data and stringData of a Secret are
// masked as Flux's ssa package masks them ("***" when both sides agree,
// "*** (before)" and "*** (after)" when they differ) and its
// last-applied-configuration annotation, which holds the values, is left out.
// Unified returns "" when the two render the same. Pass the normalized
// objects of a Result.
func Unified(live, desired *unstructured.Unstructured, colour bool) string {
	if live == nil && desired == nil {
		return ""
	}
	id := live
	if id == nil {
		id = desired
	}
	live, desired = copyOrNil(live), copyOrNil(desired)
	if isSecret(id) {
		maskSecrets(live, desired)
	}
	a, b := render(live), render(desired)
	if a == b {
		return ""
	}
	name := resourcePath(id)
	text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A:        splitLines(a),
		B:        splitLines(b),
		FromFile: "live/" + name,
		ToFile:   "desired/" + name,
		Context:  3,
	})
	if err != nil { // difflib only fails writing to its own buffer
		return fmt.Sprintf("--- live/%s\n+++ desired/%s\n# cannot render the diff: %v\n", name, name, err)
	}
	if !colour {
		return text
	}
	return colourize(text)
}

func copyOrNil(u *unstructured.Unstructured) *unstructured.Unstructured {
	if u == nil {
		return nil
	}
	m, _ := deepCopy(u.Object).(map[string]any)
	return &unstructured.Unstructured{Object: m}
}

func isSecret(u *unstructured.Unstructured) bool {
	gvk := u.GroupVersionKind()
	return gvk.Group == "" && gvk.Kind == "Secret"
}

// maskSecrets replaces Secret values with Flux's masks in place; either
// object may be nil.
func maskSecrets(live, desired *unstructured.Unstructured) {
	for _, u := range []*unstructured.Unstructured{live, desired} {
		if u == nil {
			continue
		}
		if ann := u.GetAnnotations(); ann != nil {
			if _, ok := ann["kubectl.kubernetes.io/last-applied-configuration"]; ok {
				delete(ann, "kubectl.kubernetes.io/last-applied-configuration")
				if len(ann) == 0 {
					ann = nil
				}
				u.SetAnnotations(ann)
			}
		}
	}
	for _, field := range []string{"data", "stringData"} {
		// ssa.SanitizeUnstructuredData masks "data"; stringData goes through
		// it under that name so both get the same masks.
		a, b := dataOnly(live, field), dataOnly(desired, field)
		if a == nil && b == nil {
			continue
		}
		if err := ssa.SanitizeUnstructuredData(a, b); err != nil {
			// Never print values that could not be masked.
			a, b = dropData(a), dropData(b)
		}
		putData(live, a, field)
		putData(desired, b, field)
	}
}

// dataOnly returns {data: u[field]} with every value a string (others are
// JSON-encoded, so masking compares them safely), or nil when u has no such map.
func dataOnly(u *unstructured.Unstructured, field string) *unstructured.Unstructured {
	if u == nil {
		return nil
	}
	m, ok := u.Object[field].(map[string]any)
	if !ok {
		if _, present := u.Object[field]; present {
			// Not a map: hide it whole.
			return &unstructured.Unstructured{Object: map[string]any{"data": map[string]any{"(value)": "not a map"}}}
		}
		return nil
	}
	data := make(map[string]any, len(m))
	for k, v := range m {
		if s, ok := v.(string); ok {
			data[k] = s
			continue
		}
		j, _ := json.Marshal(v)
		data[k] = string(j)
	}
	return &unstructured.Unstructured{Object: map[string]any{"data": data}}
}

func dropData(u *unstructured.Unstructured) *unstructured.Unstructured {
	if u == nil {
		return nil
	}
	return &unstructured.Unstructured{Object: map[string]any{"data": map[string]any{}}}
}

func putData(u, masked *unstructured.Unstructured, field string) {
	if u == nil || masked == nil {
		return
	}
	if _, ok := u.Object[field]; ok {
		u.Object[field] = masked.Object["data"]
	}
}

// render marshals u as YAML; nil is the empty file.
func render(u *unstructured.Unstructured) string {
	if u == nil {
		return ""
	}
	out, err := yaml.Marshal(u.Object)
	if err != nil {
		return fmt.Sprintf("# cannot render as YAML: %v\n", err)
	}
	return string(out)
}

// resourcePath names an object in diff headers: apps/v1/Deployment/ns/web,
// v1/Namespace/web for cluster-scoped objects.
func resourcePath(u *unstructured.Unstructured) string {
	parts := []string{u.GetAPIVersion(), u.GetKind()}
	if ns := u.GetNamespace(); ns != "" {
		parts = append(parts, ns)
	}
	return strings.Join(append(parts, u.GetName()), "/")
}

// splitLines splits s after each newline; the empty string has no lines.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	} else {
		lines[len(lines)-1] += "\n"
	}
	return lines
}

func colourize(text string) string {
	var b strings.Builder
	b.Grow(len(text) + len(text)/4)
	for n, line := range splitLines(text) {
		body := strings.TrimSuffix(line, "\n")
		var c string
		switch {
		case n < 2 && (strings.HasPrefix(body, "--- ") || strings.HasPrefix(body, "+++ ")):
			c = ansiBold
		case strings.HasPrefix(body, "@@"):
			c = ansiCyan
		case strings.HasPrefix(body, "-"):
			c = ansiRed
		case strings.HasPrefix(body, "+"):
			c = ansiGreen
		}
		if c == "" {
			b.WriteString(line)
			continue
		}
		b.WriteString(c)
		b.WriteString(body)
		b.WriteString(ansiReset)
		b.WriteString("\n")
	}
	return b.String()
}
