package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func init() { knownTypes = append(knownTypes, &Application{}, &ApplicationList{}) }

// InClusterServer is the only destination server the agent deploys to: each
// cluster runs its own agent, which pulls from Git.
const InClusterServer = "https://kubernetes.default.svc"

// Application is a set of manifests in Git that the agent keeps applied to
// this cluster: Argo CD's Application, pulled and applied by the agent.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=app,categories=argolite
// +kubebuilder:printcolumn:name="Sync",type=string,JSONPath=`.status.sync.status`
// +kubebuilder:printcolumn:name="Health",type=string,JSONPath=`.status.health.status`
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.sync.revision`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Application struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ApplicationSpec `json:"spec"`
	// Operation asks the agent for a sync (or a rollback); the agent clears it
	// when it starts and records it in status.operationState.operation.
	// +optional
	Operation *Operation `json:"operation,omitempty"`
	// +optional
	Status ApplicationStatus `json:"status,omitempty"`
}

// ApplicationList is a list of Applications.
//
// +kubebuilder:object:root=true
type ApplicationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Application `json:"items"`
}

// ApplicationSpec says where the manifests live, where they go and how they are kept in sync.
type ApplicationSpec struct {
	// Source is the Git location of the manifests. Exactly one of source and sources is set.
	// +optional
	Source *ApplicationSource `json:"source,omitempty"`
	// Sources are several Git locations rendered together; a source with ref only supplies
	// Helm value files to the others.
	// +optional
	Sources []ApplicationSource `json:"sources,omitempty"`
	// Destination is where in this cluster the manifests are applied.
	Destination ApplicationDestination `json:"destination"`
	// Project is the AppProject the application belongs to.
	// +kubebuilder:default=default
	// +optional
	Project string `json:"project,omitempty"`
	// SyncPolicy says when and how the agent syncs.
	// +optional
	SyncPolicy *SyncPolicy `json:"syncPolicy,omitempty"`
	// IgnoreDifferences lists fields that do not count as drift.
	// +optional
	IgnoreDifferences []ResourceIgnoreDifferences `json:"ignoreDifferences,omitempty"`
	// RevisionHistoryLimit is how many entries status.history keeps.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=10
	// +optional
	RevisionHistoryLimit *int64 `json:"revisionHistoryLimit,omitempty"`
}

// ApplicationSource is one Git location and how to render it.
type ApplicationSource struct {
	// RepoURL is the Git repository (HTTPS or SSH).
	// +kubebuilder:validation:MinLength=1
	RepoURL string `json:"repoURL"`
	// TargetRevision is a branch, tag or commit; empty means the remote HEAD.
	// +optional
	TargetRevision string `json:"targetRevision,omitempty"`
	// Path is the directory in the repository, relative to its root.
	// +optional
	Path string `json:"path,omitempty"`
	// Ref names this source so others can read Helm value files from it as $ref/path.
	// +optional
	Ref string `json:"ref,omitempty"`
	// SecretRef names a Secret in the Application's namespace holding the
	// repository's credentials (keys as in Argo CD's repository Secrets). An
	// argolite extension: without it the agent finds credentials by URL in
	// Secrets labelled argocd.argoproj.io/secret-type=repository.
	// +optional
	SecretRef *LocalSecretReference `json:"secretRef,omitempty"`
	// +optional
	Directory *ApplicationSourceDirectory `json:"directory,omitempty"`
	// +optional
	Kustomize *ApplicationSourceKustomize `json:"kustomize,omitempty"`
	// +optional
	Helm *ApplicationSourceHelm `json:"helm,omitempty"`
}

// LocalSecretReference names a Secret in the same namespace.
type LocalSecretReference struct {
	Name string `json:"name"`
}

// ApplicationSourceDirectory renders a directory of plain YAML and JSON manifests.
type ApplicationSourceDirectory struct {
	// +optional
	Recurse bool `json:"recurse,omitempty"`
	// Include is a glob (or {a,b} list of globs) of files to read.
	// +optional
	Include string `json:"include,omitempty"`
	// Exclude is a glob (or {a,b} list of globs) of files to skip.
	// +optional
	Exclude string `json:"exclude,omitempty"`
}

// ApplicationSourceKustomize renders a Kustomize overlay with Argo CD's overrides.
type ApplicationSourceKustomize struct {
	// +optional
	NamePrefix string `json:"namePrefix,omitempty"`
	// +optional
	NameSuffix string `json:"nameSuffix,omitempty"`
	// Images overrides images as Kustomize's `edit set image` arguments (name=newName:tag).
	// +optional
	Images []string `json:"images,omitempty"`
	// +optional
	CommonLabels map[string]string `json:"commonLabels,omitempty"`
	// +optional
	CommonAnnotations map[string]string `json:"commonAnnotations,omitempty"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// +optional
	Patches []KustomizePatch `json:"patches,omitempty"`
}

