package render

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/argolite/argolite/shared/api/v1alpha1"
)

// helmInput renders the fixture chart helm/app with the values repository
// available as $values.
func helmInput(t *testing.T, spec *v1alpha1.ApplicationSourceHelm) Input {
	t.Helper()
	refRoot, err := filepath.Abs("testdata/valuesrepo")
	if err != nil {
		t.Fatal(err)
	}
	return Input{
		Root:        testRoot(t),
		Source:      v1alpha1.ApplicationSource{Path: "helm/app", Helm: spec},
		Refs:        map[string]string{"values": refRoot},
		AppName:     "myapp",
		Namespace:   "team-a",
		KubeVersion: "v1.36.3",
		APIVersions: []string{"example.com/v1"},
	}
}

func configData(t *testing.T, objs []*unstructured.Unstructured, name string) map[string]string {
	t.Helper()
	data, _, err := unstructured.NestedStringMap(find(t, objs, "ConfigMap", name).Object, "data")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestRenderHelm(t *testing.T) {
	root := testRoot(t)
	before := treeHash(t, root)
	objs := mustRender(t, helmInput(t, &v1alpha1.ApplicationSourceHelm{
		ValueFiles: []string{"values-a.yaml", "$values/env/prod.yaml"},
		Values:     "d: values\ne: values\nf: values\n",
		Parameters: []v1alpha1.HelmParameter{
			{Name: "e", Value: "param"},
			{Name: "num", Value: "7", ForceString: true},
			{Name: "list", Value: "{x,y}"},
			{Name: "comma", Value: "a,b"},
		},
	}))

	// CRDs first, then templates by file; NOTES.txt, partials, the test hook
	// and the disabled dependency (and its CRD) are left out.
	want := []string{
		"CustomResourceDefinition/widgets.example.com",
		"ConfigMap/myapp-sub",
		"ConfigMap/team-a/myapp-values",
		"Job/migrate", "Job/smoke", "Job/argo-wins",
	}
	if got := ids(objs); !reflect.DeepEqual(got, want) {
		t.Fatalf("objects = %v, want %v", got, want)
	}

	wantData := map[string]string{
		"a": "chart", "b": "file1", "c": "file2", "d": "values", "e": "param", "f": "values",
		"numIsString": "true", "list": "x;y", "comma": "a,b",
		"kubeVersion": "v1.36.3", "hasExample": "true",
	}
	if got := configData(t, objs, "myapp-values"); !reflect.DeepEqual(got, wantData) {
		t.Errorf("values = %v,\nwant %v", got, wantData)
	}
	if got := find(t, objs, "ConfigMap", "myapp-values").GetLabels()["app.kubernetes.io/instance"]; got != "myapp" {
		t.Errorf("label from the _helpers.tpl partial = %q, want myapp", got)
	}
	if got := configData(t, objs, "myapp-sub")["greeting"]; got != "hello-from-parent" {
		t.Errorf("subchart greeting = %q, want the parent's override", got)
	}
	if treeHash(t, root) != before {
		t.Error("rendering changed the repository checkout")
	}
}

func TestRenderHelmOptions(t *testing.T) {
	tests := []struct {
		name  string
		spec  *v1alpha1.ApplicationSourceHelm
		in    func(*Input)
		check func(t *testing.T, objs []*unstructured.Unstructured)
	}{
		{name: "no helm spec: chart defaults, release named after the app",
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				d := configData(t, objs, "myapp-values")
				if d["a"] != "chart" || d["f"] != "chart" || d["numIsString"] != "false" {
					t.Errorf("values = %v, want the chart's defaults", d)
				}
			}},
		{name: "valuesObject replaces values, as in Argo CD", spec: &v1alpha1.ApplicationSourceHelm{
			Values:       "d: values\nf: values\n",
			ValuesObject: &runtime.RawExtension{Raw: []byte(`{"d":"object"}`)},
		}, check: func(t *testing.T, objs []*unstructured.Unstructured) {
			d := configData(t, objs, "myapp-values")
			if d["d"] != "object" || d["f"] != "chart" {
				t.Errorf("d = %q f = %q, want object and chart", d["d"], d["f"])
			}
		}},
		{name: "parameters win over valuesObject", spec: &v1alpha1.ApplicationSourceHelm{
			ValuesObject: &runtime.RawExtension{Raw: []byte(`{"d":"object"}`)},
			Parameters:   []v1alpha1.HelmParameter{{Name: "d", Value: "param"}},
		}, check: func(t *testing.T, objs []*unstructured.Unstructured) {
			if got := configData(t, objs, "myapp-values")["d"]; got != "param" {
				t.Errorf("d = %q, want param", got)
			}
		}},
		{name: "releaseName", spec: &v1alpha1.ApplicationSourceHelm{ReleaseName: "custom"},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				find(t, objs, "ConfigMap", "custom-values")
				find(t, objs, "ConfigMap", "custom-sub")
			}},
		{name: "skipCrds", spec: &v1alpha1.ApplicationSourceHelm{SkipCrds: true},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				for _, o := range objs {
					if o.GetKind() == "CustomResourceDefinition" {
						t.Errorf("skipCrds rendered %s", o.GetName())
					}
				}
			}},
		{name: "dependency conditions follow the values", spec: &v1alpha1.ApplicationSourceHelm{
			Parameters: []v1alpha1.HelmParameter{{Name: "sub.enabled", Value: "false"}, {Name: "extra.enabled", Value: "true"}},
		}, check: func(t *testing.T, objs []*unstructured.Unstructured) {
			got := ids(objs)
			want := []string{"CustomResourceDefinition/widgets.example.com", "CustomResourceDefinition/gadgets.example.com",
				"ConfigMap/myapp-extra", "ConfigMap/team-a/myapp-values", "Job/migrate", "Job/smoke", "Job/argo-wins"}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("objects = %v, want %v", got, want)
			}
		}},
		{name: "Helm's default Kubernetes version without one given", in: func(in *Input) { in.KubeVersion, in.APIVersions = "", nil },
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				d := configData(t, objs, "myapp-values")
				if d["kubeVersion"] == "v1.36.3" || d["kubeVersion"] == "" || d["hasExample"] != "false" {
					t.Errorf("capabilities = %q/%q, want Helm's defaults", d["kubeVersion"], d["hasExample"])
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := helmInput(t, tt.spec)
			if tt.in != nil {
				tt.in(&in)
			}
			tt.check(t, mustRender(t, in))
		})
	}
}

