package wfvalidate

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

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// Strict checks raw, an object as decoded from JSON (maps, lists and
// scalars, such as the content of an unstructured object), against the Go
// type of into (a pointer or a value: *argov1.Workflow, argov1.Template,
// ...), and returns one Error per field the type does not have, with its
// full path, and per value of the wrong kind (a list where an object
// belongs, a number where a string belongs). Paths start at raw: prefix them
// yourself when raw is a part of an object.
//
// Fields Argo Workflows has and argolite does not support say so ("not
// supported by argolite"); other unknown fields get a "did you mean" when a
// known field is close. Values of the types that decode themselves
// (intstr.IntOrString, resource.Quantity, metav1.Time, json.RawMessage,
// argov1.Item, argov1.AnyString, argov1.Amount) are not looked into;
// argov1.ParallelSteps is a list of steps, as in Argo.
func Strict(raw map[string]any, into any) Errors {
	t := reflect.TypeOf(into)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var l errorList
	if t == nil {
		l.add("", "no type to check against")
		return l.errs
	}
	strictWalk(&l, raw, t, "")
	return l.errs
}

var (
	unmarshalerType  = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()
	parallelStepsT   = reflect.TypeOf(argov1.ParallelSteps{})
	workflowStepT    = reflect.TypeOf(argov1.WorkflowStep{})
	anyStringT       = reflect.TypeOf(argov1.AnyString(""))
	intOrStringT     = reflect.TypeOf(intstr.IntOrString{})
	quantityT        = reflect.TypeOf(resource.Quantity{})
	timeT            = reflect.TypeOf(metav1.Time{})
	microTimeT       = reflect.TypeOf(metav1.MicroTime{})
	amountT          = reflect.TypeOf(argov1.Amount{})
	rawMessageT      = reflect.TypeOf(json.RawMessage{})
	itemT            = reflect.TypeOf(argov1.Item{})
	stringSliceBytes = reflect.TypeOf([]byte(nil))
)

