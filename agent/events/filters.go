package events

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/Knetic/govaluate"
	"github.com/tidwall/gjson"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// compiledFilter is a dependency's filters, parsed once when the Sensor is
// loaded, so a filter that does not parse is a spec error naming its path,
// never a dropped event.
type compiledFilter struct {
	data   []argov1.DataFilter
	dataOr bool
	regex  map[string]*regexp.Regexp
	exprs  []compiledExpr
	exprOr bool
	// or joins data and exprs (filtersLogicalOperator).
	or bool
}

type compiledExpr struct {
	expr   *govaluate.EvaluableExpression
	fields []argov1.PayloadField
}

// logicalOr reads a logical operator: and (the default) or or.
func logicalOr(op, path string) (bool, error) {
	switch op {
	case "", "and":
		return false, nil
	case "or":
		return true, nil
	}
	return false, fmt.Errorf("%s: %q is not a logical operator: use and or or", path, op)
}

// compileFilter checks and parses the filters of a dependency; path is the
// dependency's path in the Sensor, for the error.
func compileFilter(dep argov1.EventDependency, path string) (*compiledFilter, error) {
	cf := &compiledFilter{regex: map[string]*regexp.Regexp{}}
	var err error
	if cf.or, err = logicalOr(dep.FiltersLogicalOperator, path+".filtersLogicalOperator"); err != nil {
		return nil, err
	}
	f := dep.Filters
	if f == nil {
		return cf, nil
	}
	if cf.dataOr, err = logicalOr(f.DataLogicalOperator, path+".filters.dataLogicalOperator"); err != nil {
		return nil, err
	}
	if cf.exprOr, err = logicalOr(f.ExprLogicalOperator, path+".filters.exprLogicalOperator"); err != nil {
		return nil, err
	}
	for i, d := range f.Data {
		p := fmt.Sprintf("%s.filters.data[%d]", path, i)
		if d.Path == "" {
			return nil, fmt.Errorf("%s.path: give the payload path (gjson syntax, such as body.action)", p)
		}
		if len(d.Value) == 0 {
			return nil, fmt.Errorf("%s.value: give at least one value", p)
		}
		switch d.Comparator {
		case "", "=", "!=", "<", "<=", ">", ">=":
		default:
			return nil, fmt.Errorf("%s.comparator: %q is not one of =, !=, <, <=, >, >=", p, d.Comparator)
		}
		switch d.Type {
		case "string":
			for j, v := range d.Value {
				re, err := regexp.Compile(v)
				if err != nil {
					return nil, fmt.Errorf("%s.value[%d]: %q is not a regular expression: %w", p, j, v, err)
				}
				cf.regex[v] = re
			}
		case "number":
			for j, v := range d.Value {
				if _, err := strconv.ParseFloat(v, 64); err != nil {
					return nil, fmt.Errorf("%s.value[%d]: %q is not a number", p, j, v)
				}
			}
		case "bool":
			for j, v := range d.Value {
				if _, err := strconv.ParseBool(v); err != nil {
					return nil, fmt.Errorf("%s.value[%d]: %q is not true or false", p, j, v)
				}
			}
		case "null":
		default:
			return nil, fmt.Errorf("%s.type: %q is not one of string, number, bool, null", p, d.Type)
		}
		cf.data = append(cf.data, d)
	}
	for i, e := range f.Exprs {
		p := fmt.Sprintf("%s.filters.exprs[%d]", path, i)
		expr, err := govaluate.NewEvaluableExpression(e.Expr)
		if err != nil {
			return nil, fmt.Errorf("%s.expr: %q does not parse: %w", p, e.Expr, err)
		}
		for j, fl := range e.Fields {
			if fl.Name == "" || fl.Path == "" {
				return nil, fmt.Errorf("%s.fields[%d]: give both name and path", p, j)
			}
		}
		cf.exprs = append(cf.exprs, compiledExpr{expr: expr, fields: e.Fields})
	}
	return cf, nil
}

// pass says whether an event's payload passes the filters, as Argo's
// filterEvent: each kind joined by its own operator, the kinds by
// filtersLogicalOperator; a kind with no filters is neutral.
func (cf *compiledFilter) pass(data []byte) (bool, error) {
	var results []bool
	if len(cf.data) > 0 {
		ok, err := cf.passData(data)
		if err != nil {
			return false, err
		}
		results = append(results, ok)
	}
	if len(cf.exprs) > 0 {
		ok, err := cf.passExprs(data)
		if err != nil {
			return false, err
		}
		results = append(results, ok)
	}
	return join(results, cf.or), nil
}

// join is AND (or OR) over results; true when there are none.
func join(results []bool, or bool) bool {
	if len(results) == 0 {
		return true
	}
	for _, r := range results {
		if or && r {
			return true
		}
		if !or && !r {
			return false
		}
	}
	return !or
}

func (cf *compiledFilter) passData(data []byte) (bool, error) {
	var results []bool
	for _, d := range cf.data {
		v := gjson.GetBytes(data, d.Path)
		results = append(results, cf.matchData(d, v))
	}
	return join(results, cf.dataOr), nil
}

// matchData compares one payload value with a data filter: a string
// matches any of the regular expressions, a number compares, a bool
// equals; != negates. A missing value never matches.
func (cf *compiledFilter) matchData(d argov1.DataFilter, v gjson.Result) bool {
	if d.Type == "null" {
		return v.Type == gjson.Null
	}
	if !v.Exists() {
		return false
	}
	neg := d.Comparator == "!="
	any := false
	for _, want := range d.Value {
		var ok bool
		switch d.Type {
		case "string":
			ok = cf.regex[want].MatchString(v.String())
		case "bool":
			b, _ := strconv.ParseBool(want)
			ok = v.Type != gjson.String && v.Bool() == b || v.Type == gjson.String && v.String() == want
		case "number":
			w, _ := strconv.ParseFloat(want, 64)
			got := v.Float()
			if v.Type == gjson.String {
				f, err := strconv.ParseFloat(strings.TrimSpace(v.String()), 64)
				if err != nil {
					return false
				}
				got = f
			}
			switch d.Comparator {
			case "<":
				ok = got < w
			case "<=":
				ok = got <= w
			case ">":
				ok = got > w
			case ">=":
				ok = got >= w
			default:
				ok = got == w
			}
		}
		if ok {
			any = true
			break
		}
	}
	if neg {
		return !any
	}
	return any
}

func (cf *compiledFilter) passExprs(data []byte) (bool, error) {
	var results []bool
	for _, e := range cf.exprs {
		params := map[string]any{}
		for _, f := range e.fields {
			v := gjson.GetBytes(data, f.Path)
			if !v.Exists() {
				return false, nil // as Argo: a missing field fails the filter
			}
			params[f.Name] = v.Value()
		}
		out, err := e.expr.Evaluate(params)
		if err != nil {
			return false, fmt.Errorf("evaluating %q: %w", e.expr.String(), err)
		}
		b, ok := out.(bool)
		if !ok {
			return false, fmt.Errorf("expression %q gave %v, not true or false", e.expr.String(), out)
		}
		results = append(results, b)
	}
	return join(results, cf.exprOr), nil
}
