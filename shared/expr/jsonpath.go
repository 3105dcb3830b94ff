package expr

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// This file is the JSONPath dialect of the expression function jsonpath. Argo
// uses github.com/evilmonkeyinc/jsonpath; this is a small implementation of
// the same dialect (Goessner's JSONPath):
//
//	$            the document             @      the current element (filters)
//	.key ['key'] a member                 .length the length of an array, map
//	[n] [-n]     an element (maps: n-th key in sorted order; strings: a byte)
//	* [*] .*     every element            ..     every descendant, recursively
//	[a,b]        a union of keys or indexes
//	[from:to:step] a range: to excluded, out-of-range bounds are an error,
//	             a negative step returns the range reversed
//	[?(expr)]    the elements for which expr holds: == != < <= > >= =~ && || !
//	             + - * / %, parentheses, numbers, 'strings', "strings", true,
//	             false, null, and paths from @ or $
//	[(expr)]     the element whose index or key expr computes
//
// A path that only names members and indexes returns that one value; a
// wildcard, range, union, filter or recursive step returns an array of the
// values found beneath it, skipping elements where the rest of the path finds
// nothing.

type jpToken interface{ jpToken() }

type (
	jpKey       struct{ key string }
	jpLength    struct{}
	jpIndex     struct{ i int }
	jpWildcard  struct{}
	jpRecursive struct{}
	jpRange     struct{ from, to, step *int }
	jpUnion     struct{ items []any } // string keys and int indexes
	jpFilter    struct{ expr fNode }
	jpScript    struct{ expr fNode }
)

func (jpKey) jpToken()       {}
func (jpLength) jpToken()    {}
func (jpIndex) jpToken()     {}
func (jpWildcard) jpToken()  {}
func (jpRecursive) jpToken() {}
func (jpRange) jpToken()     {}
func (jpUnion) jpToken()     {}
func (jpFilter) jpToken()    {}
func (jpScript) jpToken()    {}

// jsonPathQuery evaluates path against data (decoded JSON).
func jsonPathQuery(path string, data any) (any, error) {
	p := &jpParser{src: path}
	toks, err := p.parsePath('$')
	if err != nil {
		return nil, fmt.Errorf("invalid JSONPath query %q: %w", path, err)
	}
	if p.pos != len(p.src) {
		return nil, fmt.Errorf("invalid JSONPath query %q: unexpected %q at position %d", path, p.src[p.pos:], p.pos)
	}
	return jpApply(toks, data, data)
}

type jpParser struct {
	src string
	pos int
	// inFilter makes member names stop at operators and spaces.
	inFilter bool
}

func (p *jpParser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

// parsePath parses a path that starts with root ('$' or '@').
func (p *jpParser) parsePath(root byte) ([]jpToken, error) {
	p.skipSpace()
	if p.peek() != root {
		return nil, fmt.Errorf("a path must start with %q", string(root))
	}
	p.pos++
	var toks []jpToken
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case strings.HasPrefix(p.src[p.pos:], ".."):
			p.pos += 2
			toks = append(toks, jpRecursive{})
			switch p.peek() {
			case '[':
				continue
			case '*':
				p.pos++
				toks = append(toks, jpWildcard{})
			default:
				name := p.name()
				if name == "" {
					return nil, fmt.Errorf("a name must follow '..' at position %d", p.pos)
				}
				toks = append(toks, jpKey{name})
			}
		case c == '.':
			p.pos++
			if p.peek() == '*' {
				p.pos++
				toks = append(toks, jpWildcard{})
				continue
			}
			name := p.name()
			if name == "" {
				return nil, fmt.Errorf("a name must follow '.' at position %d", p.pos)
			}
			if name == "length" {
				toks = append(toks, jpLength{})
			} else {
				toks = append(toks, jpKey{name})
			}
		case c == '[':
			tok, err := p.bracket()
			if err != nil {
				return nil, err
			}
			toks = append(toks, tok)
		default:
			if p.inFilter {
				return toks, nil
			}
			return nil, fmt.Errorf("unexpected %q at position %d", string(c), p.pos)
		}
	}
	return toks, nil
}

