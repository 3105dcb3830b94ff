package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// guestbookExample is the subtest of TestGitOps
// "the guestbook example".
func (gs *gitopsSuite) guestbookExample(t *testing.T) {
	c, srv := gs.c, gs.srv
	ctx := context.Background()
	ns := newNamespace(t)
	dest := ns + "-gb"
	t.Cleanup(func() { _ = clientset.CoreV1().Namespaces().Delete(context.Background(), dest, metav1.DeleteOptions{}) })
	example := filepath.Join(e2e.repoRoot, "examples", "gitops-guestbook")
	repo := srv.newRepo(t, "guestbook-example")
	files := map[string]string{}
	entries, err := os.ReadDir(filepath.Join(example, "manifests"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(example, "manifests", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files["manifests/"+e.Name()] = string(b)
	}
	rev := repo.commit("the example", files)
	appYAML, err := os.ReadFile(filepath.Join(example, "application.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	appFile := filepath.Join(t.TempDir(), "application.yaml")
	text := strings.ReplaceAll(strings.ReplaceAll(string(appYAML), "REPO_URL", repo.URL), "namespace: guestbook", "namespace: "+dest)
	if err := os.WriteFile(appFile, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := argo(t, "app", "create", "-f", appFile, "-n", ns); r.code != 0 {
		t.Fatalf("app create -f exited %d: %s", r.code, r.stderr)
	}
	if r := argo(t, "app", "wait", "guestbook", "-n", ns, "--timeout", "3m"); r.code != 0 {
		t.Fatalf("app wait exited %d: %s", r.code, r.stderr)
	}
	app := waitApp(t, c, ns, "guestbook", "Synced and Healthy", time.Minute, syncedHealthy(rev))
	if !slices.Contains(app.Finalizers, argov1.ResourcesFinalizer) {
		t.Errorf("Argo CD's finalizer was not mapped: %v", app.Finalizers)
	}
	var smoke *argov1.ResourceResult
	for i, r := range app.Status.OperationState.SyncResult.Resources {
		if r.SyncPhase == "PostSync" {
			smoke = &app.Status.OperationState.SyncResult.Resources[i]
		}
	}
	if smoke == nil || smoke.HookPhase != "Succeeded" || !strings.HasPrefix(smoke.Name, "guestbook-smoke-") {
		t.Errorf("the PostSync smoke test did not succeed: %+v", smoke)
	}
	r := argo(t, "app", "get", "guestbook", "-n", ns)
	for _, want := range []string{"Synced", "Healthy", "Deployment", "guestbook-config", "PostSync"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("app get does not show %q:\n%s", want, r.stdout)
		}
	}
	// Deleting the app deletes what it deployed (the mapped finalizer).
	if r := argo(t, "app", "delete", "guestbook", "-n", ns, "--timeout", "2m"); r.code != 0 {
		t.Fatalf("app delete exited %d: %s", r.code, r.stderr)
	}
	if _, err := clientset.AppsV1().Deployments(dest).Get(ctx, "guestbook", metav1.GetOptions{}); !isNotFound(err) {
		t.Errorf("cascade delete left the Deployment (err %v)", err)
	}
}
