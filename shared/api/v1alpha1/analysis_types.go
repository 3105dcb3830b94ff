package v1alpha1

import (
	"encoding/json"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The analysis kinds are Argo Rollouts' AnalysisTemplate,
// ClusterAnalysisTemplate and AnalysisRun (argoproj.io/v1alpha1), with the
// same field names. Their CRDs keep spec (and the run's status) schemaless,
// as the Workflow CRD does: the agent checks every field itself and rejects
// the ones argolite does not support (the providers other than prometheus,
// web and job, Prometheus authentication, ...) by name.

func init() {
	knownTypes = append(knownTypes, &AnalysisTemplate{}, &AnalysisTemplateList{},
		&ClusterAnalysisTemplate{}, &ClusterAnalysisTemplateList{}, &AnalysisRun{}, &AnalysisRunList{})
}

// AnalysisTemplate holds the metrics an AnalysisRun measures, in a namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=at,categories=argolite
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`,description="Time since resource was created"
type AnalysisTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Spec AnalysisTemplateSpec `json:"spec"`
}

// AnalysisTemplateList is a list of AnalysisTemplates.
//
// +kubebuilder:object:root=true
type AnalysisTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AnalysisTemplate `json:"items"`
}

// ClusterAnalysisTemplate is an AnalysisTemplate every namespace can use.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=cat,categories=argolite
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`,description="Time since resource was created"
type ClusterAnalysisTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Spec AnalysisTemplateSpec `json:"spec"`
}

// ClusterAnalysisTemplateList is a list of ClusterAnalysisTemplates.
//
// +kubebuilder:object:root=true
type ClusterAnalysisTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterAnalysisTemplate `json:"items"`
}

// AnalysisTemplateSpec is what a template holds.
type AnalysisTemplateSpec struct {
	// Metrics are the measurements to take.
	Metrics []Metric `json:"metrics,omitempty"`
	// Args are the arguments the metrics use as {{args.NAME}}.
	Args []Argument `json:"args,omitempty"`
	// DryRun lists the metrics (by name, a regular expression) whose
	// outcome does not count for the run's phase.
	DryRun []DryRun `json:"dryRun,omitempty"`
	// MeasurementRetention keeps more or fewer than the last 10
	// measurements of the metrics it names (a regular expression).
	MeasurementRetention []MeasurementRetention `json:"measurementRetention,omitempty"`
	// Templates are other templates whose metrics and args this one
	// takes in (composition).
	Templates []AnalysisTemplateRef `json:"templates,omitempty"`
}

// DurationString is a Go duration such as 30s or 5m.
type DurationString string

// Duration parses d.
func (d DurationString) Duration() (time.Duration, error) { return time.ParseDuration(string(d)) }

// Metric is one measurement, repeated, with the conditions that judge it.
type Metric struct {
	Name string `json:"name"`
	// Interval is the time between two measurements.
	Interval DurationString `json:"interval,omitempty"`
	// InitialDelay is the wait before the first measurement.
	InitialDelay DurationString `json:"initialDelay,omitempty"`
	// Count is how many measurements to take; unset with an interval means
	// until the run is terminated, unset without one means 1.
	Count *intstr.IntOrString `json:"count,omitempty"`
	// SuccessCondition and FailureCondition are expr-lang expressions over
	// result (the measured value).
	SuccessCondition string `json:"successCondition,omitempty"`
	FailureCondition string `json:"failureCondition,omitempty"`
	// FailureLimit is how many failed measurements are tolerated (0 by
	// default; -1 disables the limit).
	FailureLimit *intstr.IntOrString `json:"failureLimit,omitempty"`
	// InconclusiveLimit is how many inconclusive measurements are tolerated.
	InconclusiveLimit *intstr.IntOrString `json:"inconclusiveLimit,omitempty"`
	// ConsecutiveErrorLimit is how many errors in a row are tolerated (4
	// by default).
	ConsecutiveErrorLimit *intstr.IntOrString `json:"consecutiveErrorLimit,omitempty"`
	// ConsecutiveSuccessLimit ends the metric Successful after this many
	// successes in a row.
	ConsecutiveSuccessLimit *intstr.IntOrString `json:"consecutiveSuccessLimit,omitempty"`
	Provider                MetricProvider      `json:"provider"`
}

// EffectiveCount is the number of measurements the metric takes, as Argo
// reads Count: nil means no limit.
func (m *Metric) EffectiveCount() *intstr.IntOrString {
	if m.Count == nil || m.Count.IntValue() == 0 {
		if m.Interval == "" {
			one := intstr.FromInt32(1)
			return &one
		}
		return nil
	}
	return m.Count
}

// DryRun names metrics (a regular expression) that run in dry-run mode.
type DryRun struct {
	MetricName string `json:"metricName"`
}

