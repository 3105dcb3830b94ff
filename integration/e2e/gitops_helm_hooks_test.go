package e2e

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// helmHooksExample is helm-hooks/manifests.yaml of
// github.com/argoproj/argocd-example-apps as written, except nginx:latest,
// which the test bed registry serves as nginx:1.25. Argo CD runs only its
// pre-install Job: "Sync" is no Helm hook and "post-insntall" is misspelt, so
// those two Jobs are hooks that never run (and are never compared).
var helmHooksExample = strings.ReplaceAll(`---
apiVersion: batch/v1
kind: Job
metadata:
  generateName: upgrade-sql-schema
  annotations:
    helm.sh/hook: pre-install
spec:
  template:
    spec:
      containers:
        - name: upgrade-sql-schema
          image: alpine:latest
          command: ["sleep", "5"]
      restartPolicy: Never
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: backend
spec:
  replicas: 1
  selector:
    matchLabels:
      tier: backend
  template:
    metadata:
      labels:
        tier: backend
    spec:
      containers:
        - name: main
          image: nginx:latest
---
apiVersion: v1
kind: Service
metadata:
  name: backend
spec:
  selector:
    tier: backend
  ports:
    - protocol: TCP
      port: 8080
      targetPort: 8080
---
apiVersion: batch/v1
kind: Job
metadata:
  name: maint-page-up
  annotations:
    helm.sh/hook: Sync
    helm.sh/hook-delete-policy: before-hook-creation
    helm.sh/hook-weight: "1"
spec:
  template:
    spec:
      containers:
        - name: page-up
          image: alpine:latest
          command: ["sleep", "2"]
      restartPolicy: Never
  backoffLimit: 0
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: frontend
  annotations:
    helm.sh/hook-weight: "2"
spec:
  replicas: 1
  selector:
    matchLabels:
      tier: frontend
  template:
    metadata:
      labels:
        tier: frontend
    spec:
      containers:
        - name: main
          image: nginx:latest
---
apiVersion: v1
kind: Service
metadata:
  name: frontend
  annotations:
    helm.sh/hook-weight: "2"
spec:
  selector:
    tier: frontend
  ports:
    - protocol: TCP
      port: 80
      targetPort: 80
---
apiVersion: batch/v1
kind: Job
metadata:
  name: maint-page-down
  annotations:
    helm.sh/hook: post-insntall
    helm.sh/hook-delete-policy: before-hook-creation
    helm.sh/hook-weight: "3"
spec:
  template:
    spec:
      containers:
        - name: page-down
          image: alpine:latest
          command: ["sleep", "2"]
      restartPolicy: Never
`, "nginx:latest", "nginx:1.25")

// helmSmokeHook is a correctly spelt post-install hook, also with only a
// generateName, so the chart has a hook on each side of its resources.
const helmSmokeHook = `apiVersion: batch/v1
kind: Job
metadata:
  generateName: smoke-
  annotations:
    helm.sh/hook: post-install,post-upgrade
    helm.sh/hook-delete-policy: before-hook-creation
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: smoke
          image: alpine:latest
          command: ["sleep", "1"]
`

