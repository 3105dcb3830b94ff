// Command workflow benchmarks the agent's workflow role on the local
// cluster: a chain of trivial steps that run one after another (100 by
// default), then a fan-out of trivial steps that run at once (200 wide,
// then one final step). It reports the agent's overhead between one step
// Pod's completion and the next step Pod's creation (median and p95), the
// whole run times, how fast the fan-out's Pods are created, and the agent's
// memory, prints a markdown report and writes it to -out.
//
// The API server keeps Pod and workflow times to the second, too coarse for
// an overhead that should be a small fraction of one. So the benchmark
// watches the step Pods during each run and stamps every event with its own
// clock: a Pod's first event is its creation, and the first event that shows
// its main container terminated is its end. The overhead between steps i
// and i+1 is seen-created(i+1) − seen-terminated(i). Both events come
// through one watch, in the order the API server stored them, so their
// common delivery delay cancels out; the agent learns of the end through
// the same kind of watch, so the figure is its reaction time plus one Pod
// create. The second-resolution figures from the Pods and from status.nodes
// are reported beside it.
//
// Run it with `make bench-workflow`, which builds the binaries and the agent
// image, starts the local cluster and sets KUBECONFIG, ARGOLITE_E2E_IMAGE
// and ARGOLITE_BIN as for the e2e suite. It installs the agent itself (one
// replica, default settings) and refuses to run when an agent is already
// installed; each workflow runs in a namespace of its own, unique to the
// run, and it deletes what it created (and uninstalls the agent) at the end,
// also after a failure or Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/integration/bench/internal/benchkit"
	"github.com/argolite/argolite/shared/agentmeta"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// defaultImage is the locally built busybox the e2e suite's workflows run.
const defaultImage = "argolite.local/library/busybox:1.36"

type options struct {
	steps, width int
	image        string
	timeout      time.Duration
	out          string
}

// bench holds the clients and remembers what the run created, for cleanup.
type bench struct {
	benchkit.Cluster
	image string // the agent's

	c     client.WithWatch
	crds  apiextensionsclient.Interface
	start time.Time

	namespaces []string
	installed  bool // the agent was (maybe partly) installed by this run
	keepCRDs   bool // argolite's CRDs were there before the run
}

// results are the figures, filled in as the run goes.
type results struct {
	started                      time.Time
	serverVersion, node, machine string
	image                        string
	idle                         memPeak
	chain, fanOut                *run // set when the run and its analysis succeeded
	chainFigures                 chainFigures
	fanOutFigures                fanOutFigures
	restarts                     int32
	otherWorkflows               int
}

func main() { os.Exit(mainCode()) }

func mainCode() int {
	var o options
	flag.IntVar(&o.steps, "steps", 100, "steps of the sequential chain")
	flag.IntVar(&o.width, "width", 200, "parallel steps of the fan-out (a final step follows them)")
	flag.StringVar(&o.image, "image", defaultImage, "the trivial step's `image`: its true runs, with imagePullPolicy IfNotPresent")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Minute, "how long each workflow may take")
	flag.StringVar(&o.out, "out", ".bench/workflow.md", "file the markdown report is written to")
	flag.Parse()
	if o.steps < 2 || o.width < 1 {
		fmt.Fprintln(os.Stderr, "bench-workflow: -steps must be at least 2 and -width at least 1")
		return 2
	}

	b, err := newBench()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-workflow:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	r := &results{started: time.Now(), image: b.image, restarts: -1}
	runErr := b.run(ctx, o, r)
	stop() // a second Ctrl-C during cleanup ends the process
	return benchkit.Conclude("bench-workflow", o.out, runErr, b.cleanup, func() string { return r.markdown(o) }, b.logf)
}

func newBench() (*bench, error) {
	b := &bench{
		Cluster: benchkit.Cluster{Kubeconfig: os.Getenv("KUBECONFIG"), BinDir: os.Getenv("ARGOLITE_BIN")},
		image:   os.Getenv("ARGOLITE_E2E_IMAGE"),
		start:   time.Now(),
	}
	for name, v := range map[string]string{"KUBECONFIG": b.Kubeconfig, "ARGOLITE_E2E_IMAGE": b.image, "ARGOLITE_BIN": b.BinDir} {
		if v == "" {
			return nil, fmt.Errorf("%s is not set: run the benchmark with make bench-workflow", name)
		}
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", b.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", b.Kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = -1, 0 // the benchmark's own requests must not queue behind a client-side limiter
	if b.CS, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if b.crds, err = apiextensionsclient.NewForConfig(cfg); err != nil {
		return nil, err
	}
	scheme := kruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := argov1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if b.c, err = client.NewWithWatch(cfg, client.Options{Scheme: scheme}); err != nil {
		return nil, err
	}
	return b, nil
}

// logf prints a progress line to stderr with the time since the start.
func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%7.1fs] %s\n", time.Since(b.start).Seconds(), fmt.Sprintf(format, args...))
}

const workflowCRD = "workflows.argolite.dev"

