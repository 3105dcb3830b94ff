package expr

import (
	"fmt"
	"strings"
	"testing"
)

// states is a lookup for tests: a missing task is Pending.
type states map[string]TaskState

func (s states) lookup(task string) TaskState { return s[task] }

func ok(p Phase) TaskState { return TaskState{Phase: p} }

func TestParseDependsConformanceExamples(t *testing.T) {
	// Every distinct `depends:` of Argo's examples, with its tasks.
	tests := []struct {
		depends string
		tasks   []string
	}{
		{"A && (C.Succeeded || C.Failed)", []string{"A", "C"}},
		{"A && B", []string{"A", "B"}},
		{"A", []string{"A"}},
		{"B && C", []string{"B", "C"}},
		{"B.Failed && C", []string{"B", "C"}},
		{"B || C", []string{"B", "C"}},
		{"E && F", []string{"E", "F"}},
		{"a && svc", []string{"a", "svc"}},
		{"b2 && b3 && b4", []string{"b2", "b3", "b4"}},
		{"c-loop", []string{"c-loop"}},
		{"divide-by-2", []string{"divide-by-2"}},
		{"inner-B && inner-C", []string{"inner-B", "inner-C"}},
		{"producer-1 && producer-2 && producer-3", []string{"producer-1", "producer-2", "producer-3"}},
		{"producer.Succeeded || producer.Skipped", []string{"producer"}},
		{"should-execute-2.Succeeded || should-not-execute", []string{"should-execute-2", "should-not-execute"}},
		{"init-database", []string{"init-database"}},
		{"1st && a1", []string{"1st", "a1"}},
	}
	for _, tt := range tests {
		d, err := ParseDepends(tt.depends)
		if err != nil {
			t.Errorf("%s: %v", tt.depends, err)
			continue
		}
		if fmt.Sprint(d.Tasks()) != fmt.Sprint(tt.tasks) {
			t.Errorf("%s: Tasks() = %q, want %q", tt.depends, d.Tasks(), tt.tasks)
		}
		if d.String() != tt.depends {
			t.Errorf("String() = %q", d.String())
		}
	}
}

func TestDependsEval(t *testing.T) {
	succeeded, failed, errored := ok(PhaseSucceeded), ok(PhaseFailed), ok(PhaseError)
	skipped, omitted := ok(PhaseSkipped), ok(PhaseOmitted)
	daemon := TaskState{Phase: PhaseRunning, Daemoned: true}
	pendingDaemon := TaskState{Phase: PhasePending, Daemoned: true}
	loop := func(children ...Phase) TaskState {
		return TaskState{Phase: PhaseSucceeded, Children: children}
	}
	tests := []struct {
		depends string
		states  states
		want    bool
	}{
		// A bare name: Succeeded, Skipped or Daemoned.
		{"A", states{"A": succeeded}, true},
		{"A", states{"A": skipped}, true},
		{"A", states{"A": daemon}, true},
		{"A", states{"A": pendingDaemon}, false},
		{"A", states{"A": failed}, false},
		{"A", states{"A": errored}, false},
		{"A", states{"A": omitted}, false},
		{"A", states{"A": ok(PhaseRunning)}, false},
		// Results.
		{"A.Succeeded", states{"A": succeeded}, true},
		{"A.Succeeded", states{"A": skipped}, false},
		{"A.Failed", states{"A": failed}, true},
		{"A.Failed", states{"A": errored}, false},
		{"A.Errored", states{"A": errored}, true},
		{"A.Skipped", states{"A": skipped}, true},
		{"A.Omitted", states{"A": omitted}, true},
		{"A.Daemoned", states{"A": daemon}, true},
		{"A.Daemoned", states{"A": TaskState{Phase: PhaseSucceeded, Daemoned: true}}, true},
		{"A.Daemoned", states{"A": pendingDaemon}, false},
		{"A.AnySucceeded", states{"A": loop(PhaseFailed, PhaseSucceeded)}, true},
		{"A.AnySucceeded", states{"A": loop(PhaseFailed, PhaseFailed)}, false},
		{"A.AnySucceeded", states{"A": loop()}, false},
		{"A.AllFailed", states{"A": loop(PhaseFailed, PhaseFailed)}, true},
		{"A.AllFailed", states{"A": loop(PhaseFailed, PhaseError)}, false},
		{"A.AllFailed", states{"A": loop()}, false},
		{"A.AllFailed", states{"A": failed}, false}, // no children: not a loop
		// Operators and precedence.
		{"!A.Succeeded", states{"A": failed}, true},
		{"!!A", states{"A": succeeded}, true},
		{"A && B", states{"A": succeeded, "B": skipped}, true},
		{"A && B", states{"A": succeeded, "B": failed}, false},
		{"A || B", states{"A": failed, "B": succeeded}, true},
		{"A || B && C", states{"A": succeeded, "B": failed, "C": failed}, true},
		{"(A || B) && C", states{"A": succeeded, "B": failed, "C": failed}, false},
		{"!A || B", states{"A": succeeded, "B": failed}, false},
		{"!(A || B)", states{"A": failed, "B": failed}, true},
		// examples/dag-enhanced-depends.yaml: A passes, B fails, C passes.
		{"A && (C.Succeeded || C.Failed)", states{"A": succeeded, "C": succeeded}, true},
		{"B.Failed && C", states{"B": failed, "C": succeeded}, true},
		{"B && C", states{"B": failed, "C": succeeded}, false},
		// examples/skipped-output-defaults
		{"producer.Succeeded || producer.Skipped", states{"producer": skipped}, true},
		{"should-execute-2.Succeeded || should-not-execute", states{"should-execute-2": succeeded, "should-not-execute": omitted}, true},
		{"  A\n&&\tB  ", states{"A": succeeded, "B": succeeded}, true},
	}
	for _, tt := range tests {
		t.Run(tt.depends, func(t *testing.T) {
			d, err := ParseDepends(tt.depends)
			if err != nil {
				t.Fatal(err)
			}
			var asked []string
			got, err := d.Eval(func(task string) TaskState {
				asked = append(asked, task)
				return tt.states.lookup(task)
			})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Eval = %v, want %v (states %v)", got, tt.want, tt.states)
			}
			for _, a := range asked {
				if !strings.Contains(fmt.Sprint(d.Tasks()), a) {
					t.Errorf("asked about %q, not in Tasks() %q", a, d.Tasks())
				}
			}
		})
	}
	d, _ := ParseDepends("A")
	if _, err := d.Eval(nil); err == nil {
		t.Error("Eval(nil) should fail")
	}
}

