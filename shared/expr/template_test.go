package expr

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// toJSON is the JSON form of a string value, as Argo's tests build templates.
func toJSON(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// argoReplace is Argo's template.Replace: the input is the JSON form of a
// template, the output is checked to be JSON again.
func argoReplace(t *testing.T, s string, vars map[string]string, allowUnresolved bool) (string, error) {
	t.Helper()
	out, err := Replace(s, vars, Options{AllowUnresolved: allowUnresolved, JSONEscape: true})
	if err == nil && !json.Valid([]byte(out)) {
		t.Fatalf("Replace(%s) = %s: not JSON", s, out)
	}
	return out, err
}

// Argo's util/template/replace_test.go Test_Replace.
func TestReplaceArgo(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		vars    map[string]string
		allow   bool
		want    string // the decoded value
		wantErr string
		missing bool // the error wraps ErrUnresolved
	}{
		{name: "InvalidTemplate", in: "{{", wantErr: "unclosed tag"},
		{name: "Simple/Valid", in: "{{foo}}", vars: map[string]string{"foo": "bar"}, want: "bar"},
		{name: "Simple/Unresolved/Allowed", in: "{{foo}}", allow: true, want: "{{foo}}"},
		{name: "Simple/Unresolved/Disallowed", in: "{{foo}}", wantErr: "failed to resolve {{foo}}", missing: true},
		{name: "Expression/Valid", in: "{{=foo}}", vars: map[string]string{"foo": "bar"}, want: "bar"},
		{name: "Expression/VariadicSprig", in: "{{=sprig.dig('status', nil, workflow)}}", vars: map[string]string{"workflow.status": "Succeeded"}, want: "Succeeded"},
		{name: "Expression/WorkflowStatus/Succeeded", in: `{{=workflow.status == "Succeeded" ? "SUCCESSFUL" : "FAILED"}}`, vars: map[string]string{"workflow.status": "Succeeded"}, want: "SUCCESSFUL"},
		{name: "Expression/WorkflowStatus/Failed", in: `{{=workflow.status == "Succeeded" ? "SUCCESSFUL" : "FAILED"}}`, vars: map[string]string{"workflow.status": "Failed"}, want: "FAILED"},
		{name: "Expression/WorkflowFailures/Equal", in: `{{=workflow.failures == "{\"foo\":\"bar\"}" ? "SUCCESSFUL" : "FAILED"}}`, vars: map[string]string{"workflow.failures": `{"foo":"bar"}`}, want: "SUCCESSFUL"},
		{name: "Expression/WorkflowFailures/Different", in: `{{=workflow.failures == "{\"foo\":\"bar\"}" ? "SUCCESSFUL" : "FAILED"}}`, vars: map[string]string{"workflow.failures": `{"foo":"barr"}`}, want: "FAILED"},
		{name: "Expression/Unresolved/Allowed", in: "{{=foo}}", allow: true, want: "{{=foo}}"},
		{name: "Expression/Unresolved/AllowedRetries", in: "{{=sprig.int(retries)}}", allow: true, want: "{{=sprig.int(retries)}}"},
		{name: "Expression/Unresolved/AllowedWorkflowStatus", in: `{{=workflow.status == "Succeeded" ? "SUCCESSFUL" : "FAILED"}}`, allow: true, want: `{{=workflow.status == "Succeeded" ? "SUCCESSFUL" : "FAILED"}}`},
		{name: "Expression/Unresolved/AllowedWorkflowFailures", in: `{{=workflow.failures == "Succeeded" ? "SUCCESSFUL" : "FAILED"}}`, allow: true, want: `{{=workflow.failures == "Succeeded" ? "SUCCESSFUL" : "FAILED"}}`},
		// workflow.status is missing although workflow exists: an expression
		// must not resolve it to nil in an early pass.
		{name: "Expression/Unresolved/AllowedWorkflowStatusOtherGlobals", in: `{{=workflow.status == "Succeeded" ? "SUCCESSFUL" : "FAILED"}}`, vars: map[string]string{"workflow.name": "wf"}, allow: true, want: `{{=workflow.status == "Succeeded" ? "SUCCESSFUL" : "FAILED"}}`},
		{name: "Expression/Unresolved/Disallowed", in: "{{=foo}}", wantErr: "foo is missing", missing: true},
		{name: "Expression/Unresolved/DisallowedWorkflowStatus", in: `{{=workflow.status == "Succeeded" ? "SUCCESSFUL" : "FAILED"}}`, wantErr: "failed to evaluate expression", missing: true},
		{name: "Expression/Unresolved/DisallowedWorkflowFailures", in: `{{=workflow.failures == "Succeeded" ? "SUCCESSFUL" : "FAILED"}}`, wantErr: "failed to evaluate expression", missing: true},
		{name: "Expression/Error", in: "{{=!}}", wantErr: `failed to evaluate expression "!"`},
		{name: "Expression/ErrorEvenWhenAllowed", in: "{{=!}}", allow: true, wantErr: `failed to evaluate expression "!"`},
		// Argo's replace_test.go TestReplaceStringWithWhiteSpace and
		// TestReplaceStringWithExpression.
		{name: "WhiteSpace", in: "{{ inputs.parameters.message }}", vars: map[string]string{"inputs.parameters.message": "hello world"}, allow: true, want: "hello world"},
		{name: "SprigTrunc", in: "test {{= sprig.trunc(5, inputs.parameters.message) }}", vars: map[string]string{"inputs.parameters.message": "hello world"}, allow: true, want: "test hello"},
		{name: "SprigTruncNegative", in: "test {{= sprig.trunc(-5, inputs.parameters.message) }}", vars: map[string]string{"inputs.parameters.message": "hello world"}, allow: true, want: "test world"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := argoReplace(t, toJSON(tt.in), tt.vars, tt.allow)
			checkErr(t, err, tt.wantErr)
			if tt.missing != errors.Is(err, ErrUnresolved) {
				t.Errorf("errors.Is(%v, ErrUnresolved) = %v, want %v", err, !tt.missing, tt.missing)
			}
			if tt.wantErr == "" && got != toJSON(tt.want) {
				t.Errorf("got %s, want %s", got, toJSON(tt.want))
			}
		})
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q does not contain %q", err, want)
	}
}

