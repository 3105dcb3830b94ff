package rollout

import (
	"fmt"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// Experiment steps, as Argo's rollout/experiment.go: the step creates an
// Experiment from the stable's or the canary's Pod template (named
// ROLLOUT-HASH-REVISION-STEP), the step completes when it is Successful,
// a Failed or Error one aborts the update, an Inconclusive one pauses it.
// An Experiment of another step, an aborted update or a full promotion is
// terminated; old ones are deleted past the analysis history limits or
// with their revision's ReplicaSet.

// experiments returns the Experiments the Rollout controls: the one
// status.canary.currentExperiment names, and the others.
func (c *cycle) experiments() (*argov1.Experiment, []*argov1.Experiment, error) {
	var list argov1.ExperimentList
	if err := c.r.Client.List(c.ctx, &list, client.InNamespace(c.ro.Namespace)); err != nil {
		return nil, nil, fmt.Errorf("listing the Experiments of rollout %s/%s: %w", c.ro.Namespace, c.ro.Name, err)
	}
	var current *argov1.Experiment
	var others []*argov1.Experiment
	for i := range list.Items {
		ex := &list.Items[i]
		if !metav1.IsControlledBy(ex, c.ro) {
			continue
		}
		if ex.Name == c.ro.Status.Canary.CurrentExperiment && current == nil {
			current = ex
			continue
		}
		others = append(others, ex)
	}
	return current, others, nil
}

// currentExperimentStep is Argo's GetCurrentExperimentStep: the last
// experiment step at or before the current one, nil when there is none.
func currentExperimentStep(ro *argov1.Rollout) *argov1.RolloutExperimentStep {
	step, idx := currentStep(ro)
	if step == nil {
		return nil
	}
	for i := *idx; i >= 0; i-- {
		if e := ro.Spec.Strategy.Canary.Steps[i].Experiment; e != nil {
			return e
		}
	}
	return nil
}

// reconcileExperiments is Argo's reconcileExperiments. At an experiment
// step it returns how the Experiment judged the canary; it also sets the
// extra weights the routes give the experiment's templates.
func (c *cycle) reconcileExperiments(newRS, stableRS *appsv1.ReplicaSet, rss []*appsv1.ReplicaSet) (analysisOutcome, error) {
	st := &c.ro.Status
	current, others, err := c.experiments()
	if err != nil {
		return analysisWait, err
	}
	if st.Abort || st.PromoteFull {
		return analysisWait, c.cancelExperiments(append(others, current))
	}
	if c.pauseCondition(argov1.PauseReasonInconclusiveAnalysis) != nil {
		return analysisWait, nil
	}
	outcome := analysisWait
	step, idx := currentStep(c.ro)
	if step != nil && step.Experiment != nil {
		if current == nil || !c.experimentMatches(current, idx) {
			if current != nil {
				others = append(others, current)
			}
			if stableRS == nil {
				return analysisWait, nil // Argo too waits for a stable to copy
			}
			if current, err = c.createExperiment(step.Experiment, newRS, stableRS, *idx); err != nil {
				return analysisWait, err
			}
			c.event(corev1.EventTypeNormal, "ExperimentCreated", "Created Experiment '%s'", current.Name)
		}
		switch current.Status.Phase {
		case argov1.AnalysisPhaseInconclusive:
			if c.pauseCondition(argov1.PauseReasonInconclusiveExperiment) == nil && !st.ControllerPause {
				c.pause(argov1.PauseReasonInconclusiveExperiment)
				outcome = analysisPaused
			} else if c.pauseCondition(argov1.PauseReasonInconclusiveExperiment) == nil {
				outcome = analysisPassed // promoted past it
			} else {
				outcome = analysisPaused
			}
		case argov1.AnalysisPhaseError, argov1.AnalysisPhaseFailed:
			if !st.Abort {
				msg := "Experiment analysis phase is error/failed"
				if current.Status.Message != "" {
					msg += ": " + current.Status.Message
				}
				st.Abort = true
				st.AbortedAt = &metav1.Time{Time: c.now}
				full := fmt.Sprintf("Rollout aborted update to revision %d: %s", revisionOf(newRS), msg)
				c.setProgressing(corev1.ConditionFalse, reasonAborted, full)
				c.event(corev1.EventTypeWarning, reasonAborted, "%s", full)
			}
			outcome = analysisAborted
		case argov1.AnalysisPhaseSuccessful:
			outcome = analysisPassed
		default:
			st.Canary.CurrentExperiment = current.Name
		}
		if current.Status.Phase == argov1.AnalysisPhaseRunning {
			c.extraWeights = experimentWeights(currentExperimentStep(c.ro), current)
		}
	}
	if current != nil && (step == nil || step.Experiment == nil) {
		others = append(others, current)
	}
	if err := c.cancelExperiments(others); err != nil {
		return outcome, err
	}
	return outcome, c.deleteOldExperiments(others, rss)
}

// experimentMatches says ex is this revision's Experiment of step idx.
func (c *cycle) experimentMatches(ex *argov1.Experiment, idx *int32) bool {
	return ex.Labels[LabelPodTemplateHash] == c.ro.Status.CurrentPodHash && idx != nil &&
		ex.Annotations[annotationExperimentStep] == strconv.Itoa(int(*idx)) && !c.retried
}

// annotationExperimentStep is the step index an Experiment was made for
// (Argo puts it in the name only).
const annotationExperimentStep = "rollouts.argolite.dev/step-index"

// newExperiment is Argo's GetExperimentFromTemplate: each template the
// stable's or the canary's Pod template, with its metadata, its own
// selector or the ReplicaSet's, a Service when it has a weight or asks for
// one; the analyses with the Rollout's arguments resolved.
func (c *cycle) newExperiment(step *argov1.RolloutExperimentStep, newRS, stableRS *appsv1.ReplicaSet, idx int32) (*argov1.Experiment, error) {
	ro := c.ro
	revision := strconv.Itoa(revisionOf(newRS))
	labels := map[string]string{}
	for k, v := range ro.Labels {
		labels[k] = v
	}
	labels[LabelPodTemplateHash] = ro.Status.CurrentPodHash
	ex := &argov1.Experiment{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("%s-%s-%s-%d", ro.Name, ro.Status.CurrentPodHash, revision, idx),
			Namespace: ro.Namespace, Labels: labels,
			Annotations:     map[string]string{AnnotationRevision: revision, annotationExperimentStep: strconv.Itoa(int(idx))},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ro, argov1.GroupVersion.WithKind(kindRollout))},
		},
		Spec: argov1.ExperimentSpec{
			Duration: step.Duration, ProgressDeadlineSeconds: ro.Spec.ProgressDeadlineSeconds, DryRun: step.DryRun,
			AnalysisRunMetadata: step.AnalysisRunMetadata, ScaleDownDelaySeconds: step.ScaleDownDelaySeconds,
		},
	}
	for _, ts := range step.Templates {
		t := argov1.ExperimentTemplate{Name: ts.Name, Replicas: ts.Replicas}
		if ts.Weight != nil || ts.Service != nil {
			t.Service = &argov1.TemplateService{}
			if ts.Service != nil {
				t.Service.Name = ts.Service.Name
			}
		}
		from := newRS
		if ts.SpecRef == argov1.SpecRefStable {
			from = stableRS
		}
		t.Template = *from.Spec.Template.DeepCopy()
		t.MinReadySeconds = from.Spec.MinReadySeconds
		if ts.Selector != nil {
			t.Selector = ts.Selector.DeepCopy()
		} else {
			t.Selector = from.Spec.Selector.DeepCopy()
		}
		if t.Selector.MatchLabels == nil {
			t.Selector.MatchLabels = map[string]string{}
		}
		for k, v := range ts.Metadata.Labels {
			if t.Template.Labels == nil {
				t.Template.Labels = map[string]string{}
			}
			t.Template.Labels[k] = v
			t.Selector.MatchLabels[k] = v
		}
		for k, v := range ts.Metadata.Annotations {
			if t.Template.Annotations == nil {
				t.Template.Annotations = map[string]string{}
			}
			t.Template.Annotations[k] = v
		}
		ex.Spec.Templates = append(ex.Spec.Templates, t)
	}
	for _, a := range step.Analyses {
		args, err := rolloutArgs(ro, a.Args, stableRS, newRS)
		if err != nil {
			return nil, &specError{msg: fmt.Sprintf("experiment analysis %s: %v", a.Name, err)}
		}
		ex.Spec.Analyses = append(ex.Spec.Analyses, argov1.ExperimentAnalysisTemplateRef{
			Name: a.Name, TemplateName: a.TemplateName, ClusterScope: a.ClusterScope, Args: args, RequiredForCompletion: a.RequiredForCompletion,
		})
	}
	return ex, nil
}

