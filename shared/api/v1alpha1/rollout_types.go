package v1alpha1

import (
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The Rollout kind follows Argo Rollouts' v1alpha1 (Apache-2.0) field by
// field for every feature argolite supports. A field Argo has and argolite
// does not is absent here, so the agent's strict check of the stored object
// rejects it by name (with what to use instead) rather than ignoring it.

func init() {
	knownTypes = append(knownTypes, &Rollout{}, &RolloutList{})
}

// Rollout runs a Deployment-like set of Pods and moves it to a new version
// blue/green or canary, step by step, gated by analysis: Argo's Rollout.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.HPAReplicas,selectorpath=.status.selector
// +kubebuilder:resource:shortName=ro,categories=argolite
// +kubebuilder:printcolumn:name="Desired",type=integer,JSONPath=`.spec.replicas`
// +kubebuilder:printcolumn:name="Current",type=integer,JSONPath=`.status.replicas`
// +kubebuilder:printcolumn:name="Up-to-date",type=integer,JSONPath=`.status.updatedReplicas`
// +kubebuilder:printcolumn:name="Available",type=integer,JSONPath=`.status.availableReplicas`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Rollout struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Spec RolloutSpec `json:"spec"`
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Status RolloutStatus `json:"status,omitempty"`
}

// RolloutList is a list of Rollouts.
//
// +kubebuilder:object:root=true
type RolloutList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Rollout `json:"items"`
}

// RolloutSpec is what the Rollout should run and how it moves to a new
// version.
type RolloutSpec struct {
	// Replicas is the number of Pods wanted (default 1).
	Replicas *int32 `json:"replicas,omitempty"`
	// Selector selects the Pods of every revision. Required unless
	// workloadRef names a Deployment, whose selector is taken.
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
	// Template is the Pod template. Empty when workloadRef is set.
	Template corev1.PodTemplateSpec `json:"template,omitempty"`
	// WorkloadRef takes the Pod template from a Deployment, which the
	// Rollout then scales down as scaleDown says.
	WorkloadRef *ObjectRef `json:"workloadRef,omitempty"`
	// MinReadySeconds a new Pod must be ready before it counts as available.
	MinReadySeconds int32 `json:"minReadySeconds,omitempty"`
	// RollbackWindow: going back to one of the last N revisions skips the
	// steps and analysis.
	RollbackWindow *RollbackWindowSpec `json:"rollbackWindow,omitempty"`
	// Strategy is blueGreen or canary.
	Strategy RolloutStrategy `json:"strategy"`
	// RevisionHistoryLimit is how many old ReplicaSets are kept (default 10).
	RevisionHistoryLimit *int32 `json:"revisionHistoryLimit,omitempty"`
	// Paused stops the rollout where it is.
	Paused bool `json:"paused,omitempty"`
	// ProgressDeadlineSeconds is how long an update may make no progress
	// before the Rollout is Degraded (default 600).
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty"`
	// ProgressDeadlineAbort aborts the update when the deadline passes.
	ProgressDeadlineAbort bool `json:"progressDeadlineAbort,omitempty"`
	// RestartAt restarts every Pod created before it, one at a time.
	RestartAt *metav1.Time `json:"restartAt,omitempty"`
	// Analysis limits how many finished AnalysisRuns are kept.
	Analysis *AnalysisRunStrategy `json:"analysis,omitempty"`
}

// ObjectRef names the workload a Rollout takes its Pod template from.
type ObjectRef struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Name       string `json:"name,omitempty"`
	// ScaleDown is never, onsuccess or progressively (default never).
	ScaleDown string `json:"scaleDown,omitempty"`
}

// The workloadRef scale-down modes.
const (
	ScaleDownNever         = "never"
	ScaleDownOnSuccess     = "onsuccess"
	ScaleDownProgressively = "progressively"
)

// RollbackWindowSpec is how many revisions back a rollback is fast.
type RollbackWindowSpec struct {
	Revisions int32 `json:"revisions,omitempty"`
}

// AnalysisRunStrategy limits the AnalysisRuns kept per outcome (default 5 each).
type AnalysisRunStrategy struct {
	SuccessfulRunHistoryLimit   *int32 `json:"successfulRunHistoryLimit,omitempty"`
	UnsuccessfulRunHistoryLimit *int32 `json:"unsuccessfulRunHistoryLimit,omitempty"`
}

