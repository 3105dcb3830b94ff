// Command rollout benchmarks the agent's rollout role on the local cluster,
// through the test bed's Gateway (Traefik):
//
//   - promote → new weight: a canary of 20 setWeight steps (5 %, 10 %, ...
//     100 %), each followed by a pause; each promote is timed until the
//     HTTPRoute holds the next weight, and until Traefik serves it (its API
//     lists the weighted service with the new weights: the moment requests
//     are split the new way).
//   - analysis failure → all stable: a canary whose analysis step runs a Job
//     that fails; timed from the moment the AnalysisRun is seen Failed until
//     the HTTPRoute, and Traefik, send everything to the stable Service.
//
// Every time is taken with this process's clock, polling every 5 ms, so the
// figures include one poll interval at most. The Rollout has one replica,
// so a step needs no new Pod: the figures are the agent's reaction and
// Traefik's reload, not Pod start-up. Argo Rollouts' controller requeues a
// Rollout on its informer events too, but re-reads routes on its resync
// (default 15 minutes) when an update is missed; here every wake-up is an
// event or a timer the step asked for.
//
// Run it with `make bench-rollout`, which builds the binaries and the agent
// image, starts the local cluster and sets KUBECONFIG, ARGOLITE_E2E_IMAGE and
// ARGOLITE_BIN. It installs the agent itself and refuses to run when one is
// installed; it deletes what it made at the end, also after a failure.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/argolite/argolite/integration/bench/internal/benchkit"
	"github.com/argolite/argolite/shared/agentmeta"
)

var (
	rolloutGVR = schema.GroupVersionResource{Group: "argolite.dev", Version: "v1alpha1", Resource: "rollouts"}
	runGVR     = schema.GroupVersionResource{Group: "argolite.dev", Version: "v1alpha1", Resource: "analysisruns"}
	routeGVR   = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}
)

// The test bed's Gateway and Traefik's API (integration/cluster/lib.sh).
const (
	gatewayNamespace = "argolite-gateway"
	gatewayName      = "argolite"
	traefikAPIPort   = "8001"
)

// poll is how often the benchmark looks.
const poll = 5 * time.Millisecond

type options struct {
	aborts int
	out    string
}

type bench struct {
	benchkit.Cluster
	image     string
	dyn       dynamic.Interface
	ns        string
	traefik   string
	start     time.Time
	installed bool
}

// results are the figures, filled in as the run goes.
type results struct {
	serverVersion           string
	promoteRoute, promoteGW []time.Duration
	failRoute, failGW       []time.Duration
}

func main() { os.Exit(mainCode()) }

func mainCode() int {
	var o options
	flag.IntVar(&o.aborts, "aborts", 5, "how many analysis failures to time")
	flag.StringVar(&o.out, "out", ".bench/rollout.md", "file the markdown report is written to")
	flag.Parse()
	b := &bench{
		Cluster: benchkit.Cluster{Kubeconfig: os.Getenv("KUBECONFIG"), BinDir: os.Getenv("ARGOLITE_BIN")},
		image:   os.Getenv("ARGOLITE_E2E_IMAGE"),
		ns:      "bench-rollout-" + rand.String(5),
		start:   time.Now(),
	}
	for name, v := range map[string]string{"KUBECONFIG": b.Kubeconfig, "ARGOLITE_E2E_IMAGE": b.image, "ARGOLITE_BIN": b.BinDir} {
		if v == "" {
			fmt.Fprintf(os.Stderr, "bench-rollout: %s is not set: run the benchmark with make bench-rollout\n", name)
			return 2
		}
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", b.Kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-rollout:", err)
		return 2
	}
	cfg.QPS, cfg.Burst = -1, 0
	b.CS = kubernetes.NewForConfigOrDie(cfg)
	b.dyn = dynamic.NewForConfigOrDie(cfg)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	r := &results{}
	runErr := b.run(ctx, o, r)
	stop()
	return benchkit.Conclude("bench-rollout", o.out, runErr, b.cleanup, func() string { return r.markdown(o) }, b.logf)
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%7.1fs] %s\n", time.Since(b.start).Seconds(), fmt.Sprintf(format, args...))
}

