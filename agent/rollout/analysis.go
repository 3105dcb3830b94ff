package rollout

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/agent/rollout/analysis"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/rolloutspec"
)

// The labels on the AnalysisRuns a Rollout creates, as Argo's.
const (
	LabelRolloutType = "rollout-type"
	LabelStepIndex   = "step-index"
)

// The kinds of AnalysisRun a Rollout creates (its rollout-type label).
const (
	runStep          = "Step"
	runBackground    = "Background"
	runPrePromotion  = "PrePromotion"
	runPostPromotion = "PostPromotion"
)

// runStatus is the status field that tracks the run of a kind.
func (c *cycle) runStatus(kind string) **argov1.RolloutAnalysisRunStatus {
	st := &c.ro.Status
	switch kind {
	case runStep:
		return &st.Canary.CurrentStepAnalysisRunStatus
	case runBackground:
		return &st.Canary.CurrentBackgroundAnalysisRunStatus
	case runPrePromotion:
		return &st.BlueGreen.PrePromotionAnalysisRunStatus
	default:
		return &st.BlueGreen.PostPromotionAnalysisRunStatus
	}
}

// runFor returns the AnalysisRun of a kind for the current revision (and
// step), creating it from ra when there is none, or when the rollout was
// retried after an abort (a new attempt gets new runs, as in Argo). Its
// phase goes to status, with an Event per change.
func (c *cycle) runFor(kind string, ra *argov1.RolloutAnalysis, newRS, stableRS *appsv1.ReplicaSet, step *int32) (*argov1.AnalysisRun, error) {
	ref := c.runStatus(kind)
	var run *argov1.AnalysisRun
	if *ref != nil {
		got := &argov1.AnalysisRun{}
		err := c.r.Client.Get(c.ctx, client.ObjectKey{Namespace: c.ro.Namespace, Name: (*ref).Name}, got)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, fmt.Errorf("reading AnalysisRun %s of rollout %s/%s: %w", (*ref).Name, c.ro.Namespace, c.ro.Name, err)
		case c.runMatches(got, kind, step) && !c.retried:
			run = got
		}
	}
	if run == nil {
		created, err := c.createRun(kind, ra, newRS, stableRS, step)
		if err != nil {
			return nil, err
		}
		run = created
	}
	c.trackRun(kind, run)
	return run, nil
}

// runMatches says a run belongs to this revision and step.
func (c *cycle) runMatches(run *argov1.AnalysisRun, kind string, step *int32) bool {
	if run.Labels[LabelPodTemplateHash] != c.ro.Status.CurrentPodHash || run.Labels[LabelRolloutType] != kind {
		return false
	}
	if step != nil && run.Labels[LabelStepIndex] != strconv.Itoa(int(*step)) {
		return false
	}
	return true
}

// trackRun writes a run's phase to status, with Argo's AnalysisRun<Phase>
// Event when it changed.
func (c *cycle) trackRun(kind string, run *argov1.AnalysisRun) {
	ref := c.runStatus(kind)
	phase := run.Status.Phase
	if phase == "" {
		phase = argov1.AnalysisPhasePending
	}
	prev := *ref
	next := &argov1.RolloutAnalysisRunStatus{Name: run.Name, Status: phase, Message: run.Status.Message}
	if prev == nil || prev.Name != next.Name || prev.Status != next.Status {
		typ := corev1.EventTypeNormal
		if phase == argov1.AnalysisPhaseFailed || phase == argov1.AnalysisPhaseError || phase == argov1.AnalysisPhaseInconclusive {
			typ = corev1.EventTypeWarning
		}
		before := ""
		if prev != nil && prev.Name == next.Name {
			before = string(prev.Status)
		}
		c.event(typ, "AnalysisRun"+string(phase), "%s Analysis Run '%s' Status New: '%s' Previous: '%s'", kindTitle(kind), run.Name, phase, before)
	}
	*ref = next
}

func kindTitle(kind string) string {
	switch kind {
	case runPrePromotion:
		return "Pre-Promotion"
	case runPostPromotion:
		return "Post-Promotion"
	}
	return kind
}

