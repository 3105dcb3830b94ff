package experiment

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/rolloutspec"
)

// requiredCompletedMessage is Argo's message when the required analyses
// ended the experiment.
const requiredCompletedMessage = "Required AnalysisRuns completed"

func experimentDuration(ex *argov1.Experiment) (time.Duration, error) {
	return rolloutspec.ExperimentDuration(ex.Spec.Duration)
}

// passedDuration says the templates have run their duration.
func passedDuration(ex *argov1.Experiment, now time.Time) bool {
	left, ok := durationLeft(ex, now)
	return ok && left < 0
}

// durationLeft is the time until the duration ends, ok false when the
// experiment has no duration or is not available yet.
func durationLeft(ex *argov1.Experiment, now time.Time) (time.Duration, bool) {
	d, err := experimentDuration(ex)
	if err != nil || d == 0 || ex.Status.AvailableAt == nil {
		return 0, false
	}
	return ex.Status.AvailableAt.Add(d).Sub(now), true
}

// isTerminating is Argo's IsTerminating: terminate asked for, the
// experiment over, a template or an analysis gone wrong, or the required
// analyses done.
func isTerminating(ex *argov1.Experiment) bool {
	if ex.Spec.Terminate || ex.Status.Phase.Completed() {
		return true
	}
	for _, ts := range ex.Status.TemplateStatuses {
		if ts.Status == argov1.TemplateStatusFailed || ts.Status == argov1.TemplateStatusError {
			return true
		}
	}
	for _, a := range ex.Status.AnalysisRuns {
		if bad(a.Phase) {
			return true
		}
	}
	return requiredSuccessful(ex, &ex.Status)
}

func hasRequired(ex *argov1.Experiment) bool {
	for _, a := range ex.Spec.Analyses {
		if a.RequiredForCompletion {
			return true
		}
	}
	return false
}

// requiredSuccessful says there are required analyses and all succeeded.
func requiredSuccessful(ex *argov1.Experiment, st *argov1.ExperimentStatus) bool {
	if !hasRequired(ex) {
		return false
	}
	for _, a := range ex.Spec.Analyses {
		if !a.RequiredForCompletion {
			continue
		}
		if s := analysisStatus(st, a.Name); s == nil || s.Phase != argov1.AnalysisPhaseSuccessful {
			return false
		}
	}
	return true
}

// templateOrder is Argo's, best to worst.
var templateOrder = []argov1.TemplateStatusCode{argov1.TemplateStatusSuccessful, argov1.TemplateStatusRunning,
	argov1.TemplateStatusProgressing, argov1.TemplateStatusError, argov1.TemplateStatusFailed}

func templateWorse(current, next argov1.TemplateStatusCode) bool {
	return worseIn(templateOrder, current, next)
}

// worseIn says next comes after current in order (best to worst).
func worseIn[T comparable](order []T, current, next T) bool {
	ci, ni := 0, 0
	for i, s := range order {
		if s == current {
			ci = i
		}
		if s == next {
			ni = i
		}
	}
	return ni > ci
}

// phaseOrder is Argo's analysis phase order, best to worst.
var phaseOrder = []argov1.AnalysisPhase{argov1.AnalysisPhaseSuccessful, argov1.AnalysisPhaseRunning, argov1.AnalysisPhasePending,
	argov1.AnalysisPhaseInconclusive, argov1.AnalysisPhaseError, argov1.AnalysisPhaseFailed}

func phaseWorse(current, next argov1.AnalysisPhase) bool {
	return worseIn(phaseOrder, current, next)
}

