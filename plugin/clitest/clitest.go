// Package clitest holds what the tests of every plugin command share: fake
// cli.Clients (a controller-runtime fake client with the plugin's scheme, a
// REST mapper that knows which kinds are cluster-scoped, a fake clientset),
// a kubeconfig, a fixed clock, running a command as kubectl argo would, and
// checks of its output and error.
package clitest

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apimachineryversion "k8s.io/apimachinery/pkg/version"
	fakediscovery "k8s.io/client-go/discovery/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// Server is the API server address fake clients report.
const Server = "https://fake.test:6443"

// ServerVersion is the Kubernetes version fake discovery reports.
const ServerVersion = "v1.36.3"

// Fake describes fake clients.
type Fake struct {
	// Objects are in the fake cluster from the start.
	Objects []client.Object
	// Funcs see every call first, to inject failures or emulate the API server.
	Funcs interceptor.Funcs
	// StatusSubresource are the kinds whose status is a subresource, as
	// their CRDs make it: a write of the object leaves its status alone and
	// a status write the rest. Other kinds are written whole.
	StatusSubresource []client.Object
}

// Clients builds the fake clients f describes.
func (f Fake) Clients(t testing.TB) *cli.Clients {
	t.Helper()
	scheme, err := cli.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	mapper := restMapper(scheme)
	funcs := f.Funcs
	funcs.List = listEverything(funcs.List)
	c := fake.NewClientBuilder().
		WithScheme(scheme).
		WithRESTMapper(mapper).
		WithObjects(f.Objects...).
		WithStatusSubresource(f.StatusSubresource...).
		WithInterceptorFuncs(funcs).
		Build()
	kube := kubefake.NewClientset()
	kube.Discovery().(*fakediscovery.FakeDiscovery).FakedServerVersion = &apimachineryversion.Info{GitVersion: ServerVersion}
	return &cli.Clients{Client: c, Mapper: mapper, Kube: kube, Server: Server, Context: "test"}
}

// NewClients returns fake clients holding objs.
func NewClients(t testing.TB, objs ...client.Object) *cli.Clients {
	t.Helper()
	return Fake{Objects: objs}.Clients(t)
}

// NewClientsWith returns fake clients holding objs whose calls go through
// funcs first, to inject failures or emulate the API server.
func NewClientsWith(t testing.TB, funcs interceptor.Funcs, objs ...client.Object) *cli.Clients {
	t.Helper()
	return Fake{Objects: objs, Funcs: funcs}.Clients(t)
}

// NotInstalled fails every read and write as the API server does without
// argolite's CRDs; kind is the kind the error names.
func NotInstalled(kind string) interceptor.Funcs {
	noMatch := func() error {
		return &meta.NoKindMatchError{GroupKind: schema.GroupKind{Group: argov1.GroupVersion.Group, Kind: kind},
			SearchedVersions: []string{argov1.GroupVersion.Version}}
	}
	return interceptor.Funcs{
		Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
			return noMatch()
		},
		List: func(context.Context, client.WithWatch, client.ObjectList, ...client.ListOption) error {
			return noMatch()
		},
		Create: func(context.Context, client.WithWatch, client.Object, ...client.CreateOption) error {
			return noMatch()
		},
		Patch: func(context.Context, client.WithWatch, client.Object, client.Patch, ...client.PatchOption) error {
			return noMatch()
		},
		Delete: func(context.Context, client.WithWatch, client.Object, ...client.DeleteOption) error {
			return noMatch()
		},
	}
}

// listEverything drops empty field selectors before a List: kstatus's
// caching reader (the ssa status poller's default) lists with one, which the
// fake client rejects, while the API server reads it as "everything".
func listEverything(next func(context.Context, client.WithWatch, client.ObjectList, ...client.ListOption) error) func(context.Context, client.WithWatch, client.ObjectList, ...client.ListOption) error {
	return func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
		for i, opt := range opts {
			if lo, ok := opt.(*client.ListOptions); ok && lo.FieldSelector != nil && lo.FieldSelector.Empty() {
				copied := *lo
				copied.FieldSelector = nil
				opts[i] = &copied
			}
		}
		if next != nil {
			return next(ctx, c, list, opts...)
		}
		return c.List(ctx, list, opts...)
	}
}

// clusterScoped lists the kinds the plugin touches that have no namespace.
var clusterScoped = map[schema.GroupKind]bool{
	{Kind: "Namespace"}:        true,
	{Kind: "Node"}:             true,
	{Kind: "PersistentVolume"}: true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:                       true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}:                true,
	{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}:               true,
	{Group: "storage.k8s.io", Kind: "StorageClass"}:                                 true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}: true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}:   true,
}

// restMapper maps every kind in scheme to its resource and scope.
func restMapper(scheme *runtime.Scheme) meta.RESTMapper {
	mapper := meta.NewDefaultRESTMapper(scheme.PrioritizedVersionsAllGroups())
	for gvk := range scheme.AllKnownTypes() {
		scope := meta.RESTScopeNamespace
		if clusterScoped[gvk.GroupKind()] {
			scope = meta.RESTScopeRoot
		}
		mapper.Add(gvk, scope)
	}
	return mapper
}
