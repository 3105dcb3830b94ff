package ctrlkit

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Requeue is how soon a reconcile looks again after a write conflict or on
// a cached copy older than its last write: the watch event that brings the
// newer copy usually arrives within milliseconds.
const Requeue = 100 * time.Millisecond

// StatusWriter writes the status of one kind's objects for one reconciler.
// It remembers the resourceVersion of each write, so a reconcile started
// from a cache that has not seen that write yet can step aside.
type StatusWriter struct {
	client client.Client
	// written maps an object's key to the resourceVersion of our last write.
	written sync.Map
}

// NewStatusWriter writes through c's status subresource.
func NewStatusWriter(c client.Client) *StatusWriter { return &StatusWriter{client: c} }

// Stale reports whether obj, as read from the cache, is older than the last
// status this writer wrote for it. The caller returns StaleResult: acting
// on the old copy would redo (or undo) what that write recorded.
func (w *StatusWriter) Stale(obj client.Object) bool {
	last, ok := w.written.Load(client.ObjectKeyFromObject(obj))
	if !ok {
		return false
	}
	got, err1 := strconv.ParseUint(obj.GetResourceVersion(), 10, 64)
	want, err2 := strconv.ParseUint(last.(string), 10, 64)
	return err1 == nil && err2 == nil && got < want
}

// StaleResult is what a reconcile returns when Stale says so.
func StaleResult() ctrl.Result { return ctrl.Result{RequeueAfter: Requeue} }

// Forget drops what the writer remembers of a deleted object.
func (w *StatusWriter) Forget(key types.NamespacedName) { w.written.Delete(key) }

// Patch writes obj's status, changed from base (the object as the reconcile
// read it), as a merge patch with base's resourceVersion. It sends nothing
// when the status did not change. A conflict (someone wrote since the read)
// asks for another look with a short requeue; an object deleted meanwhile
// is no error. obj itself is left as it is.
func (w *StatusWriter) Patch(ctx context.Context, base, obj client.Object) (ctrl.Result, error) {
	data, err := client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}).Data(obj)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("computing the status patch of %s: %w", identity(obj), err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return ctrl.Result{}, fmt.Errorf("reading the status patch of %s: %w", identity(obj), err)
	}
	if _, changed := fields["status"]; !changed {
		return ctrl.Result{}, nil
	}
	// The response is read into the object patched: a copy keeps obj as
	// the caller built it (a workflow keeps its nodes inflated).
	written := obj.DeepCopyObject().(client.Object)
	err = w.client.Status().Patch(ctx, written, client.RawPatch(types.MergePatchType, data))
	switch {
	case apierrors.IsConflict(err):
		return ctrl.Result{RequeueAfter: Requeue}, nil
	case apierrors.IsNotFound(err):
		w.Forget(client.ObjectKeyFromObject(obj))
		return ctrl.Result{}, nil
	case err != nil:
		return ctrl.Result{}, fmt.Errorf("writing the status of %s: %w", identity(obj), err)
	}
	w.written.Store(client.ObjectKeyFromObject(obj), written.GetResourceVersion())
	return ctrl.Result{}, nil
}

// identity names an object in messages: Kind namespace/name.
func identity(obj client.Object) string {
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	if kind == "" {
		kind = reflect.TypeOf(obj).Elem().Name()
	}
	return kind + " " + client.ObjectKeyFromObject(obj).String()
}
