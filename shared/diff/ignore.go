package diff

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gobwas/glob"
	"github.com/itchyny/gojq"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/argolite/argolite/shared/api/v1alpha1"
)

// errNotAPath is the error for a jq expression that computes values instead
// of selecting fields.
var errNotAPath = errors.New(`the expression computes a value instead of selecting fields; write a path expression such as .spec.replicas or .spec.containers[] | select(.name == "x")`)

// jqTimeout bounds one jq path expression on one object, as Argo CD does.
const jqTimeout = time.Second

// Ignorer applies an Application's ignoreDifferences rules. It is safe for
// concurrent use; a nil Ignorer ignores nothing.
type Ignorer struct {
	rules []rule
}

type rule struct {
	index       int
	group, kind glob.Glob
	name, ns    string
	pointers    [][]string // unescaped reference tokens
	jq          []jqRule
	managers    map[string]bool
}

type jqRule struct {
	field string // ignoreDifferences[i].jqPathExpressions[j]
	raw   string
	code  *gojq.Code
}

// NewIgnorer compiles the rules: globs in group and kind, JSON pointers and
// jq path expressions are parsed once. Errors name the rule and the field.
func NewIgnorer(rules []v1alpha1.ResourceIgnoreDifferences) (*Ignorer, error) {
	ign := &Ignorer{rules: make([]rule, 0, len(rules))}
	for i, r := range rules {
		at := fmt.Sprintf("ignoreDifferences[%d]", i)
		if r.Kind == "" {
			return nil, fmt.Errorf(`%s.kind is empty; name a kind, or "*" for every kind; fix the Application spec`, at)
		}
		c := rule{index: i, name: r.Name, ns: r.Namespace}
		var err error
		if c.group, err = glob.Compile(r.Group); err != nil {
			return nil, fmt.Errorf("%s.group %q: %w; fix the Application spec", at, r.Group, err)
		}
		if c.kind, err = glob.Compile(r.Kind); err != nil {
			return nil, fmt.Errorf("%s.kind %q: %w; fix the Application spec", at, r.Kind, err)
		}
		for j, p := range r.JSONPointers {
			tokens, err := parsePointer(p)
			if err != nil {
				return nil, fmt.Errorf("%s.jsonPointers[%d] %q: %w; fix the Application spec", at, j, p, err)
			}
			c.pointers = append(c.pointers, tokens)
		}
		for j, e := range r.JQPathExpressions {
			field := fmt.Sprintf("%s.jqPathExpressions[%d]", at, j)
			code, err := compileJQ(e)
			if err != nil {
				return nil, fmt.Errorf("%s %q: %w; fix the Application spec", field, e, err)
			}
			c.jq = append(c.jq, jqRule{field: field, raw: e, code: code})
		}
		for j, m := range r.ManagedFieldsManagers {
			if m == "" {
				return nil, fmt.Errorf("%s.managedFieldsManagers[%d] is empty; name a field manager as metadata.managedFields lists it; fix the Application spec", at, j)
			}
			if c.managers == nil {
				c.managers = map[string]bool{}
			}
			c.managers[m] = true
		}
		ign.rules = append(ign.rules, c)
	}
	return ign, nil
}

// compileJQ compiles path(expr): running it yields the paths of the values
// expr selects, which is what Argo CD deletes with del(expr).
func compileJQ(expr string) (*gojq.Code, error) {
	if _, err := gojq.Parse(expr); err != nil {
		var pe *gojq.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("parse error at offset %d: %w", pe.Offset, err)
		}
		return nil, fmt.Errorf("parse error: %w", err)
	}
	// The newline ends a trailing comment in expr.
	q, err := gojq.Parse("path(" + expr + "\n)")
	if err != nil {
		return nil, fmt.Errorf("parse error: %w", err)
	}
	// Without gojq.WithEnvironLoader, $ENV and env are empty: keep it so,
	// an Application must not read the agent's environment.
	code, err := gojq.Compile(q)
	if err != nil {
		return nil, fmt.Errorf("compile error: %w", err)
	}
	// Catch expressions that compute values instead of selecting fields
	// (such as `.spec.replicas | tostring`) now rather than at every compare.
	if _, err := runJQ(code, map[string]any{}); err != nil {
		return nil, err
	}
	return code, nil
}