// KustomizePatch is a strategic-merge or JSON6902 patch with an optional target.
type KustomizePatch struct {
	// +optional
	Path string `json:"path,omitempty"`
	// +optional
	Patch string `json:"patch,omitempty"`
	// +optional
	Target *KustomizeSelector `json:"target,omitempty"`
}

// KustomizeSelector selects the objects a patch applies to.
type KustomizeSelector struct {
	// +optional
	Group string `json:"group,omitempty"`
	// +optional
	Version string `json:"version,omitempty"`
	// +optional
	Kind string `json:"kind,omitempty"`
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// +optional
	LabelSelector string `json:"labelSelector,omitempty"`
	// +optional
	AnnotationSelector string `json:"annotationSelector,omitempty"`
}

// ApplicationSourceHelm renders a Helm chart from the repository.
type ApplicationSourceHelm struct {
	// ValueFiles are value files relative to the chart, or $ref/path from another source.
	// +optional
	ValueFiles []string `json:"valueFiles,omitempty"`
	// Values is a YAML document of values.
	// +optional
	Values string `json:"values,omitempty"`
	// ValuesObject is values as an object; it wins over Values.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	ValuesObject *runtime.RawExtension `json:"valuesObject,omitempty"`
	// +optional
	Parameters []HelmParameter `json:"parameters,omitempty"`
	// +optional
	ReleaseName string `json:"releaseName,omitempty"`
	// +optional
	SkipCrds bool `json:"skipCrds,omitempty"`
}

// HelmParameter is one --set (or --set-string when forceString is true).
type HelmParameter struct {
	Name string `json:"name"`
	// +optional
	Value string `json:"value,omitempty"`
	// +optional
	ForceString bool `json:"forceString,omitempty"`
}

