package render

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/types"

	"github.com/argolite/argolite/shared/api/v1alpha1"
)

// containerImages returns the Deployment's container images by container name.
func containerImages(t *testing.T, d *unstructured.Unstructured) map[string]string {
	t.Helper()
	cs, _, err := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range cs {
		m := c.(map[string]any)
		out[m["name"].(string)] = m["image"].(string)
	}
	return out
}

func TestRenderKustomize(t *testing.T) {
	root := testRoot(t)
	before := treeHash(t, root)

	tests := []struct {
		name  string
		spec  *v1alpha1.ApplicationSourceKustomize
		check func(t *testing.T, objs []*unstructured.Unstructured)
	}{
		{name: "overlay over ../base as written", check: func(t *testing.T, objs []*unstructured.Unstructured) {
			if got, want := ids(objs), []string{"Service/dev-web", "Deployment/dev-web"}; !reflect.DeepEqual(got, want) {
				t.Errorf("objects = %v, want %v", got, want)
			}
			imgs := containerImages(t, find(t, objs, "Deployment", "dev-web"))
			if imgs["cache"] != "redis:7.2" || imgs["web"] != "nginx:1.25" {
				t.Errorf("images = %v, want the overlay's redis:7.2 and the base's nginx:1.25", imgs)
			}
		}},
		{name: "namePrefix replaces the overlay's, as kustomize edit set nameprefix", spec: &v1alpha1.ApplicationSourceKustomize{NamePrefix: "stage-"},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				find(t, objs, "Deployment", "stage-web")
				find(t, objs, "Service", "stage-web")
			}},
		{name: "nameSuffix", spec: &v1alpha1.ApplicationSourceKustomize{NameSuffix: "-v2"},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				find(t, objs, "Deployment", "dev-web-v2")
			}},
		{name: "images in every edit set image form", spec: &v1alpha1.ApplicationSourceKustomize{Images: []string{
			"nginx=nginxinc/nginx-unprivileged:1.27",
			"registry.example.com:5000/tools/sidecar:2.0",
			"redis@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		}}, check: func(t *testing.T, objs []*unstructured.Unstructured) {
			want := map[string]string{
				"web":     "nginxinc/nginx-unprivileged:1.27",
				"sidecar": "registry.example.com:5000/tools/sidecar:2.0",
				"cache":   "redis@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			}
			if got := containerImages(t, find(t, objs, "Deployment", "dev-web")); !reflect.DeepEqual(got, want) {
				t.Errorf("images = %v, want %v", got, want)
			}
		}},
		{name: "commonLabels reach labels and selectors", spec: &v1alpha1.ApplicationSourceKustomize{CommonLabels: map[string]string{"team": "a"}},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				d := find(t, objs, "Deployment", "dev-web")
				sel, _, _ := unstructured.NestedString(d.Object, "spec", "selector", "matchLabels", "team")
				tpl, _, _ := unstructured.NestedString(d.Object, "spec", "template", "metadata", "labels", "team")
				if d.GetLabels()["team"] != "a" || sel != "a" || tpl != "a" {
					t.Errorf("team label: metadata %q selector %q template %q, want a everywhere", d.GetLabels()["team"], sel, tpl)
				}
				if got := find(t, objs, "Service", "dev-web").GetLabels()["team"]; got != "a" {
					t.Errorf("Service team label = %q, want a", got)
				}
			}},
		{name: "commonAnnotations", spec: &v1alpha1.ApplicationSourceKustomize{CommonAnnotations: map[string]string{"owner": "platform"}},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				for _, o := range objs {
					if o.GetAnnotations()["owner"] != "platform" {
						t.Errorf("%s/%s annotations = %v, want owner=platform", o.GetKind(), o.GetName(), o.GetAnnotations())
					}
				}
			}},
		{name: "namespace", spec: &v1alpha1.ApplicationSourceKustomize{Namespace: "team-a"},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				if got, want := ids(objs), []string{"Service/team-a/dev-web", "Deployment/team-a/dev-web"}; !reflect.DeepEqual(got, want) {
					t.Errorf("objects = %v, want %v", got, want)
				}
			}},
		{name: "inline JSON6902 patch with a target", spec: &v1alpha1.ApplicationSourceKustomize{Patches: []v1alpha1.KustomizePatch{{
			Patch:  "- op: replace\n  path: /spec/replicas\n  value: 3\n",
			Target: &v1alpha1.KustomizeSelector{Group: "apps", Version: "v1", Kind: "Deployment", Name: "web"},
		}}}, check: func(t *testing.T, objs []*unstructured.Unstructured) {
			if got, _, _ := unstructured.NestedInt64(find(t, objs, "Deployment", "dev-web").Object, "spec", "replicas"); got != 3 {
				t.Errorf("replicas = %d, want 3", got)
			}
		}},
		{name: "patch from a file in the source directory", spec: &v1alpha1.ApplicationSourceKustomize{Patches: []v1alpha1.KustomizePatch{{
			Path: "patches/replicas.yaml",
		}}}, check: func(t *testing.T, objs []*unstructured.Unstructured) {
			if got, _, _ := unstructured.NestedInt64(find(t, objs, "Deployment", "dev-web").Object, "spec", "replicas"); got != 4 {
				t.Errorf("replicas = %d, want 4", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := mustRender(t, Input{Root: root, Namespace: "ignored", Source: v1alpha1.ApplicationSource{Path: "kustomize/overlay", Kustomize: tt.spec}})
			tt.check(t, objs)
		})
	}
	if after := treeHash(t, root); after != before {
		t.Error("rendering changed the repository checkout")
	}
}

