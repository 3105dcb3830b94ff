package e2e

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
)

// The test bed's Gateway (integration/gateway/gateway.yaml) and the port of
// its HTTP listener, Traefik's web entrypoint on the node address.
const (
	gatewayNamespace = "argolite-gateway"
	gatewayName      = "argolite"
	gatewayPort      = "8000"
)

var httpRoutes = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}

// TestGatewayWeightedRouting sends real traffic through the test bed's
// Gateway API data plane (Traefik on the node address): an HTTPRoute splitting
// 80/20 between two versions gives v2 its share within binomial noise, a
// header-matched rule sends only matching requests to v2, and 100/0 sends
// everything to v1. This is what the Rollouts role's traffic routing drives.
func TestGatewayWeightedRouting(t *testing.T) {
	needCluster(t)
	t.Parallel() // needs only the cluster
	ns := newNamespace(t)
	ctx := context.Background()
	for _, v := range []string{"v1", "v2"} {
		createVersionServer(t, ns, v)
	}
	routes := dynamic.NewForConfigOrDie(cfg).Resource(httpRoutes).Namespace(ns)
	route := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
		"metadata": map[string]any{"name": "web", "namespace": ns},
	}}
	url := "http://" + net.JoinHostPort(nodeIP(t), gatewayPort) + "/"
	// Each rule set goes in with a new host name, so an answer proves Traefik
	// has the new rules: an old router does not match the new host.
	apply := func(host string, rules ...any) {
		t.Helper()
		route.Object["spec"] = map[string]any{
			"parentRefs": []any{map[string]any{"name": gatewayName, "namespace": gatewayNamespace}},
			"hostnames":  []any{host},
			"rules":      rules,
		}
		if _, err := routes.Apply(ctx, "web", route, metav1.ApplyOptions{FieldManager: "e2e", Force: true}); err != nil {
			t.Fatalf("applying HTTPRoute %s/web: %v", ns, err)
		}
		waitRouteAccepted(t, routes, ns)
		waitFor(t, "Traefik to route "+host, time.Minute, func(ctx context.Context) (bool, error) {
			_, err := getVersion(ctx, url, host, nil)
			return err == nil, err
		})
	}
	backends := func(w1, w2 int) []any {
		return []any{
			map[string]any{"name": "web-v1", "port": int64(80), "weight": int64(w1)},
			map[string]any{"name": "web-v2", "port": int64(80), "weight": int64(w2)},
		}
	}

	// 80/20: v2's share of n answers is binomial, sd = sqrt(p(1-p)/n) = 2 %
	// for n = 400; 3 sd (±6 %) fails a correct split about once in 370 runs,
	// and catches 50/50, 100/0 or a swapped split. Traefik's weighted round
	// robin is in fact smoother than random, so the margin is generous.
	const n, want, tolerance = 400, 0.20, 0.06
	apply("weighted.e2e.local", map[string]any{"backendRefs": backends(80, 20)})
	counts := countVersions(t, url, "weighted.e2e.local", nil, n)
	if share := float64(counts["v2"]) / n; math.Abs(share-want) > tolerance || counts["v1"]+counts["v2"] != n {
		t.Errorf("80/20 split: %v in %d requests, v2 share %.3f; want only v1 and v2, v2 within %.2f±%.2f", counts, n, share, want, tolerance)
	} else {
		t.Logf("80/20 split: %v in %d requests, v2 share %.3f", counts, n, share)
	}

	// A header-matched rule first: X-Canary: yes reaches v2 only, the rest v1 only.
	apply("header.e2e.local",
		map[string]any{
			"matches":     []any{map[string]any{"headers": []any{map[string]any{"name": "X-Canary", "value": "yes"}}}},
			"backendRefs": backends(0, 100),
		},
		map[string]any{"backendRefs": backends(100, 0)},
	)
	canary := http.Header{"X-Canary": {"yes"}}
	if c := countVersions(t, url, "header.e2e.local", canary, 50); c["v2"] != 50 {
		t.Errorf("with X-Canary: yes: %v in 50 requests, want all v2", c)
	}
	if c := countVersions(t, url, "header.e2e.local", http.Header{"X-Canary": {"no"}}, 50); c["v1"] != 50 {
		t.Errorf("with X-Canary: no: %v in 50 requests, want all v1", c)
	}
	if c := countVersions(t, url, "header.e2e.local", nil, 50); c["v1"] != 50 {
		t.Errorf("without X-Canary: %v in 50 requests, want all v1", c)
	}

	// 100/0: the rollback; every answer is v1.
	apply("full.e2e.local", map[string]any{"backendRefs": backends(100, 0)})
	if c := countVersions(t, url, "full.e2e.local", nil, 200); c["v1"] != 200 {
		t.Errorf("100/0 split: %v in 200 requests, want all v1", c)
	}
}

