// Package benchkit holds what the benchmark commands under integration/bench
// share about the local cluster: polling with errors that say what was
// awaited, running kubectl-argo and kubectl, waiting for the one agent Pod
// that leads, deleting namespaces, and reading the agent's memory from the
// kubelet's summary API.
package benchkit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/argolite/argolite/shared/agentmeta"
)

// Cluster is the local cluster as a benchmark sees it.
type Cluster struct {
	// Kubeconfig is passed to the commands it runs.
	Kubeconfig string
	// BinDir holds kubectl-argo.
	BinDir string
	// CS is a clientset of the cluster, best with the client-side rate
	// limiter off so that the benchmark's own requests do not queue.
	CS kubernetes.Interface
}

// Poll calls cond every interval until it is true, it fails with an error
// made by Fatal, or timeout passes; other errors are retried. A timeout
// names what was awaited and the last error seen.
func Poll(ctx context.Context, what string, interval, timeout time.Duration, cond func(ctx context.Context) (bool, error)) error {
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

// fatalError ends a Poll at once instead of retrying.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }

// Fatal is an error that ends a Poll at once.
func Fatal(format string, args ...any) error { return &fatalError{fmt.Errorf(format, args...)} }

// Command runs a binary with the cluster's KUBECONFIG and NO_COLOR; a
// failure carries the end of its stderr.
func (c *Cluster) Command(ctx context.Context, timeout time.Duration, bin string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig, "NO_COLOR=1")
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

// Argo runs BinDir/kubectl-argo with a 5-minute timeout.
func (c *Cluster) Argo(ctx context.Context, args ...string) error {
	return c.Command(ctx, 5*time.Minute, filepath.Join(c.BinDir, "kubectl-argo"), args...)
}

// NodeInfo returns the first node's name and InternalIP (Pods reach the
// host there); the local cluster has one node.
func (c *Cluster) NodeInfo(ctx context.Context) (name, ip string, err error) {
	nodes, err := c.CS.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
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

// DeleteNamespace deletes a namespace and waits until it is gone; a
// namespace that does not exist is no error.
func (c *Cluster) DeleteNamespace(ctx context.Context, name string, timeout time.Duration) error {
	err := c.CS.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting namespace %s: %w", name, err)
	}
	return Poll(ctx, "namespace "+name+" to be deleted", 500*time.Millisecond, timeout, func(ctx context.Context) (bool, error) {
		_, err := c.CS.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

// AgentDeployed tells whether the agent's namespace exists: an agent is
// installed, or still uninstalling.
func (c *Cluster) AgentDeployed(ctx context.Context) (bool, error) {
	_, err := c.CS.CoreV1().Namespaces().Get(ctx, agentmeta.Namespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// WaitAgent waits until exactly one agent Pod runs, Ready, and holds the
// leader Lease; it returns that Pod.
func (c *Cluster) WaitAgent(ctx context.Context) (*corev1.Pod, error) {
	var pod *corev1.Pod
	err := Poll(ctx, "one Ready agent Pod holding the leader Lease", 250*time.Millisecond, 3*time.Minute, func(ctx context.Context) (bool, error) {
		list, err := c.CS.CoreV1().Pods(agentmeta.Namespace).List(ctx, metav1.ListOptions{LabelSelector: agentmeta.ComponentLabel + "=" + agentmeta.Name})
		if err != nil {
			return false, err
		}
		if len(list.Items) != 1 || list.Items[0].DeletionTimestamp != nil {
			return false, nil
		}
		p := &list.Items[0]
		ready := false
		for _, cond := range p.Status.Conditions {
			ready = ready || (cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue)
		}
		if !ready {
			return false, nil
		}
		lease, err := c.CS.CoordinationV1().Leases(agentmeta.Namespace).Get(ctx, agentmeta.LeaderElectionID, metav1.GetOptions{})
		if err != nil || lease.Spec.HolderIdentity == nil {
			return false, err
		}
		holder, _, _ := strings.Cut(*lease.Spec.HolderIdentity, "_")
		pod = p
		return holder == p.Name, nil
	})
	return pod, err
}

// AgentRestarts is the agent Pod's container restart count (an OOM kill
// shows here), or -1 when the Pod cannot be read.
func (c *Cluster) AgentRestarts(ctx context.Context, pod *corev1.Pod) int32 {
	p, err := c.CS.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
	if err != nil {
		return -1
	}
	var n int32
	for _, cs := range p.Status.ContainerStatuses {
		n += cs.RestartCount
	}
	return n
}

// Memory is the largest agent container memory seen over some samples.
type Memory struct {
	RSS, WorkingSet uint64
	Samples         int
}

func (m Memory) String() string {
	return fmt.Sprintf("RSS %s, working set %s (max of %d samples)", MiB(m.RSS), MiB(m.WorkingSet), m.Samples)
}

// Add folds a sample into m.
func (m *Memory) Add(s MemorySample) {
	m.RSS = max(m.RSS, s.RSS)
	m.WorkingSet = max(m.WorkingSet, s.WorkingSet)
	m.Samples++
}

// MiB formats bytes as MiB.
func MiB(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// MemorySample is one reading of a container's memory by the kubelet.
type MemorySample struct {
	RSS, WorkingSet uint64
	// Time is when the kubelet measured it. It refreshes these figures
	// about every 10-15 s, so consecutive readings may repeat one sample.
	Time time.Time
}

// ReadMemory reads the agent container's memory from the kubelet's summary
// API (through the API server's node proxy). ok is false while the kubelet
// has not measured the container yet.
func (c *Cluster) ReadMemory(ctx context.Context, pod *corev1.Pod) (s MemorySample, ok bool, err error) {
	var summary struct {
		Pods []struct {
			PodRef struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"podRef"`
			Containers []struct {
				Name   string `json:"name"`
				Memory struct {
					Time            metav1.Time `json:"time"`
					RSSBytes        *uint64     `json:"rssBytes"`
					WorkingSetBytes *uint64     `json:"workingSetBytes"`
				} `json:"memory"`
			} `json:"containers"`
		} `json:"pods"`
	}
	raw, err := c.CS.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", pod.Spec.NodeName, "proxy/stats/summary").DoRaw(ctx)
	if err != nil {
		return s, false, fmt.Errorf("reading the kubelet summary of node %s: %w", pod.Spec.NodeName, err)
	}
	if err := json.Unmarshal(raw, &summary); err != nil {
		return s, false, fmt.Errorf("decoding the kubelet summary of node %s: %w", pod.Spec.NodeName, err)
	}
	for _, p := range summary.Pods {
		if p.PodRef.Namespace != pod.Namespace || p.PodRef.Name != pod.Name {
			continue
		}
		for _, ct := range p.Containers {
			if ct.Name != "agent" && len(p.Containers) > 1 {
				continue
			}
			if ct.Memory.RSSBytes == nil || ct.Memory.WorkingSetBytes == nil {
				return s, false, nil // not measured yet: a fresh container
			}
			return MemorySample{RSS: *ct.Memory.RSSBytes, WorkingSet: *ct.Memory.WorkingSetBytes, Time: ct.Memory.Time.Time}, true, nil
		}
	}
	return s, false, nil
}

// AgentMemory reads the agent container's memory every 2 s until it has n
// samples, and returns the largest values.
func (c *Cluster) AgentMemory(ctx context.Context, pod *corev1.Pod, n int) (Memory, error) {
	var m Memory
	what := fmt.Sprintf("%d memory samples of %s/%s from the kubelet", n, pod.Namespace, pod.Name)
	err := Poll(ctx, what, 2*time.Second, time.Minute+time.Duration(n)*2*time.Second, func(ctx context.Context) (bool, error) {
		s, ok, err := c.ReadMemory(ctx, pod)
		if err != nil || !ok {
			return false, err
		}
		m.Add(s)
		return m.Samples >= n, nil
	})
	return m, err
}

// Conclude ends a benchmark command after its run: it cleans up (also after
// a failure), then prints the report and writes it to out, or, when the run
// failed, prints it to stderr as partial results. report is made after the
// cleanup, which may add to the results. It returns the exit code.
func Conclude(name, out string, runErr error, cleanup func() error, report func() string, logf func(string, ...any)) int {
	if runErr != nil {
		logf("FAILED: %v", runErr)
	}
	logf("cleaning up")
	cleanErr := cleanup()
	if cleanErr != nil {
		logf("cleanup incomplete: %v", cleanErr)
	}
	text := report()
	if runErr != nil {
		fmt.Fprintf(os.Stderr, "\nPartial results (not written to %s):\n\n%s", out, text)
		return 1
	}
	fmt.Print(text)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		return 1
	}
	if err := os.WriteFile(out, []byte(text), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		return 1
	}
	logf("wrote %s", out)
	if cleanErr != nil {
		return 1
	}
	return 0
}