// Argo's replace_test.go TestNestedReplaceString.
func TestReplaceNestedArgo(t *testing.T) {
	vars := map[string]string{"inputs.parameters.message": "hello world"}
	tests := []struct{ in, want string }{
		{
			"{{- with secret \"{{inputs.parameters.message}}\" -}}\n    {{ .Data.data.gitcreds }}\n  {{- end }}",
			"{{- with secret \"hello world\" -}}\n    {{ .Data.data.gitcreds }}\n  {{- end }}",
		},
		{
			"{{- with {{ secret \"{{inputs.parameters.message}}\" -}}\n    {{ .Data.data.gitcreds }}\n  {{- end }}",
			"{{- with {{ secret \"hello world\" -}}\n    {{ .Data.data.gitcreds }}\n  {{- end }}",
		},
		{
			"{{- with {{ secret \"{{inputs.parameters.message}}\" -}} }}\n    {{ .Data.data.gitcreds }}\n  {{- end }}",
			"{{- with {{ secret \"hello world\" -}} }}\n    {{ .Data.data.gitcreds }}\n  {{- end }}",
		},
		{
			"{{- with secret \"{{inputs.parameters.message}}\" -}} }}\n    {{ .Data.data.gitcreds }}\n  {{- end }}",
			"{{- with secret \"hello world\" -}} }}\n    {{ .Data.data.gitcreds }}\n  {{- end }}",
		},
		{
			"{{- with {{ {{ }} secret \"{{inputs.parameters.message}}\" -}} }}\n    {{ .Data.data.gitcreds }}\n  {{- end }}",
			"{{- with {{ {{ }} secret \"hello world\" -}} }}\n    {{ .Data.data.gitcreds }}\n  {{- end }}",
		},
		{
			"{{- with {{ {{ }} secret \"{{does-not-exist}}\" -}} }}\n    {{ .Data.data.gitcreds }}\n  {{- end }}",
			"{{- with {{ {{ }} secret \"{{does-not-exist}}\" -}} }}\n    {{ .Data.data.gitcreds }}\n  {{- end }}",
		},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			got, err := argoReplace(t, toJSON(tt.in), vars, true)
			if err != nil {
				t.Fatal(err)
			}
			if got != toJSON(tt.want) {
				t.Errorf("got  %s\nwant %s", got, toJSON(tt.want))
			}
			// The same in raw (not JSON) form.
			raw, err := Replace(tt.in, vars, Options{AllowUnresolved: true})
			if err != nil {
				t.Fatal(err)
			}
			if raw != tt.want {
				t.Errorf("raw: got %q, want %q", raw, tt.want)
			}
		})
	}
}