// join appends a field name to a path.
func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// key appends a map key to a path: `.key`, or `["key"]` when the key holds
// dots, slashes or other characters that would make the path ambiguous.
func key(path, k string) string {
	if plainKey.MatchString(k) {
		return join(path, k)
	}
	return fmt.Sprintf("%s[%q]", path, k)
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// kindOf names the JSON kind of a decoded value.
func kindOf(v any) string {
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
	if isNumber(v) {
		return "a number"
	}
	return fmt.Sprintf("a %T", v)
}

func isNumber(v any) bool {
	switch v.(type) {
	case json.Number, float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return true
	}
	return false
}

// isInteger reports whether a decoded number is whole.
func isInteger(v any) bool {
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

func strictWalk(l *errorList, raw any, t reflect.Type, path string) {
	if raw == nil {
		return // null leaves the zero value, everywhere
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case parallelStepsT:
		list, ok := raw.([]any)
		if !ok {
			l.add(path, "expected a list of steps that run in parallel (`- - name: ...`), got %s", kindOf(raw))
			return
		}
		for i, s := range list {
			strictWalk(l, s, workflowStepT, index(path, i))
		}
		return
	case anyStringT:
		switch raw.(type) {
		case map[string]any, []any:
			l.add(path, "expected a string, a number or a boolean, got %s: quote it to pass it as text", kindOf(raw))
		}
		return
	case intOrStringT:
		if _, ok := raw.(string); !ok && (!isNumber(raw) || !isInteger(raw)) {
			l.add(path, "expected a whole number or a string, got %s", describe(raw))
		}
		return
	case quantityT:
		if _, ok := raw.(string); !ok && !isNumber(raw) {
			l.add(path, "expected a quantity (such as 500m, 1Gi or 2), got %s", kindOf(raw))
		}
		return
	case timeT, microTimeT:
		if _, ok := raw.(string); !ok {
			l.add(path, "expected a time (RFC 3339 string), got %s", kindOf(raw))
		}
		return
	case amountT:
		if !isNumber(raw) {
			l.add(path, "expected a number, got %s", kindOf(raw))
		}
		return
	case rawMessageT, itemT:
		return
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || t.Implements(unmarshalerType) {
		return // decodes itself
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := raw.(map[string]any)
		if !ok {
			l.add(path, "expected an object, got %s", kindOf(raw))
			return
		}
		fields := jsonFields(t)
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			f, ok := fields.byName[k]
			if !ok {
				l.add(key(path, k), "%s", unknownField(t, k, fields))
				continue
			}
			strictWalk(l, obj[k], f.typ, key(path, k))
		}
	case reflect.Map:
		obj, ok := raw.(map[string]any)
		if !ok {
			l.add(path, "expected an object (a map), got %s", kindOf(raw))
			return
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			strictWalk(l, obj[k], t.Elem(), key(path, k))
		}
	case reflect.Slice, reflect.Array:
		if t == stringSliceBytes {
			if _, ok := raw.(string); !ok {
				l.add(path, "expected base64 text, got %s", kindOf(raw))
			}
			return
		}
		list, ok := raw.([]any)
		if !ok {
			l.add(path, "expected a list, got %s", kindOf(raw))
			return
		}
		for i, v := range list {
			strictWalk(l, v, t.Elem(), index(path, i))
		}
	case reflect.String:
		if _, ok := raw.(string); !ok {
			if _, isBool := raw.(bool); isBool {
				l.add(path, "expected a string, got a boolean: quote the value (YAML reads unquoted y, n, yes, no, on, off, true and false as booleans)")
			} else {
				l.add(path, "expected a string, got %s: quote the value", kindOf(raw))
			}
		}
	case reflect.Bool:
		if _, ok := raw.(bool); !ok {
			l.add(path, "expected true or false, got %s", kindOf(raw))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if !isNumber(raw) || !isInteger(raw) {
			l.add(path, "expected a whole number, got %s", describe(raw))
		}
	case reflect.Float32, reflect.Float64:
		if !isNumber(raw) {
			l.add(path, "expected a number, got %s", kindOf(raw))
		}
	}
}

// describe is kindOf, with the value for scalars.
func describe(v any) string {
	switch v.(type) {
	case map[string]any, []any, nil:
		return kindOf(v)
	}
	return fmt.Sprintf("%s (%v)", kindOf(v), v)
}

type jsonField struct {
	name  string
	typ   reflect.Type
	index []int
}

type fieldSet struct {
	byName map[string]jsonField
	order  []jsonField
}

var fieldCache sync.Map // reflect.Type -> *fieldSet

// jsonFields lists the JSON fields of a struct type as encoding/json sees
// them: tagged names, untagged exported names, and the fields of embedded
// structs (inline) merged in.
func jsonFields(t reflect.Type) *fieldSet {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.(*fieldSet)
	}
	fs := &fieldSet{byName: map[string]jsonField{}}
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
			jf := jsonField{name: name, typ: f.Type, index: at}
			fs.byName[name] = jf
			fs.order = append(fs.order, jf)
		}
	}
	collect(t, nil)
	fieldCache.Store(t, fs)
	return fs
}

// unknownField explains a field the type does not have.
func unknownField(t reflect.Type, name string, fields *fieldSet) string {
	if hint, ok := unsupported(t, name); ok {
		return fmt.Sprintf("field %q is not supported by argolite: %s", name, hint)
	}
	msg := fmt.Sprintf("unknown field %q", name)
	names := make([]string, 0, len(fields.order))
	for _, f := range fields.order {
		names = append(names, f.name)
	}
	if s := suggest(name, names); s != "" {
		return msg + fmt.Sprintf(": did you mean %q?", s)
	}
	if len(names) <= 12 {
		return msg + ": the fields here are " + strings.Join(names, ", ")
	}
	return msg + ": remove it, or check its spelling and indentation"
}

