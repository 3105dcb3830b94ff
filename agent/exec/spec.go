package exec

// This file is the contract between the workflow role, which builds step
// Pods, and the wrapper, which runs in them. The agent writes a Spec as JSON
// into the Pod annotation AnnotationSpec; a downward-API volume shows it to
// every container at SpecFile. The wrapper reports back through the main
// container's termination message: a Result as JSON.

const (
	// AnnotationSpec is the Pod annotation holding the Spec.
	AnnotationSpec = "argolite.dev/exec-spec"
	// Dir is the emptyDir shared by the wrapper in every container: the
	// agent binary, the spec, the script and the done markers.
	Dir = "/var/run/argolite"
	// VolumeName is the name of the emptyDir volume mounted at Dir.
	VolumeName = "argolite-exec"
	// PodInfoDir holds the downward-API files (the spec).
	PodInfoDir = "/var/run/argolite-podinfo"
	// PodInfoVolumeName is the downward-API volume mounted at PodInfoDir.
	PodInfoVolumeName = "argolite-podinfo"
	// SpecFile is where the Spec is readable in every container.
	SpecFile = PodInfoDir + "/spec"
	// Binary is the wrapper binary (the agent binary, copied by the init container).
	Binary = Dir + "/argolite-agent"
	// ScriptFile is where a script template's source is written (0755); its
	// path is appended to the command.
	ScriptFile = Dir + "/script"
	// DoneDir holds one file per finished wrapped container, named after the
	// container and holding its exit code: sidecars stop when DoneDir/main
	// appears, container-set members wait for their dependencies' files.
	DoneDir = Dir + "/done"
	// TerminationLog is where the wrapper writes the Result (the container's
	// terminationMessagePath; terminationMessagePolicy File).
	TerminationLog = "/dev/termination-log"
	// InitContainerName copies the binary into Dir.
	InitContainerName = "argolite-init"
	// MainContainer is the name of the container whose exit decides the step.
	MainContainer = "main"
	// TerminationMessageLimit is what the kubelet keeps of a termination message.
	TerminationMessageLimit = 4096
	// DefaultResultCap is Argo's cap on outputs.result (256 KiB).
	DefaultResultCap = 256 * 1024
)

// Role is what a wrapped container does.
type Role string

const (
	// RoleMain runs the step's command and reports its outputs.
	RoleMain Role = "main"
	// RoleSidecar runs beside main and is stopped when main ends.
	RoleSidecar Role = "sidecar"
	// RoleInit is a user's init container: run as it is.
	RoleInit Role = "init"
	// RoleSet is one container of a container set: it waits for its
	// dependencies and reports its own outcome.
	RoleSet Role = "set"
)

// Spec tells the wrapper what to do around the user's command.
type Spec struct {
	// Script is written to a file whose path is appended to the command.
	Script *Script `json:"script,omitempty"`
	// Inputs are downloaded before the command runs.
	Inputs []InputArtifact `json:"inputs,omitempty"`
	// Outputs are collected after it ends.
	Outputs Outputs `json:"outputs,omitempty"`
	// CaptureResult makes the main container's stdout outputs.result.
	// Script templates always capture it; for other templates the agent sets
	// it when something refers to outputs.result (as Argo does), so that a
	// chatty command does not overflow the termination message for nothing.
	CaptureResult bool `json:"captureResult,omitempty"`
	// ResultCap bounds outputs.result in bytes (DefaultResultCap when 0).
	ResultCap int `json:"resultCap,omitempty"`
	// Dependencies are, for each container of a container set, the
	// containers it waits for.
	Dependencies map[string][]string `json:"dependencies,omitempty"`
	// Resource is the action of a resource template.
	Resource *Resource `json:"resource,omitempty"`
	// Offload is where a Result too large for the termination message is
	// stored; without it such a step fails with a message saying why.
	Offload *Location `json:"offload,omitempty"`
	// Logs, when set, is where the main container's log is archived.
	Logs *Location `json:"logs,omitempty"`
	// MessageLimit is how many bytes of a termination message the kubelet
	// keeps for this Pod: MessageLimitFor(its number of containers).
	// 0 means TerminationMessageLimit.
	MessageLimit int `json:"messageLimit,omitempty"`
}

// podTerminationMessageLimit is what the kubelet keeps of all the
// termination messages of a Pod together; it divides it evenly among the
// containers, init containers included.
const podTerminationMessageLimit = 12 * 1024

// MessageLimitFor is the termination message a container of a Pod with
// this many containers (init containers and sidecars included) can rely
// on: min(4096, 12288/containers).
func MessageLimitFor(containers int) int {
	if containers <= 0 {
		return TerminationMessageLimit
	}
	return min(TerminationMessageLimit, podTerminationMessageLimit/containers)
}

// Script is a script template's source.
type Script struct {
	Source string `json:"source"`
}

// Location is a resolved artifact location: everything the wrapper needs
// without API access. Secrets reach it as environment variables.
type Location struct {
	S3   *S3Location   `json:"s3,omitempty"`
	HTTP *HTTPLocation `json:"http,omitempty"`
	// Raw is inline content.
	Raw *string `json:"raw,omitempty"`
}