func (b *bench) run(ctx context.Context, o options, r *results) error {
	v, err := b.CS.Discovery().ServerVersion()
	if err != nil {
		return fmt.Errorf("the cluster of %s does not answer (make cluster-up): %w", b.Kubeconfig, err)
	}
	r.serverVersion = v.GitVersion
	_, ip, err := b.NodeInfo(ctx)
	if err != nil {
		return err
	}
	b.traefik = "http://" + net.JoinHostPort(ip, traefikAPIPort) + "/api/http/services"
	if deployed, err := b.AgentDeployed(ctx); err != nil {
		return err
	} else if deployed {
		return fmt.Errorf("namespace %s exists: an agent is installed; the benchmark installs its own, so `kubectl argo uninstall` first", agentmeta.Namespace)
	}
	b.logf("installing the agent %s", b.image)
	b.installed = true
	if err := b.Argo(ctx, "install", "--image", b.image, "--replicas", "1", "--timeout", "3m"); err != nil {
		return err
	}
	if _, err := b.WaitAgent(ctx); err != nil {
		return err
	}
	if _, err := b.CS.CoreV1().Namespaces().Create(ctx, namespace(b.ns), metav1.CreateOptions{}); err != nil {
		return err
	}
	if err := benchkit.Poll(ctx, "the default ServiceAccount", 100*time.Millisecond, time.Minute, func(ctx context.Context) (bool, error) {
		_, err := b.CS.CoreV1().ServiceAccounts(b.ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	}); err != nil {
		return err
	}
	if err := b.promotes(ctx, r); err != nil {
		return err
	}
	return b.failures(ctx, o, r)
}

// promotes times 19 promotes of a 20-step canary.
func (b *bench) promotes(ctx context.Context, r *results) error {
	var steps []string
	for w := 5; w <= 100; w += 5 {
		steps = append(steps, fmt.Sprintf("{setWeight: %d}", w), "{pause: {}}")
	}
	if err := b.create(ctx, "steps", "["+strings.Join(steps, ", ")+"]"); err != nil {
		return err
	}
	if err := b.waitPhase(ctx, "steps", "Healthy"); err != nil {
		return err
	}
	b.logf("rollout steps is Healthy; starting the update")
	if err := b.setImage(ctx, "steps", "yellow"); err != nil {
		return err
	}
	if err := b.waitGateway(ctx, "steps", 5, 2*time.Minute); err != nil {
		return err
	}
	for w := 10; w <= 100; w += 5 {
		if err := b.waitPhase(ctx, "steps", "Paused"); err != nil {
			return err
		}
		t0 := time.Now()
		if err := b.promote(ctx, "steps"); err != nil {
			return err
		}
		route, err := b.waitRoute(ctx, "steps", w, time.Minute)
		if err != nil {
			return err
		}
		if err := b.waitGateway(ctx, "steps", w, time.Minute); err != nil {
			return err
		}
		gw := time.Since(t0)
		r.promoteRoute = append(r.promoteRoute, route.Sub(t0))
		r.promoteGW = append(r.promoteGW, gw)
		b.logf("promote to %d %%: route %s, Traefik %s", w, route.Sub(t0).Round(time.Millisecond), gw.Round(time.Millisecond))
	}
	return nil
}

// failures times analysis failure → all stable, o.aborts times.
func (b *bench) failures(ctx context.Context, o options, r *results) error {
	if err := b.createFailingTemplate(ctx); err != nil {
		return err
	}
	if err := b.create(ctx, "fails", "[{setWeight: 20}, {analysis: {templates: [{templateName: fails}]}}]"); err != nil {
		return err
	}
	if err := b.waitPhase(ctx, "fails", "Healthy"); err != nil {
		return err
	}
	// Each update differs from the one before (the aborted image stays in
	// the spec).
	colors := []string{"yellow", "green", "purple", "orange", "red"}
	for i := range o.aborts {
		color := colors[i%len(colors)]
		if err := b.setImage(ctx, "fails", color); err != nil {
			return err
		}
		if err := b.waitGateway(ctx, "fails", 20, 2*time.Minute); err != nil {
			return err
		}
		t0, err := b.waitRunFailed(ctx, "fails")
		if err != nil {
			return err
		}
		route, err := b.waitRoute(ctx, "fails", 0, time.Minute)
		if err != nil {
			return err
		}
		if err := b.waitGateway(ctx, "fails", 0, time.Minute); err != nil {
			return err
		}
		gw := time.Since(t0)
		r.failRoute = append(r.failRoute, route.Sub(t0))
		r.failGW = append(r.failGW, gw)
		b.logf("analysis failure %d: route %s, Traefik %s", i+1, route.Sub(t0).Round(time.Millisecond), gw.Round(time.Millisecond))
		if err := b.waitPhase(ctx, "fails", "Degraded"); err != nil {
			return err
		}
	}
	return nil
}

func namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

// create makes a Rollout named name with its stable and canary Services and
// HTTPRoute, the canary steps given.
func (b *bench) create(ctx context.Context, name, steps string) error {
	text := fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: %[1]s-stable}
spec: {selector: {app: %[1]s}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: %[1]s-canary}
spec: {selector: {app: %[1]s}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: %[1]s}
spec:
  parentRefs: [{name: %[3]s, namespace: %[4]s}]
  hostnames: [%[1]s.%[2]s.bench.local]
  rules:
  - backendRefs:
    - {name: %[1]s-stable, port: 80, weight: 100}
    - {name: %[1]s-canary, port: 80, weight: 0}
---
apiVersion: argolite.dev/v1alpha1
kind: Rollout
metadata: {name: %[1]s}
spec:
  replicas: 1
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: demo
        image: argoproj/rollouts-demo:blue
        args: [-termination-delay=0]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
  strategy:
    canary:
      stableService: %[1]s-stable
      canaryService: %[1]s-canary
      trafficRouting: {gatewayAPI: {httpRoute: %[1]s}}
      steps: %[5]s
`, name, b.ns, gatewayName, gatewayNamespace, steps)
	return b.apply(ctx, text)
}

func (b *bench) createFailingTemplate(ctx context.Context) error {
	return b.apply(ctx, `apiVersion: argolite.dev/v1alpha1
kind: AnalysisTemplate
metadata: {name: fails}
spec:
  metrics:
  - name: check
    provider:
      job:
        spec:
          backoffLimit: 0
          template:
            spec:
              restartPolicy: Never
              containers: [{name: check, image: busybox:1.36, command: [sh, -c, "exit 1"]}]
`)
}

// apply creates the documents of text in the benchmark's namespace.
func (b *bench) apply(ctx context.Context, text string) error {
	for _, doc := range strings.Split(text, "\n---\n") {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			return err
		}
		gv, err := schema.ParseGroupVersion(u.GetAPIVersion())
		if err != nil {
			return err
		}
		resource := strings.ToLower(u.GetKind()) + "s"
		if _, err := b.dyn.Resource(gv.WithResource(resource)).Namespace(b.ns).Create(ctx, u, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	return nil
}

func (b *bench) waitPhase(ctx context.Context, name, phase string) error {
	return benchkit.Poll(ctx, "rollout "+name+" "+phase, 20*time.Millisecond, 3*time.Minute, func(ctx context.Context) (bool, error) {
		ro, err := b.dyn.Resource(rolloutGVR).Namespace(b.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		observed, _, _ := unstructured.NestedString(ro.Object, "status", "observedGeneration")
		got, _, _ := unstructured.NestedString(ro.Object, "status", "phase")
		return observed == fmt.Sprint(ro.GetGeneration()) && got == phase, nil
	})
}

func (b *bench) setImage(ctx context.Context, name, color string) error {
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"demo","image":"argoproj/rollouts-demo:%s","args":["-termination-delay=0"],"readinessProbe":{"tcpSocket":{"port":8080},"periodSeconds":1}}]}}}}`, color)
	_, err := b.dyn.Resource(rolloutGVR).Namespace(b.ns).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	return err
}