// assessTemplates is the worst template state as an experiment phase.
func (c *cycle) assessTemplates() (argov1.AnalysisPhase, string) {
	worst, msg := argov1.TemplateStatusSuccessful, ""
	for _, t := range c.ex.Spec.Templates {
		ts := templateStatus(c.st, t.Name)
		if ts == nil {
			if templateWorse(worst, argov1.TemplateStatusProgressing) {
				worst = argov1.TemplateStatusProgressing
			}
			continue
		}
		if templateWorse(worst, ts.Status) {
			worst, msg = ts.Status, ts.Message
		}
	}
	switch worst {
	case argov1.TemplateStatusProgressing:
		return argov1.AnalysisPhasePending, msg
	case argov1.TemplateStatusFailed:
		return argov1.AnalysisPhaseFailed, msg
	case argov1.TemplateStatusError:
		return argov1.AnalysisPhaseError, msg
	case argov1.TemplateStatusSuccessful:
		return argov1.AnalysisPhaseSuccessful, msg
	}
	return argov1.AnalysisPhaseRunning, msg
}

// assessAnalyses is the worst analysis phase; with no analyses,
// Successful.
func (c *cycle) assessAnalyses() (argov1.AnalysisPhase, string) {
	worst, msg := argov1.AnalysisPhaseSuccessful, ""
	for _, a := range c.ex.Spec.Analyses {
		var phase argov1.AnalysisPhase
		s := analysisStatus(c.st, a.Name)
		if s != nil {
			phase = s.Phase
		}
		if phaseWorse(worst, phase) {
			worst = phase
			if s != nil {
				msg = s.Message
			}
		}
	}
	if requiredSuccessful(c.ex, c.st) && phaseWorse(worst, argov1.AnalysisPhaseRunning) {
		return argov1.AnalysisPhaseSuccessful, requiredCompletedMessage
	}
	if worst == argov1.AnalysisPhasePending || worst == "" {
		worst = argov1.AnalysisPhaseRunning
	}
	return worst, msg
}

// assess is Argo's calculateStatus: the phase from the templates and the
// analyses, then the Progressing condition.
func (c *cycle) assess() {
	st := c.st
	switch st.Phase {
	case "":
		st.Phase = argov1.AnalysisPhasePending
	case argov1.AnalysisPhasePending, argov1.AnalysisPhaseRunning:
		tPhase, tMsg := c.assessTemplates()
		aPhase, aMsg := c.assessAnalyses()
		if tPhase == argov1.AnalysisPhaseRunning && st.AvailableAt == nil {
			st.AvailableAt = &metav1.Time{Time: c.now}
		}
		switch {
		case tPhase.Completed():
			if tPhase == argov1.AnalysisPhaseSuccessful && (aPhase.Completed() || hasRequired(c.ex)) {
				st.Phase, st.Message = aPhase, aMsg
			} else {
				st.Phase, st.Message = tPhase, tMsg
			}
		case aPhase.Completed() && aPhase != argov1.AnalysisPhaseSuccessful:
			st.Phase, st.Message = aPhase, aMsg
		case requiredSuccessful(c.ex, st):
			st.Phase, st.Message = aPhase, aMsg
		default:
			st.Phase, st.Message = tPhase, tMsg
		}
	}
	c.conditions()
}

// The Progressing condition's reasons and messages, as Argo's.
const (
	reasonCompleted      = "ExperimentCompleted"
	reasonReplicaUpdated = "ReplicaSetUpdated"
	reasonAvailable      = "NewReplicaSetAvailable"
)

