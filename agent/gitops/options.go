package gitops

import (
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// Hook types (argocd.argoproj.io/hook), as Argo CD spells them.
const (
	hookPreSync  = "PreSync"
	hookSync     = "Sync"
	hookPostSync = "PostSync"
	hookSyncFail = "SyncFail"
	hookSkip     = "Skip"
)

// Hook delete policies (argocd.argoproj.io/hook-delete-policy).
const (
	deleteOnSuccess        = "HookSucceeded"
	deleteOnFailure        = "HookFailed"
	deleteBeforeCreation   = "BeforeHookCreation"
	annotationSyncID       = argov1.Prefix + "sync-id"
	annotationHookOriginal = argov1.Prefix + "hook-name"
)

// deletePolicies lists an object's hook-delete-policy; Argo CD assumes
// BeforeHookCreation when none is given.
func deletePolicies(o *unstructured.Unstructured) []string {
	v, ok := argov1.Annotation(o.GetAnnotations(), argov1.AnnotationHookDeletePolicy)
	if !ok || strings.TrimSpace(v) == "" {
		return []string{deleteBeforeCreation}
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// waveOf returns the object's sync wave (0 when unset or not a number).
func waveOf(o *unstructured.Unstructured) int64 {
	v, ok := argov1.Annotation(o.GetAnnotations(), argov1.AnnotationSyncWave)
	if !ok {
		return 0
	}
	w, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0
	}
	return w
}

// syncOptions is a parsed set of Argo CD Name=value options.
type syncOptions map[string]string

func parseSyncOptions(lists ...[]string) syncOptions {
	out := syncOptions{}
	for _, list := range lists {
		for _, item := range list {
			for _, opt := range strings.Split(item, ",") {
				name, value, _ := strings.Cut(strings.TrimSpace(opt), "=")
				if name != "" {
					out[name] = strings.TrimSpace(value)
				}
			}
		}
	}
	return out
}

func (s syncOptions) on(name string) bool  { return strings.EqualFold(s[name], "true") }
func (s syncOptions) off(name string) bool { return strings.EqualFold(s[name], "false") }

// objectOptions reads an object's own sync-options annotation.
func objectOptions(o *unstructured.Unstructured) syncOptions {
	if o == nil {
		return syncOptions{}
	}
	return liveOptions(o)
}

// liveOptions are the per-object sync options of any object's metadata.
func liveOptions(o metav1.Object) syncOptions {
	v, _ := argov1.Annotation(o.GetAnnotations(), argov1.AnnotationSyncOptions)
	return parseSyncOptions([]string{v})
}

// supportedSyncOptions are the options the agent understands; others are
// rejected so a typo never silently changes nothing.
var supportedSyncOptions = map[string]bool{
	"CreateNamespace": true, "PruneLast": true, "ApplyOutOfSyncOnly": true, "Replace": true,
	"ServerSideApply": true, "RespectIgnoreDifferences": true, "Prune": true, "Validate": true,
	"PrunePropagationPolicy": true,
}
