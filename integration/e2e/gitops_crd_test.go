package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// crdAndItsResource is the subtest of TestGitOps
// "a CRD and its custom resource in one app".
func (gs *gitopsSuite) crdAndItsResource(t *testing.T) {
	c, srv := gs.c, gs.srv
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
}