// RolloutStrategy holds exactly one of blueGreen and canary.
type RolloutStrategy struct {
	BlueGreen *BlueGreenStrategy `json:"blueGreen,omitempty"`
	Canary    *CanaryStrategy    `json:"canary,omitempty"`
}

// BlueGreenStrategy runs the new version beside the old, behind a preview
// Service, and switches the active Service over on promotion.
type BlueGreenStrategy struct {
	// ActiveService is the Service switched to the new version on promotion.
	ActiveService string `json:"activeService"`
	// PreviewService points at the new version before promotion.
	PreviewService string `json:"previewService,omitempty"`
	// PreviewReplicaCount is how many new Pods run before promotion.
	PreviewReplicaCount *int32 `json:"previewReplicaCount,omitempty"`
	// AutoPromotionEnabled promotes once the new version is ready (default true).
	AutoPromotionEnabled *bool `json:"autoPromotionEnabled,omitempty"`
	// AutoPromotionSeconds promotes this long after the rollout paused.
	AutoPromotionSeconds int32 `json:"autoPromotionSeconds,omitempty"`
	// MaxUnavailable bounds the Pods of the new version down during the update.
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`
	// ScaleDownDelaySeconds keeps the old version up after the switch (default 30).
	ScaleDownDelaySeconds *int32 `json:"scaleDownDelaySeconds,omitempty"`
	// ScaleDownDelayRevisionLimit bounds the old versions kept up meanwhile.
	ScaleDownDelayRevisionLimit *int32 `json:"scaleDownDelayRevisionLimit,omitempty"`
	// PrePromotionAnalysis must succeed before the switch.
	PrePromotionAnalysis *RolloutAnalysis `json:"prePromotionAnalysis,omitempty"`
	// AntiAffinity keeps new Pods off the nodes of the old.
	AntiAffinity *AntiAffinity `json:"antiAffinity,omitempty"`
	// PostPromotionAnalysis runs after the switch; failing, it switches back.
	PostPromotionAnalysis *RolloutAnalysis `json:"postPromotionAnalysis,omitempty"`
	// PreviewMetadata is added to the new Pods while they are the preview.
	PreviewMetadata *PodTemplateMetadata `json:"previewMetadata,omitempty"`
	// ActiveMetadata is added to the Pods the active Service selects.
	ActiveMetadata *PodTemplateMetadata `json:"activeMetadata,omitempty"`
	// AbortScaleDownDelaySeconds keeps the preview up after an abort (default 30).
	AbortScaleDownDelaySeconds *int32 `json:"abortScaleDownDelaySeconds,omitempty"`
}

// AntiAffinity asks the scheduler to keep a revision's Pods off the nodes
// of the previous one.
type AntiAffinity struct {
	PreferredDuringSchedulingIgnoredDuringExecution *PreferredDuringSchedulingIgnoredDuringExecution `json:"preferredDuringSchedulingIgnoredDuringExecution,omitempty"`
	RequiredDuringSchedulingIgnoredDuringExecution  *RequiredDuringSchedulingIgnoredDuringExecution  `json:"requiredDuringSchedulingIgnoredDuringExecution,omitempty"`
}

// PreferredDuringSchedulingIgnoredDuringExecution is a soft anti-affinity.
type PreferredDuringSchedulingIgnoredDuringExecution struct {
	// Weight of the preference, 1 to 100.
	Weight int32 `json:"weight"`
}

// RequiredDuringSchedulingIgnoredDuringExecution is a hard anti-affinity.
type RequiredDuringSchedulingIgnoredDuringExecution struct{}

// CanaryStrategy moves weight to the new version step by step.
type CanaryStrategy struct {
	// CanaryService selects only the new version's Pods.
	CanaryService string `json:"canaryService,omitempty"`
	// StableService selects only the stable version's Pods.
	StableService string `json:"stableService,omitempty"`
	// Steps run in order; without steps an update goes straight to 100 %.
	Steps []CanaryStep `json:"steps,omitempty"`
	// TrafficRouting splits requests by weight at a Gateway API HTTPRoute;
	// without it the split is by replica counts.
	TrafficRouting *RolloutTrafficRouting `json:"trafficRouting,omitempty"`
	// MaxUnavailable bounds the Pods down during the update (default 25 %).
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`
	// MaxSurge bounds the Pods above replicas during the update (default 25 %).
	MaxSurge *intstr.IntOrString `json:"maxSurge,omitempty"`
	// Analysis runs in the background from startingStep on.
	Analysis *RolloutAnalysisBackground `json:"analysis,omitempty"`
	// AntiAffinity keeps canary Pods off the stable's nodes.
	AntiAffinity *AntiAffinity `json:"antiAffinity,omitempty"`
	// CanaryMetadata is added to the canary's Pods.
	CanaryMetadata *PodTemplateMetadata `json:"canaryMetadata,omitempty"`
	// StableMetadata is added to the stable's Pods.
	StableMetadata *PodTemplateMetadata `json:"stableMetadata,omitempty"`
	// ScaleDownDelaySeconds keeps the old stable up after a traffic-routed
	// promotion (default 30).
	ScaleDownDelaySeconds *int32 `json:"scaleDownDelaySeconds,omitempty"`
	// ScaleDownDelayRevisionLimit bounds the old versions kept up meanwhile.
	ScaleDownDelayRevisionLimit *int32 `json:"scaleDownDelayRevisionLimit,omitempty"`
	// AbortScaleDownDelaySeconds keeps the canary up after an abort with
	// traffic routing (default 30).
	AbortScaleDownDelaySeconds *int32 `json:"abortScaleDownDelaySeconds,omitempty"`
	// DynamicStableScale scales the stable down as the canary takes weight.
	DynamicStableScale bool `json:"dynamicStableScale,omitempty"`
	// MinPodsPerReplicaSet is the fewest Pods a traffic-routed canary or
	// stable runs while it has weight.
	MinPodsPerReplicaSet *int32 `json:"minPodsPerReplicaSet,omitempty"`
}

