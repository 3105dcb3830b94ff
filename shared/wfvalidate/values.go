package wfvalidate

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/argolite/argolite/shared/duration"
	exprlang "github.com/expr-lang/expr"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// duration checks a duration: a Go duration (30s, 5m, 1h30m) or, when
// plainSeconds, a number of seconds. Values with tags are checked later.
func (v *validator) duration(path, s string, plainSeconds bool) {
	if hasTag(s) {
		return
	}
	if plainSeconds {
		// The agent's own parser, so lint accepts exactly what runs.
		if _, err := duration.Parse(s); err != nil {
			v.add(path, "%v", err)
		}
		return
	}
	if _, err := time.ParseDuration(s); err != nil {
		v.add(path, "%q is not a duration: write it like 30s, 5m or 1h30m", s)
	}
}

func (v *validator) positiveIntOrString(path string, x intstr.IntOrString, what string) {
	n, ok := v.intOrString(path, x)
	if ok && n <= 0 {
		v.add(path, "must be more than 0 (%s), not %d", what, n)
	}
}

func (v *validator) nonNegativeIntOrString(path string, x intstr.IntOrString) {
	n, ok := v.intOrString(path, x)
	if ok && n < 0 {
		v.add(path, "must be 0 or more, not %d", n)
	}
}

// intOrString reads a whole number given as a number or a string; ok is
// false when it holds tags (known at run time) or is reported as wrong.
func (v *validator) intOrString(path string, x intstr.IntOrString) (int, bool) {
	if x.Type == intstr.Int {
		return int(x.IntVal), true
	}
	if hasTag(x.StrVal) {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(x.StrVal))
	if err != nil {
		v.add(path, "%q is not a whole number (or a {{...}} tag that gives one)", x.StrVal)
		return 0, false
	}
	return n, true
}

// expression checks that an expr-lang expression compiles. Names need not
// be known; an expression holding {{...}} tags is only complete after
// substitution, so only its tags are checked (by the variables walk).
func (v *validator) expression(path, s string) {
	if strings.TrimSpace(s) == "" || hasTag(s) {
		return
	}
	if err := compileExpression(s); err != nil {
		v.add(path, "%q does not compile: %s", s, err)
	}
}

// compileExpression compiles an expr-lang expression with every name
// allowed, returning the first line of the error.
func compileExpression(s string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	if _, err := exprlang.Compile(s); err != nil {
		msg, _, _ := strings.Cut(err.Error(), "\n")
		return fmt.Errorf("%s", msg)
	}
	return nil
}

// jsonList reports whether s is a JSON list.
func jsonList(s string) bool {
	var v []any
	return json.Unmarshal([]byte(s), &v) == nil
}