func (p *jpParser) name() string {
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '.' || c == '[' {
			break
		}
		if p.inFilter && strings.IndexByte(" \t\r\n()!=<>&|+-*/%,'\"~]", c) >= 0 {
			break
		}
		p.pos++
	}
	return p.src[start:p.pos]
}

// bracket parses a [...] subscript; p.pos is at '['.
func (p *jpParser) bracket() (jpToken, error) {
	start := p.pos
	end, err := matchBracket(p.src, p.pos)
	if err != nil {
		return nil, err
	}
	inner := strings.TrimSpace(p.src[start+1 : end])
	p.pos = end + 1
	switch {
	case inner == "":
		return nil, fmt.Errorf("empty subscript at position %d", start)
	case inner == "*":
		return jpWildcard{}, nil
	case strings.HasPrefix(inner, "?"):
		body := strings.TrimSpace(inner[1:])
		if !strings.HasPrefix(body, "(") || !strings.HasSuffix(body, ")") {
			return nil, fmt.Errorf("a filter must be written [?(...)] at position %d", start)
		}
		n, err := parseFilter(body[1 : len(body)-1])
		if err != nil {
			return nil, err
		}
		return jpFilter{n}, nil
	case strings.HasPrefix(inner, "(") && strings.HasSuffix(inner, ")") && len(splitTop(inner, ',')) == 1:
		n, err := parseFilter(inner[1 : len(inner)-1])
		if err != nil {
			return nil, err
		}
		return jpScript{n}, nil
	}
	if parts := splitTop(inner, ','); len(parts) > 1 {
		var items []any
		for _, part := range parts {
			part = strings.TrimSpace(part)
			if k, ok := unquote(part); ok {
				items = append(items, k)
			} else if i, err := strconv.Atoi(part); err == nil {
				items = append(items, i)
			} else {
				return nil, fmt.Errorf("invalid union member %q", part)
			}
		}
		return jpUnion{items}, nil
	}
	if parts := splitTop(inner, ':'); len(parts) > 1 {
		if len(parts) > 3 {
			return nil, fmt.Errorf("invalid range [%s]", inner)
		}
		var r jpRange
		bounds := []**int{&r.from, &r.to, &r.step}
		for i, part := range parts {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			n, err := strconv.Atoi(part)
			if err != nil {
				return nil, fmt.Errorf("invalid range [%s]", inner)
			}
			*bounds[i] = &n
		}
		if r.from == nil && r.to == nil {
			return nil, fmt.Errorf("invalid range [%s]", inner)
		}
		return r, nil
	}
	if k, ok := unquote(inner); ok {
		return jpKey{k}, nil
	}
	if i, err := strconv.Atoi(inner); err == nil {
		return jpIndex{i}, nil
	}
	return nil, fmt.Errorf("invalid subscript [%s]", inner)
}

// matchBracket returns the index of the ']' closing the '[' at open, skipping
// quoted strings and nested brackets.
func matchBracket(s string, open int) (int, error) {
	depth := 0
	var quote byte
	for i := open; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			switch c {
			case '\\':
				i++
			case quote:
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '[' || c == '(':
			depth++
		case c == ']' || c == ')':
			depth--
			if depth == 0 {
				if c != ']' {
					return 0, fmt.Errorf("unbalanced parentheses at position %d", i)
				}
				return i, nil
			}
		}
	}
	return 0, fmt.Errorf("unclosed '[' at position %d", open)
}