// conditions is Argo's calculateExperimentConditions.
func (c *cycle) conditions() {
	st := c.st
	name := c.ex.Name
	now := metav1.NewTime(c.now)
	switch {
	case st.Phase == argov1.AnalysisPhaseSuccessful:
		setCondition(st, argov1.ExperimentCondition{Type: argov1.ExperimentConditionProgressing, Status: corev1.ConditionFalse,
			Reason: reasonCompleted, Message: fmt.Sprintf("Experiment %q has successfully ran and completed.", name), LastUpdateTime: now, LastTransitionTime: now})
	case progressed(&c.ex.Status, st):
		cond := argov1.ExperimentCondition{Type: argov1.ExperimentConditionProgressing, Status: corev1.ConditionTrue,
			Reason: reasonReplicaUpdated, Message: fmt.Sprintf("Experiment %q is progressing.", name), LastUpdateTime: now, LastTransitionTime: now}
		if cur := condition(&c.ex.Status, argov1.ExperimentConditionProgressing); cur != nil && cur.Status == corev1.ConditionTrue {
			cond.LastTransitionTime = cur.LastTransitionTime
		}
		removeCondition(st, argov1.ExperimentConditionProgressing)
		st.Conditions = append(st.Conditions, cond)
	case c.ex.Status.AvailableAt != nil && !passedDuration(c.ex, c.now):
		setCondition(st, argov1.ExperimentCondition{Type: argov1.ExperimentConditionProgressing, Status: corev1.ConditionTrue,
			Reason: reasonAvailable, Message: fmt.Sprintf("Experiment %q is running.", name), LastUpdateTime: now, LastTransitionTime: now})
	}
}

// progressed says a template's replica counts changed.
func progressed(old, next *argov1.ExperimentStatus) bool {
	if len(old.TemplateStatuses) < len(next.TemplateStatuses) {
		return true
	}
	for _, o := range old.TemplateStatuses {
		n := templateStatus(next, o.Name)
		if n != nil && (o.Replicas != n.Replicas || o.UpdatedReplicas != n.UpdatedReplicas || o.ReadyReplicas != n.ReadyReplicas || o.AvailableReplicas != n.AvailableReplicas) {
			return true
		}
	}
	return false
}

func condition(st *argov1.ExperimentStatus, t argov1.ExperimentConditionType) *argov1.ExperimentCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

// setCondition is Argo's SetExperimentCondition: no change when status
// and reason are the same; the transition time kept when only the reason
// changed.
func setCondition(st *argov1.ExperimentStatus, cond argov1.ExperimentCondition) {
	cur := condition(st, cond.Type)
	if cur != nil && cur.Status == cond.Status && cur.Reason == cond.Reason && cur.Message == cond.Message {
		return
	}
	if cur != nil && cur.Status == cond.Status {
		cond.LastTransitionTime = cur.LastTransitionTime
	}
	removeCondition(st, cond.Type)
	st.Conditions = append(st.Conditions, cond)
}

// removeCondition drops a condition and says whether there was one.
func removeCondition(st *argov1.ExperimentStatus, t argov1.ExperimentConditionType) bool {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			st.Conditions = append(st.Conditions[:i], st.Conditions[i+1:]...)
			return true
		}
	}
	return false
}

func invalidSpecCondition(ex *argov1.Experiment, msg string, now time.Time) argov1.ExperimentCondition {
	t := metav1.NewTime(now)
	return argov1.ExperimentCondition{Type: argov1.ExperimentConditionInvalidSpec, Status: corev1.ConditionTrue,
		Reason: "InvalidSpec", Message: msg, LastUpdateTime: t, LastTransitionTime: t}
}

// requeue is Argo's calculateEnqueueDuration: the end of the duration, or
// the nearest progress deadline of a template not yet at its replicas.
func (c *cycle) requeue() {
	ex := c.ex.DeepCopy()
	ex.Status = *c.st.DeepCopy()
	if isTerminating(ex) {
		return
	}
	if left, ok := durationLeft(ex, c.now); ok && left >= 0 {
		c.wakeIn(left + time.Millisecond)
	}
	deadline := time.Duration(rolloutspec.ExperimentProgressDeadline(ex)) * time.Second
	for _, t := range ex.Spec.Templates {
		ts := templateStatus(&ex.Status, t.Name)
		if ts == nil || (ts.Status != argov1.TemplateStatusProgressing && ts.Status != argov1.TemplateStatusRunning) || ts.LastTransitionTime == nil {
			continue
		}
		if ts.AvailableReplicas != desiredReplicas(ex, t) {
			c.wakeIn(ts.LastTransitionTime.Add(deadline).Sub(c.now) + time.Millisecond)
		}
	}
}