// promote is kubectl argo rollout promote's patch of a paused canary.
func (b *bench) promote(ctx context.Context, name string) error {
	_, err := b.dyn.Resource(rolloutGVR).Namespace(b.ns).Patch(ctx, name, types.MergePatchType, []byte(`{"status":{"pauseConditions":null}}`),
		metav1.PatchOptions{}, "status")
	return err
}

// waitRoute polls the HTTPRoute until the canary backend has weight w and
// returns when it saw it.
func (b *bench) waitRoute(ctx context.Context, name string, w int, timeout time.Duration) (time.Time, error) {
	var seen time.Time
	err := benchkit.Poll(ctx, fmt.Sprintf("HTTPRoute %s at canary weight %d", name, w), poll, timeout, func(ctx context.Context) (bool, error) {
		r, err := b.dyn.Resource(routeGVR).Namespace(b.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		rules, _, _ := unstructured.NestedSlice(r.Object, "spec", "rules")
		for _, rule := range rules {
			refs, _, _ := unstructured.NestedSlice(rule.(map[string]any), "backendRefs")
			for _, ref := range refs {
				m := ref.(map[string]any)
				if m["name"] == name+"-canary" {
					got, _, _ := unstructured.NestedInt64(m, "weight")
					if got == int64(w) {
						seen = time.Now()
						return true, nil
					}
				}
			}
		}
		return false, nil
	})
	return seen, err
}

// traefikService is the part of Traefik's /api/http/services answer read.
type traefikService struct {
	Name     string `json:"name"`
	Weighted *struct {
		Services []struct {
			Name   string `json:"name"`
			Weight *int   `json:"weight"`
		} `json:"services"`
	} `json:"weighted"`
}

// waitGateway polls Traefik's API until the route's weighted service gives
// the canary Service weight w.
func (b *bench) waitGateway(ctx context.Context, name string, w int, timeout time.Duration) error {
	canary := b.ns + "-" + name + "-canary"
	hc := &http.Client{Timeout: 2 * time.Second}
	return benchkit.Poll(ctx, fmt.Sprintf("Traefik serving rollout %s at canary weight %d", name, w), poll, timeout, func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.traefik+"?per_page=1000", nil)
		if err != nil {
			return false, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return false, err
		}
		defer func() { _ = resp.Body.Close() }()
		var services []traefikService
		if err := json.NewDecoder(resp.Body).Decode(&services); err != nil {
			return false, err
		}
		for _, s := range services {
			if s.Weighted == nil {
				continue
			}
			for _, in := range s.Weighted.Services {
				if strings.Contains(in.Name, canary) {
					got := 1
					if in.Weight != nil {
						got = *in.Weight
					}
					return got == w, nil
				}
			}
		}
		// Traefik drops a backend of weight 0 from the weighted service.
		return w == 0 && !slices.ContainsFunc(services, func(s traefikService) bool { return strings.Contains(s.Name, canary) && s.Weighted != nil }), nil
	})
}

