package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/argolite/argolite/integration/mirror"
)

// TestRegistryPullsUpstreamNames checks that manifests run as users write
// them: images named as on Docker Hub, with imagePullPolicy Always, are
// pulled by the kubelet from the local registry (containerd's hosts.toml
// mirrors), and each Pod runs the digest the registry holds for that name.
func TestRegistryPullsUpstreamNames(t *testing.T) {
	needCluster(t)
	t.Parallel() // needs only the cluster
	ns := newNamespace(t)
	ctx := context.Background()
	registry := net.JoinHostPort(nodeIP(t), strconv.Itoa(mirror.Port))
	opt := registryTransport(t)

	pods := []*corev1.Pod{
		{
			ObjectMeta: metav1.ObjectMeta{Name: "alpine", Namespace: ns},
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
				Name: "main", Image: "alpine:latest", ImagePullPolicy: corev1.PullAlways,
				Command: []string{"cat", "/etc/alpine-release"},
			}}},
		},
		{
			// Argo's e2e workflows give argosay only args: its entrypoint runs it.
			ObjectMeta: metav1.ObjectMeta{Name: "argosay", Namespace: ns},
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
				Name: "main", Image: "argoproj/argosay:v2", ImagePullPolicy: corev1.PullAlways,
				Args: []string{"echo", "hello from argosay"},
			}}},
		},
		{
			ObjectMeta: metav1.ObjectMeta{Name: "nginx", Namespace: ns},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "main", Image: "nginx:1.25", ImagePullPolicy: corev1.PullAlways,
				Ports: []corev1.ContainerPort{{ContainerPort: 80}},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(80)}},
					PeriodSeconds: 1,
				},
			}}},
		},
	}
	for _, p := range pods {
		if _, err := clientset.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	wantLogs := map[string]string{"alpine": "3.23", "argosay": "hello from argosay"}
	for pod, want := range wantLogs {
		p := waitPodDone(t, ns, pod)
		if p.Status.Phase != corev1.PodSucceeded {
			t.Errorf("pod %s ended %s, want Succeeded", pod, p.Status.Phase)
		}
		logs, err := clientset.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{}).DoRaw(ctx)
		if err != nil || !strings.Contains(string(logs), want) {
			t.Errorf("pod %s logs %q (%v), want %q in them", pod, logs, err, want)
		}
	}
	var nginx *corev1.Pod
	waitFor(t, "pod nginx to be ready", 2*time.Minute, func(ctx context.Context) (bool, error) {
		p, err := clientset.CoreV1().Pods(ns).Get(ctx, "nginx", metav1.GetOptions{})
		nginx = p
		return err == nil && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].Ready, err
	})
	// The host reaches Pods on the pod range through the CNI bridge.
	body, err := getNoProxy(ctx, "http://"+nginx.Status.PodIP+"/")
	if err != nil || !strings.Contains(body, "Welcome to nginx!") {
		t.Errorf("GET / from nginx:1.25 = %q, %v; want nginx's default page", body, err)
	}

	// Each container runs what the registry serves under that name, and the
	// kubelet pulled it (Always), not found it.
	for _, p := range pods {
		got, err := clientset.CoreV1().Pods(ns).Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		image := p.Spec.Containers[0].Image
		dst := mirrored(t, image, registry)
		desc, err := remote.Head(dst, opt)
		if err != nil {
			t.Errorf("the registry does not serve %s as %s: %v", image, dst, err)
			continue
		}
		if imageID := got.Status.ContainerStatuses[0].ImageID; !strings.HasSuffix(imageID, "@"+desc.Digest.String()) {
			t.Errorf("pod %s runs %s, want the registry's %s for %s", p.Name, imageID, desc.Digest, image)
		}
		waitFor(t, "a Pulled event for "+p.Name, time.Minute, func(ctx context.Context) (bool, error) {
			events, err := clientset.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + p.Name})
			if err != nil {
				return false, err
			}
			for _, e := range events.Items {
				if e.Reason == "Pulled" && strings.Contains(e.Message, "Successfully pulled image") {
					return true, nil
				}
			}
			return false, nil
		})
	}
}

