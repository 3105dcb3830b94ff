package gitops

import (
	"context"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// watcher starts a metadata-only watch for each kind the Applications manage,
// the first time a reconcile meets it. Events on a managed object requeue its
// Application (drift and health are event-driven), and the cached
// resourceVersions let a reconcile skip objects that did not change.
type watcher struct {
	cache cache.Cache
	ctrl  controller.Controller

	mu      sync.Mutex
	watched map[schema.GroupVersionKind]bool
}

func newWatcher(c cache.Cache, ctl controller.Controller) *watcher {
	return &watcher{cache: c, ctrl: ctl, watched: map[schema.GroupVersionKind]bool{}}
}

func metadataOf(gvk schema.GroupVersionKind) *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(gvk)
	return m
}

// ensure starts watching gvk unless it is watched already.
func (w *watcher) ensure(ctx context.Context, gvk schema.GroupVersionKind) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.watched[gvk] {
		return
	}
	src := source.Kind(w.cache, client.Object(metadataOf(gvk)),
		handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			if req, ok := appRequest(o.GetLabels()); ok {
				return []reconcile.Request{req}
			}
			return nil
		}))
	if err := w.ctrl.Watch(src); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "watching managed objects", "kind", gvk.String())
		return
	}
	w.watched[gvk] = true
}

// resourceVersion returns the cached resourceVersion of a managed object,
// and false when the cache cannot say (kind not watched or not synced yet, or
// the object is not labelled as ours yet): the caller then asks the API server.
func (w *watcher) resourceVersion(ctx context.Context, gvk schema.GroupVersionKind, key types.NamespacedName) (string, bool) {
	if w == nil {
		return "", false
	}
	w.mu.Lock()
	watched := w.watched[gvk]
	w.mu.Unlock()
	if !watched {
		return "", false
	}
	inf, err := w.cache.GetInformer(ctx, metadataOf(gvk), cache.BlockUntilSynced(false))
	if err != nil || !inf.HasSynced() {
		return "", false
	}
	m := metadataOf(gvk)
	if err := w.cache.Get(ctx, key, m); err != nil {
		return "", false
	}
	return m.GetResourceVersion(), true
}
