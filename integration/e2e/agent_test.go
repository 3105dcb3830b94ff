package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/argolite/argolite/shared/agentmeta"
)

// TestAgentLifecycle installs the agent with the plugin from the locally
// built image, checks status and version, leader election with two replicas
// and a leader failover, measures idle memory, and uninstalls.
func TestAgentLifecycle(t *testing.T) {
	needCluster(t)
	dropSharedAgent(t)
	ctx := context.Background()
	pods := clientset.CoreV1().Pods(agentmeta.Namespace)
	selector := agentmeta.ComponentLabel + "=" + agentmeta.Name

	if r := argo(t, "install", "--image", e2e.image, "--replicas", "1", "--timeout", "3m"); r.code != 0 {
		t.Fatalf("install exited %d: %s", r.code, r.stderr)
	}
	readyAgents := waitReadyAgents(t, 1)
	if img := readyAgents[0].Spec.Containers[0].Image; img != e2e.image {
		t.Errorf("agent runs image %q, want %q", img, e2e.image)
	}

	t.Run("status is healthy", func(t *testing.T) {
		r := argo(t, "status")
		if r.code != 0 {
			t.Fatalf("status exited %d on a healthy install: %s", r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, readyAgents[0].Name) {
			t.Errorf("status does not list the agent Pod %s", readyAgents[0].Name)
		}
	})

	t.Run("version reads the agent's version", func(t *testing.T) {
		waitFor(t, "the agent to publish its version on its Pod", time.Minute, func(ctx context.Context) (bool, error) {
			p, err := pods.Get(ctx, readyAgents[0].Name, metav1.GetOptions{})
			return err == nil && p.Annotations[agentmeta.VersionAnnotation] != "", err
		})
		p, _ := pods.Get(ctx, readyAgents[0].Name, metav1.GetOptions{})
		agentVersion := p.Annotations[agentmeta.VersionAnnotation]
		client := argo(t, "version", "--client")
		r := argo(t, "version")
		if r.code != 0 {
			t.Fatalf("version exited %d: %s", r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, agentVersion) || strings.Contains(r.stdout, "not installed") {
			t.Errorf("version output does not show the agent version %q:\n%s", agentVersion, r.stdout)
		}
		if firstLine(client.stdout) == "" || !strings.Contains(r.stdout, firstLine(client.stdout)) {
			t.Errorf("version output lacks the client line %q", firstLine(client.stdout))
		}
	})

	t.Run("install again changes nothing", func(t *testing.T) {
		r := argo(t, "install", "--image", e2e.image, "--replicas", "1")
		if r.code != 0 {
			t.Fatalf("second install exited %d: %s", r.code, r.stderr)
		}
		if strings.Contains(r.stdout, " created") || strings.Contains(r.stdout, " configured") {
			t.Errorf("second install changed objects:\n%s", r.stdout)
		}
		if !strings.Contains(r.stdout, "unchanged") {
			t.Errorf("second install does not report unchanged objects:\n%s", r.stdout)
		}
	})

	t.Run("dry run shows the change and makes none", func(t *testing.T) {
		r := argo(t, "install", "--dry-run", "--image", e2e.image, "--replicas", "3")
		if r.code != 0 {
			t.Fatalf("install --dry-run exited %d: %s", r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, "Deployment/argolite-system/argolite-agent configured") {
			t.Errorf("dry run does not say the agent Deployment would be configured:\n%s", r.stdout)
		}
		d, err := clientset.AppsV1().Deployments(agentmeta.Namespace).Get(ctx, agentmeta.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if *d.Spec.Replicas != 1 {
			t.Errorf("install --dry-run changed replicas to %d", *d.Spec.Replicas)
		}
	})

	t.Run("two replicas elect exactly one leader and fail over", func(t *testing.T) {
		if r := argo(t, "install", "--image", e2e.image, "--replicas", "2"); r.code != 0 {
			t.Fatalf("install --replicas 2 exited %d: %s", r.code, r.stderr)
		}
		agents := waitReadyAgents(t, 2)
		var leader string
		waitFor(t, "exactly one of two replicas to report leadership", time.Minute, func(ctx context.Context) (bool, error) {
			leaders, err := leadersByMetrics(ctx, agents)
			if err != nil {
				return false, err
			}
			if len(leaders) == 1 {
				leader = leaders[0]
			}
			return len(leaders) == 1, nil
		})
		if holder := leaseHolderPod(t); holder != leader {
			t.Fatalf("Lease holder %q, but the metrics say %q leads", holder, leader)
		}
		r := argo(t, "status")
		if r.code != 0 {
			t.Fatalf("status exited %d with two replicas: %s", r.code, r.stderr)
		}

		// The leader steps down on SIGTERM and releases the Lease; the standby takes over.
		if err := pods.Delete(ctx, leader, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "another replica to take over the Lease", 90*time.Second, func(ctx context.Context) (bool, error) {
			h := leaseHolderPod(t)
			return h != "" && h != leader, nil
		})
		agents = waitReadyAgents(t, 2)
		waitFor(t, "exactly one leader after the failover", time.Minute, func(ctx context.Context) (bool, error) {
			leaders, err := leadersByMetrics(ctx, agents)
			return err == nil && len(leaders) == 1 && leaders[0] != leader, err
		})
		recordIdleMemory(t, agents)
	})

	t.Run("uninstall removes the agent and status says so", func(t *testing.T) {
		r := argo(t, "uninstall", "--timeout", "3m")
		if r.code != 0 {
			t.Fatalf("uninstall exited %d: %s", r.code, r.stderr)
		}
		if _, err := clientset.AppsV1().Deployments(agentmeta.Namespace).Get(ctx, agentmeta.Name, metav1.GetOptions{}); !isNotFound(err) {
			t.Errorf("agent Deployment still there after uninstall (err %v)", err)
		}
		if _, err := clientset.CoreV1().Namespaces().Get(ctx, agentmeta.Namespace, metav1.GetOptions{}); !isNotFound(err) {
			t.Errorf("namespace %s still there after uninstall (err %v)", agentmeta.Namespace, err)
		}
		list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil || len(list.Items) != 0 {
			t.Errorf("agent pods left after uninstall: %d (%v)", len(list.Items), err)
		}
		s := argo(t, "status")
		if s.code == 0 {
			t.Errorf("status exited 0 with no agent installed")
		}
		if !strings.Contains(s.stdout+s.stderr, "not installed") {
			t.Errorf("status does not say the agent is not installed:\n%s%s", s.stdout, s.stderr)
		}
	})

	t.Run("uninstall keeps CRDs and users' objects unless --crds", func(t *testing.T) {
		crds := apiextensionsclient.NewForConfigOrDie(cfg).ApiextensionsV1().CustomResourceDefinitions()
		if _, err := crds.Get(ctx, appCRD, metav1.GetOptions{}); err != nil {
			t.Fatalf("uninstall without --crds removed CRD %s: %v", appCRD, err)
		}
		// An Application with a finalizer no agent will ever process.
		ns := newNamespace(t)
		apps := dynamic.NewForConfigOrDie(cfg).Resource(schema.GroupVersionResource{Group: "argolite.dev", Version: "v1alpha1", Resource: "applications"}).Namespace(ns)
		app := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "argolite.dev/v1alpha1", "kind": "Application",
			"metadata": map[string]any{"name": "kept", "finalizers": []any{"argolite.dev/cascade-delete"}},
			"spec": map[string]any{
				"source":      map[string]any{"repoURL": "https://git.example.test/apps.git", "path": "guestbook"},
				"destination": map[string]any{"namespace": ns},
			},
		}}
		if _, err := apps.Create(ctx, app, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating an Application with the CRD kept: %v", err)
		}
		r := argo(t, "uninstall", "--crds", "--timeout", "2m")
		if r.code != 0 {
			t.Fatalf("uninstall --crds exited %d: %s", r.code, r.stderr)
		}
		if _, err := crds.Get(ctx, appCRD, metav1.GetOptions{}); !isNotFound(err) {
			t.Errorf("CRD %s still there after uninstall --crds (err %v)", appCRD, err)
		}
	})
}

// appCRD is the Application CRD that install adds and uninstall --crds removes.
const appCRD = "applications.argolite.dev"

// waitReadyAgents waits until exactly n agent Pods exist, none terminating, all Ready.
func waitReadyAgents(t *testing.T, n int) []corev1.Pod {
	t.Helper()
	var ready []corev1.Pod
	waitFor(t, fmt.Sprintf("%d ready agent pods", n), 3*time.Minute, func(ctx context.Context) (bool, error) {
		list, err := clientset.CoreV1().Pods(agentmeta.Namespace).List(ctx, metav1.ListOptions{LabelSelector: agentmeta.ComponentLabel + "=" + agentmeta.Name})
		if err != nil {
			return false, err
		}
		ready = ready[:0]
		for _, p := range list.Items {
			if p.DeletionTimestamp != nil {
				return false, nil
			}
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					ready = append(ready, p)
				}
			}
		}
		return len(list.Items) == n && len(ready) == n, nil
	})
	return ready
}

