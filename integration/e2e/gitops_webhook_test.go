package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argolite/argolite/shared/agentmeta"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// webhookPush is the subtest of TestGitOps
// "webhook push syncs at once, a bad signature changes nothing".
func (gs *gitopsSuite) webhookPush(t *testing.T) {
	c, srv := gs.c, gs.srv
	ctx := context.Background()
	ns := newNamespace(t)
	repo := srv.newRepo(t, "hooked")
	first := repo.commit("first", map[string]string{"config.yaml": configMap("pushed", "one", "")})
	secret := "s3cr3t"
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: agentmeta.Namespace, Name: "argolite-webhook"}, Data: map[string][]byte{"secret": []byte(secret)}}
	if err := c.Create(ctx, sec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), sec) })
	newApp(t, c, ns, "pushed", argov1.ApplicationSpec{
		Source:     &argov1.ApplicationSource{RepoURL: repo.URL, TargetRevision: "master"},
		SyncPolicy: automated(false, false),
	})
	waitApp(t, c, ns, "pushed", "synced", 2*time.Minute, syncedHealthy(first))
	svc, err := clientset.CoreV1().Services(agentmeta.Namespace).Get(ctx, agentmeta.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hookURL := fmt.Sprintf("http://%s:80/api/webhook", svc.Spec.ClusterIP)

	second := repo.commit("second", map[string]string{"config.yaml": configMap("pushed", "two", "")})
	payload, _ := json.Marshal(map[string]any{
		"ref": "refs/heads/master", "after": second,
		"repository": map[string]any{"html_url": repo.URL, "clone_url": repo.URL},
	})
	post := func(sig string) int {
		req, _ := http.NewRequest(http.MethodPost, hookURL, bytes.NewReader(payload))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-Hub-Signature-256", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("posting the webhook: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("sha256=" + strings.Repeat("0", 64)); code != http.StatusUnauthorized {
		t.Errorf("a bad signature got HTTP %d, want 401", code)
	}
	app, _ := getApp(ctx, c, ns, "pushed")
	if _, ok := argov1.Annotation(app.Annotations, argov1.AnnotationRefresh); ok || app.Status.Sync.Revision != first {
		t.Errorf("a push with a bad signature refreshed the app: annotations %v, revision %s", app.Annotations, app.Status.Sync.Revision)
	}
	// The next poll is at least a poll interval after the last reconcile:
	// a sync well before it is the webhook's doing.
	pollDue := app.Status.ReconciledAt.Add(gitopsPollInterval)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(payload)
	if code := post("sha256=" + hex.EncodeToString(mac.Sum(nil))); code != http.StatusOK {
		t.Fatalf("a signed push got HTTP %d, want 200", code)
	}
	waitApp(t, c, ns, "pushed", "synced to the pushed commit", gitopsPollInterval, syncedHealthy(second))
	if now := time.Now(); !now.Before(pollDue) {
		t.Errorf("the push synced at %s, no sooner than the next poll (due %s): the webhook did not refresh the app", now.Format(time.RFC3339), pollDue.Format(time.RFC3339))
	}
}
