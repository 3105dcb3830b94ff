package experiment

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// TestAssess follows Argo's calculateStatus cases: the templates' worst
// state, deferred to the analyses once the templates are done or a
// required analysis decided it.
func TestAssess(t *testing.T) {
	const (
		tRun  = argov1.TemplateStatusRunning
		tOK   = argov1.TemplateStatusSuccessful
		tFail = argov1.TemplateStatusFailed
		tProg = argov1.TemplateStatusProgressing
		aRun  = argov1.AnalysisPhaseRunning
		aOK   = argov1.AnalysisPhaseSuccessful
		aFail = argov1.AnalysisPhaseFailed
		aInc  = argov1.AnalysisPhaseInconclusive
	)
	for _, tc := range []struct {
		name     string
		template argov1.TemplateStatusCode
		analysis argov1.AnalysisPhase
		required bool
		want     argov1.AnalysisPhase
	}{
		{"templates progressing", tProg, "", false, argov1.AnalysisPhasePending},
		{"templates running, analysis running", tRun, aRun, false, aRun},
		{"analysis failed while running", tRun, aFail, false, aFail},
		{"analysis inconclusive while running", tRun, aInc, false, aInc},
		{"non-required analysis succeeded early: keeps running", tRun, aOK, false, aRun},
		{"required analysis succeeded: done", tRun, aOK, true, aOK},
		{"duration over, analysis still running, not required", tOK, aRun, false, aOK},
		{"duration over, required analysis still running: waits", tOK, aRun, true, aRun},
		{"duration over, analysis succeeded", tOK, aOK, false, aOK},
		{"a template failed", tFail, aRun, false, aFail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex := &argov1.Experiment{ObjectMeta: metav1.ObjectMeta{Name: "ex"}, Spec: argov1.ExperimentSpec{
				Templates: []argov1.ExperimentTemplate{{Name: "a"}},
				Analyses:  []argov1.ExperimentAnalysisTemplateRef{{Name: "x", TemplateName: "x", RequiredForCompletion: tc.required}},
			}, Status: argov1.ExperimentStatus{Phase: argov1.AnalysisPhaseRunning}}
			st := ex.Status.DeepCopy()
			st.TemplateStatuses = []argov1.ExperimentTemplateStatus{{Name: "a", Status: tc.template}}
			st.AnalysisRuns = []argov1.ExperimentAnalysisRunStatus{{Name: "x", Phase: tc.analysis}}
			c := &cycle{ex: ex, st: st, now: time.Now()}
			c.assess()
			if st.Phase != tc.want {
				t.Errorf("phase = %s (%q), want %s", st.Phase, st.Message, tc.want)
			}
		})
	}
}

func TestSubstitute(t *testing.T) {
	vars := map[string]string{"templates.canary.podTemplateHash": "abc", "experiment.availableAt": "2026-01-01T00:00:00Z"}
	if got, err := substitute("{{templates.canary.podTemplateHash}}-{{ experiment.availableAt }}", vars); err != nil || got != "abc-2026-01-01T00:00:00Z" {
		t.Errorf("substitute = %q, %v", got, err)
	}
	if _, err := substitute("{{templates.canry.podTemplateHash}}", vars); err == nil || !strings.Contains(err.Error(), "failed to resolve {{templates.canry.podTemplateHash}}") {
		t.Errorf("a misspelt name: %v, want it named", err)
	}
	if _, err := substitute("{{templates", vars); err == nil {
		t.Error("an unclosed {{ passed")
	}
}
