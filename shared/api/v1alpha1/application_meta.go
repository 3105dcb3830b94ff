package v1alpha1

// Annotations, labels and finalizers the agent reads and writes on
// Applications and on the objects it applies. Argo CD's own annotation names
// are honoured next to ours so that repositories written for Argo CD work
// unchanged.
const (
	// ArgoCDPrefix is Argo CD's annotation prefix.
	ArgoCDPrefix = "argocd.argoproj.io/"
	// Prefix is argolite's annotation and label prefix.
	Prefix = "argolite.dev/"

	// AnnotationSyncWave orders objects: lower waves apply (and turn healthy) first.
	AnnotationSyncWave = "sync-wave"
	// AnnotationHook marks an object as a hook: PreSync, Sync, PostSync, SyncFail or Skip.
	AnnotationHook = "hook"
	// AnnotationHookDeletePolicy is HookSucceeded, HookFailed or BeforeHookCreation (comma separated).
	AnnotationHookDeletePolicy = "hook-delete-policy"
	// AnnotationSyncOptions holds per-object options such as Prune=false or Replace=true.
	AnnotationSyncOptions = "sync-options"
	// AnnotationCompareOptions holds per-object options such as IgnoreExtraneous.
	AnnotationCompareOptions = "compare-options"
	// AnnotationRefresh on an Application asks for a refresh: "normal" re-checks Git
	// and the cluster, "hard" also drops the render cache. The agent removes it.
	AnnotationRefresh = "refresh"

	// AnnotationCascade set to "false" on an Application keeps its objects when
	// the Application is deleted.
	AnnotationCascade = Prefix + "cascade"

	// LabelAppName and LabelAppNamespace are set on every object an
	// Application applies, naming the Application that owns it.
	LabelAppName      = Prefix + "app-name"
	LabelAppNamespace = Prefix + "app-namespace"

	// ResourcesFinalizer makes deleting an Application delete its objects first.
	ResourcesFinalizer = Prefix + "resources-finalizer"
	// ArgoCDResourcesFinalizer is Argo CD's name for the same finalizer; the
	// plugin maps it to ResourcesFinalizer.
	ArgoCDResourcesFinalizer = "resources-finalizer.argocd.argoproj.io"
)

// Annotation returns the value of an Argo-compatible annotation, preferring
// argolite.dev/NAME over argocd.argoproj.io/NAME, and whether either is set.
func Annotation(annotations map[string]string, name string) (string, bool) {
	if v, ok := annotations[Prefix+name]; ok {
		return v, true
	}
	v, ok := annotations[ArgoCDPrefix+name]
	return v, ok
}