// createRun builds the run from the templates and creates it under Argo's
// name (ROLLOUT-HASH-REVISION[-STEP|-pre|-post]), with .1, .2, ... when an
// earlier attempt took the name.
func (c *cycle) createRun(kind string, ra *argov1.RolloutAnalysis, newRS, stableRS *appsv1.ReplicaSet, step *int32) (*argov1.AnalysisRun, error) {
	ro := c.ro
	args, err := rolloutArgs(ro, ra.Args, stableRS, newRS)
	if err != nil {
		return nil, &specError{msg: err.Error()}
	}
	parts := []string{ro.Name, ro.Status.CurrentPodHash, strconv.Itoa(revisionOf(newRS))}
	labels := map[string]string{LabelPodTemplateHash: ro.Status.CurrentPodHash, LabelRolloutType: kind}
	switch kind {
	case runStep:
		parts = append(parts, strconv.Itoa(int(*step)))
		labels[LabelStepIndex] = strconv.Itoa(int(*step))
	case runPrePromotion:
		parts = append(parts, "pre")
	case runPostPromotion:
		parts = append(parts, "post")
	}
	var annotations map[string]string
	if md := ra.AnalysisRunMetadata; md != nil {
		maps.Copy(labels, md.Labels)
		annotations = maps.Clone(md.Annotations)
	}
	if ro.Spec.Selector != nil {
		for k, v := range ro.Spec.Selector.MatchLabels {
			if _, ok := labels[k]; !ok {
				labels[k] = v
			}
		}
	}
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[AnnotationRevision] = strconv.Itoa(revisionOf(newRS))
	owner := metav1.NewControllerRef(ro, argov1.GroupVersion.WithKind(kindRollout))
	base := strings.Join(parts, "-")
	for attempt := 0; attempt < 100; attempt++ {
		name := base
		if attempt > 0 {
			name = fmt.Sprintf("%s.%d", base, attempt)
		}
		run, err := analysis.NewRunFromTemplates(c.ctx, c.r.Client, ro.Namespace, ra.Templates, args, analysis.RunOptions{
			Name: name, Labels: maps.Clone(labels), Annotations: maps.Clone(annotations),
			DryRun: ra.DryRun, MeasurementRetention: ra.MeasurementRetention, Owner: owner,
		})
		if err != nil {
			if isTransient(err) {
				return nil, fmt.Errorf("building the %s AnalysisRun of rollout %s/%s: %w", kindTitle(kind), ro.Namespace, ro.Name, err)
			}
			return nil, &specError{msg: fmt.Sprintf("%s analysis: %v", strings.ToLower(kindTitle(kind)), err)}
		}
		err = c.r.Client.Create(c.ctx, run)
		if err == nil {
			c.log.V(1).Info("created AnalysisRun", "analysisrun", run.Name, "kind", kind)
			return run, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("creating AnalysisRun %s for rollout %s/%s: %w", name, ro.Namespace, ro.Name, err)
		}
		existing := &argov1.AnalysisRun{}
		if err := c.r.APIReader.Get(c.ctx, client.ObjectKey{Namespace: ro.Namespace, Name: name}, existing); err == nil &&
			metav1.IsControlledBy(existing, ro) && c.runMatches(existing, kind, step) && !c.retried && !existing.Status.Phase.Completed() {
			return existing, nil // the cache had not seen it yet
		}
	}
	return nil, fmt.Errorf("rollout %s/%s: no free AnalysisRun name after 100 attempts of %s", ro.Namespace, ro.Name, base)
}

// terminateRun stops a run of a kind that is still measuring.
func (c *cycle) terminateRun(kind string) error {
	ref := *c.runStatus(kind)
	if ref == nil || ref.Status.Completed() {
		return nil
	}
	run := &argov1.AnalysisRun{}
	if err := c.r.Client.Get(c.ctx, client.ObjectKey{Namespace: c.ro.Namespace, Name: ref.Name}, run); err != nil {
		return client.IgnoreNotFound(err)
	}
	if run.Spec.Terminate || run.Status.Phase.Completed() {
		return nil
	}
	if err := analysis.Terminate(c.ctx, c.r.Client, run); err != nil {
		return fmt.Errorf("terminating AnalysisRun %s of rollout %s/%s: %w", run.Name, c.ro.Namespace, c.ro.Name, err)
	}
	return nil
}

// analysisOutcome turns a run's phase into what the rollout does: go on,
// wait, pause (inconclusive) or abort (failed, error).
type analysisOutcome int

const (
	analysisWait analysisOutcome = iota
	analysisPassed
	analysisPaused
	analysisAborted
)

// judge acts on a run's phase as Argo does: Failed or Error aborts the
// update (condition and Event naming the run and its message);
// Inconclusive pauses it until promoted.
func (c *cycle) judge(run *argov1.AnalysisRun, newRS *appsv1.ReplicaSet) analysisOutcome {
	st := &c.ro.Status
	switch run.Status.Phase {
	case argov1.AnalysisPhaseSuccessful:
		return analysisPassed
	case argov1.AnalysisPhaseFailed, argov1.AnalysisPhaseError:
		if !st.Abort {
			st.Abort = true
			st.AbortedAt = &metav1.Time{Time: c.now}
			msg := fmt.Sprintf("Rollout aborted update to revision %d: %s", revisionOf(newRS), runFailureMessage(run))
			c.setProgressing(corev1.ConditionFalse, reasonAborted, msg)
			c.event(corev1.EventTypeWarning, reasonAborted, "%s", msg)
		}
		return analysisAborted
	case argov1.AnalysisPhaseInconclusive:
		if c.pauseCondition(argov1.PauseReasonInconclusiveAnalysis) == nil && !st.ControllerPause {
			c.pause(argov1.PauseReasonInconclusiveAnalysis)
			return analysisPaused
		}
		if c.pauseCondition(argov1.PauseReasonInconclusiveAnalysis) == nil {
			return analysisPassed // promoted past it
		}
		return analysisPaused
	}
	return analysisWait
}

