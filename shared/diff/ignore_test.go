package diff

import (
	"errors"
	"strings"
	"testing"

	"github.com/itchyny/gojq"

	"github.com/argolite/argolite/shared/api/v1alpha1"
)

const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels:
    app.kubernetes.io/name: web
  annotations:
    a~b: tilde
spec:
  replicas: 3
  template:
    spec:
      initContainers:
      - name: injected
        image: proxy-init:1
      - name: setup
        image: busybox
      containers:
      - name: app
        image: web:1
        ports:
        - containerPort: 8080
          protocol: TCP
        - containerPort: 9090
          protocol: TCP
      - name: sidecar
        image: proxy:1
`

func TestNewIgnorerErrors(t *testing.T) {
	tests := []struct {
		name string
		rule v1alpha1.ResourceIgnoreDifferences
		want string
	}{
		{"jq parse error", v1alpha1.ResourceIgnoreDifferences{Kind: "Deployment", JQPathExpressions: []string{".spec.replicas", ".spec.x["}},
			`ignoreDifferences[1].jqPathExpressions[1] ".spec.x[": parse error at offset 8: unexpected EOF; fix the Application spec`},
		{"jq unknown function", v1alpha1.ResourceIgnoreDifferences{Kind: "Deployment", JQPathExpressions: []string{"nope(.spec)"}},
			`ignoreDifferences[1].jqPathExpressions[0] "nope(.spec)": compile error: function not defined: nope/1; fix the Application spec`},
		{"jq not a path", v1alpha1.ResourceIgnoreDifferences{Kind: "Deployment", JQPathExpressions: []string{".spec.replicas | tostring"}},
			`ignoreDifferences[1].jqPathExpressions[0] ".spec.replicas | tostring": the expression computes a value instead of selecting fields; write a path expression such as .spec.replicas`},
		{"pointer without slash", v1alpha1.ResourceIgnoreDifferences{Kind: "Deployment", JSONPointers: []string{"spec/replicas"}},
			`ignoreDifferences[1].jsonPointers[0] "spec/replicas": a JSON pointer starts with "/"`},
		{"pointer bad escape", v1alpha1.ResourceIgnoreDifferences{Kind: "Deployment", JSONPointers: []string{"/metadata/labels/a~2b"}},
			`ignoreDifferences[1].jsonPointers[0] "/metadata/labels/a~2b": "~" must be followed by 0`},
		{"empty pointer", v1alpha1.ResourceIgnoreDifferences{Kind: "Deployment", JSONPointers: []string{""}},
			`ignoreDifferences[1].jsonPointers[0] "": the whole object cannot be ignored`},
		{"empty kind", v1alpha1.ResourceIgnoreDifferences{JSONPointers: []string{"/spec"}},
			`ignoreDifferences[1].kind is empty; name a kind, or "*" for every kind; fix the Application spec`},
		{"bad kind glob", v1alpha1.ResourceIgnoreDifferences{Kind: "Deploy[ment"},
			`ignoreDifferences[1].kind "Deploy[ment": `},
		{"empty manager", v1alpha1.ResourceIgnoreDifferences{Kind: "Deployment", ManagedFieldsManagers: []string{""}},
			`ignoreDifferences[1].managedFieldsManagers[0] is empty`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok := v1alpha1.ResourceIgnoreDifferences{Kind: "ConfigMap", JSONPointers: []string{"/data"}}
			ign, err := NewIgnorer([]v1alpha1.ResourceIgnoreDifferences{ok, tt.rule})
			if err == nil {
				t.Fatalf("NewIgnorer accepted the rule: %+v", ign)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error:\n got %s\nwant prefix %s", err, tt.want)
			}
			if !strings.HasSuffix(err.Error(), "; fix the Application spec") {
				t.Errorf("error does not say what to do: %s", err)
			}
		})
	}
}

func TestNewIgnorerWrapsParseError(t *testing.T) {
	_, err := NewIgnorer([]v1alpha1.ResourceIgnoreDifferences{{Kind: "Deployment", JQPathExpressions: []string{".a |"}}})
	var pe *gojq.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v does not wrap *gojq.ParseError", err)
	}
}

func TestNewIgnorerJQTimeout(t *testing.T) {
	_, err := NewIgnorer([]v1alpha1.ResourceIgnoreDifferences{{Kind: "Deployment", JQPathExpressions: []string{"repeat(.)"}}})
	if err == nil || !strings.Contains(err.Error(), "timed out after 1s") {
		t.Fatalf("error = %v, want a timeout", err)
	}
}

func TestApplyJSONPointers(t *testing.T) {
	tests := []struct {
		name     string
		pointers []string
		check    func(t *testing.T, got map[string]any)
	}{
		{"scalar", []string{"/spec/replicas"}, func(t *testing.T, got map[string]any) {
			if _, ok := get(got, fieldPath{"spec", "replicas"}); ok {
				t.Error("spec.replicas still present")
			}
		}},
		{"~1 escapes a slash", []string{"/metadata/labels/app.kubernetes.io~1name"}, func(t *testing.T, got map[string]any) {
			if _, ok := get(got, fieldPath{"metadata", "labels"}); ok {
				t.Error("labels should be gone: its only label was removed")
			}
			if _, ok := get(got, fieldPath{"metadata", "name"}); !ok {
				t.Error("metadata.name was removed")
			}
		}},
		{"~0 escapes a tilde", []string{"/metadata/annotations/a~0b"}, func(t *testing.T, got map[string]any) {
			if _, ok := get(got, fieldPath{"metadata", "annotations"}); ok {
				t.Error(`annotation "a~b" still present`)
			}
		}},
		{"list index", []string{"/spec/template/spec/containers/1"}, func(t *testing.T, got map[string]any) {
			list, _ := get(got, fieldPath{"spec", "template", "spec", "containers"})
			if l, _ := list.([]any); len(l) != 1 || l[0].(map[string]any)["name"] != "app" {
				t.Errorf("containers = %v, want only app", list)
			}
		}},
		{"two indexes of one list mean the original items", []string{"/spec/template/spec/containers/0/ports/0", "/spec/template/spec/containers/0/ports/1"}, func(t *testing.T, got map[string]any) {
			if _, ok := get(got, fieldPath{"spec", "template", "spec", "containers", 0, "ports"}); ok {
				t.Error("ports should be gone")
			}
		}},
		{"missing path is not an error", []string{"/spec/missing/x", "/spec/template/spec/containers/9", "/spec/template/spec/containers/01", "/spec/replicas/x"}, func(t *testing.T, got map[string]any) {
			want := obj(t, deployment).Object
			if !equal(got, want) {
				t.Error("the object changed")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ign := ignorer(t, v1alpha1.ResourceIgnoreDifferences{Group: "apps", Kind: "Deployment", JSONPointers: tt.pointers})
			o := obj(t, deployment)
			if err := ign.Apply(o, nil); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			tt.check(t, o.Object)
		})
	}
}

func TestApplyJQPathExpressions(t *testing.T) {
	names := func(got map[string]any, list string) []string {
		l, _ := get(got, fieldPath{"spec", "template", "spec", list})
		var out []string
		items, _ := l.([]any)
		for _, c := range items {
			out = append(out, c.(map[string]any)["name"].(string))
		}
		return out
	}
	tests := []struct {
		name  string
		exprs []string
		check func(t *testing.T, got map[string]any)
	}{
		{"select a list item", []string{`.spec.template.spec.initContainers[] | select(.name == "injected")`}, func(t *testing.T, got map[string]any) {
			if n := names(got, "initContainers"); strings.Join(n, ",") != "setup" {
				t.Errorf("initContainers = %v, want [setup]", n)
			}
		}},
		{"select every item empties the list", []string{`.spec.template.spec.initContainers[] | select(.image != "")`}, func(t *testing.T, got map[string]any) {
			if _, ok := get(got, fieldPath{"spec", "template", "spec", "initContainers"}); ok {
				t.Error("initContainers should be gone")
			}
		}},
		{"an item left empty is removed", []string{`.spec.template.spec.initContainers[0].name`, `.spec.template.spec.initContainers[0].image`}, func(t *testing.T, got map[string]any) {
			if n := names(got, "initContainers"); strings.Join(n, ",") != "setup" {
				t.Errorf("initContainers = %v, want [setup]", n)
			}
		}},
		{"a field of every item", []string{`.spec.template.spec.containers[].image`}, func(t *testing.T, got map[string]any) {
			for i := range 2 {
				if _, ok := get(got, fieldPath{"spec", "template", "spec", "containers", i, "image"}); ok {
					t.Errorf("containers[%d].image still present", i)
				}
			}
			if n := names(got, "containers"); len(n) != 2 {
				t.Errorf("containers = %v, want both", n)
			}
		}},
		{"quoted key", []string{`.metadata.labels["app.kubernetes.io/name"]`}, func(t *testing.T, got map[string]any) {
			if _, ok := get(got, fieldPath{"metadata", "labels"}); ok {
				t.Error("labels still present")
			}
		}},
		{"negative index", []string{`.spec.template.spec.containers[-1]`}, func(t *testing.T, got map[string]any) {
			if n := names(got, "containers"); strings.Join(n, ",") != "app" {
				t.Errorf("containers = %v, want [app]", n)
			}
		}},
		{"slice", []string{`.spec.template.spec.initContainers[1:]`}, func(t *testing.T, got map[string]any) {
			if n := names(got, "initContainers"); strings.Join(n, ",") != "injected" {
				t.Errorf("initContainers = %v, want [injected]", n)
			}
		}},
		{"iterating a missing list selects nothing", []string{`.spec.template.spec.volumes[] | select(.name == "x")`, `.spec.replicas.x`}, func(t *testing.T, got map[string]any) {
			if !equal(got, obj(t, deployment).Object) {
				t.Error("the object changed")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ign := ignorer(t, v1alpha1.ResourceIgnoreDifferences{Group: "apps", Kind: "Deployment", JQPathExpressions: tt.exprs})
			o := obj(t, deployment)
			if err := ign.Apply(o, nil); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			tt.check(t, o.Object)
		})
	}
}

func TestApplyJQNotAPathOnData(t *testing.T) {
	// Selects a field of {} but computes a value on the real object.
	ign := ignorer(t, v1alpha1.ResourceIgnoreDifferences{Group: "apps", Kind: "Deployment",
		JQPathExpressions: []string{`if .spec then .spec.replicas + 1 else .x end`}})
	err := ign.Apply(obj(t, deployment), nil)
	want := `Deployment.apps shop/web: ignoreDifferences[0].jqPathExpressions[0] "if .spec then .spec.replicas + 1 else .x end": the expression computes a value instead of selecting fields`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error:\n got %v\nwant prefix %s", err, want)
	}
	if !errors.Is(err, errNotAPath) {
		t.Errorf("error %v does not wrap errNotAPath", err)
	}
}

func TestJQDoesNotSeeTheEnvironment(t *testing.T) {
	t.Setenv("ARGOLITE_TEST_SECRET", "replicas")
	// With the environment, this would select .spec.replicas.
	ign := ignorer(t, v1alpha1.ResourceIgnoreDifferences{Group: "apps", Kind: "Deployment",
		JQPathExpressions: []string{`.spec[$ENV.ARGOLITE_TEST_SECRET // "none"]`, `.spec[env.ARGOLITE_TEST_SECRET // "none"]`}})
	o := obj(t, deployment)
	if err := ign.Apply(o, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := get(o.Object, fieldPath{"spec", "replicas"}); !ok {
		t.Error("a jq expression read the agent's environment")
	}
}

// hpaManagedFields is what a Deployment scaled by an HPA carries: argolite
// applied the manifest, then kube-controller-manager took spec.replicas
// through the scale subresource, and a mutating controller added a sidecar
// container and a port under its own manager.
const hpaManagedFields = `
  managedFields:
  - manager: argolite
    operation: Apply
    apiVersion: apps/v1
    time: "2026-01-02T03:04:05Z"
    fieldsType: FieldsV1
    fieldsV1:
      f:metadata:
        f:labels:
          f:app.kubernetes.io/name: {}
      f:spec:
        f:template:
          f:spec:
            f:containers:
              k:{"name":"app"}:
                .: {}
                f:image: {}
                f:name: {}
  - manager: kube-controller-manager
    operation: Update
    subresource: scale
    apiVersion: apps/v1
    time: "2026-01-02T03:05:00Z"
    fieldsType: FieldsV1
    fieldsV1:
      f:spec:
        f:replicas: {}
  - manager: sidecar-injector
    operation: Update
    apiVersion: apps/v1
    time: "2026-01-02T03:05:01Z"
    fieldsType: FieldsV1
    fieldsV1:
      f:spec:
        f:template:
          f:spec:
            f:containers:
              k:{"name":"app"}:
                f:ports:
                  k:{"containerPort":9090,"protocol":"TCP"}:
                    .: {}
                    f:containerPort: {}
                    f:protocol: {}
              k:{"name":"sidecar"}:
                .: {}
                f:image: {}
                f:name: {}
`

func liveDeployment(t testing.TB) string {
	t.Helper()
	return strings.Replace(deployment, "  annotations:\n", hpaManagedFields[1:]+"  annotations:\n", 1)
}

func TestApplyManagedFieldsManagers(t *testing.T) {
	tests := []struct {
		name     string
		managers []string
		check    func(t *testing.T, got map[string]any)
	}{
		{"HPA owns replicas", []string{"kube-controller-manager"}, func(t *testing.T, got map[string]any) {
			if _, ok := get(got, fieldPath{"spec", "replicas"}); ok {
				t.Error("spec.replicas still present")
			}
			if _, ok := get(got, fieldPath{"spec", "template", "spec", "containers", 1}); !ok {
				t.Error("the sidecar was removed, but its manager is not ignored")
			}
		}},
		{"keyed list items", []string{"sidecar-injector"}, func(t *testing.T, got map[string]any) {
			cs, _ := get(got, fieldPath{"spec", "template", "spec", "containers"})
			list, _ := cs.([]any)
			if len(list) != 1 || list[0].(map[string]any)["name"] != "app" {
				t.Fatalf("containers = %v, want only app", cs)
			}
			ports, _ := get(got, fieldPath{"spec", "template", "spec", "containers", 0, "ports"})
			pl, _ := ports.([]any)
			if len(pl) != 1 || !equal(pl[0].(map[string]any)["containerPort"], 8080) {
				t.Errorf("ports = %v, want only 8080", ports)
			}
			if _, ok := get(got, fieldPath{"spec", "replicas"}); !ok {
				t.Error("spec.replicas was removed, but its manager is not ignored")
			}
		}},
		{"unknown manager", []string{"nobody"}, func(t *testing.T, got map[string]any) {
			want := obj(t, liveDeployment(t)).Object
			if !equal(got, want) {
				t.Error("the object changed")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ign := ignorer(t, v1alpha1.ResourceIgnoreDifferences{Group: "apps", Kind: "Deployment", ManagedFieldsManagers: tt.managers})
			o := obj(t, liveDeployment(t))
			if err := ign.Apply(o, nil); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			tt.check(t, o.Object)
		})
	}
}

func TestApplyManagedFieldsFromLive(t *testing.T) {
	// The desired object has no managedFields of kube-controller-manager;
	// live's decide, and keyed items are found where desired has them.
	ign := ignorer(t, v1alpha1.ResourceIgnoreDifferences{Group: "apps", Kind: "Deployment",
		ManagedFieldsManagers: []string{"kube-controller-manager", "sidecar-injector"}})
	desired := obj(t, deployment)
	cs := desired.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	list := cs["containers"].([]any)
	cs["containers"] = []any{list[1], list[0]} // sidecar first
	if err := ign.Apply(desired, obj(t, liveDeployment(t))); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if _, ok := get(desired.Object, fieldPath{"spec", "replicas"}); ok {
		t.Error("spec.replicas still present")
	}
	got, _ := get(desired.Object, fieldPath{"spec", "template", "spec", "containers"})
	if l, _ := got.([]any); len(l) != 1 || l[0].(map[string]any)["name"] != "app" {
		t.Errorf("containers = %v, want only app", got)
	}
}

func TestApplyBadManagedFields(t *testing.T) {
	live := obj(t, `
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  namespace: ns
  managedFields:
  - manager: m
    fieldsV1:
      f:data:
        bad: {}
`)
	ign := ignorer(t, v1alpha1.ResourceIgnoreDifferences{Kind: "ConfigMap", ManagedFieldsManagers: []string{"m"}})
	err := ign.Apply(live, nil)
	if err == nil || !strings.HasPrefix(err.Error(), `ConfigMap ns/c: reading managedFieldsManagers: metadata.managedFields[0] (manager "m"): fieldsV1: `) {
		t.Fatalf("error = %v", err)
	}
}

func TestMatches(t *testing.T) {
	ign := ignorer(t,
		v1alpha1.ResourceIgnoreDifferences{Group: "apps", Kind: "Deployment"},
		v1alpha1.ResourceIgnoreDifferences{Kind: "ConfigMap"},
		v1alpha1.ResourceIgnoreDifferences{Group: "*", Kind: "*", Name: "web"},
		v1alpha1.ResourceIgnoreDifferences{Group: "apps", Kind: "*Set", Namespace: "shop"},
		v1alpha1.ResourceIgnoreDifferences{Group: "*.k8s.io", Kind: "Ingress"},
	)
	tests := []struct {
		apiVersion, kind, ns, name string
		want                       string
	}{
		{"apps/v1", "Deployment", "shop", "web", "0,2"},
		{"apps/v1", "Deployment", "shop", "api", "0"},
		{"v1", "ConfigMap", "other", "cfg", "1"},
		{"example.com/v1", "ConfigMap", "other", "cfg", ""}, // group empty = core only
		{"apps/v1", "StatefulSet", "shop", "db", "3"},
		{"apps/v1", "DaemonSet", "other", "db", ""},
		{"networking.k8s.io/v1", "Ingress", "shop", "web", "2,4"},
		{"v1", "Namespace", "", "web", "2"},
	}
	for _, tt := range tests {
		o := obj(t, "apiVersion: "+tt.apiVersion+"\nkind: "+tt.kind+"\nmetadata:\n  name: "+tt.name+"\n  namespace: '"+tt.ns+"'\n")
		var got []string
		for _, i := range ign.Matches(o) {
			got = append(got, string(rune('0'+i)))
		}
		if strings.Join(got, ",") != tt.want {
			t.Errorf("Matches(%s %s %s/%s) = %v, want %s", tt.apiVersion, tt.kind, tt.ns, tt.name, got, tt.want)
		}
	}
	var none *Ignorer
	if got := none.Matches(obj(t, deployment)); got != nil {
		t.Errorf("nil Ignorer matches %v", got)
	}
}

func TestStrip(t *testing.T) {
	ign := ignorer(t, v1alpha1.ResourceIgnoreDifferences{Group: "apps", Kind: "Deployment",
		ManagedFieldsManagers: []string{"kube-controller-manager", "sidecar-injector"},
		JSONPointers:          []string{"/metadata/annotations"},
	})
	live := obj(t, strings.Replace(liveDeployment(t), "replicas: 3", "replicas: 7", 1))
	delete(live.Object["metadata"].(map[string]any), "annotations")
	desired := obj(t, strings.Replace(deployment, "      - name: sidecar\n        image: proxy:1\n", "", 1))

	if err := ign.Strip(desired, nil); err != nil {
		t.Fatalf("Strip without live: %v", err)
	}
	if !equal(desired.Object, obj(t, strings.Replace(deployment, "      - name: sidecar\n        image: proxy:1\n", "", 1)).Object) {
		t.Fatal("Strip changed desired although live is missing")
	}

	if err := ign.Strip(desired, live); err != nil {
		t.Fatalf("Strip: %v", err)
	}
	if got, _ := get(desired.Object, fieldPath{"spec", "replicas"}); !equal(got, 7) {
		t.Errorf("spec.replicas = %v, want live's 7", got)
	}
	if _, ok := get(desired.Object, fieldPath{"metadata", "annotations"}); ok {
		t.Error("annotations live does not have are still in desired")
	}
	cs, _ := get(desired.Object, fieldPath{"spec", "template", "spec", "containers"})
	if l, _ := cs.([]any); len(l) != 1 {
		t.Errorf("containers = %v: the injected sidecar must not be added to desired", cs)
	}
	if got, _ := get(desired.Object, fieldPath{"spec", "template", "spec", "containers", 0, "ports", 1, "containerPort"}); !equal(got, 9090) {
		t.Errorf("port 9090 = %v: the port desired has keeps live's value", got)
	}
}
