package events

import (
	"testing"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// TestFilters follows the cases of Argo Events' filter_data_test.go and
// filter_expr_test.go.
func TestFilters(t *testing.T) {
	payload := []byte(`{"body": {"action": "opened", "count": 3, "ok": true, "nothing": null, "text": "3.5"}}`)
	data := func(path, typ, cmp string, values ...string) argov1.DataFilter {
		return argov1.DataFilter{Path: path, Type: typ, Comparator: cmp, Value: values}
	}
	for _, tc := range []struct {
		name   string
		filter argov1.EventDependencyFilter
		op     string
		want   bool
	}{
		{"string equal", argov1.EventDependencyFilter{Data: []argov1.DataFilter{data("body.action", "string", "", "opened")}}, "", true},
		{"string regexp", argov1.EventDependencyFilter{Data: []argov1.DataFilter{data("body.action", "string", "", "^op.*$")}}, "", true},
		{"string one of", argov1.EventDependencyFilter{Data: []argov1.DataFilter{data("body.action", "string", "", "closed", "opened")}}, "", true},
		{"string not equal", argov1.EventDependencyFilter{Data: []argov1.DataFilter{data("body.action", "string", "!=", "opened")}}, "", false},
		{"number greater", argov1.EventDependencyFilter{Data: []argov1.DataFilter{data("body.count", "number", ">", "2")}}, "", true},
		{"number less or equal", argov1.EventDependencyFilter{Data: []argov1.DataFilter{data("body.count", "number", "<=", "2")}}, "", false},
		{"number from a string", argov1.EventDependencyFilter{Data: []argov1.DataFilter{data("body.text", "number", "=", "3.5")}}, "", true},
		{"bool", argov1.EventDependencyFilter{Data: []argov1.DataFilter{data("body.ok", "bool", "", "true")}}, "", true},
		{"null", argov1.EventDependencyFilter{Data: []argov1.DataFilter{data("body.nothing", "null", "", "null")}}, "", true},
		{"missing path never matches", argov1.EventDependencyFilter{Data: []argov1.DataFilter{data("body.gone", "string", "", ".*")}}, "", false},
		{"data and", argov1.EventDependencyFilter{Data: []argov1.DataFilter{data("body.action", "string", "", "opened"), data("body.count", "number", "", "4")}}, "", false},
		{"data or", argov1.EventDependencyFilter{DataLogicalOperator: "or", Data: []argov1.DataFilter{data("body.action", "string", "", "opened"), data("body.count", "number", "", "4")}}, "", true},
		{"expr", argov1.EventDependencyFilter{Exprs: []argov1.ExprFilter{{Expr: `a == "opened" && b > 2`, Fields: []argov1.PayloadField{{Name: "a", Path: "body.action"}, {Name: "b", Path: "body.count"}}}}}, "", true},
		{"expr with a missing field", argov1.EventDependencyFilter{Exprs: []argov1.ExprFilter{{Expr: `a == "x"`, Fields: []argov1.PayloadField{{Name: "a", Path: "body.gone"}}}}}, "", false},
		{"data and exprs, and", argov1.EventDependencyFilter{Data: []argov1.DataFilter{data("body.action", "string", "", "closed")},
			Exprs: []argov1.ExprFilter{{Expr: `b > 2`, Fields: []argov1.PayloadField{{Name: "b", Path: "body.count"}}}}}, "", false},
		{"data and exprs, or", argov1.EventDependencyFilter{Data: []argov1.DataFilter{data("body.action", "string", "", "closed")},
			Exprs: []argov1.ExprFilter{{Expr: `b > 2`, Fields: []argov1.PayloadField{{Name: "b", Path: "body.count"}}}}}, "or", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.filter
			cf, err := compileFilter(argov1.EventDependency{Name: "d", Filters: &f, FiltersLogicalOperator: tc.op}, "dep")
			if err != nil {
				t.Fatal(err)
			}
			got, err := cf.pass(payload)
			if err != nil || got != tc.want {
				t.Errorf("pass = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// TestApplyParams follows Argo's params_test.go: dataKey, dataTemplate,
// contextKey, the value default, append, and raw JSON.
func TestApplyParams(t *testing.T) {
	v := func(s string) *string { return &s }
	events := map[string]*Event{"dep": {Context: EventContext{ID: "1", Subject: "example", Source: "webhook"},
		Data: []byte(`{"body": {"name": "joe", "labels": {"a": "b"}, "n": 7}}`)}}
	doc := []byte(`{"metadata": {"name": "x-"}, "spec": {"arguments": {"parameters": [{"name": "message", "value": "hello"}]}}}`)
	params := []argov1.TriggerParameter{
		{Src: &argov1.TriggerParameterSource{DependencyName: "dep", DataKey: "body.name"}, Dest: "spec.arguments.parameters.0.value"},
		{Src: &argov1.TriggerParameterSource{DependencyName: "dep", DataTemplate: "{{ .Input.body.name | upper }}"}, Dest: "metadata.name", Operation: "append"},
		{Src: &argov1.TriggerParameterSource{DependencyName: "dep", DataKey: "body.labels"}, Dest: "metadata.labels"},
		{Src: &argov1.TriggerParameterSource{DependencyName: "dep", ContextKey: "subject"}, Dest: "metadata.annotations.event"},
		{Src: &argov1.TriggerParameterSource{DependencyName: "dep", DataKey: "body.missing", Value: v("fallback")}, Dest: "metadata.annotations.missing"},
		{Src: &argov1.TriggerParameterSource{DependencyName: "gone", Value: v("default")}, Dest: "metadata.annotations.gone"},
		{Src: &argov1.TriggerParameterSource{DependencyName: "dep", DataKey: "body.n"}, Dest: "metadata.annotations.n"},
	}
	out, err := applyParams(doc, params, events)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"metadata": {"name": "x-JOE","labels":{"a": "b"},"annotations":{"event":"example","missing":"fallback","gone":"default","n":7}}, "spec": {"arguments": {"parameters": [{"name": "message", "value": "joe"}]}}}`
	if string(out) != want {
		t.Errorf("applyParams =\n%s\nwant\n%s", out, want)
	}
	if _, err := applyParams(doc, []argov1.TriggerParameter{{Src: &argov1.TriggerParameterSource{DependencyName: "dep", DataKey: "body.missing"}, Dest: "x"}}, events); err == nil {
		t.Error("a missing key without a value passed")
	}
}
