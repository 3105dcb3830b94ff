// Command gitops benchmarks the agent's GitOps role on the local cluster
// against `kubectl apply --server-side` of the same files, in one run: one
// Application of many small ConfigMaps (first sync, a no-change refresh, a
// no-change manual sync), then the agent's memory while it manages many
// Applications. It prints a markdown table and writes it to -out.
//
// Run it with `make bench-gitops`, which builds the binaries and the agent
// image, starts the local cluster and sets KUBECONFIG, ARGOLITE_E2E_IMAGE,
// ARGOLITE_BIN and ARGOLITE_K8S_BIN as for the e2e suite. It installs the
// agent itself and refuses to run when an agent is already installed; every
// namespace it creates is unique to the run, and it deletes what it created
// (and uninstalls the agent) at the end, also after a failure or Ctrl-C.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/integration/bench/internal/benchkit"
	"github.com/argolite/argolite/shared/agentmeta"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

type options struct {
	configMaps    int
	apps          int
	objectsPerApp int
	repeats       int
	out           string
	cpuProfile    string
}

// bench holds the clients and remembers what the run created, for cleanup.
type bench struct {
	benchkit.Cluster
	image, k8sBin string

	c     client.Client
	crds  apiextensionsclient.Interface
	start time.Time

	tmp        string
	srv        *gitServer
	namespaces []string
	installed  bool // the agent was (maybe partly) installed by this run
	keepCRDs   bool // argolite's CRDs were there before the run
}

// results are the figures, filled in as the run goes; zero means not measured.
type results struct {
	started                    time.Time
	serverVersion, image, node string
	bigRevision, fleetRevision string
	kubectlFirst, kubectlAgain time.Duration
	argoFirst, argoFirstOp     time.Duration
	appBytes                   int // the synced Application's JSON size: each status write sends the API server this much
	refreshes, manualSyncs     []time.Duration
	refreshWork                []time.Duration // the agent's own reconcile time per refresh, from its metrics
	manualSyncOps              []time.Duration
	deleteBig                  time.Duration
	fleetSync, deleteFleet     time.Duration
	memIdle, memBig, memFleet  benchkit.Memory
	restarts                   int32
	otherApps                  int
}

func main() { os.Exit(mainCode()) }

func mainCode() int {
	var o options
	flag.IntVar(&o.configMaps, "configmaps", 1000, "ConfigMaps in the single-app benchmark (one file each)")
	flag.IntVar(&o.apps, "apps", 50, "Applications in the memory benchmark")
	flag.IntVar(&o.objectsPerApp, "objects-per-app", 100, "ConfigMaps per Application in the memory benchmark")
	flag.IntVar(&o.repeats, "repeats", 3, "how often the no-change refresh and manual sync are timed (the median is reported)")
	flag.StringVar(&o.out, "out", ".bench/gitops.md", "file the markdown report is written to")
	flag.StringVar(&o.cpuProfile, "cpu-profile", "", "write the agent's CPU profile over the no-change refreshes to this file (turns on the agent's pprof endpoints, which restarts it once before the timed part; read with go tool pprof)")
	flag.Parse()
	if o.configMaps < 1 || o.apps < 1 || o.objectsPerApp < 1 || o.repeats < 1 {
		fmt.Fprintln(os.Stderr, "bench-gitops: -configmaps, -apps, -objects-per-app and -repeats must be at least 1")
		return 2
	}

	b, err := newBench()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-gitops:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	r := &results{started: time.Now(), image: b.image, argoFirstOp: -1, restarts: -1}
	runErr := b.run(ctx, o, r)
	stop() // a second Ctrl-C during cleanup ends the process
	return benchkit.Conclude("bench-gitops", o.out, runErr, b.cleanup, func() string { return r.markdown(o) }, b.logf)
}

