package expr

import (
	"reflect"
	"testing"
)

// Argo's util/expand TestExpand, and the cases Argo leaves to map order.
func TestExpand(t *testing.T) {
	before := map[string]any{
		"a.b":   1,
		"a.c.d": 2,
		"a":     3, // dropped: a parent of a.b
		"ab":    4,
		"abb":   5,
	}
	want := map[string]any{
		"a":   map[string]any{"b": 1, "c": map[string]any{"d": 2}},
		"ab":  4,
		"abb": 5,
	}
	for i := 0; i < 20; i++ {
		if got := expand(before); !reflect.DeepEqual(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if len(before) != 5 {
		t.Error("expand changed its input")
	}
	tests := []struct {
		in, want map[string]any
	}{
		{map[string]any{}, map[string]any{}},
		{map[string]any{"a": 1, "a-x": 2, "a.b": 3}, map[string]any{"a-x": 2, "a": map[string]any{"b": 3}}},
		{map[string]any{"a..b": 1}, map[string]any{"a": map[string]any{"": map[string]any{"b": 1}}}},
		{map[string]any{"a.": 1}, map[string]any{"a": map[string]any{"": 1}}},
		{map[string]any{"steps.flip-coin.outputs.result": "heads", "steps.flip-coin.id": "x"},
			map[string]any{"steps": map[string]any{"flip-coin": map[string]any{"id": "x", "outputs": map[string]any{"result": "heads"}}}}},
	}
	for _, tt := range tests {
		if got := expand(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("expand(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// Argo's expression_asint_test.go Test_hasVarInEnv.
func TestHasVarInEnv(t *testing.T) {
	type inner struct{ Value string }
	var nilInner *inner
	tests := []struct {
		name string
		env  map[string]any
		path string
		want bool
	}{
		{"direct key present", map[string]any{"foo": "bar"}, "foo", true},
		{"direct key absent", map[string]any{"foo": "bar"}, "baz", false},
		{"dotted key as flat entry", map[string]any{"workflow.status": "Succeeded"}, "workflow.status", true},
		{"nested map", map[string]any{"workflow": map[string]any{"status": "Succeeded"}}, "workflow.status", true},
		{"nested map key absent", map[string]any{"workflow": map[string]any{"status": "Succeeded"}}, "workflow.name", false},
		{"deeply nested", map[string]any{"a": map[string]any{"b": map[string]any{"c": 42}}}, "a.b.c", true},
		{"deeply nested absent", map[string]any{"a": map[string]any{"b": map[string]any{"c": 42}}}, "a.b.d", false},
		{"struct field", map[string]any{"obj": inner{Value: "hello"}}, "obj.Value", true},
		{"struct field absent", map[string]any{"obj": inner{Value: "hello"}}, "obj.Missing", false},
		{"pointer to struct", map[string]any{"obj": &inner{Value: "hello"}}, "obj.Value", true},
		{"nil pointer", map[string]any{"obj": nilInner}, "obj.Value", false},
		{"empty env", map[string]any{}, "foo", false},
		{"empty env dotted", map[string]any{}, "foo.bar", false},
		{"leaf is not traversable", map[string]any{"foo": "bar"}, "foo.bar", false},
		{"prefix key then map", map[string]any{"a.b": map[string]any{"c": 1}}, "a.b.c", true},
		{"nil value is present", map[string]any{"a": map[string]any{"b": nil}}, "a.b", true},
		{"non-string map keys", map[string]any{"a": map[int]any{1: 1}}, "a.1", false},
		{"typed string map", map[string]any{"a": map[string]string{"b": "c"}}, "a.b", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hasVarInEnv(tt.env, tt.path); got != tt.want {
				t.Errorf("hasVarInEnv(%v, %q) = %v, want %v", tt.env, tt.path, got, tt.want)
			}
		})
	}
}

// Argo's Test_hasVariableInExpression and Test_hasWorkflowParameters.
func TestMentionsVariable(t *testing.T) {
	status := `workflow.status == "Succeeded" ? "SUCCESSFUL" : "FAILED"`
	tests := []struct {
		expression, variable string
		want                 bool
	}{
		{"retries", "retries", true},
		{"retries + 1", "retries", true},
		{"sprig(retries)", "retries", true},
		{"sprig(retries + 1) * 64", "retries", true},
		{"foo", "retries", false},
		{"retriesCustom + 1", "retries", false},
		{"item", "item", true},
		{"foo", "item", false},
		{"sprig.upper(item)", "item", true},
		{status, "workflow.status", true},
		{status, "workflow status", false},
		{status, "workflow .status", false},
		{`"workflow.status" == "Succeeded" ? "SUCCESSFUL" : "FAILED"`, "workflow .status", false},
		{`"workflow.status" == "x"`, "workflow.status", false},
		{"lastRetry.exitCode > 1", "lastRetry.exitCode", true},
		{"'unclosed", "unclosed", false},
	}
	for _, tt := range tests {
		if got := mentionsVariable(tt.expression, tt.variable); got != tt.want {
			t.Errorf("mentionsVariable(%q, %q) = %v, want %v", tt.expression, tt.variable, got, tt.want)
		}
	}
}
