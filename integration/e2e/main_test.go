package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/argolite/argolite/shared/agentmeta"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// env is what `make test-e2e` hands the tests.
type env struct {
	kubeconfig string
	image      string // the agent image, already imported into the cluster
	binDir     string // kubectl-argo, krew
	distDir    string // plugin archives from make dist
	k8sBin     string // kubectl of the cluster's version
	repoRoot   string
}

var (
	e2e       env
	cfg       *rest.Config
	clientset kubernetes.Interface
)

// skipReason is why the suite does not run here, empty when it does: each
// test then skips with it (needCluster), so `go test` lists them as skipped.
var skipReason string

func TestMain(m *testing.M) {
	if v := os.Getenv("ARGOLITE_E2E"); v != "1" {
		skipReason = "ARGOLITE_E2E is not set: run make test-e2e, which starts the local cluster and sets ARGOLITE_E2E=1"
		if v != "" {
			skipReason = fmt.Sprintf("ARGOLITE_E2E is %q, not 1: run make test-e2e, which starts the local cluster and sets ARGOLITE_E2E=1", v)
		}
		os.Exit(m.Run())
	}
	root, _ := filepath.Abs("../..")
	e2e = env{
		kubeconfig: os.Getenv("KUBECONFIG"),
		image:      os.Getenv("ARGOLITE_E2E_IMAGE"),
		binDir:     os.Getenv("ARGOLITE_BIN"),
		distDir:    os.Getenv("ARGOLITE_DIST"),
		k8sBin:     os.Getenv("ARGOLITE_K8S_BIN"),
		repoRoot:   root,
	}
	for name, v := range map[string]string{"KUBECONFIG": e2e.kubeconfig, "ARGOLITE_E2E_IMAGE": e2e.image, "ARGOLITE_BIN": e2e.binDir, "ARGOLITE_K8S_BIN": e2e.k8sBin} {
		if v == "" {
			fmt.Fprintf(os.Stderr, "e2e: %s is not set: run the suite with make test-e2e\n", name)
			os.Exit(2)
		}
	}
	var err error
	cfg, err = clientcmd.BuildConfigFromFlags("", e2e.kubeconfig)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: loading %s: %v\n", e2e.kubeconfig, err)
		os.Exit(2)
	}
	cfg.QPS, cfg.Burst = -1, 0
	clientset = kubernetes.NewForConfigOrDie(cfg)
	if _, err := clientset.Discovery().ServerVersion(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: the local cluster does not answer (%v): make cluster-up\n", err)
		os.Exit(2)
	}
	code := m.Run()
	if err := uninstallSharedAgent(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: uninstalling the shared agent: %v\n", err)
		code = max(code, 1)
	}
	os.Exit(code)
}

// needCluster skips t unless the suite runs against the local cluster.
// Every test calls it first (TestEveryTestNeedsTheCluster checks that).
func needCluster(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

// invalidNameChars are runs of characters a namespace name cannot hold.
var invalidNameChars = regexp.MustCompile(`[^a-z0-9]+`)

// newNamespace makes a namespace for one test and deletes it afterwards.
func newNamespace(t *testing.T) string {
	t.Helper()
	name := "e2e-" + strings.Trim(invalidNameChars.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(name) > 50 {
		name = name[:50]
	}
	name = strings.TrimSuffix(name, "-") + "-" + rand.String(5)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"argolite.dev/e2e": "true"}}}
	if _, err := clientset.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	// The default ServiceAccount must exist before Pods can be created in it.
	waitFor(t, "default ServiceAccount in "+name, time.Minute, func(ctx context.Context) (bool, error) {
		_, err := clientset.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	t.Cleanup(func() {
		if t.Failed() {
			dumpNamespace(t, name)
		}
		_ = clientset.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return name
}

// waitFor polls cond every 250 ms until it is true or timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	var lastErr error
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		if err != nil {
			lastErr = err
			return false, nil
		}
		return ok, nil
	})
	if err != nil {
		t.Fatalf("timed out after %s waiting for %s (last error: %v)", timeout, what, lastErr)
	}
}

