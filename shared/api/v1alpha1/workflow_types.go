package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The workflow kinds follow Argo Workflows' v1alpha1 (Apache-2.0) field by
// field for every feature argolite supports. A field Argo has and argolite
// does not is absent here, so the strict decoding of the validator (see
// shared/wfvalidate) rejects it by name instead of ignoring it.

func init() {
	knownTypes = append(knownTypes, &Workflow{}, &WorkflowList{}, &WorkflowTemplate{}, &WorkflowTemplateList{},
		&ClusterWorkflowTemplate{}, &ClusterWorkflowTemplateList{}, &CronWorkflow{}, &CronWorkflowList{})
}

// Workflow is a run of templates whose steps are Pods: Argo's Workflow.
//
// The CRD keeps spec and status schemaless (as Argo's own CRDs do, because a
// full schema with every Pod field is too large for the API server): the
// agent and `kubectl argo wf lint` validate strictly, naming each bad field.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=wf,categories=argolite
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Progress",type=string,JSONPath=`.status.progress`,priority=1
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Workflow struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Spec WorkflowSpec `json:"spec"`
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Status WorkflowStatus `json:"status,omitempty"`
}

// WorkflowList is a list of Workflows.
//
// +kubebuilder:object:root=true
type WorkflowList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Workflow `json:"items"`
}

// WorkflowTemplate is a reusable workflow spec in a namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=wftmpl,categories=argolite
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type WorkflowTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Spec WorkflowSpec `json:"spec"`
}

// WorkflowTemplateList is a list of WorkflowTemplates.
//
// +kubebuilder:object:root=true
type WorkflowTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []WorkflowTemplate `json:"items"`
}

// ClusterWorkflowTemplate is a reusable workflow spec for every namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=cwftmpl;clusterwftmpl,categories=argolite
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterWorkflowTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Spec WorkflowSpec `json:"spec"`
}

// ClusterWorkflowTemplateList is a list of ClusterWorkflowTemplates.
//
// +kubebuilder:object:root=true
type ClusterWorkflowTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterWorkflowTemplate `json:"items"`
}

// WorkflowSpec is what a workflow runs and how its Pods look.
type WorkflowSpec struct {
	// Templates are the workflow's templates; the entrypoint names one.
	Templates  []Template `json:"templates,omitempty"`
	Entrypoint string     `json:"entrypoint,omitempty"`
	// Arguments are the workflow's parameters and artifacts.
	Arguments Arguments `json:"arguments,omitempty"`
	// ServiceAccountName runs the step Pods as this ServiceAccount, with its
	// token mounted. Without it, step Pods get no API credentials.
	ServiceAccountName           string                         `json:"serviceAccountName,omitempty"`
	AutomountServiceAccountToken *bool                          `json:"automountServiceAccountToken,omitempty"`
	Volumes                      []corev1.Volume                `json:"volumes,omitempty"`
	VolumeClaimTemplates         []corev1.PersistentVolumeClaim `json:"volumeClaimTemplates,omitempty"`
	// Parallelism caps the Pods running at once in the workflow.
	Parallelism           *int64                            `json:"parallelism,omitempty"`
	ArtifactRepositoryRef *ArtifactRepositoryRef            `json:"artifactRepositoryRef,omitempty"`
	Suspend               *bool                             `json:"suspend,omitempty"`
	NodeSelector          map[string]string                 `json:"nodeSelector,omitempty"`
	Affinity              *corev1.Affinity                  `json:"affinity,omitempty"`
	Tolerations           []corev1.Toleration               `json:"tolerations,omitempty"`
	ImagePullSecrets      []corev1.LocalObjectReference     `json:"imagePullSecrets,omitempty"`
	HostNetwork           *bool                             `json:"hostNetwork,omitempty"`
	DNSPolicy             *corev1.DNSPolicy                 `json:"dnsPolicy,omitempty"`
	DNSConfig             *corev1.PodDNSConfig              `json:"dnsConfig,omitempty"`
	OnExit                string                            `json:"onExit,omitempty"`
	TTLStrategy           *TTLStrategy                      `json:"ttlStrategy,omitempty"`
	ActiveDeadlineSeconds *int64                            `json:"activeDeadlineSeconds,omitempty"`
	Priority              *int32                            `json:"priority,omitempty"`
	SchedulerName         string                            `json:"schedulerName,omitempty"`
	PodGC                 *PodGC                            `json:"podGC,omitempty"`
	PodPriorityClassName  string                            `json:"podPriorityClassName,omitempty"`
	HostAliases           []corev1.HostAlias                `json:"hostAliases,omitempty"`
	SecurityContext       *corev1.PodSecurityContext        `json:"securityContext,omitempty"`
	PodSpecPatch          string                            `json:"podSpecPatch,omitempty"`
	PodDisruptionBudget   *policyv1.PodDisruptionBudgetSpec `json:"podDisruptionBudget,omitempty"`
	Metrics               *Metrics                          `json:"metrics,omitempty"`
	// Shutdown is Stop (run exit handlers) or Terminate (do not).
	Shutdown            ShutdownStrategy             `json:"shutdown,omitempty"`
	WorkflowTemplateRef *WorkflowTemplateRef         `json:"workflowTemplateRef,omitempty"`
	Synchronization     *Synchronization             `json:"synchronization,omitempty"`
	VolumeClaimGC       *VolumeClaimGC               `json:"volumeClaimGC,omitempty"`
	RetryStrategy       *WorkflowRetryStrategy       `json:"retryStrategy,omitempty"`
	PodMetadata         *Metadata                    `json:"podMetadata,omitempty"`
	TemplateDefaults    *Template                    `json:"templateDefaults,omitempty"`
	ArchiveLogs         *bool                        `json:"archiveLogs,omitempty"`
	Hooks               LifecycleHooks               `json:"hooks,omitempty"`
	WorkflowMetadata    *WorkflowMetadata            `json:"workflowMetadata,omitempty"`
	PodResources        *corev1.ResourceRequirements `json:"podResources,omitempty"`
}

