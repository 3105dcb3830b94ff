package appsource

import (
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

func parse(t *testing.T, docs ...string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, d := range docs {
		o := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(d), &o.Object); err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

func mapper() meta.RESTMapper {
	m := meta.NewDefaultRESTMapper(nil)
	m.Add(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, meta.RESTScopeNamespace)
	m.Add(schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, meta.RESTScopeRoot)
	m.Add(schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"}, meta.RESTScopeNamespace)
	m.Add(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}, meta.RESTScopeRoot)
	return m
}

func TestPrepare(t *testing.T) {
	app := &argov1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "web"},
		Spec: argov1.ApplicationSpec{Destination: argov1.ApplicationDestination{Namespace: "prod"}}}
	objs := parse(t,
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: other}",
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: prod, namespace: ignored}",
		"apiVersion: example.dev/v1\nkind: Widget\nmetadata: {name: w}",
		"apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.dev}\nspec: {group: example.dev, scope: Namespaced, names: {kind: Widget}}",
		"apiVersion: batch/v1\nkind: Job\nmetadata: {generateName: pre-, annotations: {argocd.argoproj.io/hook: PreSync}}",
		"apiVersion: batch/v1\nkind: Job\nmetadata: {name: skipped, annotations: {argolite.dev/hook: Skip}}",
	)
	out, err := Prepare(app, objs, mapper())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range out.Objects {
		got = append(got, Describe(o))
		if o.GetLabels()[argov1.LabelAppName] != "web" || o.GetLabels()[argov1.LabelAppNamespace] != "team" {
			t.Errorf("%s lacks the owner labels: %v", Describe(o), o.GetLabels())
		}
	}
	want := "Namespace/prod CustomResourceDefinition/widgets.example.dev ConfigMap/other/a ConfigMap/prod/b Widget/prod/w"
	if strings.Join(got, " ") != want {
		t.Errorf("objects = %s\nwant      %s", strings.Join(got, " "), want)
	}
	if len(out.Hooks) != 1 || out.Hooks[0].GetGenerateName() != "pre-" || out.Hooks[0].GetNamespace() != "prod" {
		t.Errorf("hooks = %v, want the PreSync Job in prod (Skip dropped)", out.Hooks)
	}

	_, err = Prepare(app, parse(t, "apiVersion: nowhere.dev/v1\nkind: Thing\nmetadata: {name: t}"), mapper())
	var unknown *UnknownKindError
	if !errors.As(err, &unknown) || !strings.Contains(err.Error(), "install its CRD first") {
		t.Errorf("unknown kind: %v", err)
	}
	_, err = Prepare(app, parse(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}"), mapper())
	var dup *DuplicateError
	if !errors.As(err, &dup) || dup.Object != "ConfigMap/prod/x" {
		t.Errorf("duplicate: %v", err)
	}
	// A resource with only generateName cannot be applied: say so instead of
	// the API server's "resource name may not be empty".
	_, err = Prepare(app, parse(t, "apiVersion: batch/v1\nkind: Job\nmetadata: {generateName: once-}"), mapper())
	var noName *NoNameError
	if !errors.As(err, &noName) || !strings.Contains(err.Error(), "only hooks may use generateName") {
		t.Errorf("generateName resource: %v", err)
	}
}

func TestSources(t *testing.T) {
	app := &argov1.Application{Spec: argov1.ApplicationSpec{Sources: []argov1.ApplicationSource{
		{RepoURL: "values", Ref: "values", TargetRevision: "main"},
		{RepoURL: "chart", Path: "chart", TargetRevision: "main"},
	}}}
	got := Sources(app, &argov1.SyncOperation{Revision: "v2"})
	if got[0].TargetRevision != "main" || got[1].TargetRevision != "v2" {
		t.Errorf("an operation's revision goes to the first rendered source only: %+v", got)
	}
	if app.Spec.Sources[1].TargetRevision != "main" {
		t.Error("Sources changed the spec")
	}
	rollback := &argov1.SyncOperation{Source: &argov1.ApplicationSource{RepoURL: "old", Path: "p"}}
	if got := Sources(app, rollback); len(got) != 1 || got[0].RepoURL != "old" {
		t.Errorf("an operation's source replaces the spec's: %+v", got)
	}
}

func TestInventoryRoundTrip(t *testing.T) {
	o := parse(t, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: team}")[0]
	entries := Inventory([]*unstructured.Unstructured{o})
	if entries[0].ID != "team_web_apps_Deployment" || entries[0].Version != "v1" {
		t.Fatalf("inventory entry %+v", entries[0])
	}
	back, err := InventoryObject(entries[0])
	if err != nil || ObjectID(back) != ObjectID(o) || back.GetAPIVersion() != "apps/v1" {
		t.Errorf("InventoryObject = %v (%v)", back, err)
	}
	if _, err := InventoryObject(argov1.InventoryEntry{ID: "bad", Version: "v1"}); err == nil {
		t.Error("a malformed inventory id is accepted")
	}
}
