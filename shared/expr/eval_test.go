package expr

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Argo's util/expr/argoexpr/eval_test.go TestEvalBool.
func TestEvalBoolArgo(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		env     map[string]any
		want    bool
		wantErr bool
	}{
		{name: "parse error", input: "invalid expression", env: map[string]any{}, wantErr: true},
		{name: "false", input: " FOO == 1 ", env: map[string]any{"FOO": 2}},
		{name: "true", input: " FOO == 1 ", env: map[string]any{"FOO": 1}, want: true},
		{name: "override builtin split", input: "split == 1", env: map[string]any{"split": 1}, want: true},
		{name: "override builtin join", input: "join == 1", env: map[string]any{"join": 1}, want: true},
		{name: "null is not a name", input: `steps["prepare"].outputs != null`, env: map[string]any{"steps": map[string]any{"prepare": map[string]any{"outputs": "msg"}}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EvalBool(tt.input, tt.env)
			if (err != nil) != tt.wantErr {
				t.Fatalf("EvalBool() error = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("EvalBool() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEval(t *testing.T) {
	tests := []struct {
		name    string
		expr    string
		env     map[string]any
		want    any
		wantErr string
	}{
		// examples/conditional-parameters.yaml and dag-conditional-parameters.yaml
		{
			name: "conditional-parameters/heads",
			expr: "steps['flip-coin'].outputs.result == 'heads' ? steps.heads.outputs.result : steps.tails.outputs.result",
			env:  map[string]any{"steps.flip-coin.outputs.result": "heads", "steps.heads.outputs.result": "heads was chosen"},
			want: "heads was chosen",
		},
		{
			name: "conditional-parameters/tails",
			expr: "steps['flip-coin'].outputs.result == 'heads' ? steps.heads.outputs.result : steps.tails.outputs.result",
			env:  map[string]any{"steps.flip-coin.outputs.result": "tails", "steps.tails.outputs.result": "tails was chosen"},
			want: "tails was chosen",
		},
		{
			name: "dag-conditional-parameters",
			expr: "tasks['flip-coin'].outputs.result == 'heads' ? tasks.heads.outputs.result : tasks.tails.outputs.result",
			env:  map[string]any{"tasks.flip-coin.outputs.result": "heads", "tasks.heads.outputs.result": "it was heads"},
			want: "it was heads",
		},
		// examples/dag-conditional-artifacts.yaml (fromExpression): the
		// artifacts are values in the scope.
		{
			name: "dag-conditional-artifacts",
			expr: "tasks['flip-coin'].outputs.result == 'heads' ? tasks.heads.outputs.artifacts.result : tasks.tails.outputs.artifacts.result",
			env: map[string]any{
				"tasks.flip-coin.outputs.result":       "tails",
				"tasks.tails.outputs.artifacts.result": map[string]any{"name": "result", "s3": map[string]any{"key": "tails.txt"}},
			},
			want: map[string]any{"name": "result", "s3": map[string]any{"key": "tails.txt"}},
		},
		// examples/fibonacci-seq-conditional-param.yaml
		{
			name: "fibonacci/1",
			expr: "asInt(inputs.parameters.num) == 1? 1: asInt(inputs.parameters.num) == 2? 1: steps['fibonacci-helper'].outputs.parameters.result",
			env:  map[string]any{"inputs.parameters.num": "1", "steps.fibonacci-helper.status": "Skipped"},
			want: 1,
		},
		{
			name: "fibonacci/5",
			expr: "asInt(inputs.parameters.num) == 1? 1: asInt(inputs.parameters.num) == 2? 1: steps['fibonacci-helper'].outputs.parameters.result",
			env:  map[string]any{"inputs.parameters.num": "5", "steps.fibonacci-helper.outputs.parameters.result": "5"},
			want: "5",
		},
		// examples/label-value-from-workflow.yaml
		{name: "label-value-from-workflow", expr: "workflow.parameters.foo", env: map[string]any{"workflow.parameters.foo": "bar"}, want: "bar"},
		// examples/skipped-output-defaults/expression-fallback.yaml: an absent
		// optional output is nil in the scope.
		{
			name: "expression-fallback/absent",
			expr: "tasks.producer.outputs.parameters.msg ?? 'expr-fallback'",
			env:  map[string]any{"tasks.producer.outputs.parameters.msg": nil},
			want: "expr-fallback",
		},
		{
			name: "expression-fallback/empty",
			expr: "tasks.producer.outputs.parameters.msg ?? 'expr-fallback'",
			env:  map[string]any{"tasks.producer.outputs.parameters.msg": ""},
			want: "",
		},
		// examples/data-transformations.yaml
		{
			name: "data-transformations",
			expr: `filter(data, {# endsWith "main.log"})`,
			env:  map[string]any{"data": []any{"foo/bar/main.log", "foo/bar/other.txt", "main.log"}},
			want: []any{"foo/bar/main.log", "main.log"},
		},
		// The function set.
		{name: "asFloat", expr: "asFloat('1.5') * 2", want: 3.0},
		{name: "asIntOfFloat", expr: "asInt(2.7)", want: 2},
		{name: "toJson", expr: "toJson({a: [1, 'x']})", want: `{"a":[1,"x"]}`},
		{name: "jsonpath", expr: `jsonpath('{"a": {"b": [1, 2]}}', '$.a.b[-1]')`, want: 2.0},
		{name: "sprigDict", expr: "sprig.dict('a', 1)", want: map[string]any{"a": 1}},
		{name: "sprigB64", expr: "sprig.b64enc('hi')", want: "aGk="},
		{name: "sprigSplitList", expr: "sprig.splitList(',', 'a,b')", want: []string{"a", "b"}},
		{name: "builtinString", expr: "string(1) + string(true)", want: "1true"},
		{name: "builtinLen", expr: "len(items)", env: map[string]any{"items": []any{1, 2}}, want: 2},
		{name: "builtinMatches", expr: "'pod deleted' matches 'imminent node shutdown|pod deleted'", want: true},
		{name: "nestedAndDottedNames", expr: "a.b + a.c", env: map[string]any{"a.b": 1, "a.c": 2}, want: 3},
		{name: "functionsWin", expr: "toJson(1)", env: map[string]any{"toJson": "shadowed"}, want: "1"},
		// Errors name the expression.
		{name: "unknownName", expr: "nope + 1", wantErr: `unable to evaluate expression "nope + 1": unknown name nope`},
		{name: "syntax", expr: "1 +", wantErr: `unable to evaluate expression "1 +"`},
		{name: "panicInFunction", expr: "asInt('x')", wantErr: `unable to evaluate expression "asInt('x')"`},
		{name: "badJSONPath", expr: "jsonpath('{}', '$.missing')", wantErr: `key "missing" not found`},
		{name: "badJSON", expr: "jsonpath('{', '$')", wantErr: "unexpected end of JSON input"},
		{name: "toJsonOfFunction", expr: "toJson(toJson)", wantErr: "json: unsupported type"},
		{name: "sprigEnvRemoved", expr: "sprig.env('HOME')", wantErr: "unable to evaluate expression"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Eval(tt.expr, tt.env)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr == "" && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestEvalBoolExamples(t *testing.T) {
	// examples/retry-conditional.yaml, after {{inputs.parameters.safe-to-retry}}
	// was substituted.
	retry := `asInt(lastRetry.exitCode) > 1 &&
lastRetry.status != "Error" &&
asInt(lastRetry.duration) < 120 &&
({{inputs.parameters.safe-to-retry}} == true || lastRetry.message matches 'imminent node shutdown|pod deleted')`
	retryWith := func(safe string) string {
		s, err := Replace(retry, map[string]string{"inputs.parameters.safe-to-retry": safe}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	last := func(exit, status, duration, message string) map[string]any {
		return map[string]any{
			"lastRetry.exitCode": exit, "lastRetry.status": status,
			"lastRetry.duration": duration, "lastRetry.message": message,
		}
	}
	tests := []struct {
		name string
		expr string
		env  map[string]any
		want bool
	}{
		{"retry/exit2", retryWith("true"), last("2", "Failed", "10", ""), true},
		{"retry/exit1", retryWith("true"), last("1", "Failed", "10", ""), false},
		{"retry/error", retryWith("true"), last("2", "Error", "10", ""), false},
		{"retry/slow", retryWith("true"), last("2", "Failed", "300", ""), false},
		{"retry/unsafe", retryWith("false"), last("2", "Failed", "10", ""), false},
		{"retry/unsafeButDeleted", retryWith("false"), last("2", "Failed", "10", "pod deleted"), true},
		// examples/life-cycle-hooks-wf-level.yaml and -tmpl-level.yaml
		{"hook/workflowRunning", `workflow.status == "Running"`, map[string]any{"workflow.status": "Running"}, true},
		{"hook/workflowSucceeded", `workflow.status == "Running"`, map[string]any{"workflow.status": "Succeeded"}, false},
		{"hook/stepDash", `steps["step-1"].status == "Running"`, map[string]any{"steps.step-1.status": "Running"}, true},
		{"hook/stepDashSucceeded", `steps["step-1"].status == "Succeeded"`, map[string]any{"steps.step-1.status": "Running"}, false},
		{"hook/step2", `steps.step2.status == "Succeeded"`, map[string]any{"steps.step2.status": "Succeeded"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EvalBool(tt.expr, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	_, err := EvalBool("1 + 1", nil)
	checkErr(t, err, `expression "1 + 1" evaluated to 2 (int), not a bool`)
}

func TestIdentifiers(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{"foo", []string{"foo"}},
		{"a.b.c == 'x'", []string{"a", "a.b", "a.b.c"}},
		{"inputs.parameters['a-b']", []string{"inputs", "inputs.parameters", "inputs.parameters.a-b"}},
		{"sprig.trim(x) + asInt(y)", []string{"sprig", "sprig.trim", "x", "asInt", "y"}},
		{"filter([1, 2], {# > n})", []string{"n"}},
		{"m[k]", []string{"m", "k"}},
		{"let v = a; v + v.x", []string{"a"}},
		{"'item' + \"retries\"", nil},
		{"now() - len(xs)", []string{"xs"}},
	}
	for _, tt := range tests {
		got, err := Identifiers(tt.expr)
		if err != nil {
			t.Errorf("%s: %v", tt.expr, err)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("Identifiers(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
	if _, err := Identifiers("1 +"); err == nil || !strings.Contains(err.Error(), "unexpected token") {
		t.Errorf("want a parse error, got %v", err)
	}
}
