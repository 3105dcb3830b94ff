// Package strict owns the strict check of an object decoded from JSON (the
// content of an unstructured object, a YAML document) against the Go type it
// is meant for: every field the type does not have is a Fault with its full
// path, so that argolite rejects what it does not support by name instead of
// ignoring it. A Checker carries what differs per API family: the fields the
// Argo project has and argolite knowingly lacks (with what to do instead), and
// the types that need a check of their own. wfvalidate (the workflow kinds)
// and agent/rollout/analysis (the analysis kinds) each configure one.
//
// It also owns the small helpers around it that validators share: field
// paths (Join, Index, Key), the JSON fields of a struct type as
// encoding/json sees them (Fields), and the "did you mean" of a misspelt
// name (Suggest).
package strict

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Fault is one field that does not fit the type: where it is and why.
type Fault struct {
	// Path is the field, as `spec.metrics[0].provider.datadog`, from the
	// root of the checked object.
	Path string
	// Reason says what is wrong and how to fix it.
	Reason string
}

// Custom checks the values of one type itself: w reports faults and walks
// nested values on.
type Custom func(w *Walker, raw any, path string)

// Checker checks objects against Go types.
type Checker struct {
	// Unsupported maps a struct type to the fields of the Argo type it
	// mirrors that argolite does not support, each with what to do
	// instead: such a field is "not supported by argolite: HINT".
	Unsupported map[reflect.Type]map[string]string
	// Custom are the types whose values are checked by a function of their
	// own instead of by their Go shape.
	Custom map[reflect.Type]Custom
}

// Check returns one Fault per field of raw the type of into (a pointer or
// a value) does not have, with its full path, and per value of the wrong
// kind (a list where an object belongs, a number where a string belongs).
// Paths start at raw: prefix them when raw is a part of an object. Values
// of the types that decode themselves (json.Unmarshaler,
// intstr.IntOrString, resource.Quantity, metav1.Time) are not looked into.
func (c *Checker) Check(raw map[string]any, into any) []Fault {
	t := reflect.TypeOf(into)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	w := &Walker{c: c}
	if t == nil {
		w.Add("", "no type to check against")
		return w.faults
	}
	w.Walk(raw, t, "")
	return w.faults
}

// Walker is one run of a Checker.
type Walker struct {
	c      *Checker
	faults []Fault
}

// Add records a fault at path.
func (w *Walker) Add(path, format string, args ...any) {
	w.faults = append(w.faults, Fault{Path: path, Reason: fmt.Sprintf(format, args...)})
}

var (
	unmarshalerType  = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()
	intOrStringT     = reflect.TypeOf(intstr.IntOrString{})
	quantityT        = reflect.TypeOf(resource.Quantity{})
	timeT            = reflect.TypeOf(metav1.Time{})
	microTimeT       = reflect.TypeOf(metav1.MicroTime{})
	rawMessageT      = reflect.TypeOf(json.RawMessage{})
	stringSliceBytes = reflect.TypeOf([]byte(nil))
)