// splitTop splits s at sep outside quotes, brackets and parentheses.
func splitTop(s string, sep byte) []string {
	var parts []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			switch c {
			case '\\':
				i++
			case quote:
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '[' || c == '(':
			depth++
		case c == ']' || c == ')':
			depth--
		case c == sep && depth == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// unquote returns the content of a 'single' or "double" quoted string.
func unquote(s string) (string, bool) {
	if len(s) < 2 || (s[0] != '\'' && s[0] != '"') || s[len(s)-1] != s[0] {
		return "", false
	}
	body := s[1 : len(s)-1]
	if !strings.ContainsRune(body, '\\') {
		if strings.IndexByte(body, s[0]) >= 0 {
			return "", false
		}
		return body, true
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == s[0] {
			return "", false
		}
		if c == '\\' && i+1 < len(body) {
			i++
			switch body[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			default:
				b.WriteByte(body[i])
			}
			continue
		}
		b.WriteByte(c)
	}
	return b.String(), true
}

func (p *jpParser) skipSpace() {
	for p.pos < len(p.src) && strings.IndexByte(" \t\r\n", p.src[p.pos]) >= 0 {
		p.pos++
	}
}

// jpApply applies toks to cur. root is the document, for $ inside filters.
func jpApply(toks []jpToken, root, cur any) (any, error) {
	if len(toks) == 0 {
		return cur, nil
	}
	rest := toks[1:]
	switch t := toks[0].(type) {
	case jpKey:
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("cannot get key %q of %s", t.key, jpKind(cur))
		}
		v, ok := m[t.key]
		if !ok {
			return nil, fmt.Errorf("key %q not found", t.key)
		}
		return jpApply(rest, root, v)
	case jpLength:
		if m, ok := cur.(map[string]any); ok {
			if v, ok := m["length"]; ok {
				return jpApply(rest, root, v)
			}
		}
		n, ok := jpLen(cur)
		if !ok {
			return nil, fmt.Errorf("cannot get the length of %s", jpKind(cur))
		}
		return jpApply(rest, root, n)
	case jpIndex:
		v, err := jpAt(cur, t.i)
		if err != nil {
			return nil, err
		}
		return jpApply(rest, root, v)
	case jpScript:
		v, err := t.expr.eval(root, cur)
		if err != nil {
			return nil, err
		}
		switch k := v.(type) {
		case string:
			return jpApply(append([]jpToken{jpKey{k}}, rest...), root, cur)
		case float64:
			if k != math.Trunc(k) {
				return nil, fmt.Errorf("script result %v is not an index", k)
			}
			return jpApply(append([]jpToken{jpIndex{int(k)}}, rest...), root, cur)
		default:
			return nil, fmt.Errorf("script result %v is neither an index nor a key", v)
		}
	case jpRange:
		if s, ok := cur.(string); ok {
			idx, err := t.indexes(len(s))
			if err != nil {
				return nil, err
			}
			var b strings.Builder
			for _, i := range idx {
				b.WriteByte(s[i])
			}
			return jpApply(rest, root, b.String())
		}
		elems, ok := jpElements(cur)
		if !ok {
			return nil, fmt.Errorf("cannot take a range of %s", jpKind(cur))
		}
		idx, err := t.indexes(len(elems))
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, len(idx))
		for _, i := range idx {
			out = append(out, elems[i])
		}
		return jpEach(out, rest, root, true, false)
	case jpWildcard:
		elems, ok := jpElements(cur)
		if !ok {
			return nil, fmt.Errorf("cannot list the elements of %s", jpKind(cur))
		}
		return jpEach(elems, rest, root, false, false)
	case jpUnion:
		out := make([]any, 0, len(t.items))
		for _, it := range t.items {
			var v any
			var err error
			switch it := it.(type) {
			case string:
				v, err = jpApply([]jpToken{jpKey{it}}, root, cur)
			case int:
				v, err = jpAt(cur, it)
			}
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return jpEach(out, rest, root, false, false)
	case jpFilter:
		elems, ok := jpElements(cur)
		if !ok {
			return nil, fmt.Errorf("cannot filter %s", jpKind(cur))
		}
		out := make([]any, 0, len(elems))
		for _, e := range elems {
			v, err := t.expr.eval(root, e)
			if err == nil && truthy(v) {
				out = append(out, e)
			}
		}
		return jpEach(out, rest, root, true, false)
	case jpRecursive:
		return jpEach(jpFlatten(cur, nil), rest, root, false, true)
	}
	return nil, fmt.Errorf("unknown JSONPath step %T", toks[0])
}

// jpEach applies rest to each element of a collection step's result. Elements
// where rest finds nothing are skipped. indexable: an index right after the
// step picks from the result (filters and ranges); flatten: array results are
// spliced in (recursive descent).
func jpEach(elems []any, rest []jpToken, root any, indexable, flatten bool) (any, error) {
	if len(rest) == 0 {
		return elems, nil
	}
	if ix, ok := rest[0].(jpIndex); ok && indexable {
		return jpApply(append([]jpToken{ix}, rest[1:]...), root, elems)
	}
	out := make([]any, 0, len(elems))
	for _, e := range elems {
		v, err := jpApply(rest, root, e)
		if err != nil || v == nil {
			continue
		}
		if arr, ok := v.([]any); ok && flatten {
			out = append(out, arr...)
			continue
		}
		out = append(out, v)
	}
	return out, nil
}

// indexes are the positions a range selects in a collection of n elements.
func (r jpRange) indexes(n int) ([]int, error) {
	from, to, step := 0, n, 1
	if r.from != nil {
		from = *r.from
		if from < 0 {
			from += n
		}
		if from < 0 || from >= n {
			return nil, fmt.Errorf("range start %d out of range (length %d)", *r.from, n)
		}
	}
	if r.to != nil {
		to = *r.to
		if to < 0 {
			to += n
		}
		if to < 0 || to > n {
			return nil, fmt.Errorf("range end %d out of range (length %d)", *r.to, n)
		}
	}
	if r.step != nil {
		step = *r.step
		if step == 0 {
			return nil, fmt.Errorf("range step must not be 0")
		}
	}
	abs := step
	if abs < 0 {
		abs = -abs
	}
	var out []int
	for i := from; i < to; i += abs {
		out = append(out, i)
	}
	if step < 0 {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

// jpElements lists an array's elements, or a map's values by sorted key.
func jpElements(v any) ([]any, bool) {
	switch v := v.(type) {
	case []any:
		return v, true
	case map[string]any:
		keys := sortedKeys(v)
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = v[k]
		}
		return out, true
	}
	return nil, false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func jpAt(cur any, i int) (any, error) {
	if s, ok := cur.(string); ok {
		if i < 0 {
			i += len(s)
		}
		if i < 0 || i >= len(s) {
			return nil, fmt.Errorf("index %d out of range (length %d)", i, len(s))
		}
		return s[i : i+1], nil
	}
	elems, ok := jpElements(cur)
	if !ok {
		return nil, fmt.Errorf("cannot index %s", jpKind(cur))
	}
	j := i
	if j < 0 {
		j += len(elems)
	}
	if j < 0 || j >= len(elems) {
		return nil, fmt.Errorf("index %d out of range (length %d)", i, len(elems))
	}
	return elems[j], nil
}

func jpLen(v any) (float64, bool) {
	switch v := v.(type) {
	case []any:
		return float64(len(v)), true
	case map[string]any:
		return float64(len(v)), true
	case string:
		return float64(len(v)), true
	}
	return 0, false
}

// jpFlatten lists v and all its descendants, depth first.
func jpFlatten(v any, out []any) []any {
	if v == nil {
		return out
	}
	out = append(out, v)
	if elems, ok := jpElements(v); ok {
		for _, e := range elems {
			out = jpFlatten(e, out)
		}
	}
	return out
}

func jpKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// truthy decides whether a filter keeps an element: null, false and the empty
// string do not, anything else does.
func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case string:
		return strings.Trim(v, `"`) != ""
	}
	return true
}

// fNode is a node of a filter or script expression.
type fNode interface {
	eval(root, cur any) (any, error)
}

type (
	fLit  struct{ v any }
	fPath struct {
		fromRoot bool
		toks     []jpToken
	}
	fNot   struct{ x fNode }
	fNeg   struct{ x fNode }
	fBinOp struct {
		op   string
		l, r fNode
	}
)

func (n fLit) eval(_, _ any) (any, error) { return n.v, nil }

func (n fPath) eval(root, cur any) (any, error) {
	start := cur
	if n.fromRoot {
		start = root
	}
	return jpApply(n.toks, root, start)
}

func (n fNot) eval(root, cur any) (any, error) {
	v, err := n.x.eval(root, cur)
	if err != nil {
		return nil, err
	}
	return !truthy(v), nil
}

func (n fNeg) eval(root, cur any) (any, error) {
	v, err := n.x.eval(root, cur)
	if err != nil {
		return nil, err
	}
	f, ok := v.(float64)
	if !ok {
		return nil, fmt.Errorf("cannot negate %s", jpKind(v))
	}
	return -f, nil
}

func (n fBinOp) eval(root, cur any) (any, error) {
	l, err := n.l.eval(root, cur)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case "&&":
		if !truthy(l) {
			return false, nil
		}
		r, err := n.r.eval(root, cur)
		if err != nil {
			return nil, err
		}
		return truthy(r), nil
	case "||":
		if truthy(l) {
			return true, nil
		}
		r, err := n.r.eval(root, cur)
		if err != nil {
			return nil, err
		}
		return truthy(r), nil
	}
	r, err := n.r.eval(root, cur)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case "==":
		return jpEqual(l, r), nil
	case "!=":
		return !jpEqual(l, r), nil
	case "=~":
		s, ok1 := l.(string)
		pat, ok2 := r.(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("=~ needs a string and a pattern")
		}
		re, err := regexp.Compile(pat)
		if err != nil {
			return nil, err
		}
		return re.MatchString(s), nil
	case "<", "<=", ">", ">=":
		c, err := jpCompare(l, r)
		if err != nil {
			return nil, err
		}
		switch n.op {
		case "<":
			return c < 0, nil
		case "<=":
			return c <= 0, nil
		case ">":
			return c > 0, nil
		default:
			return c >= 0, nil
		}
	}
	if n.op == "+" {
		if ls, ok := l.(string); ok {
			if rs, ok := r.(string); ok {
				return ls + rs, nil
			}
		}
	}
	lf, ok1 := l.(float64)
	rf, ok2 := r.(float64)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%s needs numbers, not %s and %s", n.op, jpKind(l), jpKind(r))
	}
	switch n.op {
	case "+":
		return lf + rf, nil
	case "-":
		return lf - rf, nil
	case "*":
		return lf * rf, nil
	case "/":
		if rf == 0 {
			return nil, fmt.Errorf("division by zero")
		}
		return lf / rf, nil
	case "%":
		if rf == 0 {
			return nil, fmt.Errorf("division by zero")
		}
		return math.Mod(lf, rf), nil
	}
	return nil, fmt.Errorf("unknown operator %s", n.op)
}

