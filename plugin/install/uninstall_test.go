package install

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/spf13/cobra"

	"github.com/argolite/argolite/manifests"
	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/plugin/clitest"
	"github.com/argolite/argolite/shared/agentmeta"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// installed returns the install objects, optionally without the agent or
// without the CRDs, with mutate applied to each.
func installed(t *testing.T, agent, crds bool, mutate func(client.Object)) []client.Object {
	t.Helper()
	objs, err := manifests.Objects(manifests.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out []client.Object
	for _, o := range objs {
		isCRD := o.GetKind() == "CustomResourceDefinition"
		if isCRD && crds || !isCRD && agent {
			if mutate != nil {
				mutate(o)
			}
			out = append(out, o)
		}
	}
	return out
}

// runUninstall runs `uninstall args...` against clients and returns its stdout.
func runUninstall(t *testing.T, clients *cli.Clients, args ...string) (string, error) {
	t.Helper()
	r := clitest.Run(t, func(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
		o := NewUninstallOptions(flags, streams)
		o.Clients, o.interval = clients, 10*time.Millisecond
		return newUninstallCmd(o)
	}, args...)
	return r.Out, r.Err
}

func exists(t *testing.T, c client.Client, obj client.Object, key client.ObjectKey) bool {
	t.Helper()
	err := c.Get(context.Background(), key, obj)
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

func TestUninstallKeepsCRDs(t *testing.T) {
	clients := clitest.NewClients(t, installed(t, true, true, nil)...)
	out, err := runUninstall(t, clients)
	if err != nil {
		t.Fatalf("uninstall: %v\n%s", err, out)
	}
	// Dependents first: the reverse of apply order, without the CRDs.
	var want []string
	for _, s := range slices.Backward(agentSubjects) {
		want = append(want, s+" deleted")
	}
	if !strings.HasPrefix(out, strings.Join(want, "\n")+"\n") {
		t.Errorf("output:\n%s\nwant it to start with:\n%s", out, strings.Join(want, "\n"))
	}
	crds := crdNames(t)
	kept := "Kept the CRDs (" + strings.Join(crds, ", ") + ") and every argolite object in the cluster."
	for _, s := range []string{"Uninstalled the argolite agent.", kept, "kubectl argo uninstall --crds"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, "CustomResourceDefinition/") {
		t.Errorf("output names a CRD as deleted:\n%s", out)
	}
	if exists(t, clients.Client, &appsv1.Deployment{}, client.ObjectKey{Namespace: agentmeta.Namespace, Name: agentmeta.Name}) {
		t.Error("the agent Deployment is still there")
	}
	if exists(t, clients.Client, &corev1.Namespace{}, client.ObjectKey{Name: agentmeta.Namespace}) {
		t.Error("the argolite-system Namespace is still there")
	}
	for _, name := range crds {
		if !exists(t, clients.Client, &apiextensionsv1.CustomResourceDefinition{}, client.ObjectKey{Name: name}) {
			t.Errorf("uninstall without --crds deleted the CRD %s", name)
		}
	}
}

func TestUninstallCRDs(t *testing.T) {
	app := &argov1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "guestbook", Finalizers: []string{"argolite.dev/finalizer"}}}
	clients := clitest.NewClients(t, append(installed(t, true, true, nil), app)...)
	out, err := runUninstall(t, clients, "--crds")
	if err != nil {
		t.Fatalf("uninstall --crds: %v\n%s", err, out)
	}
	want := []string{
		"Uninstalled the argolite agent.",
		"which deletes every argolite object in the cluster",
		"Deleting CustomResourceDefinition/applications.argolite.dev deletes 1 Application (finalizers removed from 1).",
	}
	crds := crdNames(t)
	for _, name := range crds {
		want = append(want, "CustomResourceDefinition/"+name+" deleted")
	}
	for _, s := range want {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	for _, name := range crds {
		if exists(t, clients.Client, &apiextensionsv1.CustomResourceDefinition{}, client.ObjectKey{Name: name}) {
			t.Errorf("the CRD %s is still there", name)
		}
	}
	// The fake API server does not delete a CRD's objects; the finalizer
	// must be gone so that the real one can.
	got := &argov1.Application{}
	if exists(t, clients.Client, got, client.ObjectKeyFromObject(app)) && len(got.Finalizers) != 0 {
		t.Errorf("Application finalizers = %v, want none", got.Finalizers)
	}
}

func TestUninstallNothingInstalled(t *testing.T) {
	crds := crdNames(t)
	tests := []struct {
		name     string
		objs     []client.Object
		args     []string
		want     string
		wantCRDs bool
	}{
		{name: "empty cluster", want: "argolite is not installed in this cluster: nothing to uninstall.\n"},
		{name: "empty cluster, --crds", args: []string{"--crds"}, want: "argolite is not installed in this cluster: nothing to uninstall.\n"},
		{name: "CRDs left", objs: installed(t, false, true, nil), wantCRDs: true,
			want: "The argolite agent is not installed in this cluster; its CRDs are (" + strings.Join(crds, ", ") + ").\n" +
				"To delete them, and with them every argolite object in the cluster, run kubectl argo uninstall --crds\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clients := clitest.NewClients(t, tt.objs...)
			out, err := runUninstall(t, clients, tt.args...)
			if err != nil || out != tt.want {
				t.Errorf("uninstall = %v, output:\n%s\nwant:\n%s", err, out, tt.want)
			}
			for _, name := range crds {
				if got := exists(t, clients.Client, &apiextensionsv1.CustomResourceDefinition{}, client.ObjectKey{Name: name}); got != tt.wantCRDs {
					t.Errorf("CRD %s exists = %v, want %v", name, got, tt.wantCRDs)
				}
			}
		})
	}
}

func TestUninstallTimesOut(t *testing.T) {
	// A finalizer nobody removes keeps the Namespace terminating.
	stuck := func(o client.Object) {
		if o.GetObjectKind().GroupVersionKind().Kind == "Namespace" {
			o.SetFinalizers([]string{"example.test/never"})
		}
	}
	clients := clitest.NewClients(t, installed(t, true, false, stuck)...)
	out, err := runUninstall(t, clients, "--timeout", "100ms")
	if err == nil || !strings.Contains(err.Error(), "timed out after 100ms waiting for Namespace/argolite-system (Terminating) to be deleted") {
		t.Errorf("error = %v, want a timeout naming the terminating Namespace", err)
	}
	if !strings.Contains(out, "Waiting for 1 object to be deleted: Namespace/argolite-system (Terminating)\n") {
		t.Errorf("no progress line in:\n%s", out)
	}
}

func TestUninstallValidate(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{args: nil},
		{args: []string{"--crds", "--timeout", "1m"}},
		{args: []string{"--timeout", "0s"}, wantErr: "--timeout 0s: must be positive"},
		{args: []string{"--timeout", "-1m"}, wantErr: "must be positive"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			streams, _, _, _ := genericiooptions.NewTestIOStreams()
			o := NewUninstallOptions(genericclioptions.NewConfigFlags(false), streams)
			if err := newUninstallCmd(o).ParseFlags(tt.args); err != nil {
				t.Fatal(err)
			}
			err := o.Validate()
			if (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
