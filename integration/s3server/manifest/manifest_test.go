package s3manifest

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestCopyIsCurrent(t *testing.T) {
	src, err := os.ReadFile("../manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src, manifest) {
		t.Fatal("manifest/manifest.yaml differs from integration/s3server/manifest.yaml: run go generate ./integration/s3server/manifest")
	}
}

func TestObjects(t *testing.T) {
	objs, err := Objects()
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		if o.GetNamespace() != "" {
			t.Errorf("%s %s has namespace %q; tests choose it", o.GetKind(), o.GetName(), o.GetNamespace())
		}
		byKind[o.GetKind()] = o
	}
	if len(objs) != 3 || byKind["Secret"] == nil || byKind["Service"] == nil || byKind["Deployment"] == nil {
		t.Fatalf("want a Secret, a Service and a Deployment, got %d objects: %v", len(objs), byKind)
	}

	sec := byKind["Secret"]
	if sec.GetName() != SecretName {
		t.Errorf("Secret %q, want %q", sec.GetName(), SecretName)
	}
	data, _, _ := unstructured.NestedStringMap(sec.Object, "stringData")
	if data[AccessKeyKey] != AccessKey || data[SecretKeyKey] != SecretKey {
		t.Errorf("Secret data %v", data)
	}

	svc := byKind["Service"]
	ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
	if svc.GetName() != Name || len(ports) != 1 || ports[0].(map[string]any)["port"] != int64(Port) {
		t.Errorf("Service %s ports %v", svc.GetName(), ports)
	}

	dep := byKind["Deployment"]
	if dep.GetName() != Name {
		t.Errorf("Deployment %q", dep.GetName())
	}
	if r, _, _ := unstructured.NestedInt64(dep.Object, "spec", "replicas"); r != 1 {
		t.Errorf("replicas %d", r)
	}
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	if len(containers) != 1 {
		t.Fatalf("containers %v", containers)
	}
	c := containers[0].(map[string]any)
	if c["image"] != Image || c["imagePullPolicy"] != "IfNotPresent" {
		t.Errorf("image %v, pull policy %v", c["image"], c["imagePullPolicy"])
	}
	if _, ok, _ := unstructured.NestedMap(c, "readinessProbe"); !ok {
		t.Error("no readiness probe")
	}
	req, _, _ := unstructured.NestedStringMap(c, "resources", "requests")
	if req["memory"] == "" || req["cpu"] != "" {
		t.Errorf("requests %v: want memory only", req)
	}
	args, _, _ := unstructured.NestedStringSlice(c, "args")
	if !contains(args, "-buckets="+Bucket) {
		t.Errorf("args %q do not create %s", args, Bucket)
	}

	// Objects returns copies: changing one leaves the next call alone.
	objs[0].SetNamespace("changed")
	again, _ := Objects()
	if again[0].GetNamespace() != "" {
		t.Error("Objects shares its objects between calls")
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestArtifactRepositories(t *testing.T) {
	cm, err := ArtifactRepositories()
	if err != nil {
		t.Fatal(err)
	}
	if cm.GetKind() != "ConfigMap" || cm.GetName() != "artifact-repositories" || cm.GetNamespace() != "" {
		t.Fatalf("got %s %s/%s", cm.GetKind(), cm.GetNamespace(), cm.GetName())
	}
	if def := cm.GetAnnotations()["workflows.argoproj.io/default-artifact-repository"]; def != "default-v1" {
		t.Errorf("default repository key %q", def)
	}
	data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
	for _, key := range []string{"default-v1", "my-key"} {
		for _, want := range []string{"bucket: " + Bucket, fmt.Sprintf("endpoint: %s:%d", Name, Port), "name: " + SecretName, "key: " + AccessKeyKey, "key: " + SecretKeyKey} {
			if !strings.Contains(data[key], want) {
				t.Errorf("repository %s lacks %q:\n%s", key, want, data[key])
			}
		}
	}
	again, _ := ArtifactRepositories()
	again.SetNamespace("x")
	if cm.GetNamespace() != "" {
		t.Error("ArtifactRepositories returned a shared object")
	}
}
