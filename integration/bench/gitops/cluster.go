package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/shared/agentmeta"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// benchLabel marks every namespace and ConfigMap the benchmark creates.
const benchLabel = "argolite.dev/bench"

// poll calls cond every interval until it is true, it fails, or timeout
// passes; a timeout names what was awaited and the last error seen.
func poll(ctx context.Context, what string, interval, timeout time.Duration, cond func(ctx context.Context) (bool, error)) error {
	var lastErr error
	err := wait.PollUntilContextTimeout(ctx, interval, timeout, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		var fatal *fatalError
		if errors.As(err, &fatal) {
			return false, fatal.err
		}
		if err != nil {
			lastErr = err
			return false, nil
		}
		return ok, nil
	})
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
	case wait.Interrupted(err) && lastErr != nil:
		return fmt.Errorf("timed out after %s waiting for %s (last error: %w)", timeout, what, lastErr)
	case wait.Interrupted(err):
		return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
	default:
		return fmt.Errorf("waiting for %s: %w", what, err)
	}
}

// fatalError ends a poll at once instead of retrying.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }

func fatal(format string, args ...any) error { return &fatalError{fmt.Errorf(format, args...)} }

// command runs a binary with the cluster's KUBECONFIG; a failure carries the
// end of its stderr.
func (b *bench) command(ctx context.Context, timeout time.Duration, bin string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+b.kubeconfig, "NO_COLOR=1")
	var errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = nil, &errOut
	if err := cmd.Run(); err != nil {
		tail := strings.TrimSpace(errOut.String())
		if len(tail) > 2000 {
			tail = "..." + tail[len(tail)-2000:]
		}
		return fmt.Errorf("%s %s: %w: %s", filepath.Base(bin), strings.Join(args, " "), err, tail)
	}
	return nil
}

func (b *bench) argo(ctx context.Context, args ...string) error {
	return b.command(ctx, 5*time.Minute, filepath.Join(b.binDir, "kubectl-argo"), args...)
}

// nodeInfo returns the single node's name and InternalIP (Pods reach the host there).
func (b *bench) nodeInfo(ctx context.Context) (name, ip string, err error) {
	nodes, err := b.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", "", fmt.Errorf("listing nodes (is the local cluster up? make cluster-up): %w", err)
	}
	if len(nodes.Items) == 0 {
		return "", "", errors.New("the cluster has no node: make cluster-up")
	}
	n := nodes.Items[0]
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return n.Name, a.Address, nil
		}
	}
	return "", "", fmt.Errorf("node %s reports no InternalIP", n.Name)
}

// createNamespace creates a labelled namespace and remembers it for cleanup.
func (b *bench) createNamespace(ctx context.Context, name string) error {
	b.namespaces = append(b.namespaces, name)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{benchLabel: "gitops"}}}
	if _, err := b.cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}

func (b *bench) deleteNamespace(ctx context.Context, name string, timeout time.Duration) error {
	err := b.cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting namespace %s: %w", name, err)
	}
	return poll(ctx, "namespace "+name+" to be deleted", 500*time.Millisecond, timeout, func(ctx context.Context) (bool, error) {
		_, err := b.cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

// countConfigMaps counts the benchmark's ConfigMaps in ns.
func (b *bench) countConfigMaps(ctx context.Context, ns string) (int, error) {
	list, err := b.cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: benchLabel + "=gitops"})
	if err != nil {
		return 0, err
	}
	return len(list.Items), nil
}

