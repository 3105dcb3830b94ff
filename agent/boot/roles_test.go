package boot

import (
	"testing"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// podScope is the Pod entry of scopes, or false.
func podScope(scopes map[client.Object]cache.ByObject) (cache.ByObject, bool) {
	for obj, s := range scopes {
		if _, ok := obj.(*corev1.Pod); ok {
			return s, true
		}
	}
	return cache.ByObject{}, false
}

func TestCacheScopes(t *testing.T) {
	stepPod := labels.Set{"argolite.dev/workflow": "wf"}
	if s, ok := podScope(cacheScopes([]string{"gitops", "workflow"}, logr.Discard())); !ok || s.Label == nil || !s.Label.Matches(stepPod) || s.Label.Matches(labels.Set{"app": "web"}) {
		t.Errorf("with the workflow role the Pod cache holds step Pods only: %+v, %v", s, ok)
	}
	if _, ok := podScope(cacheScopes([]string{"gitops"}, logr.Discard())); ok {
		t.Error("without the workflow role the Pod cache is still limited to step Pods")
	}

	// A second role that limits Pods its own way: both must see theirs.
	saved := roles
	t.Cleanup(func() { roles = saved })
	roles = append(append([]Role(nil), saved...), Role{Name: "podwatcher", Cache: func() map[client.Object]cache.ByObject {
		return map[client.Object]cache.ByObject{&corev1.Pod{}: {Label: labels.SelectorFromSet(labels.Set{"app": "web"})}}
	}})
	s, ok := podScope(cacheScopes([]string{"workflow", "podwatcher"}, logr.Discard()))
	if !ok || s.Label != nil {
		t.Errorf("two roles limiting Pods: the cache must hold all Pods, got %+v", s)
	}
}
