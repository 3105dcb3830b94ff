package gitops

import (
	"fmt"
	"maps"
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/argolite/argolite/agent/config"
	"github.com/argolite/argolite/agent/ctrlkit"
	"github.com/argolite/argolite/shared/agentmeta"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/git"
)

// Options configure the GitOps role.
type Options struct {
	// Namespace is the agent's namespace: its config and webhook Secrets live there.
	Namespace         string
	PollInterval      time.Duration
	GitCacheDir       string
	Concurrency       int
	SyncTimeout       time.Duration
	WebhookSecretName string
}

// Mux is where the role adds its webhook handler (the agent's webhook server).
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// WebhookPath is the Git push webhook endpoint on the agent's Service.
const WebhookPath = "/api/webhook"

// +kubebuilder:rbac:groups=argolite.dev,resources=applications,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=argolite.dev,resources=applications/status;applications/finalizers,verbs=get;update;patch
// The agent applies whatever the Applications in its cluster hold, as Argo CD's
// application controller does; per-app impersonation arrives with AppProjects.
// +kubebuilder:rbac:groups=*,resources=*,verbs=*

// Setup adds the Application reconciler, the watches on managed objects and
// the push webhook to the manager.
func Setup(mgr manager.Manager, mux Mux, settings config.Source, o Options) error {
	gitCache, err := git.NewCache(git.Options{
		Dir: o.GitCacheDir,
		OnRequest: func(op string, d time.Duration, err error) {
			result := "success"
			if err != nil {
				result = "error"
			}
			gitRequestSeconds.WithLabelValues(op, result).Observe(d.Seconds())
		},
	})
	if err != nil {
		return fmt.Errorf("git cache in %s: %w", o.GitCacheDir, err)
	}

	// Managed objects are watched metadata-only and only when they carry our
	// owner label, so the agent's memory follows what it manages, not the cluster.
	owned, err := labels.NewRequirement(argov1.LabelAppName, selection.Exists, nil)
	if err != nil {
		return err
	}
	managedCache, err := cache.New(mgr.GetConfig(), cache.Options{
		Scheme:               mgr.GetScheme(),
		Mapper:               mgr.GetRESTMapper(),
		DefaultLabelSelector: labels.NewSelector().Add(*owned),
		DefaultTransform:     cache.TransformStripManagedFields(),
	})
	if err != nil {
		return fmt.Errorf("cache of managed objects: %w", err)
	}
	if err := mgr.Add(managedCache); err != nil {
		return err
	}

	r := &Reconciler{
		Events:    ctrlkit.Events{Recorder: mgr.GetEventRecorder("argolite-gitops")},
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Mapper:    mgr.GetRESTMapper(),
		Git:       gitCache,
		Options:   o,
		status:    ctrlkit.NewStatusWriter(mgr.GetClient()),
		metrics:   ctrlkit.RoleMetrics("gitops"),
		health:    config.NewParsed(settings, agentmeta.ConfigMapName, healthRules(settings.Namespace())),
		renders:   newRenderCache(),
		memo:      newCompareMemo(),
	}

	c, err := ctrl.NewControllerManagedBy(mgr).
		For(&argov1.Application{}, builder.WithPredicates(predicate.Or[client.Object](
			predicate.GenerationChangedPredicate{},
			annotationsChanged(),
		))).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(o.Concurrency, 1)}).
		Named("application").
		Build(r)
	if err != nil {
		return err
	}
	r.watcher = newWatcher(managedCache, c)

	mux.Handle(WebhookPath, r.webhookHandler())
	return nil
}

// appRequest names the Application that owns an object, from its owner labels.
func appRequest(objLabels map[string]string) (ctrl.Request, bool) {
	name, ns := objLabels[argov1.LabelAppName], objLabels[argov1.LabelAppNamespace]
	if name == "" || ns == "" {
		return ctrl.Request{}, false
	}
	return ctrl.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}, true
}

// annotationsChanged passes an update whose annotations changed, except the
// one that only removes a refresh annotation the reconcile has handled: that
// would reconcile (and write the status of) a large app a second time for
// nothing.
func annotationsChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		if e.ObjectOld == nil || e.ObjectNew == nil {
			return true
		}
		if _, refresh := argov1.Annotation(e.ObjectNew.GetAnnotations(), argov1.AnnotationRefresh); refresh {
			return true
		}
		return !maps.Equal(withoutRefresh(e.ObjectOld.GetAnnotations()), withoutRefresh(e.ObjectNew.GetAnnotations()))
	}}
}

// withoutRefresh is annotations less the refresh annotations (ours and Argo
// CD's).
func withoutRefresh(annotations map[string]string) map[string]string {
	out := maps.Clone(annotations)
	delete(out, argov1.Prefix+argov1.AnnotationRefresh)
	delete(out, argov1.ArgoCDPrefix+argov1.AnnotationRefresh)
	return out
}