// TestRegistryRefusesUnknownImages checks that an image nobody pushed fails
// at once with "not found" from the local registry: containerd sends every
// registry name there and never falls back to the internet.
func TestRegistryRefusesUnknownImages(t *testing.T) {
	needCluster(t)
	t.Parallel() // needs only the cluster
	ns := newNamespace(t)
	ctx := context.Background()
	for name, image := range map[string]string{"hub": "argolite-e2e/nothing:v1", "other": "example.invalid/nothing:v1"} {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
				Name: "main", Image: image, ImagePullPolicy: corev1.PullAlways,
			}}},
		}
		if _, err := clientset.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		var msg string
		waitFor(t, "pod "+name+" to fail pulling "+image, time.Minute, func(ctx context.Context) (bool, error) {
			p, err := clientset.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil || len(p.Status.ContainerStatuses) == 0 {
				return false, err
			}
			w := p.Status.ContainerStatuses[0].State.Waiting
			if w == nil || (w.Reason != "ErrImagePull" && w.Reason != "ImagePullBackOff") {
				return false, nil
			}
			msg = w.Message
			return msg != "", nil
		})
		if !strings.Contains(msg, "not found") || strings.Contains(msg, "lookup") {
			t.Errorf("pulling %s: %q, want the local registry's not found (and no DNS lookup of a real registry)", image, msg)
		}
	}
}

// TestRegistryServesImageConfigs reads image configs from the registry the
// way the agent will (go-containerregistry, trusting the cluster CA): the
// stand-ins keep their upstream's command and entrypoint, and the agent
// image pushed by make image-import is there under its ghcr.io name.
func TestRegistryServesImageConfigs(t *testing.T) {
	needCluster(t)
	t.Parallel() // needs only the cluster
	registry := net.JoinHostPort(nodeIP(t), strconv.Itoa(mirror.Port))
	opt := registryTransport(t)
	for image, want := range map[string]v1.Config{
		"alpine:latest":       {Cmd: []string{"/bin/sh"}},
		"busybox":             {Cmd: []string{"sh"}},
		"python:alpine3.23":   {Cmd: []string{"python3"}},
		"nginx:1.25":          {Entrypoint: []string{"/docker-entrypoint.sh"}, Cmd: []string{"nginx", "-g", "daemon off;"}},
		"argoproj/argosay:v2": {Entrypoint: []string{"/argosay"}},
		e2e.image:             {Entrypoint: []string{"/argolite-agent"}},
	} {
		dst := mirrored(t, image, registry)
		img, err := remote.Image(dst, opt)
		if err != nil {
			t.Errorf("reading %s from the registry as %s: %v", image, dst, err)
			continue
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Errorf("%s: config: %v", image, err)
			continue
		}
		if !reflect.DeepEqual(cf.Config.Entrypoint, want.Entrypoint) || !reflect.DeepEqual(cf.Config.Cmd, want.Cmd) {
			t.Errorf("%s: Entrypoint %q, Cmd %q; want %q, %q", image, cf.Config.Entrypoint, cf.Config.Cmd, want.Entrypoint, want.Cmd)
		}
	}
}

// clusterCA is the cluster CA from the kubeconfig, which signed the
// registry's certificate.
func clusterCA(t *testing.T) []byte {
	t.Helper()
	if len(cfg.CAData) > 0 {
		return cfg.CAData
	}
	ca, err := os.ReadFile(cfg.CAFile)
	if err != nil {
		t.Fatalf("reading the cluster CA from the kubeconfig: %v", err)
	}
	return ca
}

// registryTransport trusts the cluster CA, which signed the registry's
// certificate as it did the API server's.
func registryTransport(t *testing.T) remote.Option {
	t.Helper()
	tr, err := mirror.Transport(clusterCA(t))
	if err != nil {
		t.Fatal(err)
	}
	return remote.WithTransport(tr)
}

// waitPodDone waits until the Pod has succeeded or failed.
func waitPodDone(t *testing.T, ns, pod string) *corev1.Pod {
	t.Helper()
	var done *corev1.Pod
	waitFor(t, "pod "+pod+" to finish", 2*time.Minute, func(ctx context.Context) (bool, error) {
		p, err := clientset.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
		done = p
		return err == nil && (p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed), err
	})
	return done
}

// getNoProxy GETs url directly: test traffic stays on the node and cluster ranges.
func getNoProxy(ctx context.Context, url string) (string, error) {
	c := &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 10 * time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// mirrored is where the local registry holds image, an upstream name.
func mirrored(t *testing.T, image, registry string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(image)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := mirror.Name(ref, registry)
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