// S3Location is an object in an S3-compatible store.
type S3Location struct {
	Endpoint string `json:"endpoint"`
	Bucket   string `json:"bucket"`
	Region   string `json:"region,omitempty"`
	Insecure bool   `json:"insecure,omitempty"`
	Key      string `json:"key"`
	// AccessKeyEnv and SecretKeyEnv name the environment variables holding
	// the credentials (set from the Secrets by the agent).
	AccessKeyEnv string `json:"accessKeyEnv,omitempty"`
	SecretKeyEnv string `json:"secretKeyEnv,omitempty"`
	// CreateBucket creates a missing bucket before an upload.
	CreateBucket bool `json:"createBucket,omitempty"`
}

// HTTPLocation is a file fetched over HTTP(S).
type HTTPLocation struct {
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
}

// InputArtifact is downloaded to Path before the command runs.
type InputArtifact struct {
	Name     string `json:"name"`
	Path     string `json:"path"`
	Mode     *int32 `json:"mode,omitempty"`
	Optional bool   `json:"optional,omitempty"`
	// SubPath selects a file or directory inside the artifact. The wrapper
	// applies it: Location names the whole artifact. It is tried as a key
	// (or URL path) below the artifact's first, then inside the artifact
	// when that is a tar+gzip archive.
	SubPath  string   `json:"subPath,omitempty"`
	Location Location `json:"location"`
}

// Outputs are what the wrapper collects.
type Outputs struct {
	Parameters []OutputParameter `json:"parameters,omitempty"`
	Artifacts  []OutputArtifact  `json:"artifacts,omitempty"`
}

// OutputParameter is read from a file after the command ends.
type OutputParameter struct {
	Name    string  `json:"name"`
	Path    string  `json:"path"`
	Default *string `json:"default,omitempty"`
}

// OutputArtifact is uploaded from Path after the command ends.
type OutputArtifact struct {
	Name     string `json:"name"`
	Path     string `json:"path"`
	Optional bool   `json:"optional,omitempty"`
	// Archive is "tar" (tar+gzip, the default) or "none" (a single file as it is).
	Archive          string   `json:"archive,omitempty"`
	CompressionLevel *int     `json:"compressionLevel,omitempty"`
	Location         Location `json:"location"`
}

// Resource is the action of a resource template, run with the Pod's
// ServiceAccount.
type Resource struct {
	Action        string `json:"action"`
	MergeStrategy string `json:"mergeStrategy,omitempty"`
	Manifest      string `json:"manifest"`
	// ManifestFrom, when set, names an input artifact whose file is the
	// manifest (Argo's manifestFrom.artifact.name); Manifest is then unused.
	ManifestFrom     string   `json:"manifestFrom,omitempty"`
	Flags            []string `json:"flags,omitempty"`
	SuccessCondition string   `json:"successCondition,omitempty"`
	FailureCondition string   `json:"failureCondition,omitempty"`
	// Owner, when set, becomes the object's controller owner reference.
	Owner *Owner `json:"owner,omitempty"`
	// Parameters are read from the object: jsonPath or jqFilter.
	Parameters []ResourceParameter `json:"parameters,omitempty"`
}

// Owner is the Workflow that owns a created object.
type Owner struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	UID        string `json:"uid"`
}

// ResourceParameter is an output parameter of a resource template.
type ResourceParameter struct {
	Name     string  `json:"name"`
	JSONPath string  `json:"jsonPath,omitempty"`
	JQFilter string  `json:"jqFilter,omitempty"`
	Default  *string `json:"default,omitempty"`
}

// Result is what the wrapper reports in the termination message.
type Result struct {
	// ExitCode is the command's exit code (128+N when signal N killed it,
	// 127 when it could not be found, 126 when it could not be executed);
	// absent when the command never ran (an input artifact, the spec or a
	// container-set dependency failed: Message says which).
	ExitCode   *int             `json:"exitCode,omitempty"`
	Result     *string          `json:"result,omitempty"`
	Parameters []ParameterValue `json:"parameters,omitempty"`
	Artifacts  []ArtifactResult `json:"artifacts,omitempty"`
	// Message says why the step failed when the wrapper itself failed it.
	Message string `json:"message,omitempty"`
	// Resource is the object a resource template acted on (absent for delete).
	Resource *ResourceRef `json:"resource,omitempty"`
	// Offloaded, when set, is where the full Result was stored because it
	// did not fit the termination message; the other fields are then empty.
	Offloaded *Location `json:"offloaded,omitempty"`
}

// ResourceRef names the object a resource template created, applied,
// replaced, patched or read.
type ResourceRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

// ParameterValue is a collected output parameter.
type ParameterValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ArtifactResult is an uploaded output artifact; a missing optional one has
// no location.
type ArtifactResult struct {
	Name     string    `json:"name"`
	Location *Location `json:"location,omitempty"`
}