func jpEqual(l, r any) bool {
	if lf, ok := l.(float64); ok {
		rf, ok := r.(float64)
		return ok && lf == rf
	}
	return reflect.DeepEqual(l, r)
}

func jpCompare(l, r any) (int, error) {
	switch lv := l.(type) {
	case float64:
		if rv, ok := r.(float64); ok {
			switch {
			case lv < rv:
				return -1, nil
			case lv > rv:
				return 1, nil
			}
			return 0, nil
		}
	case string:
		if rv, ok := r.(string); ok {
			return strings.Compare(lv, rv), nil
		}
	}
	return 0, fmt.Errorf("cannot compare %s with %s", jpKind(l), jpKind(r))
}

// fParser parses filter expressions by precedence climbing.
type fParser struct {
	src string
	pos int
}

var fBinaryLevels = [][]string{
	{"||"},
	{"&&"},
	{"==", "!=", "<=", ">=", "<", ">", "=~"},
	{"+", "-"},
	{"*", "/", "%"},
}

func parseFilter(src string) (fNode, error) {
	p := &fParser{src: src}
	n, err := p.binary(0)
	if err != nil {
		return nil, fmt.Errorf("invalid filter %q: %w", src, err)
	}
	p.skipSpace()
	if p.pos != len(p.src) {
		return nil, fmt.Errorf("invalid filter %q: unexpected %q", src, p.src[p.pos:])
	}
	return n, nil
}