func newBench() (*bench, error) {
	b := &bench{
		Cluster: benchkit.Cluster{Kubeconfig: os.Getenv("KUBECONFIG"), BinDir: os.Getenv("ARGOLITE_BIN")},
		image:   os.Getenv("ARGOLITE_E2E_IMAGE"),
		k8sBin:  os.Getenv("ARGOLITE_K8S_BIN"),
		start:   time.Now(),
	}
	for name, v := range map[string]string{"KUBECONFIG": b.Kubeconfig, "ARGOLITE_E2E_IMAGE": b.image, "ARGOLITE_BIN": b.BinDir, "ARGOLITE_K8S_BIN": b.k8sBin} {
		if v == "" {
			return nil, fmt.Errorf("%s is not set: run the benchmark with make bench-gitops", name)
		}
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", b.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", b.Kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = -1, 0 // the benchmark's own polls must not queue behind a client-side limiter
	if b.CS, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if b.crds, err = apiextensionsclient.NewForConfig(cfg); err != nil {
		return nil, err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := argov1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if b.c, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return nil, err
	}
	return b, nil
}

// logf prints a progress line to stderr with the time since the start.
func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%7.1fs] %s\n", time.Since(b.start).Seconds(), fmt.Sprintf(format, args...))
}

const appCRD = "applications.argolite.dev"