// runFailureMessage is Argo's: the run's message, else "Metric X assessed
// Failed due to failed (N) > failureLimit (M)".
func runFailureMessage(run *argov1.AnalysisRun) string {
	msg := fmt.Sprintf("AnalysisRun '%s' owned by the Rollout failed", run.Name)
	for _, mr := range run.Status.MetricResults {
		if mr.Phase == argov1.AnalysisPhaseFailed || mr.Phase == argov1.AnalysisPhaseError {
			detail := mr.Message
			if detail == "" {
				detail = fmt.Sprintf("assessed %s", mr.Phase)
			}
			return fmt.Sprintf("%s: Metric %q %s", msg, mr.Name, detail)
		}
	}
	if run.Status.Message != "" {
		return msg + ": " + run.Status.Message
	}
	return msg
}

// rolloutArgs resolves a Rollout's analysis arguments: values, the stable's
// or the latest's pod-template-hash, fields of the Rollout.
func rolloutArgs(ro *argov1.Rollout, in []argov1.AnalysisRunArgument, stableRS, newRS *appsv1.ReplicaSet) ([]argov1.Argument, error) {
	out := make([]argov1.Argument, 0, len(in))
	for _, a := range in {
		v := a.Value
		if vf := a.ValueFrom; vf != nil {
			switch {
			case vf.PodTemplateHashValue != nil && *vf.PodTemplateHashValue == argov1.Latest:
				v = newRS.Labels[LabelPodTemplateHash]
			case vf.PodTemplateHashValue != nil:
				if stableRS != nil {
					v = stableRS.Labels[LabelPodTemplateHash]
				}
			case vf.FieldRef != nil:
				got, err := rolloutspec.FieldValue(ro, vf.FieldRef.FieldPath)
				if err != nil {
					return nil, fmt.Errorf("analysis arg %q: %w", a.Name, err)
				}
				v = got
			}
		}
		out = append(out, argov1.Argument{Name: a.Name, Value: ptr.To(v)})
	}
	return out, nil
}

// isTransient says an error reading templates is the API server's, worth
// a retry, rather than the spec's.
func isTransient(err error) bool {
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// defaultRunHistoryLimit is Argo's default for successfulRunHistoryLimit
// and unsuccessfulRunHistoryLimit.
const defaultRunHistoryLimit = 5

// cleanupRuns deletes the completed AnalysisRuns of the Rollout beyond
// spec.analysis.successfulRunHistoryLimit and unsuccessfulRunHistoryLimit
// (5 each), oldest first; the runs status tracks are kept whatever their
// phase.
func (c *cycle) cleanupRuns() error {
	var list argov1.AnalysisRunList
	if err := c.r.Client.List(c.ctx, &list, client.InNamespace(c.ro.Namespace)); err != nil {
		return fmt.Errorf("listing the AnalysisRuns of rollout %s/%s: %w", c.ro.Namespace, c.ro.Name, err)
	}
	current := map[string]bool{}
	for _, kind := range []string{runStep, runBackground, runPrePromotion, runPostPromotion} {
		if ref := *c.runStatus(kind); ref != nil {
			current[ref.Name] = true
		}
	}
	var successful, unsuccessful []*argov1.AnalysisRun
	for i := range list.Items {
		run := &list.Items[i]
		if !metav1.IsControlledBy(run, c.ro) || current[run.Name] || run.DeletionTimestamp != nil || !run.Status.Phase.Completed() {
			continue
		}
		if run.Status.Phase == argov1.AnalysisPhaseSuccessful {
			successful = append(successful, run)
		} else {
			unsuccessful = append(unsuccessful, run)
		}
	}
	limits := c.ro.Spec.Analysis
	keepSuccessful, keepUnsuccessful := int32(defaultRunHistoryLimit), int32(defaultRunHistoryLimit)
	if limits != nil {
		keepSuccessful = ptr.Deref(limits.SuccessfulRunHistoryLimit, keepSuccessful)
		keepUnsuccessful = ptr.Deref(limits.UnsuccessfulRunHistoryLimit, keepUnsuccessful)
	}
	for _, group := range []struct {
		runs []*argov1.AnalysisRun
		keep int32
	}{{successful, keepSuccessful}, {unsuccessful, keepUnsuccessful}} {
		slices.SortFunc(group.runs, func(a, b *argov1.AnalysisRun) int { return b.CreationTimestamp.Compare(a.CreationTimestamp.Time) })
		for i := int(max(group.keep, 0)); i < len(group.runs); i++ {
			if err := c.r.Client.Delete(c.ctx, group.runs[i]); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("deleting old AnalysisRun %s/%s: %w", group.runs[i].Namespace, group.runs[i].Name, err)
			}
		}
	}
	return nil
}
