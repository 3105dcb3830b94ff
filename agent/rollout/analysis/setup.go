package analysis

import (
	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/argolite/argolite/agent/ctrlkit"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// Options configure the AnalysisRun controller.
type Options struct {
	// Concurrency is how many runs are reconciled at once.
	Concurrency int
}

// +kubebuilder:rbac:groups=argolite.dev,resources=analysisruns,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=argolite.dev,resources=analysisruns/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=argolite.dev,resources=analysistemplates;clusteranalysistemplates,verbs=get;list;watch
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// CacheScopes limits the agent's cache of Jobs to metric Jobs (those with
// LabelRunUID), so the role's memory follows its own Jobs.
func CacheScopes() map[client.Object]cache.ByObject {
	req, err := labels.NewRequirement(LabelRunUID, selection.Exists, nil)
	if err != nil {
		panic(err) // a constant requirement
	}
	return map[client.Object]cache.ByObject{&batchv1.Job{}: {Label: labels.NewSelector().Add(*req)}}
}

// Setup adds the AnalysisRun controller to the manager: it is woken by a
// run's changes, its Jobs' changes and the time its next measurement is due.
func Setup(mgr manager.Manager, o Options) error {
	r := newReconciler(mgr.GetClient(), mgr.GetAPIReader(), ctrlkit.Events{Recorder: mgr.GetEventRecorder("argolite-analysis")})
	return ctrl.NewControllerManagedBy(mgr).
		For(&argov1.AnalysisRun{}).
		Owns(&batchv1.Job{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(o.Concurrency, 1)}).
		Named("analysisrun").
		Complete(r)
}