func (b *bench) run(ctx context.Context, o options, r *results) error {
	v, err := b.CS.Discovery().ServerVersion()
	if err != nil {
		return fmt.Errorf("the cluster of %s does not answer (make cluster-up): %w", b.Kubeconfig, err)
	}
	r.serverVersion = v.GitVersion
	node, ip, err := b.NodeInfo(ctx)
	if err != nil {
		return err
	}
	r.node = node
	if deployed, err := b.AgentDeployed(ctx); err != nil {
		return err
	} else if deployed {
		return fmt.Errorf("namespace %s exists: an agent is installed (or still uninstalling), maybe for an e2e run; the benchmark installs its own, so wait for that run or `kubectl argo uninstall` first", agentmeta.Namespace)
	}
	switch _, err := b.crds.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, appCRD, metav1.GetOptions{}); {
	case err == nil:
		b.keepCRDs = true
		list := &argov1.ApplicationList{}
		if err := b.c.List(ctx, list); err != nil {
			return err
		}
		r.otherApps = len(list.Items)
		if r.otherApps > 0 {
			b.logf("WARNING: %d Applications from elsewhere exist; the agent will reconcile them too", r.otherApps)
		}
	case !apierrors.IsNotFound(err):
		return err
	}

	if b.tmp, err = os.MkdirTemp("", "argolite-bench-gitops-"); err != nil {
		return err
	}
	if b.srv, err = startGitServer(filepath.Join(b.tmp, "server"), ip); err != nil {
		return err
	}
	b.logf("git server on %s", b.srv.base)
	id := rand.String(5)
	nsKubectl, nsApp, nsFleet := "bench-gitops-"+id+"-kubectl", "bench-gitops-"+id+"-app", "bench-gitops-"+id+"-fleet"
	for _, ns := range []string{nsKubectl, nsApp, nsFleet} {
		if err := b.createNamespace(ctx, ns); err != nil {
			return err
		}
	}
	b.logf("namespaces %s, %s, %s", nsKubectl, nsApp, nsFleet)

	// One repository of o.configMaps files, one ConfigMap each.
	big, err := b.srv.newRepo(filepath.Join(b.tmp, "big"), "configmaps")
	if err != nil {
		return err
	}
	files := map[string]string{}
	for i := range o.configMaps {
		files[fmt.Sprintf("configmaps/cm-%04d.yaml", i)] = configMap(fmt.Sprintf("cm-%04d", i), i)
	}
	if r.bigRevision, err = big.commitAll(fmt.Sprintf("%d ConfigMaps", o.configMaps), files); err != nil {
		return err
	}
	b.logf("pushed %d ConfigMaps to %s at %.8s", o.configMaps, big.URL, r.bigRevision)

	// The baseline: kubectl's server-side apply of the same files, twice.
	kubectl := filepath.Join(b.k8sBin, "kubectl")
	apply := []string{"apply", "--server-side", "--field-manager=bench", "-n", nsKubectl, "-f", filepath.Join(big.dir, "configmaps")}
	b.logf("kubectl %s (first apply)", strings.Join(apply, " "))
	t0 := time.Now()
	if err := b.Command(ctx, 30*time.Minute, kubectl, apply...); err != nil {
		return err
	}
	r.kubectlFirst = time.Since(t0)
	if err := b.expectConfigMaps(ctx, nsKubectl, o.configMaps); err != nil {
		return err
	}
	b.logf("kubectl first apply: %s; again, nothing changed", seconds(r.kubectlFirst))
	t0 = time.Now()
	if err := b.Command(ctx, 30*time.Minute, kubectl, apply...); err != nil {
		return err
	}
	r.kubectlAgain = time.Since(t0)
	b.logf("kubectl apply again: %s; deleting %s so the agent does not see its ConfigMaps", seconds(r.kubectlAgain), nsKubectl)
	if err := b.DeleteNamespace(ctx, nsKubectl, 10*time.Minute); err != nil {
		return err
	}

	// The agent, with its defaults (Git poll every 3 minutes).
	b.logf("installing the agent (%s)", b.image)
	b.installed = true
	if err := b.Argo(ctx, "install", "--image", b.image, "--replicas", "1", "--timeout", "3m"); err != nil {
		return err
	}
	pod, err := b.WaitAgent(ctx)
	if err != nil {
		return err
	}
	if o.cpuProfile != "" {
		b.logf("turning on the agent's pprof endpoints for -cpu-profile")
		if pod, err = b.EnableAgentPprof(ctx, pod); err != nil {
			return err
		}
	}
	b.logf("agent %s leads; reading its idle memory", pod.Name)
	if r.memIdle, err = b.AgentMemory(ctx, pod, 5); err != nil {
		return err
	}
	b.logf("idle: %s", r.memIdle)

	// First sync of the big app.
	app := &argov1.Application{
		ObjectMeta: metav1.ObjectMeta{Namespace: nsApp, Name: "configmaps"},
		Spec: argov1.ApplicationSpec{
			Source:      &argov1.ApplicationSource{RepoURL: big.URL, TargetRevision: "master", Path: "configmaps"},
			Destination: argov1.ApplicationDestination{Namespace: nsApp},
			SyncPolicy:  &argov1.SyncPolicy{Automated: &argov1.SyncPolicyAutomated{Prune: true}},
		},
	}
	b.logf("creating Application %s/%s", nsApp, app.Name)
	t0 = time.Now()
	if err := b.c.Create(ctx, app); err != nil {
		return fmt.Errorf("creating Application %s/%s: %w", nsApp, app.Name, err)
	}
	synced, seen, err := b.waitApp(ctx, nsApp, app.Name, "Synced at "+r.bigRevision, 250*time.Millisecond, 20*time.Minute, syncedAt(r.bigRevision))
	if err != nil {
		return err
	}
	r.argoFirst, r.argoFirstOp = seen.Sub(t0), opDuration(synced)
	if data, err := json.Marshal(synced); err == nil {
		r.appBytes = len(data)
	}
	if err := b.expectConfigMaps(ctx, nsApp, o.configMaps); err != nil {
		return err
	}
	b.logf("first sync: %s (operation %s)", seconds(r.argoFirst), opSeconds(r.argoFirstOp))

	var profile chan error
	if o.cpuProfile != "" {
		// Long enough for the refreshes: each takes a few seconds.
		d := time.Duration(o.repeats)*3*time.Second + 2*time.Second
		b.logf("recording the agent's CPU profile for %s into %s", d, o.cpuProfile)
		profile = make(chan error, 1)
		go func() {
			data, err := b.CPUProfile(ctx, pod, d)
			if err == nil {
				err = os.WriteFile(o.cpuProfile, data, 0o644)
			}
			profile <- err
		}()
	}
	for i := range o.repeats {
		before, err := b.reconcileSeconds(ctx, pod, nsApp, app.Name)
		if err != nil {
			return err
		}
		d, err := b.refresh(ctx, nsApp, app.Name)
		if err != nil {
			return err
		}
		// The refresh's reconcile ends with its status patch, which the
		// refresh above waited for; the metric is set right after it.
		if err := benchkit.Poll(ctx, "the agent to settle after the refresh", 100*time.Millisecond, 5*time.Second, func(ctx context.Context) (bool, error) {
			after, err := b.reconcileSeconds(ctx, pod, nsApp, app.Name)
			return err == nil && after.count >= before.count+1, nil
		}); err != nil {
			b.logf("  no reconcile seen after the refresh: %v", err)
		}
		after, err := b.reconcileSeconds(ctx, pod, nsApp, app.Name)
		if err != nil {
			return err
		}
		work := time.Duration((after.sum - before.sum) * float64(time.Second))
		r.refreshes, r.refreshWork = append(r.refreshes, d), append(r.refreshWork, work)
		b.logf("refresh %d/%d, nothing changed: %s (agent reconcile time %s over %.0f reconciles)", i+1, o.repeats, seconds(d), seconds(work), after.count-before.count)
	}
	if profile != nil {
		if err := <-profile; err != nil {
			return err
		}
		b.logf("wrote %s (go tool pprof -top %s)", o.cpuProfile, o.cpuProfile)
	}
	for i := range o.repeats {
		d, op, err := b.manualSync(ctx, nsApp, app.Name)
		if err != nil {
			return err
		}
		r.manualSyncs, r.manualSyncOps = append(r.manualSyncs, d), append(r.manualSyncOps, op)
		b.logf("manual sync %d/%d, nothing changed: %s (operation %s)", i+1, o.repeats, seconds(d), opSeconds(op))
	}
	if r.memBig, err = b.AgentMemory(ctx, pod, 5); err != nil {
		return err
	}
	b.logf("with the %d-ConfigMap app: %s; deleting it", o.configMaps, r.memBig)
	t0 = time.Now()
	if err := b.deleteApps(ctx, nsApp, 20*time.Minute); err != nil {
		return err
	}
	r.deleteBig = time.Since(t0)
	if err := b.expectConfigMaps(ctx, nsApp, 0); err != nil {
		return fmt.Errorf("after the cascade delete: %w", err)
	}
	b.logf("cascade delete: %s", seconds(r.deleteBig))

	// Many apps: one directory each in a second repository, all to one namespace.
	fleet, err := b.srv.newRepo(filepath.Join(b.tmp, "fleet"), "fleet")
	if err != nil {
		return err
	}
	files = map[string]string{}
	for a := range o.apps {
		for i := range o.objectsPerApp {
			files[fmt.Sprintf("app-%03d/cm-%04d.yaml", a, i)] = configMap(fmt.Sprintf("app-%03d-cm-%04d", a, i), i)
		}
	}
	if r.fleetRevision, err = fleet.commitAll("many apps", files); err != nil {
		return err
	}
	b.logf("pushed %d directories of %d ConfigMaps to %s at %.8s; creating %d Applications", o.apps, o.objectsPerApp, fleet.URL, r.fleetRevision, o.apps)
	t0 = time.Now()
	for a := range o.apps {
		path := fmt.Sprintf("app-%03d", a)
		app := &argov1.Application{
			ObjectMeta: metav1.ObjectMeta{Namespace: nsFleet, Name: path},
			Spec: argov1.ApplicationSpec{
				Source:      &argov1.ApplicationSource{RepoURL: fleet.URL, TargetRevision: "master", Path: path},
				Destination: argov1.ApplicationDestination{Namespace: nsFleet},
				SyncPolicy:  &argov1.SyncPolicy{Automated: &argov1.SyncPolicyAutomated{Prune: true}},
			},
		}
		if err := b.c.Create(ctx, app); err != nil {
			return fmt.Errorf("creating Application %s/%s: %w", nsFleet, path, err)
		}
	}
	if err := b.waitAllSynced(ctx, nsFleet, o.apps, r.fleetRevision); err != nil {
		return err
	}
	r.fleetSync = time.Since(t0)
	if err := b.expectConfigMaps(ctx, nsFleet, o.apps*o.objectsPerApp); err != nil {
		return err
	}
	b.logf("%d apps Synced: %s; reading the agent's memory over about 10 s", o.apps, seconds(r.fleetSync))
	if r.memFleet, err = b.AgentMemory(ctx, pod, 6); err != nil {
		return err
	}
	r.restarts = b.AgentRestarts(ctx, pod)
	b.logf("managing %d apps: %s; agent restarts: %d; deleting the apps", o.apps, r.memFleet, r.restarts)
	t0 = time.Now()
	if err := b.deleteApps(ctx, nsFleet, 20*time.Minute); err != nil {
		return err
	}
	r.deleteFleet = time.Since(t0)
	b.logf("cascade delete of %d apps: %s", o.apps, seconds(r.deleteFleet))
	return nil
}

