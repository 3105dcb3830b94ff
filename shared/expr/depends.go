package expr

import (
	"fmt"
	"strings"
)

// Phase is the phase of a workflow node, with Argo's values.
type Phase string

// The node phases a depends expression can see.
const (
	PhasePending   Phase = "Pending"
	PhaseRunning   Phase = "Running"
	PhaseSucceeded Phase = "Succeeded"
	PhaseSkipped   Phase = "Skipped"
	PhaseFailed    Phase = "Failed"
	PhaseError     Phase = "Error"
	PhaseOmitted   Phase = "Omitted"
)

// TaskState is what a depends expression knows about a task it names.
type TaskState struct {
	// Phase of the task's node.
	Phase Phase
	// Daemoned: the task runs a daemon (its result `Daemoned` holds once the
	// daemon is no longer Pending).
	Daemoned bool
	// Children are the phases of the nodes of a task that fans out
	// (withItems, withParam, withSequence: Argo's TaskGroup node), for the
	// results AnySucceeded and AllFailed. Nil for a task that does not fan out.
	Children []Phase
}

// Fulfilled reports whether the task is done as far as its dependents are
// concerned (Argo's Node.Fulfilled): it reached a final phase, or it is a
// daemon that started. A depends expression is evaluated only once every task
// it names is fulfilled; see Depends.Ready.
func (s TaskState) Fulfilled() bool {
	switch s.Phase {
	case PhaseSucceeded, PhaseFailed, PhaseError, PhaseSkipped, PhaseOmitted:
		return true
	}
	return s.Daemoned && s.Phase != PhasePending && s.Phase != ""
}

// The task results a depends expression can test, as `task.Result`.
const (
	ResultSucceeded    = "Succeeded"
	ResultFailed       = "Failed"
	ResultErrored      = "Errored"
	ResultSkipped      = "Skipped"
	ResultOmitted      = "Omitted"
	ResultDaemoned     = "Daemoned"
	ResultAnySucceeded = "AnySucceeded"
	ResultAllFailed    = "AllFailed"
)

func (s TaskState) result(r string) bool {
	switch r {
	case ResultSucceeded:
		return s.Phase == PhaseSucceeded
	case ResultFailed:
		return s.Phase == PhaseFailed
	case ResultErrored:
		return s.Phase == PhaseError
	case ResultSkipped:
		return s.Phase == PhaseSkipped
	case ResultOmitted:
		return s.Phase == PhaseOmitted
	case ResultDaemoned:
		return s.Daemoned && s.Phase != PhasePending
	case ResultAnySucceeded:
		for _, c := range s.Children {
			if c == PhaseSucceeded {
				return true
			}
		}
		return false
	case ResultAllFailed:
		for _, c := range s.Children {
			if c != PhaseFailed {
				return false
			}
		}
		return len(s.Children) > 0
	}
	return false
}

// Depends is a parsed DAG `depends` expression.
type Depends struct {
	src   string
	root  depNode
	tasks []string
}

type depNode interface {
	eval(lookup func(string) TaskState) bool
}

type (
	depRef struct {
		task   string
		result string // "" for a bare task name
	}
	depNot    struct{ x depNode }
	depAnd    struct{ l, r depNode }
	depOr     struct{ l, r depNode }
	depParens struct{ x depNode }
)

func (n depRef) eval(lookup func(string) TaskState) bool {
	s := lookup(n.task)
	if n.result == "" {
		// A bare name: the task succeeded, was skipped, or is a running daemon.
		return s.result(ResultSucceeded) || s.result(ResultSkipped) || s.result(ResultDaemoned)
	}
	return s.result(n.result)
}
func (n depNot) eval(l func(string) TaskState) bool    { return !n.x.eval(l) }
func (n depAnd) eval(l func(string) TaskState) bool    { return n.l.eval(l) && n.r.eval(l) }
func (n depOr) eval(l func(string) TaskState) bool     { return n.l.eval(l) || n.r.eval(l) }
func (n depParens) eval(l func(string) TaskState) bool { return n.x.eval(l) }

// ParseDepends parses a DAG task's `depends` expression, Argo's enhanced
// depends logic: task names (letters, digits and '-', not starting with '-'),
// each alone or followed by a result (`A.Succeeded`, `.Failed`, `.Errored`,
// `.Skipped`, `.Omitted`, `.Daemoned`, `.AnySucceeded`, `.AllFailed`),
// combined with `&&`, `||`, `!` and parentheses (`!` binds tightest, then
// `&&`, then `||`). A bare name `A` means `(A.Succeeded || A.Skipped ||
// A.Daemoned)`. Errors name the offending text.
func ParseDepends(s string) (*Depends, error) {
	p := &depParser{src: s}
	if err := p.lex(); err != nil {
		return nil, err
	}
	if len(p.toks) == 0 {
		return nil, fmt.Errorf("depends %q: empty expression", s)
	}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, p.errorf("unexpected %q", p.toks[p.i].text)
	}
	d := &Depends{src: s, root: n}
	seen := map[string]bool{}
	for _, t := range p.toks {
		if t.kind == depTokRef && !seen[t.ref.task] {
			seen[t.ref.task] = true
			d.tasks = append(d.tasks, t.ref.task)
		}
	}
	return d, nil
}

// String returns the expression as written.
func (d *Depends) String() string { return d.src }

// Tasks returns the names of the tasks the expression depends on, each once,
// in order of first appearance.
func (d *Depends) Tasks() []string { return append([]string(nil), d.tasks...) }