// MeasurementRetention sets how many measurements of the metrics it names
// (a regular expression) the status keeps.
type MeasurementRetention struct {
	MetricName string `json:"metricName"`
	Limit      int32  `json:"limit"`
}

// MetricProvider is where a measurement comes from: exactly one of them.
// argolite supports prometheus, web and job.
type MetricProvider struct {
	Prometheus *PrometheusMetric `json:"prometheus,omitempty"`
	Web        *WebMetric        `json:"web,omitempty"`
	Job        *JobMetric        `json:"job,omitempty"`
}

// PrometheusMetric is an instant query of Prometheus' HTTP API.
type PrometheusMetric struct {
	// Address is the base URL of the Prometheus server.
	Address string `json:"address,omitempty"`
	Query   string `json:"query,omitempty"`
	// Timeout is the query's timeout in seconds (30 by default).
	Timeout  *int64            `json:"timeout,omitempty"`
	Insecure bool              `json:"insecure,omitempty"`
	Headers  []WebMetricHeader `json:"headers,omitempty"`
}

// WebMetric is an HTTP request whose JSON answer is the result.
type WebMetric struct {
	// Method is GET (the default), POST or PUT.
	Method  WebMetricMethod   `json:"method,omitempty"`
	URL     string            `json:"url"`
	Headers []WebMetricHeader `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
	// TimeoutSeconds is the request's timeout (10 by default).
	TimeoutSeconds int64 `json:"timeoutSeconds,omitempty"`
	// JSONPath selects the result in the answer ({$} by default), in
	// kubectl's JSONPath syntax.
	JSONPath string `json:"jsonPath,omitempty"`
	Insecure bool   `json:"insecure,omitempty"`
	// JSONBody is a JSON request body, sent with Content-Type
	// application/json.
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	JSONBody json.RawMessage `json:"jsonBody,omitempty"`
}

// WebMetricMethod is the HTTP method of a web metric.
type WebMetricMethod string

// The methods a web metric sends.
const (
	WebMetricMethodGet  WebMetricMethod = "GET"
	WebMetricMethodPost WebMetricMethod = "POST"
	WebMetricMethodPut  WebMetricMethod = "PUT"
)

// WebMetricHeader is one request header.
type WebMetricHeader struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// JobMetric runs a Kubernetes Job: Complete is a successful measurement,
// Failed a failed one.
type JobMetric struct {
	Metadata metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec     batchv1.JobSpec   `json:"spec"`
}

// Argument is an argument of a template or run. Exactly one of value and
// valueFrom gives its value; a template may leave both out for the run's
// creator to supply.
type Argument struct {
	Name      string             `json:"name"`
	Value     *string            `json:"value,omitempty"`
	ValueFrom *AnalysisValueFrom `json:"valueFrom,omitempty"`
}

// AnalysisValueFrom is where an argument's value comes from (Argo's
// ValueFrom of analysis arguments).
type AnalysisValueFrom struct {
	// SecretKeyRef reads a key of a Secret in the run's namespace.
	SecretKeyRef *SecretKeyRef `json:"secretKeyRef,omitempty"`
	// FieldRef reads a field of the object that creates the run (a
	// Rollout's metadata.labels['app'], say).
	FieldRef *FieldRef `json:"fieldRef,omitempty"`
}

// SecretKeyRef names a key of a Secret.
type SecretKeyRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// FieldRef is the path of a field, as metadata.labels['app'].
type FieldRef struct {
	FieldPath string `json:"fieldPath"`
}

// AnalysisTemplateRef names a template a Rollout, an Experiment or another
// template uses.
type AnalysisTemplateRef struct {
	TemplateName string `json:"templateName"`
	// ClusterScope looks the name up among ClusterAnalysisTemplates.
	ClusterScope *bool `json:"clusterScope,omitempty"`
}

// IsClusterScope reports whether the ref names a ClusterAnalysisTemplate.
func (r *AnalysisTemplateRef) IsClusterScope() bool { return r.ClusterScope != nil && *r.ClusterScope }

// AnalysisRunArgument is an argument a Rollout passes to the runs it
// creates: a value, or where the Rollout takes it from.
type AnalysisRunArgument struct {
	Name      string             `json:"name"`
	Value     string             `json:"value,omitempty"`
	ValueFrom *ArgumentValueFrom `json:"valueFrom,omitempty"`
}

// ArgumentValueFrom is where a Rollout takes an argument's value from.
type ArgumentValueFrom struct {
	// PodTemplateHashValue is the pod template hash of the Stable or the
	// Latest ReplicaSet.
	PodTemplateHashValue *ValueFromPodTemplateHash `json:"podTemplateHashValue,omitempty"`
	// FieldRef is a field of the Rollout.
	FieldRef *FieldRef `json:"fieldRef,omitempty"`
}

// ValueFromPodTemplateHash says which ReplicaSet's pod template hash.
type ValueFromPodTemplateHash string

// The ReplicaSets an argument's pod template hash comes from.
const (
	Stable ValueFromPodTemplateHash = "Stable"
	Latest ValueFromPodTemplateHash = "Latest"
)

// AnalysisRun measures metrics until they succeed, fail or are terminated.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ar,categories=argolite
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.phase`,description="AnalysisRun status"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`,description="Time since resource was created"
type AnalysisRun struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Spec AnalysisRunSpec `json:"spec"`
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Status AnalysisRunStatus `json:"status,omitempty"`
}

// AnalysisRunList is a list of AnalysisRuns.
//
// +kubebuilder:object:root=true
type AnalysisRunList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AnalysisRun `json:"items"`
}

// AnalysisRunSpec is what a run measures.
type AnalysisRunSpec struct {
	Metrics []Metric   `json:"metrics"`
	Args    []Argument `json:"args,omitempty"`
	// Terminate stops the run: measurements in flight end, and the run
	// ends with the phase its metrics have (Successful when none failed).
	Terminate            bool                   `json:"terminate,omitempty"`
	DryRun               []DryRun               `json:"dryRun,omitempty"`
	MeasurementRetention []MeasurementRetention `json:"measurementRetention,omitempty"`
	// TTLStrategy deletes the run a time after it completed.
	TTLStrategy *TTLStrategy `json:"ttlStrategy,omitempty"`
}

// AnalysisPhase is the phase of a run, a metric or a measurement.
type AnalysisPhase string

// The analysis phases, as Argo's.
const (
	AnalysisPhasePending      AnalysisPhase = "Pending"
	AnalysisPhaseRunning      AnalysisPhase = "Running"
	AnalysisPhaseSuccessful   AnalysisPhase = "Successful"
	AnalysisPhaseFailed       AnalysisPhase = "Failed"
	AnalysisPhaseError        AnalysisPhase = "Error"
	AnalysisPhaseInconclusive AnalysisPhase = "Inconclusive"
)

// Completed reports whether the phase is final.
func (p AnalysisPhase) Completed() bool {
	switch p {
	case AnalysisPhaseSuccessful, AnalysisPhaseFailed, AnalysisPhaseError, AnalysisPhaseInconclusive:
		return true
	}
	return false
}

// AnalysisRunStatus is how a run is doing.
type AnalysisRunStatus struct {
	Phase         AnalysisPhase  `json:"phase"`
	Message       string         `json:"message,omitempty"`
	MetricResults []MetricResult `json:"metricResults,omitempty"`
	StartedAt     *metav1.Time   `json:"startedAt,omitempty"`
	// RunSummary counts the metrics by outcome; DryRunSummary the dry-run
	// metrics.
	RunSummary    RunSummary   `json:"runSummary,omitempty"`
	DryRunSummary *RunSummary  `json:"dryRunSummary,omitempty"`
	CompletedAt   *metav1.Time `json:"completedAt,omitempty"`
}

// RunSummary counts metrics by outcome.
type RunSummary struct {
	Count        int32 `json:"count,omitempty"`
	Successful   int32 `json:"successful,omitempty"`
	Failed       int32 `json:"failed,omitempty"`
	Inconclusive int32 `json:"inconclusive,omitempty"`
	Error        int32 `json:"error,omitempty"`
}

// MetricResult is how one metric is doing.
type MetricResult struct {
	Name  string        `json:"name"`
	Phase AnalysisPhase `json:"phase"`
	// Measurements are the last ones taken (10 unless
	// measurementRetention says otherwise).
	Measurements       []Measurement     `json:"measurements,omitempty"`
	Message            string            `json:"message,omitempty"`
	Count              int32             `json:"count,omitempty"`
	Successful         int32             `json:"successful,omitempty"`
	Failed             int32             `json:"failed,omitempty"`
	Inconclusive       int32             `json:"inconclusive,omitempty"`
	Error              int32             `json:"error,omitempty"`
	ConsecutiveError   int32             `json:"consecutiveError,omitempty"`
	DryRun             bool              `json:"dryRun,omitempty"`
	Metadata           map[string]string `json:"metadata,omitempty"`
	ConsecutiveSuccess int32             `json:"consecutiveSuccess,omitempty"`
}

// Measurement is one measurement of a metric.
type Measurement struct {
	Phase      AnalysisPhase     `json:"phase"`
	Message    string            `json:"message,omitempty"`
	StartedAt  *metav1.Time      `json:"startedAt,omitempty"`
	FinishedAt *metav1.Time      `json:"finishedAt,omitempty"`
	Value      string            `json:"value,omitempty"`
	Metadata   map[string]string `json:"metadata,omitempty"`
	// ResumeAt is when a measurement in flight (a Job) is looked at next.
	ResumeAt *metav1.Time `json:"resumeAt,omitempty"`
}
