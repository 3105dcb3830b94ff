package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// prometheusPort is where the test bed's Prometheus listens on the node
// address (PROMETHEUS_PORT in integration/cluster/up.sh).
const prometheusPort = 9190

// TestPrometheusScrapesAnnotatedPods runs the argoproj/rollouts-demo
// stand-in as two Deployments annotated for scraping, blue and bad-red,
// sends each a steady stream of requests at its Pod's IP, and asks the
// test bed's Prometheus for each one's error rate, the query an analysis
// runs: 0 for blue, about a half for bad-red (its image bakes in
// ERROR_RATE=50). It also checks what the scrape adds: the Pod's namespace,
// pod and app labels, and the app's own color label.
func TestPrometheusScrapesAnnotatedPods(t *testing.T) {
	needCluster(t)
	t.Parallel() // needs only the cluster
	ns := newNamespace(t)
	ctx := context.Background()
	prom := "http://" + net.JoinHostPort(nodeIP(t), strconv.Itoa(prometheusPort))
	if _, err := getNoProxy(ctx, prom+"/-/ready"); err != nil {
		t.Fatalf("Prometheus does not answer at %s (%v): make cluster-up starts it", prom, err)
	}

	apps := map[string]string{} // app: its Pod's address
	for app, image := range map[string]string{"blue": "argoproj/rollouts-demo:blue", "bad-red": "argoproj/rollouts-demo:bad-red"} {
		runDemo(t, ns, app, image)
	}
	for app := range map[string]bool{"blue": true, "bad-red": true} {
		// The Pod's IP, not a Service's: the host reaches the pod range
		// through the CNI bridge, while a cluster IP kube-proxy has not
		// programmed yet would leave the host by its default route.
		waitFor(t, "a ready Pod of "+app, 2*time.Minute, func(ctx context.Context) (bool, error) {
			pods, err := clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
			if err != nil || len(pods.Items) != 1 {
				return false, err
			}
			p := pods.Items[0]
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && p.Status.PodIP != "" {
					apps[app] = net.JoinHostPort(p.Status.PodIP, "8080")
					return true, nil
				}
			}
			return false, nil
		})
	}

	// Traffic until the test ends, as an analysis sees it: rate() needs
	// the counters to rise between scrapes.
	trafficCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]map[int]int{} // app: status code: count
	bodies := map[string]map[string]bool{}
	for app, addr := range apps {
		codes[app], bodies[app] = map[int]int{}, map[string]bool{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 5 * time.Second}
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-trafficCtx.Done():
					return
				case <-tick.C:
				}
				code, body, err := getColor(trafficCtx, client, "http://"+addr+"/color")
				mu.Lock()
				if err == nil {
					codes[app][code]++
					bodies[app][body] = true
				} else if trafficCtx.Err() == nil {
					codes[app][-1]++ // a transport error
				}
				mu.Unlock()
			}
		}()
	}
	t.Cleanup(func() { stop(); wg.Wait() })

	errorRate := func(app string) string {
		sel := fmt.Sprintf(`namespace=%q, app=%q`, ns, app)
		// "or vector(0)": without any 5xx yet the series does not exist,
		// and the rate is 0, not missing.
		return fmt.Sprintf(`(sum(rate(http_requests_total{%s, status=~"5.."}[30s])) or vector(0)) / sum(rate(http_requests_total{%s}[30s]))`, sel, sel)
	}
	rates := map[string]float64{}
	waitFor(t, "Prometheus to see blue's error rate at 0 and bad-red's at about a half", 2*time.Minute, func(ctx context.Context) (bool, error) {
		for app := range apps {
			// Not the poll's ctx: a query cut off at the deadline would hide why.
			samples, err := promQuery(context.Background(), prom, errorRate(app))
			if err != nil {
				return false, err
			}
			if len(samples) != 1 {
				return false, fmt.Errorf("%s: %d samples, want 1 (not scraped yet?)", app, len(samples))
			}
			rates[app] = samples[0].value
		}
		if rates["blue"] == 0 && rates["bad-red"] > 0.3 && rates["bad-red"] < 0.7 {
			return true, nil
		}
		return false, fmt.Errorf("error rates %v", rates)
	})
	t.Logf("error rates: %v", rates)

	// The scrape's labels: the Pod's (podsd's role-pod labels, relabelled)
	// and the app's color, one series per status code.
	byColor, err := promQuery(ctx, prom, fmt.Sprintf(`sum by (app, color, status) (http_requests_total{namespace=%q, path="/color"})`, ns))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, s := range byColor {
		got[s.metric["app"]+" "+s.metric["color"]+" "+s.metric["status"]] = true
	}
	for _, want := range []string{"blue blue 200", "bad-red red 200", "bad-red red 500"} {
		if !got[want] {
			t.Errorf("no series for app, color, status %q among %v", want, got)
		}
	}
	if got["blue blue 500"] {
		t.Error("blue answered 500s")
	}
	pods, err := promQuery(ctx, prom, fmt.Sprintf(`count by (pod) (up{namespace=%q} == 1)`, ns))
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 2 {
		t.Errorf("%d Pods up in Prometheus (%v), want blue's and bad-red's", len(pods), pods)
	}

	stop()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if !bodies["blue"][`"blue"`] || len(bodies["blue"]) != 1 || !bodies["bad-red"][`"red"`] || len(bodies["bad-red"]) != 1 {
		t.Errorf("bodies %v: want blue to answer \"blue\", bad-red \"red\"", bodies)
	}
	if codes["blue"][http.StatusOK] == 0 || len(codes["blue"]) != 1 {
		t.Errorf("blue answered %v, want only 200s", codes["blue"])
	}
	if ok, bad := codes["bad-red"][http.StatusOK], codes["bad-red"][http.StatusInternalServerError]; ok == 0 || bad == 0 || math.Abs(float64(ok-bad)) > 2+float64(codes["bad-red"][-1]) {
		t.Errorf("bad-red answered %v, want as many 500s as 200s", codes["bad-red"])
	}
}