func (b *bench) run(ctx context.Context, o options, r *results) error {
	chainWF, err := decodeWorkflow("chain.yaml", chainYAML(o.image, o.steps))
	if err != nil {
		return fmt.Errorf("the chain workflow: %w", err)
	}
	fanOutWF, err := decodeWorkflow("fan-out.yaml", fanOutYAML(o.image, o.width))
	if err != nil {
		return fmt.Errorf("the fan-out workflow: %w", err)
	}
	v, err := b.CS.Discovery().ServerVersion()
	if err != nil {
		return fmt.Errorf("the cluster of %s does not answer (make cluster-up): %w", b.Kubeconfig, err)
	}
	r.serverVersion = v.GitVersion
	if r.node, _, err = b.NodeInfo(ctx); err != nil {
		return err
	}
	node, err := b.CS.CoreV1().Nodes().Get(ctx, r.node, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading node %s: %w", r.node, err)
	}
	r.machine = machine(node)
	if deployed, err := b.AgentDeployed(ctx); err != nil {
		return err
	} else if deployed {
		return fmt.Errorf("namespace %s exists: an agent is installed (or still uninstalling), maybe for an e2e run; the benchmark installs its own, so wait for that run or `kubectl argo uninstall` first", agentmeta.Namespace)
	}
	switch _, err := b.crds.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, workflowCRD, metav1.GetOptions{}); {
	case err == nil:
		b.keepCRDs = true
		list := &argov1.WorkflowList{}
		if err := b.c.List(ctx, list); err != nil {
			return fmt.Errorf("listing the Workflows already in the cluster: %w", err)
		}
		for _, wf := range list.Items {
			if !wf.Status.Phase.Completed() {
				r.otherWorkflows++
			}
		}
		if r.otherWorkflows > 0 {
			b.logf("WARNING: %d unfinished Workflows from elsewhere exist; the agent will run them too", r.otherWorkflows)
		}
	case !apierrors.IsNotFound(err):
		return fmt.Errorf("reading CustomResourceDefinition %s: %w", workflowCRD, err)
	}

	b.logf("installing the agent (%s)", b.image)
	b.installed = true
	if err := b.Argo(ctx, "install", "--image", b.image, "--replicas", "1", "--timeout", "3m"); err != nil {
		return err
	}
	agent, err := b.WaitAgent(ctx)
	if err != nil {
		return err
	}
	b.logf("agent %s leads; reading its idle memory for 15 s", agent.Name)
	if r.idle, err = b.idleMemory(ctx, agent, 15*time.Second); err != nil {
		return err
	}
	b.logf("idle: %s", r.idle)

	id := rand.String(5)
	chain, err := b.runWorkflow(ctx, "bench-workflow-"+id+"-chain", chainWF, o.steps, agent, o.timeout)
	if err != nil {
		return err
	}
	cf, err := analyzeChain(chain.pods, chain.wf.Status.Nodes, o.steps)
	if err != nil {
		return err
	}
	r.chain, r.chainFigures = chain, cf
	b.logf("chain: overhead per step median %s, p95 %s; %s in all; agent memory peak %s", ms(cf.seen.median), ms(cf.seen.p95), ms(chain.wall), chain.mem)
	// The fan-out starts on a cluster without the chain's Pods.
	if err := b.DeleteNamespace(ctx, chain.namespace, 10*time.Minute); err != nil {
		return err
	}
	fanOut, err := b.runWorkflow(ctx, "bench-workflow-"+id+"-fan-out", fanOutWF, o.width+1, agent, o.timeout)
	if err != nil {
		return err
	}
	ff, err := analyzeFanOut(fanOut.pods, o.width)
	if err != nil {
		return err
	}
	r.fanOut, r.fanOutFigures = fanOut, ff
	b.logf("fan-out: Pods created over %s; %s in all; agent memory peak %s", ms(ff.spreadSeen), ms(fanOut.wall), fanOut.mem)
	r.restarts = b.AgentRestarts(ctx, agent)
	return nil
}

// machine describes the node: its CPU model (this host's: the local
// cluster's node is this machine), CPUs and memory.
func machine(node *corev1.Node) string {
	cpu, mem := node.Status.Capacity.Cpu(), node.Status.Capacity.Memory()
	s := fmt.Sprintf("%s CPUs, %.1f GiB memory", cpu, float64(mem.Value())/(1<<30))
	if model := cpuModel(); model != "" {
		s = model + ", " + s
	}
	return s
}

// cpuModel is this host's CPU model from /proc/cpuinfo, or "".
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// createNamespace creates a labelled namespace, remembers it for cleanup
// and waits for its default ServiceAccount, without which no Pod can be
// created there.
func (b *bench) createNamespace(ctx context.Context, name string) error {
	b.namespaces = append(b.namespaces, name)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"argolite.dev/bench": "workflow"}}}
	if _, err := b.CS.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return benchkit.Poll(ctx, "the default ServiceAccount of "+name, 100*time.Millisecond, time.Minute, func(ctx context.Context) (bool, error) {
		_, err := b.CS.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
}

// cleanup deletes the namespaces the run created (the Workflows and their
// Pods with them) and uninstalls the agent.
func (b *bench) cleanup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	var errs []error
	for _, ns := range b.namespaces {
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
	return errors.Join(errs...)
}
