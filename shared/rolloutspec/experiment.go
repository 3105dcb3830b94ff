package rolloutspec

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/dump"
	"k8s.io/utils/ptr"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/duration"
)

// The Experiment defaults, as Argo's.
const (
	DefaultExperimentProgressDeadlineSeconds = int32(600)
	DefaultExperimentScaleDownDelaySeconds   = int32(30)
)

// PodTemplateHash is a template's pod-template-hash, computed as
// Kubernetes' Deployments and Argo Rollouts compute it (FNV-32a over the
// template's hash dump, then the collision count), so a template gets the
// same hash here as there.
func PodTemplateHash(t *corev1.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(dump.ForHash(*t)))
	if collisionCount != nil {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint32(b, uint32(*collisionCount))
		_, _ = h.Write(b)
	}
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// ExperimentProgressDeadline is spec.progressDeadlineSeconds or 600.
func ExperimentProgressDeadline(ex *argov1.Experiment) int32 {
	return ptr.Deref(ex.Spec.ProgressDeadlineSeconds, DefaultExperimentProgressDeadlineSeconds)
}

// ExperimentScaleDownDelay is spec.scaleDownDelaySeconds or 30.
func ExperimentScaleDownDelay(ex *argov1.Experiment) int32 {
	return ptr.Deref(ex.Spec.ScaleDownDelaySeconds, DefaultExperimentScaleDownDelaySeconds)
}

// ExperimentDuration parses spec.duration (seconds, or 30s, 5m, 1h); zero
// when unset: the experiment runs until terminated.
func ExperimentDuration(d string) (time.Duration, error) {
	if d == "" {
		return 0, nil
	}
	return duration.Parse(d)
}

// ValidateExperiment checks an Experiment with Argo's rules
// (VerifyExperimentSpec) and returns the first fault, "" when there is none;
// the messages are Argo's.
func ValidateExperiment(ex *argov1.Experiment) string {
	names := map[string]bool{}
	if len(ex.Spec.Templates) == 0 {
		return "spec.templates: an Experiment needs at least one template"
	}
	for i, t := range ex.Spec.Templates {
		switch {
		case t.Selector == nil:
			return fmt.Sprintf("spec.templates[%d].selector: missing: give the template a selector that matches its Pod labels", i)
		case reflect.DeepEqual(t.Selector, &metav1.LabelSelector{}):
			return fmt.Sprintf("spec.templates[%d].selector: This experiment is selecting all pods at index %d. A non-empty selector is required.", i, i)
		case t.MinReadySeconds > ExperimentProgressDeadline(ex):
			return fmt.Sprintf("spec.templates[%d].minReadySeconds: MinReadySeconds cannot be longer than ProgressDeadlineSeconds. Check template index %d", i, i)
		case t.Name == "":
			return fmt.Sprintf("spec.templates[%d].name: Experiment %s has empty template name at index %d", i, ex.Name, i)
		case names[t.Name]:
			return fmt.Sprintf("spec.templates[%d].name: Experiment %s has repeated template name '%s' in templates", i, ex.Name, t.Name)
		}
		names[t.Name] = true
		if t.Replicas != nil && *t.Replicas < 0 {
			return fmt.Sprintf("spec.templates[%d].replicas: must be 0 or more", i)
		}
		if sel, err := metav1.LabelSelectorAsSelector(t.Selector); err != nil {
			return fmt.Sprintf("spec.templates[%d].selector: %v", i, err)
		} else if !sel.Matches(labels.Set(t.Template.Labels)) {
			return fmt.Sprintf("spec.templates[%d].selector: `selector` does not match template `labels`", i)
		}
	}
	if _, err := ExperimentDuration(ex.Spec.Duration); err != nil {
		return fmt.Sprintf("spec.duration: %v: write seconds or a duration such as 30s, 5m or 1h", err)
	}
	analyses := map[string]bool{}
	for i, a := range ex.Spec.Analyses {
		switch {
		case a.Name == "":
			return fmt.Sprintf("spec.analyses[%d].name: give the analysis a name", i)
		case analyses[a.Name]:
			return fmt.Sprintf("spec.analyses[%d].name: two analyses are named %q: rename one", i, a.Name)
		case a.TemplateName == "":
			return fmt.Sprintf("spec.analyses[%d].templateName: name the AnalysisTemplate (or ClusterAnalysisTemplate with clusterScope: true) to run", i)
		}
		analyses[a.Name] = true
	}
	return ""
}

// validateExperimentStep checks a Rollout's experiment step with Argo's
// rules; Argo lets a template weight go to the routers whose plugin
// supports extra destinations, which the Gateway API's does.
func validateExperimentStep(ex *argov1.RolloutExperimentStep, trafficRouted bool, p string, add func(path, format string, args ...any)) {
	if len(ex.Templates) == 0 {
		add(p+".templates", "an experiment step needs at least one template")
	}
	names := map[string]bool{}
	for i, t := range ex.Templates {
		tp := fmt.Sprintf("%s.templates[%d]", p, i)
		switch {
		case t.Name == "":
			add(tp+".name", "give the template a name")
		case names[t.Name]:
			add(tp+".name", "two templates are named %q: rename one", t.Name)
		}
		names[t.Name] = true
		if t.SpecRef != argov1.SpecRefCanary && t.SpecRef != argov1.SpecRefStable {
			add(tp+".specRef", "Invalid template step SpecRef: must be canary or stable")
		}
		if t.Weight != nil && !trafficRouted {
			add(tp+".weight", "Experiment template weight cannot be set unless TrafficRouting is enabled")
		}
		if t.Weight != nil && (*t.Weight < 0 || *t.Weight > 100) {
			add(tp+".weight", "must be between 0 and 100")
		}
		if t.Replicas != nil && *t.Replicas < 0 {
			add(tp+".replicas", "must be 0 or more")
		}
	}
	if _, err := ExperimentDuration(ex.Duration); err != nil {
		add(p+".duration", "%v: write seconds or a duration such as 30s, 5m or 1h", err)
	}
	analyses := map[string]bool{}
	for i, a := range ex.Analyses {
		ap := fmt.Sprintf("%s.analyses[%d]", p, i)
		switch {
		case a.Name == "":
			add(ap+".name", "give the analysis a name")
		case analyses[a.Name]:
			add(ap+".name", "two analyses are named %q: rename one", a.Name)
		}
		analyses[a.Name] = true
		if a.TemplateName == "" {
			add(ap+".templateName", "name the AnalysisTemplate (or ClusterAnalysisTemplate with clusterScope: true) to run")
		}
		validateArgs(a.Args, ap+".args", add)
	}
}