// ShutdownStrategy stops a running workflow.
type ShutdownStrategy string

const (
	// ShutdownTerminate stops at once without exit handlers.
	ShutdownTerminate ShutdownStrategy = "Terminate"
	// ShutdownStop stops and runs the exit handlers.
	ShutdownStop ShutdownStrategy = "Stop"
)

// TTLStrategy deletes a finished workflow after a time.
type TTLStrategy struct {
	SecondsAfterCompletion *int32 `json:"secondsAfterCompletion,omitempty"`
	SecondsAfterSuccess    *int32 `json:"secondsAfterSuccess,omitempty"`
	SecondsAfterFailure    *int32 `json:"secondsAfterFailure,omitempty"`
}

// PodGC deletes step Pods: OnPodCompletion, OnPodSuccess, OnWorkflowCompletion or OnWorkflowSuccess.
type PodGC struct {
	Strategy            PodGCStrategy         `json:"strategy,omitempty"`
	LabelSelector       *metav1.LabelSelector `json:"labelSelector,omitempty"`
	DeleteDelayDuration string                `json:"deleteDelayDuration,omitempty"`
}

// PodGCStrategy says when step Pods are deleted.
type PodGCStrategy string

// The pod GC strategies.
const (
	PodGCOnPodNone            PodGCStrategy = ""
	PodGCOnPodCompletion      PodGCStrategy = "OnPodCompletion"
	PodGCOnPodSuccess         PodGCStrategy = "OnPodSuccess"
	PodGCOnWorkflowCompletion PodGCStrategy = "OnWorkflowCompletion"
	PodGCOnWorkflowSuccess    PodGCStrategy = "OnWorkflowSuccess"
)

// VolumeClaimGC says when the workflow's volume claims are deleted.
type VolumeClaimGC struct {
	// Strategy is OnWorkflowCompletion (the default) or OnWorkflowSuccess.
	Strategy string `json:"strategy,omitempty"`
}

// WorkflowMetadata is metadata set on the Workflow object itself.
type WorkflowMetadata struct {
	Labels      map[string]string         `json:"labels,omitempty"`
	Annotations map[string]string         `json:"annotations,omitempty"`
	LabelsFrom  map[string]LabelValueFrom `json:"labelsFrom,omitempty"`
}

// LabelValueFrom is a label whose value is an expression.
type LabelValueFrom struct {
	Expression string `json:"expression"`
}