// TestGitOpsHelmHooks syncs Argo CD's helm-hooks example twice, as a Helm
// chart (with a post-install hook added) and as the plain directory it is
// upstream: Helm hooks with only a generateName are created with generated
// names, before and after the resources, and never compared as resources.
func TestGitOpsHelmHooks(t *testing.T) {
	needCluster(t)
	sharedAgent(t)
	c := newCRClient(t)
	srv := startGitServer(t, "", "")
	ctx := context.Background()

	repo := srv.newRepo(t, "helm-hooks")
	rev := repo.commit("helm-hooks example", map[string]string{
		"chart/Chart.yaml":               "apiVersion: v2\nname: helm-hooks\nversion: 0.1.0\n",
		"chart/templates/manifests.yaml": helmHooksExample,
		"chart/templates/smoke.yaml":     helmSmokeHook,
		"dir/manifests.yaml":             helmHooksExample,
	})
	chartNS, dirNS := newNamespace(t), newNamespace(t)
	newApp(t, c, chartNS, "hooks", argov1.ApplicationSpec{
		Source:     &argov1.ApplicationSource{RepoURL: repo.URL, Path: "chart"},
		SyncPolicy: automated(true, false),
	})
	newApp(t, c, dirNS, "hooks", argov1.ApplicationSpec{
		Source:     &argov1.ApplicationSource{RepoURL: repo.URL, Path: "dir"},
		SyncPolicy: automated(true, false),
	})
	waitApp(t, c, chartNS, "hooks", "Synced and Healthy", 3*time.Minute, syncedHealthy(rev))
	waitApp(t, c, dirNS, "hooks", "Synced and Healthy", 3*time.Minute, syncedHealthy(rev))

	for _, ns := range []string{chartNS, dirNS} {
		backend, err := clientset.AppsV1().ReplicaSets(ns).Get(ctx, "backend", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: the example's ReplicaSet backend: %v", ns, err)
		}
		pre := generatedJobs(t, ns, "upgrade-sql-schema")
		if len(pre) != 1 || pre[0].Status.Succeeded != 1 {
			t.Fatalf("%s: want one succeeded pre-install Job upgrade-sql-schema*, got %v", ns, jobNames(pre))
		}
		if done := pre[0].Status.CompletionTime; done == nil || done.After(backend.CreationTimestamp.Time) {
			t.Errorf("%s: the pre-install Job %s completed at %v, after the ReplicaSet was created at %s", ns, pre[0].Name, done, backend.CreationTimestamp)
		}
		for _, never := range []string{"maint-page-up", "maint-page-down"} {
			if _, err := clientset.BatchV1().Jobs(ns).Get(ctx, never, metav1.GetOptions{}); !isNotFound(err) {
				t.Errorf("%s: Job %s has no Argo phase (Argo CD never runs it) but exists (err %v)", ns, never, err)
			}
		}
	}
	post := generatedJobs(t, chartNS, "smoke-")
	backend, _ := clientset.AppsV1().ReplicaSets(chartNS).Get(ctx, "backend", metav1.GetOptions{})
	if len(post) != 1 || post[0].Status.Succeeded != 1 || post[0].CreationTimestamp.Before(&backend.CreationTimestamp) {
		t.Errorf("want one succeeded post-install Job smoke-* created after the resources, got %v", jobNames(post))
	}

	// A second sync creates each hook again under a new generated name; the
	// old ones stay, as in Argo CD, since BeforeHookCreation deletes by name.
	rev2 := repo.commit("second sync", map[string]string{
		"chart/templates/note.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: note\ndata:\n  sync: second\n",
		"dir/note.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: note\ndata:\n  sync: second\n",
	})
	waitApp(t, c, chartNS, "hooks", "Synced and Healthy at the second commit", 2*gitopsPollInterval+3*time.Minute, syncedHealthy(rev2))
	app := waitApp(t, c, dirNS, "hooks", "Synced and Healthy at the second commit", 2*gitopsPollInterval+3*time.Minute, syncedHealthy(rev2))
	for _, ns := range []string{chartNS, dirNS} {
		if pre := generatedJobs(t, ns, "upgrade-sql-schema"); len(pre) != 2 || pre[0].Name == pre[1].Name || pre[1].Status.Succeeded != 1 {
			t.Errorf("%s: after the second sync want two pre-install Jobs with different generated names, got %v", ns, jobNames(pre))
		}
	}
	if post := generatedJobs(t, chartNS, "smoke-"); len(post) != 2 {
		t.Errorf("after the second sync want two post-install Jobs smoke-*, got %v", jobNames(post))
	}
	var hook *argov1.ResourceResult
	for i, r := range app.Status.OperationState.SyncResult.Resources {
		if strings.HasPrefix(r.Name, "upgrade-sql-schema") {
			hook = &app.Status.OperationState.SyncResult.Resources[i]
		}
	}
	if hook == nil || hook.SyncPhase != "PreSync" || hook.HookPhase != "Succeeded" {
		t.Errorf("the second sync's result lacks the pre-install hook under its generated name: %+v", app.Status.OperationState.SyncResult.Resources)
	}
}

// generatedJobs lists the Jobs of ns whose name starts with prefix, oldest first.
func generatedJobs(t *testing.T, ns, prefix string) []batchv1.Job {
	t.Helper()
	list, err := clientset.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []batchv1.Job
	for _, j := range list.Items {
		if strings.HasPrefix(j.Name, prefix) && j.Name != prefix {
			out = append(out, j)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreationTimestamp.Before(&out[j].CreationTimestamp) })
	return out
}

func jobNames(jobs []batchv1.Job) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.Name)
	}
	return out
}