// ApplicationDestination is the namespace in this cluster the manifests go to.
type ApplicationDestination struct {
	// Server must be empty or the in-cluster address: every cluster runs its own agent.
	// +optional
	Server string `json:"server,omitempty"`
	// Name must be empty or "in-cluster".
	// +optional
	Name string `json:"name,omitempty"`
	// Namespace is the default namespace of namespaced objects without one.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// SyncPolicy says when and how the agent syncs.
type SyncPolicy struct {
	// Automated syncs whenever Git or the live state changes; nil means manual sync only.
	// +optional
	Automated *SyncPolicyAutomated `json:"automated,omitempty"`
	// SyncOptions are Argo CD's Name=value options, such as CreateNamespace=true.
	// +optional
	SyncOptions []string `json:"syncOptions,omitempty"`
	// +optional
	Retry *RetryStrategy `json:"retry,omitempty"`
}

// SyncPolicyAutomated tunes automated sync.
type SyncPolicyAutomated struct {
	// Prune deletes objects that left Git.
	// +optional
	Prune bool `json:"prune,omitempty"`
	// SelfHeal re-applies when the live state drifts from Git.
	// +optional
	SelfHeal bool `json:"selfHeal,omitempty"`
	// AllowEmpty lets a sync prune everything when Git renders no objects.
	// +optional
	AllowEmpty bool `json:"allowEmpty,omitempty"`
}

// RetryStrategy retries failed syncs with backoff.
type RetryStrategy struct {
	// Limit is the number of retries; negative means forever.
	// +optional
	Limit int64 `json:"limit,omitempty"`
	// +optional
	Backoff *Backoff `json:"backoff,omitempty"`
}

// Backoff is an exponential backoff: duration * factor^n, at most maxDuration.
type Backoff struct {
	// Duration is a Go duration or a number of seconds, such as "5s".
	// +optional
	Duration string `json:"duration,omitempty"`
	// +optional
	Factor *int64 `json:"factor,omitempty"`
	// +optional
	MaxDuration string `json:"maxDuration,omitempty"`
}

// ResourceIgnoreDifferences lists fields of matching objects that do not count as drift.
type ResourceIgnoreDifferences struct {
	// +optional
	Group string `json:"group,omitempty"`
	Kind  string `json:"kind"`
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// +optional
	JSONPointers []string `json:"jsonPointers,omitempty"`
	// +optional
	JQPathExpressions []string `json:"jqPathExpressions,omitempty"`
	// +optional
	ManagedFieldsManagers []string `json:"managedFieldsManagers,omitempty"`
}

// SyncStatusCode says whether the live state matches Git.
// +kubebuilder:validation:Enum=Synced;OutOfSync;Unknown
type SyncStatusCode string

// Sync status codes, as Argo CD spells them.
const (
	SyncStatusSynced    SyncStatusCode = "Synced"
	SyncStatusOutOfSync SyncStatusCode = "OutOfSync"
	SyncStatusUnknown   SyncStatusCode = "Unknown"
)

// HealthStatusCode summarises an object's or an application's health.
// +kubebuilder:validation:Enum=Healthy;Progressing;Degraded;Suspended;Missing;Unknown
type HealthStatusCode string

// Health status codes, as Argo CD spells them.
const (
	HealthHealthy     HealthStatusCode = "Healthy"
	HealthProgressing HealthStatusCode = "Progressing"
	HealthDegraded    HealthStatusCode = "Degraded"
	HealthSuspended   HealthStatusCode = "Suspended"
	HealthMissing     HealthStatusCode = "Missing"
	HealthUnknown     HealthStatusCode = "Unknown"
)

// Operation is a requested sync, as Argo CD's Application.operation.
type Operation struct {
	// +optional
	Sync *SyncOperation `json:"sync,omitempty"`
	// +optional
	InitiatedBy OperationInitiator `json:"initiatedBy,omitempty"`
	// Retry overrides spec.syncPolicy.retry for this operation.
	// +optional
	Retry *RetryStrategy `json:"retry,omitempty"`
}

// OperationInitiator says who asked for an operation.
type OperationInitiator struct {
	// +optional
	Username string `json:"username,omitempty"`
	// Automated is true for syncs the agent started itself.
	// +optional
	Automated bool `json:"automated,omitempty"`
}

// SyncOperation is a manual sync's parameters.
type SyncOperation struct {
	// Revision overrides the source's targetRevision for this sync.
	// +optional
	Revision string `json:"revision,omitempty"`
	// Prune deletes objects that left Git in this sync even when automated prune is off.
	// +optional
	Prune bool `json:"prune,omitempty"`
	// DryRun runs the sync with server-side dry-run: nothing changes.
	// +optional
	DryRun bool `json:"dryRun,omitempty"`
	// Resources limits the sync to these objects; empty means all.
	// +optional
	Resources []SyncOperationResource `json:"resources,omitempty"`
	// SyncOptions add to spec.syncPolicy.syncOptions for this sync.
	// +optional
	SyncOptions []string `json:"syncOptions,omitempty"`
	// Source replaces spec.source for this sync; rollback sets it from history.
	// +optional
	Source *ApplicationSource `json:"source,omitempty"`
}

// SyncOperationResource selects one object for a partial sync.
type SyncOperationResource struct {
	// +optional
	Group string `json:"group,omitempty"`
	Kind  string `json:"kind"`
	Name  string `json:"name"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// ApplicationStatus is what the agent observed and did.
type ApplicationStatus struct {
	// ObservedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +optional
	Sync SyncStatus `json:"sync,omitempty"`
	// +optional
	Health HealthStatus `json:"health,omitempty"`
	// Resources are the objects the application manages, with their sync and health.
	// +optional
	Resources []ResourceStatus `json:"resources,omitempty"`
	// History lists successful syncs, newest last, at most revisionHistoryLimit long.
	// +optional
	History []RevisionHistory `json:"history,omitempty"`
	// +optional
	OperationState *OperationState `json:"operationState,omitempty"`
	// Inventory lists every object the agent applied for this application,
	// as Flux's inventory does: what prune compares Git against.
	// +optional
	Inventory *ResourceInventory `json:"inventory,omitempty"`
	// ReconciledAt is when the agent last compared Git with the cluster.
	// +optional
	ReconciledAt *metav1.Time `json:"reconciledAt,omitempty"`
	// Conditions hold Ready and the reasons it is not.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// SyncStatus compares the live state with a Git revision.
type SyncStatus struct {
	// +optional
	Status SyncStatusCode `json:"status,omitempty"`
	// Revision is the commit the comparison used.
	// +optional
	Revision string `json:"revision,omitempty"`
}

// HealthStatus is a health code with the reason for it.
type HealthStatus struct {
	// +optional
	Status HealthStatusCode `json:"status,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
}

// ResourceStatus is one managed object.
type ResourceStatus struct {
	// +optional
	Group   string `json:"group,omitempty"`
	Version string `json:"version"`
	Kind    string `json:"kind"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// +optional
	Status SyncStatusCode `json:"status,omitempty"`
	// +optional
	Health *HealthStatus `json:"health,omitempty"`
	// RequiresPruning is true for an object that left Git while prune is off.
	// +optional
	RequiresPruning bool `json:"requiresPruning,omitempty"`
}

// RevisionHistory is one successful sync.
type RevisionHistory struct {
	ID         int64       `json:"id"`
	Revision   string      `json:"revision"`
	DeployedAt metav1.Time `json:"deployedAt"`
	// +optional
	Source *ApplicationSource `json:"source,omitempty"`
}

// OperationPhase is where a sync operation is.
// +kubebuilder:validation:Enum=Running;Terminating;Failed;Error;Succeeded
type OperationPhase string

// Operation phases, as Argo CD spells them.
const (
	OperationRunning     OperationPhase = "Running"
	OperationTerminating OperationPhase = "Terminating"
	OperationFailed      OperationPhase = "Failed"
	OperationError       OperationPhase = "Error"
	OperationSucceeded   OperationPhase = "Succeeded"
)

// ResourceInventory is the set of objects applied for an application.
type ResourceInventory struct {
	// +optional
	Entries []InventoryEntry `json:"entries,omitempty"`
}

// InventoryEntry is one applied object, in Flux's inventory format.
type InventoryEntry struct {
	// ID is namespace_name_group_kind.
	ID string `json:"id"`
	// Version is the object's API version.
	Version string `json:"v"`
}

// OperationState is the last (or running) sync operation.
type OperationState struct {
	// Operation is the operation this state is about.
	// +optional
	Operation Operation      `json:"operation,omitempty"`
	Phase     OperationPhase `json:"phase"`
	// +optional
	Message   string      `json:"message,omitempty"`
	StartedAt metav1.Time `json:"startedAt"`
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// +optional
	SyncResult *SyncOperationResult `json:"syncResult,omitempty"`
	// CompletedSteps counts the sync's (phase, wave) steps that finished; an
	// agent restarted mid-sync resumes after them (an argolite addition).
	// +optional
	CompletedSteps int64 `json:"completedSteps,omitempty"`
	// RetryCount is how many times the operation was retried.
	// +optional
	RetryCount int64 `json:"retryCount,omitempty"`
}

// SyncOperationResult is what a sync applied.
type SyncOperationResult struct {
	Revision string `json:"revision"`
	// +optional
	Source *ApplicationSource `json:"source,omitempty"`
	// +optional
	Resources []ResourceResult `json:"resources,omitempty"`
}

// ResourceResult is what a sync did to one object.
type ResourceResult struct {
	// +optional
	Group   string `json:"group,omitempty"`
	Version string `json:"version"`
	Kind    string `json:"kind"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Status is Synced, SyncFailed, Pruned or PruneSkipped.
	// +optional
	Status string `json:"status,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
	// HookPhase is the phase of a hook object.
	// +optional
	HookPhase string `json:"hookPhase,omitempty"`
	// SyncPhase is PreSync, Sync, PostSync or SyncFail.
	// +optional
	SyncPhase string `json:"syncPhase,omitempty"`
	// +optional
	SyncWave int64 `json:"syncWave,omitempty"`
}
