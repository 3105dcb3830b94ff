package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// directoryApp is the subtest of TestGitOps
// "directory app: sync, poll, prune, self-heal, broken commit, rollback".
func (gs *gitopsSuite) directoryApp(t *testing.T) {
	c, srv := gs.c, gs.srv
	ctx := context.Background()
	ns := newNamespace(t)
	repo := srv.newRepo(t, "guestbook")
	first := repo.commit("first", map[string]string{
		"apps/web/deployment.yaml": busyboxDeployment("web", 1, "", 0),
		"apps/web/config.yaml":     configMap("web-config", "v1", ""),
		"apps/web/extra.yaml":      configMap("extra", "x", ""),
		"apps/web/README.md":       "not a manifest",
	})
	newApp(t, c, ns, "web", argov1.ApplicationSpec{
		Source:     &argov1.ApplicationSource{RepoURL: repo.URL, TargetRevision: "master", Path: "apps/web"},
		SyncPolicy: automated(true, true),
	})
	app := waitApp(t, c, ns, "web", "Synced and Healthy at the first commit", 2*time.Minute, syncedHealthy(first))
	if n := len(app.Status.Resources); n != 3 {
		t.Errorf("status.resources lists %d objects, want 3: %+v", n, app.Status.Resources)
	}
	pods, err := clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(pods.Items) != 1 || pods.Items[0].Status.Phase != corev1.PodRunning {
		t.Fatalf("want one running web Pod, got %v (err %v)", len(pods.Items), err)
	}
	cm, err := clientset.CoreV1().ConfigMaps(ns).Get(ctx, "web-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Labels[argov1.LabelAppName] != "web" || cm.Labels[argov1.LabelAppNamespace] != ns {
		t.Errorf("applied ConfigMap lacks the owner labels: %v", cm.Labels)
	}
	if len(app.Status.History) != 1 || app.Status.History[0].Revision != first {
		t.Errorf("history after the first sync = %+v, want one entry at %s", app.Status.History, first)
	}
	waitEvent(t, ns, "web", "SyncSucceeded")
	metrics := agentMetrics(t)
	for _, want := range []string{
		fmt.Sprintf(`argolite_gitops_app_info{health_status="Healthy",name="web",namespace="%s",repo="%s",sync_status="Synced"} 1`, ns, repo.URL),
		fmt.Sprintf(`argolite_gitops_sync_total{name="web",namespace="%s",phase="Succeeded"}`, ns),
		`argolite_gitops_git_request_seconds_count{op="ls-remote",result="success"}`,
		`argolite_gitops_reconcile_seconds_count{kind="Application",name="web",namespace="` + ns + `"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("agent metrics lack %s", want)
		}
	}

	// A new commit is picked up by the poll, without any trigger.
	second := repo.commit("change the config, drop extra", map[string]string{
		"apps/web/config.yaml": configMap("web-config", "v2", ""),
		"apps/web/extra.yaml":  "",
	})
	waitApp(t, c, ns, "web", "synced to the second commit by polling", withinPoll, syncedHealthy(second))
	cm, _ = clientset.CoreV1().ConfigMaps(ns).Get(ctx, "web-config", metav1.GetOptions{})
	if cm.Data["value"] != "v2" {
		t.Errorf("web-config value = %q after the second sync, want v2", cm.Data["value"])
	}
	if _, err := clientset.CoreV1().ConfigMaps(ns).Get(ctx, "extra", metav1.GetOptions{}); !isNotFound(err) {
		t.Errorf("extra was not pruned after its file left Git (err %v)", err)
	}
	waitEvent(t, ns, "web", "Pruned")

	// Self-heal: a manual edit and a manual delete are undone.
	if _, err := clientset.CoreV1().ConfigMaps(ns).Patch(ctx, "web-config", types.MergePatchType, []byte(`{"data":{"value":"edited"}}`), metav1.PatchOptions{FieldManager: "someone"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "self-heal to restore web-config", time.Minute, func(ctx context.Context) (bool, error) {
		cm, err := clientset.CoreV1().ConfigMaps(ns).Get(ctx, "web-config", metav1.GetOptions{})
		return err == nil && cm.Data["value"] == "v2", err
	})
	if err := clientset.AppsV1().Deployments(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "self-heal to recreate the deleted Deployment", time.Minute, func(ctx context.Context) (bool, error) {
		d, err := clientset.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && d.DeletionTimestamp == nil, nil
	})
	waitApp(t, c, ns, "web", "Synced and Healthy after self-heal", 2*time.Minute, syncedHealthy(second))

	// A broken manifest in Git changes nothing live and says where it is broken.
	repo.commit("break it", map[string]string{
		"apps/web/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata: [unclosed\n",
	})
	waitApp(t, c, ns, "web", "Ready=False naming the broken file", withinPoll,
		readyFalse("RenderFailed", "config.yaml"))
	waitEvent(t, ns, "web", "RenderFailed")
	cm, err = clientset.CoreV1().ConfigMaps(ns).Get(ctx, "web-config", metav1.GetOptions{})
	if err != nil || cm.Data["value"] != "v2" {
		t.Errorf("a broken commit changed or removed live web-config: %v %v", cm.Data, err)
	}
	if _, err := clientset.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{}); err != nil {
		t.Errorf("a broken commit removed the live Deployment: %v", err)
	}

	// Rollback to the first sync: re-applies that revision and turns automated sync off.
	fixed := repo.commit("fix it", map[string]string{"apps/web/config.yaml": configMap("web-config", "v3", "")})
	waitApp(t, c, ns, "web", "synced to the fixed commit", withinPoll, syncedHealthy(fixed))
	r := argo(t, "app", "rollback", "web", "1", "-n", ns, "--timeout", "2m")
	if r.code != 0 {
		t.Fatalf("app rollback exited %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout+r.stderr, "automated sync") {
		t.Errorf("rollback does not say that automated sync is now off:\n%s%s", r.stdout, r.stderr)
	}
	app = waitApp(t, c, ns, "web", "rolled back to the first revision", time.Minute, func(a *argov1.Application) bool {
		st := a.Status.OperationState
		return st != nil && st.Phase == argov1.OperationSucceeded && st.SyncResult != nil && st.SyncResult.Revision == first
	})
	if app.Spec.SyncPolicy != nil && app.Spec.SyncPolicy.Automated != nil {
		t.Errorf("rollback left automated sync on")
	}
	cm, _ = clientset.CoreV1().ConfigMaps(ns).Get(ctx, "web-config", metav1.GetOptions{})
	if cm.Data["value"] != "v1" {
		t.Errorf("after rollback web-config value = %q, want v1", cm.Data["value"])
	}
	if app.Status.Sync.Status != argov1.SyncStatusOutOfSync {
		t.Errorf("after a rollback the app should be OutOfSync with Git's head, is %s", app.Status.Sync.Status)
	}
}
