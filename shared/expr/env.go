package expr

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"

	sprig "github.com/Masterminds/sprig/v3"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/parser/lexer"
)

// sprigFuncs is the `sprig` map of the expression environment. It is shared
// read-only by every evaluation, like Argo's singleton. `env` and `expandenv`
// are removed so an expression cannot read the agent's environment.
var sprigFuncs = func() map[string]any {
	m := sprig.GenericFuncMap()
	delete(m, "env")
	delete(m, "expandenv")
	return m
}()

// newEnv is Argo's env.GetFuncMap: the variables with dotted names expanded
// into nested maps ({"a.b": 1} becomes {"a": {"b": 1}}), plus the functions
// asInt, asFloat, jsonpath, toJson and sprig. The functions win over
// variables of the same name, as in Argo.
func newEnv(vars map[string]any) map[string]any {
	env := expand(vars)
	// Aliases for expr-lang's `int` and `float`, kept by Argo for backwards
	// compatibility.
	env["asInt"] = builtin.Int
	env["asFloat"] = builtin.Float
	env["jsonpath"] = jsonPathFunc
	env["toJson"] = toJSONFunc
	env["sprig"] = sprigFuncs
	return env
}

// expand turns dotted keys into nested maps, as Argo's util/expand does
// (bellows.Expand after dropping every key that is the parent of another:
// {"a": 1, "a.b": 2} becomes {"a": {"b": 2}}). Argo only drops a parent when
// it sorts right before one of its children, which makes the result depend on
// map order when a key like "a-x" sorts between them; here every parent is
// dropped.
func expand(m map[string]any) map[string]any {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]any, len(m))
	for i, k := range keys {
		if isParentKey(keys, i) {
			continue
		}
		parts := strings.Split(k, ".")
		cur := out
		for _, p := range parts[:len(parts)-1] {
			next, ok := cur[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[p] = next
			}
			cur = next
		}
		cur[parts[len(parts)-1]] = m[k]
	}
	return out
}

// isParentKey reports whether keys[i]+"." prefixes a later key of the sorted
// keys. Children of k sort after k, though not always right after it.
func isParentKey(keys []string, i int) bool {
	prefix := keys[i] + "."
	j := sort.SearchStrings(keys[i+1:], prefix) + i + 1
	return j < len(keys) && strings.HasPrefix(keys[j], prefix)
}

// toJSONFunc is the expression function toJson. Like Argo's it panics on
// values JSON cannot encode; expr-lang turns the panic into an error.
func toJSONFunc(v any) string {
	out, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(out)
}

// jsonPathFunc is the expression function jsonpath(json, path): it decodes
// json and queries it with path. Errors panic, as in Argo, and expr-lang turns
// them into evaluation errors.
func jsonPathFunc(jsonStr string, path string) any {
	var data any
	if err := json.Unmarshal([]byte(jsonStr), &data); err != nil {
		panic(err)
	}
	v, err := jsonPathQuery(path, data)
	if err != nil {
		panic(err)
	}
	return v
}

// Identifiers returns the variables an expr-lang expression reads: plain names
// (`foo`) and dotted member paths with constant names (`inputs.parameters.x`,
// also written `inputs.parameters['x']`), each once, in order of appearance.
// Both `a.b.c` and its prefixes `a.b` and `a` are listed, as in Argo. Names
// bound by `let` inside the expression are not variables and are left out
// (Argo lists them, and then reports them missing). The error is the parse
// error of a malformed expression.
func Identifiers(expression string) ([]string, error) {
	tree, err := parser.Parse(expression)
	if err != nil {
		return nil, err
	}
	v := &identifierVisitor{seen: map[string]bool{}, bound: map[string]bool{}}
	ast.Walk(&tree.Node, v)
	out := v.ids[:0]
	for _, id := range v.ids {
		if !v.bound[strings.SplitN(id, ".", 2)[0]] {
			out = append(out, id)
		}
	}
	return out, nil
}

type identifierVisitor struct {
	ids   []string
	seen  map[string]bool
	bound map[string]bool
}

