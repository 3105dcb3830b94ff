package experiment

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

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

func TestResolveArgs(t *testing.T) {
	at := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ex := &argov1.Experiment{Spec: argov1.ExperimentSpec{Duration: "5m", Templates: []argov1.ExperimentTemplate{{Name: "canary"}}},
		Status: argov1.ExperimentStatus{AvailableAt: &at}}
	c := &cycle{ex: ex, rss: map[string]*appsv1.ReplicaSet{"canary": {ObjectMeta: metav1.ObjectMeta{Name: "ex-canary", Labels: map[string]string{argov1.LabelPodTemplateHash: "abc"}}}}}
	got, err := c.resolveArgs([]argov1.Argument{{Name: "h", Value: ptr.To("{{templates.canary.podTemplateHash}}/{{ templates.canary.replicaset.name }}/{{experiment.finishedAt}}")}})
	if err != nil || *got[0].Value != "abc/ex-canary/2026-01-01T00:05:00Z" {
		t.Errorf("resolveArgs = %v, %v", got, err)
	}
	if _, err := c.resolveArgs([]argov1.Argument{{Name: "h", Value: ptr.To("{{templates.canry.podTemplateHash}}")}}); err == nil || !strings.Contains(err.Error(), "failed to resolve {{templates.canry.podTemplateHash}}") {
		t.Errorf("a misspelt template: %v, want it named", err)
	}
}
