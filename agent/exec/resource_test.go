package exec

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	dynfake "k8s.io/client-go/dynamic/fake"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

var (
	cmGVR  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	jobGVR = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
)

// fakeKube gives the harness a fake API with ConfigMaps, Jobs and Namespaces.
func fakeKube(t *testing.T, h *harness, objs ...runtime.Object) *dynfake.FakeDynamicClient {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	dyn := dynfake.NewSimpleDynamicClient(scheme, objs...)
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, meta.RESTScopeRoot)
	mapper.Add(schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"}, meta.RESTScopeNamespace)
	h.o.KubeClients = func() (dynamic.Interface, meta.RESTMapper, error) { return dyn, mapper, nil }
	return dyn
}

func configMap(name string, labels map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("ConfigMap")
	u.SetNamespace("ns")
	u.SetName(name)
	u.SetLabels(labels)
	return u
}

func TestResourceCreateWaitAndOutputs(t *testing.T) {
	h := newHarness(t)
	dyn := fakeKube(t, h)
	def := "dflt"
	h.spec(Spec{Resource: &Resource{
		Action: "create",
		Manifest: `apiVersion: v1
kind: ConfigMap
metadata:
  name: made
data:
  ready: "yes"
  count: "3"
`,
		SuccessCondition: "data.ready == yes, data.count in (2, 3)",
		Owner:            &Owner{APIVersion: "argolite.dev/v1alpha1", Kind: "Workflow", Name: "wf", UID: "uid-1"},
		Parameters: []ResourceParameter{
			{Name: "name", JSONPath: "{.metadata.name}"},
			{Name: "missing", JSONPath: "{.metadata.nothing}"},
			{Name: "ready", JQFilter: ".data.ready"},
			{Name: "owner", JQFilter: ".metadata.ownerReferences[0] | {name, controller}"},
			{Name: "broken", JSONPath: "{.metadata[", Default: &def},
		},
	}})
	if code := h.run("resource"); code != 0 {
		t.Fatalf("exit %d: %s / %+v", code, h.stderr, h.result())
	}
	r := h.result()
	if r.Resource == nil || r.Resource.Name != "made" || r.Resource.Namespace != "ns" || r.Resource.Kind != "ConfigMap" {
		t.Fatalf("resource %+v", r.Resource)
	}
	for name, want := range map[string]string{
		"name": "made", "missing": "", "ready": "yes", "owner": `{"controller":true,"name":"wf"}`, "broken": "dflt",
	} {
		if got, ok := param(r, name); !ok || got != want {
			t.Errorf("parameter %s = %q, want %q", name, got, want)
		}
	}
	obj, err := dyn.Resource(cmGVR).Namespace("ns").Get(context.Background(), "made", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if refs := obj.GetOwnerReferences(); len(refs) != 1 || refs[0].UID != "uid-1" || refs[0].Controller == nil || !*refs[0].Controller {
		t.Fatalf("owner references %+v", refs)
	}
}

func TestResourceWaitsForSuccess(t *testing.T) {
	h := newHarness(t)
	dyn := fakeKube(t, h)
	h.spec(Spec{Resource: &Resource{
		Action: "create",
		Manifest: `{"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
		  "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "Never"}}},
		  "status": {"succeeded": 0}}`,
		SuccessCondition: "status.succeeded > 2",
		FailureCondition: "status.failed > 1",
	}})
	go func() {
		for i := 0; i < 200; i++ {
			time.Sleep(10 * time.Millisecond)
			obj, err := dyn.Resource(jobGVR).Namespace("ns").Get(context.Background(), "j", metav1.GetOptions{})
			if err != nil {
				continue
			}
			_ = unstructured.SetNestedField(obj.Object, int64(3), "status", "succeeded")
			if _, err := dyn.Resource(jobGVR).Namespace("ns").Update(context.Background(), obj, metav1.UpdateOptions{}); err == nil {
				return
			}
		}
	}()
	if code := h.run("resource"); code != 0 {
		t.Fatalf("exit %d: %+v", code, h.result())
	}
}

func TestResourceFailureCondition(t *testing.T) {
	h := newHarness(t)
	fakeKube(t, h)
	h.spec(Spec{Resource: &Resource{
		Action:           "create",
		Manifest:         "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nstatus: {failed: 2, phase: Error}\n",
		SuccessCondition: "status.succeeded > 0",
		FailureCondition: "status.phase in (Failed, Error)",
	}})
	if code := h.run("resource"); code == 0 {
		t.Fatal("succeeded although the failure condition holds")
	}
	r := h.result()
	if !strings.Contains(r.Message, "failure condition") || !strings.Contains(r.Message, "job.batch/j") || exitCodeOf(t, r) == 0 {
		t.Fatalf("result %+v", r)
	}
}

func TestResourcePatch(t *testing.T) {
	h := newHarness(t)
	dyn := fakeKube(t, h, configMap("target", nil))
	get := func() *unstructured.Unstructured {
		obj, err := dyn.Resource(cmGVR).Namespace("ns").Get(context.Background(), "target", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return obj
	}
	// Merge patch, target in flags (k8s-patch-merge-pod.yaml).
	h.spec(Spec{Resource: &Resource{Action: "patch", MergeStrategy: "merge", Flags: []string{"configmap", "target"},
		Manifest: "metadata:\n  annotations:\n    foo: bar\n"}})
	if code := h.run("resource"); code != 0 {
		t.Fatalf("merge: exit %d: %+v", code, h.result())
	}
	if get().GetAnnotations()["foo"] != "bar" {
		t.Fatal("merge patch not applied")
	}
	// JSON patch (k8s-patch-json-pod.yaml), TYPE/NAME form.
	h.spec(Spec{Resource: &Resource{Action: "patch", MergeStrategy: "json", Flags: []string{"configmaps/target"},
		Manifest: "- op: add\n  path: /metadata/annotations/baz\n  value: qux\n"}})
	if code := h.run("resource"); code != 0 {
		t.Fatalf("json: exit %d: %+v", code, h.result())
	}
	if get().GetAnnotations()["baz"] != "qux" {
		t.Fatal("json patch not applied")
	}
	if r := h.result(); r.Resource == nil || r.Resource.Name != "target" {
		t.Fatalf("resource %+v", r.Resource)
	}
	// A merge patch naming its object (k8s-patch-pod.yaml, with merge here:
	// the fake API does not do strategic merges of unstructured objects).
	h.spec(Spec{Resource: &Resource{Action: "patch", MergeStrategy: "merge",
		Manifest: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: target\n  labels: {l: v}\n"}})
	if code := h.run("resource"); code != 0 {
		t.Fatalf("manifest target: exit %d: %+v", code, h.result())
	}
	if get().GetLabels()["l"] != "v" {
		t.Fatal("patch from the manifest not applied")
	}
	// A json patch without a target in flags.
	h.spec(Spec{Resource: &Resource{Action: "patch", MergeStrategy: "json", Manifest: "- op: remove\n  path: /data\n"}})
	if code := h.run("resource"); code == 0 {
		t.Fatal("json patch without target succeeded")
	}
}

func TestResourceDelete(t *testing.T) {
	h := newHarness(t)
	dyn := fakeKube(t, h,
		configMap("a", map[string]string{"cleanup": "true"}),
		configMap("b", map[string]string{"cleanup": "true"}),
		configMap("c", map[string]string{"cleanup": "false"}),
		configMap("d", nil))
	exists := func(name string) bool {
		_, err := dyn.Resource(cmGVR).Namespace("ns").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		return err == nil
	}
	// resource-delete-with-flags.yaml
	h.spec(Spec{Resource: &Resource{Action: "delete", Flags: []string{"configmap", "--selector", "cleanup=true"}}})
	if code := h.run("resource"); code != 0 {
		t.Fatalf("exit %d: %+v", code, h.result())
	}
	if exists("a") || exists("b") || !exists("c") {
		t.Fatal("selector delete")
	}
	// By manifest; missing objects are fine (Argo passes --ignore-not-found).
	h.spec(Spec{Resource: &Resource{Action: "delete", Manifest: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\n", Flags: []string{"--wait=false"}}})
	if code := h.run("resource"); code != 0 || exists("d") {
		t.Fatalf("manifest delete: exit %d", code)
	}
	if code := h.run("resource"); code != 0 {
		t.Fatalf("deleting a missing object: exit %d", code)
	}
	h.spec(Spec{Resource: &Resource{Action: "delete", Flags: []string{"cm", "d", "--ignore-not-found=false"}}})
	if code := h.run("resource"); code == 0 {
		t.Fatal("--ignore-not-found=false on a missing object succeeded")
	}
	// Conditions make no sense for delete.
	h.spec(Spec{Resource: &Resource{Action: "delete", Flags: []string{"configmap", "c"}, SuccessCondition: "a == b"}})
	if code := h.run("resource"); code == 0 || !strings.Contains(h.result().Message, "delete") {
		t.Fatalf("delete with a condition: %+v", h.result())
	}
}

func TestResourceBadSpecs(t *testing.T) {
	h := newHarness(t)
	fakeKube(t, h)
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
	for _, tc := range []struct {
		r    Resource
		want string
	}{
		{Resource{Action: "explode", Manifest: cm}, "explode"},
		{Resource{Action: "create", Manifest: cm, SuccessCondition: "status.phase ==="}, "successCondition"},
		{Resource{Action: "create", Manifest: cm + "---\n" + cm}, "2 objects"},
		{Resource{Action: "create", Manifest: "apiVersion: v9\nkind: Nope\nmetadata: {name: x}\n"}, "Nope"},
		{Resource{Action: "apply", Manifest: "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: x-}\n"}, "metadata.name"},
		{Resource{Action: "create", Manifest: cm, Flags: []string{"--dry-run=server"}}, "--dry-run"},
		{Resource{Action: "create"}, "neither a manifest nor flags"},
		{Resource{Action: "patch", MergeStrategy: "sideways", Manifest: cm}, "sideways"},
	} {
		h.spec(Spec{Resource: &tc.r})
		if code := h.run("resource"); code == 0 {
			t.Errorf("%+v succeeded", tc.r)
			continue
		}
		if msg := h.result().Message; !strings.Contains(msg, tc.want) {
			t.Errorf("%+v: message %q lacks %q", tc.r, msg, tc.want)
		}
	}
	h.spec(Spec{})
	if code := h.run("resource"); code == 0 || !strings.Contains(h.result().Message, "no resource") {
		t.Fatal("a spec without resource")
	}
}

func TestConditions(t *testing.T) {
	obj := []byte(`{"status": {"succeeded": 3, "failed": 0, "phase": "Running", "conditions": [{"type": "Complete"}]}}`)
	for _, tc := range []struct {
		succ, fail string
		done       bool
		failed     bool
	}{
		{"status.succeeded > 2", "status.failed > 1", true, false},
		{"status.succeeded > 3", "", false, false},
		{"status.phase in (Running, Succeeded)", "", true, false},
		{"status.phase notin (Running)", "", false, false},
		{"status.phase == Running, status.succeeded == 3", "", true, false},
		{"status.phase != Running", "", false, false},
		{"status.conditions.0.type == Complete", "", true, false},
		{"status.missing", "", false, false},
		{"!status.missing", "", true, false},
		{"status.succeeded > 0", "status.phase in (Running)", false, true},
		// As in Argo: only a failure condition that does not hold is success.
		{"", "status.failed > 0", true, false},
	} {
		succ, fail, err := parseConditions(tc.succ, tc.fail)
		if err != nil {
			t.Fatalf("%q / %q: %v", tc.succ, tc.fail, err)
		}
		done, err := matchConditions(obj, succ, fail)
		if (err != nil) != tc.failed || done != tc.done {
			t.Errorf("%q / %q: done %v err %v, want done %v failed %v", tc.succ, tc.fail, done, err, tc.done, tc.failed)
		}
	}
	if _, _, err := parseConditions("status.phase ===", ""); err == nil || !strings.Contains(err.Error(), "successCondition") {
		t.Fatalf("bad condition: %v", err)
	}
}

func TestJSONPathAndJQ(t *testing.T) {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "batch/v1", "kind": "Job",
		"metadata": map[string]any{"name": "j", "labels": map[string]any{"a": "1"},
			"managedFields": []any{map[string]any{"manager": "x"}}},
		"status": map[string]any{"succeeded": int64(3), "items": []any{"x", "y"}},
	}}
	params, err := resourceParameters(context.Background(), obj, []ResourceParameter{
		{Name: "name", JSONPath: "{.metadata.name}"},
		{Name: "num", JSONPath: "{.status.succeeded}"},
		{Name: "list", JSONPath: "{.status.items[*]}"},
		{Name: "range", JSONPath: `{range .status.items[*]}{@}{"\n"}{end}`},
		{Name: "obj", JQFilter: ".metadata"},
		{Name: "lines", JQFilter: ".status.items[]"},
		{Name: "n", JQFilter: ".status.succeeded"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"name": "j", "num": "3", "list": "x y", "range": "x\ny\n",
		"obj": `{"labels":{"a":"1"},"name":"j"}`, "lines": "x\ny", "n": "3",
	}
	for _, p := range params {
		if p.Value != want[p.Name] {
			t.Errorf("%s = %q, want %q", p.Name, p.Value, want[p.Name])
		}
	}
	if _, err := resourceParameters(context.Background(), obj, []ResourceParameter{{Name: "bad", JQFilter: ".["}}); err == nil || !strings.Contains(err.Error(), `"bad"`) {
		t.Fatalf("bad jq: %v", err)
	}
	if _, err := resourceParameters(context.Background(), obj, []ResourceParameter{{Name: "none"}}); err == nil {
		t.Fatal("a parameter without jsonPath or jqFilter")
	}
}

func TestKubeFlags(t *testing.T) {
	f, err := parseKubeFlags([]string{"configmap", "-l", "a=b", "--namespace=other", "--wait=false", "--grace-period", "5",
		"--cascade=foreground", "--validate=false", "--timeout", "30s", "--server-side", "-nlast"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.args, " ") != "configmap" || f.selector != "a=b" || f.namespace != "last" || f.wait ||
		f.gracePeriod == nil || *f.gracePeriod != 5 || f.propagation != metav1.DeletePropagationForeground ||
		f.validation != metav1.FieldValidationIgnore || f.timeout != 30*time.Second || !f.ignoreNotFound {
		t.Fatalf("parsed %+v", f)
	}
	d, _ := parseKubeFlags(nil)
	if !d.wait || !d.ignoreNotFound || d.validation != metav1.FieldValidationStrict || d.manager() != FieldManager {
		t.Fatalf("defaults %+v", d)
	}
	for _, bad := range [][]string{{"--dry-run"}, {"-n"}, {"--wait=maybe"}, {"--cascade=sideways"}, {"--timeout", "soon"}} {
		if _, err := parseKubeFlags(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
