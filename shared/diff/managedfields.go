package diff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/value"
)

// managedCache reads the field sets of managers from one object's
// metadata.managedFields once, for the several objects normalized against it.
type managedCache struct {
	from *unstructured.Unstructured
	want map[string]bool
	got  map[string]*fieldpath.Set
}

// sets returns the field sets of managers in want, reading them on first use.
func (c *managedCache) sets(want map[string]bool) (map[string]*fieldpath.Set, error) {
	if c == nil || c.from == nil {
		return nil, nil
	}
	if c.want != nil && maps.Equal(c.want, want) {
		return c.got, nil
	}
	got, err := managedFields(c.from.Object, want)
	if err != nil {
		return nil, err
	}
	c.want, c.got = want, got
	return got, nil
}

// managedFields returns, for each manager in want that appears in the
// metadata.managedFields of src, the union of the field sets it owns
// (across operations and subresources).
func managedFields(src map[string]any, want map[string]bool) (map[string]*fieldpath.Set, error) {
	meta, _ := src["metadata"].(map[string]any)
	entries, _ := meta["managedFields"].([]any)
	var out map[string]*fieldpath.Set
	for i, e := range entries {
		entry, _ := e.(map[string]any)
		manager, _ := entry["manager"].(string)
		if !want[manager] {
			continue
		}
		fields, ok := entry["fieldsV1"]
		if !ok {
			continue
		}
		raw, err := json.Marshal(fields)
		if err != nil {
			return nil, fmt.Errorf("metadata.managedFields[%d] (manager %q): fieldsV1: %w", i, manager, err)
		}
		set := &fieldpath.Set{}
		if err := set.FromJSON(bytes.NewReader(raw)); err != nil {
			return nil, fmt.Errorf("metadata.managedFields[%d] (manager %q): fieldsV1: %w", i, manager, err)
		}
		if out == nil {
			out = map[string]*fieldpath.Set{}
		}
		if prev, ok := out[manager]; ok {
			set = prev.Union(set)
		}
		out[manager] = set
	}
	return out, nil
}

// resolveManaged turns a structured-merge-diff path into the concrete path
// it names in root: list items keyed by k:{...} or v:... are found by their
// key fields or value, not by position. ok is false when the path does not
// exist in root.
func resolveManaged(root any, p fieldpath.Path) (fieldPath, bool) {
	out := make(fieldPath, 0, len(p))
	node := root
	for _, pe := range p {
		var e any
		switch {
		case pe.FieldName != nil:
			e = *pe.FieldName
		case pe.Index != nil:
			e = *pe.Index
		case pe.Key != nil:
			i, ok := findKeyed(node, *pe.Key)
			if !ok {
				return nil, false
			}
			e = i
		case pe.Value != nil:
			list, _ := node.([]any)
			want := (*pe.Value).Unstructured()
			e = -1
			for i, item := range list {
				if equal(item, want) {
					e = i
					break
				}
			}
		default:
			return nil, false
		}
		next, ok := step(node, e)
		if !ok {
			return nil, false
		}
		out = append(out, e)
		node = next
	}
	return out, true
}

// findKeyed returns the index of the list item whose key fields all equal the key's.
func findKeyed(node any, key value.FieldList) (int, bool) {
	list, _ := node.([]any)
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			continue
		}
		match := true
		for _, f := range key {
			if v, ok := m[f.Name]; !ok || !equal(v, f.Value.Unstructured()) {
				match = false
				break
			}
		}
		if match {
			return i, true
		}
	}
	return 0, false
}
