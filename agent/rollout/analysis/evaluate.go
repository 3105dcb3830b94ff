package analysis

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// evaluateResult judges a measured value with the metric's conditions, as
// Argo's utils/evaluate.EvaluateResult: no condition is success; only a
// success condition fails when false; only a failure condition succeeds
// when false; both false is inconclusive.
func evaluateResult(result any, metric argov1.Metric) (argov1.AnalysisPhase, error) {
	success, fail := false, false
	var err error
	if metric.SuccessCondition != "" {
		if success, err = evalCondition(result, metric.SuccessCondition); err != nil {
			return argov1.AnalysisPhaseError, evalError(err, "successCondition", metric.SuccessCondition, result)
		}
	}
	if metric.FailureCondition != "" {
		if fail, err = evalCondition(result, metric.FailureCondition); err != nil {
			return argov1.AnalysisPhaseError, evalError(err, "failureCondition", metric.FailureCondition, result)
		}
	}
	switch {
	case metric.SuccessCondition == "" && metric.FailureCondition == "":
		return argov1.AnalysisPhaseSuccessful, nil
	case metric.SuccessCondition != "" && metric.FailureCondition == "":
		fail = !success
	case metric.SuccessCondition == "" && metric.FailureCondition != "":
		success = !fail
	}
	if fail {
		return argov1.AnalysisPhaseFailed, nil
	}
	if !success {
		return argov1.AnalysisPhaseInconclusive, nil
	}
	return argov1.AnalysisPhaseSuccessful, nil
}

func evalError(err error, which, expression string, result any) error {
	if isNilOrEmpty(result) {
		return fmt.Errorf("could not evaluate %s %q: metric result is nil or empty: no data returned from the metric provider", which, expression)
	}
	return fmt.Errorf("could not evaluate %s %q: %w", which, expression, err)
}

// conditionEnv is Argo's env of a condition: result and the functions
// asInt, asFloat, isNaN, isInf, isNil and default.
func conditionEnv(result any) map[string]any {
	return map[string]any{
		"result":  valueFromPointer(result),
		"asInt":   asInt,
		"asFloat": asFloat,
		"isNaN":   math.IsNaN,
		"isInf":   func(f float64) bool { return math.IsInf(f, 0) },
		"isNil":   func(any) bool { return isNil(result) },
		"default": func(_ any, def any) any {
			if isNil(result) {
				return def
			}
			return valueFromPointer(result)
		},
	}
}

// evalCondition evaluates condition, which must be a boolean expression.
func evalCondition(result any, condition string) (bool, error) {
	env := conditionEnv(result)
	program, err := expr.Compile(condition, expr.Env(env))
	if err != nil {
		return false, unwrapFileErr(err)
	}
	out, err := expr.Run(program, env)
	if err != nil {
		return false, unwrapFileErr(err)
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("expected bool, but got %T", out)
	}
	return b, nil
}

// checkCondition compiles condition against the env, for validation before
// any measurement: a syntax error is a bad spec, not a measurement error.
func checkCondition(condition string) error {
	if condition == "" {
		return nil
	}
	_, err := expr.Compile(condition, expr.Env(checkEnv{}))
	return unwrapFileErr(err)
}

// checkEnv types the env for checkCondition: result may be anything until
// a provider measured it.
type checkEnv struct {
	Result  any                        `expr:"result"`
	AsInt   func(any) (int64, error)   `expr:"asInt"`
	AsFloat func(any) (float64, error) `expr:"asFloat"`
	IsNaN   func(float64) bool         `expr:"isNaN"`
	IsInf   func(float64) bool         `expr:"isInf"`
	IsNil   func(any) bool             `expr:"isNil"`
	Default func(any, any) any         `expr:"default"`
}

// unwrapFileErr keeps expr's message and drops its source snippet, as Argo.
func unwrapFileErr(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		return errors.New(fe.Message)
	}
	return err
}

func asInt(in any) (int64, error) {
	switch i := in.(type) {
	case string:
		return strconv.ParseInt(i, 10, 64)
	case float64:
		return int64(i), nil
	case float32:
		return int64(i), nil
	}
	v := reflect.ValueOf(in)
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(v.Uint()), nil //nolint:gosec // Argo's conversion
	}
	return 0, fmt.Errorf("asInt() not supported on %T %v", in, in)
}

func asFloat(in any) (float64, error) {
	switch i := in.(type) {
	case string:
		return strconv.ParseFloat(i, 64)
	case float64:
		return i, nil
	case float32:
		return float64(i), nil
	}
	v := reflect.ValueOf(in)
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(v.Uint()), nil
	}
	return 0, fmt.Errorf("asFloat() not supported on %T %v", in, in)
}

func isNil(in any) bool {
	if in == nil {
		return true
	}
	switch reflect.TypeOf(in).Kind() {
	case reflect.Pointer, reflect.Map, reflect.Array, reflect.Chan, reflect.Slice:
		v := reflect.ValueOf(in)
		return v.Kind() != reflect.Array && v.IsNil()
	}
	return false
}

func isNilOrEmpty(in any) bool {
	if isNil(in) {
		return true
	}
	v := reflect.ValueOf(in)
	return (v.Kind() == reflect.Slice || v.Kind() == reflect.Array) && v.Len() == 0
}

// valueFromPointer lets providers pass pointers: nil stays nil, a pointer
// is dereferenced.
func valueFromPointer(in any) any {
	if isNil(in) {
		return nil
	}
	if reflect.TypeOf(in).Kind() != reflect.Pointer {
		return in
	}
	return reflect.ValueOf(in).Elem().Interface()
}
