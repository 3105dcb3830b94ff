package expr

import (
	"encoding/json"
	"testing"
)

func TestTransform(t *testing.T) {
	keys := []string{"a/main.log", "a/other.txt", "b/main.log"}
	for _, tc := range []struct {
		name  string
		exprs []string
		want  string
	}{
		{"none", nil, `["a/main.log","a/other.txt","b/main.log"]`},
		{"Argo's example filter", []string{`filter(data, {# endsWith "main.log"})`}, `["a/main.log","b/main.log"]`},
		{"filter then map", []string{`filter(data, {# endsWith "main.log"})`, `map(data, {# + ".ready"})`}, `["a/main.log.ready","b/main.log.ready"]`},
		{"to a number", []string{`len(data)`}, `3`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Transform(keys, tc.exprs)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(got)
			if string(b) != tc.want {
				t.Errorf("Transform = %s, want %s", b, tc.want)
			}
		})
	}
}

func TestTransformErrors(t *testing.T) {
	for _, tc := range []struct{ name, expr string }{
		{"syntax", `filter(data, {# endsWith })`},
		{"unknown variable", `filter(dat, {# endsWith "x"})`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckTransformation(tc.expr); err == nil {
				t.Errorf("CheckTransformation(%q) = nil, want an error", tc.expr)
			}
			if _, err := Transform([]string{"x"}, []string{tc.expr}); err == nil {
				t.Errorf("Transform(%q) = nil error", tc.expr)
			}
		})
	}
	// Compiles, fails at run time: data is not a list.
	if _, err := Transform([]string{"x"}, []string{`len(data)`, `filter(data, {# > 1})`}); err == nil {
		t.Error("filter over a number: no error")
	}
}