// RolloutTrafficRouting is how a canary's weight reaches the requests.
type RolloutTrafficRouting struct {
	// GatewayAPI sets weights on Gateway API HTTPRoutes.
	GatewayAPI *GatewayAPITrafficRouting `json:"gatewayAPI,omitempty"`
	// Plugins is Argo's plugin form; argoproj-labs/gatewayAPI (the Gateway
	// API plugin's configuration) is the same as gatewayAPI.
	Plugins map[string]json.RawMessage `json:"plugins,omitempty"`
	// ManagedRoutes lists the header routes setHeaderRoute steps may add,
	// in precedence order.
	ManagedRoutes []MangedRoutes `json:"managedRoutes,omitempty"`
	// MaxTrafficWeight is the total weight (default 100).
	MaxTrafficWeight *int32 `json:"maxTrafficWeight,omitempty"`
}

// GatewayAPIPlugin is the name of Argo's Gateway API traffic router plugin.
const GatewayAPIPlugin = "argoproj-labs/gatewayAPI"

// GatewayAPITrafficRouting names the HTTPRoutes whose backendRefs for the
// stable and canary Services get the weights, with the fields of Argo's
// Gateway API plugin.
type GatewayAPITrafficRouting struct {
	// HTTPRoute is one route (in the Rollout's namespace unless namespace).
	HTTPRoute string `json:"httpRoute,omitempty"`
	// HTTPRoutes are several routes.
	HTTPRoutes []HTTPRouteRef `json:"httpRoutes,omitempty"`
	// Namespace of the routes (default the Rollout's).
	Namespace string `json:"namespace,omitempty"`
}

// HTTPRouteRef is one HTTPRoute a canary's weights go to.
type HTTPRouteRef struct {
	Name string `json:"name"`
	// UseHeaderRoutes: setHeaderRoute steps add their matches to this route.
	UseHeaderRoutes bool `json:"useHeaderRoutes,omitempty"`
}

// MangedRoutes (Argo's spelling) is one header route the Rollout manages.
type MangedRoutes struct {
	Name string `json:"name"`
}

// PodTemplateMetadata is labels and annotations added to a revision's Pods.
type PodTemplateMetadata struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// CanaryStep is one step of a canary: exactly one field is set.
type CanaryStep struct {
	// SetWeight sends this percentage to the canary.
	SetWeight *int32 `json:"setWeight,omitempty"`
	// Pause waits for the duration, or until promoted when it has none.
	Pause *RolloutPause `json:"pause,omitempty"`
	// Experiment runs an Experiment and waits for it.
	Experiment *RolloutExperimentStep `json:"experiment,omitempty"`
	// Analysis runs an AnalysisRun and waits for it.
	Analysis *RolloutAnalysis `json:"analysis,omitempty"`
	// SetCanaryScale sets the canary's Pod count apart from its weight
	// (traffic routing only).
	SetCanaryScale *SetCanaryScale `json:"setCanaryScale,omitempty"`
	// SetHeaderRoute sends requests matching headers to the canary.
	SetHeaderRoute *SetHeaderRoute `json:"setHeaderRoute,omitempty"`
}

