package manifests

import (
	"io/fs"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/argolite/argolite/shared/agentmeta"
)

// Every generated CRD and RBAC file must be installed: a kind whose CRD is
// missing from kustomization.yaml would install without its API.
func TestKustomizationListsEveryManifest(t *testing.T) {
	resources, err := Resources()
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"crds", "rbac", "agent"} {
		entries, err := fs.ReadDir(files, dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if name := dir + "/" + e.Name(); !slices.Contains(resources, name) {
				t.Errorf("manifests/%s is not listed in manifests/kustomization.yaml resources", name)
			}
		}
	}
}

func TestObjects(t *testing.T) {
	tests := []struct {
		name      string
		opts      Options
		wantImage string
		wantRepl  int64
	}{
		{name: "defaults", wantImage: "ghcr.io/argolite/argolite-agent:latest", wantRepl: 1},
		{name: "image and replicas", opts: Options{Image: "example.test/agent:v9", Replicas: 2}, wantImage: "example.test/agent:v9", wantRepl: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Objects(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			for _, o := range objs {
				kinds[o.GetKind()]++
				if o.GetLabels()[agentmeta.PartOfLabel] != agentmeta.PartOf {
					t.Errorf("%s/%s lacks the %s label", o.GetKind(), o.GetName(), agentmeta.PartOfLabel)
				}
				if o.GetKind() == "Deployment" {
					r, _, _ := unstructured.NestedInt64(o.Object, "spec", "replicas")
					if r != tt.wantRepl {
						t.Errorf("replicas = %d, want %d", r, tt.wantRepl)
					}
				}
			}
			for _, k := range []string{"CustomResourceDefinition", "Namespace", "ServiceAccount", "ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding", "Service", "Deployment"} {
				if kinds[k] == 0 {
					t.Errorf("no %s in the install objects", k)
				}
			}
			if got := AgentImage(objs); got != tt.wantImage {
				t.Errorf("AgentImage = %q, want %q", got, tt.wantImage)
			}
		})
	}
}
