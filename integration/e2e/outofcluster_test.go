package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argolite/argolite/shared/agentmeta"
)

// TestAgentOutOfCluster runs the agent binary on the host with --kubeconfig:
// it becomes ready, takes the leader Lease in the namespace it is given, and
// on SIGTERM exits cleanly and releases the Lease for the next leader.
func TestAgentOutOfCluster(t *testing.T) {
	needCluster(t)
	ns := newNamespace(t)
	metrics, probes, hooks := freePort(t), freePort(t), freePort(t)
	var logs syncBuffer
	cmd := exec.Command(filepath.Join(e2e.binDir, "argolite-agent"),
		"--kubeconfig", e2e.kubeconfig,
		"--leader-election-namespace", ns,
		"--metrics-bind-address", metrics,
		"--health-probe-bind-address", probes,
		"--webhook-bind-address", hooks,
	)
	cmd.Env = append(os.Environ(), "ARGOLITE_ROLES=gitops,workflow")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			if err := <-exited; err != nil {
				t.Logf("agent killed at cleanup: %v", err)
			}
		}
		if t.Failed() {
			t.Logf("agent logs:\n%s", logs.String())
		}
	}()

	waitFor(t, "the agent's /readyz", time.Minute, func(ctx context.Context) (bool, error) {
		return httpOK(ctx, "http://"+probes+"/readyz")
	})
	waitFor(t, "the agent to take the leader Lease", time.Minute, func(ctx context.Context) (bool, error) {
		l, err := clientset.CoordinationV1().Leases(ns).Get(ctx, agentmeta.LeaderElectionID, metav1.GetOptions{})
		return err == nil && l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "", nil
	})
	raw, err := httpGet("http://" + metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(raw, `argolite_agent_info{`) || !strings.Contains(raw, `roles="gitops,workflow"`) {
		t.Errorf("/metrics lacks argolite_agent_info with the roles from ARGOLITE_ROLES")
	}
	// Out of cluster the agent has no Pod to report on, and says so.
	if !strings.Contains(logs.String(), "POD_NAME and POD_NAMESPACE unset") {
		t.Errorf("the agent did not log that it runs outside a Pod")
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("agent exited with %v after SIGTERM", err)
		}
	case <-time.After(45 * time.Second):
		t.Fatal("agent did not exit within 45s of SIGTERM")
	}
	l, err := clientset.CoordinationV1().Leases(ns).Get(context.Background(), agentmeta.LeaderElectionID, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "" {
		t.Errorf("the agent did not release the Lease on shutdown: holder %q", *l.Spec.HolderIdentity)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func httpOK(ctx context.Context, url string) (bool, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

func httpGet(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return b.String(), nil
}

// syncBuffer collects a child process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