func (v *identifierVisitor) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.VariableDeclaratorNode:
		v.bound[n.Name] = true
	case *ast.IdentifierNode:
		v.add(n.Value)
	case *ast.MemberNode:
		if path, ok := memberPath(n); ok {
			v.add(path)
		}
	}
}

func (v *identifierVisitor) add(id string) {
	if !v.seen[id] {
		v.seen[id] = true
		v.ids = append(v.ids, id)
	}
}

// memberPath is the dotted path of a.b['c'] when every property is a constant
// string and the chain starts at a name.
func memberPath(n *ast.MemberNode) (string, bool) {
	var parts []string
	cur := n
	for {
		prop, ok := cur.Property.(*ast.StringNode)
		if !ok {
			return "", false
		}
		parts = append(parts, prop.Value)
		switch next := cur.Node.(type) {
		case *ast.IdentifierNode:
			parts = append(parts, next.Value)
			for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
				parts[i], parts[j] = parts[j], parts[i]
			}
			return strings.Join(parts, "."), true
		case *ast.MemberNode:
			cur = next
		default:
			return "", false
		}
	}
}

// hasVarInEnv reports whether the dotted path names a value in env: either a
// key of env itself, or a walk through nested maps and struct fields from the
// longest prefix that is a key. Argo's hasVarInEnv.
func hasVarInEnv(env map[string]any, path string) bool {
	if _, ok := env[path]; ok {
		return true
	}
	parts := strings.Split(path, ".")
	var cur any = env
	rest := parts
	for i := len(parts); i > 0; i-- {
		if v, ok := env[strings.Join(parts[:i], ".")]; ok {
			cur, rest = v, parts[i:]
			break
		}
	}
	for _, part := range rest {
		rv := reflect.ValueOf(cur)
		for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
			if rv.IsNil() {
				return false
			}
			rv = rv.Elem()
		}
		switch rv.Kind() {
		case reflect.Map:
			if rv.Type().Key().Kind() != reflect.String {
				return false
			}
			val := rv.MapIndex(reflect.ValueOf(part).Convert(rv.Type().Key()))
			if !val.IsValid() {
				return false
			}
			cur = val.Interface()
		case reflect.Struct:
			f := rv.FieldByName(part)
			if !f.IsValid() || !f.CanInterface() {
				return false
			}
			cur = f.Interface()
		default:
			return false
		}
	}
	return true
}

// checkedVariables are the variables Argo refuses to resolve to nil while
// unresolved tags are allowed: they only exist at a later stage (inside a
// loop, a retry, or an exit handler), so an expression naming them must wait.
var checkedVariables = []string{
	"item",
	"retries",
	"lastRetry.exitCode",
	"lastRetry.status",
	"lastRetry.duration",
	"lastRetry.message",
	"workflow.status",
	"workflow.failures",
}

// laterVariableMissing returns the first of checkedVariables that expression
// mentions and env lacks (Argo's anyVarNotInEnv).
func laterVariableMissing(expression string, env map[string]any) (string, bool) {
	for _, v := range checkedVariables {
		if mentionsVariable(expression, v) && !hasVarInEnv(env, v) {
			return v, true
		}
	}
	return "", false
}

// mentionsVariable reports whether the tokens of variable appear in a row
// among the tokens of expression (so `retries` is found in `retries + 1` but
// not in `retriesCustom` or `'retries'`). Argo's hasVariableInExpression.
func mentionsVariable(expression, variable string) bool {
	if !strings.Contains(expression, variable) {
		return false
	}
	hay, err := lexer.Lex(file.NewSource(expression))
	if err != nil {
		return false
	}
	needle, err := lexer.Lex(file.NewSource(variable))
	if err != nil {
		return false
	}
	var n []lexer.Token
	for _, t := range needle {
		if t.Kind != lexer.EOF {
			n = append(n, t)
		}
	}
outer:
	for i := 0; i+len(n) <= len(hay); i++ {
		for j := range n {
			if hay[i+j].String() != n[j].String() {
				continue outer
			}
		}
		return true
	}
	return false
}
