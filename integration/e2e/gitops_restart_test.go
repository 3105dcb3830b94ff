package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argolite/argolite/shared/agentmeta"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// TestGitOpsRestartMidSync: an agent restart mid-sync resumes without
// running a hook twice. It restarts the shared agent, so it runs alone.
func TestGitOpsRestartMidSync(t *testing.T) {
	needCluster(t)
	sharedAgentAlone(t)
	c, srv := newCRClient(t), startGitServer(t, "", "")
	ctx := context.Background()
	ns := newNamespace(t)
	repo := srv.newRepo(t, "restart")
	pre := strings.Replace(hookJob("", "PreSync", "", "sleep 6"), "  name: \n", "  generateName: pre-\n", 1)
	rev := repo.commit("slow hook", map[string]string{
		"pre.yaml":    pre,
		"config.yaml": configMap("after-hook", "1", ""),
	})
	newApp(t, c, ns, "restart", argov1.ApplicationSpec{
		Source:     &argov1.ApplicationSource{RepoURL: repo.URL},
		SyncPolicy: automated(true, false),
	})
	waitFor(t, "the PreSync Job to start", 2*time.Minute, func(ctx context.Context) (bool, error) {
		jobs, err := clientset.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		return err == nil && len(jobs.Items) >= 1, err
	})
	pods, err := clientset.CoreV1().Pods(agentmeta.Namespace).List(ctx, metav1.ListOptions{LabelSelector: agentmeta.ComponentLabel + "=" + agentmeta.Name})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("finding the agent Pod: %v", err)
	}
	if err := clientset.CoreV1().Pods(agentmeta.Namespace).Delete(ctx, pods.Items[0].Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	app := waitApp(t, c, ns, "restart", "Synced and Healthy after the restart", 3*time.Minute, syncedHealthy(rev))
	jobs, err := clientset.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs.Items) != 1 {
		t.Errorf("the PreSync hook ran %d times across the restart, want once", len(jobs.Items))
	}
	if _, err := clientset.CoreV1().ConfigMaps(ns).Get(ctx, "after-hook", metav1.GetOptions{}); err != nil {
		t.Errorf("the sync did not continue past the hook: %v", err)
	}
	if app.Status.OperationState.Phase != argov1.OperationSucceeded {
		t.Errorf("operation phase %s after the restart", app.Status.OperationState.Phase)
	}
}