func configMap(name string, i int) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  labels:\n    %s: gitops\ndata:\n  index: %q\n  value: value-%d\n", name, benchLabel, fmt.Sprint(i), i)
}

func (b *bench) expectConfigMaps(ctx context.Context, ns string, want int) error {
	n, err := b.countConfigMaps(ctx, ns)
	if err != nil {
		return err
	}
	if n != want {
		return fmt.Errorf("namespace %s holds %d of the benchmark's ConfigMaps, want %d", ns, n, want)
	}
	return nil
}

// refresh asks for a normal refresh and returns how long until the agent
// took the annotation off and recorded a reconcile after the request.
func (b *bench) refresh(ctx context.Context, ns, name string) (time.Duration, error) {
	app, err := b.getApp(ctx, ns, name)
	if err != nil {
		return 0, err
	}
	if err := nextSecond(ctx, app.Status.ReconciledAt); err != nil {
		return 0, err
	}
	key := argov1.Prefix + argov1.AnnotationRefresh
	start := time.Now()
	since := start.Truncate(time.Second)
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"normal"}}}`, key)
	if err := b.c.Patch(ctx, app, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		return 0, fmt.Errorf("requesting a refresh of %s/%s: %w", ns, name, err)
	}
	_, seen, err := b.waitApp(ctx, ns, name, "refresh handled", 50*time.Millisecond, 3*time.Minute, func(a *argov1.Application) (bool, error) {
		_, pending := a.Annotations[key]
		return !pending && a.Status.ReconciledAt != nil && !a.Status.ReconciledAt.Before(&metav1.Time{Time: since}), nil
	})
	return seen.Sub(start), err
}

// manualSync sets .operation as `kubectl argo app sync` does and returns how
// long until a new operation succeeded, and that operation's own duration.
func (b *bench) manualSync(ctx context.Context, ns, name string) (time.Duration, time.Duration, error) {
	app, err := b.getApp(ctx, ns, name)
	if err != nil {
		return 0, 0, err
	}
	if st := app.Status.OperationState; st != nil {
		if err := nextSecond(ctx, &st.StartedAt); err != nil {
			return 0, 0, err
		}
	}
	start := time.Now()
	since := start.Truncate(time.Second)
	patch := `{"operation":{"sync":{},"initiatedBy":{"username":"bench"}}}`
	if err := b.c.Patch(ctx, app, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		return 0, 0, fmt.Errorf("requesting a sync of %s/%s: %w", ns, name, err)
	}
	done, seen, err := b.waitApp(ctx, ns, name, "the manual sync to succeed", 50*time.Millisecond, 10*time.Minute, func(a *argov1.Application) (bool, error) {
		st := a.Status.OperationState
		if a.Operation != nil || st == nil || st.Operation.InitiatedBy.Username != "bench" || st.StartedAt.Time.Before(since) {
			return false, nil
		}
		switch st.Phase {
		case argov1.OperationSucceeded:
			return true, nil
		case argov1.OperationFailed, argov1.OperationError:
			return false, benchkit.Fatal("Application %s/%s: manual sync %s: %s", ns, name, st.Phase, st.Message)
		}
		return false, nil
	})
	if err != nil {
		return 0, 0, err
	}
	return seen.Sub(start), opDuration(done), nil
}

// waitAllSynced waits until n Applications in ns are Synced at rev.
func (b *bench) waitAllSynced(ctx context.Context, ns string, n int, rev string) error {
	check := syncedAt(rev)
	last := -1
	return benchkit.Poll(ctx, fmt.Sprintf("%d Applications in %s Synced at %.8s", n, ns, rev), time.Second, 30*time.Minute, func(ctx context.Context) (bool, error) {
		list := &argov1.ApplicationList{}
		if err := b.c.List(ctx, list, client.InNamespace(ns)); err != nil {
			return false, err
		}
		done := 0
		for i := range list.Items {
			ok, err := check(&list.Items[i])
			if err != nil {
				return false, err
			}
			if ok {
				done++
			}
		}
		if done != last {
			b.logf("  %d/%d Applications Synced", done, n)
			last = done
		}
		return done == n, nil
	})
}

// cleanup deletes what the run created: Applications (their finalizer
// deletes their objects), namespaces, the agent and the Git server.
func (b *bench) cleanup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	var errs []error
	for _, ns := range b.namespaces {
		if err := b.deleteApps(ctx, ns, 15*time.Minute); err != nil && !meta.IsNoMatchError(err) {
			errs = append(errs, err)
			b.releaseApps(ctx, ns)
		}
		if err := b.DeleteNamespace(ctx, ns, 10*time.Minute); err != nil {
			errs = append(errs, err)
		}
	}
	if b.installed {
		args := []string{"uninstall", "--timeout", "3m"}
		if !b.keepCRDs {
			args = append(args, "--crds")
		}
		b.logf("kubectl argo %s", strings.Join(args, " "))
		if err := b.Argo(ctx, args...); err != nil {
			errs = append(errs, err)
		}
	}
	if b.srv != nil {
		b.srv.close()
	}
	if b.tmp != "" {
		_ = os.RemoveAll(b.tmp)
	}
	return errors.Join(errs...)
}

// releaseApps drops the finalizers of Applications the agent did not
// delete in time, so that their namespace can go.
func (b *bench) releaseApps(ctx context.Context, ns string) {
	list := &argov1.ApplicationList{}
	if err := b.c.List(ctx, list, client.InNamespace(ns)); err != nil {
		return
	}
	for i := range list.Items {
		a := &list.Items[i]
		b.logf("  removing the finalizers of Application %s/%s", a.Namespace, a.Name)
		_ = b.c.Patch(ctx, a, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`)))
	}
}

