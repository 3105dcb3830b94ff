package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// kustomizeAndHelm is the subtest of TestGitOps
// "kustomize and helm apps run real Pods".
func (gs *gitopsSuite) kustomizeAndHelm(t *testing.T) {
	c, srv := gs.c, gs.srv
	ctx := context.Background()
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
}
