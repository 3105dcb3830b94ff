package expr

import (
	"fmt"
	"strings"

	"github.com/Knetic/govaluate"
)

// When evaluates a step's or task's `when` condition once its tags are
// substituted, exactly as Argo's controller (shouldExecute): the condition is
// a github.com/Knetic/govaluate expression in which every bare word is a
// string, so `tails == heads` compares two strings and `Succeeded != Failed`
// needs no quotes. Numbers compare as numbers (`8 > 5`), `=~` and `!~` match
// regular expressions, `true`/`false` are booleans, and `&&`, `||`, `!` and
// parentheses combine. The empty condition is true. A condition that does not
// parse, does not evaluate, or evaluates to something other than a bool is an
// error naming it.
func When(cond string) (ok bool, err error) {
	if cond == "" {
		return true, nil
	}
	defer func() {
		if p := recover(); p != nil {
			ok, err = false, fmt.Errorf("invalid 'when' expression '%s': %v", cond, p)
		}
	}()
	expression, err := govaluate.NewEvaluableExpression(cond)
	if err != nil {
		msg := strings.TrimSpace(err.Error())
		if strings.Contains(msg, "Invalid token") {
			return false, fmt.Errorf("invalid 'when' expression '%s': %s (hint: try wrapping the affected expression in quotes (\"))", cond, msg)
		}
		return false, fmt.Errorf("invalid 'when' expression '%s': %s", cond, msg)
	}
	// Turn variables, which conditions never use, into strings, so words need
	// no quotes.
	tokens := expression.Tokens()
	for i, tok := range tokens {
		if tok.Kind == govaluate.VARIABLE {
			tok.Kind = govaluate.STRING
			tokens[i] = tok
		}
	}
	expression, err = govaluate.NewEvaluableExpressionFromTokens(tokens)
	if err != nil {
		return false, fmt.Errorf("failed to parse 'when' expression '%s': %s", cond, strings.TrimSpace(err.Error()))
	}
	// Argo passes no parameters; an empty map gives the same errors without
	// govaluate dereferencing a nil map for words it keeps as accessors.
	result, err := expression.Evaluate(map[string]any{})
	if err != nil {
		return false, fmt.Errorf("failed to evaluate 'when' expression '%s': %s", cond, strings.TrimSpace(err.Error()))
	}
	b, isBool := result.(bool)
	if !isBool {
		return false, fmt.Errorf("expected boolean evaluation for '%s', got %v", cond, result)
	}
	return b, nil
}
