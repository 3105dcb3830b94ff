package expr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/parser"
)

const (
	tagOpen  = "{{"
	tagClose = "}}"
	// exprPrefix marks an expression tag: {{=expr}}. It must come right after
	// the braces: `{{ =x }}` is a simple tag named "=x", as in Argo.
	exprPrefix = "="
)

// Options control Replace.
type Options struct {
	// AllowUnresolved leaves a simple tag whose name is not in vars, and an
	// expression tag that cannot be evaluated yet, as written (Argo's
	// allowUnresolved, used in the passes before every variable is known).
	// When false every tag must resolve.
	AllowUnresolved bool
	// StrictPrefixes, with AllowUnresolved, still demands that tags naming a
	// variable under one of these prefixes resolve (Argo's ReplaceStrict, used
	// with "steps" and "tasks" when a step or task is about to run): a simple
	// tag whose name is the prefix or starts with prefix+"." is an error when
	// unresolved, except output artifacts (".outputs.artifacts."), which are
	// resolved later and may be optional; an expression naming a missing
	// variable under a prefix is an error, and an expression that names no
	// missing variable at all must evaluate.
	StrictPrefixes []string
	// JSONEscape says s is the JSON encoding of a value (the caller
	// substitutes into a template's JSON form, as Argo does): replacements are
	// escaped for insertion inside a JSON string, and expression text is
	// JSON-unescaped before it is evaluated.
	JSONEscape bool
}

// ErrUnresolved is wrapped by the errors of tags that name a variable that is
// not known: test with errors.Is.
var ErrUnresolved = errors.New("unresolved variable")

type unresolvedError struct{ msg string }

func (e *unresolvedError) Error() string        { return e.msg }
func (e *unresolvedError) Is(target error) bool { return target == ErrUnresolved }

// Replace substitutes the `{{...}}` tags of s, with Argo's template.Replace
// semantics:
//
//   - `{{name}}` (spaces around name are ignored) becomes vars[name]. A tag that
//     contains another opening `{{` is resolved from its innermost name when
//     that name is known, so `{{outer-{{inner}}}}` becomes `{{outer-value}}`
//     for a later pass. Unknown names are an error
//     `failed to resolve {{name}}` wrapping ErrUnresolved, or are left as
//     written when opts allow it.
//   - `{{=expr}}` evaluates expr with expr-lang in the environment described
//     at Eval, built from vars. A string result is inserted as is; any other
//     result is inserted as JSON (`2`, `true`, `[1,2]`, `{"a":1}`). A syntax
//     error is always an error, naming the expression. With AllowUnresolved,
//     an expression that fails to compile or run, evaluates to nil, or names
//     one of the variables that only exist later (item, retries,
//     lastRetry.*, workflow.status, workflow.failures) while it is missing, is
//     left as written; without it such expressions are errors, and one that
//     names a missing variable fails with `<name> is missing` wrapping
//     ErrUnresolved.
//   - An opening `{{` without a closing `}}` is an error; text outside tags is
//     copied unchanged. Replacements are not scanned again.
func Replace(s string, vars map[string]string, opts Options) (string, error) {
	return replace(s, &replacer{strs: vars, opts: opts})
}

// ReplaceValues is Replace with variables of any type, as a CronWorkflow's
// `when` sees them (cronworkflow.lastScheduledTime is a *time.Time):
// expressions see the values themselves; a simple tag must name a string
// value, or it is an error `failed to resolve {{name}} to string`.
func ReplaceValues(s string, vars map[string]any, opts Options) (string, error) {
	return replace(s, &replacer{values: vars, opts: opts})
}

func replace(s string, r *replacer) (string, error) {
	if !strings.Contains(s, tagOpen) {
		return s, nil
	}
	opts := r.opts
	if opts.AllowUnresolved && len(opts.StrictPrefixes) > 0 {
		quoted := make([]string, len(opts.StrictPrefixes))
		for i, p := range opts.StrictPrefixes {
			quoted[i] = regexp.QuoteMeta(p)
		}
		r.strict = regexp.MustCompile(`^(` + strings.Join(quoted, "|") + `)(\.|$)`)
	}
	var b strings.Builder
	b.Grow(len(s))
	err := scanTags(s, func(text string) { b.WriteString(text) }, func(tag string) error {
		if expression, ok := strings.CutPrefix(tag, exprPrefix); ok {
			return r.expression(&b, expression)
		}
		return r.simple(&b, tag)
	})
	if err != nil {
		return "", err
	}
	return b.String(), nil
}

// scanTags splits s into text and tags the way Argo's template engine
// (valyala/fasttemplate) does: a tag runs from "{{" to the first "}}" after
// it, so tags do not nest.
func scanTags(s string, text func(string), tag func(string) error) error {
	rest := s
	for {
		n := strings.Index(rest, tagOpen)
		if n < 0 {
			text(rest)
			return nil
		}
		text(rest[:n])
		after := rest[n+len(tagOpen):]
		m := strings.Index(after, tagClose)
		if m < 0 {
			return fmt.Errorf("unclosed tag: no %q after %q", tagClose, abbreviate(rest[n:], 60))
		}
		if err := tag(after[:m]); err != nil {
			return err
		}
		rest = after[m+len(tagClose):]
	}
}

func abbreviate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

type replacer struct {
	strs   map[string]string // the variables: strs, or values when strs is nil
	values map[string]any
	opts   Options
	strict *regexp.Regexp // nil: nothing beyond !AllowUnresolved is strict
	env    map[string]any // built on first use
}

// mustResolve reports whether a missing variable named name is an error.
func (r *replacer) mustResolve(name string) bool {
	if !r.opts.AllowUnresolved {
		return true
	}
	return r.strict != nil && r.strict.MatchString(name)
}