// Argo's template_test.go Test_Template_Replace: a value in a JSON object
// goes through Replace and is decoded again.
func TestReplaceJSONValueArgo(t *testing.T) {
	employees := `{"employees": [{"name": "Baris", "age":43, "friends": ["Mo", "Jai"]}, {"name": "Mo", "age": 42, "friends": ["Baris", "Jai"]}, {"name": "Jai", "age" :44, "friends": ["Baris", "Mo"]}]}`
	ages := `{"employees": [{"name": "Baris", "age":43},{"name": "Mo", "age": 42}, {"name": "Jai", "age" :44}]}`
	tests := []struct {
		name, in, want string
		vars           map[string]string
	}{
		{name: "ExprSingleQuotes", in: "{{='test'}}", want: "test"},
		{name: "ExprDoubleQuotes", in: `{{="test"}}`, want: "test"},
		{name: "ExprEscapedBackslashInString", in: `{{='some\\path\\with\\backslashes'}}`, want: `some\path\with\backslashes`},
		{name: "ExprEscapedNewlineInString", in: `{{='some\nstring\nwith\nescaped\nnewlines'}}`, want: "some\nstring\nwith\nescaped\nnewlines"},
		{name: "ExprNewline", in: "{{=1 + \n1}}", want: "2"},
		{name: "ExprStringAsJson", in: "{{=toJson('test')}}", want: `"test"`},
		{name: "ExprObjectAsJson", in: "{{=toJson({test: 1})}}", want: `{"test":1}`},
		{name: "ExprArrayAsJson", in: "{{=toJson([1, '2', {an: 'object'}])}}", want: `[1,"2",{"an":"object"}]`},
		{name: "ExprSingleQuoteAsString", in: `{{="'"}}`, want: `'`},
		{name: "ExprDoubleQuoteAsString", in: `{{='"'}}`, want: `"`},
		{name: "ExprBoolean", in: `{{=true == false}}`, want: "false"},
		{name: "SimpleSingleQuoteAsString", in: `{{customParam}}`, want: `This is ' John`, vars: map[string]string{"customParam": `This is ' John`}},
		{name: "SimpleDoubleQuoteAsString", in: `{{customParam}}`, want: `This is " John`, vars: map[string]string{"customParam": `This is " John`}},
		{name: "ExprNumArrayOutput", in: `{{=jsonpath('` + employees + `', '$.employees[*].name')}}`, want: `["Baris","Mo","Jai"]`},
		{name: "ExprStringArrayOutput", in: `{{=jsonpath('` + employees + `', '$.employees[0].friends')}}`, want: `["Mo","Jai"]`},
		{name: "ExprSimpleObjectOutput", in: `{{=jsonpath('` + ages + `', '$.employees[0]')}}`, want: `{"age":43,"name":"Baris"}`},
		{name: "ExprObjectArrayOutput", in: `{{=jsonpath('` + ages + `', '$')}}`, want: `{"employees":[{"age":43,"name":"Baris"},{"age":42,"name":"Mo"},{"age":44,"name":"Jai"}]}`},
		{name: "ExprArrayInObjectOutput", in: `{{=jsonpath('` + employees + `', '$.employees[0]')}}`, want: `{"age":43,"friends":["Mo","Jai"],"name":"Baris"}`},
		// Characters json.Marshal escapes as \u003c, \u003e and \u0026.
		{name: "ExprHTMLCharacters", in: `{{=a < b && c > d ? '<&>' : 'no'}}`, vars: map[string]string{"a": "1", "b": "2", "c": "4", "d": "3"}, want: "<&>"},
		{name: "ExprHTMLCharactersInJSONResult", in: `{{=toJson(['<&>'])}}`, want: `["\u003c\u0026\u003e"]`},
		{name: "SimpleControlCharacters", in: `{{p}}`, vars: map[string]string{"p": "a\tb\nc\x01d\u2028e"}, want: "a\tb\nc\x01d\u2028e"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := json.Marshal(map[string]string{"value": tt.in})
			if err != nil {
				t.Fatal(err)
			}
			out, err := argoReplace(t, string(doc), tt.vars, true)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]string
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%s: %v", out, err)
			}
			if got["value"] != tt.want {
				t.Errorf("got %q, want %q", got["value"], tt.want)
			}
		})
	}
}