// Ready reports whether every task the expression names is fulfilled, which
// Argo requires before it evaluates the expression (until then the dependent
// task waits).
func (d *Depends) Ready(lookup func(task string) TaskState) bool {
	for _, t := range d.tasks {
		if !lookup(t).Fulfilled() {
			return false
		}
	}
	return true
}

// Eval evaluates the expression with the states lookup returns: true means the
// dependent task runs, false that it is omitted (once Ready). lookup is asked
// only about the names of Tasks.
func (d *Depends) Eval(lookup func(task string) TaskState) (bool, error) {
	if lookup == nil {
		return false, fmt.Errorf("depends %q: no task states to evaluate against", d.src)
	}
	return d.root.eval(lookup), nil
}

// ContinueOn is a legacy dependency's continueOn: the dependent also runs when
// the dependency failed or errored.
type ContinueOn struct {
	Failed bool
	Error  bool
}

// DependenciesToDepends turns a task's legacy `dependencies` list into the
// equivalent depends expression, as Argo does: every dependency must have
// succeeded, been skipped, or be a running daemon, or also have errored
// (continueOn.error) or failed (continueOn.failed). continueOn gives each
// dependency's continueOn and may be nil.
func DependenciesToDepends(deps []string, continueOn func(task string) ContinueOn) string {
	parts := make([]string, 0, len(deps))
	for _, d := range deps {
		var c ContinueOn
		if continueOn != nil {
			c = continueOn(d)
		}
		if !c.Failed && !c.Error {
			parts = append(parts, d)
			continue
		}
		results := []string{ResultSucceeded, ResultSkipped, ResultDaemoned}
		if c.Error {
			results = append(results, ResultErrored)
		}
		if c.Failed {
			results = append(results, ResultFailed)
		}
		for i, r := range results {
			results[i] = d + "." + r
		}
		parts = append(parts, "("+strings.Join(results, " || ")+")")
	}
	return strings.Join(parts, " && ")
}

type depTokKind int

const (
	depTokRef depTokKind = iota
	depTokAnd
	depTokOr
	depTokNot
	depTokOpen
	depTokClose
)

type depTok struct {
	kind depTokKind
	text string
	pos  int
	ref  depRef
}

type depParser struct {
	src  string
	toks []depTok
	i    int
}

func (p *depParser) errorf(format string, args ...any) error {
	return fmt.Errorf("depends %q: %s", p.src, fmt.Sprintf(format, args...))
}

func isNameByte(c byte) bool {
	return c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func (p *depParser) lex() error {
	s := p.src
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.HasPrefix(s[i:], "&&"):
			p.toks = append(p.toks, depTok{kind: depTokAnd, text: "&&", pos: i})
			i += 2
		case strings.HasPrefix(s[i:], "||"):
			p.toks = append(p.toks, depTok{kind: depTokOr, text: "||", pos: i})
			i += 2
		case c == '!':
			p.toks = append(p.toks, depTok{kind: depTokNot, text: "!", pos: i})
			i++
		case c == '(':
			p.toks = append(p.toks, depTok{kind: depTokOpen, text: "(", pos: i})
			i++
		case c == ')':
			p.toks = append(p.toks, depTok{kind: depTokClose, text: ")", pos: i})
			i++
		case isNameByte(c) && c != '-':
			j := i
			for j < len(s) && isNameByte(s[j]) {
				j++
			}
			ref := depRef{task: s[i:j]}
			if j < len(s) && s[j] == '.' {
				k := j + 1
				for k < len(s) && isNameByte(s[k]) {
					k++
				}
				ref.result = s[j+1 : k]
				switch ref.result {
				case ResultSucceeded, ResultFailed, ResultErrored, ResultSkipped, ResultOmitted,
					ResultDaemoned, ResultAnySucceeded, ResultAllFailed:
				case "":
					return p.errorf("a result must follow %q", s[i:j+1])
				default:
					return p.errorf("task result '%s' for task '%s' is invalid (want one of Succeeded, Failed, Errored, Skipped, Omitted, Daemoned, AnySucceeded, AllFailed)", ref.result, ref.task)
				}
				j = k
			}
			p.toks = append(p.toks, depTok{kind: depTokRef, text: s[i:j], pos: i, ref: ref})
			i = j
		default:
			tok := s[i:]
			if n := strings.IndexAny(tok, " \t\n\r"); n > 0 {
				tok = tok[:n]
			}
			return p.errorf("unexpected %q at position %d (want a task name, &&, ||, ! or parentheses)", tok, i)
		}
	}
	return nil
}

func (p *depParser) peek() *depTok {
	if p.i < len(p.toks) {
		return &p.toks[p.i]
	}
	return nil
}

func (p *depParser) or() (depNode, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for t := p.peek(); t != nil && t.kind == depTokOr; t = p.peek() {
		p.i++
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = depOr{l, r}
	}
	return l, nil
}

func (p *depParser) and() (depNode, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for t := p.peek(); t != nil && t.kind == depTokAnd; t = p.peek() {
		p.i++
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = depAnd{l, r}
	}
	return l, nil
}

func (p *depParser) unary() (depNode, error) {
	t := p.peek()
	if t == nil {
		return nil, p.errorf("unexpected end of expression")
	}
	switch t.kind {
	case depTokNot:
		p.i++
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return depNot{x}, nil
	case depTokOpen:
		p.i++
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if c := p.peek(); c == nil || c.kind != depTokClose {
			return nil, p.errorf("missing ')' for the '(' at position %d", t.pos)
		}
		p.i++
		return depParens{x}, nil
	case depTokRef:
		p.i++
		return t.ref, nil
	}
	return nil, p.errorf("unexpected %q at position %d", t.text, t.pos)
}
