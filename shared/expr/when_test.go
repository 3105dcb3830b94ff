package expr

import (
	"strings"
	"testing"
)

func TestWhen(t *testing.T) {
	tests := []struct {
		cond    string
		want    bool
		wantErr string
	}{
		// Argo's own conditions (steps_test.go, docs).
		{cond: "", want: true},
		{cond: "heads == heads", want: true},
		{cond: "tails == heads", want: false},
		{cond: "8 > 5", want: true},
		{cond: "5 > 8", want: false},
		{cond: `"a" =~ "a.*"`, want: true},
		{cond: `"b" =~ "a.*"`, want: false},
		{cond: `"b" !~ "a.*"`, want: true},
		{cond: "( 5 == 5 && 3 < 4 ) || false", want: true},
		{cond: "hello != hello", want: false},
		{cond: "hello != world", want: true},
		{cond: "true", want: true},
		{cond: "false", want: false},
		{cond: "!false", want: true},
		{cond: "true == true", want: true},
		{cond: "10 >= 10.0", want: true},
		{cond: "3 < 10", want: true}, // numbers, not strings ("3" > "10")
		{cond: "Succeeded == Succeeded", want: true},
		{cond: "YES == YES", want: true},
		{cond: "'quoted value' == 'quoted value'", want: true},
		{cond: "a_b == a_b", want: true},
		// Errors name the condition.
		{cond: "5", wantErr: "expected boolean evaluation for '5', got 5"},
		{cond: "heads", wantErr: "expected boolean evaluation for 'heads', got heads"},
		{cond: "== heads", wantErr: "invalid 'when' expression '== heads'"},
		{cond: "1 +", wantErr: "invalid 'when' expression '1 +'"},
		{cond: "a b", wantErr: "invalid 'when' expression 'a b'"},
		{cond: "flip-coin == heads", wantErr: "failed to evaluate 'when' expression 'flip-coin == heads'"},
		{cond: "x == #", wantErr: "(hint: try wrapping the affected expression in quotes (\"))"},
		{cond: "a.b == c", wantErr: "invalid 'when' expression 'a.b == c'"},
		{cond: "(true", wantErr: "invalid 'when' expression '(true'"},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			got, err := When(tt.cond)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("When(%q) = %v, want %v", tt.cond, got, tt.want)
			}
		})
	}
}

