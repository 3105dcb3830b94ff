package exec

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/itchyny/gojq"
	"github.com/tidwall/gjson"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/jsonpath"
)

// parseConditions parses successCondition and failureCondition with Argo's
// syntax: label-selector requirements whose keys are JSON paths, such as
// "status.succeeded > 2" or "status.phase in (Failed, Error)", joined by
// commas (all must hold).
func parseConditions(success, failure string) (succ, fail labels.Requirements, err error) {
	parse := func(field, cond string) (labels.Requirements, error) {
		if strings.TrimSpace(cond) == "" {
			return nil, nil
		}
		sel, err := labels.Parse(cond)
		if err != nil {
			return nil, fmt.Errorf("%s %q does not parse: %v (write comma-separated requirements on JSON paths, "+
				"such as \"status.succeeded > 0\" or \"status.phase in (Failed, Error)\")", field, cond, err)
		}
		reqs, _ := sel.Requirements()
		return reqs, nil
	}
	if succ, err = parse("successCondition", success); err != nil {
		return nil, nil, err
	}
	if fail, err = parse("failureCondition", failure); err != nil {
		return nil, nil, err
	}
	return succ, fail, nil
}

// jsonLabels shows a JSON document as labels: a key is a gjson path.
type jsonLabels []byte

func (j jsonLabels) Has(key string) bool   { return gjson.GetBytes(j, key).Exists() }
func (j jsonLabels) Get(key string) string { return gjson.GetBytes(j, key).String() }
func (j jsonLabels) Lookup(key string) (string, bool) {
	r := gjson.GetBytes(j, key)
	return r.String(), r.Exists()
}

// matchConditions is Argo's check: any failure requirement that holds is
// an error; the object is done when every success requirement holds (so,
// as in Argo, at once when only a failure condition is given).
func matchConditions(data []byte, succ, fail labels.Requirements) (bool, error) {
	ls := jsonLabels(data)
	for _, r := range fail {
		if r.Matches(ls) {
			return false, fmt.Errorf("failure condition %q holds", r.String())
		}
	}
	for _, r := range succ {
		if !r.Matches(ls) {
			return false, nil
		}
	}
	return true, nil
}

// resourceParameters reads output parameters from obj as `kubectl get -o
// jsonpath=...` (missing keys give "") or `kubectl get -o json | jq`
// would, without managedFields, which kubectl hides. A parameter whose
// expression fails takes its default when it has one.
func resourceParameters(ctx context.Context, obj *unstructured.Unstructured, params []ResourceParameter) ([]ParameterValue, error) {
	obj = obj.DeepCopy()
	unstructured.RemoveNestedField(obj.Object, "metadata", "managedFields")
	var out []ParameterValue
	for _, p := range params {
		var (
			v   string
			err error
		)
		switch {
		case p.JSONPath != "":
			v, err = evalJSONPath(obj.Object, p.JSONPath)
		case p.JQFilter != "":
			var data []byte
			if data, err = json.Marshal(obj.Object); err == nil {
				v, err = evalJQ(ctx, data, p.JQFilter)
			}
		default:
			err = fmt.Errorf("it needs valueFrom.jsonPath or valueFrom.jqFilter")
		}
		if err != nil {
			if p.Default != nil {
				v = *p.Default
			} else {
				return out, fmt.Errorf("output parameter %q: %w", p.Name, err)
			}
		}
		out = append(out, ParameterValue{Name: p.Name, Value: v})
	}
	return out, nil
}

// evalJSONPath runs a kubectl JSONPath template ("{.metadata.name}").
func evalJSONPath(obj map[string]any, tmpl string) (string, error) {
	jp := jsonpath.New("jsonPath")
	jp.AllowMissingKeys(true)
	if err := jp.Parse(tmpl); err != nil {
		return "", fmt.Errorf("jsonPath %q does not parse: %w (write it as kubectl does, e.g. '{.metadata.name}')", tmpl, err)
	}
	var buf bytes.Buffer
	if err := jp.Execute(&buf, obj); err != nil {
		return "", fmt.Errorf("jsonPath %q: %w", tmpl, err)
	}
	return buf.String(), nil
}

// evalJQ runs a jq filter like Argo: strings raw, other values as compact
// JSON, one per line, surrounding space trimmed.
func evalJQ(ctx context.Context, data []byte, filter string) (string, error) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return "", err
	}
	q, err := gojq.Parse(filter)
	if err != nil {
		return "", fmt.Errorf("jqFilter %q does not parse: %w", filter, err)
	}
	iter := q.RunWithContext(ctx, v)
	var buf strings.Builder
	for {
		x, ok := iter.Next()
		if !ok {
			break
		}
		if err, ok := x.(error); ok {
			return "", fmt.Errorf("jqFilter %q: %w", filter, err)
		}
		if s, ok := x.(string); ok {
			buf.WriteString(s)
		} else {
			b, err := json.Marshal(x)
			if err != nil {
				return "", err
			}
			buf.Write(b)
		}
		buf.WriteString("\n")
	}
	return strings.TrimSpace(buf.String()), nil
}