// Argo's template_test.go NestedVariableResolution and
// TripleNestedVariableResolution: each pass resolves one level.
func TestReplaceNestedPasses(t *testing.T) {
	t.Run("Double", func(t *testing.T) {
		vars := map[string]string{"inner": "suffix", "outer-suffix": "final-value"}
		pass1, err := argoReplace(t, `{"key": "{{outer-{{inner}}}}"}`, vars, true)
		if err != nil || pass1 != `{"key": "{{outer-suffix}}"}` {
			t.Fatalf("pass 1: %s %v", pass1, err)
		}
		pass2, err := argoReplace(t, pass1, vars, true)
		if err != nil || pass2 != `{"key": "final-value"}` {
			t.Fatalf("pass 2: %s %v", pass2, err)
		}
	})
	t.Run("Triple", func(t *testing.T) {
		vars := map[string]string{"C": "valC", "B valC": "valB", "A valB": "final"}
		want := []string{`{"key": "{{A {{B valC}}}}"}`, `{"key": "{{A valB}}"}`, `{"key": "final"}`}
		s := `{"key": "{{A {{B {{C}}}}}}"}`
		for i, w := range want {
			var err error
			if s, err = argoReplace(t, s, vars, true); err != nil || s != w {
				t.Fatalf("pass %d: got %s %v, want %s", i+1, s, err, w)
			}
		}
	})
}

