package strict

import (
	"reflect"
	"strings"
	"testing"
)

type inner struct {
	Count int `json:"count"`
}

type outer struct {
	Name   string            `json:"name"`
	Inner  *inner            `json:"inner,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	Custom string            `json:"custom,omitempty"`
}

func TestCheck(t *testing.T) {
	c := &Checker{
		Unsupported: map[reflect.Type]map[string]string{reflect.TypeOf(outer{}): {"plugin": "use name"}},
	}
	raw := map[string]any{
		"nane":   "x",
		"plugin": map[string]any{},
		"inner":  map[string]any{"count": 1.5},
		"labels": map[string]any{"a.b/c": true},
	}
	var got []string
	for _, f := range c.Check(raw, &outer{}) {
		got = append(got, f.Path+": "+f.Reason)
	}
	want := []string{
		`inner.count: expected a whole number, got a number (1.5)`,
		`labels["a.b/c"]: expected a string, got a boolean`,
		`nane: unknown field "nane": did you mean "name"?`,
		`plugin: field "plugin" is not supported by argolite: use name`,
	}
	if len(got) != len(want) {
		t.Fatalf("faults:\n%s\nwant %d", strings.Join(got, "\n"), len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("fault %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
	called := false
	c.Custom = map[reflect.Type]Custom{reflect.TypeOf(""): func(w *Walker, raw any, path string) {
		called = true
		w.Add(path, "custom")
	}}
	if faults := c.Check(map[string]any{"name": 1}, outer{}); !called || len(faults) != 1 || faults[0].Reason != "custom" {
		t.Errorf("custom check: called %v, faults %v", called, faults)
	}
}