func seconds(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < 10*time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	default:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
}

// opSeconds formats a duration between two API times, which have 1 s resolution.
func opSeconds(d time.Duration) string {
	switch {
	case d < 0:
		return "—"
	case d == 0:
		return "< 1 s"
	default:
		return fmt.Sprintf("%.0f s", d.Seconds())
	}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return -1
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func ratio(num, den time.Duration) string {
	if num <= 0 || den <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f×", num.Seconds()/den.Seconds())
}

func percent(part, whole time.Duration) string {
	if part <= 0 || whole <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f %%", 100*part.Seconds()/whole.Seconds())
}

func list(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = seconds(d)
	}
	return strings.Join(parts, ", ")
}

func memCell(n uint64) string {
	if n == 0 {
		return "—"
	}
	return benchkit.MiB(n)
}

// markdown renders the results as the report.
func (r *results) markdown(o options) string {
	var s strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&s, format+"\n", args...) }
	refresh, manual := median(r.refreshes), median(r.manualSyncs)
	w("## GitOps: one app of %d ConfigMaps against kubectl, and %d apps of %d", o.configMaps, o.apps, o.objectsPerApp)
	w("")
	w("Run %s on Kubernetes %s (node %s), agent image `%s`, default agent settings.", r.started.Format("2006-01-02 15:04 MST"), r.serverVersion, r.node, r.image)
	w("")
	w("| what | time | compared |")
	w("|---|---|---|")
	w("| `kubectl apply --server-side -f DIR`, first apply | %s | |", seconds(r.kubectlFirst))
	w("| the same again, nothing changed | %s | |", seconds(r.kubectlAgain))
	w("| argolite first sync: Application created → Synced at the commit, operation Succeeded | %s | kubectl first apply ÷ this: %s |", seconds(r.argoFirst), ratio(r.kubectlFirst, r.argoFirst))
	w("| its operation's finishedAt − startedAt (1 s resolution) | %s | |", opSeconds(r.argoFirstOp))
	if r.appBytes > 0 {
		w("| the synced Application's size (JSON, with %d resources in status) | %.0f KiB | |", o.configMaps, float64(r.appBytes)/1024)
	}
	w("| argolite refresh, nothing changed: annotation set → removed, reconciledAt after it (median of %s) | %s | kubectl again ÷ this: %s; %s of the first sync |", list(r.refreshes), seconds(refresh), ratio(r.kubectlAgain, refresh), percent(refresh, r.argoFirst))
	w("| the agent's own reconcile time for that refresh (`argolite_gitops_reconcile_seconds`, sum over its reconciles; median of %s) | %s | kubectl again ÷ this: %s; %s of the first sync |", list(r.refreshWork), seconds(median(r.refreshWork)), ratio(r.kubectlAgain, median(r.refreshWork)), percent(median(r.refreshWork), r.argoFirst))
	w("| argolite manual sync, nothing changed: .operation set → new operation Succeeded (median of %s) | %s | kubectl again ÷ this: %s; %s of the first sync |", list(r.manualSyncs), seconds(manual), ratio(r.kubectlAgain, manual), percent(manual, r.argoFirst))
	w("| its operation's finishedAt − startedAt (1 s resolution) | %s | |", opSeconds(median(r.manualSyncOps)))
	w("| deleting the Application (cascade: its %d ConfigMaps go first) | %s | |", o.configMaps, seconds(r.deleteBig))
	w("| %d Applications of %d ConfigMaps: created → all Synced | %s | |", o.apps, o.objectsPerApp, seconds(r.fleetSync))
	w("| deleting those %d Applications (cascade) | %s | |", o.apps, seconds(r.deleteFleet))
	w("")
	w("| agent container memory (kubelet summary API) | RSS | working set |")
	w("|---|---|---|")
	w("| idle, no Applications (max of %d samples) | %s | %s |", r.memIdle.Samples, memCell(r.memIdle.RSS), memCell(r.memIdle.WorkingSet))
	w("| after the %d-ConfigMap app synced, refreshed and re-synced | %s | %s |", o.configMaps, memCell(r.memBig.RSS), memCell(r.memBig.WorkingSet))
	w("| managing %d Applications of %d ConfigMaps (max of %d samples over about 10 s) | %s | %s |", o.apps, o.objectsPerApp, r.memFleet.Samples, memCell(r.memFleet.RSS), memCell(r.memFleet.WorkingSet))
	w("")
	w("Times run from this process's request until its poll (every 250 ms for the first sync, 50 ms for refresh")
	w("and manual sync, 1 s for the many apps) saw the state.")
	if r.restarts >= 0 {
		w("Agent container restarts during the run: %d.", r.restarts)
	}
	if r.otherApps > 0 {
		w("%d Applications from elsewhere existed in the cluster during the run.", r.otherApps)
	}
	w("Command: `make bench-gitops` (`go run ./integration/bench/gitops`).")
	return s.String()
}