func (p *fParser) skipSpace() {
	for p.pos < len(p.src) && strings.IndexByte(" \t\r\n", p.src[p.pos]) >= 0 {
		p.pos++
	}
}

func (p *fParser) binary(level int) (fNode, error) {
	if level == len(fBinaryLevels) {
		return p.unary()
	}
	l, err := p.binary(level + 1)
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpace()
		op := ""
		for _, o := range fBinaryLevels[level] {
			if strings.HasPrefix(p.src[p.pos:], o) {
				op = o
				break
			}
		}
		if op == "" {
			return l, nil
		}
		p.pos += len(op)
		r, err := p.binary(level + 1)
		if err != nil {
			return nil, err
		}
		l = fBinOp{op: op, l: l, r: r}
	}
}

func (p *fParser) unary() (fNode, error) {
	p.skipSpace()
	switch p.peek() {
	case '!':
		p.pos++
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return fNot{x}, nil
	case '-':
		p.pos++
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return fNeg{x}, nil
	}
	return p.primary()
}

func (p *fParser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

var fNumber = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?`)

func (p *fParser) primary() (fNode, error) {
	p.skipSpace()
	rest := p.src[p.pos:]
	switch c := p.peek(); {
	case c == 0:
		return nil, fmt.Errorf("unexpected end")
	case c == '(':
		p.pos++
		n, err := p.binary(0)
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.peek() != ')' {
			return nil, fmt.Errorf("missing ')'")
		}
		p.pos++
		return n, nil
	case c == '\'' || c == '"':
		for i := 1; i < len(rest); i++ {
			if rest[i] == '\\' {
				i++
				continue
			}
			if rest[i] == c {
				s, ok := unquote(rest[:i+1])
				if !ok {
					return nil, fmt.Errorf("invalid string %s", rest[:i+1])
				}
				p.pos += i + 1
				return fLit{s}, nil
			}
		}
		return nil, fmt.Errorf("unclosed string")
	case c == '/':
		// A regular expression literal, for =~ /pattern/.
		if end := strings.IndexByte(rest[1:], '/'); end >= 0 {
			p.pos += end + 2
			return fLit{rest[1 : end+1]}, nil
		}
		return nil, fmt.Errorf("unclosed regular expression")
	case c == '@' || c == '$':
		jp := &jpParser{src: p.src, pos: p.pos, inFilter: true}
		toks, err := jp.parsePath(c)
		if err != nil {
			return nil, err
		}
		p.pos = jp.pos
		return fPath{fromRoot: c == '$', toks: toks}, nil
	case c >= '0' && c <= '9':
		m := fNumber.FindString(rest)
		f, err := strconv.ParseFloat(m, 64)
		if err != nil {
			return nil, err
		}
		p.pos += len(m)
		return fLit{f}, nil
	}
	for word, v := range map[string]any{"true": true, "false": false, "null": nil} {
		if strings.HasPrefix(rest, word) && (len(rest) == len(word) || !isWordByte(rest[len(word)])) {
			p.pos += len(word)
			return fLit{v}, nil
		}
	}
	return nil, fmt.Errorf("unexpected %q", rest)
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
