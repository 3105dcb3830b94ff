package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// diffManifestsManualSync is the subtest of TestGitOps
// "app diff, manifests and a manual sync".
func (gs *gitopsSuite) diffManifestsManualSync(t *testing.T) {
	c, srv := gs.c, gs.srv
	ctx := context.Background()
	ns := newNamespace(t)
	repo := srv.newRepo(t, "diffed")
	rev := repo.commit("manual", map[string]string{"app/config.yaml": configMap("diffed", "v1", "")})
	newApp(t, c, ns, "diffed", argov1.ApplicationSpec{Source: &argov1.ApplicationSource{RepoURL: repo.URL, Path: "app"}})
	waitApp(t, c, ns, "diffed", "OutOfSync before any sync", time.Minute, func(a *argov1.Application) bool {
		return a.Status.Sync.Status == argov1.SyncStatusOutOfSync && a.Status.Sync.Revision == rev
	})
	r := argo(t, "app", "diff", "diffed", "-n", ns)
	if r.code != 1 || !strings.Contains(r.stdout, "+++ ") || !strings.Contains(r.stdout, `+  value: v1`) {
		t.Errorf("app diff before the first sync: exit %d, want 1 and the ConfigMap as added:\n%s", r.code, r.stdout)
	}
	r = argo(t, "app", "manifests", "diffed", "-n", ns)
	if r.code != 0 || !strings.Contains(r.stdout, "name: diffed") || !strings.Contains(r.stdout, argov1.LabelAppName+": diffed") {
		t.Errorf("app manifests: exit %d:\n%s", r.code, r.stdout)
	}
	if r := argo(t, "app", "sync", "diffed", "-n", ns, "--timeout", "2m"); r.code != 0 {
		t.Fatalf("app sync exited %d: %s", r.code, r.stderr)
	}
	waitApp(t, c, ns, "diffed", "Synced", time.Minute, syncedHealthy(rev))
	if r := argo(t, "app", "diff", "diffed", "-n", ns); r.code != 0 || strings.TrimSpace(r.stdout) != "" {
		t.Errorf("app diff after the sync: exit %d, want 0 and no output:\n%s", r.code, r.stdout)
	}
	local := t.TempDir()
	if err := os.WriteFile(filepath.Join(local, "config.yaml"), []byte(configMap("diffed", "v2", "")), 0o644); err != nil {
		t.Fatal(err)
	}
	r = argo(t, "app", "diff", "diffed", "-n", ns, "--local", local)
	if r.code != 1 || !strings.Contains(r.stdout, "-  value: v1") || !strings.Contains(r.stdout, "+  value: v2") {
		t.Errorf("app diff --local with a change: exit %d, want 1 and v1 -> v2:\n%s", r.code, r.stdout)
	}
	if _, err := clientset.CoreV1().ConfigMaps(ns).Patch(ctx, "diffed", types.MergePatchType, []byte(`{"data":{"value":"edited"}}`), metav1.PatchOptions{FieldManager: "someone"}); err != nil {
		t.Fatal(err)
	}
	r = argo(t, "app", "diff", "diffed", "-n", ns)
	if r.code != 1 || !strings.Contains(r.stdout, "-  value: edited") || !strings.Contains(r.stdout, "+  value: v1") {
		t.Errorf("app diff after a manual edit: exit %d, want 1 and edited -> v1:\n%s", r.code, r.stdout)
	}
}
