package v1alpha1

// Condition types the agent sets on the kinds whose status holds
// metav1.Conditions (Application, and the kinds after it). Ready is the
// summary; Reconciling and Stalled are the pair kstatus reads, so `kubectl
// wait`, Flux's health checks and fluxcd/pkg/ssa judge these objects the way
// they judge Flux's own.
const (
	// ConditionReady is True when the object is as its spec asks.
	ConditionReady = "Ready"
	// ConditionReconciling is True while the agent works on the object or
	// retries a failure.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when the agent cannot go on until the spec is
	// edited.
	ConditionStalled = "Stalled"
	// ConditionConfigError on an Application: argolite-config has a bad
	// health rule; the built-in rules judge health meanwhile.
	ConditionConfigError = "ConfigError"
	// ConditionSyncError on an Application: automated sync refused to run.
	ConditionSyncError = "SyncError"
)

// Reasons of an Application's conditions, as the agent writes them and the
// plugin reads them.
const (
	ReasonReconciled      = "Reconciled"
	ReasonInvalidSpec     = "InvalidSpec"
	ReasonGitFailed       = "GitOperationFailed"
	ReasonAuthFailed      = "AuthenticationFailed"
	ReasonRevisionMissing = "RevisionNotFound"
	ReasonRenderFailed    = "RenderFailed"
	ReasonUnknownKind     = "UnknownKind"
	ReasonCompareFailed   = "ComparisonFailed"
	ReasonSyncFailed      = "SyncFailed"
	// ReasonProgressing is Ready=Unknown and Reconciling=True while a sync runs.
	ReasonProgressing = "Progressing"
	// ReasonProgressingWithRetry is Reconciling=True after a failure the
	// agent retries (Flux's name).
	ReasonProgressingWithRetry = "ProgressingWithRetry"
	// ReasonInvalidHealthRule is ConfigError's reason.
	ReasonInvalidHealthRule = "InvalidHealthRule"
	// ReasonEmptyRender is SyncError's reason when Git renders no objects.
	ReasonEmptyRender = "EmptyRender"
)
