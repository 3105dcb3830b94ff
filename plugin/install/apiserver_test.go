package install

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/plugin/clitest"
	"github.com/argolite/argolite/shared/agentmeta"
)

// fakeAPIServer returns fake clients that answer server-side apply the way
// the API server and its controllers would, for what install relies on:
//   - a dry run returns the object as it would be stored, with the live
//     resourceVersion, and fails in a namespace that does not exist (the
//     fake client ignores dry runs);
//   - an applied CRD becomes established (no apiextensions controller);
//   - with rollout, an applied agent Deployment is rolled out at once (no
//     Deployment controller).
func fakeAPIServer(t *testing.T, rollout bool, objs ...client.Object) *cli.Clients {
	t.Helper()
	scheme, err := cli.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	return clitest.NewClientsWith(t, interceptor.Funcs{
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			u, ok := obj.(*unstructured.Unstructured)
			if !ok || patch.Type() != types.ApplyPatchType {
				return c.Patch(ctx, obj, patch, opts...)
			}
			po := &client.PatchOptions{}
			po.ApplyOptions(opts)
			if len(po.DryRun) > 0 {
				return dryRunApply(ctx, c, scheme, u)
			}
			if err := c.Patch(ctx, obj, patch, opts...); err != nil {
				return err
			}
			return settle(ctx, c, u, rollout)
		},
	}, objs...)
}

func dryRunApply(ctx context.Context, c client.Client, scheme *runtime.Scheme, u *unstructured.Unstructured) error {
	if ns := u.GetNamespace(); ns != "" {
		if err := c.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{}); err != nil {
			return err
		}
	}
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(u.GroupVersionKind())
	if err := c.Get(ctx, client.ObjectKeyFromObject(u), live); apierrors.IsNotFound(err) {
		return nil // would be created: no resourceVersion
	} else if err != nil {
		return err
	}
	// Stored objects carry their type's zero values: pass through the type.
	typed, err := scheme.New(u.GroupVersionKind())
	if err != nil {
		return err
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, typed); err != nil {
		return err
	}
	data, err := json.Marshal(typed)
	if err != nil {
		return err
	}
	if err := u.UnmarshalJSON(data); err != nil {
		return err
	}
	u.SetResourceVersion(live.GetResourceVersion())
	return nil
}

func settle(ctx context.Context, c client.Client, u *unstructured.Unstructured, rollout bool) error {
	switch {
	case u.GetKind() == "CustomResourceDefinition":
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(u), crd); err != nil {
			return err
		}
		crd.Status.Conditions = []apiextensionsv1.CustomResourceDefinitionCondition{
			{Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionTrue}}
		return c.Status().Update(ctx, crd)
	case rollout && u.GetKind() == "Deployment" && u.GetName() == agentmeta.Name:
		d := &appsv1.Deployment{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(u), d); err != nil {
			return err
		}
		n := *d.Spec.Replicas
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n}
		if err := c.Status().Update(ctx, d); err != nil {
			return err
		}
		// A replica takes the lead, as the agent does once it starts.
		lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: agentmeta.Namespace, Name: agentmeta.LeaderElectionID},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(agentmeta.Name + "-0_1"), LeaseDurationSeconds: ptr.To[int32](60),
				RenewTime: &metav1.MicroTime{Time: time.Now()}}}
		if err := c.Create(ctx, lease); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		return nil
	}
	return nil
}