func TestDependsReady(t *testing.T) {
	d, err := ParseDepends("A && (B.Failed || C)")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		states states
		want   bool
	}{
		{states{"A": ok(PhaseSucceeded), "B": ok(PhaseFailed), "C": ok(PhaseSkipped)}, true},
		{states{"A": ok(PhaseSucceeded), "B": ok(PhaseError), "C": ok(PhaseOmitted)}, true},
		{states{"A": ok(PhaseSucceeded), "B": ok(PhaseRunning), "C": ok(PhaseSucceeded)}, false},
		{states{"A": ok(PhaseSucceeded), "B": ok(PhaseFailed)}, false}, // C unknown yet
		{states{"A": {Phase: PhaseRunning, Daemoned: true}, "B": ok(PhaseFailed), "C": ok(PhaseSucceeded)}, true},
		{states{"A": {Phase: PhasePending, Daemoned: true}, "B": ok(PhaseFailed), "C": ok(PhaseSucceeded)}, false},
	}
	for i, tt := range tests {
		if got := d.Ready(tt.states.lookup); got != tt.want {
			t.Errorf("%d: Ready = %v, want %v", i, got, tt.want)
		}
	}
}

func TestParseDependsErrors(t *testing.T) {
	tests := []struct{ depends, wantErr string }{
		{"", "empty expression"},
		{"   ", "empty expression"},
		{"A.Foo", "task result 'Foo' for task 'A' is invalid"},
		{"A.succeeded", "task result 'succeeded' for task 'A' is invalid"},
		{"A.", `a result must follow "A."`},
		{"A &&", "unexpected end of expression"},
		{"&& A", `unexpected "&&"`},
		{"A B", `unexpected "B"`},
		{"(A", "missing ')'"},
		{"A)", `unexpected ")"`},
		{"A & B", `unexpected "&"`},
		{"A | B", `unexpected "|"`},
		{"-A", `unexpected "-A"`},
		{"A.Succeeded.Failed", `unexpected ".Failed"`},
		{"a_b", `unexpected "_b"`},
		{"A and B", `unexpected "and"`},
		{"A == B", `unexpected "=="`},
		{"()", `unexpected ")"`},
	}
	for _, tt := range tests {
		t.Run(tt.depends, func(t *testing.T) {
			_, err := ParseDepends(tt.depends)
			checkErr(t, err, tt.wantErr)
			if !strings.Contains(err.Error(), fmt.Sprintf("depends %q", tt.depends)) {
				t.Errorf("error %q does not name the expression", err)
			}
		})
	}
}

func TestDependenciesToDepends(t *testing.T) {
	continueOn := map[string]ContinueOn{
		"B": {Failed: true},
		"C": {Error: true},
		"D": {Failed: true, Error: true},
	}
	lookup := func(task string) ContinueOn { return continueOn[task] }
	tests := []struct {
		deps []string
		fn   func(string) ContinueOn
		want string
	}{
		{nil, nil, ""},
		{[]string{"A"}, nil, "A"},
		{[]string{"A", "B"}, nil, "A && B"},
		{[]string{"A", "B", "C", "D"}, lookup, "A && (B.Succeeded || B.Skipped || B.Daemoned || B.Failed) && (C.Succeeded || C.Skipped || C.Daemoned || C.Errored) && (D.Succeeded || D.Skipped || D.Daemoned || D.Errored || D.Failed)"},
	}
	for _, tt := range tests {
		got := DependenciesToDepends(tt.deps, tt.fn)
		if got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	// examples/dag-continue-on-fail.yaml: B fails with continueOn.failed,
	// so its dependents run.
	d, err := ParseDepends(DependenciesToDepends([]string{"A", "B"}, lookup))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(d.Tasks()) != "[A B]" {
		t.Errorf("Tasks() = %v", d.Tasks())
	}
	for _, tt := range []struct {
		b    Phase
		want bool
	}{{PhaseFailed, true}, {PhaseError, false}, {PhaseSucceeded, true}, {PhaseOmitted, false}} {
		got, _ := d.Eval(states{"A": ok(PhaseSucceeded), "B": ok(tt.b)}.lookup)
		if got != tt.want {
			t.Errorf("B %s: got %v, want %v", tt.b, got, tt.want)
		}
	}
}
