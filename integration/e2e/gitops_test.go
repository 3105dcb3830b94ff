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
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/shared/agentmeta"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// TestGitOps runs Applications against a real Git server and the real
// cluster: sync, poll, webhook, prune, self-heal, waves, hooks, rollback,
// ignoreDifferences and each kind of bad input.
func TestGitOps(t *testing.T) {
	needCluster(t)
	installGitopsAgent(t)
	c := newCRClient(t)
	srv := startGitServer(t, "", "")
	ctx := context.Background()

	t.Run("directory app: sync, poll, prune, self-heal, broken commit, rollback", func(t *testing.T) {
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
			fmt.Sprintf(`argolite_app_info{health_status="Healthy",name="web",namespace="%s",repo="%s",sync_status="Synced"} 1`, ns, repo.URL),
			fmt.Sprintf(`argolite_app_sync_total{name="web",namespace="%s",phase="Succeeded"}`, ns),
			`argolite_git_request_seconds_count{op="ls-remote",result="success"}`,
			`argolite_app_reconcile_seconds_count{name="web",namespace="` + ns + `"}`,
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
	})

	t.Run("webhook push syncs at once, a bad signature changes nothing", func(t *testing.T) {
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
	})

	t.Run("waves apply in order, PreSync and PostSync hooks run with their delete policies", func(t *testing.T) {
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
	})

	t.Run("a failing sync runs the SyncFail hook", func(t *testing.T) {
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
	})

	t.Run("cascade delete keeps objects marked Delete=false", func(t *testing.T) {
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
	})

	t.Run("a CRD and its custom resource in one app", func(t *testing.T) {
		ns := newNamespace(t)
		repo := srv.newRepo(t, "crd")
		group := "e2e-" + ns + ".argolite.dev"
		crd := fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.%[1]s
spec:
  group: %[1]s
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
`, group)
		rev := repo.commit("crd", map[string]string{
			"crd.yaml":    crd,
			"widget.yaml": fmt.Sprintf("apiVersion: %s/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  size: 3\n", group),
		})
		t.Cleanup(func() {
			_ = c.Delete(context.Background(), &metav1.PartialObjectMetadata{
				TypeMeta:   metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
				ObjectMeta: metav1.ObjectMeta{Name: "widgets." + group},
			})
		})
		newApp(t, c, ns, "crd", argov1.ApplicationSpec{
			Source:     &argov1.ApplicationSource{RepoURL: repo.URL, TargetRevision: "master"},
			SyncPolicy: automated(true, false),
		})
		waitApp(t, c, ns, "crd", "Synced and Healthy", 2*time.Minute, syncedHealthy(rev))
	})

	t.Run("kustomize and helm apps run real Pods", func(t *testing.T) {
		ns := newNamespace(t)
		repo := srv.newRepo(t, "rendered")
		rev := repo.commit("kustomize and helm", map[string]string{
			"kustomize/base/kustomization.yaml":          "resources: [deployment.yaml]\n",
			"kustomize/base/deployment.yaml":             busyboxDeployment("web", 1, "", 0),
			"kustomize/overlays/prod/kustomization.yaml": "resources: [../../base]\nnamePrefix: prod-\n",
			"chart/Chart.yaml":                           "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
			"chart/values.yaml":                          "message: from-values\nreplicas: 1\n",
			"chart/values-prod.yaml":                     "replicas: 2\n",
			"chart/templates/configmap.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  message: {{ .Values.message | quote }}\n",
			"chart/templates/deployment.yaml":            strings.ReplaceAll(busyboxDeployment("{{ .Release.Name }}-web", 1, "", 0), "replicas: 1", "replicas: {{ .Values.replicas }}"),
		})
		newApp(t, c, ns, "kust", argov1.ApplicationSpec{
			Source: &argov1.ApplicationSource{RepoURL: repo.URL, Path: "kustomize/overlays/prod",
				Kustomize: &argov1.ApplicationSourceKustomize{NameSuffix: "-k", CommonLabels: map[string]string{"team": "e2e"}}},
			SyncPolicy: automated(true, false),
		})
		newApp(t, c, ns, "helm", argov1.ApplicationSpec{
			Source: &argov1.ApplicationSource{RepoURL: repo.URL, Path: "chart", Helm: &argov1.ApplicationSourceHelm{
				ReleaseName: "rel", ValueFiles: []string{"values-prod.yaml"},
				Parameters: []argov1.HelmParameter{{Name: "message", Value: "from-spec"}}}},
			SyncPolicy: automated(true, false),
		})
		waitApp(t, c, ns, "kust", "Synced and Healthy", 2*time.Minute, syncedHealthy(rev))
		waitApp(t, c, ns, "helm", "Synced and Healthy", 2*time.Minute, syncedHealthy(rev))
		d, err := clientset.AppsV1().Deployments(ns).Get(ctx, "prod-web-k", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("kustomize overlay with the spec's nameSuffix: %v", err)
		}
		if d.Labels["team"] != "e2e" || d.Status.ReadyReplicas != 1 {
			t.Errorf("prod-web-k: labels %v, ready %d; want team=e2e and 1 ready", d.Labels, d.Status.ReadyReplicas)
		}
		// Value files from a second repository through a ref source.
		values := srv.newRepo(t, "values")
		values.commit("values", map[string]string{"prod/values.yaml": "message: from-the-values-repo\n"})
		newApp(t, c, ns, "multi", argov1.ApplicationSpec{
			Sources: []argov1.ApplicationSource{
				{RepoURL: values.URL, Ref: "values"},
				{RepoURL: repo.URL, Path: "chart", Helm: &argov1.ApplicationSourceHelm{
					ReleaseName: "multi", ValueFiles: []string{"$values/prod/values.yaml"}}},
			},
			SyncPolicy: automated(true, false),
		})
		waitApp(t, c, ns, "multi", "Synced and Healthy", 2*time.Minute, syncedHealthy(rev))
		if mcm, err := clientset.CoreV1().ConfigMaps(ns).Get(ctx, "multi-config", metav1.GetOptions{}); err != nil || mcm.Data["message"] != "from-the-values-repo" {
			t.Errorf("the $values value file was not used: %v (err %v)", mcm, err)
		}
		hd, err := clientset.AppsV1().Deployments(ns).Get(ctx, "rel-web", metav1.GetOptions{})
		if err != nil || hd.Status.ReadyReplicas != 2 {
			t.Errorf("helm release rel: Deployment rel-web should run 2 ready replicas from values-prod.yaml (err %v)", err)
		}
		cm, err := clientset.CoreV1().ConfigMaps(ns).Get(ctx, "rel-config", metav1.GetOptions{})
		if err != nil || cm.Data["message"] != "from-spec" {
			t.Errorf("helm parameter did not win over values.yaml: %v (err %v)", cm.Data, err)
		}
	})

	t.Run("ignoreDifferences leaves an HPA's replicas alone", func(t *testing.T) {
		ns := newNamespace(t)
		repo := srv.newRepo(t, "hpa")
		hpa := `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 3
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}
`
		rev := repo.commit("hpa", map[string]string{
			"deployment.yaml": busyboxDeployment("web", 1, "", 0),
			"hpa.yaml":        hpa,
			"config.yaml":     configMap("cfg", "1", ""),
		})
		newApp(t, c, ns, "hpa", argov1.ApplicationSpec{
			Source:            &argov1.ApplicationSource{RepoURL: repo.URL},
			SyncPolicy:        automated(true, true, "RespectIgnoreDifferences=true"),
			IgnoreDifferences: []argov1.ResourceIgnoreDifferences{{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}}},
		})
		synced := func(rev string) func(*argov1.Application) bool {
			return func(a *argov1.Application) bool {
				return a.Status.Sync.Status == argov1.SyncStatusSynced && a.Status.Sync.Revision == rev &&
					a.Status.OperationState != nil && a.Status.OperationState.Phase == argov1.OperationSucceeded
			}
		}
		waitApp(t, c, ns, "hpa", "Synced", 2*time.Minute, synced(rev))
		waitFor(t, "the HPA to scale web to its minimum of 2", 2*time.Minute, func(ctx context.Context) (bool, error) {
			d, err := clientset.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
			return err == nil && *d.Spec.Replicas == 2, err
		})
		waitApp(t, c, ns, "hpa", "still Synced with the HPA's replicas", time.Minute, synced(rev))
		rev2 := repo.commit("touch config", map[string]string{"config.yaml": configMap("cfg", "2", "")})
		waitApp(t, c, ns, "hpa", "Synced at the second commit", 2*gitopsPollInterval+time.Minute, synced(rev2))
		d, err := clientset.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil || *d.Spec.Replicas != 2 {
			t.Errorf("a sync with RespectIgnoreDifferences reset the HPA's replicas (err %v)", err)
		}
	})

	t.Run("an agent restart mid-sync resumes without running a hook twice", func(t *testing.T) {
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
	})

	t.Run("the guestbook example", func(t *testing.T) {
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
	})

	t.Run("app diff, manifests and a manual sync", func(t *testing.T) {
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
	})

	t.Run("bad input is reported and changes nothing", func(t *testing.T) {
		ns := newNamespace(t)
		repo := srv.newRepo(t, "bad")
		repo.commit("bad", map[string]string{
			"invalid/cm.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n",
			"unknown/thing.yaml":  "apiVersion: nowhere.argolite.dev/v1\nkind: Thing\nmetadata:\n  name: t\n",
			"good/cm.yaml":        configMap("good", "1", ""),
			"badchart/Chart.yaml": "apiVersion: v2\nname: badchart\nversion: 0.1.0\n",
			"badchart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-chart\ndata:\n" +
				"  value: {{ required \"needed is required\" .Values.needed | quote }}\n",
		})
		authSrv := startGitServer(t, "robot", "right-password")
		private := authSrv.newRepo(t, "private")
		private.commit("private", map[string]string{"cm.yaml": configMap("private", "1", "")})
		creds := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "repo-creds", Labels: map[string]string{"argocd.argoproj.io/secret-type": "repository"}},
			Data:       map[string][]byte{"url": []byte(private.URL), "username": []byte("robot"), "password": []byte("wrong-password")},
		}
		if err := c.Create(ctx, creds); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name   string
			source argov1.ApplicationSource
			reason string
			parts  []string
		}{
			{"unreachable", argov1.ApplicationSource{RepoURL: "http://" + nodeIP(t) + ":1/nothing.git"}, "GitOperationFailed", []string{"nothing.git"}},
			{"bad-credentials", argov1.ApplicationSource{RepoURL: private.URL}, "AuthenticationFailed", []string{"private.git"}},
			{"missing-path", argov1.ApplicationSource{RepoURL: repo.URL, Path: "does/not/exist"}, "RenderFailed", []string{"does/not/exist"}},
			{"invalid-yaml", argov1.ApplicationSource{RepoURL: repo.URL, Path: "invalid"}, "RenderFailed", []string{"cm.yaml"}},
			{"unknown-kind", argov1.ApplicationSource{RepoURL: repo.URL, Path: "unknown"}, "UnknownKind", []string{"Thing", "nowhere.argolite.dev/v1"}},
			{"helm-template-error", argov1.ApplicationSource{RepoURL: repo.URL, Path: "badchart"}, "RenderFailed", []string{"badchart/templates/cm.yaml", "needed is required"}},
			{"missing-revision", argov1.ApplicationSource{RepoURL: repo.URL, TargetRevision: "no-such-branch", Path: "good"}, "RevisionNotFound", []string{"no-such-branch"}},
		}
		// Each fault hits an app already synced from good/ into its own
		// namespace, with prune and selfHeal on: it is reported, and the
		// live object stays as it was.
		dests := map[string]string{}
		for _, tc := range cases {
			dests[tc.name] = newNamespace(t)
			newApp(t, c, ns, tc.name, argov1.ApplicationSpec{
				Source:      &argov1.ApplicationSource{RepoURL: repo.URL, Path: "good"},
				Destination: argov1.ApplicationDestination{Namespace: dests[tc.name]},
				SyncPolicy:  automated(true, true),
			})
		}
		for _, tc := range cases {
			app := waitApp(t, c, ns, tc.name, "Synced from good/", time.Minute, syncedHealthy(""))
			before := app.DeepCopy()
			app.Spec.Source = &tc.source
			if err := c.Patch(ctx, app, client.MergeFrom(before)); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range cases {
			waitApp(t, c, ns, tc.name, "Ready=False "+tc.reason, time.Minute, readyFalse(tc.reason, tc.parts...))
			waitEvent(t, ns, tc.name, tc.reason)
		}
		for _, tc := range cases {
			cm, err := clientset.CoreV1().ConfigMaps(dests[tc.name]).Get(ctx, "good", metav1.GetOptions{})
			if err != nil || cm.Data["value"] != "1" || cm.Labels[argov1.LabelAppName] != tc.name {
				t.Errorf("%s: the live ConfigMap changed or went away: %v %v (err %v)", tc.name, cm.Data, cm.Labels, err)
			}
		}
		// The same private repository with the right password in a secretRef syncs.
		good := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "good-creds"},
			Data:       map[string][]byte{"username": []byte("robot"), "password": []byte("right-password")},
		}
		if err := c.Create(ctx, good); err != nil {
			t.Fatal(err)
		}
		newApp(t, c, ns, "good-credentials", argov1.ApplicationSpec{
			Source:     &argov1.ApplicationSource{RepoURL: private.URL, SecretRef: &argov1.LocalSecretReference{Name: "good-creds"}},
			SyncPolicy: automated(true, false),
		})
		waitApp(t, c, ns, "good-credentials", "Synced with the secretRef's credentials", time.Minute, syncedHealthy(""))
		if _, err := clientset.CoreV1().ConfigMaps(ns).Get(ctx, "private", metav1.GetOptions{}); err != nil {
			t.Errorf("the private repository's ConfigMap was not applied: %v", err)
		}
		// A namespace the agent may not write (an admission policy refuses
		// it): the sync fails naming the object and the refusal.
		denied := newNamespace(t)
		denyAgentWrites(t, denied)
		newApp(t, c, ns, "forbidden-namespace", argov1.ApplicationSpec{
			Source:      &argov1.ApplicationSource{RepoURL: repo.URL, Path: "good"},
			Destination: argov1.ApplicationDestination{Namespace: denied},
			SyncPolicy:  automated(true, false),
		})
		waitApp(t, c, ns, "forbidden-namespace", "Ready=False SyncFailed", time.Minute,
			readyFalse("SyncFailed", "ConfigMap/"+denied+"/good", "may not write"))
		waitEvent(t, ns, "forbidden-namespace", "SyncFailed")
		if _, err := clientset.CoreV1().ConfigMaps(denied).Get(ctx, "good", metav1.GetOptions{}); !isNotFound(err) {
			t.Errorf("the refused ConfigMap exists in %s (err %v)", denied, err)
		}
		// A destination in another cluster is refused with the way forward.
		newApp(t, c, ns, "elsewhere", argov1.ApplicationSpec{
			Source:      &argov1.ApplicationSource{RepoURL: repo.URL, Path: "good"},
			Destination: argov1.ApplicationDestination{Server: "https://other-cluster.example:6443", Namespace: ns},
		})
		waitApp(t, c, ns, "elsewhere", "Ready=False InvalidSpec", time.Minute, readyFalse("InvalidSpec", "spec.destination.server", "fleet"))
	})
}
