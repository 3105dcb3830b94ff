package diff

import (
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// maxPaths bounds Result.Paths: enough for a status message.
const maxPaths = 10

// Result is the comparison of one object.
type Result struct {
	// Modified is true when the normalized objects differ, or one is missing.
	Modified bool
	// Live and Desired are the normalized objects; nil when missing.
	Live, Desired *unstructured.Unstructured
	// Paths are the first changed fields, in jq syntax such as .spec.replicas
	// or .metadata.labels["app.kubernetes.io/name"], at most 10; a list whose
	// length changed is one path. Empty when an object is missing.
	Paths []string
}

// Compare normalizes live and desired (ignore rules read live's
// managedFields) and compares them. A nil live is Modified (the object is
// missing), and so is a nil desired (the object is extra).
func Compare(live, desired *unstructured.Unstructured, ign *Ignorer) (Result, error) {
	var r Result
	var err error
	// Desired's ignored fields follow live's managers: the dry-run gives
	// argolite the fields it applied.
	mf := &managedCache{from: live}
	if live == nil {
		mf.from = desired
	}
	if live != nil {
		if r.Live, err = normalize(live, ign, mf); err != nil {
			return Result{}, err
		}
	}
	if desired != nil {
		if r.Desired, err = normalize(desired, ign, mf); err != nil {
			return Result{}, err
		}
	}
	switch {
	case r.Live == nil && r.Desired == nil:
	case r.Live == nil || r.Desired == nil:
		r.Modified = true
	default:
		w := walker{}
		w.walk(r.Live.Object, r.Desired.Object)
		r.Paths = w.paths
		r.Modified = w.changed
	}
	return r, nil
}

// walker collects the paths where two values differ.
type walker struct {
	paths   []string
	changed bool
	stack   fieldPath
}

// walk compares a and b at w.stack; it stops collecting after maxPaths.
func (w *walker) walk(a, b any) {
	if len(w.paths) >= maxPaths {
		return
	}
	switch av := a.(type) {
	case map[string]any:
		if bv, ok := b.(map[string]any); ok {
			keys := make([]string, 0, len(av)+len(bv))
			for k := range av {
				keys = append(keys, k)
			}
			for k := range bv {
				if _, ok := av[k]; !ok {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			for _, k := range keys {
				x, inA := av[k]
				y, inB := bv[k]
				w.stack = append(w.stack, k)
				if inA != inB {
					w.add()
				} else {
					w.walk(x, y)
				}
				w.stack = w.stack[:len(w.stack)-1]
			}
			return
		}
	case []any:
		if bv, ok := b.([]any); ok && len(av) == len(bv) {
			for i := range av {
				w.stack = append(w.stack, i)
				w.walk(av[i], bv[i])
				w.stack = w.stack[:len(w.stack)-1]
			}
			return
		}
	}
	if !equal(a, b) {
		w.add()
	}
}

func (w *walker) add() {
	w.changed = true
	if len(w.paths) < maxPaths {
		w.paths = append(w.paths, w.stack.String())
	}
}
