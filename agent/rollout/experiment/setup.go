package experiment

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/argolite/argolite/agent/ctrlkit"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// Options configure the Experiment controller.
type Options struct {
	// Concurrency is how many Experiments are reconciled at once.
	Concurrency int
}

// +kubebuilder:rbac:groups=argolite.dev,resources=experiments,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=argolite.dev,resources=experiments/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=apps,resources=replicasets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=argolite.dev,resources=analysisruns,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=argolite.dev,resources=analysistemplates;clusteranalysistemplates,verbs=get;list;watch
// +kubebuilder:rbac:groups=argolite.dev,resources=rollouts,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Setup adds the Experiment controller to the manager: an Experiment is
// woken by its own changes, its ReplicaSets', Services' and AnalysisRuns',
// and the times it asked for (the end of its duration, a progress
// deadline, a scale-down delay).
func Setup(mgr manager.Manager, o Options) error {
	r := newReconciler(mgr.GetClient(), mgr.GetAPIReader(), ctrlkit.Events{Recorder: mgr.GetEventRecorder("argolite-experiment")})
	return ctrl.NewControllerManagedBy(mgr).
		For(&argov1.Experiment{}).
		Owns(&appsv1.ReplicaSet{}).
		Owns(&corev1.Service{}).
		Owns(&argov1.AnalysisRun{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(o.Concurrency, 1)}).
		Named("experiment").
		Complete(r)
}
