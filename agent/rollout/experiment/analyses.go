package experiment

import (
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/agent/rollout/analysis"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

func analysisStatus(st *argov1.ExperimentStatus, name string) *argov1.ExperimentAnalysisRunStatus {
	for i := range st.AnalysisRuns {
		if st.AnalysisRuns[i].Name == name {
			s := st.AnalysisRuns[i]
			return &s
		}
	}
	return nil
}

func setAnalysisStatus(st *argov1.ExperimentStatus, s argov1.ExperimentAnalysisRunStatus) {
	for i := range st.AnalysisRuns {
		if st.AnalysisRuns[i].Name == s.Name {
			st.AnalysisRuns[i] = s
			return
		}
	}
	st.AnalysisRuns = append(st.AnalysisRuns, s)
}

// reconcileAnalysis is Argo's reconcileAnalysisRun: before the templates
// are available it only checks the template exists; then it creates the
// run (unless terminating), follows its phase, and terminates it when the
// experiment ends.
func (c *cycle) reconcileAnalysis(a argov1.ExperimentAnalysisTemplateRef) {
	prev := analysisStatus(&c.ex.Status, a.Name)
	if prev == nil {
		prev = &argov1.ExperimentAnalysisRunStatus{Name: a.Name}
	}
	next := *prev
	defer func() {
		if prev.Phase != next.Phase && next.Phase != "" {
			msg := fmt.Sprintf("AnalysisRun '%s' transitioned from %s -> %s", a.Name, prev.Phase, next.Phase)
			if next.Message != "" {
				msg += ": " + next.Message
			}
			typ := corev1.EventTypeNormal
			if bad(next.Phase) {
				typ = corev1.EventTypeWarning
			}
			c.event(typ, "AnalysisRun"+string(next.Phase), "%s", msg)
			// The Rollout of an experiment step hears of it too (Argo #4009).
			if ro := c.rollout(); ro != nil {
				c.r.Event(ro, corev1.EventTypeWarning, "AnalysisRun"+string(next.Phase), "Reconcile", "%s", msg)
			}
		}
		setAnalysisStatus(c.st, next)
	}()
	if c.ex.Status.AvailableAt == nil {
		if err := c.templateExists(a); err != nil {
			kind := "AnalysisTemplate"
			if a.ClusterScope != nil && *a.ClusterScope {
				kind = "ClusterAnalysisTemplate"
			}
			next.Phase = argov1.AnalysisPhaseError
			next.Message = fmt.Sprintf("%s verification failed for analysis '%s': %v", kind, a.Name, err)
		}
		return
	}
	if prev.AnalysisRun == "" {
		if c.terminating {
			return
		}
		run, err := c.createRun(a)
		if err != nil {
			next.Phase = argov1.AnalysisPhaseError
			next.Message = fmt.Sprintf("Failed to create AnalysisRun for analysis '%s': %v", a.Name, err)
			return
		}
		next.Phase, next.AnalysisRun = argov1.AnalysisPhasePending, run.Name
		return
	}
	if prev.Phase.Completed() {
		return
	}
	run := &argov1.AnalysisRun{}
	if err := c.r.Client.Get(c.ctx, client.ObjectKey{Namespace: c.ex.Namespace, Name: prev.AnalysisRun}, run); err != nil {
		if apierrors.IsNotFound(err) {
			err = c.r.APIReader.Get(c.ctx, client.ObjectKey{Namespace: c.ex.Namespace, Name: prev.AnalysisRun}, run)
		}
		if err != nil {
			next.Phase, next.Message = argov1.AnalysisPhaseError, err.Error()
			return
		}
	}
	if c.terminating {
		if !run.Status.Phase.Completed() && !run.Spec.Terminate {
			c.event(corev1.EventTypeNormal, "AnalysisRunTerminating", "Terminating %s (%s)", a.Name, run.Name)
			if err := analysis.Terminate(c.ctx, c.r.Client, run); err != nil {
				next.Phase, next.Message = argov1.AnalysisPhaseError, err.Error()
			}
		}
		return
	}
	next.Phase, next.Message = run.Status.Phase, run.Status.Message
	if next.Phase == "" {
		next.Phase = argov1.AnalysisPhasePending
	}
}

// rollout is the Rollout whose experiment step made the Experiment.
func (c *cycle) rollout() *argov1.Rollout {
	for _, ref := range c.ex.OwnerReferences {
		if ref.Kind == "Rollout" {
			ro := &argov1.Rollout{}
			if err := c.r.Client.Get(c.ctx, client.ObjectKey{Namespace: c.ex.Namespace, Name: ref.Name}, ro); err == nil && ro.UID == ref.UID {
				return ro
			}
		}
	}
	return nil
}

// templateExists checks the analysis's template is there.
func (c *cycle) templateExists(a argov1.ExperimentAnalysisTemplateRef) error {
	if a.ClusterScope != nil && *a.ClusterScope {
		return c.r.Client.Get(c.ctx, client.ObjectKey{Name: a.TemplateName}, &argov1.ClusterAnalysisTemplate{})
	}
	return c.r.Client.Get(c.ctx, client.ObjectKey{Namespace: c.ex.Namespace, Name: a.TemplateName}, &argov1.AnalysisTemplate{})
}

// createRun creates the analysis's run, EXPERIMENT-ANALYSIS (then .1, .2,
// ... when a different run has the name), owned by the Experiment.
func (c *cycle) createRun(a argov1.ExperimentAnalysisTemplateRef) (*argov1.AnalysisRun, error) {
	ex := c.ex
	args, err := c.resolveArgs(a.Args)
	if err != nil {
		return nil, err
	}
	refs := []argov1.AnalysisTemplateRef{{TemplateName: a.TemplateName, ClusterScope: a.ClusterScope}}
	owner := metav1.NewControllerRef(ex, argov1.GroupVersion.WithKind(Kind))
	base := ex.Name + "-" + a.Name
	for attempt := 0; attempt < 100; attempt++ {
		name := base
		if attempt > 0 {
			name = fmt.Sprintf("%s.%d", base, attempt)
		}
		run, err := analysis.NewRunFromTemplates(c.ctx, c.r.Client, ex.Namespace, refs, args, analysis.RunOptions{
			Name: name, Labels: maps.Clone(ex.Spec.AnalysisRunMetadata.Labels), Annotations: maps.Clone(ex.Spec.AnalysisRunMetadata.Annotations),
			DryRun: ex.Spec.DryRun, MeasurementRetention: ex.Spec.MeasurementRetention, Owner: owner,
		})
		if err != nil {
			return nil, err
		}
		err = c.r.Client.Create(c.ctx, run)
		if err == nil {
			return run, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, err
		}
		existing := &argov1.AnalysisRun{}
		if err := c.r.APIReader.Get(c.ctx, client.ObjectKey{Namespace: ex.Namespace, Name: name}, existing); err == nil &&
			metav1.IsControlledBy(existing, ex) && !existing.Status.Phase.Completed() && equality.Semantic.DeepEqual(existing.Spec.Metrics, run.Spec.Metrics) {
			return existing, nil // the cache had not seen it yet
		}
	}
	return nil, fmt.Errorf("no free AnalysisRun name after 100 attempts of %s", base)
}

// resolveArgs substitutes what the Experiment knows into the args' values,
// as Argo's ResolveExperimentArgsValue: {{templates.NAME.podTemplateHash}},
// {{templates.NAME.replicaset.name}}, {{experiment.availableAt}} and
// {{experiment.finishedAt}}.
func (c *cycle) resolveArgs(in []argov1.Argument) ([]argov1.Argument, error) {
	vars := map[string]string{}
	if at := c.ex.Status.AvailableAt; at != nil {
		vars["experiment.availableAt"] = at.UTC().Format(time.RFC3339)
		if d, err := experimentDuration(c.ex); err == nil && d > 0 {
			vars["experiment.finishedAt"] = at.Add(d).UTC().Format(time.RFC3339)
		}
	}
	for _, t := range c.ex.Spec.Templates {
		if rs := c.rss[t.Name]; rs != nil {
			vars["templates."+t.Name+".podTemplateHash"] = rs.Labels[argov1.LabelPodTemplateHash]
			vars["templates."+t.Name+".replicaset.name"] = rs.Name
		}
	}
	out := make([]argov1.Argument, 0, len(in))
	for _, a := range in {
		arg := argov1.Argument{Name: a.Name, ValueFrom: a.ValueFrom}
		if a.Value != nil {
			v, err := analysis.Substitute(*a.Value, func(tag string) (string, bool) { v, ok := vars[tag]; return v, ok })
			if err != nil {
				return nil, fmt.Errorf("arg %q: %w: the experiment has templates.NAME.podTemplateHash, templates.NAME.replicaset.name, experiment.availableAt and experiment.finishedAt", a.Name, err)
			}
			arg.Value = &v
		}
		out = append(out, arg)
	}
	return out, nil
}
