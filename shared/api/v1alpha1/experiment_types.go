package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The Experiment kind is Argo Rollouts' (argoproj.io/v1alpha1), with the
// same field names: ReplicaSets run side by side for a duration, with
// AnalysisRuns judging them. A Rollout's experiment step creates one; users
// may create their own. Spec and status are schemaless in the CRD, as for
// the other Rollouts kinds: the agent checks every field itself.

func init() {
	knownTypes = append(knownTypes, &Experiment{}, &ExperimentList{})
}

// LabelPodTemplateHash is on every ReplicaSet a Rollout or Experiment
// makes, and its Pods: the template's hash, as Argo's.
const LabelPodTemplateHash = "rollouts-pod-template-hash"

// The annotations on an Experiment's ReplicaSets and Services: which
// Experiment and template they belong to, as Argo's.
const (
	ExperimentNameAnnotationKey         = "experiment.argoproj.io/name"
	ExperimentTemplateNameAnnotationKey = "experiment.argoproj.io/template-name"
)

// Experiment runs ReplicaSets of pod templates side by side, with
// analyses, for a duration or until terminated.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=exp,categories=argolite
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.phase`,description="Experiment status"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`,description="Time since resource was created"
type Experiment struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Spec ExperimentSpec `json:"spec"`
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Status ExperimentStatus `json:"status,omitempty"`
}

// ExperimentList is a list of Experiments.
//
// +kubebuilder:object:root=true
type ExperimentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Experiment `json:"items"`
}

// ExperimentSpec is what an Experiment runs.
type ExperimentSpec struct {
	// Templates are the ReplicaSets to run.
	Templates []ExperimentTemplate `json:"templates"`
	// Duration is how long the templates run once all are available
	// (30s, 5m, 1h); empty runs until terminated or an analysis ends it.
	Duration string `json:"duration,omitempty"`
	// ProgressDeadlineSeconds bounds the wait for a template's Pods
	// (default 600).
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty"`
	// Terminate stops the experiment early.
	Terminate bool `json:"terminate,omitempty"`
	// Analyses are the AnalysisRuns started once the templates are available.
	Analyses []ExperimentAnalysisTemplateRef `json:"analyses,omitempty"`
	// ScaleDownDelaySeconds is the wait before the ReplicaSets scale down
	// at the end (default 30).
	ScaleDownDelaySeconds *int32                 `json:"scaleDownDelaySeconds,omitempty"`
	DryRun                []DryRun               `json:"dryRun,omitempty"`
	MeasurementRetention  []MeasurementRetention `json:"measurementRetention,omitempty"`
	AnalysisRunMetadata   AnalysisRunMetadata    `json:"analysisRunMetadata,omitempty"`
}

// ExperimentTemplate is one ReplicaSet of an Experiment (Argo's TemplateSpec).
type ExperimentTemplate struct {
	Name string `json:"name"`
	// Replicas defaults to 1.
	Replicas        *int32                 `json:"replicas,omitempty"`
	MinReadySeconds int32                  `json:"minReadySeconds,omitempty"`
	Selector        *metav1.LabelSelector  `json:"selector"`
	Template        corev1.PodTemplateSpec `json:"template"`
	// Service asks for a Service in front of the ReplicaSet.
	Service *TemplateService `json:"service,omitempty"`
}

// TemplateStatusCode is the state of an Experiment's template.
type TemplateStatusCode string

// The template states, as Argo's.
const (
	TemplateStatusProgressing TemplateStatusCode = "Progressing"
	TemplateStatusRunning     TemplateStatusCode = "Running"
	TemplateStatusSuccessful  TemplateStatusCode = "Successful"
	TemplateStatusFailed      TemplateStatusCode = "Failed"
	TemplateStatusError       TemplateStatusCode = "Error"
)

// Completed says the template is done.
func (s TemplateStatusCode) Completed() bool {
	switch s {
	case TemplateStatusSuccessful, TemplateStatusFailed, TemplateStatusError:
		return true
	}
	return false
}

// ExperimentTemplateStatus is the state of one template's ReplicaSet
// (Argo's TemplateStatus).
type ExperimentTemplateStatus struct {
	Name               string             `json:"name"`
	Replicas           int32              `json:"replicas"`
	UpdatedReplicas    int32              `json:"updatedReplicas"`
	ReadyReplicas      int32              `json:"readyReplicas"`
	AvailableReplicas  int32              `json:"availableReplicas"`
	CollisionCount     *int32             `json:"collisionCount,omitempty"`
	Status             TemplateStatusCode `json:"status,omitempty"`
	Message            string             `json:"message,omitempty"`
	LastTransitionTime *metav1.Time       `json:"lastTransitionTime,omitempty"`
	ServiceName        string             `json:"serviceName,omitempty"`
	PodTemplateHash    string             `json:"podTemplateHash,omitempty"`
}

// ExperimentStatus is what an Experiment came to.
type ExperimentStatus struct {
	// Phase is Pending, Running, Successful, Failed, Error or Inconclusive.
	Phase            AnalysisPhase              `json:"phase,omitempty"`
	Message          string                     `json:"message,omitempty"`
	TemplateStatuses []ExperimentTemplateStatus `json:"templateStatuses,omitempty"`
	// AvailableAt is when all templates became available: the duration
	// counts from it.
	AvailableAt  *metav1.Time                  `json:"availableAt,omitempty"`
	Conditions   []ExperimentCondition         `json:"conditions,omitempty"`
	AnalysisRuns []ExperimentAnalysisRunStatus `json:"analysisRuns,omitempty"`
	// ObservedGeneration is argolite's: the spec generation this status is for.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// ExperimentConditionType is a kind of Experiment condition.
type ExperimentConditionType string

// The Experiment conditions, as Argo's.
const (
	ExperimentConditionInvalidSpec ExperimentConditionType = "InvalidSpec"
	ExperimentConditionProgressing ExperimentConditionType = "Progressing"
)

// ExperimentCondition is one condition of an Experiment, in Argo's shape.
type ExperimentCondition struct {
	Type               ExperimentConditionType `json:"type"`
	Status             corev1.ConditionStatus  `json:"status"`
	LastUpdateTime     metav1.Time             `json:"lastUpdateTime"`
	LastTransitionTime metav1.Time             `json:"lastTransitionTime"`
	Reason             string                  `json:"reason"`
	Message            string                  `json:"message"`
}

// ExperimentAnalysisTemplateRef is an analysis an Experiment runs.
type ExperimentAnalysisTemplateRef struct {
	Name         string     `json:"name"`
	TemplateName string     `json:"templateName"`
	ClusterScope *bool      `json:"clusterScope,omitempty"`
	Args         []Argument `json:"args,omitempty"`
	// RequiredForCompletion: the experiment ends when this analysis
	// succeeds, and waits for it past its duration.
	RequiredForCompletion bool `json:"requiredForCompletion,omitempty"`
}

// ExperimentAnalysisRunStatus is the run of one of an Experiment's analyses.
type ExperimentAnalysisRunStatus struct {
	Name        string        `json:"name"`
	AnalysisRun string        `json:"analysisRun"`
	Phase       AnalysisPhase `json:"phase"`
	Message     string        `json:"message,omitempty"`
}