// runJQ runs a compiled path(expr) and returns the selected paths. An
// error on the data (iterating over a missing list, indexing a string)
// selects nothing, as del(expr) fails as a whole in Argo CD and the object is
// left alone; the returned error is for expressions that select no fields at
// all, time out or break gojq.
func runJQ(code *gojq.Code, input any) (paths []fieldPath, err error) {
	defer func() {
		if recover() != nil {
			// The panic value may quote the object: do not repeat it.
			paths, err = nil, errors.New("gojq failed on this object")
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), jqTimeout)
	defer cancel()
	iter := code.RunWithContext(ctx, input)
	for {
		v, ok := iter.Next()
		if !ok {
			return paths, nil
		}
		if err, ok := v.(error); ok {
			switch {
			case errors.Is(err, context.DeadlineExceeded):
				return nil, fmt.Errorf("timed out after %s", jqTimeout)
			case isInvalidPath(err):
				// gojq's message quotes the value, which may be a Secret's.
				return nil, errNotAPath
			}
			return nil, nil
		}
		if elems, ok := v.([]any); ok && len(elems) > 0 {
			paths = append(paths, elems)
		}
	}
}

// resolveJQ turns a path from jq into the concrete path it names in root:
// negative indexes count from the end of the list, and a slice ({start,
// end}) at the end stands for each index it covers. It returns nothing when
// the field does not exist.
func resolveJQ(root any, p fieldPath) []fieldPath {
	out := make(fieldPath, 0, len(p))
	node := root
	for n, e := range p {
		switch v := e.(type) {
		case int:
			if list, ok := node.([]any); ok && v < 0 {
				e = v + len(list)
			}
		case map[string]any:
			list, ok := node.([]any)
			if !ok || n != len(p)-1 {
				return nil
			}
			start, end := sliceBound(v["start"], 0, len(list)), sliceBound(v["end"], len(list), len(list))
			var all []fieldPath
			for i := start; i < end; i++ {
				all = append(all, out.child(i))
			}
			return all
		}
		next, ok := step(node, e)
		if !ok {
			return nil
		}
		out = append(out, e)
		node = next
	}
	return []fieldPath{out}
}

// sliceBound resolves one bound of a jq slice against a list of length n.
func sliceBound(v any, def, n int) int {
	f, ok := number(v)
	if !ok {
		return def
	}
	i := int(f)
	if i < 0 {
		i += n
	}
	return max(0, min(i, n))
}

// isInvalidPath reports gojq's error for a value that is not a path of the
// input; gojq does not export its type.
func isInvalidPath(err error) bool {
	return strings.HasPrefix(err.Error(), "invalid path against")
}

// Matches returns the indexes of the rules that apply to obj: group and kind
// match as globs (an empty group is the core group), name and namespace
// exactly, and empty name or namespace match any, as in Argo CD.
func (i *Ignorer) Matches(obj *unstructured.Unstructured) []int {
	var out []int
	for _, r := range i.matching(obj) {
		out = append(out, r.index)
	}
	return out
}

func (i *Ignorer) matching(obj *unstructured.Unstructured) []*rule {
	if i == nil || obj == nil {
		return nil
	}
	gk := obj.GroupVersionKind().GroupKind()
	var out []*rule
	for n := range i.rules {
		r := &i.rules[n]
		if r.group.Match(gk.Group) && r.kind.Match(gk.Kind) &&
			(r.name == "" || r.name == obj.GetName()) &&
			(r.ns == "" || r.ns == obj.GetNamespace()) {
			out = append(out, r)
		}
	}
	return out
}

// Apply removes the ignored fields from obj in place: those its JSON
// pointers name (a missing path is not an error), those its jq path
// expressions select, and those that a manager in managedFieldsManagers owns
// according to the metadata.managedFields of managedFieldsFrom (obj itself
// when nil). Maps and lists left empty by the removal are removed too.
//
// A jq expression that fails on the data (such as iterating over a missing
// list) selects nothing, as in Argo CD; one that is not a path expression or
// takes longer than a second is an error.
func (i *Ignorer) Apply(obj *unstructured.Unstructured, managedFieldsFrom *unstructured.Unstructured) error {
	if obj == nil {
		return nil
	}
	if managedFieldsFrom == nil {
		managedFieldsFrom = obj
	}
	paths, err := i.paths(obj, obj, &managedCache{from: managedFieldsFrom})
	if err != nil {
		return err
	}
	removeAll(obj.Object, paths)
	return nil
}

// removeAll removes paths from root, resolving them all before changing
// anything so list indexes keep their meaning.
func removeAll(root map[string]any, paths []fieldPath) {
	marked := false
	for _, p := range paths {
		if mark(root, p) {
			marked = true
		}
	}
	if marked {
		compact(root)
	}
}

