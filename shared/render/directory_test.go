package render

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/argolite/argolite/shared/api/v1alpha1"
)

func TestRenderDirectory(t *testing.T) {
	flat := []string{"ConfigMap/a1", "Service/a2", "ConfigMap/b1", "ConfigMap/b2", "ConfigMap/c1", "ConfigMap/d1", "ConfigMap/d2"}
	tests := []struct {
		name string
		dir  *v1alpha1.ApplicationSourceDirectory
		want []string
	}{
		{name: "top level only by default", want: flat},
		{name: "recurse walks subdirectories in path order", dir: &v1alpha1.ApplicationSourceDirectory{Recurse: true},
			want: append(append([]string{}, flat...), "ConfigMap/f1", "ConfigMap/e1")},
		{name: "include brace list", dir: &v1alpha1.ApplicationSourceDirectory{Include: "{a.yaml,c.json}"},
			want: []string{"ConfigMap/a1", "Service/a2", "ConfigMap/c1"}},
		{name: "include star crosses directories as in Argo CD", dir: &v1alpha1.ApplicationSourceDirectory{Recurse: true, Include: "*f.yaml"},
			want: []string{"ConfigMap/f1"}},
		{name: "include without recurse stays at the top", dir: &v1alpha1.ApplicationSourceDirectory{Include: "*f.yaml"},
			want: []string{}},
		{name: "exclude a subtree", dir: &v1alpha1.ApplicationSourceDirectory{Recurse: true, Exclude: "sub/*"}, want: flat},
		{name: "exclude brace list", dir: &v1alpha1.ApplicationSourceDirectory{Exclude: "{b.yml,*.json}"},
			want: []string{"ConfigMap/a1", "Service/a2"}},
		{name: "include and exclude", dir: &v1alpha1.ApplicationSourceDirectory{Recurse: true, Include: "*.yaml", Exclude: "sub/deeper/*"},
			want: []string{"ConfigMap/a1", "Service/a2", "ConfigMap/e1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := mustRender(t, Input{Root: testRoot(t), Source: v1alpha1.ApplicationSource{Path: "dir", Directory: tt.dir}})
			if got := ids(objs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("objects = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRenderDirectoryContent(t *testing.T) {
	objs := mustRender(t, Input{Root: testRoot(t), Namespace: "team-a", Source: v1alpha1.ApplicationSource{Path: "./dir/"}})
	svc := find(t, objs, "Service", "a2")
	ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
	if len(ports) != 1 || ports[0].(map[string]any)["port"] != int64(80) {
		t.Errorf("Service ports = %#v, want one port 80 as int64", ports)
	}
	for _, o := range objs {
		if o.GetNamespace() != "" {
			t.Errorf("%s/%s got namespace %q; the manifest sets none", o.GetKind(), o.GetName(), o.GetNamespace())
		}
	}
	if got, _, _ := unstructured.NestedString(find(t, objs, "ConfigMap", "c1").Object, "data", "replicas"); got != "3" {
		t.Errorf("c1 data.replicas = %q, want 3", got)
	}
}

func TestRenderDirectoryErrors(t *testing.T) {
	outside := writeTree(t, map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: outside}\n"})
	tests := []struct {
		name  string
		files map[string]string
		dir   *v1alpha1.ApplicationSourceDirectory
		file  string
		msgs  []string
	}{
		{name: "invalid YAML names the file and its line",
			files: map[string]string{"app/bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: [a\n"},
			file:  "app/bad.yaml", msgs: []string{"document 2", "yaml: line 9", "fix the file in Git"}},
		{name: "missing apiVersion",
			files: map[string]string{"app/cm.yaml": "kind: ConfigMap\nmetadata: {name: a}\n"},
			file:  "app/cm.yaml", msgs: []string{"no apiVersion"}},
		{name: "missing kind in the second document",
			files: map[string]string{"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nmetadata: {name: b}\n"},
			file:  "app/cm.yaml", msgs: []string{"document 2", "no kind"}},
		{name: "List item without kind",
			files: map[string]string{"app/list.yaml": "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n- apiVersion: v1\n  metadata: {name: b}\n"},
			file:  "app/list.yaml", msgs: []string{"items[1]", "no kind"}},
		{name: "a YAML sequence is not an object",
			files: map[string]string{"app/seq.yaml": "- a\n- b\n"},
			file:  "app/seq.yaml", msgs: []string{"is a list"}},
		{name: "a scalar is not an object",
			files: map[string]string{"app/s.yaml": "just text\n"},
			file:  "app/s.yaml", msgs: []string{"not a Kubernetes object"}},
		{name: "invalid JSON",
			files: map[string]string{"app/x.json": "{\"apiVersion\": \"v1\",\n \"kind\": \n"},
			file:  "app/x.json", msgs: []string{"yaml: line"}},
		{name: "Jsonnet is refused rather than skipped",
			files: map[string]string{"app/main.jsonnet": "{}"},
			file:  "app/main.jsonnet", msgs: []string{"jsonnet is not supported"}},
		{name: "symlinked manifest outside the repository",
			files: map[string]string{"app/cm.yaml": "->" + filepath.Join(outside, "cm.yaml")},
			file:  "app/cm.yaml", msgs: []string{"leaves the repository"}},
		{name: "invalid include glob",
			files: map[string]string{"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"},
			dir:   &v1alpha1.ApplicationSourceDirectory{Include: "[a-"},
			file:  "", msgs: []string{"directory.include", "fix spec.source"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeTree(t, tt.files)
			_, err := Render(context.Background(), Input{Root: root, Source: v1alpha1.ApplicationSource{Path: "app", Directory: tt.dir}})
			wantError(t, err, tt.file, tt.msgs...)
		})
	}
}

func TestRenderDirectorySymlinkInside(t *testing.T) {
	root := writeTree(t, map[string]string{
		"shared/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\n",
		"app/cm.yaml":    "->../shared/cm.yaml",
	})
	objs := mustRender(t, Input{Root: root, Source: v1alpha1.ApplicationSource{Path: "app"}})
	if got := ids(objs); !reflect.DeepEqual(got, []string{"ConfigMap/shared"}) {
		t.Errorf("objects = %v, want the symlinked ConfigMap", got)
	}
}

// BenchmarkRenderDirectory renders 1,000 ConfigMap files, the size of the
// benchmark app in docs/benchmarks.md.
func BenchmarkRenderDirectory(b *testing.B) {
	root := b.TempDir()
	dir := filepath.Join(root, "cms")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		cm := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%04d\n  labels:\n    app: bench\ndata:\n  index: %q\n  payload: some small value\n", i, fmt.Sprint(i))
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("cm-%04d.yaml", i)), []byte(cm), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	in := Input{Root: root, Source: v1alpha1.ApplicationSource{Path: "cms"}}
	b.ReportAllocs()
	for b.Loop() {
		objs, err := Render(context.Background(), in)
		if err != nil {
			b.Fatal(err)
		}
		if len(objs) != 1000 {
			b.Fatalf("rendered %d objects, want 1000", len(objs))
		}
	}
}

// TestRenderDirectoryHelmHooks renders the shape of Argo CD's helm-hooks
// example, a plain directory: Helm hook annotations count there too, a Helm
// hook with no Argo phase (its "Sync" and misspelt "post-insntall") is
// dropped, and helm.sh/hook-weight orders ordinary resources.
func TestRenderDirectoryHelmHooks(t *testing.T) {
	root := writeTree(t, map[string]string{"app/manifests.yaml": `apiVersion: batch/v1
kind: Job
metadata:
  generateName: upgrade-sql-schema
  annotations:
    helm.sh/hook: pre-install
---
apiVersion: batch/v1
kind: Job
metadata:
  name: maint-page-up
  annotations:
    helm.sh/hook: Sync
    helm.sh/hook-delete-policy: before-hook-creation
---
apiVersion: v1
kind: Service
metadata:
  name: frontend
  annotations:
    helm.sh/hook-weight: "2"
---
apiVersion: batch/v1
kind: Job
metadata:
  name: maint-page-down
  annotations:
    helm.sh/hook: post-insntall
`})
	objs := mustRender(t, Input{Root: root, Source: v1alpha1.ApplicationSource{Path: "app"}})
	if got := ids(objs); !reflect.DeepEqual(got, []string{"Job/", "Service/frontend"}) {
		t.Fatalf("objects = %v, want the pre-install Job and the Service", got)
	}
	if got := objs[0].GetAnnotations()["argocd.argoproj.io/hook"]; got != "PreSync" || objs[0].GetGenerateName() != "upgrade-sql-schema" {
		t.Errorf("pre-install Job: hook %q, generateName %q, want PreSync and upgrade-sql-schema", got, objs[0].GetGenerateName())
	}
	if got := objs[1].GetAnnotations()["argocd.argoproj.io/sync-wave"]; got != "2" {
		t.Errorf("Service sync-wave = %q, want 2 from helm.sh/hook-weight", got)
	}
}
