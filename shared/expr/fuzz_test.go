package expr

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzReplace checks that no template makes Replace panic, and that JSON
// stays JSON. `go test` runs the seed corpus; `go test -fuzz FuzzReplace`
// explores further.
func FuzzReplace(f *testing.F) {
	for _, s := range []string{
		"", "{{", "}}", "{{}}", "{{=}}", "{{ = }}", "{{{{}}}}", "{{a}}", "{{ a }}", "{{=a}}",
		"{{=a + 1}}", "{{=!}}", "{{=1/0}}", "{{=nil}}", "{{=[1,2]}}", "{{=toJson({a: 1})}}",
		"{{=sprig.trim(b)}}", "{{=asInt(a) * 2}}", "{{=jsonpath(j, '$.x[?(@.y > 1)]')}}",
		"{{=jsonpath(j, '$..')}}", "{{=jsonpath(j, '$[(@.length-1)]')}}", "{{=retries}}",
		"{{=workflow.status}}", "{{outer-{{a}}}}", "{{a {{b {{c}}}}}}", "x {{a}} {{b", "{{=\"\\u003c\"}}",
		"{{=let x = 1; x}}", "{{=map([1], {# * 2})}}", "{{=a matches '('}}", "\xff{{a}}\xfe",
		"{{=sprig.until(3)}}", "{{=steps['x-y'].outputs.result}}",
	} {
		f.Add(s, false, false)
		f.Add(s, true, false)
		f.Add(s, true, true)
	}
	vars := map[string]string{
		"a": "1", "b": " two ", "c": "3", "j": `{"x":[{"y":1},{"y":2}]}`,
		"steps.x-y.outputs.result": "r", "workflow.name": "wf", "": "empty",
	}
	f.Fuzz(func(t *testing.T, s string, allow, jsonForm bool) {
		opts := Options{AllowUnresolved: allow, JSONEscape: jsonForm}
		in := s
		if jsonForm {
			b, _ := json.Marshal(s)
			in = string(b)
		}
		out, err := Replace(in, vars, opts)
		if err == nil && jsonForm && !json.Valid([]byte(out)) {
			t.Errorf("Replace(%q) = %q: not JSON", in, out)
		}
		if err == nil && !strings.Contains(in, "{{") && out != in {
			t.Errorf("Replace(%q) = %q: changed a string without tags", in, out)
		}
		_ = Tags(s)
		_ = ValidateSyntax(s)
		_, _ = When(s)
		if d, err := ParseDepends(s); err == nil {
			_, _ = d.Eval(func(string) TaskState { return TaskState{Phase: PhaseSucceeded} })
		}
	})
}

// FuzzJSONPath checks that no path or document makes jsonpath panic.
func FuzzJSONPath(f *testing.F) {
	for _, p := range []string{
		"$", "$.a", "$..a", "$[0]", "$[-1]", "$[*]", "$.*", "$[0:2]", "$[::]", "$[0,1]", "$['a','b']",
		"$[?(@.a > 1)]", "$[?(@.a =~ /x/)]", "$[(@.length-1)]", "$[?(!@.a || @.b && -@.c < 2 % 0)]",
		"$[", "$[?(", "$[?(@.a == 'x)]", "$..[0]", "$.length", "$['a\\'b']",
	} {
		f.Add(p, `{"a":[1,{"a":2,"b":"x"}],"b":{"length":3}}`)
	}
	f.Fuzz(func(t *testing.T, path, doc string) {
		var data any
		if json.Unmarshal([]byte(doc), &data) != nil {
			return
		}
		_, _ = jsonPathQuery(path, data)
	})
}
