package rolloutspec

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

func TestValidateExperiment(t *testing.T) {
	good := func() *argov1.Experiment {
		return &argov1.Experiment{ObjectMeta: metav1.ObjectMeta{Name: "ex"}, Spec: argov1.ExperimentSpec{Duration: "30s",
			Templates: []argov1.ExperimentTemplate{{Name: "a", Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "a"}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "a"}}}}}}}
	}
	for _, tc := range []struct {
		name   string
		change func(*argov1.Experiment)
		want   string
	}{
		{"good", func(*argov1.Experiment) {}, ""},
		{"no selector", func(ex *argov1.Experiment) { ex.Spec.Templates[0].Selector = nil }, "spec.templates[0].selector"},
		{"select all", func(ex *argov1.Experiment) { ex.Spec.Templates[0].Selector = &metav1.LabelSelector{} }, "selecting all pods at index 0"},
		{"repeated name", func(ex *argov1.Experiment) { ex.Spec.Templates = append(ex.Spec.Templates, ex.Spec.Templates[0]) }, "repeated template name 'a'"},
		{"empty name", func(ex *argov1.Experiment) { ex.Spec.Templates[0].Name = "" }, "empty template name at index 0"},
		{"minReadySeconds over the deadline", func(ex *argov1.Experiment) {
			ex.Spec.ProgressDeadlineSeconds = ptr.To(int32(10))
			ex.Spec.Templates[0].MinReadySeconds = 11
		}, "MinReadySeconds cannot be longer than ProgressDeadlineSeconds"},
		{"selector misses labels", func(ex *argov1.Experiment) { ex.Spec.Templates[0].Template.Labels = map[string]string{"app": "b"} }, "does not match template `labels`"},
		{"bad duration", func(ex *argov1.Experiment) { ex.Spec.Duration = "soon" }, "spec.duration"},
		{"analysis without template", func(ex *argov1.Experiment) {
			ex.Spec.Analyses = []argov1.ExperimentAnalysisTemplateRef{{Name: "x"}}
		}, "spec.analyses[0].templateName"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex := good()
			tc.change(ex)
			got := ValidateExperiment(ex)
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("ValidateExperiment = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestValidateExperimentStep(t *testing.T) {
	ro := &argov1.Rollout{Spec: argov1.RolloutSpec{
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "a"}},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "a"}}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "a"}}}},
		Strategy: argov1.RolloutStrategy{Canary: &argov1.CanaryStrategy{Steps: []argov1.CanaryStep{{Experiment: &argov1.RolloutExperimentStep{
			Templates: []argov1.RolloutExperimentTemplate{{Name: "b", SpecRef: "baseline", Weight: ptr.To(int32(10))}},
		}}}}},
	}}
	err := Validate(ro)
	for _, want := range []string{"templates[0].specRef: Invalid template step SpecRef: must be canary or stable",
		"templates[0].weight: Experiment template weight cannot be set unless TrafficRouting is enabled"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want %q", err, want)
		}
	}
}
