package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func demoPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "demo", Name: "blue-7d9f", UID: "uid-1",
			Labels:      map[string]string{"app": "blue", "app.kubernetes.io/name": "rollouts-demo"},
			Annotations: map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "8080"},
			OwnerReferences: []metav1.OwnerReference{
				{Kind: "ReplicaSet", Name: "blue-7d", Controller: ptr.To(true)},
			},
		},
		Spec: corev1.PodSpec{
			NodeName:       "vm",
			InitContainers: []corev1.Container{{Name: "init", Image: "busybox"}},
			Containers: []corev1.Container{{
				Name: "demo", Image: "argoproj/rollouts-demo:blue",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
			}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: "198.18.0.7", HostIP: "192.0.2.2",
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		},
	}
}

// TestPodTargets checks the targets and labels against what Prometheus's
// kubernetes_sd_configs role pod gives the same Pod.
func TestPodTargets(t *testing.T) {
	got := podTargets(demoPod())
	if len(got) != 2 {
		t.Fatalf("%d targets, want the container's port and the init container", len(got))
	}
	want := map[string]string{
		"__meta_kubernetes_namespace":                                  "demo",
		"__meta_kubernetes_pod_name":                                   "blue-7d9f",
		"__meta_kubernetes_pod_ip":                                     "198.18.0.7",
		"__meta_kubernetes_pod_ready":                                  "true",
		"__meta_kubernetes_pod_phase":                                  "Running",
		"__meta_kubernetes_pod_node_name":                              "vm",
		"__meta_kubernetes_pod_host_ip":                                "192.0.2.2",
		"__meta_kubernetes_pod_uid":                                    "uid-1",
		"__meta_kubernetes_pod_controller_kind":                        "ReplicaSet",
		"__meta_kubernetes_pod_controller_name":                        "blue-7d",
		"__meta_kubernetes_pod_label_app":                              "blue",
		"__meta_kubernetes_pod_labelpresent_app":                       "true",
		"__meta_kubernetes_pod_label_app_kubernetes_io_name":           "rollouts-demo",
		"__meta_kubernetes_pod_labelpresent_app_kubernetes_io_name":    "true",
		"__meta_kubernetes_pod_annotation_prometheus_io_scrape":        "true",
		"__meta_kubernetes_pod_annotationpresent_prometheus_io_scrape": "true",
		"__meta_kubernetes_pod_annotation_prometheus_io_port":          "8080",
		"__meta_kubernetes_pod_annotationpresent_prometheus_io_port":   "true",
		"__meta_kubernetes_pod_container_name":                         "demo",
		"__meta_kubernetes_pod_container_image":                        "argoproj/rollouts-demo:blue",
		"__meta_kubernetes_pod_container_init":                         "false",
		"__meta_kubernetes_pod_container_port_number":                  "8080",
		"__meta_kubernetes_pod_container_port_name":                    "http",
		"__meta_kubernetes_pod_container_port_protocol":                "TCP",
	}
	if !reflect.DeepEqual(got[0].Targets, []string{"198.18.0.7:8080"}) || !reflect.DeepEqual(got[0].Labels, want) {
		t.Errorf("port target = %v %v\nwant [198.18.0.7:8080] %v", got[0].Targets, got[0].Labels, want)
	}
	// A container without ports is a target at the bare Pod IP.
	if !reflect.DeepEqual(got[1].Targets, []string{"198.18.0.7"}) || got[1].Labels["__meta_kubernetes_pod_container_init"] != "true" ||
		got[1].Labels["__meta_kubernetes_pod_container_name"] != "init" {
		t.Errorf("init container target = %+v", got[1])
	}
	if _, ok := got[1].Labels["__meta_kubernetes_pod_container_port_number"]; ok {
		t.Errorf("a container without ports has a port label: %v", got[1].Labels)
	}
}

func TestPodWithoutIPHasNoTargets(t *testing.T) {
	p := demoPod()
	p.Status = corev1.PodStatus{Phase: corev1.PodPending}
	if got := podTargets(p); len(got) != 0 {
		t.Errorf("a Pod without an IP has targets %v", got)
	}
	if r := podReady(p); r != "unknown" {
		t.Errorf("podReady without a condition = %q, want unknown", r)
	}
}

// TestTargetFile writes the target file as Prometheus's file_sd reads it:
// a JSON list of {targets, labels}, empty when there are no Pods.
func TestTargetFile(t *testing.T) {
	other := demoPod()
	other.Namespace, other.Name = "a", "first"
	groups := targetGroups([]*corev1.Pod{demoPod(), other})
	if len(groups) != 4 || groups[0].Labels["__meta_kubernetes_pod_name"] != "first" {
		t.Fatalf("groups %+v: want 4, the Pod of namespace a first", groups)
	}
	p := filepath.Join(t.TempDir(), "targets", "pods.json")
	b, err := json.Marshal(targetGroups(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFile(p, b); err != nil {
		t.Fatal(err)
	}
	back, err := os.ReadFile(p)
	if err != nil || string(back) != "[]\n" {
		t.Errorf("no Pods: %q, %v; want []", back, err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v", fi.Mode(), err)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".podsd-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
