package expr

import (
	"fmt"
	"strings"

	"github.com/expr-lang/expr"
)

// Data templates' transformations are evaluated as Argo's workflow/data
// package does: plain expr-lang with only `data` bound (to the previous
// step's value), none of the `{{= }}` functions.

// CheckTransformation reports whether expression compiles as a data
// template transformation step, for validation before anything runs. The
// type of data is known only once the source is listed, so this checks the
// syntax and that data is the only variable (a misspelling would otherwise
// fail only after the listing).
func CheckTransformation(expression string) error {
	ids, err := Identifiers(expression)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if root := strings.SplitN(id, ".", 2)[0]; root != "data" {
			return fmt.Errorf("unknown variable %q: a transformation sees only data (the previous step's value)", root)
		}
	}
	_, err = expr.Compile(expression)
	return err
}

// Transform applies the expressions in order, each with data bound to the
// previous value, and returns the last value.
func Transform(data any, expressions []string) (any, error) {
	for i, e := range expressions {
		env := map[string]any{"data": data}
		p, err := expr.Compile(e, expr.Env(env))
		if err != nil {
			return nil, fmt.Errorf("transformation[%d] %q: %w", i, e, err)
		}
		if data, err = expr.Run(p, env); err != nil {
			return nil, fmt.Errorf("transformation[%d] %q: %w", i, e, err)
		}
	}
	return data, nil
}