// RolloutPause is a pause step; duration is seconds or a duration string
// (30s, 5m, 1h); no duration waits for promotion.
type RolloutPause struct {
	Duration *intstr.IntOrString `json:"duration,omitempty"`
}

// SetCanaryScale sets the canary's scale by weight, by replicas, or back to
// the traffic weight.
type SetCanaryScale struct {
	Weight             *int32 `json:"weight,omitempty"`
	Replicas           *int32 `json:"replicas,omitempty"`
	MatchTrafficWeight bool   `json:"matchTrafficWeight,omitempty"`
}

// SetHeaderRoute adds (or with no match removes) a managed header route.
type SetHeaderRoute struct {
	Name  string               `json:"name,omitempty"`
	Match []HeaderRoutingMatch `json:"match,omitempty"`
}

// HeaderRoutingMatch matches one request header.
type HeaderRoutingMatch struct {
	HeaderName  string       `json:"headerName"`
	HeaderValue *StringMatch `json:"headerValue"`
}

// StringMatch is exactly one of exact, prefix and regex.
type StringMatch struct {
	Exact  string `json:"exact,omitempty"`
	Prefix string `json:"prefix,omitempty"`
	Regex  string `json:"regex,omitempty"`
}

// RolloutAnalysis runs AnalysisRuns from templates with args.
type RolloutAnalysis struct {
	Templates            []AnalysisTemplateRef  `json:"templates,omitempty"`
	Args                 []AnalysisRunArgument  `json:"args,omitempty"`
	DryRun               []DryRun               `json:"dryRun,omitempty"`
	MeasurementRetention []MeasurementRetention `json:"measurementRetention,omitempty"`
	AnalysisRunMetadata  *AnalysisRunMetadata   `json:"analysisRunMetadata,omitempty"`
}

// RolloutAnalysisBackground is a canary's background analysis.
type RolloutAnalysisBackground struct {
	RolloutAnalysis `json:",inline"`
	// StartingStep is the step index the analysis starts at.
	StartingStep *int32 `json:"startingStep,omitempty"`
}

// AnalysisRunMetadata is labels and annotations for the AnalysisRuns made.
type AnalysisRunMetadata struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// RolloutExperimentStep runs ReplicaSets of the stable or canary template
// side by side, with analyses, for a duration.
type RolloutExperimentStep struct {
	Templates             []RolloutExperimentTemplate                `json:"templates"`
	Duration              string                                     `json:"duration,omitempty"`
	Analyses              []RolloutExperimentStepAnalysisTemplateRef `json:"analyses,omitempty"`
	DryRun                []DryRun                                   `json:"dryRun,omitempty"`
	AnalysisRunMetadata   AnalysisRunMetadata                        `json:"analysisRunMetadata,omitempty"`
	ScaleDownDelaySeconds *int32                                     `json:"scaleDownDelaySeconds,omitempty"`
}

// RolloutExperimentStepAnalysisTemplateRef is an analysis of an experiment step.
type RolloutExperimentStepAnalysisTemplateRef struct {
	Name                  string                `json:"name"`
	TemplateName          string                `json:"templateName"`
	ClusterScope          *bool                 `json:"clusterScope,omitempty"`
	Args                  []AnalysisRunArgument `json:"args,omitempty"`
	RequiredForCompletion bool                  `json:"requiredForCompletion,omitempty"`
}

// RolloutExperimentTemplate is one ReplicaSet of an experiment step.
type RolloutExperimentTemplate struct {
	Name string `json:"name"`
	// SpecRef is stable or canary.
	SpecRef  string                `json:"specRef"`
	Replicas *int32                `json:"replicas,omitempty"`
	Metadata PodTemplateMetadata   `json:"metadata,omitempty"`
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
	Weight   *int32                `json:"weight,omitempty"`
	Service  *TemplateService      `json:"service,omitempty"`
}

// The specRefs of an experiment step's template: which revision's Pod
// template it runs.
const (
	SpecRefCanary = "canary"
	SpecRefStable = "stable"
)

// TemplateService asks for a Service in front of an experiment's ReplicaSet.
type TemplateService struct {
	Name string `json:"name,omitempty"`
}