// waitRunFailed returns when an AnalysisRun of the rollout is seen Failed
// that was not Failed before.
func (b *bench) waitRunFailed(ctx context.Context, name string) (time.Time, error) {
	var seen time.Time
	err := benchkit.Poll(ctx, "the analysis of rollout "+name+" to fail", poll, 3*time.Minute, func(ctx context.Context) (bool, error) {
		ro, err := b.dyn.Resource(rolloutGVR).Namespace(b.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		run, _, _ := unstructured.NestedString(ro.Object, "status", "canary", "currentStepAnalysisRunStatus", "name")
		if run == "" {
			return false, nil
		}
		ar, err := b.dyn.Resource(runGVR).Namespace(b.ns).Get(ctx, run, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		phase, _, _ := unstructured.NestedString(ar.Object, "status", "phase")
		if phase == "Failed" {
			seen = time.Now()
			return true, nil
		}
		return false, nil
	})
	return seen, err
}

func (b *bench) cleanup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var errs []error
	if err := b.DeleteNamespace(ctx, b.ns, 2*time.Minute); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, err)
	}
	if b.installed {
		if err := b.Argo(ctx, "uninstall", "--crds", "--timeout", "3m"); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (r *results) markdown(o options) string {
	var s strings.Builder
	fmt.Fprintf(&s, "# Rollout benchmark\n\nKubernetes %s, one agent replica, one Rollout replica, Traefik v3.6.12 as the Gateway, %s.\n\n", r.serverVersion, time.Now().UTC().Format("2006-01-02"))
	s.WriteString("| what | n | median | p95 | max |\n|---|---|---|---|---|\n")
	row := func(what string, ds []time.Duration) {
		if len(ds) == 0 {
			fmt.Fprintf(&s, "| %s | 0 | - | - | - |\n", what)
			return
		}
		sorted := slices.Clone(ds)
		slices.Sort(sorted)
		p95 := sorted[min(len(sorted)-1, (len(sorted)*95+99)/100-1)]
		fmt.Fprintf(&s, "| %s | %d | %s | %s | %s |\n", what, len(ds), ms(sorted[len(sorted)/2]), ms(p95), ms(sorted[len(sorted)-1]))
	}
	row("promote → the HTTPRoute holds the next weight", r.promoteRoute)
	row("promote → Traefik serves the next weight", r.promoteGW)
	row("analysis run Failed → the HTTPRoute sends all to stable", r.failRoute)
	row("analysis run Failed → Traefik sends all to stable", r.failGW)
	fmt.Fprintf(&s, "\nCommand: `make bench-rollout` (%d analysis failures).\n", o.aborts)
	return s.String()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
