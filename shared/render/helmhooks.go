package render

import (
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/argolite/argolite/shared/api/v1alpha1"
)

// Helm's hook annotations.
const (
	helmHook             = "helm.sh/hook"
	helmHookWeight       = "helm.sh/hook-weight"
	helmHookDeletePolicy = "helm.sh/hook-delete-policy"
)

// helmHookPhases maps Helm hooks to Argo CD sync phases as Argo CD's
// gitops-engine does (pkg/sync/hook/helm): install and upgrade hooks only.
var helmHookPhases = map[string]string{
	"pre-install":  "PreSync",
	"pre-upgrade":  "PreSync",
	"post-install": "PostSync",
	"post-upgrade": "PostSync",
}

// helmDeletePolicies maps Helm hook delete policies to Argo CD's.
var helmDeletePolicies = map[string]string{
	"before-hook-creation": "BeforeHookCreation",
	"hook-succeeded":       "HookSucceeded",
	"hook-failed":          "HookFailed",
}

// mapHelmHooks translates an object's Helm hook annotations into Argo CD's,
// which the agent acts on, as Argo CD does: helm.sh/hook becomes the hook
// phase unless the object already has an Argo hook, delete policies are
// added to the Argo ones, and helm.sh/hook-weight becomes the sync wave when
// none is set. The Helm annotations stay. It returns false for a Helm hook
// with no Argo phase (test, delete and rollback hooks): Argo CD never runs
// those, so they are dropped. "crd-install" is not a hook, as in Argo CD.
func mapHelmHooks(obj *unstructured.Unstructured) bool {
	a := obj.GetAnnotations()
	if len(a) == 0 {
		return true
	}
	hook, isHelmHook := a[helmHook]
	isHelmHook = isHelmHook && strings.TrimSpace(hook) != "crd-install"
	_, isArgoHook := v1alpha1.Annotation(a, v1alpha1.AnnotationHook)

	if isHelmHook && !isArgoHook {
		phases := mapCSV(hook, helmHookPhases)
		if len(phases) == 0 {
			return false
		}
		a[v1alpha1.ArgoCDPrefix+v1alpha1.AnnotationHook] = strings.Join(phases, ",")
	}
	if isHelmHook || isArgoHook {
		if policies := mapCSV(a[helmHookDeletePolicy], helmDeletePolicies); len(policies) > 0 {
			key := annotationKey(a, v1alpha1.AnnotationHookDeletePolicy)
			a[key] = strings.Join(unionCSV(a[key], policies), ",")
		}
	}
	if w, ok := a[helmHookWeight]; ok {
		w = strings.TrimSpace(w)
		if _, set := v1alpha1.Annotation(a, v1alpha1.AnnotationSyncWave); !set {
			if _, err := strconv.Atoi(w); err == nil {
				a[v1alpha1.ArgoCDPrefix+v1alpha1.AnnotationSyncWave] = w
			}
		}
	}
	obj.SetAnnotations(a)
	return true
}

// annotationKey is the key the agent reads NAME from: argolite.dev/NAME if
// present, else argocd.argoproj.io/NAME (see v1alpha1.Annotation).
func annotationKey(a map[string]string, name string) string {
	if _, ok := a[v1alpha1.Prefix+name]; ok {
		return v1alpha1.Prefix + name
	}
	return v1alpha1.ArgoCDPrefix + name
}

// mapCSV maps the comma-separated values of s through m, in order, dropping
// unknown values and repeats.
func mapCSV(s string, m map[string]string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if mapped, ok := m[strings.TrimSpace(v)]; ok {
			out = unionCSV(strings.Join(out, ","), []string{mapped})
		}
	}
	return out
}

// unionCSV returns the values of the comma-separated s followed by those of
// add it lacks.
func unionCSV(s string, add []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range append(strings.Split(s, ","), add...) {
		v = strings.TrimSpace(v)
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