// createExperiment creates the step's Experiment, under NAME-1, -2, ...
// when a different one has the name (Argo's collision handling).
func (c *cycle) createExperiment(step *argov1.RolloutExperimentStep, newRS, stableRS *appsv1.ReplicaSet, idx int32) (*argov1.Experiment, error) {
	ex, err := c.newExperiment(step, newRS, stableRS, idx)
	if err != nil {
		return nil, err
	}
	base := ex.Name
	for attempt := 1; attempt <= 100; attempt++ {
		err := c.r.Client.Create(c.ctx, ex)
		if err == nil {
			c.ro.Status.Canary.CurrentExperiment = ex.Name
			return ex, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("creating Experiment %s for rollout %s/%s: %w", ex.Name, c.ro.Namespace, c.ro.Name, err)
		}
		existing := &argov1.Experiment{}
		if err := c.r.APIReader.Get(c.ctx, client.ObjectKeyFromObject(ex), existing); err == nil && metav1.IsControlledBy(existing, c.ro) &&
			!existing.Status.Phase.Completed() && sameExperimentSpec(existing.Spec, ex.Spec) && !c.retried {
			c.ro.Status.Canary.CurrentExperiment = existing.Name
			return existing, nil // the cache had not seen it yet
		}
		ex.Name = fmt.Sprintf("%s-%d", base, attempt)
		ex.ResourceVersion = ""
	}
	return nil, fmt.Errorf("rollout %s/%s: no free Experiment name after 100 attempts of %s", c.ro.Namespace, c.ro.Name, base)
}