// createVersionServer runs Deployment and Service web-VERSION in ns: busybox
// httpd answering VERSION on port 8080, behind Service port 80. It waits
// until the Pod is ready.
func createVersionServer(t *testing.T, ns, version string) {
	t.Helper()
	ctx := context.Background()
	name := "web-" + version
	labels := map[string]string{"app": "web", "version": version}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "httpd", Image: "busybox:latest", ImagePullPolicy: corev1.PullIfNotPresent,
					Command: []string{"sh", "-c", "mkdir /www && echo " + version + " > /www/index.html && exec httpd -f -p 8080 -h /www"},
					ReadinessProbe: &corev1.Probe{
						ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(8080)}},
						PeriodSeconds: 1,
					},
				}}},
			},
		},
	}
	if _, err := clientset.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Deployment %s/%s: %v", ns, name, err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
	if _, err := clientset.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Service %s/%s: %v", ns, name, err)
	}
	waitFor(t, "Deployment "+name+" to be ready", 2*time.Minute, func(ctx context.Context) (bool, error) {
		d, err := clientset.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && d.Status.ReadyReplicas == 1, err
	})
}

// waitRouteAccepted waits until the Gateway's controller has accepted
// HTTPRoute web and resolved its backends, for the route's current generation.
func waitRouteAccepted(t *testing.T, routes dynamic.ResourceInterface, ns string) {
	t.Helper()
	waitFor(t, "HTTPRoute "+ns+"/web to be Accepted with ResolvedRefs", time.Minute, func(ctx context.Context) (bool, error) {
		r, err := routes.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		parents, _, _ := unstructured.NestedSlice(r.Object, "status", "parents")
		for _, p := range parents {
			conds, _, _ := unstructured.NestedSlice(p.(map[string]any), "conditions")
			ok := map[string]bool{}
			for _, c := range conds {
				c := c.(map[string]any)
				gen, _, _ := unstructured.NestedInt64(c, "observedGeneration")
				ok[fmt.Sprint(c["type"])] = c["status"] == "True" && gen == r.GetGeneration()
			}
			if ok["Accepted"] && ok["ResolvedRefs"] {
				return true, nil
			}
			if len(conds) > 0 {
				err = fmt.Errorf("conditions %v", conds)
			}
		}
		return false, err
	})
}

// countVersions sends n GETs for host through the Gateway and counts the
// answers by body; a failed request fails the test.
func countVersions(t *testing.T, url, host string, header http.Header, n int) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	counts := map[string]int{}
	for i := range n {
		v, err := getVersion(ctx, url, host, header)
		if err != nil {
			t.Fatalf("request %d of %d to %s (Host %s): %v", i+1, n, url, host, err)
		}
		counts[v]++
	}
	return counts
}

// gatewayClient keeps connections to Traefik open between requests; Traefik
// balances per request, not per connection.
var gatewayClient = &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 10 * time.Second}

// getVersion GETs url with Host host and returns the trimmed body of a 200.
func getVersion(ctx context.Context, url, host string, header http.Header) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	req.Host = host
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := gatewayClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if err != nil {
		return "", fmt.Errorf("reading the answer to GET %s (Host %s): %w", url, host, err)
	}
	body := strings.TrimSpace(string(b))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s (Host %s): %s: %q", url, host, resp.Status, body)
	}
	return body, nil
}
