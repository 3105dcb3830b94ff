package main

import (
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// targetGroup is one entry of a file_sd target file. File SD has labels per
// group only, so each target (a Pod's container port) is a group of its own.
type targetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// meta is the prefix of kubernetes_sd_configs' labels.
const meta = "__meta_kubernetes_"

// invalidLabelChars are what Prometheus's SanitizeLabelName turns into "_".
var invalidLabelChars = regexp.MustCompile(`[^a-zA-Z0-9_]`)

func sanitize(name string) string { return invalidLabelChars.ReplaceAllString(name, "_") }

// podLabels are the labels kubernetes_sd_configs' role pod puts on every
// target of p (Prometheus's discovery/kubernetes/pod.go, podLabels).
func podLabels(p *corev1.Pod) map[string]string {
	ls := map[string]string{
		meta + "namespace":     p.Namespace,
		meta + "pod_name":      p.Name,
		meta + "pod_ip":        p.Status.PodIP,
		meta + "pod_ready":     podReady(p),
		meta + "pod_phase":     string(p.Status.Phase),
		meta + "pod_node_name": p.Spec.NodeName,
		meta + "pod_host_ip":   p.Status.HostIP,
		meta + "pod_uid":       string(p.UID),
	}
	if c := metav1.GetControllerOf(p); c != nil {
		if c.Kind != "" {
			ls[meta+"pod_controller_kind"] = c.Kind
		}
		if c.Name != "" {
			ls[meta+"pod_controller_name"] = c.Name
		}
	}
	for k, v := range p.Labels {
		ls[meta+"pod_label_"+sanitize(k)] = v
		ls[meta+"pod_labelpresent_"+sanitize(k)] = "true"
	}
	for k, v := range p.Annotations {
		ls[meta+"pod_annotation_"+sanitize(k)] = v
		ls[meta+"pod_annotationpresent_"+sanitize(k)] = "true"
	}
	return ls
}

// podReady is the PodReady condition's status in lower case, "unknown"
// without one.
func podReady(p *corev1.Pod) string {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return strings.ToLower(string(c.Status))
		}
	}
	return strings.ToLower(string(corev1.ConditionUnknown))
}

// podTargets are p's targets as role pod makes them: none without a Pod IP;
// one per container port, at IP:port; one per container without ports, at
// the bare IP (a prometheus.io/port relabelling adds the port). Init
// containers come after the others.
func podTargets(p *corev1.Pod) []targetGroup {
	if p.Status.PodIP == "" {
		return nil
	}
	base := podLabels(p)
	group := func(addr string, extra map[string]string) targetGroup {
		ls := make(map[string]string, len(base)+len(extra))
		for k, v := range base {
			ls[k] = v
		}
		for k, v := range extra {
			ls[k] = v
		}
		return targetGroup{Targets: []string{addr}, Labels: ls}
	}
	var out []targetGroup
	containers := append(append([]corev1.Container(nil), p.Spec.Containers...), p.Spec.InitContainers...)
	for i, c := range containers {
		container := map[string]string{
			meta + "pod_container_name":  c.Name,
			meta + "pod_container_image": c.Image,
			meta + "pod_container_init":  strconv.FormatBool(i >= len(p.Spec.Containers)),
		}
		if len(c.Ports) == 0 {
			out = append(out, group(p.Status.PodIP, container))
			continue
		}
		for _, port := range c.Ports {
			n := strconv.Itoa(int(port.ContainerPort))
			extra := map[string]string{
				meta + "pod_container_port_number":   n,
				meta + "pod_container_port_name":     port.Name,
				meta + "pod_container_port_protocol": string(port.Protocol),
			}
			for k, v := range container {
				extra[k] = v
			}
			out = append(out, group(net.JoinHostPort(p.Status.PodIP, n), extra))
		}
	}
	return out
}

// sortPods orders pods by namespace and name.
func sortPods(pods []*corev1.Pod) {
	sort.Slice(pods, func(i, j int) bool {
		if pods[i].Namespace != pods[j].Namespace {
			return pods[i].Namespace < pods[j].Namespace
		}
		return pods[i].Name < pods[j].Name
	})
}