// paths returns the concrete paths in obj that the rules matching id ignore.
func (i *Ignorer) paths(id, obj *unstructured.Unstructured, mf *managedCache) ([]fieldPath, error) {
	rules := i.matching(id)
	if len(rules) == 0 {
		return nil, nil
	}
	var out []fieldPath
	var jqInput any
	var managers map[string]bool
	for _, r := range rules {
		for _, p := range r.pointers {
			if fp, ok := resolvePointer(obj.Object, p); ok {
				out = append(out, fp)
			}
		}
		for _, e := range r.jq {
			if jqInput == nil {
				jqInput = toJQ(obj.Object)
			}
			found, err := runJQ(e.code, jqInput)
			if err != nil {
				return nil, fmt.Errorf("%s: %s %q: %w; fix the Application spec", describe(id), e.field, e.raw, err)
			}
			for _, fp := range found {
				out = append(out, resolveJQ(obj.Object, fp)...)
			}
		}
		for m := range r.managers {
			if managers == nil {
				managers = map[string]bool{}
			}
			managers[m] = true
		}
	}
	if len(managers) > 0 {
		sets, err := mf.sets(managers)
		if err != nil {
			return nil, fmt.Errorf("%s: reading managedFieldsManagers: %w", describe(id), err)
		}
		names := make([]string, 0, len(sets))
		for m := range sets {
			names = append(names, m)
		}
		sort.Strings(names)
		for _, m := range names {
			sets[m].Iterate(func(p fieldpath.Path) {
				if fp, ok := resolveManaged(obj.Object, p); ok {
					out = append(out, fp)
				}
			})
		}
	}
	return out, nil
}

// Strip prepares desired for the RespectIgnoreDifferences sync option when
// live exists: each ignored field of desired takes live's value, and is
// removed from desired when live does not have it. Server-side apply then
// leaves the field as it is: a field another manager owns (an HPA's
// replicas) keeps that manager's value, and a field argolite still owns is
// not reset, which removing it from the applied configuration would do.
// Ignored fields live has and desired lacks are not added. desired is
// changed in place; with live nil, Strip does nothing.
func (i *Ignorer) Strip(desired, live *unstructured.Unstructured) error {
	if desired == nil || live == nil {
		return nil
	}
	mf := &managedCache{from: live}
	dPaths, err := i.paths(desired, desired, mf)
	if err != nil {
		return err
	}
	lPaths, err := i.paths(desired, live, mf)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var targets []fieldPath
	add := func(p fieldPath) {
		if k := p.String(); !seen[k] {
			seen[k] = true
			targets = append(targets, p)
		}
	}
	for _, p := range dPaths {
		add(p)
	}
	for _, p := range lPaths {
		if dp, ok := translate(p, live.Object, desired.Object); ok {
			add(dp)
		}
	}
	// Parents first, so a child is looked up in the value copied from live.
	sort.SliceStable(targets, func(a, b int) bool { return len(targets[a]) < len(targets[b]) })
	var gone []fieldPath
	for _, dp := range targets {
		lp, ok := translate(dp, desired.Object, live.Object)
		if !ok {
			gone = append(gone, dp)
			continue
		}
		v, _ := get(live.Object, lp)
		set(desired.Object, dp, deepCopy(v))
	}
	removeAll(desired.Object, gone)
	return nil
}

// translate maps a path in from to the same field in to: map keys are kept;
// a list item is found by its name when it has one, otherwise by position
// when both lists are as long. ok is false when to has no such field.
func translate(p fieldPath, from, to any) (fieldPath, bool) {
	out := make(fieldPath, 0, len(p))
	for _, e := range p {
		fromNext, ok := step(from, e)
		if !ok {
			return nil, false
		}
		te := e
		if idx, isIndex := e.(int); isIndex {
			fl, _ := from.([]any)
			tl, _ := to.([]any)
			te = -1
			if name, named := itemName(fromNext); named {
				for j, item := range tl {
					if n, ok := itemName(item); ok && n == name {
						te = j
						break
					}
				}
			} else if len(fl) == len(tl) {
				te = idx
			}
		}
		toNext, ok := step(to, te)
		if !ok {
			return nil, false
		}
		out = append(out, te)
		from, to = fromNext, toNext
	}
	return out, true
}

func itemName(v any) (string, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return "", false
	}
	n, ok := m["name"].(string)
	return n, ok
}

// describe names an object in errors: Deployment.apps ns/web.
func describe(obj *unstructured.Unstructured) string {
	gk := obj.GroupVersionKind().GroupKind().String()
	if ns := obj.GetNamespace(); ns != "" {
		return gk + " " + ns + "/" + obj.GetName()
	}
	return gk + " " + obj.GetName()
}