// RolloutPhase is a Rollout's overall state.
type RolloutPhase string

// The Rollout phases, as Argo's.
const (
	RolloutPhaseHealthy     RolloutPhase = "Healthy"
	RolloutPhaseDegraded    RolloutPhase = "Degraded"
	RolloutPhaseProgressing RolloutPhase = "Progressing"
	RolloutPhasePaused      RolloutPhase = "Paused"
)

// PauseReason says why a Rollout paused.
type PauseReason string

// The pause reasons, as Argo's.
const (
	PauseReasonInconclusiveAnalysis      PauseReason = "InconclusiveAnalysisRun"
	PauseReasonInconclusiveExperiment    PauseReason = "InconclusiveExperiment"
	PauseReasonCanaryPauseStep           PauseReason = "CanaryPauseStep"
	PauseReasonBlueGreenPause            PauseReason = "BlueGreenPause"
	PauseReasonProgressDeadlineExceeded  PauseReason = "ProgressDeadlineExceeded"
	PauseReasonRolloutPausedByController PauseReason = "RolloutPausedByController"
)

// PauseCondition is one reason the Rollout is paused, since when.
type PauseCondition struct {
	Reason    PauseReason `json:"reason"`
	StartTime metav1.Time `json:"startTime"`
}

// RolloutStatus is what the agent observed and did, in Argo's shape.
type RolloutStatus struct {
	// Abort is set by `rollout abort`: the update goes back to stable.
	Abort bool `json:"abort,omitempty"`
	// PauseConditions are why the rollout is paused; promote clears them.
	PauseConditions []PauseCondition `json:"pauseConditions,omitempty"`
	// ControllerPause says the agent (not the user) paused the rollout.
	ControllerPause bool `json:"controllerPause,omitempty"`
	// AbortedAt is when the update was aborted.
	AbortedAt *metav1.Time `json:"abortedAt,omitempty"`
	// CurrentPodHash is the pod-template-hash of the desired revision.
	CurrentPodHash string `json:"currentPodHash,omitempty"`
	// CurrentStepHash is a hash of the canary steps, to restart them when
	// they change.
	CurrentStepHash string `json:"currentStepHash,omitempty"`
	Replicas        int32  `json:"replicas,omitempty"`
	UpdatedReplicas int32  `json:"updatedReplicas,omitempty"`
	ReadyReplicas   int32  `json:"readyReplicas,omitempty"`
	// AvailableReplicas have been ready for minReadySeconds.
	AvailableReplicas int32 `json:"availableReplicas,omitempty"`
	// CurrentStepIndex is the canary step being run.
	CurrentStepIndex *int32 `json:"currentStepIndex,omitempty"`
	// CollisionCount makes pod-template-hash unique when two templates clash.
	CollisionCount *int32 `json:"collisionCount,omitempty"`
	// ObservedGeneration is the generation the status is for (a string, as in Argo).
	ObservedGeneration string             `json:"observedGeneration,omitempty"`
	Conditions         []RolloutCondition `json:"conditions,omitempty"`
	Canary             CanaryStatus       `json:"canary,omitempty"`
	BlueGreen          BlueGreenStatus    `json:"blueGreen,omitempty"`
	// HPAReplicas is the replica count the scale subresource reports.
	HPAReplicas int32 `json:"HPAReplicas,omitempty"`
	// Selector is the label selector the scale subresource reports.
	Selector string `json:"selector,omitempty"`
	// StableRS is the pod-template-hash of the stable revision.
	StableRS string `json:"stableRS,omitempty"`
	// RestartedAt is the restartAt the Pods were last restarted for.
	RestartedAt *metav1.Time `json:"restartedAt,omitempty"`
	// PromoteFull is set by `rollout promote --full`: skip the rest.
	PromoteFull bool         `json:"promoteFull,omitempty"`
	Phase       RolloutPhase `json:"phase,omitempty"`
	Message     string       `json:"message,omitempty"`
	// WorkloadObservedGeneration is the workloadRef Deployment's generation seen.
	WorkloadObservedGeneration string `json:"workloadObservedGeneration,omitempty"`
	// Duration times the current (or last) update.
	Duration *RolloutDurationStatus `json:"duration,omitempty"`
}

// CompletionStatus says how an update ended.
type CompletionStatus string