// waitServiceAnswers waits until the Service's ClusterIP answers path
// with 200 from distinct different backends (told apart by their bodies),
// each on a fresh connection. Ready Pods are not yet reachable ones: the
// EndpointSlice and kube-proxy's rules follow readiness. The host reaches
// a ClusterIP through kube-proxy's rules as Pods do.
func waitServiceAnswers(t *testing.T, ns, name, path string, distinct int) {
	t.Helper()
	svc, err := clientset.CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("Service %s/%s: %v", ns, name, err)
	}
	url := fmt.Sprintf("http://%s%s", net.JoinHostPort(svc.Spec.ClusterIP, fmt.Sprint(svc.Spec.Ports[0].Port)), path)
	probe := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}, Timeout: 2 * time.Second}
	seen := map[string]bool{}
	waitFor(t, fmt.Sprintf("%d backends of Service %s/%s to answer %s", distinct, ns, name, url), 2*time.Minute, func(ctx context.Context) (bool, error) {
		resp, err := probe.Get(url)
		if err != nil {
			return false, err
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("GET %s: %s %v %q", url, resp.Status, resp.Header, body)
		}
		seen[string(body)] = true
		return len(seen) >= distinct, nil
	})
}

// waitEventNote waits for an events.k8s.io Event with reason about the
// object named regarding in ns, and returns its note.
func waitEventNote(t *testing.T, ns, regarding, reason string, timeout time.Duration) string {
	t.Helper()
	var note string
	waitFor(t, "an Event "+reason+" on "+regarding, timeout, func(ctx context.Context) (bool, error) {
		evs, err := clientset.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.Regarding.Name == regarding && e.Reason == reason {
				note = e.Note
				return true, nil
			}
		}
		return false, nil
	})
	return note
}

// result is a finished command.
type result struct {
	stdout, stderr string
	code           int
}

// run runs a binary with the cluster's KUBECONFIG and returns its output and exit code.
func run(t *testing.T, extraEnv []string, bin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(append(os.Environ(), "KUBECONFIG="+e2e.kubeconfig, "NO_COLOR=1"), extraEnv...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if err != nil {
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			code = ee.ExitCode()
		} else {
			t.Fatalf("running %s %v: %v", bin, args, err)
		}
	}
	t.Logf("$ %s %s (exit %d)\n%s%s", filepath.Base(bin), strings.Join(args, " "), code, out.String(), errOut.String())
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

// argo runs the locally built kubectl-argo.
func argo(t *testing.T, args ...string) result {
	t.Helper()
	return run(t, nil, filepath.Join(e2e.binDir, "kubectl-argo"), args...)
}

func dumpNamespace(t *testing.T, ns string) {
	ctx := context.Background()
	pods, err := clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	for _, p := range pods.Items {
		t.Logf("pod %s/%s phase=%s node=%s ip=%s", ns, p.Name, p.Status.Phase, p.Spec.NodeName, p.Status.PodIP)
		for _, cs := range p.Status.ContainerStatuses {
			t.Logf("  container %s ready=%v restarts=%d state=%+v", cs.Name, cs.Ready, cs.RestartCount, cs.State)
		}
	}
	events, err := clientset.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err == nil {
		for _, e := range events.Items {
			t.Logf("event %s %s/%s: %s %s", e.Type, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
		}
	}
	dumpArgoliteStatus(t, ns)
	dumpAgentLogLines(t, ns)
}

// dumpArgoliteStatus logs the status of the namespace's argolite objects:
// a failed wait on one says why only there (a measurement's message, a
// condition).
func dumpArgoliteStatus(t *testing.T, ns string) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return
	}
	for _, resource := range []string{"analysisruns", "rollouts", "experiments", "applications", "workflows", "eventsources", "sensors"} {
		list, err := dyn.Resource(argov1.GroupVersion.WithResource(resource)).Namespace(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			continue
		}
		for _, o := range list.Items {
			status, _ := json.Marshal(o.Object["status"])
			if len(status) > 4000 {
				status = append(status[:4000], "..."...)
			}
			t.Logf("%s %s status: %s", o.GetKind(), o.GetName(), status)
		}
	}
}

// dumpAgentLogLines logs the agent's recent log lines that name ns, which
// a shared agent's tail, busy with other tests, rarely holds.
func dumpAgentLogLines(t *testing.T, ns string) {
	ctx := context.Background()
	pods, err := clientset.CoreV1().Pods(agentmeta.Namespace).List(ctx, metav1.ListOptions{LabelSelector: agentmeta.ComponentLabel + "=" + agentmeta.Name})
	if err != nil {
		return
	}
	for _, p := range pods.Items {
		tail := int64(20000)
		b, err := clientset.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{TailLines: &tail}).DoRaw(ctx)
		if err != nil {
			continue
		}
		var lines []string
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, ns) {
				lines = append(lines, line)
			}
		}
		if len(lines) > 60 {
			lines = lines[len(lines)-60:]
		}
		t.Logf("agent %s log lines naming %s:\n%s", p.Name, ns, strings.Join(lines, "\n"))
	}
}

func isNotFound(err error) bool { return apierrors.IsNotFound(err) }
