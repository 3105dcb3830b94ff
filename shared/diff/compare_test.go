package diff

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/argolite/argolite/shared/api/v1alpha1"
)

func TestNormalizeDropsNoise(t *testing.T) {
	in := obj(t, `
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
  namespace: ops
  uid: 0b5c2d1e-1111-2222-3333-444455556666
  resourceVersion: "4711"
  generation: 3
  creationTimestamp: "2026-01-02T03:04:05Z"
  deletionTimestamp: "2026-01-03T03:04:05Z"
  deletionGracePeriodSeconds: 30
  selfLink: /apis/apps/v1/namespaces/ops/daemonsets/agent
  labels:
    app: agent
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"kind":"DaemonSet"}'
    deprecated.daemonset.template.generation: "3"
  managedFields:
  - manager: argolite
    operation: Apply
    fieldsV1:
      f:spec: {}
spec:
  minReadySeconds: 5
status:
  numberReady: 1
`)
	want := `apiVersion: apps/v1
kind: DaemonSet
metadata:
  labels:
    app: agent
  name: agent
  namespace: ops
spec:
  minReadySeconds: 5
`
	got, err := Normalize(in, nil, nil)
	if err != nil {
		t.Fatalf("Normalize: %v", err)
	}
	if y := toYAML(t, got); y != want {
		t.Errorf("Normalize:\n%s\nwant:\n%s", y, want)
	}
	if _, ok := in.Object["status"]; !ok {
		t.Error("Normalize changed its input")
	}
	if n, err := Normalize(nil, nil, nil); n != nil || err != nil {
		t.Errorf("Normalize(nil) = %v, %v", n, err)
	}
}

func TestNormalizeKeepsOtherAnnotations(t *testing.T) {
	got, err := Normalize(obj(t, `
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{}'
    team: shop
`), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ann := got.GetAnnotations(); len(ann) != 1 || ann["team"] != "shop" {
		t.Errorf("annotations = %v, want only team", ann)
	}
}

func TestCompare(t *testing.T) {
	replicasByHPA := v1alpha1.ResourceIgnoreDifferences{Group: "apps", Kind: "Deployment", ManagedFieldsManagers: []string{"kube-controller-manager"}}
	live := liveDeployment(t)
	tests := []struct {
		name          string
		live, desired string // "" is a missing object
		rules         []v1alpha1.ResourceIgnoreDifferences
		modified      bool
		paths         []string
	}{
		{"same object", live, live, nil, false, nil},
		{"noise only", live, strings.Replace(live, "  name: web\n", "  name: web\n  resourceVersion: \"9\"\n  generation: 4\n", 1) + "status:\n  replicas: 1\n", nil, false, nil},
		{"replicas differ", strings.Replace(live, "replicas: 3", "replicas: 5", 1), live, nil, true, []string{".spec.replicas"}},
		{"replicas owned by the HPA are ignored", strings.Replace(live, "replicas: 3", "replicas: 5", 1), live, []v1alpha1.ResourceIgnoreDifferences{replicasByHPA}, false, nil},
		{"changed label", live, strings.Replace(live, "app.kubernetes.io/name: web", "app.kubernetes.io/name: shop", 1), nil, true, []string{`.metadata.labels["app.kubernetes.io/name"]`}},
		{"added label", live, strings.Replace(live, "  labels:\n", "  labels:\n    tier: front\n", 1), nil, true, []string{".metadata.labels.tier"}},
		{"image and a removed container", live, strings.Replace(strings.Replace(live, "web:1", "web:2", 1), "      - name: sidecar\n        image: proxy:1\n", "", 1), nil, true,
			[]string{".spec.template.spec.containers"}},
		{"image", live, strings.Replace(live, "web:1", "web:2", 1), nil, true, []string{".spec.template.spec.containers[0].image"}},
		{"missing live", "", live, nil, true, nil},
		{"extra live", live, "", nil, true, nil},
		{"both missing", "", "", nil, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ign := ignorer(t, tt.rules...)
			var l, d *unstructured.Unstructured
			if tt.live != "" {
				l = obj(t, tt.live)
			}
			if tt.desired != "" {
				d = obj(t, tt.desired)
			}
			r, err := Compare(l, d, ign)
			if err != nil {
				t.Fatalf("Compare: %v", err)
			}
			if r.Modified != tt.modified {
				t.Errorf("Modified = %v, want %v", r.Modified, tt.modified)
			}
			if strings.Join(r.Paths, " ") != strings.Join(tt.paths, " ") {
				t.Errorf("Paths = %q, want %q", r.Paths, tt.paths)
			}
			if (r.Live == nil) != (tt.live == "") || (r.Desired == nil) != (tt.desired == "") {
				t.Errorf("Live %v, Desired %v: a normalized object must be there exactly when its input is", r.Live != nil, r.Desired != nil)
			}
			if r.Live != nil && r.Live.Object["metadata"].(map[string]any)["managedFields"] != nil {
				t.Error("Result.Live is not normalized")
			}
		})
	}
}