// How an update ends, as Argo Rollouts reports it.
const (
	CompletionStatusPromoted       CompletionStatus = "Promoted"
	CompletionStatusFastPromoted   CompletionStatus = "FastPromoted"
	CompletionStatusAborted        CompletionStatus = "Aborted"
	CompletionStatusRollbacked     CompletionStatus = "Rollbacked"
	CompletionStatusFastRollbacked CompletionStatus = "FastRollbacked"
)

// RolloutDurationStatus times an update: from its start to its end, and
// the time it spent waiting for a person (spec.paused, a pause step without
// a duration, a blue/green switch without auto-promotion).
type RolloutDurationStatus struct {
	RolloutStartedAt *metav1.Time `json:"rolloutStartedAt,omitempty"`
	FinishedAt       *metav1.Time `json:"finishedAt,omitempty"`
	// CompletionStatus is how it ended; a rollback carries it from its start.
	CompletionStatus     *CompletionStatus `json:"completionStatus,omitempty"`
	ManualPauseStartedAt *metav1.Time      `json:"manualPauseStartedAt,omitempty"`
	// TotalManualPauseDuration is in seconds, unset when nobody was waited for.
	TotalManualPauseDuration *int64 `json:"totalManualPauseDuration,omitempty"`
}

// BlueGreenStatus is the blue/green part of the status.
type BlueGreenStatus struct {
	PreviewSelector                string                    `json:"previewSelector,omitempty"`
	ActiveSelector                 string                    `json:"activeSelector,omitempty"`
	ScaleUpPreviewCheckPoint       bool                      `json:"scaleUpPreviewCheckPoint,omitempty"`
	PrePromotionAnalysisRunStatus  *RolloutAnalysisRunStatus `json:"prePromotionAnalysisRunStatus,omitempty"`
	PostPromotionAnalysisRunStatus *RolloutAnalysisRunStatus `json:"postPromotionAnalysisRunStatus,omitempty"`
}

// CanaryStatus is the canary part of the status.
type CanaryStatus struct {
	CurrentStepAnalysisRunStatus       *RolloutAnalysisRunStatus `json:"currentStepAnalysisRunStatus,omitempty"`
	CurrentBackgroundAnalysisRunStatus *RolloutAnalysisRunStatus `json:"currentBackgroundAnalysisRunStatus,omitempty"`
	CurrentExperiment                  string                    `json:"currentExperiment,omitempty"`
	Weights                            *TrafficWeights           `json:"weights,omitempty"`
}

// TrafficWeights are the weights last set at the traffic router.
type TrafficWeights struct {
	Canary     WeightDestination   `json:"canary"`
	Stable     WeightDestination   `json:"stable"`
	Additional []WeightDestination `json:"additional,omitempty"`
	Verified   *bool               `json:"verified,omitempty"`
}

// WeightDestination is one backend's weight.
type WeightDestination struct {
	Weight          int32  `json:"weight"`
	ServiceName     string `json:"serviceName,omitempty"`
	PodTemplateHash string `json:"podTemplateHash,omitempty"`
}

// RolloutAnalysisRunStatus is an AnalysisRun the Rollout waits on.
type RolloutAnalysisRunStatus struct {
	Name    string        `json:"name"`
	Status  AnalysisPhase `json:"status"`
	Message string        `json:"message,omitempty"`
}

// RolloutConditionType is a kind of Rollout condition.
type RolloutConditionType string

// The Rollout condition types, as Argo's.
const (
	RolloutAvailable   RolloutConditionType = "Available"
	RolloutProgressing RolloutConditionType = "Progressing"
	RolloutReplicaFail RolloutConditionType = "ReplicaFailure"
	RolloutPausedCond  RolloutConditionType = "Paused"
	RolloutCompleted   RolloutConditionType = "Completed"
	RolloutHealthy     RolloutConditionType = "Healthy"
	InvalidSpec        RolloutConditionType = "InvalidSpec"
)

// RolloutCondition is Argo's Rollout condition (not metav1.Condition: Argo
// keeps lastUpdateTime, and its users' tooling reads these).
type RolloutCondition struct {
	Type               RolloutConditionType   `json:"type"`
	Status             corev1.ConditionStatus `json:"status"`
	LastUpdateTime     metav1.Time            `json:"lastUpdateTime"`
	LastTransitionTime metav1.Time            `json:"lastTransitionTime"`
	Reason             string                 `json:"reason"`
	Message            string                 `json:"message"`
}
