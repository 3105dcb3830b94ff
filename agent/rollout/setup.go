package rollout

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/argolite/argolite/agent/ctrlkit"
	"github.com/argolite/argolite/agent/rollout/analysis"
	"github.com/argolite/argolite/agent/rollout/experiment"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// Options configure the rollout role.
type Options struct {
	// Concurrency is how many Rollouts (and, apart, AnalysisRuns) are
	// reconciled at once.
	Concurrency int
}

// +kubebuilder:rbac:groups=argolite.dev,resources=rollouts,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=argolite.dev,resources=rollouts/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=apps,resources=replicasets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;patch;update
// +kubebuilder:rbac:groups=argolite.dev,resources=rollouts/finalizers,verbs=update
// +kubebuilder:rbac:groups=argolite.dev,resources=experiments,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;patch;update
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=pods/eviction,verbs=create
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes,verbs=get;list;watch;create;update;patch;delete

// CacheScopes limits the agent's caches to what the role owns: the
// ReplicaSets of Rollouts (labelled rollouts-pod-template-hash) and the
// analysis Jobs.
func CacheScopes() map[client.Object]cache.ByObject {
	req, err := labels.NewRequirement(LabelPodTemplateHash, selection.Exists, nil)
	if err != nil {
		panic(err) // a constant requirement
	}
	out := analysis.CacheScopes()
	out[&appsv1.ReplicaSet{}] = cache.ByObject{Label: labels.NewSelector().Add(*req)}
	return out
}

// Setup adds the Rollout, AnalysisRun and Experiment controllers to the
// manager. A Rollout is woken by its own changes, its ReplicaSets',
// AnalysisRuns', Experiments' and
// workloadRef Deployment's changes, and the times its steps asked for (a pause, a scale-down
// delay, the progress deadline).
func Setup(mgr manager.Manager, o Options) error {
	if err := analysis.Setup(mgr, analysis.Options{Concurrency: o.Concurrency}); err != nil {
		return err
	}
	if err := experiment.Setup(mgr, experiment.Options{Concurrency: o.Concurrency}); err != nil {
		return err
	}
	r := newReconciler(mgr.GetClient(), mgr.GetAPIReader(), ctrlkit.Events{Recorder: mgr.GetEventRecorder("argolite-rollout")})
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &argov1.Rollout{}, fieldWorkloadRef, workloadRefName); err != nil {
		return fmt.Errorf("indexing rollouts by workloadRef: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&argov1.Rollout{}).
		Owns(&appsv1.ReplicaSet{}).
		Owns(&argov1.AnalysisRun{}).
		Owns(&argov1.Experiment{}).
		// A workloadRef Rollout follows its Deployment's template.
		Watches(&appsv1.Deployment{}, handler.EnqueueRequestsFromMapFunc(rolloutsOfDeployment(mgr.GetClient()))).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(o.Concurrency, 1)}).
		Named("rollout").
		Complete(r)
}