func TestRenderHelmHooks(t *testing.T) {
	objs := mustRender(t, helmInput(t, nil))
	tests := []struct {
		job  string
		want map[string]string // Argo annotations; "" means absent
	}{
		{job: "migrate", want: map[string]string{
			"argocd.argoproj.io/hook": "PreSync", "argocd.argoproj.io/hook-delete-policy": "HookSucceeded,BeforeHookCreation", "argocd.argoproj.io/sync-wave": "-5"}},
		{job: "smoke", want: map[string]string{
			"argocd.argoproj.io/hook": "PostSync", "argocd.argoproj.io/hook-delete-policy": "", "argocd.argoproj.io/sync-wave": ""}},
		{job: "argo-wins", want: map[string]string{
			"argocd.argoproj.io/hook": "Sync", "argocd.argoproj.io/hook-delete-policy": "HookFailed", "argocd.argoproj.io/sync-wave": "2"}},
	}
	for _, tt := range tests {
		t.Run(tt.job, func(t *testing.T) {
			a := find(t, objs, "Job", tt.job).GetAnnotations()
			for k, want := range tt.want {
				if got, ok := a[k]; got != want || ok != (want != "") {
					t.Errorf("%s = %q (set %v), want %q", k, got, ok, want)
				}
			}
		})
	}
}