// Walk checks raw against t at path.
func (w *Walker) Walk(raw any, t reflect.Type, path string) {
	if raw == nil {
		return // null leaves the zero value, everywhere
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if f, ok := w.c.Custom[t]; ok {
		f(w, raw, path)
		return
	}
	switch t {
	case intOrStringT:
		if _, ok := raw.(string); !ok && (!IsNumber(raw) || !IsInteger(raw)) {
			w.Add(path, "expected a whole number or a string, got %s", Describe(raw))
		}
		return
	case quantityT:
		if _, ok := raw.(string); !ok && !IsNumber(raw) {
			w.Add(path, "expected a quantity (such as 500m, 1Gi or 2), got %s", KindOf(raw))
		}
		return
	case timeT, microTimeT:
		if _, ok := raw.(string); !ok {
			w.Add(path, "expected a time (RFC 3339 string), got %s", KindOf(raw))
		}
		return
	case rawMessageT:
		return
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || t.Implements(unmarshalerType) {
		return // decodes itself
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := raw.(map[string]any)
		if !ok {
			w.Add(path, "expected an object, got %s", KindOf(raw))
			return
		}
		fields := jsonFields(t)
		for _, k := range sortedKeys(obj) {
			f, ok := fields.byName[k]
			if !ok {
				w.Add(Key(path, k), "%s", w.unknownField(t, k, fields))
				continue
			}
			w.Walk(obj[k], f.Type, Key(path, k))
		}
	case reflect.Map:
		obj, ok := raw.(map[string]any)
		if !ok {
			w.Add(path, "expected an object (a map), got %s", KindOf(raw))
			return
		}
		for _, k := range sortedKeys(obj) {
			w.Walk(obj[k], t.Elem(), Key(path, k))
		}
	case reflect.Slice, reflect.Array:
		if t == stringSliceBytes {
			if _, ok := raw.(string); !ok {
				w.Add(path, "expected base64 text, got %s", KindOf(raw))
			}
			return
		}
		list, ok := raw.([]any)
		if !ok {
			w.Add(path, "expected a list, got %s", KindOf(raw))
			return
		}
		for i, v := range list {
			w.Walk(v, t.Elem(), Index(path, i))
		}
	case reflect.String:
		if _, ok := raw.(string); !ok {
			if _, isBool := raw.(bool); isBool {
				w.Add(path, "expected a string, got a boolean: quote the value (YAML reads unquoted y, n, yes, no, on, off, true and false as booleans)")
			} else {
				w.Add(path, "expected a string, got %s: quote the value", KindOf(raw))
			}
		}
	case reflect.Bool:
		if _, ok := raw.(bool); !ok {
			w.Add(path, "expected true or false, got %s", KindOf(raw))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if !IsNumber(raw) || !IsInteger(raw) {
			w.Add(path, "expected a whole number, got %s", Describe(raw))
		}
	case reflect.Float32, reflect.Float64:
		if !IsNumber(raw) {
			w.Add(path, "expected a number, got %s", KindOf(raw))
		}
	}
}

func sortedKeys(obj map[string]any) []string {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// unknownField explains a field the type does not have.
func (w *Walker) unknownField(t reflect.Type, name string, fields *fieldSet) string {
	if hint, ok := w.c.Unsupported[t][name]; ok {
		return fmt.Sprintf("field %q is not supported by argolite: %s", name, hint)
	}
	msg := fmt.Sprintf("unknown field %q", name)
	names := make([]string, 0, len(fields.order))
	for _, f := range fields.order {
		names = append(names, f.Name)
	}
	if s := Suggest(name, names); s != "" {
		return msg + fmt.Sprintf(": did you mean %q?", s)
	}
	if len(names) <= 12 {
		return msg + ": the fields here are " + strings.Join(names, ", ")
	}
	return msg + ": remove it, or check its spelling and indentation"
}

// Join appends a field name to a path.
func Join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Key appends a map key to a path: `.key`, or `["key"]` when the key holds
// dots, slashes or other characters that would make the path ambiguous.
func Key(path, k string) string {
	if plainKey.MatchString(k) {
		return Join(path, k)
	}
	return fmt.Sprintf("%s[%q]", path, k)
}

// Index appends a list index to a path.
func Index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// KindOf names the JSON kind of a decoded value.
func KindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	if IsNumber(v) {
		return "a number"
	}
	return fmt.Sprintf("a %T", v)
}

// Describe is KindOf, with the value for scalars.
func Describe(v any) string {
	switch v.(type) {
	case map[string]any, []any, nil:
		return KindOf(v)
	}
	return fmt.Sprintf("%s (%v)", KindOf(v), v)
}

// IsNumber reports whether a decoded value is a number.
func IsNumber(v any) bool {
	switch v.(type) {
	case json.Number, float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return true
	}
	return false
}

// IsInteger reports whether a decoded number is whole.
func IsInteger(v any) bool {
	switch n := v.(type) {
	case json.Number:
		// Only plain integers decode into Go integers: not 5.0, not 1e3.
		_, err := n.Int64()
		return err == nil
	case float64:
		return n == float64(int64(n))
	case float32:
		return n == float32(int64(n))
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return true
	}
	return false
}

// Field is one JSON field of a struct type.
type Field struct {
	Name  string
	Type  reflect.Type
	Index []int
}

type fieldSet struct {
	byName map[string]Field
	order  []Field
}

var fieldCache sync.Map // reflect.Type -> *fieldSet

// Fields lists the JSON fields of a struct type as encoding/json sees them,
// in declaration order: tagged names, untagged exported names, and the
// fields of embedded structs (inline) merged in.
func Fields(t reflect.Type) []Field { return jsonFields(t).order }

func jsonFields(t reflect.Type) *fieldSet {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.(*fieldSet)
	}
	fs := &fieldSet{byName: map[string]Field{}}
	var collect func(t reflect.Type, idx []int)
	collect = func(t reflect.Type, idx []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			at := append(append([]int(nil), idx...), i)
			if f.Anonymous && name == "" {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					collect(ft, at)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if _, dup := fs.byName[name]; dup {
				continue // the shallower field wins, as in encoding/json
			}
			jf := Field{Name: name, Type: f.Type, Index: at}
			fs.byName[name] = jf
			fs.order = append(fs.order, jf)
		}
	}
	collect(t, nil)
	fieldCache.Store(t, fs)
	return fs
}

// Suggest returns the candidate closest to name when it is close enough to
// be a typo (the same but for case, or an edit distance of at most 2, or 1
// when either name is short), else "".
func Suggest(name string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if strings.EqualFold(c, name) {
			return c
		}
		limit := 2
		if min(len(name), len(c)) <= 4 {
			limit = 1
		}
		if min(len(name), len(c)) <= 1 {
			continue
		}
		if d := distance(strings.ToLower(name), strings.ToLower(c)); d <= limit && d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// distance is the edit distance of a and b, counting the swap of two
// neighbouring characters as one edit (optimal string alignment).
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