// TestReplaceRaw covers templates that are not in JSON form.
func TestReplaceRaw(t *testing.T) {
	vars := map[string]string{
		"inputs.parameters.x":                   "1",
		"inputs.parameters.msg":                 "say \"hi\"\n",
		"inputs.parameters.list":                `["a","b"]`,
		"steps.flip-coin.outputs.result":        "heads",
		"workflow.name":                         "wf-abc",
		"workflow.labels.app":                   "demo",
		"workflow.annotations.example.io/owner": "team-a",
		"item":                                  "3",
		"a":                                     "{{b}}",
		"b":                                     "B",
		"":                                      "empty-name",
	}
	tests := []struct {
		name    string
		in      string
		opts    Options
		want    string
		wantErr string
	}{
		{name: "NoTags", in: "plain text } { }}", want: "plain text } { }}"},
		{name: "Simple", in: "x={{inputs.parameters.x}}!", want: "x=1!"},
		{name: "SimpleSpaces", in: "{{  inputs.parameters.x\t}}", want: "1"},
		{name: "SimpleRawValue", in: "{{inputs.parameters.msg}}", want: "say \"hi\"\n"},
		{name: "SimpleDash", in: "{{steps.flip-coin.outputs.result}}", want: "heads"},
		{name: "SimpleSlashAndDots", in: "{{workflow.annotations.example.io/owner}}", want: "team-a"},
		{name: "NotRescanned", in: "{{a}}", want: "{{b}}"},
		{name: "EmptyTag", in: "{{}}", want: "empty-name"},
		{name: "EqualsAfterSpaceIsSimple", in: "{{ =inputs.parameters.x}}", opts: Options{AllowUnresolved: true}, want: "{{ =inputs.parameters.x}}"},
		{name: "EqualsAfterSpaceIsSimpleStrict", in: "{{ =inputs.parameters.x}}", wantErr: "failed to resolve {{ =inputs.parameters.x}}"},
		{name: "ThreeBraces", in: "{{{inputs.parameters.x}}}", opts: Options{AllowUnresolved: true}, want: "{{{inputs.parameters.x}}}"},
		{name: "Unclosed", in: "echo {{inputs.parameters.x", wantErr: "unclosed tag"},
		{name: "UnclosedEvenIfAllowed", in: "a {{b}} {{c", opts: Options{AllowUnresolved: true}, wantErr: "unclosed tag"},
		{name: "UnresolvedMany", in: "{{x}} {{y}}", opts: Options{AllowUnresolved: true}, want: "{{x}} {{y}}"},
		{name: "ExprString", in: "{{=inputs.parameters.msg}}", want: "say \"hi\"\n"},
		{name: "ExprInt", in: "{{=asInt(inputs.parameters.x) + 1}}", want: "2"},
		{name: "ExprFloat", in: "{{=asFloat(inputs.parameters.x) / 4}}", want: "0.25"},
		{name: "ExprDivisionIsFloat", in: "{{=4 / 2}}", want: "2"},
		{name: "ExprBool", in: "{{=inputs.parameters.x == '1'}}", want: "true"},
		{name: "ExprList", in: "{{=[1, 'a', true]}}", want: `[1,"a",true]`},
		{name: "ExprMap", in: "{{=toJson({b: 2, a: [1]})}}", want: `{"a":[1],"b":2}`},
		{name: "ExprHTMLInList", in: "{{=['<a>']}}", want: `["\u003ca\u003e"]`},
		{name: "ExprBracketDash", in: "{{=steps['flip-coin'].outputs.result}}", want: "heads"},
		{name: "ExprFromJSONParam", in: "{{=fromJSON(inputs.parameters.list)[1]}}", want: "b"},
		{name: "ExprStringBuiltin", in: "{{=string(1 + 2) + 'x'}}", want: "3x"},
		{name: "ExprSprigUpper", in: "{{=sprig.upper(workflow.name)}}", want: "WF-ABC"},
		{name: "ExprSprigEnvRemoved", in: "{{=sprig.env('HOME')}}", wantErr: "failed to evaluate expression"},
		{name: "ExprItem", in: "{{=asInt(item) * 10}}", want: "30"},
		{name: "ExprLet", in: "{{=let n = asInt(inputs.parameters.x); n + n}}", want: "2"},
		{name: "ExprRuntimeError", in: "{{=asInt(workflow.name)}}", wantErr: `failed to evaluate expression "asInt(workflow.name)"`},
		{name: "ExprRuntimeErrorAllowed", in: "{{=asInt(workflow.name)}}", opts: Options{AllowUnresolved: true}, want: "{{=asInt(workflow.name)}}"},
		{name: "ExprNil", in: "{{=nil}}", wantErr: "the result is nil"},
		{name: "ExprNilAllowed", in: "{{=nil}}", opts: Options{AllowUnresolved: true}, want: "{{=nil}}"},
		{name: "ExprInf", in: "{{=1/0}}", wantErr: "cannot render the result as JSON"},
		{name: "ExprMissing", in: "{{=inputs.parameters.y}}", wantErr: "inputs.parameters.y is missing"},
		{name: "ExprMissingAllowed", in: "{{=inputs.parameters.y}}", opts: Options{AllowUnresolved: true}, want: "{{=inputs.parameters.y}}"},
		{name: "ExprItemMissingAllowed", in: "{{=sprig.upper(workflow.name) + retries}}", opts: Options{AllowUnresolved: true}, want: "{{=sprig.upper(workflow.name) + retries}}"},
		{name: "ExprLaterVariableInString", in: "{{='item'}}", want: "item"},
		{name: "ExprParseError", in: "{{=1 +}}", opts: Options{AllowUnresolved: true}, wantErr: `failed to evaluate expression "1 +"`},
		{name: "ExprCutAtFirstClose", in: "{{=toJson({a: {b: 1}})}}", wantErr: "failed to evaluate expression"},
		{name: "Mixed", in: "{{workflow.name}}/{{=sprig.trim('  x ')}}/{{missing}}", opts: Options{AllowUnresolved: true}, want: "wf-abc/x/{{missing}}"},
		{name: "NoVars", in: "{{=1+1}}", want: "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Replace(tt.in, vars, tt.opts)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr == "" && got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestReplaceStrictPrefixes is Argo's ReplaceStrict, as used for `when` and
// for a step or task about to run.
func TestReplaceStrictPrefixes(t *testing.T) {
	vars := map[string]string{
		"tasks.a.outputs.result": "abc",
		"workflow.name":          "wf",
		"workflow.parameters.p":  "v",
	}
	strict := Options{AllowUnresolved: true, StrictPrefixes: []string{"tasks", "steps"}}
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr string
	}{
		{name: "Resolved", in: "{{tasks.a.outputs.result}}", want: "abc"},
		{name: "MissingTask", in: "{{tasks.b.outputs.result}}", wantErr: "failed to resolve {{tasks.b.outputs.result}}"},
		{name: "MissingStep", in: "{{ steps.b.outputs.result }}", wantErr: "failed to resolve {{ steps.b.outputs.result }}"},
		{name: "ExactPrefix", in: "{{tasks}}", wantErr: "failed to resolve {{tasks}}"},
		{name: "PrefixIsASegment", in: "{{tasksX.y}}", want: "{{tasksX.y}}"},
		{name: "ArtifactsMayWait", in: "{{tasks.b.outputs.artifacts.out}}", want: "{{tasks.b.outputs.artifacts.out}}"},
		{name: "OtherPrefixMayWait", in: "{{workflow.status}}", want: "{{workflow.status}}"},
		{name: "ExprMissingTask", in: "{{=tasks.b.outputs.result == 'x'}}", wantErr: "tasks.b is missing"},
		{name: "ExprMissingOther", in: "{{=inputs.parameters.q}}", want: "{{=inputs.parameters.q}}"},
		{name: "ExprKnown", in: "{{=tasks.a.outputs.result == 'abc'}}", want: "true"},
		{name: "ExprKnownMustEvaluate", in: "{{=asInt(tasks.a.outputs.result)}}", wantErr: `failed to evaluate expression "asInt(tasks.a.outputs.result)"`},
		{name: "ExprMissingOtherMayFail", in: "{{=asInt(tasks.a.outputs.result) + asInt(inputs.parameters.q)}}", want: "{{=asInt(tasks.a.outputs.result) + asInt(inputs.parameters.q)}}"},
		// Argo's quirk, kept: workflow exists, so this compiles and
		// workflow.parameters.q reads as nil.
		{name: "ExprMissingNestedResolvesToNil", in: "{{=workflow.parameters.q == 'v'}}", want: "false"},
		{name: "ExprLaterVariable", in: "{{=workflow.status}}", want: "{{=workflow.status}}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Replace(tt.in, vars, strict)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr == "" && got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	// The unresolved errors wrap ErrUnresolved.
	for _, in := range []string{"{{tasks.b.outputs.result}}", "{{=tasks.b.outputs.result}}"} {
		if _, err := Replace(in, vars, strict); !errors.Is(err, ErrUnresolved) {
			t.Errorf("%s: %v does not wrap ErrUnresolved", in, err)
		}
	}
	// Without AllowUnresolved the prefixes change nothing: all must resolve.
	if _, err := Replace("{{workflow.status}}", vars, Options{StrictPrefixes: []string{"tasks"}}); err == nil {
		t.Error("want an error for {{workflow.status}} when nothing may stay unresolved")
	}
	// Artifacts are only excused with AllowUnresolved.
	if _, err := Replace("{{tasks.b.outputs.artifacts.out}}", vars, Options{}); err == nil {
		t.Error("want an error for an unresolved artifact when nothing may stay unresolved")
	}
}

func TestReplaceJSONEscape(t *testing.T) {
	vars := map[string]string{
		"p":    "line1\nline2\t\"quoted\" \\ <b>&",
		"json": `{"a":"x\"y"}`,
	}
	tests := []struct{ name, in, want string }{
		{"Simple", `"{{p}}"`, `"line1\nline2\t\"quoted\" \\ <b>&"`},
		{"ExprString", `"{{=p}}"`, `"line1\nline2\t\"quoted\" \\ <b>&"`},
		{"ExprMap", `"{{=fromJSON(json)}}"`, `"{\"a\":\"x\\\"y\"}"`},
		{"ExprEscapedQuotesInExpression", `"{{=p == \"x\" ? 1 : 2}}"`, `"2"`},
		{"ExprUnicodeEscapes", `"{{=1 \u003c 2 \u0026\u0026 2 \u003e 1}}"`, `"true"`},
		{"Unresolved", `"{{=q + \"a\"}}"`, `"{{=q + \"a\"}}"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Replace(tt.in, vars, Options{AllowUnresolved: true, JSONEscape: true})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("%s is not JSON", got)
			}
		})
	}
	// An expression that is not valid inside a JSON string is an error, even
	// when unresolved tags are allowed (Argo fails to unmarshal it).
	if _, err := Replace(`"{{=a"b}}"`, vars, Options{AllowUnresolved: true, JSONEscape: true}); err == nil {
		t.Error("want an error for a raw quote inside a JSON-form expression")
	}
}

func TestReplaceValues(t *testing.T) {
	var never *time.Time
	old := time.Now().Add(-time.Hour)
	recent := time.Now().Add(-time.Minute)
	// examples/cron-when.yaml
	const when = "{{= cronworkflow.lastScheduledTime == nil || (now() - cronworkflow.lastScheduledTime).Seconds() > 360 }}"
	for _, tt := range []struct {
		name string
		last *time.Time
		want string
	}{{"Never", never, "true"}, {"AnHourAgo", &old, "true"}, {"AMinuteAgo", &recent, "false"}} {
		t.Run("CronWhen/"+tt.name, func(t *testing.T) {
			vars := map[string]any{
				"cronworkflow.name":              "cron",
				"cronworkflow.lastScheduledTime": tt.last,
				"cronworkflow.failed":            int64(0),
			}
			got, err := ReplaceValues(when, vars, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			if ok, err := When(got); err != nil || ok != (tt.want == "true") {
				t.Fatalf("When(%q) = %v, %v", got, ok, err)
			}
		})
	}
	vars := map[string]any{"n": 3, "s": "x"}
	if got, err := ReplaceValues("{{s}}{{=n * 2}}", vars, Options{}); err != nil || got != "x6" {
		t.Errorf("got %q, %v", got, err)
	}
	_, err := ReplaceValues("{{n}}", vars, Options{AllowUnresolved: true})
	checkErr(t, err, "failed to resolve {{n}} to string")
}

// TestReplaceConformanceExamples evaluates the expression tags of Argo's
// examples (shared/conformance/argo-workflows/examples) with plausible
// inputs, to what Argo produces.
func TestReplaceConformanceExamples(t *testing.T) {
	config := `{"employees": [{"name": "Baris", "age":43},{"name": "Mo", "age": 42}, {"name": "Jai", "age" :44}]}`
	weekTemps := `{"avg":35.8,"max":57,"min":15}`
	vars := map[string]string{
		// expression-destructure-json.yaml
		"workflow.parameters.config": `{"a": "1", "b": "2", "c": "3"}`,
		// expression-reusing-verbose-snippets.yaml
		"workflow.parameters.weather":  `{"weekWeather": "eyJ0ZW1wcyI6IFszNCwgMjcsIDE1LCA1NywgNDZdfQo="}`,
		"inputs.parameters.week-temps": weekTemps,
		// expression-tag-template-workflow.yaml
		"inputs.parameters.foo":      "3",
		"item":                       "3",
		"workflow.creationTimestamp": "2024-05-01T10:00:00Z",
		// conditionals.yaml
		"inputs.parameters.should-print": "true",
		"workflow.parameters.json":       `[{"name": "should-print", "value": "true"}]`,
	}
	complexVars := map[string]string{"workflow.parameters.config": config}
	verbose := `{{=
                map([
                    jsonpath(sprig.b64dec(jsonpath(workflow.parameters.weather, '$.weekWeather')), '$.temps')
                  ], {
                    toJson({
                      avg: sprig.add(#[0], #[1], #[2], #[3], #[4]) / 5,
                      min: sprig.min(#[0], #[1], #[2], #[3], #[4]),
                      max: sprig.max(#[0], #[1], #[2], #[3], #[4])
                    })
                })[0]
              }}`
	tests := []struct {
		name string
		in   string
		vars map[string]string
		want string
	}{
		{"destructure-json/a", "{{=jsonpath(workflow.parameters.config, '$.a')}}", vars, "1"},
		{"destructure-json/b", "{{=jsonpath(workflow.parameters.config, '$.b')}}", vars, "2"},
		{"destructure-json/c", "{{=jsonpath(workflow.parameters.config, '$.c')}}", vars, "3"},
		{"destructure-json-complex/a", `{{=jsonpath(workflow.parameters.config, '$.employees[?(@.name=="Baris")].age')}}`, complexVars, "[43]"},
		{"destructure-json-complex/b", `{{=jsonpath(workflow.parameters.config, '$.employees[?(@.age>42 && @.age<44)].age')}}`, complexVars, "[43]"},
		{"destructure-json-complex/c", `{{=jsonpath(workflow.parameters.config, '$.employees[0:1]')}}`, complexVars, `[{"age":43,"name":"Baris"}]`},
		{"destructure-json-complex/d", `{{=jsonpath(workflow.parameters.config, '$.employees[*].name')}}`, complexVars, `["Baris","Mo","Jai"]`},
		{"reusing-verbose-snippets/week-temps", verbose, vars, weekTemps},
		{"reusing-verbose-snippets/avg", "{{=jsonpath(inputs.parameters['week-temps'], '$.avg')}}", vars, "35.8"},
		{"reusing-verbose-snippets/min", "{{=jsonpath(inputs.parameters['week-temps'], '$.min')}}", vars, "15"},
		{"reusing-verbose-snippets/max", "{{=jsonpath(inputs.parameters['week-temps'], '$.max')}}", vars, "57"},
		{"tag-template/withParam", "{{=toJson(filter([1, 3], {# > 1}))}}", vars, "[3]"},
		{"tag-template/item", "{{=item}}", vars, "3"},
		// sprig.date of a string is the current time, in Argo too.
		{"tag-template/args", "hello {{=asInt(inputs.parameters.foo) * 10}} @ {{=sprig.date('2006', workflow.creationTimestamp)}}\n", vars, fmt.Sprintf("hello 30 @ %d\n", time.Now().Year())},
		{"conditionals/expr", `{{= inputs.parameters["should-print"] == 'true'}}`, vars, "true"},
		{"conditionals/expr-json", `{{=jsonpath(workflow.parameters.json, '$[0].value') == 'true'}}`, vars, "true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, jsonForm := range []bool{false, true} {
				in := tt.in
				if jsonForm {
					in = toJSON(in)
				}
				got, err := Replace(in, tt.vars, Options{JSONEscape: jsonForm})
				if err != nil {
					t.Fatalf("json=%v: %v", jsonForm, err)
				}
				if jsonForm {
					var s string
					if err := json.Unmarshal([]byte(got), &s); err != nil {
						t.Fatalf("%s: %v", got, err)
					}
					got = s
				}
				if got != tt.want {
					t.Errorf("json=%v: got %q, want %q", jsonForm, got, tt.want)
				}
			}
		})
	}
}

// TestReplacePasses follows a template of examples/variables-showcase.yaml
// through Argo's passes: the global pass leaves what is not known yet, the
// pod pass fills the rest.
func TestReplacePasses(t *testing.T) {
	src := `echo "workflow.name       = {{workflow.name}}"
echo "ts.RFC3339          = {{workflow.creationTimestamp.RFC3339}}"
echo "annotations.owner   = {{workflow.annotations.example.io/owner}}"
echo "params.greeting     = {{workflow.parameters.greeting}}"
echo "inputs.params.msg   = {{inputs.parameters.msg}}"
echo "retries             = {{retries}}"
echo "expr                = {{=sprig.upper(inputs.parameters.msg)}}"
echo "status              = {{=workflow.status}}"
printf 'greeting=%s' '{{workflow.parameters.greeting}}' > /tmp/out.txt`
	global := map[string]string{
		"workflow.name":                         "showcase-x",
		"workflow.creationTimestamp":            "2024-05-01T10:00:00Z",
		"workflow.creationTimestamp.RFC3339":    "2024-05-01T10:00:00Z",
		"workflow.annotations.example.io/owner": "team-a",
		"workflow.parameters.greeting":          "hello",
	}
	pass1, err := Replace(src, global, Options{AllowUnresolved: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"= showcase-x", "= 2024-05-01T10:00:00Z", "= team-a", "= hello", "{{inputs.parameters.msg}}", "{{retries}}", "{{=sprig.upper(inputs.parameters.msg)}}", "{{=workflow.status}}", "'hello'"} {
		if !strings.Contains(pass1, want) {
			t.Errorf("pass 1 lacks %q:\n%s", want, pass1)
		}
	}
	local := map[string]string{"inputs.parameters.msg": "hi", "retries": "0", "workflow.status": "Running"}
	for k, v := range global {
		local[k] = v
	}
	pass2, err := Replace(pass1, local, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(pass2, "{{") {
		t.Errorf("pass 2 left tags:\n%s", pass2)
	}
	for _, want := range []string{"msg   = hi", "retries             = 0", "expr                = HI", "status              = Running"} {
		if !strings.Contains(pass2, want) {
			t.Errorf("pass 2 lacks %q:\n%s", want, pass2)
		}
	}
}

func TestTags(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"no tags }}", nil},
		{"{{a}} and {{ b.c }} and {{=d + 1}}", []string{"a", " b.c ", "=d + 1"}},
		{"{{outer-{{inner}}}}", []string{"outer-{{inner"}},
		{"{{a}} {{unclosed", []string{"a"}},
		{"{{}}", []string{""}},
	}
	for _, tt := range tests {
		got := Tags(tt.in)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) || len(got) != len(tt.want) {
			t.Errorf("Tags(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestValidateSyntax(t *testing.T) {
	tests := []struct{ in, wantErr string }{
		{"", ""},
		{"{{a}} {{=b + 1}} {{ anything goes in simple tags ( }}", ""},
		{"{{", "unclosed tag"},
		{"ok {{a}} {{b", `unclosed tag: no "}}" after "{{b"`},
		{"{{=1 +}}", "invalid expression {{=1 +}}"},
		{"{{=toJson({a: {b: 1}})}}", "invalid expression {{=toJson({a: {b: 1}}"},
		{"{{=toJson({a: 1})}}", ""},
		{"{{=sprig.trim(inputs.parameters.x)}} {{=inputs.parameters['a-b'] == 'x'}}", ""},
		{"{{ =1 +}}", ""}, // a simple tag named "=1 +"
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) { checkErr(t, ValidateSyntax(tt.in), tt.wantErr) })
	}
}