func TestMapHelmHooks(t *testing.T) {
	tests := []struct {
		name     string
		in       map[string]string
		wantKeep bool
		want     map[string]string // annotations that must be present; "" means absent
	}{
		{name: "not a hook", in: map[string]string{"x": "y"}, wantKeep: true,
			want: map[string]string{"argocd.argoproj.io/hook": ""}},
		{name: "pre and post install", in: map[string]string{"helm.sh/hook": "pre-install, post-upgrade"}, wantKeep: true,
			want: map[string]string{"argocd.argoproj.io/hook": "PreSync,PostSync"}},
		{name: "test hook dropped", in: map[string]string{"helm.sh/hook": "test"}, wantKeep: false},
		{name: "delete hook dropped", in: map[string]string{"helm.sh/hook": "pre-delete,post-rollback"}, wantKeep: false},
		{name: "crd-install is not a hook", in: map[string]string{"helm.sh/hook": "crd-install", "helm.sh/hook-delete-policy": "hook-succeeded"}, wantKeep: true,
			want: map[string]string{"argocd.argoproj.io/hook": "", "argocd.argoproj.io/hook-delete-policy": ""}},
		{name: "argolite hook wins and gets the delete policy", in: map[string]string{
			"argolite.dev/hook": "PostSync", "argolite.dev/hook-delete-policy": "HookFailed", "helm.sh/hook": "test", "helm.sh/hook-delete-policy": "hook-succeeded,hook-failed"},
			wantKeep: true, want: map[string]string{"argolite.dev/hook": "PostSync", "argocd.argoproj.io/hook": "", "argolite.dev/hook-delete-policy": "HookFailed,HookSucceeded"}},
		{name: "hook-weight becomes the wave", in: map[string]string{"helm.sh/hook": "pre-install", "helm.sh/hook-weight": " 3 "}, wantKeep: true,
			want: map[string]string{"argocd.argoproj.io/sync-wave": "3"}},
		{name: "an argolite wave is kept", in: map[string]string{"helm.sh/hook-weight": "3", "argolite.dev/sync-wave": "1"}, wantKeep: true,
			want: map[string]string{"argolite.dev/sync-wave": "1", "argocd.argoproj.io/sync-wave": ""}},
		{name: "a weight that is not a number is ignored", in: map[string]string{"helm.sh/hook-weight": "soon"}, wantKeep: true,
			want: map[string]string{"argocd.argoproj.io/sync-wave": ""}},
		{name: "unknown delete policies are ignored", in: map[string]string{"helm.sh/hook": "post-install", "helm.sh/hook-delete-policy": "never"}, wantKeep: true,
			want: map[string]string{"argocd.argoproj.io/hook": "PostSync", "argocd.argoproj.io/hook-delete-policy": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p"}}}
			obj.SetAnnotations(tt.in)
			if keep := mapHelmHooks(obj); keep != tt.wantKeep {
				t.Fatalf("keep = %v, want %v", keep, tt.wantKeep)
			}
			a := obj.GetAnnotations()
			for k, want := range tt.want {
				if got, ok := a[k]; got != want || ok != (want != "") {
					t.Errorf("%s = %q (set %v), want %q", k, got, ok, want)
				}
			}
		})
	}
}