// agentDeployed tells whether the agent's Deployment or namespace exists.
func (b *bench) agentDeployed(ctx context.Context) (bool, error) {
	_, err := b.cs.CoreV1().Namespaces().Get(ctx, agentmeta.Namespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// waitAgent waits until exactly one agent Pod runs, Ready, and holds the
// leader Lease; it returns that Pod.
func (b *bench) waitAgent(ctx context.Context) (*corev1.Pod, error) {
	var pod *corev1.Pod
	err := poll(ctx, "one Ready agent Pod holding the leader Lease", 250*time.Millisecond, 3*time.Minute, func(ctx context.Context) (bool, error) {
		list, err := b.cs.CoreV1().Pods(agentmeta.Namespace).List(ctx, metav1.ListOptions{LabelSelector: agentmeta.ComponentLabel + "=" + agentmeta.Name})
		if err != nil {
			return false, err
		}
		if len(list.Items) != 1 || list.Items[0].DeletionTimestamp != nil {
			return false, nil
		}
		p := &list.Items[0]
		ready := false
		for _, c := range p.Status.Conditions {
			ready = ready || (c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue)
		}
		if !ready {
			return false, nil
		}
		lease, err := b.cs.CoordinationV1().Leases(agentmeta.Namespace).Get(ctx, agentmeta.LeaderElectionID, metav1.GetOptions{})
		if err != nil || lease.Spec.HolderIdentity == nil {
			return false, err
		}
		holder, _, _ := strings.Cut(*lease.Spec.HolderIdentity, "_")
		pod = p
		return holder == p.Name, nil
	})
	return pod, err
}

// memory is the largest agent container memory seen over some samples.
type memory struct {
	rss, workingSet uint64
	samples         int
}

func (m memory) String() string {
	return fmt.Sprintf("RSS %s, working set %s (max of %d samples)", mib(m.rss), mib(m.workingSet), m.samples)
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// agentMemory reads the agent container's memory from the kubelet's summary
// API (through the API server's node proxy) every 2 s until it has n samples,
// and returns the largest values. The kubelet refreshes these figures about
// every 10-15 s, so consecutive samples may repeat.
func (b *bench) agentMemory(ctx context.Context, pod *corev1.Pod, n int) (memory, error) {
	var m memory
	var summary struct {
		Pods []struct {
			PodRef struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"podRef"`
			Containers []struct {
				Name   string `json:"name"`
				Memory struct {
					RSSBytes        *uint64 `json:"rssBytes"`
					WorkingSetBytes *uint64 `json:"workingSetBytes"`
				} `json:"memory"`
			} `json:"containers"`
		} `json:"pods"`
	}
	what := fmt.Sprintf("%d memory samples of %s/%s from the kubelet", n, pod.Namespace, pod.Name)
	err := poll(ctx, what, 2*time.Second, time.Minute+time.Duration(n)*2*time.Second, func(ctx context.Context) (bool, error) {
		raw, err := b.cs.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", pod.Spec.NodeName, "proxy/stats/summary").DoRaw(ctx)
		if err != nil {
			return false, err
		}
		summary.Pods = nil
		if err := json.Unmarshal(raw, &summary); err != nil {
			return false, err
		}
		for _, p := range summary.Pods {
			if p.PodRef.Namespace != pod.Namespace || p.PodRef.Name != pod.Name {
				continue
			}
			for _, c := range p.Containers {
				if c.Name != "agent" && len(p.Containers) > 1 {
					continue
				}
				if c.Memory.RSSBytes == nil || c.Memory.WorkingSetBytes == nil {
					return false, nil // not measured yet: a fresh container
				}
				m.rss = max(m.rss, *c.Memory.RSSBytes)
				m.workingSet = max(m.workingSet, *c.Memory.WorkingSetBytes)
				m.samples++
			}
		}
		return m.samples >= n, nil
	})
	return m, err
}

// agentRestarts is the agent container's restart count (an OOM kill shows here).
func (b *bench) agentRestarts(ctx context.Context, pod *corev1.Pod) int32 {
	p, err := b.cs.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
	if err != nil {
		return -1
	}
	var n int32
	for _, cs := range p.Status.ContainerStatuses {
		n += cs.RestartCount
	}
	return n
}

func (b *bench) getApp(ctx context.Context, ns, name string) (*argov1.Application, error) {
	app := &argov1.Application{}
	err := b.c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, app)
	return app, err
}

// waitApp polls the Application until cond holds and returns when it saw
// that (the caller's clock stops there); a timeout reports the last status.
func (b *bench) waitApp(ctx context.Context, ns, name, what string, interval, timeout time.Duration, cond func(*argov1.Application) (bool, error)) (*argov1.Application, time.Time, error) {
	var last *argov1.Application
	var seen time.Time
	err := poll(ctx, fmt.Sprintf("Application %s/%s: %s", ns, name, what), interval, timeout, func(ctx context.Context) (bool, error) {
		app, err := b.getApp(ctx, ns, name)
		if err != nil {
			return false, err
		}
		seen, last = time.Now(), app
		return cond(app)
	})
	if err != nil && last != nil {
		err = fmt.Errorf("%w; last status: %s", err, describe(last))
	}
	return last, seen, err
}

// describe summarises an Application's status for error messages.
func describe(a *argov1.Application) string {
	s := fmt.Sprintf("sync=%s revision=%.8s health=%s", a.Status.Sync.Status, a.Status.Sync.Revision, a.Status.Health.Status)
	if st := a.Status.OperationState; st != nil {
		s += fmt.Sprintf(" operation=%s %q", st.Phase, st.Message)
	}
	for _, c := range a.Status.Conditions {
		if c.Status != metav1.ConditionTrue || c.Type != "Ready" {
			s += fmt.Sprintf(" %s=%s(%s: %s)", c.Type, c.Status, c.Reason, c.Message)
		}
	}
	return s
}

// syncedAt holds when the Application is Synced at rev and its last
// operation succeeded for rev; a failed operation ends the wait.
func syncedAt(rev string) func(*argov1.Application) (bool, error) {
	return func(a *argov1.Application) (bool, error) {
		st := a.Status.OperationState
		if st != nil && (st.Phase == argov1.OperationFailed || st.Phase == argov1.OperationError) {
			return false, fatal("Application %s/%s: sync %s: %s", a.Namespace, a.Name, st.Phase, st.Message)
		}
		return a.Status.Sync.Status == argov1.SyncStatusSynced && a.Status.Sync.Revision == rev &&
			st != nil && st.Phase == argov1.OperationSucceeded && st.SyncResult != nil && st.SyncResult.Revision == rev, nil
	}
}

// opDuration is finishedAt - startedAt of the last operation (1 s resolution).
func opDuration(a *argov1.Application) time.Duration {
	st := a.Status.OperationState
	if st == nil || st.FinishedAt == nil {
		return -1
	}
	return st.FinishedAt.Sub(st.StartedAt.Time)
}

// nextSecond waits until the clock is in a later second than t. The API
// stores times to the second: after this, a status time at or after the
// request's second was written after the request.
func nextSecond(ctx context.Context, t *metav1.Time) error {
	if t == nil {
		return nil
	}
	return poll(ctx, "the next second", 20*time.Millisecond, 3*time.Second, func(context.Context) (bool, error) {
		return time.Now().Truncate(time.Second).After(t.Time), nil
	})
}

// deleteApps deletes the Applications in ns and waits until they are gone
// (the agent's finalizer deletes their objects first).
func (b *bench) deleteApps(ctx context.Context, ns string, timeout time.Duration) error {
	if err := b.c.DeleteAllOf(ctx, &argov1.Application{}, client.InNamespace(ns)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting the Applications in %s: %w", ns, err)
	}
	left := -1
	return poll(ctx, "the Applications in "+ns+" to be deleted", time.Second, timeout, func(ctx context.Context) (bool, error) {
		list := &argov1.ApplicationList{}
		if err := b.c.List(ctx, list, client.InNamespace(ns)); err != nil {
			return false, err
		}
		if len(list.Items) != left && len(list.Items) > 0 {
			b.logf("  %d Applications left in %s", len(list.Items), ns)
		}
		left = len(list.Items)
		return left == 0, nil
	})
}

// reconcileStat is one Application's argolite_app_reconcile_seconds sum and count.
type reconcileStat struct{ sum, count float64 }

// reconcileSeconds reads the agent's reconcile histogram for one Application
// from its /metrics, through the API server's Pod proxy.
func (b *bench) reconcileSeconds(ctx context.Context, pod *corev1.Pod, ns, name string) (reconcileStat, error) {
	raw, err := b.cs.CoreV1().Pods(pod.Namespace).ProxyGet("http", pod.Name, "8080", "/metrics", nil).DoRaw(ctx)
	if err != nil {
		return reconcileStat{}, fmt.Errorf("metrics of %s: %w", pod.Name, err)
	}
	labels := fmt.Sprintf(`{name=%q,namespace=%q}`, name, ns)
	var st reconcileStat
	for _, line := range strings.Split(string(raw), "\n") {
		for prefix, into := range map[string]*float64{
			"argolite_app_reconcile_seconds_sum" + labels + " ":   &st.sum,
			"argolite_app_reconcile_seconds_count" + labels + " ": &st.count,
		} {
			if v, ok := strings.CutPrefix(line, prefix); ok {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil {
					return reconcileStat{}, fmt.Errorf("metric line %q: %w", line, err)
				}
				*into = f
			}
		}
	}
	return st, nil
}
