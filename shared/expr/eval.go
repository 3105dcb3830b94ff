package expr

import "fmt"

// Eval evaluates an expr-lang expression, as Argo evaluates
// valueFrom.expression, retryStrategy.expression and lifecycle hook
// expressions. The environment is env with dotted names expanded into nested
// maps ({"inputs.parameters.x": "1"} is read as inputs.parameters.x or
// inputs.parameters['x']; a name like "steps.flip-coin.outputs.result" needs
// the bracket form steps['flip-coin'].outputs.result), plus these functions:
//
//	sprig.<name>(...)    the sprig functions (sprig.trim(x), sprig.b64dec(x),
//	                     sprig.add(a, b), ...; env and expandenv are removed)
//	asInt(x), asFloat(x) expr-lang's int and float, under Argo's names
//	jsonpath(json, path) query a JSON string (arrays for wildcards, filters
//	                     and ranges, the single value otherwise)
//	toJson(v)            encode v as JSON
//
// and expr-lang's builtins (string, int, float, len, filter, map, now, ...).
// A name that env does not define is a compile error. Errors name the
// expression.
func Eval(expression string, env map[string]any) (any, error) {
	v, err := evaluate(expression, newEnv(env))
	if err != nil {
		return nil, fmt.Errorf("unable to evaluate expression %q: %w", expression, err)
	}
	return v, nil
}

// EvalBool is Eval for conditions: the result must be a bool.
func EvalBool(expression string, env map[string]any) (bool, error) {
	v, err := Eval(expression, env)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("expression %q evaluated to %v (%T), not a bool", expression, v, v)
	}
	return b, nil
}