// leadersByMetrics asks each replica's /metrics (through the API server's Pod
// proxy) whether it holds the leader Lease.
func leadersByMetrics(ctx context.Context, agents []corev1.Pod) ([]string, error) {
	var leaders []string
	for _, p := range agents {
		raw, err := clientset.CoreV1().Pods(p.Namespace).ProxyGet("http", p.Name, "8080", "/metrics", nil).DoRaw(ctx)
		if err != nil {
			return nil, fmt.Errorf("metrics of %s: %w", p.Name, err)
		}
		found := false
		sc := bufio.NewScanner(bytes.NewReader(raw))
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "leader_election_master_status{") && strings.Contains(line, agentmeta.LeaderElectionID) {
				found = true
				if strings.HasSuffix(line, " 1") {
					leaders = append(leaders, p.Name)
				}
			}
		}
		if !found {
			return nil, fmt.Errorf("%s exposes no leader_election_master_status for %s yet", p.Name, agentmeta.LeaderElectionID)
		}
	}
	return leaders, nil
}

// leaseHolderPod is the Pod named in the leader Lease, "" when none holds it.
func leaseHolderPod(t *testing.T) string {
	lease, err := clientset.CoordinationV1().Leases(agentmeta.Namespace).Get(context.Background(), agentmeta.LeaderElectionID, metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil {
		return ""
	}
	holder, _, _ := strings.Cut(*lease.Spec.HolderIdentity, "_")
	return holder
}

// recordIdleMemory reads each idle agent container's RSS from the kubelet's
// summary API and writes it where the benchmark notes pick it up.
func recordIdleMemory(t *testing.T, agents []corev1.Pod) {
	node := agents[0].Spec.NodeName
	var summary struct {
		Pods []struct {
			PodRef     struct{ Name, Namespace string } `json:"podRef"`
			Containers []struct {
				Name   string `json:"name"`
				Memory struct {
					RSSBytes        *uint64 `json:"rssBytes"`
					WorkingSetBytes *uint64 `json:"workingSetBytes"`
				} `json:"memory"`
			} `json:"containers"`
		} `json:"pods"`
	}
	var lines []string
	waitFor(t, "the kubelet to report the agents' memory", time.Minute, func(ctx context.Context) (bool, error) {
		raw, err := clientset.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", node, "proxy/stats/summary").DoRaw(ctx)
		if err != nil {
			return false, err
		}
		if err := json.Unmarshal(raw, &summary); err != nil {
			return false, err
		}
		lines = lines[:0]
		for _, p := range summary.Pods {
			if p.PodRef.Namespace != agentmeta.Namespace {
				continue
			}
			for _, c := range p.Containers {
				if c.Memory.RSSBytes == nil || c.Memory.WorkingSetBytes == nil {
					return false, nil
				}
				lines = append(lines, fmt.Sprintf("%s/%s rss=%.1fMiB workingSet=%.1fMiB", p.PodRef.Name, c.Name,
					float64(*c.Memory.RSSBytes)/(1<<20), float64(*c.Memory.WorkingSetBytes)/(1<<20)))
			}
		}
		return len(lines) == len(agents), nil
	})
	report := "agent idle memory: " + strings.Join(lines, "; ")
	t.Log(report)
	if dir := os.Getenv("ARGOLITE_E2E_REPORT_DIR"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "agent-idle-memory.txt"), []byte(report+"\n"), 0o644)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(line)
}
