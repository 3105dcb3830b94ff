package health

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/ext"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/argolite/argolite/shared/api/v1alpha1"
)

// KeyPrefix starts the ConfigMap keys that hold custom health rules, in Argo
// CD's argocd-cm format: "resource.customizations.health.<group>_<Kind>", or
// "resource.customizations.health.<Kind>" for the core group (Argo CD's
// spelling; "_<Kind>" is accepted too). Group and kind may hold the
// wildcards of path.Match ("*.crossplane.io_*").
const KeyPrefix = "resource.customizations.health."

// costLimit bounds the work one rule may do on one object: generous for any
// health rule, small enough that a runaway comprehension cannot stall a sync.
const costLimit = 100_000

// customRule is one compiled CEL health rule.
type customRule struct {
	key   string
	group string
	kind  string
	prg   cel.Program
}

// NewChecker compiles the custom health rules in data, the ConfigMap's data.
// Keys without KeyPrefix are ignored (the ConfigMap holds other settings).
// Each value is a CEL expression over the variable `object` (the live object
// as a map) that returns a map with "status" (a health code) and an optional
// "message", for example:
//
//	has(object.status) && object.status.ready
//	  ? {"status": "Healthy"}
//	  : {"status": "Progressing", "message": "waiting for ready"}
//
// Optional field syntax (object.?status.?ready.orValue(false)) and the CEL
// string extensions are available. The error lists every key that does not
// compile, with CEL's message.
func NewChecker(data map[string]string) (*Checker, error) {
	env, err := cel.NewEnv(
		cel.Variable("object", cel.MapType(cel.StringType, cel.DynType)),
		cel.OptionalTypes(),
		ext.Strings(),
	)
	if err != nil {
		return nil, fmt.Errorf("building the CEL environment for health rules: %w", err)
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		if strings.HasPrefix(k, KeyPrefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)

	c := &Checker{exact: map[schema.GroupKind]*customRule{}}
	var errs []error
	for _, key := range keys {
		rule, err := compileRule(env, key, data[key])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if isGlob(rule.group) || isGlob(rule.kind) {
			c.globs = append(c.globs, rule)
			continue
		}
		gk := schema.GroupKind{Group: rule.group, Kind: rule.kind}
		if prev := c.exact[gk]; prev != nil {
			errs = append(errs, fmt.Errorf("health rules %q and %q both judge %s: keep one of them", prev.key, key, groupKindString(gk.Group, gk.Kind)))
			continue
		}
		c.exact[gk] = rule
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

func compileRule(env *cel.Env, key, expr string) (*customRule, error) {
	group, kind, err := parseKey(key)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(expr) == "" {
		return nil, fmt.Errorf("health rule %q is empty: give a CEL expression returning {\"status\": ..., \"message\": ...}", key)
	}
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, fmt.Errorf("health rule %q does not compile (the value must be a CEL expression over `object`, not Argo CD's Lua): %w", key, iss.Err())
	}
	if out := ast.OutputType(); out.Kind() != types.MapKind && out.Kind() != types.DynKind {
		return nil, fmt.Errorf("health rule %q returns %s: it must return a map such as {\"status\": \"Healthy\", \"message\": \"...\"}", key, out)
	}
	prg, err := env.Program(ast, cel.CostLimit(costLimit))
	if err != nil {
		return nil, fmt.Errorf("health rule %q: preparing the CEL program: %w", key, err)
	}
	return &customRule{key: key, group: group, kind: kind, prg: prg}, nil
}

// parseKey splits "resource.customizations.health.<group>_<Kind>" (or
// ".<Kind>" for the core group) as Argo CD's settings manager does.
func parseKey(key string) (group, kind string, err error) {
	gk := strings.TrimPrefix(key, KeyPrefix)
	parts := strings.Split(gk, "_")
	switch {
	case len(parts) == 1 && gk != "":
		kind = gk
	case len(parts) == 2 && parts[1] != "":
		group, kind = parts[0], parts[1]
	default:
		return "", "", fmt.Errorf("health rule key %q: write it as %s<group>_<Kind>, or %s<Kind> for the core group", key, KeyPrefix, KeyPrefix)
	}
	for _, p := range []string{group, kind} {
		if _, err := path.Match(p, ""); err != nil {
			return "", "", fmt.Errorf("health rule key %q: bad wildcard pattern %q: %w", key, p, err)
		}
	}
	return group, kind, nil
}

func isGlob(s string) bool { return strings.ContainsAny(s, `*?[\`) }

// rule returns the custom rule for a kind: an exact key wins over a wildcard
// one; among wildcard keys the first in sorted order wins.
func (c *Checker) rule(gk schema.GroupKind) *customRule {
	if c == nil {
		return nil
	}
	if r := c.exact[gk]; r != nil {
		return r
	}
	for _, r := range c.globs {
		gOK, _ := path.Match(r.group, gk.Group)
		kOK, _ := path.Match(r.kind, gk.Kind)
		if gOK && kOK {
			return r
		}
	}
	return nil
}

// eval runs the rule on obj. Every failure (a missing field, a wrong result)
// is an error naming the rule, which Check reports as Unknown.
func (r *customRule) eval(obj *unstructured.Unstructured) (st Status, err error) {
	defer func() {
		if p := recover(); p != nil {
			st, err = Status{}, fmt.Errorf("health rule %q crashed on %s %s: %v", r.key, obj.GetKind(), objectName(obj), p)
		}
	}()
	fail := func(format string, args ...any) (Status, error) {
		return Status{}, fmt.Errorf("health rule %q on %s %s: %s", r.key, obj.GetKind(), objectName(obj), fmt.Sprintf(format, args...))
	}
	out, _, err := r.prg.Eval(map[string]any{"object": obj.Object})
	if err != nil {
		return fail("%v", err)
	}
	m, ok := out.(traits.Mapper)
	if !ok {
		return fail("returned %s, want a map with \"status\" and \"message\"", out.Type().TypeName())
	}
	code, ok, err := mapString(m, "status")
	if err != nil {
		return fail("%v", err)
	}
	if !ok {
		return fail("the result has no \"status\"")
	}
	if !validCodes[v1alpha1.HealthStatusCode(code)] {
		return fail("status %q is not one of Healthy, Progressing, Degraded, Suspended, Missing, Unknown", code)
	}
	msg, _, err := mapString(m, "message")
	if err != nil {
		return fail("%v", err)
	}
	return Status{Code: v1alpha1.HealthStatusCode(code), Message: msg}, nil
}

func mapString(m traits.Mapper, key string) (string, bool, error) {
	v, found := m.Find(types.String(key))
	if !found {
		return "", false, nil
	}
	if types.IsError(v) {
		return "", false, fmt.Errorf("reading %q: %v", key, v)
	}
	s, ok := v.(types.String)
	if !ok {
		return "", false, fmt.Errorf("%q is %s, want a string", key, typeName(v))
	}
	return string(s), true, nil
}

func typeName(v ref.Val) string {
	return v.Type().TypeName()
}