func TestRenderKustomizeErrors(t *testing.T) {
	// Each case's tree holds the repository under repo/ and, next to it,
	// outside/: a directory Kustomize could build if it were allowed out.
	outside := map[string]string{
		"outside/secret.yaml":        "apiVersion: v1\nkind: Secret\nmetadata: {name: stolen}\n",
		"outside/kustomization.yaml": "resources:\n- secret.yaml\n",
	}
	tests := []struct {
		name  string
		files map[string]string
		spec  *v1alpha1.ApplicationSourceKustomize
		file  string
		msgs  []string
	}{
		{name: "missing resource names the kustomization",
			files: map[string]string{"repo/app/kustomization.yaml": "resources:\n- missing.yaml\n"},
			file:  "app/kustomization.yaml", msgs: []string{"missing.yaml", "fix the file in Git"}},
		{name: "invalid kustomization with overrides",
			files: map[string]string{"repo/app/kustomization.yaml": "resources: [\n"},
			spec:  &v1alpha1.ApplicationSourceKustomize{NamePrefix: "x-"},
			file:  "app/kustomization.yaml", msgs: []string{"invalid Kustomization"}},
		{name: "explicit kustomize without a kustomization file",
			files: map[string]string{"repo/app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"},
			spec:  &v1alpha1.ApplicationSourceKustomize{},
			file:  "app", msgs: []string{"no kustomization.yaml"}},
		{name: "symlinked resource file outside the repository",
			files: map[string]string{
				"repo/app/kustomization.yaml": "resources:\n- secret.yaml\n",
				"repo/app/secret.yaml":        "->../../outside/secret.yaml",
			},
			file: "app/kustomization.yaml", msgs: []string{"security", "is not in or below"}},
		{name: "symlinked base directory outside the repository",
			files: map[string]string{
				"repo/app/kustomization.yaml": "resources:\n- base\n",
				"repo/app/base":               "->../../outside",
			},
			file: "app/kustomization.yaml", msgs: []string{"outside/kustomization.yaml leaves the repository"}},
		{name: "../ base outside the repository",
			files: map[string]string{"repo/app/kustomization.yaml": "resources:\n- ../../outside\n"},
			file:  "app/kustomization.yaml", msgs: []string{"outside/kustomization.yaml leaves the repository"}},
		{name: "bad image override",
			files: map[string]string{"repo/app/kustomization.yaml": "resources: []\n"},
			spec:  &v1alpha1.ApplicationSourceKustomize{Images: []string{"nginx"}},
			file:  "", msgs: []string{"kustomize.images[0]", "name=newName:tag"}},
		{name: "patch without path or content",
			files: map[string]string{"repo/app/kustomization.yaml": "resources: []\n"},
			spec:  &v1alpha1.ApplicationSourceKustomize{Patches: []v1alpha1.KustomizePatch{{}}},
			file:  "", msgs: []string{"patches[0]"}},
		{name: "commonLabels clashing with the kustomization's labels",
			files: map[string]string{"repo/app/kustomization.yaml": "labels:\n- pairs: {team: b}\n"},
			spec:  &v1alpha1.ApplicationSourceKustomize{CommonLabels: map[string]string{"team": "a"}},
			file:  "app/kustomization.yaml", msgs: []string{`label "team"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{}
			for k, v := range outside {
				files[k] = v
			}
			for k, v := range tt.files {
				files[k] = v
			}
			world := writeTree(t, files)
			root := filepath.Join(world, "repo")
			before := treeHash(t, world)
			objs, err := Render(context.Background(), Input{Root: root, Source: v1alpha1.ApplicationSource{Path: "app", Kustomize: tt.spec}})
			wantError(t, err, tt.file, tt.msgs...)
			if len(objs) != 0 {
				t.Errorf("a failed render returned objects %v", ids(objs))
			}
			if treeHash(t, world) != before {
				t.Error("a failed render changed the checkout")
			}
		})
	}
}

func TestSetImages(t *testing.T) {
	current := []types.Image{{Name: "redis", NewName: "mirror/redis", NewTag: "7"}, {Name: "nginx", NewTag: "1.25"}}
	tests := []struct {
		name string
		args []string
		want []types.Image
	}{
		{name: "name=newName:tag replaces the entry", args: []string{"redis=other/redis:8"},
			want: []types.Image{{Name: "nginx", NewTag: "1.25"}, {Name: "redis", NewName: "other/redis", NewTag: "8"}}},
		{name: "name:tag drops the old newName", args: []string{"redis:8"},
			want: []types.Image{{Name: "nginx", NewTag: "1.25"}, {Name: "redis", NewTag: "8"}}},
		{name: "star keeps the current newName", args: []string{"redis=*:8"},
			want: []types.Image{{Name: "nginx", NewTag: "1.25"}, {Name: "redis", NewName: "mirror/redis", NewTag: "8"}}},
		{name: "name=newName@digest", args: []string{"busybox=mirror/busybox@sha256:abc"},
			want: []types.Image{{Name: "busybox", NewName: "mirror/busybox", Digest: "sha256:abc"}, {Name: "nginx", NewTag: "1.25"}, {Name: "redis", NewName: "mirror/redis", NewTag: "7"}}},
		{name: "registry with a port", args: []string{"reg:5000/app:2"},
			want: []types.Image{{Name: "nginx", NewTag: "1.25"}, {Name: "redis", NewName: "mirror/redis", NewTag: "7"}, {Name: "reg:5000/app", NewTag: "2"}}},
		{name: "name=newName only", args: []string{"nginx=mirror/nginx"},
			want: []types.Image{{Name: "nginx", NewName: "mirror/nginx"}, {Name: "redis", NewName: "mirror/redis", NewTag: "7"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := setImages(current, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("setImages = %+v, want %+v", got, tt.want)
			}
		})
	}
	for _, bad := range []string{"nginx", "", "=x:1", "a=b=c", "x@"} {
		if _, err := setImages(nil, []string{bad}); err == nil {
			t.Errorf("setImages(%q) accepted an invalid image", bad)
		}
	}
}

func TestRenderKustomizeCommonLabelsOverwrite(t *testing.T) {
	// As `kustomize edit add label --force`: the spec's value replaces the
	// kustomization's own commonLabels entry instead of clashing with it.
	root := writeTree(t, map[string]string{
		"app/kustomization.yaml": "commonLabels:\n  team: b\n  tier: web\nresources:\n- cm.yaml\n",
		"app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n",
	})
	objs := mustRender(t, Input{Root: root, Source: v1alpha1.ApplicationSource{Path: "app",
		Kustomize: &v1alpha1.ApplicationSourceKustomize{CommonLabels: map[string]string{"team": "a"}}}})
	got := find(t, objs, "ConfigMap", "cm").GetLabels()
	if want := map[string]string{"team": "a", "tier": "web"}; !reflect.DeepEqual(got, want) {
		t.Errorf("labels = %v, want %v", got, want)
	}
}
