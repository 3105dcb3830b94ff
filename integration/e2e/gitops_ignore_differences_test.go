package e2e

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// ignoreDifferences is the subtest of TestGitOps
// "ignoreDifferences leaves an HPA's replicas alone".
func (gs *gitopsSuite) ignoreDifferences(t *testing.T) {
	c, srv := gs.c, gs.srv
	ctx := context.Background()
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
}
