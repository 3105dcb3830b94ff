package ctrlkit

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// StoredSpec reads one of argolite's objects as stored, through reader
// (the API server, not the typed cache), as JSON without its status: what
// the strict field check looks at, since the CRDs keep fields the Go types
// do not know.
func StoredSpec(ctx context.Context, reader client.Reader, obj client.Object, kind string) (map[string]any, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(argov1.GroupVersion.WithKind(kind))
	if err := reader.Get(ctx, client.ObjectKeyFromObject(obj), u); err != nil {
		return nil, fmt.Errorf("reading %s %s/%s: %w", kind, obj.GetNamespace(), obj.GetName(), err)
	}
	delete(u.Object, "status")
	return u.Object, nil
}