// Metadata is labels and annotations for step Pods.
type Metadata struct {
	Annotations map[string]string `json:"annotations,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
}

// Template is one unit of work: a Pod (container, script, containerSet,
// resource), a wait (suspend), or a composition of other templates (steps, dag).
type Template struct {
	Name                         string                       `json:"name,omitempty"`
	Inputs                       Inputs                       `json:"inputs,omitempty"`
	Outputs                      Outputs                      `json:"outputs,omitempty"`
	NodeSelector                 map[string]string            `json:"nodeSelector,omitempty"`
	Affinity                     *corev1.Affinity             `json:"affinity,omitempty"`
	Metadata                     Metadata                     `json:"metadata,omitempty"`
	Daemon                       *bool                        `json:"daemon,omitempty"`
	Steps                        []ParallelSteps              `json:"steps,omitempty"`
	Container                    *corev1.Container            `json:"container,omitempty"`
	ContainerSet                 *ContainerSetTemplate        `json:"containerSet,omitempty"`
	Script                       *ScriptTemplate              `json:"script,omitempty"`
	Resource                     *ResourceTemplate            `json:"resource,omitempty"`
	DAG                          *DAGTemplate                 `json:"dag,omitempty"`
	Suspend                      *SuspendTemplate             `json:"suspend,omitempty"`
	Data                         *Data                        `json:"data,omitempty"`
	Volumes                      []corev1.Volume              `json:"volumes,omitempty"`
	InitContainers               []UserContainer              `json:"initContainers,omitempty"`
	Sidecars                     []UserContainer              `json:"sidecars,omitempty"`
	ArchiveLocation              *ArtifactLocation            `json:"archiveLocation,omitempty"`
	ActiveDeadlineSeconds        *intstr.IntOrString          `json:"activeDeadlineSeconds,omitempty"`
	RetryStrategy                *WorkflowRetryStrategy       `json:"retryStrategy,omitempty"`
	Parallelism                  *int64                       `json:"parallelism,omitempty"`
	FailFast                     *bool                        `json:"failFast,omitempty"`
	Tolerations                  []corev1.Toleration          `json:"tolerations,omitempty"`
	SchedulerName                string                       `json:"schedulerName,omitempty"`
	PriorityClassName            string                       `json:"priorityClassName,omitempty"`
	ServiceAccountName           string                       `json:"serviceAccountName,omitempty"`
	AutomountServiceAccountToken *bool                        `json:"automountServiceAccountToken,omitempty"`
	HostAliases                  []corev1.HostAlias           `json:"hostAliases,omitempty"`
	SecurityContext              *corev1.PodSecurityContext   `json:"securityContext,omitempty"`
	PodSpecPatch                 string                       `json:"podSpecPatch,omitempty"`
	Metrics                      *Metrics                     `json:"metrics,omitempty"`
	Synchronization              *Synchronization             `json:"synchronization,omitempty"`
	Memoize                      *Memoize                     `json:"memoize,omitempty"`
	Timeout                      string                       `json:"timeout,omitempty"`
	PodResources                 *corev1.ResourceRequirements `json:"podResources,omitempty"`
}

// Data is a data template: the agent lists a source (the keys under an
// artifact location) and applies the transformations in order; the node's
// outputs.result is the JSON of the final value.
type Data struct {
	Source         DataSource     `json:"source"`
	Transformation Transformation `json:"transformation,omitempty"`
}

// DataSource is where a data template's input list comes from.
type DataSource struct {
	ArtifactPaths *ArtifactPaths `json:"artifactPaths,omitempty"`
}

// ArtifactPaths lists the files below an artifact location (an S3 key
// prefix, or the whole bucket without a key).
type ArtifactPaths struct {
	Artifact `json:",inline"`
}

// Transformation is the ordered steps of a data template.
type Transformation []TransformationStep

// TransformationStep is one expr-lang expression, with data bound to the
// previous step's value.
type TransformationStep struct {
	Expression string `json:"expression"`
}

// Inputs are a template's parameters and artifacts.
type Inputs struct {
	Parameters []Parameter `json:"parameters,omitempty"`
	Artifacts  []Artifact  `json:"artifacts,omitempty"`
}

// Outputs are what a template produced. Result and ExitCode are set by the
// agent for Pod templates.
type Outputs struct {
	Parameters []Parameter `json:"parameters,omitempty"`
	Artifacts  []Artifact  `json:"artifacts,omitempty"`
	Result     *string     `json:"result,omitempty"`
	ExitCode   *string     `json:"exitCode,omitempty"`
}

// Arguments are the values passed to a workflow or a template.
type Arguments struct {
	Parameters []Parameter `json:"parameters,omitempty"`
	Artifacts  []Artifact  `json:"artifacts,omitempty"`
}

// Parameter is a named string value.
type Parameter struct {
	Name        string      `json:"name"`
	Default     *AnyString  `json:"default,omitempty"`
	Value       *AnyString  `json:"value,omitempty"`
	ValueFrom   *ValueFrom  `json:"valueFrom,omitempty"`
	GlobalName  string      `json:"globalName,omitempty"`
	Enum        []AnyString `json:"enum,omitempty"`
	Description *AnyString  `json:"description,omitempty"`
}

// ValueFrom says where a parameter's value comes from.
type ValueFrom struct {
	Path            string                       `json:"path,omitempty"`
	JSONPath        string                       `json:"jsonPath,omitempty"`
	JQFilter        string                       `json:"jqFilter,omitempty"`
	Parameter       string                       `json:"parameter,omitempty"`
	Supplied        *SuppliedValueFrom           `json:"supplied,omitempty"`
	ConfigMapKeyRef *corev1.ConfigMapKeySelector `json:"configMapKeyRef,omitempty"`
	Default         *AnyString                   `json:"default,omitempty"`
	Expression      string                       `json:"expression,omitempty"`
	Event           string                       `json:"event,omitempty"`
}

// SuppliedValueFrom marks a parameter supplied by whoever resumes a suspend node.
type SuppliedValueFrom struct{}

// Artifact is a file or directory passed between steps through an artifact
// repository (or given inline, raw).
type Artifact struct {
	Name             string `json:"name"`
	Path             string `json:"path,omitempty"`
	Mode             *int32 `json:"mode,omitempty"`
	From             string `json:"from,omitempty"`
	ArtifactLocation `json:",inline"`
	GlobalName       string           `json:"globalName,omitempty"`
	Archive          *ArchiveStrategy `json:"archive,omitempty"`
	Optional         bool             `json:"optional,omitempty"`
	SubPath          string           `json:"subPath,omitempty"`
	RecurseMode      bool             `json:"recurseMode,omitempty"`
	FromExpression   string           `json:"fromExpression,omitempty"`
	Deleted          bool             `json:"deleted,omitempty"`
}

// ArtifactLocation is where an artifact is kept.
type ArtifactLocation struct {
	ArchiveLogs *bool           `json:"archiveLogs,omitempty"`
	S3          *S3Artifact     `json:"s3,omitempty"`
	HTTP        *HTTPArtifact   `json:"http,omitempty"`
	Raw         *RawArtifact    `json:"raw,omitempty"`
	Plugin      *PluginArtifact `json:"plugin,omitempty"`
}

// S3Bucket is an S3-compatible bucket and how to reach it.
type S3Bucket struct {
	Endpoint                 string                    `json:"endpoint,omitempty"`
	Bucket                   string                    `json:"bucket,omitempty"`
	Region                   string                    `json:"region,omitempty"`
	Insecure                 *bool                     `json:"insecure,omitempty"`
	AccessKeySecret          *corev1.SecretKeySelector `json:"accessKeySecret,omitempty"`
	SecretKeySecret          *corev1.SecretKeySelector `json:"secretKeySecret,omitempty"`
	UseSDKCreds              bool                      `json:"useSDKCreds,omitempty"`
	CreateBucketIfNotPresent *CreateS3BucketOptions    `json:"createBucketIfNotPresent,omitempty"`
}

// CreateS3BucketOptions asks for the bucket to be created when missing.
type CreateS3BucketOptions struct {
	ObjectLocking bool `json:"objectLocking,omitempty"`
}

// S3Artifact is an object (or prefix) in an S3-compatible bucket.
type S3Artifact struct {
	S3Bucket `json:",inline"`
	Key      string `json:"key,omitempty"`
}

// HTTPArtifact is a file fetched over HTTP(S).
type HTTPArtifact struct {
	URL     string   `json:"url"`
	Headers []Header `json:"headers,omitempty"`
}

// Header is an HTTP header.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// RawArtifact is an artifact given inline.
type RawArtifact struct {
	Data string `json:"data"`
}

// PluginArtifact is an artifact kept by a named artifact driver, configured
// for the agent in the argolite-config ConfigMap.
type PluginArtifact struct {
	Name                     string `json:"name"`
	Configuration            string `json:"configuration"`
	ConnectionTimeoutSeconds int32  `json:"connectionTimeoutSeconds,omitempty"`
	Key                      string `json:"key"`
}

// ArchiveStrategy says how an output artifact is packed: tar+gzip by default, or none.
type ArchiveStrategy struct {
	Tar  *TarStrategy  `json:"tar,omitempty"`
	None *NoneStrategy `json:"none,omitempty"`
}

// TarStrategy packs with tar and gzip.
type TarStrategy struct {
	CompressionLevel *int32 `json:"compressionLevel,omitempty"`
}

// NoneStrategy keeps a single file as it is.
type NoneStrategy struct{}

// ArtifactRepositoryRef names a repository in a ConfigMap (default
// artifact-repositories, key from its workflows.argoproj.io/default-artifact-repository annotation).
type ArtifactRepositoryRef struct {
	ConfigMap string `json:"configMap,omitempty"`
	Key       string `json:"key,omitempty"`
}

// ArtifactRepositoryRefStatus is the repository a workflow resolved.
type ArtifactRepositoryRefStatus struct {
	ArtifactRepositoryRef `json:",inline"`
	Namespace             string              `json:"namespace,omitempty"`
	Default               bool                `json:"default,omitempty"`
	ArtifactRepository    *ArtifactRepository `json:"artifactRepository,omitempty"`
}

// ArtifactRepository is where key-only artifacts go.
type ArtifactRepository struct {
	ArchiveLogs *bool                 `json:"archiveLogs,omitempty"`
	S3          *S3ArtifactRepository `json:"s3,omitempty"`
}

// S3ArtifactRepository is a bucket with a key format for output artifacts.
type S3ArtifactRepository struct {
	S3Bucket  `json:",inline"`
	KeyFormat string `json:"keyFormat,omitempty"`
	KeyPrefix string `json:"keyPrefix,omitempty"`
}

// ParallelSteps is one group of steps that run at the same time.
type ParallelSteps struct {
	Steps []WorkflowStep `json:"-"`
}

// WorkflowStep is one step of a steps template.
type WorkflowStep struct {
	Name         string         `json:"name,omitempty"`
	Template     string         `json:"template,omitempty"`
	Inline       *Template      `json:"inline,omitempty"`
	Arguments    Arguments      `json:"arguments,omitempty"`
	TemplateRef  *TemplateRef   `json:"templateRef,omitempty"`
	WithItems    []Item         `json:"withItems,omitempty"`
	WithParam    string         `json:"withParam,omitempty"`
	WithSequence *Sequence      `json:"withSequence,omitempty"`
	When         string         `json:"when,omitempty"`
	ContinueOn   *ContinueOn    `json:"continueOn,omitempty"`
	OnExit       string         `json:"onExit,omitempty"`
	Hooks        LifecycleHooks `json:"hooks,omitempty"`
}

// LifecycleHooks maps an event ("exit" or any name, with an expression) to a hook.
type LifecycleHooks map[string]LifecycleHook

// LifecycleHook runs a template on exit, or when its expression becomes true.
type LifecycleHook struct {
	Template    string       `json:"template,omitempty"`
	Arguments   Arguments    `json:"arguments,omitempty"`
	TemplateRef *TemplateRef `json:"templateRef,omitempty"`
	Expression  string       `json:"expression,omitempty"`
}

// ExitLifecycleEvent is the hook name that runs when a node or the workflow ends.
const ExitLifecycleEvent = "exit"

// Sequence generates loop items: numbers from start to end (or count of them), formatted.
type Sequence struct {
	Count  *intstr.IntOrString `json:"count,omitempty"`
	Start  *intstr.IntOrString `json:"start,omitempty"`
	End    *intstr.IntOrString `json:"end,omitempty"`
	Format string              `json:"format,omitempty"`
}

// TemplateRef names a template in a WorkflowTemplate or ClusterWorkflowTemplate.
type TemplateRef struct {
	Name         string `json:"name,omitempty"`
	Template     string `json:"template,omitempty"`
	ClusterScope bool   `json:"clusterScope,omitempty"`
}

// WorkflowTemplateRef runs a whole WorkflowTemplate (or ClusterWorkflowTemplate).
type WorkflowTemplateRef struct {
	Name         string `json:"name,omitempty"`
	ClusterScope bool   `json:"clusterScope,omitempty"`
}

// Synchronization holds mutexes and semaphores while a workflow or template runs.
type Synchronization struct {
	Semaphores []SemaphoreRef `json:"semaphores,omitempty"`
	Mutexes    []Mutex        `json:"mutexes,omitempty"`
}

// SemaphoreRef is a semaphore whose limit is a ConfigMap key.
type SemaphoreRef struct {
	ConfigMapKeyRef *corev1.ConfigMapKeySelector `json:"configMapKeyRef,omitempty"`
	Namespace       string                       `json:"namespace,omitempty"`
}

// Mutex is a named lock.
type Mutex struct {
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

// ContinueOn lets the parent go on when this step fails or errors.
type ContinueOn struct {
	Error  bool `json:"error,omitempty"`
	Failed bool `json:"failed,omitempty"`
}

// UserContainer is an init container or sidecar.
type UserContainer struct {
	corev1.Container   `json:",inline"`
	MirrorVolumeMounts *bool `json:"mirrorVolumeMounts,omitempty"`
}

// ContainerSetTemplate runs several containers in one Pod, ordered by their dependencies.
type ContainerSetTemplate struct {
	Containers    []ContainerNode            `json:"containers"`
	VolumeMounts  []corev1.VolumeMount       `json:"volumeMounts,omitempty"`
	RetryStrategy *ContainerSetRetryStrategy `json:"retryStrategy,omitempty"`
}

// ContainerNode is one container of a container set.
type ContainerNode struct {
	corev1.Container `json:",inline"`
	Dependencies     []string `json:"dependencies,omitempty"`
}

// ContainerSetRetryStrategy retries a failed container in place.
type ContainerSetRetryStrategy struct {
	Duration string              `json:"duration,omitempty"`
	Retries  *intstr.IntOrString `json:"retries"`
}

// ScriptTemplate is a container whose source is written to a file and run.
type ScriptTemplate struct {
	corev1.Container `json:",inline"`
	Source           string `json:"source"`
}

// ResourceTemplate creates, applies, patches or deletes one object.
type ResourceTemplate struct {
	Action            string        `json:"action"`
	MergeStrategy     string        `json:"mergeStrategy,omitempty"`
	Manifest          string        `json:"manifest,omitempty"`
	ManifestFrom      *ManifestFrom `json:"manifestFrom,omitempty"`
	SetOwnerReference bool          `json:"setOwnerReference,omitempty"`
	SuccessCondition  string        `json:"successCondition,omitempty"`
	FailureCondition  string        `json:"failureCondition,omitempty"`
	Flags             []string      `json:"flags,omitempty"`
}

// ManifestFrom takes the manifest of a resource template from an input artifact.
type ManifestFrom struct {
	Artifact *Artifact `json:"artifact"`
}

// DAGTemplate is a graph of tasks run as their dependencies allow.
type DAGTemplate struct {
	Target   string    `json:"target,omitempty"`
	Tasks    []DAGTask `json:"tasks"`
	FailFast *bool     `json:"failFast,omitempty"`
}

// DAGTask is one task of a DAG.
type DAGTask struct {
	Name         string         `json:"name"`
	Template     string         `json:"template,omitempty"`
	Inline       *Template      `json:"inline,omitempty"`
	Arguments    Arguments      `json:"arguments,omitempty"`
	TemplateRef  *TemplateRef   `json:"templateRef,omitempty"`
	Dependencies []string       `json:"dependencies,omitempty"`
	WithItems    []Item         `json:"withItems,omitempty"`
	WithParam    string         `json:"withParam,omitempty"`
	WithSequence *Sequence      `json:"withSequence,omitempty"`
	When         string         `json:"when,omitempty"`
	ContinueOn   *ContinueOn    `json:"continueOn,omitempty"`
	OnExit       string         `json:"onExit,omitempty"`
	Depends      string         `json:"depends,omitempty"`
	Hooks        LifecycleHooks `json:"hooks,omitempty"`
}

// SuspendTemplate pauses until resumed, or for a duration.
type SuspendTemplate struct {
	Duration string `json:"duration,omitempty"`
}

// WorkflowRetryStrategy retries a failed node (Argo Workflows' RetryStrategy).
type WorkflowRetryStrategy struct {
	Limit       *intstr.IntOrString `json:"limit,omitempty"`
	RetryPolicy RetryPolicy         `json:"retryPolicy,omitempty"`
	Backoff     *WorkflowBackoff    `json:"backoff,omitempty"`
	Affinity    *RetryAffinity      `json:"affinity,omitempty"`
	Expression  string              `json:"expression,omitempty"`
}

// RetryPolicy says which failures are retried.
type RetryPolicy string

// The retry policies.
const (
	RetryPolicyAlways           RetryPolicy = "Always"
	RetryPolicyOnFailure        RetryPolicy = "OnFailure"
	RetryPolicyOnError          RetryPolicy = "OnError"
	RetryPolicyOnTransientError RetryPolicy = "OnTransientError"
)

// WorkflowBackoff spaces retries: duration, multiplied by factor each time, capped at maxDuration.
type WorkflowBackoff struct {
	Duration    string              `json:"duration,omitempty"`
	Factor      *intstr.IntOrString `json:"factor,omitempty"`
	MaxDuration string              `json:"maxDuration,omitempty"`
	Cap         string              `json:"cap,omitempty"`
}

// RetryAffinity keeps retries off the nodes that failed.
type RetryAffinity struct {
	NodeAntiAffinity *RetryNodeAntiAffinity `json:"nodeAntiAffinity,omitempty"`
}

// RetryNodeAntiAffinity avoids the hosts earlier attempts ran on.
type RetryNodeAntiAffinity struct{}

// Metrics are Prometheus metrics a workflow or template emits.
type Metrics struct {
	Prometheus []*Prometheus `json:"prometheus"`
}

// Prometheus is one custom metric.
type Prometheus struct {
	Name      string         `json:"name"`
	Labels    []*MetricLabel `json:"labels,omitempty"`
	Help      string         `json:"help"`
	When      string         `json:"when,omitempty"`
	Gauge     *Gauge         `json:"gauge,omitempty"`
	Histogram *Histogram     `json:"histogram,omitempty"`
	Counter   *Counter       `json:"counter,omitempty"`
}

// MetricLabel is a label of a custom metric.
type MetricLabel struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Gauge is a metric set to a value.
type Gauge struct {
	Value     string `json:"value"`
	Realtime  *bool  `json:"realtime"`
	Operation string `json:"operation,omitempty"`
}

// Histogram is a metric observed into buckets.
type Histogram struct {
	Value   string   `json:"value"`
	Buckets []Amount `json:"buckets"`
}

// Counter is a metric that adds a value.
type Counter struct {
	Value string `json:"value"`
}

// Memoize caches a template's outputs under a key in a ConfigMap.
type Memoize struct {
	Key    string `json:"key"`
	Cache  *Cache `json:"cache"`
	MaxAge string `json:"maxAge"`
}

// Cache is where memoized outputs are kept.
type Cache struct {
	ConfigMap *corev1.ConfigMapKeySelector `json:"configMap"`
}

// WorkflowStatus is how far a workflow got.
type WorkflowStatus struct {
	Phase      WorkflowPhase `json:"phase,omitempty"`
	StartedAt  metav1.Time   `json:"startedAt,omitempty"`
	FinishedAt metav1.Time   `json:"finishedAt,omitempty"`
	// Progress is "done/total" of the Pod nodes.
	Progress string `json:"progress,omitempty"`
	Message  string `json:"message,omitempty"`
	// Nodes are keyed by node ID.
	Nodes Nodes `json:"nodes,omitempty"`
	// CompressedNodes holds every node instead of Nodes when the workflow
	// would be larger than the agent's maximum size: the gzipped, then
	// base64-encoded JSON of the nodes map (Argo's field). Readers call
	// Workflow.InflateNodes first.
	CompressedNodes        string                       `json:"compressedNodes,omitempty"`
	StoredTemplates        map[string]Template          `json:"storedTemplates,omitempty"`
	PersistentVolumeClaims []corev1.Volume              `json:"persistentVolumeClaims,omitempty"`
	Outputs                *Outputs                     `json:"outputs,omitempty"`
	Conditions             []WorkflowCondition          `json:"conditions,omitempty"`
	StoredWorkflowSpec     *WorkflowSpec                `json:"storedWorkflowTemplateSpec,omitempty"`
	Synchronization        *SynchronizationStatus       `json:"synchronization,omitempty"`
	ArtifactRepositoryRef  *ArtifactRepositoryRefStatus `json:"artifactRepositoryRef,omitempty"`
}

// WorkflowCondition is one of Argo's workflow conditions (PodRunning, Completed, SpecError, ...).
type WorkflowCondition struct {
	Type    string                 `json:"type,omitempty"`
	Status  metav1.ConditionStatus `json:"status,omitempty"`
	Message string                 `json:"message,omitempty"`
}

// WorkflowPhase is the phase of a whole workflow.
type WorkflowPhase string

// The workflow phases.
const (
	WorkflowUnknown   WorkflowPhase = ""
	WorkflowPending   WorkflowPhase = "Pending"
	WorkflowRunning   WorkflowPhase = "Running"
	WorkflowSucceeded WorkflowPhase = "Succeeded"
	WorkflowFailed    WorkflowPhase = "Failed"
	WorkflowError     WorkflowPhase = "Error"
)

// Completed reports whether the phase is final.
func (p WorkflowPhase) Completed() bool {
	return p == WorkflowSucceeded || p == WorkflowFailed || p == WorkflowError
}

// Nodes are a workflow's nodes by ID.
type Nodes map[string]NodeStatus

// NodeStatus is one node of a workflow: a Pod, a steps or DAG group, a retry
// parent, a suspend, or a skipped step.
type NodeStatus struct {
	ID                    string                     `json:"id"`
	Name                  string                     `json:"name"`
	DisplayName           string                     `json:"displayName,omitempty"`
	Type                  NodeType                   `json:"type"`
	TemplateName          string                     `json:"templateName,omitempty"`
	TemplateRef           *TemplateRef               `json:"templateRef,omitempty"`
	TemplateScope         string                     `json:"templateScope,omitempty"`
	Phase                 NodePhase                  `json:"phase,omitempty"`
	BoundaryID            string                     `json:"boundaryID,omitempty"`
	Message               string                     `json:"message,omitempty"`
	StartedAt             metav1.Time                `json:"startedAt,omitempty"`
	FinishedAt            metav1.Time                `json:"finishedAt,omitempty"`
	Progress              string                     `json:"progress,omitempty"`
	PodIP                 string                     `json:"podIP,omitempty"`
	Daemoned              *bool                      `json:"daemoned,omitempty"`
	NodeFlag              *NodeFlag                  `json:"nodeFlag,omitempty"`
	Inputs                *Inputs                    `json:"inputs,omitempty"`
	Outputs               *Outputs                   `json:"outputs,omitempty"`
	Children              []string                   `json:"children,omitempty"`
	OutboundNodes         []string                   `json:"outboundNodes,omitempty"`
	HostNodeName          string                     `json:"hostNodeName,omitempty"`
	MemoizationStatus     *MemoizationStatus         `json:"memoizationStatus,omitempty"`
	SynchronizationStatus *NodeSynchronizationStatus `json:"synchronizationStatus,omitempty"`
}

// NodeFlag marks retry and hook nodes.
type NodeFlag struct {
	Hooked  bool `json:"hooked,omitempty"`
	Retried bool `json:"retried,omitempty"`
}

// NodeType is the kind of a node.
type NodeType string

// The node types.
const (
	NodeTypePod       NodeType = "Pod"
	NodeTypeContainer NodeType = "Container"
	NodeTypeSteps     NodeType = "Steps"
	NodeTypeStepGroup NodeType = "StepGroup"
	NodeTypeDAG       NodeType = "DAG"
	NodeTypeTaskGroup NodeType = "TaskGroup"
	NodeTypeRetry     NodeType = "Retry"
	NodeTypeSkipped   NodeType = "Skipped"
	NodeTypeSuspend   NodeType = "Suspend"
)

// NodePhase is the phase of a node.
type NodePhase string

// The node phases.
const (
	NodePending   NodePhase = "Pending"
	NodeRunning   NodePhase = "Running"
	NodeSucceeded NodePhase = "Succeeded"
	NodeSkipped   NodePhase = "Skipped"
	NodeFailed    NodePhase = "Failed"
	NodeError     NodePhase = "Error"
	NodeOmitted   NodePhase = "Omitted"
)

// Fulfilled reports whether the phase is final.
func (p NodePhase) Fulfilled() bool {
	switch p {
	case NodeSucceeded, NodeFailed, NodeError, NodeSkipped, NodeOmitted:
		return true
	}
	return false
}

// MemoizationStatus says whether a node's outputs came from the cache.
type MemoizationStatus struct {
	Hit       bool   `json:"hit"`
	Key       string `json:"key"`
	CacheName string `json:"cacheName"`
}

// NodeSynchronizationStatus says which lock a node waits for.
type NodeSynchronizationStatus struct {
	Waiting string `json:"waiting,omitempty"`
}

// SynchronizationStatus lists the locks a workflow holds and waits for.
type SynchronizationStatus struct {
	Semaphore *LockStatus `json:"semaphore,omitempty"`
	Mutex     *LockStatus `json:"mutex,omitempty"`
}

// LockStatus lists held and waited-for locks by key.
type LockStatus struct {
	Holding []LockHolding `json:"holding,omitempty"`
	Waiting []LockHolding `json:"waiting,omitempty"`
}

// LockHolding is a lock key and the holders (workflow or node names).
type LockHolding struct {
	Lock    string   `json:"lock,omitempty"`
	Holders []string `json:"holders,omitempty"`
}

// CronWorkflow submits workflows on a schedule.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=cwf;cronwf,categories=argolite
// +kubebuilder:printcolumn:name="Schedule",type=string,JSONPath=`.spec.schedule`
// +kubebuilder:printcolumn:name="Suspended",type=boolean,JSONPath=`.spec.suspend`
// +kubebuilder:printcolumn:name="Last",type=date,JSONPath=`.status.lastScheduledTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type CronWorkflow struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Spec CronWorkflowSpec `json:"spec"`
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Status CronWorkflowStatus `json:"status,omitempty"`
}