// sameExperimentSpec is Argo's IsSemanticallyEqual: terminate aside.
func sameExperimentSpec(a, b argov1.ExperimentSpec) bool {
	a.Terminate, b.Terminate = false, false
	return apiequality.Semantic.DeepEqual(a, b)
}

// cancelExperiments terminates the running Experiments among exs.
func (c *cycle) cancelExperiments(exs []*argov1.Experiment) error {
	for _, ex := range exs {
		if ex == nil || ex.Spec.Terminate || ex.Status.Phase.Completed() {
			continue
		}
		patch := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"terminate":true}}`))
		if err := c.r.Client.Patch(c.ctx, ex, patch); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("terminating Experiment %s of rollout %s/%s: %w", ex.Name, c.ro.Namespace, c.ro.Name, err)
		}
	}
	return nil
}

// deleteOldExperiments is Argo's FilterExperimentsToDelete: an Experiment
// whose revision's ReplicaSet is gone (or going), and completed ones past
// the analysis history limits (5 each), newest kept.
func (c *cycle) deleteOldExperiments(exs []*argov1.Experiment, rss []*appsv1.ReplicaSet) error {
	hashes := map[string]bool{} // hash -> being deleted
	for _, rs := range rss {
		if rs != nil { // no stable yet
			hashes[rs.Labels[LabelPodTemplateHash]] = rs.DeletionTimestamp != nil
		}
	}
	limits := c.ro.Spec.Analysis
	keepSuccessful, keepUnsuccessful := int32(defaultRunHistoryLimit), int32(defaultRunHistoryLimit)
	if limits != nil {
		keepSuccessful = ptr.Deref(limits.SuccessfulRunHistoryLimit, keepSuccessful)
		keepUnsuccessful = ptr.Deref(limits.UnsuccessfulRunHistoryLimit, keepUnsuccessful)
	}
	sorted := slices.Clone(exs)
	slices.SortFunc(sorted, func(a, b *argov1.Experiment) int { return b.CreationTimestamp.Compare(a.CreationTimestamp.Time) })
	var keptSuccessful, keptUnsuccessful int32
	for _, ex := range sorted {
		if ex == nil || ex.DeletionTimestamp != nil {
			continue
		}
		drop := false
		switch deleting, ok := hashes[ex.Labels[LabelPodTemplateHash]]; {
		case !ok || deleting:
			drop = true
		case ex.Status.Phase == argov1.AnalysisPhaseSuccessful:
			keptSuccessful++
			drop = keptSuccessful > keepSuccessful
		case ex.Status.Phase == argov1.AnalysisPhaseFailed || ex.Status.Phase == argov1.AnalysisPhaseError || ex.Status.Phase == argov1.AnalysisPhaseInconclusive:
			keptUnsuccessful++
			drop = keptUnsuccessful > keepUnsuccessful
		}
		if drop {
			if err := c.r.Client.Delete(c.ctx, ex); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("deleting old Experiment %s/%s: %w", ex.Namespace, ex.Name, err)
			}
		}
	}
	return nil
}

// experimentWeights are the routes' extra destinations of a running
// experiment: each template with a weight, at its Service.
func experimentWeights(step *argov1.RolloutExperimentStep, ex *argov1.Experiment) []argov1.WeightDestination {
	if step == nil {
		return nil
	}
	var out []argov1.WeightDestination
	for _, ts := range ex.Status.TemplateStatuses {
		for _, t := range step.Templates {
			if t.Name == ts.Name && t.Weight != nil && ts.ServiceName != "" {
				out = append(out, argov1.WeightDestination{ServiceName: ts.ServiceName, PodTemplateHash: ts.PodTemplateHash, Weight: *t.Weight})
			}
		}
	}
	return out
}
