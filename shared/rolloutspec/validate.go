package rolloutspec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// Validate checks a Rollout's spec with Argo Rollouts' rules
// (pkg/apis/rollouts/validation) and argolite's: the message names the
// field and the fix. The plugin's lint calls it too.
func Validate(ro *argov1.Rollout) error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	spec := &ro.Spec
	if spec.Replicas != nil && *spec.Replicas < 0 {
		add("spec.replicas", "must be 0 or more")
	}
	switch sel := spec.Selector; {
	case sel == nil:
		add("spec.selector", "Rollout has missing field '.spec.selector': set it to the labels of spec.template")
	case len(sel.MatchLabels)+len(sel.MatchExpressions) == 0:
		add("spec.selector", "This rollout is selecting all pods. A non-empty selector is required.")
	default:
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			add("spec.selector", "invalid label selector: %v", err)
		} else if !s.Matches(labels.Set(spec.Template.Labels)) {
			add("spec.template.metadata.labels", "`selector` does not match template `labels`: give the template the selector's labels")
		}
	}
	if len(spec.Template.Spec.Containers) == 0 {
		add("spec.template.spec.containers", "Required value: a Pod template needs at least one container")
	}
	for i, ctr := range spec.Template.Spec.Containers {
		if ctr.Name == "" {
			add(fmt.Sprintf("spec.template.spec.containers[%d].name", i), "Required value")
		}
		if ctr.Image == "" {
			add(fmt.Sprintf("spec.template.spec.containers[%d].image", i), "Required value")
		}
	}
	if spec.MinReadySeconds < 0 {
		add("spec.minReadySeconds", "must be 0 or more")
	}
	if limit := ptr.Deref(spec.RevisionHistoryLimit, DefaultRevisionHistoryLimit); limit < 0 {
		add("spec.revisionHistoryLimit", "must be 0 or more")
	}
	deadline := ProgressDeadline(ro)
	if deadline < 0 {
		add("spec.progressDeadlineSeconds", "must be 0 or more")
	}
	if deadline <= spec.MinReadySeconds {
		add("spec.progressDeadlineSeconds", "must be greater than minReadySeconds (%d)", spec.MinReadySeconds)
	}
	st := spec.Strategy
	switch {
	case st.BlueGreen == nil && st.Canary == nil:
		add("spec.strategy", "Rollout has missing field '.spec.strategy.canary or .spec.strategy.blueGreen'")
	case st.BlueGreen != nil && st.Canary != nil:
		add("spec.strategy", "Multiple Strategies can not be listed: keep canary or blueGreen")
	case st.BlueGreen != nil:
		validateBlueGreen(ro, add)
	default:
		validateCanary(ro, add)
	}
	if err := errors.Join(errs...); err != nil {
		return errors.New(strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return nil
}

func validateBlueGreen(ro *argov1.Rollout, add func(string, string, ...any)) {
	bg := ro.Spec.Strategy.BlueGreen
	const p = "spec.strategy.blueGreen"
	if bg.ActiveService == "" {
		add(p+".activeService", "Rollout has missing field '.spec.strategy.blueGreen.activeService': name the Service that serves the active version")
	}
	if bg.ActiveService == bg.PreviewService {
		add(p+".activeService", "This rollout uses the same service for the active and preview services, but two different services are required.")
	}
	if bg.PreviewReplicaCount != nil && (*bg.PreviewReplicaCount < 0 || *bg.PreviewReplicaCount > Replicas(ro)) {
		add(p+".previewReplicaCount", "must be between 0 and spec.replicas (%d)", Replicas(ro))
	}
	if bg.AutoPromotionSeconds < 0 {
		add(p+".autoPromotionSeconds", "must be 0 or more")
	}
	if bg.ScaleDownDelayRevisionLimit != nil && ptr.Deref(ro.Spec.RevisionHistoryLimit, DefaultRevisionHistoryLimit) < *bg.ScaleDownDelayRevisionLimit {
		add(p+".scaleDownDelayRevisionLimit", "This rollout's revision history limit can not be smaller than the rollout's scale down limit")
	}
	validateAntiAffinity(bg.AntiAffinity, p+".antiAffinity", add)
	validateAnalysis(bg.PrePromotionAnalysis, p+".prePromotionAnalysis", add)
	validateAnalysis(bg.PostPromotionAnalysis, p+".postPromotionAnalysis", add)
}

func validateCanary(ro *argov1.Rollout, add func(string, string, ...any)) {
	cs := ro.Spec.Strategy.Canary
	const p = "spec.strategy.canary"
	if _, _, err := ResolveFenceposts(MaxSurgeOrDefault(ro), MaxUnavailableOrDefault(ro), Replicas(ro)); err != nil {
		add(p+".maxSurge", "%v", err)
	} else if literalValue(MaxSurgeOrDefault(ro)) == 0 && literalValue(MaxUnavailableOrDefault(ro)) == 0 {
		add(p+".maxSurge", "MaxSurge and MaxUnavailable both can not be zero: let one of them be at least 1")
	}
	if cs.CanaryService != "" && cs.CanaryService == cs.StableService {
		add(p+".stableService", "This rollout uses the same service for the stable and canary services, but two different services are required.")
	}
	tr := cs.TrafficRouting
	if tr == nil {
		if cs.ScaleDownDelaySeconds != nil {
			add(p+".scaleDownDelaySeconds", "Canary scaleDownDelaySeconds can only be used with traffic routing")
		}
		if cs.DynamicStableScale {
			add(p+".dynamicStableScale", "Canary dynamicStableScale can only be used with traffic routing")
		}
	} else {
		if cs.ScaleDownDelaySeconds != nil && cs.DynamicStableScale {
			add(p+".dynamicStableScale", "Canary dynamicStableScale cannot be used with scaleDownDelaySeconds")
		}
		if cs.CanaryService == "" || cs.StableService == "" {
			add(p+".canaryService", "Canary service and Stable service must to be set to use Traffic Routing")
		}
		if _, err := GatewayRoutes(ro); err != nil {
			add(p+".trafficRouting", "%v", err)
		}
		if tr.MaxTrafficWeight != nil && *tr.MaxTrafficWeight <= 0 {
			add(p+".trafficRouting.maxTrafficWeight", "must be greater than 0")
		}
	}
	maxWeight := MaxTrafficWeight(ro)
	for i, step := range cs.Steps {
		sp := fmt.Sprintf("%s.steps[%d]", p, i)
		n := 0
		for _, set := range []bool{step.SetWeight != nil, step.Pause != nil, step.Experiment != nil, step.Analysis != nil, step.SetCanaryScale != nil, step.SetHeaderRoute != nil} {
			if set {
				n++
			}
		}
		switch {
		case n == 0:
			add(sp, "Step must have one of the following set: experiment, setWeight, setCanaryScale, setHeaderRoute, analysis or pause")
		case n > 1:
			add(sp, "Step must have only one of the following set: experiment, setWeight, setCanaryScale, setHeaderRoute, analysis or pause: split it into steps")
		}
		if step.SetWeight != nil && (*step.SetWeight < 0 || *step.SetWeight > maxWeight) {
			add(sp+".setWeight", "SetWeight needs to be between 0 and %d", maxWeight)
		}
		if step.Pause != nil {
			if d, err := PauseDuration(step.Pause); err != nil {
				add(sp+".pause.duration", "%v: write seconds or a duration such as 30s, 5m or 1h", err)
			} else if d < 0 {
				add(sp+".pause.duration", "Duration needs to be greater than 0")
			}
		}
		if s := step.SetCanaryScale; s != nil {
			if tr == nil {
				add(p+".trafficRouting", "SetCanaryScale requires TrafficRouting to be set: add trafficRouting.gatewayAPI, or use setWeight (a canary without traffic routing is weighted by its replicas)")
			}
			k := 0
			for _, set := range []bool{s.Weight != nil, s.Replicas != nil, s.MatchTrafficWeight} {
				if set {
					k++
				}
			}
			if k != 1 {
				add(sp+".setCanaryScale", "set exactly one of weight, replicas and matchTrafficWeight")
			}
		}
		if h := step.SetHeaderRoute; h != nil {
			validateHeaderRoute(ro, h, sp+".setHeaderRoute", add)
		}
		if ex := step.Experiment; ex != nil {
			validateExperimentStep(ex, tr != nil, sp+".experiment", add)
		}
		validateAnalysis(step.Analysis, sp+".analysis", add)
	}
	if cs.Analysis != nil {
		validateAnalysis(&cs.Analysis.RolloutAnalysis, p+".analysis", add)
		if s := cs.Analysis.StartingStep; s != nil && (*s < 0 || int(*s) > len(cs.Steps)) {
			add(p+".analysis.startingStep", "must be between 0 and the number of steps (%d)", len(cs.Steps))
		}
	}
	validateAntiAffinity(cs.AntiAffinity, p+".antiAffinity", add)
	if cs.MinPodsPerReplicaSet != nil && *cs.MinPodsPerReplicaSet < 1 {
		add(p+".minPodsPerReplicaSet", "must be at least 1")
	}
}

// literalValue is a fencepost's number as written ("0%" and 0 are both 0),
// as Argo's getIntOrPercentValue.
func literalValue(v *intstr.IntOrString) int {
	if v.Type == intstr.Int {
		return v.IntValue()
	}
	n, err := strconv.Atoi(strings.TrimSuffix(v.StrVal, "%"))
	if err != nil {
		return -1
	}
	return n
}

func validateHeaderRoute(ro *argov1.Rollout, h *argov1.SetHeaderRoute, path string, add func(string, string, ...any)) {
	tr := ro.Spec.Strategy.Canary.TrafficRouting
	if tr == nil {
		add(path, "SetHeaderRoute requires TrafficRouting: add trafficRouting.gatewayAPI with managedRoutes")
		return
	}
	if tr.ManagedRoutes == nil {
		add("spec.strategy.canary.trafficRouting.managedRoutes", "Rollout has missing field 'spec.strategy.canary.trafficRouting.managedRoutes': list the header route %q there", h.Name)
	} else {
		found := false
		for _, r := range tr.ManagedRoutes {
			found = found || r.Name == h.Name
		}
		if !found {
			add(path+".name", "Steps define a route that does not exist in spec.strategy.canary.trafficRouting.managedRoutes: add %q there", h.Name)
		}
	}
	for j, m := range h.Match {
		mp := fmt.Sprintf("%s.match[%d]", path, j)
		if m.HeaderName == "" {
			add(mp+".headerName", "Required value")
		}
		if m.HeaderValue == nil {
			add(mp+".headerValue", "StringMatch value missed, match value must have one of the following: exact, regex, prefix")
			continue
		}
		n := 0
		for _, s := range []string{m.HeaderValue.Exact, m.HeaderValue.Prefix, m.HeaderValue.Regex} {
			if s != "" {
				n++
			}
		}
		if n != 1 {
			add(mp+".headerValue", "StringMatch match value must have exactly one of the following: exact, regex, prefix")
		}
		if m.HeaderValue.Prefix != "" {
			add(mp+".headerValue.prefix", "a Gateway API header match is exact or a regular expression: write regex: '^%s.*'", m.HeaderValue.Prefix)
		}
	}
}

func validateAntiAffinity(a *argov1.AntiAffinity, path string, add func(string, string, ...any)) {
	if a == nil {
		return
	}
	pref, req := a.PreferredDuringSchedulingIgnoredDuringExecution != nil, a.RequiredDuringSchedulingIgnoredDuringExecution != nil
	if pref == req {
		add(path, "AntiAffinity must have exactly one strategy listed")
	}
	if pref && (a.PreferredDuringSchedulingIgnoredDuringExecution.Weight < 1 || a.PreferredDuringSchedulingIgnoredDuringExecution.Weight > 100) {
		add(path+".preferredDuringSchedulingIgnoredDuringExecution.weight", "AntiAffinity weight must be between 1-100")
	}
}

func validateAnalysis(a *argov1.RolloutAnalysis, path string, add func(string, string, ...any)) {
	if a == nil {
		return
	}
	if len(a.Templates) == 0 {
		add(path+".templates", "Required value: name at least one AnalysisTemplate")
	}
	for i, t := range a.Templates {
		if t.TemplateName == "" {
			add(fmt.Sprintf("%s.templates[%d].templateName", path, i), "Required value")
		}
	}
	validateArgs(a.Args, path+".args", add)
}

// validateArgs checks a Rollout's analysis arguments.
func validateArgs(args []argov1.AnalysisRunArgument, path string, add func(string, string, ...any)) {
	for i, arg := range args {
		ap := fmt.Sprintf("%s[%d]", path, i)
		if arg.Name == "" {
			add(ap+".name", "Required value")
		}
		if vf := arg.ValueFrom; vf != nil {
			switch {
			case vf.PodTemplateHashValue != nil && vf.FieldRef != nil:
				add(ap+".valueFrom", "set one of podTemplateHashValue and fieldRef")
			case vf.PodTemplateHashValue != nil && *vf.PodTemplateHashValue != argov1.Stable && *vf.PodTemplateHashValue != argov1.Latest:
				add(ap+".valueFrom.podTemplateHashValue", "must be Stable or Latest, not %q", *vf.PodTemplateHashValue)
			case vf.FieldRef != nil:
				if _, err := FieldValue(&argov1.Rollout{}, vf.FieldRef.FieldPath); err != nil && !errors.Is(err, ErrNoSuchKey) {
					add(ap+".valueFrom.fieldRef.fieldPath", "%v", err)
				}
			}
		}
	}
}
