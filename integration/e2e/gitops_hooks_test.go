package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// wavesAndHooks is the subtest of TestGitOps
// "waves apply in order, PreSync and PostSync hooks run with their delete policies".
func (gs *gitopsSuite) wavesAndHooks(t *testing.T) {
	c, srv := gs.c, gs.srv
	ctx := context.Background()
	ns := newNamespace(t)
	repo := srv.newRepo(t, "waves")
	wave := func(n int) string {
		return fmt.Sprintf("  annotations:\n    argocd.argoproj.io/sync-wave: \"%d\"\n", n)
	}
	rev := repo.commit("waves", map[string]string{
		"presync.yaml":  hookJob("migrate", "PreSync", "HookSucceeded", "sleep 1"),
		"precheck.yaml": hookJob("precheck", "PreSync", "HookFailed", "sleep 2"),
		"wave1.yaml":    configMap("first", "1", wave(1)),
		"wave2.yaml":    busyboxDeployment("slow", 1, wave(2), 3),
		"wave3.yaml":    configMap("third", "3", wave(3)),
		"postsync.yaml": hookJob("smoke", "PostSync", "", "echo smoke ok"),
	})
	newApp(t, c, ns, "waves", argov1.ApplicationSpec{
		Source:     &argov1.ApplicationSource{RepoURL: repo.URL, TargetRevision: "master"},
		SyncPolicy: automated(true, false),
	})
	app := waitApp(t, c, ns, "waves", "Synced and Healthy", 3*time.Minute, syncedHealthy(rev))
	first, err := clientset.CoreV1().ConfigMaps(ns).Get(ctx, "first", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	third, err := clientset.CoreV1().ConfigMaps(ns).Get(ctx, "third", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if available := deploymentAvailableAt(t, ns, "slow"); third.CreationTimestamp.Time.Before(available.Truncate(time.Second)) {
		t.Errorf("wave 3 was created at %s, before wave 2's Deployment turned Available at %s", third.CreationTimestamp, available)
	}
	smoke, err := clientset.BatchV1().Jobs(ns).Get(ctx, "smoke", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the PostSync Job (no delete policy) should remain: %v", err)
	}
	if smoke.Status.Succeeded != 1 || smoke.CreationTimestamp.Before(&third.CreationTimestamp) {
		t.Errorf("PostSync Job: succeeded=%d created %s, want it to succeed after the last wave (%s)", smoke.Status.Succeeded, smoke.CreationTimestamp, third.CreationTimestamp)
	}
	if _, err := clientset.BatchV1().Jobs(ns).Get(ctx, "migrate", metav1.GetOptions{}); !isNotFound(err) {
		t.Errorf("the PreSync Job with HookSucceeded should be deleted after it succeeded (err %v)", err)
	}
	// HookFailed keeps a hook that succeeded; it ran to the end before wave 1.
	precheck, err := clientset.BatchV1().Jobs(ns).Get(ctx, "precheck", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the PreSync Job with HookFailed should remain after it succeeded: %v", err)
	}
	if done := precheck.Status.CompletionTime; done == nil || done.After(first.CreationTimestamp.Time) {
		t.Errorf("the PreSync Job completed at %v, after wave 1 was created at %s", done, first.CreationTimestamp)
	}
	var pre, post *argov1.ResourceResult
	for i, r := range app.Status.OperationState.SyncResult.Resources {
		switch r.Name {
		case "migrate":
			pre = &app.Status.OperationState.SyncResult.Resources[i]
		case "smoke":
			post = &app.Status.OperationState.SyncResult.Resources[i]
		}
	}
	if pre == nil || pre.HookPhase != "Succeeded" || pre.SyncPhase != "PreSync" || post == nil || post.HookPhase != "Succeeded" {
		t.Errorf("hook results: PreSync %+v, PostSync %+v", pre, post)
	}
	if first.CreationTimestamp.After(third.CreationTimestamp.Time) {
		t.Errorf("wave 1 (%s) created after wave 3 (%s)", first.CreationTimestamp, third.CreationTimestamp)
	}

	// A second sync replaces the PostSync Job (BeforeHookCreation is the default).
	oldUID := smoke.UID
	rev2 := repo.commit("again", map[string]string{"wave1.yaml": configMap("first", "1b", wave(1))})
	waitApp(t, c, ns, "waves", "Synced at the second commit", 2*gitopsPollInterval+2*time.Minute, syncedHealthy(rev2))
	smoke2, err := clientset.BatchV1().Jobs(ns).Get(ctx, "smoke", metav1.GetOptions{})
	if err != nil || smoke2.UID == oldUID {
		t.Errorf("the PostSync Job was not recreated by the second sync (err %v)", err)
	}
}

// syncFailHook is the subtest of TestGitOps
// "a failing sync runs the SyncFail hook".
func (gs *gitopsSuite) syncFailHook(t *testing.T) {
	c, srv := gs.c, gs.srv
	ctx := context.Background()
	ns := newNamespace(t)
	repo := srv.newRepo(t, "failing")
	repo.commit("fails", map[string]string{
		"config.yaml":  configMap("cfg", "x", ""),
		"broken.yaml":  hookJob("broken", "Sync", "HookFailed", "echo failing on purpose; exit 3"),
		"cleanup.yaml": hookJob("cleanup", "SyncFail", "", "echo cleaning up"),
	})
	newApp(t, c, ns, "failing", argov1.ApplicationSpec{
		Source:     &argov1.ApplicationSource{RepoURL: repo.URL, TargetRevision: "master"},
		SyncPolicy: automated(false, false),
	})
	app := waitApp(t, c, ns, "failing", "the sync to fail", 3*time.Minute, func(a *argov1.Application) bool {
		return a.Status.OperationState != nil && a.Status.OperationState.Phase == argov1.OperationFailed
	})
	if msg := app.Status.OperationState.Message; !strings.Contains(msg, "broken") {
		t.Errorf("the failed operation's message does not name the failing hook: %q", msg)
	}
	job, err := clientset.BatchV1().Jobs(ns).Get(ctx, "cleanup", metav1.GetOptions{})
	if err != nil || job.Status.Succeeded != 1 {
		t.Errorf("the SyncFail Job did not run to success: %v", err)
	}
	waitEvent(t, ns, "failing", "SyncFailed")
	waitFor(t, "the failed hook with HookFailed to be deleted", time.Minute, func(ctx context.Context) (bool, error) {
		_, err := clientset.BatchV1().Jobs(ns).Get(ctx, "broken", metav1.GetOptions{})
		return isNotFound(err), nil
	})
}
