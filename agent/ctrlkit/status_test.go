package ctrlkit

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

// newClient is a fake API server with one Pod (a kind with a status
// subresource) that counts status writes.
func newClient(t *testing.T, writes *int, fail error) (client.Client, *corev1.Pod) {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(pod).WithStatusSubresource(pod).
		WithInterceptorFuncs(interceptor.Funcs{
			SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
				*writes++
				if fail != nil {
					return fail
				}
				return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
			},
		}).Build()
	read := &corev1.Pod{}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(pod), read); err != nil {
		t.Fatal(err)
	}
	return c, read
}

func TestPatchWritesOnlyAChange(t *testing.T) {
	ctx := context.Background()
	writes := 0
	c, base := newClient(t, &writes, nil)
	w := NewStatusWriter(c)

	same := base.DeepCopy()
	same.Labels = map[string]string{"not": "status"}
	if res, err := w.Patch(ctx, base, same); err != nil || !res.IsZero() || writes != 0 {
		t.Fatalf("unchanged status: result %v, error %v, %d writes; want none", res, err, writes)
	}

	changed := base.DeepCopy()
	changed.Status.Message = "running"
	if res, err := w.Patch(ctx, base, changed); err != nil || !res.IsZero() || writes != 1 {
		t.Fatalf("changed status: result %v, error %v, %d writes; want one", res, err, writes)
	}
	if changed.ResourceVersion != base.ResourceVersion {
		t.Error("Patch changed the caller's object")
	}
	live := &corev1.Pod{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(base), live); err != nil {
		t.Fatal(err)
	}
	if live.Status.Message != "running" {
		t.Errorf("the server has status message %q, want running", live.Status.Message)
	}
	// The copy read before the write is stale now; the server's is not.
	if !w.Stale(base) {
		t.Error("a copy older than the last write is not stale")
	}
	if w.Stale(live) {
		t.Error("the copy the write made is stale")
	}
	w.Forget(client.ObjectKeyFromObject(base))
	if w.Stale(base) {
		t.Error("a forgotten object is still stale")
	}
}

func TestPatchOptimisticLock(t *testing.T) {
	ctx := context.Background()
	writes := 0
	c, base := newClient(t, &writes, nil)
	w := NewStatusWriter(c)
	// Someone else writes after our read.
	other := base.DeepCopy()
	other.Status.Message = "theirs"
	if err := c.Status().Update(ctx, other); err != nil {
		t.Fatal(err)
	}
	mine := base.DeepCopy()
	mine.Status.Message = "mine"
	res, err := w.Patch(ctx, base, mine)
	if err != nil || res.RequeueAfter != Requeue {
		t.Fatalf("conflicting write: result %v, error %v; want a requeue after %s", res, err, Requeue)
	}
	live := &corev1.Pod{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(base), live); err != nil {
		t.Fatal(err)
	}
	if live.Status.Message != "theirs" {
		t.Errorf("a write from a stale copy won: message %q", live.Status.Message)
	}
}

func TestPatchErrors(t *testing.T) {
	gr := schema.GroupResource{Resource: "pods"}
	for name, tc := range map[string]struct {
		fail    error
		wantErr bool
	}{
		"deleted meanwhile": {fail: apierrors.NewNotFound(gr, "p")},
		"server error":      {fail: apierrors.NewInternalError(errors.New("etcd is down")), wantErr: true},
	} {
		t.Run(name, func(t *testing.T) {
			writes := 0
			c, base := newClient(t, &writes, tc.fail)
			obj := base.DeepCopy()
			obj.Status.Message = "x"
			res, err := NewStatusWriter(c).Patch(context.Background(), base, obj)
			if (err != nil) != tc.wantErr || !res.IsZero() {
				t.Fatalf("result %v, error %v; want error %v", res, err, tc.wantErr)
			}
			if err != nil && !apierrors.IsInternalError(err) {
				t.Errorf("error %v does not wrap the server's", err)
			}
			if err != nil && !strings.Contains(err.Error(), "Pod ns/p") {
				t.Errorf("error %q does not name the object", err)
			}
		})
	}
}