// lookup finds a variable for a simple tag.
func (r *replacer) lookup(name string) (v any, ok bool) {
	if r.strs != nil {
		v, ok = r.strs[name]
		return v, ok
	}
	v, ok = r.values[name]
	return v, ok
}

// text is a simple tag's replacement, escaped.
func (r *replacer) text(tag string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("failed to resolve {{%s}} to string", tag)
	}
	return r.escape(s), nil
}

func (r *replacer) escape(s string) string {
	if !r.opts.JSONEscape {
		return s
	}
	return jsonEscape(s)
}

func (r *replacer) simple(b *strings.Builder, tag string) error {
	name := strings.TrimSpace(tag)
	if v, ok := r.lookup(name); ok {
		out, err := r.text(tag, v)
		b.WriteString(out)
		return err
	}
	// A tag holding another "{{": resolve the innermost name and keep the
	// outer braces for a later pass.
	if i := strings.LastIndex(tag, tagOpen); i > 0 {
		if v, ok := r.lookup(tag[i+len(tagOpen):]); ok {
			if s, isStr := v.(string); isStr {
				b.WriteString(tagOpen + tag[:i] + r.escape(s))
				return nil
			}
		}
	}
	artifact := r.opts.AllowUnresolved && strings.Contains(name, ".outputs.artifacts.")
	if r.mustResolve(name) && !artifact {
		return &unresolvedError{msg: fmt.Sprintf("failed to resolve {{%s}}", tag)}
	}
	b.WriteString(tagOpen + tag + tagClose)
	return nil
}

func (r *replacer) expression(b *strings.Builder, written string) error {
	leave := func() error {
		b.WriteString(tagOpen + exprPrefix + written + tagClose)
		return nil
	}
	expression := written
	if r.opts.JSONEscape {
		var err error
		if expression, err = jsonUnescape(written); err != nil {
			return fmt.Errorf("failed to evaluate expression %q: it is not valid inside a JSON string: %w", written, err)
		}
	}
	ids, err := Identifiers(expression)
	if err != nil {
		return fmt.Errorf("failed to evaluate expression %q: %w", expression, err)
	}
	if r.env == nil {
		vars := r.values
		if r.strs != nil {
			vars = make(map[string]any, len(r.strs))
			for k, v := range r.strs {
				vars[k] = v
			}
		}
		r.env = newEnv(vars)
	}
	missing := false
	for _, id := range ids {
		if hasVarInEnv(r.env, id) {
			continue
		}
		if r.mustResolve(id) {
			return &unresolvedError{msg: fmt.Sprintf("failed to evaluate expression %q: %s is missing", expression, id)}
		}
		missing = true
	}
	// Like Argo: once every name is known (and unless unresolved tags are
	// allowed without strict prefixes) the expression must evaluate.
	lenient := missing || (r.opts.AllowUnresolved && r.strict == nil)
	if lenient {
		if _, ok := laterVariableMissing(expression, r.env); ok {
			return leave()
		}
	}
	result, err := evaluate(expression, r.env)
	if err == nil && result == nil {
		err = errors.New("the result is nil")
	}
	if err != nil {
		if lenient {
			return leave()
		}
		return fmt.Errorf("failed to evaluate expression %q: %w", expression, err)
	}
	out, err := formatResult(result)
	if err != nil {
		if lenient {
			return leave()
		}
		return fmt.Errorf("failed to evaluate expression %q: %w", expression, err)
	}
	b.WriteString(r.escape(out))
	return nil
}

// formatResult renders an expression's value for insertion: strings as they
// are, anything else as JSON (Argo marshals every result and trims the quotes
// of a string).
func formatResult(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	out, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("cannot render the result as JSON: %w", err)
	}
	return string(out), nil
}

// jsonEscape escapes s for insertion between the quotes of a JSON string.
func jsonEscape(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	out := buf.Bytes()
	return string(out[1 : len(out)-2]) // drop the quotes and the newline
}

// jsonUnescape undoes jsonEscape (Argo's template code JSON-decodes the
// expression text, after turning \u003c, \u003e and \u0026 back into < > &).
func jsonUnescape(s string) (string, error) {
	var out string
	err := json.Unmarshal([]byte(`"`+s+`"`), &out)
	return out, err
}

// Tags returns the content of every `{{...}}` tag of s, in order, as written
// between the braces: expression tags keep their leading "=", simple tags
// their spaces. Tags end at the first "}}" (they do not nest); an unclosed
// "{{" ends the list (ValidateSyntax reports it).
func Tags(s string) []string {
	var tags []string
	_ = scanTags(s, func(string) {}, func(tag string) error {
		tags = append(tags, tag)
		return nil
	})
	return tags
}

// ValidateSyntax reports an opening `{{` without a closing `}}`, and the first
// expression tag that does not parse, naming it. It does not check that
// variables exist: see Tags and Identifiers for that.
func ValidateSyntax(s string) error {
	return scanTags(s, func(string) {}, func(tag string) error {
		expression, ok := strings.CutPrefix(tag, exprPrefix)
		if !ok {
			return nil
		}
		if _, err := parser.Parse(expression); err != nil {
			return fmt.Errorf("invalid expression {{%s}}: %w", tag, err)
		}
		return nil
	})
}

// evaluate compiles and runs expression against env (an environment built by
// newEnv). Panics inside functions are errors, as expr-lang makes them; a
// panic anywhere else is turned into an error too.
func evaluate(expression string, env map[string]any) (result any, err error) {
	defer func() {
		if p := recover(); p != nil {
			result, err = nil, fmt.Errorf("panic: %v", p)
		}
	}()
	program, err := expr.Compile(expression, expr.Env(env))
	if err != nil {
		return nil, err
	}
	return expr.Run(program, env)
}