func TestRenderHelmErrors(t *testing.T) {
	tests := []struct {
		name string
		path string
		spec *v1alpha1.ApplicationSourceHelm
		in   func(*Input)
		file string
		msgs []string
	}{
		{name: "template error names the template", path: "helm/broken",
			file: "helm/broken/templates/bad.yaml", msgs: []string{"image.tag is required", "broken/templates/bad.yaml:8"}},
		{name: "dependency not vendored", path: "helm/missingdep",
			file: "helm/missingdep/Chart.yaml", msgs: []string{"postgresql", "helm dependency build"}},
		{name: "$ref escaping its repository", path: "helm/app",
			spec: &v1alpha1.ApplicationSourceHelm{ValueFiles: []string{"$values/../repo/helm/app/values-a.yaml"}},
			file: "", msgs: []string{"leaves its repository"}},
		{name: "unknown $ref", path: "helm/app",
			spec: &v1alpha1.ApplicationSourceHelm{ValueFiles: []string{"$other/values.yaml"}},
			file: "", msgs: []string{`no source has ref "other"`}},
		{name: "value file escaping the repository", path: "helm/app",
			spec: &v1alpha1.ApplicationSourceHelm{ValueFiles: []string{"../../../valuesrepo/env/prod.yaml"}},
			file: "", msgs: []string{"leaves its repository"}},
		{name: "missing value file", path: "helm/app",
			spec: &v1alpha1.ApplicationSourceHelm{ValueFiles: []string{"values-missing.yaml"}},
			file: "helm/app/values-missing.yaml", msgs: []string{"value file not found"}},
		{name: "missing value file from the repository root", path: "helm/app",
			spec: &v1alpha1.ApplicationSourceHelm{ValueFiles: []string{"/env/missing.yaml"}},
			file: "env/missing.yaml", msgs: []string{"value file not found"}},
		{name: "remote value file", path: "helm/app",
			spec: &v1alpha1.ApplicationSourceHelm{ValueFiles: []string{"https://example.com/values.yaml"}},
			file: "", msgs: []string{"remote value files are not supported"}},
		{name: "invalid values", path: "helm/app",
			spec: &v1alpha1.ApplicationSourceHelm{Values: "a: [\n"},
			file: "", msgs: []string{"helm.values"}},
		{name: "invalid release name", path: "helm/app", in: func(in *Input) { in.AppName = "Not_Valid" },
			file: "", msgs: []string{`release name "Not_Valid"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := helmInput(t, tt.spec)
			in.Source.Path = tt.path
			if tt.in != nil {
				tt.in(&in)
			}
			_, err := Render(context.Background(), in)
			wantError(t, err, tt.file, tt.msgs...)
		})
	}
}

func TestRenderHelmChartErrors(t *testing.T) {
	chart := "apiVersion: v2\nname: c\nversion: 0.1.0\n"
	tests := []struct {
		name  string
		files map[string]string
		file  string
		msgs  []string
	}{
		{name: "template parse error", files: map[string]string{
			"repo/c/templates/ok.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n",
			"repo/c/templates/bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name \n",
		}, file: "c/templates/bad.yaml", msgs: []string{"parse error", "c/templates/bad.yaml:4"}},
		{name: "template renders invalid YAML", files: map[string]string{
			"repo/c/templates/bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: [{{ .Release.Name }}\n",
		}, file: "c/templates/bad.yaml", msgs: []string{"rendered output", "yaml: line"}},
		{name: "rendered object without kind", files: map[string]string{
			"repo/c/templates/bad.yaml": "apiVersion: v1\nmetadata:\n  name: x\n",
		}, file: "c/templates/bad.yaml", msgs: []string{"no kind"}},
		{name: "symlink out of the repository", files: map[string]string{
			"repo/c/templates/cm.yaml": "->../../../outside/cm.yaml",
			"outside/cm.yaml":          "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stolen}\n",
		}, file: "c/templates/cm.yaml", msgs: []string{"leaves the repository"}},
		{name: "symlink loop", files: map[string]string{
			"repo/c/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n",
			"repo/c/templates/loop":    "->..",
		}, file: "c/templates/loop", msgs: []string{"loop"}},
		{name: "invalid Chart.yaml", files: map[string]string{
			"repo/c/Chart.yaml": "apiVersion: v2\nname: [\n",
		}, file: "c/Chart.yaml", msgs: []string{"load chart"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"repo/c/Chart.yaml": chart}
			for k, v := range tt.files {
				files[k] = v
			}
			world := writeTree(t, files)
			_, err := Render(context.Background(), Input{Root: filepath.Join(world, "repo"), AppName: "app", Source: v1alpha1.ApplicationSource{Path: "c"}})
			wantError(t, err, tt.file, tt.msgs...)
		})
	}
}

func TestEscapeSetValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a,b", `a\,b`},
		{`a\,b`, `a\,b`},
		{"{a,b}", "{a,b}"},
		{",", `\,`},
	}
	for _, tt := range tests {
		if got := escapeSetValue(tt.in); got != tt.want {
			t.Errorf("escapeSetValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRenderHelmSymlinkedDependency(t *testing.T) {
	// Monorepos often link a shared chart into charts/; links inside the
	// repository are fine.
	root := writeTree(t, map[string]string{
		"libs/common/Chart.yaml":        "apiVersion: v2\nname: common\nversion: 1.0.0\n",
		"libs/common/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-common\n",
		"apps/c/Chart.yaml":             "apiVersion: v2\nname: c\nversion: 0.1.0\ndependencies:\n- name: common\n  version: 1.0.0\n",
		"apps/c/charts/common":          "->../../../libs/common",
	})
	objs := mustRender(t, Input{Root: root, AppName: "app", Source: v1alpha1.ApplicationSource{Path: "apps/c"}})
	if got, want := ids(objs), []string{"ConfigMap/app-common"}; !reflect.DeepEqual(got, want) {
		t.Errorf("objects = %v, want %v", got, want)
	}
}