// TestWhenConformanceExamples runs every distinct `when:` of Argo's examples
// through the substitution Argo does first, then When.
func TestWhenConformanceExamples(t *testing.T) {
	complexCond := `( {{steps.flip-coin.outputs.result}} == heads &&
  {{steps.flip-again.outputs.result}} == tails
) ||
( {{steps.flip-coin.outputs.result}} == tails &&
  {{steps.flip-again.outputs.result}} == heads
)`
	tests := []struct {
		when string
		vars map[string]string
		want bool
	}{
		{`false`, nil, false},
		{`{{inputs.parameters.num-1}} != 1 && {{inputs.parameters.num-1}} != 2`, map[string]string{"inputs.parameters.num-1": "3"}, true},
		{`{{inputs.parameters.num-1}} != 1 && {{inputs.parameters.num-1}} != 2`, map[string]string{"inputs.parameters.num-1": "2"}, false},
		{`{{inputs.parameters.num}} != 1 && {{inputs.parameters.num}} != 2`, map[string]string{"inputs.parameters.num": "5"}, true},
		{`{{inputs.parameters.num}} != 1 && {{inputs.parameters.num}} != 2`, map[string]string{"inputs.parameters.num": "1"}, false},
		{`{{inputs.parameters.should-print}} == true`, map[string]string{"inputs.parameters.should-print": "true"}, true},
		{`{{inputs.parameters.should-print}} == true`, map[string]string{"inputs.parameters.should-print": "false"}, false},
		{`{{= inputs.parameters["should-print"] == 'true'}}`, map[string]string{"inputs.parameters.should-print": "true"}, true},
		{`{{= inputs.parameters["should-print"] == 'true'}}`, map[string]string{"inputs.parameters.should-print": "false"}, false},
		{`{{=jsonpath(workflow.parameters.json, '$[0].value') == 'true'}}`, map[string]string{"workflow.parameters.json": `[{"name":"should-print","value":"true"}]`}, true},
		{`{{=jsonpath(workflow.parameters.json, '$[0].value') == 'true'}}`, map[string]string{"workflow.parameters.json": `[{"name":"should-print","value":"false"}]`}, false},
		{`{{item.evenness}} == even`, map[string]string{"item.evenness": "even"}, true},
		{`{{item.evenness}} == even`, map[string]string{"item.evenness": "odd"}, false},
		{`{{status}} == Succeeded`, map[string]string{"status": "Succeeded"}, true},
		{`{{status}} == Succeeded`, map[string]string{"status": "Failed"}, false},
		{`{{steps.flakey-container.status}} == Failed`, map[string]string{"steps.flakey-container.status": "Failed"}, true},
		{`{{steps.flakey-container.status}} == Succeeded`, map[string]string{"steps.flakey-container.status": "Failed"}, false},
		{`{{steps.flip-again.outputs.result}} =~ hea`, map[string]string{"steps.flip-again.outputs.result": "heads"}, true},
		{`{{steps.flip-again.outputs.result}} =~ tai`, map[string]string{"steps.flip-again.outputs.result": "heads"}, false},
		{`{{steps.flip-coin.outputs.result}} == heads`, map[string]string{"steps.flip-coin.outputs.result": "heads"}, true},
		{`{{steps.flip-coin.outputs.result}} == tails`, map[string]string{"steps.flip-coin.outputs.result": "heads"}, false},
		{`{{steps.iterate-counter.outputs.result}} < {{inputs.parameters.limit}}`, map[string]string{"steps.iterate-counter.outputs.result": "3", "inputs.parameters.limit": "10"}, true},
		{`{{steps.iterate-counter.outputs.result}} < {{inputs.parameters.limit}}`, map[string]string{"steps.iterate-counter.outputs.result": "10", "inputs.parameters.limit": "10"}, false},
		{`{{steps.submit-resource.status}} == Failed`, map[string]string{"steps.submit-resource.status": "Succeeded"}, false},
		{`{{tasks.flip-coin.outputs.result}} == heads`, map[string]string{"tasks.flip-coin.outputs.result": "heads"}, true},
		{`{{tasks.flip-coin.outputs.result}} == tails`, map[string]string{"tasks.flip-coin.outputs.result": "heads"}, false},
		{`{{workflow.status}} != Succeeded`, map[string]string{"workflow.status": "Failed"}, true},
		{`{{workflow.status}} == Succeeded`, map[string]string{"workflow.status": "Failed"}, false},
		{`{{steps.approval.outputs.parameters.approve}} == YES`, map[string]string{"steps.approval.outputs.parameters.approve": "YES"}, true},
		{`{{steps.approval.outputs.parameters.approve}} == YES`, map[string]string{"steps.approval.outputs.parameters.approve": "NO"}, false},
		{complexCond, map[string]string{"steps.flip-coin.outputs.result": "heads", "steps.flip-again.outputs.result": "tails"}, true},
		{complexCond, map[string]string{"steps.flip-coin.outputs.result": "tails", "steps.flip-again.outputs.result": "heads"}, true},
		{complexCond, map[string]string{"steps.flip-coin.outputs.result": "heads", "steps.flip-again.outputs.result": "heads"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.when, func(t *testing.T) {
			// Argo substitutes `when` strictly for steps and tasks (ReplaceStrict).
			cond, err := Replace(tt.when, tt.vars, Options{AllowUnresolved: true, StrictPrefixes: []string{"steps", "tasks"}})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(cond, "{{") {
				t.Fatalf("unsubstituted: %q", cond)
			}
			got, err := When(cond)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("When(%q) = %v, want %v", cond, got, tt.want)
			}
		})
	}
}
