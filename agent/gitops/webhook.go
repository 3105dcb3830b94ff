package gitops

import (
	"context"
	"crypto/rand"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/agent/gitops/pushhook"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// webhookHandler refreshes the Applications a Git push concerns.
func (r *Reconciler) webhookHandler() http.Handler {
	return pushhook.Handler(r.webhookSecret, r.refreshPushed)
}

// webhookSecret reads the signing secret on every request so it can rotate.
// No Secret means unsigned pushes are accepted; a Secret the agent cannot
// read refuses every push rather than accepting unsigned ones.
func (r *Reconciler) webhookSecret() []byte {
	if r.Options.WebhookSecretName == "" {
		return nil
	}
	var s corev1.Secret
	err := r.APIReader.Get(context.Background(), types.NamespacedName{Namespace: r.Options.Namespace, Name: r.Options.WebhookSecretName}, &s)
	switch {
	case err == nil:
		return s.Data["secret"]
	case apierrors.IsNotFound(err):
		return nil
	default:
		unguessable := make([]byte, 32)
		_, _ = rand.Read(unguessable)
		return unguessable
	}
}

// refreshPushed marks every Application that tracks the pushed repository
// and branch (or tag) for a refresh, and returns how many it marked.
func (r *Reconciler) refreshPushed(ctx context.Context, p pushhook.Push) int {
	var apps argov1.ApplicationList
	if err := r.Client.List(ctx, &apps); err != nil {
		logFrom(ctx).Error(err, "listing Applications for a push")
		return 0
	}
	n := 0
	for i := range apps.Items {
		app := &apps.Items[i]
		if !pushConcerns(app, p) {
			continue
		}
		patch := client.MergeFrom(app.DeepCopy())
		if app.Annotations == nil {
			app.Annotations = map[string]string{}
		}
		app.Annotations[argov1.Prefix+argov1.AnnotationRefresh] = "normal"
		if err := r.Client.Patch(ctx, app, patch); err != nil {
			logFrom(ctx).Error(err, "refreshing Application", "application", app.Namespace+"/"+app.Name)
			continue
		}
		n++
	}
	return n
}

// pushConcerns reports whether a push touches one of the app's sources.
func pushConcerns(app *argov1.Application, p pushhook.Push) bool {
	srcs := app.Spec.Sources
	if app.Spec.Source != nil {
		srcs = []argov1.ApplicationSource{*app.Spec.Source}
	}
	for _, s := range srcs {
		if p.Matches(s.RepoURL, s.TargetRevision) {
			return true
		}
	}
	return false
}