func TestComparePathsAreBounded(t *testing.T) {
	var a, b strings.Builder
	a.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n")
	b.WriteString(a.String())
	for i := range 15 {
		a.WriteString("  k" + string(rune('a'+i)) + ": old\n")
		b.WriteString("  k" + string(rune('a'+i)) + ": new\n")
	}
	r, err := Compare(obj(t, a.String()), obj(t, b.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Modified || len(r.Paths) != 10 || r.Paths[0] != ".data.ka" || r.Paths[9] != ".data.kj" {
		t.Errorf("Modified %v, Paths %q: want the first 10 of 15", r.Modified, r.Paths)
	}
}

func TestCompareIgnoreError(t *testing.T) {
	ign := ignorer(t, v1alpha1.ResourceIgnoreDifferences{Group: "apps", Kind: "Deployment", JQPathExpressions: []string{`if .spec then .spec.replicas + 1 else .x end`}})
	_, err := Compare(obj(t, deployment), obj(t, deployment), ign)
	if err == nil || !strings.Contains(err.Error(), "ignoreDifferences[0].jqPathExpressions[0]") {
		t.Errorf("error = %v, want one naming the rule", err)
	}
}

func BenchmarkCompare(b *testing.B) {
	rules := ignorer(b,
		v1alpha1.ResourceIgnoreDifferences{Group: "apps", Kind: "Deployment", ManagedFieldsManagers: []string{"kube-controller-manager"}},
		v1alpha1.ResourceIgnoreDifferences{Group: "apps", Kind: "Deployment", JQPathExpressions: []string{`.spec.template.spec.initContainers[] | select(.name == "injected")`}},
		v1alpha1.ResourceIgnoreDifferences{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/metadata/annotations/a~0b"}},
	)
	live := obj(b, liveDeployment(b))
	desired := obj(b, strings.Replace(liveDeployment(b), "web:1", "web:2", 1))
	for _, bc := range []struct {
		name string
		ign  *Ignorer
	}{{"no rules", nil}, {"pointer, jq and managers", rules}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r, err := Compare(live, desired, bc.ign)
				if err != nil || !r.Modified {
					b.Fatalf("Compare: %v %v", r.Modified, err)
				}
			}
		})
	}
}

func TestFieldPathString(t *testing.T) {
	tests := map[string]fieldPath{
		".":                         {},
		".spec.replicas":            {"spec", "replicas"},
		".spec.containers[0].image": {"spec", "containers", 0, "image"},
		`.metadata.labels["a.b/c"]`: {"metadata", "labels", "a.b/c"},
		`.data["0key"]`:             {"data", "0key"},
		`.data[""]`:                 {"data", ""},
		".data._under_9":            {"data", "_under_9"},
	}
	for want, p := range tests {
		if got := p.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", p, got, want)
		}
	}
}
