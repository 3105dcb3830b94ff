package diff

import (
	"strconv"
	"strings"
)

// fieldPath is a concrete location in an object: string elements are map
// keys, int elements list indexes, as jq's path() spells them.
type fieldPath []any

// isIdentifier reports whether jq can write k as .k: [A-Za-z_][A-Za-z0-9_]*.
func isIdentifier(k string) bool {
	if k == "" {
		return false
	}
	for i, c := range k {
		letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// String renders the path as jq does: .spec.containers[0].image, with keys
// that are not identifiers quoted: .metadata.labels["app.kubernetes.io/name"].
func (p fieldPath) String() string {
	if len(p) == 0 {
		return "."
	}
	var b strings.Builder
	for _, e := range p {
		switch e := e.(type) {
		case string:
			if isIdentifier(e) {
				b.WriteByte('.')
				b.WriteString(e)
			} else {
				b.WriteString("[")
				b.WriteString(strconv.Quote(e))
				b.WriteString("]")
			}
		case int:
			b.WriteString("[")
			b.WriteString(strconv.Itoa(e))
			b.WriteString("]")
		}
	}
	return b.String()
}

// child returns p extended by e without sharing p's backing array.
func (p fieldPath) child(e any) fieldPath {
	out := make(fieldPath, len(p), len(p)+1)
	copy(out, p)
	return append(out, e)
}

// removed marks a value that is to be deleted; compact drops it. Not zero
// sized, so the pointer is unique.
type removedMarker struct{ _ byte }

var removed = &removedMarker{}

// step returns the child of node at e and whether it exists. A node already
// marked for removal has no children.
func step(node any, e any) (any, bool) {
	switch n := node.(type) {
	case map[string]any:
		k, ok := e.(string)
		if !ok {
			return nil, false
		}
		v, ok := n[k]
		if !ok || v == removed {
			return nil, false
		}
		return v, true
	case []any:
		i, ok := e.(int)
		if !ok || i < 0 || i >= len(n) || n[i] == removed {
			return nil, false
		}
		return n[i], true
	}
	return nil, false
}

// get returns the value at p in root.
func get(root any, p fieldPath) (any, bool) {
	node := root
	for _, e := range p {
		var ok bool
		if node, ok = step(node, e); !ok {
			return nil, false
		}
	}
	return node, true
}

// mark replaces the value at p with the removal marker; a missing path is not
// an error. It reports whether something was marked.
func mark(root any, p fieldPath) bool {
	if len(p) == 0 {
		return false
	}
	parent, ok := get(root, p[:len(p)-1])
	if !ok {
		return false
	}
	if _, ok := step(parent, p[len(p)-1]); !ok {
		return false
	}
	switch n := parent.(type) {
	case map[string]any:
		n[p[len(p)-1].(string)] = removed
	case []any:
		n[p[len(p)-1].(int)] = removed
	}
	return true
}

// set replaces the existing value at p with v.
func set(root any, p fieldPath, v any) bool {
	if len(p) == 0 {
		return false
	}
	parent, ok := get(root, p[:len(p)-1])
	if !ok {
		return false
	}
	switch n := parent.(type) {
	case map[string]any:
		k, ok := p[len(p)-1].(string)
		if !ok {
			return false
		}
		n[k] = v
		return true
	case []any:
		i, ok := p[len(p)-1].(int)
		if !ok || i < 0 || i >= len(n) {
			return false
		}
		n[i] = v
		return true
	}
	return false
}

// compact deletes marked values from maps and lists and drops the maps and
// lists that became empty because of it, as Argo CD does after removing
// ignored fields. It returns the new node and whether anything was removed.
func compact(node any) (any, bool) {
	switch n := node.(type) {
	case map[string]any:
		changed := false
		for k, v := range n {
			if v == removed {
				delete(n, k)
				changed = true
				continue
			}
			nv, c := compact(v)
			if !c {
				continue
			}
			changed = true
			if isEmptyContainer(nv) {
				delete(n, k)
			} else {
				n[k] = nv
			}
		}
		return n, changed
	case []any:
		changed := false
		out := n[:0:0]
		for _, v := range n {
			if v == removed {
				changed = true
				continue
			}
			nv, c := compact(v)
			if c {
				changed = true
				if isEmptyContainer(nv) {
					continue
				}
			}
			out = append(out, nv)
		}
		if !changed {
			return n, false
		}
		return out, true
	}
	return node, false
}

func isEmptyContainer(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}

// deepCopy copies JSON-like values. Integers become int64 and float32
// float64, as apimachinery decodes them; other values are shared.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = deepCopy(e)
		}
		return out
	case int:
		return int64(v)
	case int32:
		return int64(v)
	case float32:
		return float64(v)
	}
	return v
}

// integer returns v as an int64 when it is an integer.
func integer(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	}
	return 0, false
}

// number returns v as a float64 when it is a number.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case float32:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// equal compares JSON-like values; numbers compare by value whatever their Go type.
func equal(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, av := range a {
			bv, ok := b[k]
			if !ok || !equal(av, bv) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equal(a[i], b[i]) {
				return false
			}
		}
		return true
	case string:
		b, ok := b.(string)
		return ok && a == b
	case bool:
		b, ok := b.(bool)
		return ok && a == b
	case nil:
		return b == nil
	}
	if ai, ok := integer(a); ok {
		if bi, ok := integer(b); ok {
			return ai == bi
		}
	}
	if an, ok := number(a); ok {
		bn, ok := number(b)
		return ok && an == bn
	}
	return false
}

// toJQ converts an unstructured value to the types gojq accepts (int
// instead of int64); values of other types become null.
func toJQ(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = toJQ(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = toJQ(e)
		}
		return out
	case string, bool, float64, int, nil:
		return v
	case int64:
		if int64(int(v)) == v {
			return int(v)
		}
		return float64(v)
	case int32:
		return int(v)
	case float32:
		return float64(v)
	}
	return nil
}