const (
	hintArtifactStore = "argolite keeps artifacts in S3-compatible stores only: use s3 (or a key resolved against the artifact repository), http or raw"
	hintS3Auth        = "argolite authenticates to S3 with accessKeySecret and secretKeySecret (or useSDKCreds)"
	hintDatabaseLock  = "argolite keeps mutexes and semaphores in the cluster (ConfigMaps): drop database"
)

// unsupportedFields are the fields Argo Workflows has on the types argolite
// mirrors and argolite does not support, with what to do instead.
var unsupportedFields = map[reflect.Type]map[string]string{
	reflect.TypeOf(argov1.WorkflowSpec{}): {
		"artifactGC":      "artifact garbage collection is not implemented: delete artifacts with a step of the workflow's exit handler",
		"executor":        "the executor is argolite's own step wrapper: remove executor (a service account goes in serviceAccountName)",
		"executorPlugins": "executor plugins are not supported: use container or script templates",
		"resourceClaims":  "dynamic resource claims are not supported: request devices through the step Pod's resources (podSpecPatch)",
	},
	reflect.TypeOf(argov1.Template{}): {
		"resourceClaims": "dynamic resource claims are not supported: request devices through the step Pod's resources (podSpecPatch)",
		"http":           "HTTP templates need Argo's agent Pod: use a container or script template that runs curl or wget",
		"plugin":         "executor plugins are not supported: use a container or script template",
		"executor":       "the executor is argolite's own step wrapper: remove executor (a service account goes in serviceAccountName)",
		"annotations":    "template annotations are not supported: use metadata.annotations for the step Pod's annotations",
	},
	reflect.TypeOf(argov1.Artifact{}): {
		"artifactGC":  "artifact garbage collection is not implemented: remove artifactGC",
		"git":         hintArtifactStore,
		"artifactory": hintArtifactStore,
		"hdfs":        hintArtifactStore,
		"oss":         hintArtifactStore,
		"gcs":         hintArtifactStore,
		"azure":       hintArtifactStore,
	},
	reflect.TypeOf(argov1.ArtifactLocation{}): {
		"git": hintArtifactStore, "artifactory": hintArtifactStore, "hdfs": hintArtifactStore,
		"oss": hintArtifactStore, "gcs": hintArtifactStore, "azure": hintArtifactStore,
	},
	reflect.TypeOf(argov1.ArtifactRepository{}): {
		"artifactory": hintArtifactStore, "hdfs": hintArtifactStore, "oss": hintArtifactStore,
		"gcs": hintArtifactStore, "azure": hintArtifactStore, "plugin": hintArtifactStore,
	},
	reflect.TypeOf(argov1.ArchiveStrategy{}): {
		"zip": "artifacts are archived with tar (gzip) or not at all: use tar or none",
	},
	reflect.TypeOf(argov1.HTTPArtifact{}): {
		"auth": "HTTP artifacts take no auth block: pass credentials in headers",
	},
	reflect.TypeOf(argov1.S3Artifact{}): {
		"caSecret": hintS3Auth, "encryptionOptions": "S3 server-side encryption options are not supported: configure encryption on the bucket",
		"roleARN": hintS3Auth, "sessionTokenSecret": hintS3Auth,
	},
	reflect.TypeOf(argov1.S3ArtifactRepository{}): {
		"caSecret": hintS3Auth, "encryptionOptions": "S3 server-side encryption options are not supported: configure encryption on the bucket",
		"roleARN": hintS3Auth, "sessionTokenSecret": hintS3Auth,
	},
	reflect.TypeOf(argov1.Mutex{}):        {"database": hintDatabaseLock},
	reflect.TypeOf(argov1.SemaphoreRef{}): {"database": hintDatabaseLock},
}

func unsupported(t reflect.Type, name string) (string, bool) {
	hint, ok := unsupportedFields[t][name]
	return hint, ok
}

// suggest returns the candidate closest to name when it is close enough to
// be a typo (the same but for case, or an edit distance of at most 2, or 1
// when either name is short), else "".
func suggest(name string, candidates []string) string {
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