// runDemo creates Deployment app in ns running image (a rollouts-demo
// tag), its Pods annotated for Prometheus.
func runDemo(t *testing.T, ns, app, image string) {
	t.Helper()
	labels := map[string]string{"app": app}
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{
					"prometheus.io/scrape": "true",
					"prometheus.io/port":   "8080",
				}},
				Spec: corev1.PodSpec{
					// The demo keeps serving 10 s after SIGTERM; the test need not wait.
					TerminationGracePeriodSeconds: ptr.To[int64](1),
					Containers: []corev1.Container{{
						Name: "demo", Image: image, ImagePullPolicy: corev1.PullIfNotPresent,
						Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
						// A TCP probe: an HTTP one would count as traffic, and
						// bad-red fails every second /color request.
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}},
							PeriodSeconds: 1,
						},
					}},
				},
			},
		},
	}
	if _, err := clientset.AppsV1().Deployments(ns).Create(context.Background(), deploy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// getColor GETs the demo's /color.
func getColor(ctx context.Context, c *http.Client, u string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// promSample is one element of an instant vector.
type promSample struct {
	metric map[string]string
	value  float64
}

// promQuery runs an instant query against Prometheus's HTTP API at prom
// and returns the vector it answers.
func promQuery(ctx context.Context, prom, query string) ([]promSample, error) {
	c := &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 10 * time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, prom+"/api/v1/query?"+url.Values{"query": {query}}.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("querying %s: %w", prom, err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("query %s: HTTP %d: %w", query, resp.StatusCode, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", query, r.Error)
	}
	if r.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: a %s, want a vector", query, r.Data.ResultType)
	}
	out := make([]promSample, 0, len(r.Data.Result))
	for _, s := range r.Data.Result {
		v, ok := s.Value[1].(string)
		if !ok {
			return nil, fmt.Errorf("query %s: value %v is not a string", query, s.Value)
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", query, err)
		}
		out = append(out, promSample{metric: s.Metric, value: f})
	}
	return out, nil
}
