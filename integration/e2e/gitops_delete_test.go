package e2e

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// cascadeDelete is the subtest of TestGitOps
// "cascade delete keeps objects marked Delete=false".
func (gs *gitopsSuite) cascadeDelete(t *testing.T) {
	c, srv := gs.c, gs.srv
	ctx := context.Background()
	ns := newNamespace(t)
	repo := srv.newRepo(t, "cascade")
	rev := repo.commit("two", map[string]string{
		"gone.yaml": configMap("gone", "1", ""),
		"kept.yaml": configMap("kept", "1", "  annotations:\n    argocd.argoproj.io/sync-options: Delete=false\n"),
	})
	newApp(t, c, ns, "cascade", argov1.ApplicationSpec{
		Source:     &argov1.ApplicationSource{RepoURL: repo.URL},
		SyncPolicy: automated(true, false),
	})
	waitApp(t, c, ns, "cascade", "Synced and Healthy", time.Minute, syncedHealthy(rev))
	if r := argo(t, "app", "delete", "cascade", "-n", ns, "--timeout", "2m"); r.code != 0 {
		t.Fatalf("app delete exited %d: %s", r.code, r.stderr)
	}
	if _, err := clientset.CoreV1().ConfigMaps(ns).Get(ctx, "gone", metav1.GetOptions{}); !isNotFound(err) {
		t.Errorf("cascade delete left ConfigMap gone (err %v)", err)
	}
	if _, err := clientset.CoreV1().ConfigMaps(ns).Get(ctx, "kept", metav1.GetOptions{}); err != nil {
		t.Errorf("cascade delete removed ConfigMap kept, marked Delete=false: %v", err)
	}
}