// CronWorkflowList is a list of CronWorkflows.
//
// +kubebuilder:object:root=true
type CronWorkflowList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CronWorkflow `json:"items"`
}

// CronWorkflowSpec is the workflow to submit and when.
type CronWorkflowSpec struct {
	WorkflowSpec               WorkflowSpec       `json:"workflowSpec"`
	Schedule                   string             `json:"schedule,omitempty"`
	Schedules                  []string           `json:"schedules,omitempty"`
	ConcurrencyPolicy          ConcurrencyPolicy  `json:"concurrencyPolicy,omitempty"`
	Suspend                    bool               `json:"suspend,omitempty"`
	StartingDeadlineSeconds    *int64             `json:"startingDeadlineSeconds,omitempty"`
	SuccessfulJobsHistoryLimit *int32             `json:"successfulJobsHistoryLimit,omitempty"`
	FailedJobsHistoryLimit     *int32             `json:"failedJobsHistoryLimit,omitempty"`
	Timezone                   string             `json:"timezone,omitempty"`
	WorkflowMetadata           *metav1.ObjectMeta `json:"workflowMetadata,omitempty"`
	StopStrategy               *StopStrategy      `json:"stopStrategy,omitempty"`
	When                       string             `json:"when,omitempty"`
}

// StopStrategy stops scheduling when an expression holds.
type StopStrategy struct {
	Expression string `json:"expression"`
}

// ConcurrencyPolicy is Allow, Forbid or Replace.
type ConcurrencyPolicy string

// The concurrency policies.
const (
	AllowConcurrent   ConcurrencyPolicy = "Allow"
	ForbidConcurrent  ConcurrencyPolicy = "Forbid"
	ReplaceConcurrent ConcurrencyPolicy = "Replace"
)

// CronWorkflowStatus is what the schedule did.
type CronWorkflowStatus struct {
	Active            []corev1.ObjectReference `json:"active,omitempty"`
	LastScheduledTime *metav1.Time             `json:"lastScheduledTime,omitempty"`
	Conditions        []WorkflowCondition      `json:"conditions,omitempty"`
	Succeeded         int64                    `json:"succeeded,omitempty"`
	Failed            int64                    `json:"failed,omitempty"`
	Phase             string                   `json:"phase,omitempty"`
}

// compile-time checks that the kinds are runtime objects.
var (
	_ runtime.Object = &Workflow{}
	_ runtime.Object = &CronWorkflow{}
)
