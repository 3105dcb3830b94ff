package workflow

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/argolite/argolite/agent/config"
	"github.com/argolite/argolite/agent/ctrlkit"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// Options configure the workflow role.
type Options struct {
	// Namespace is the agent's namespace (its argolite-config lives there).
	Namespace string
	// ExecutorImage is the image whose binary wraps steps: the agent's own.
	ExecutorImage string
	// Concurrency is how many workflows are operated on at once.
	Concurrency int
	// MaxWorkflowSize is the largest JSON, in bytes, a Workflow is written
	// with: beyond it status.nodes is compressed, and a workflow too large
	// even then ends in Error. Zero means DefaultMaxWorkflowSize.
	MaxWorkflowSize int
}

// +kubebuilder:rbac:groups=argolite.dev,resources=workflows;cronworkflows,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=argolite.dev,resources=workflows/status;cronworkflows/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=argolite.dev,resources=workflowtemplates;clusterworkflowtemplates,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch;create;delete;patch
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=get
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=create;delete

// PodSelector selects step Pods: the agent caches only those.
func PodSelector() labels.Selector {
	req, err := labels.NewRequirement(LabelWorkflow, selection.Exists, nil)
	if err != nil {
		panic(err) // a constant requirement
	}
	return labels.NewSelector().Add(*req)
}

// Setup adds the Workflow reconciler to the manager.
func Setup(mgr manager.Manager, settings config.Source, o Options) error {
	if o.ExecutorImage == "" {
		return fmt.Errorf("the workflow role needs the executor image (--executor-image)")
	}
	r := newReconciler(mgr.GetClient(), mgr.GetAPIReader(), settings, o)
	r.Events = ctrlkit.Events{Recorder: mgr.GetEventRecorder("argolite-workflow")}
	r.metrics = newCustomMetrics(metrics.Registry)
	if err := mgr.Add(manager.RunnableFunc(r.expireMetrics)); err != nil {
		return err
	}
	r.locks = newLockManager(func(ctx context.Context) ([]argov1.Workflow, error) {
		var list argov1.WorkflowList
		err := mgr.GetClient().List(ctx, &list)
		return list.Items, err
	})
	podToWorkflow := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, obj client.Object) []reconcile.Request {
		name := obj.GetLabels()[LabelWorkflow]
		if name == "" {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: name}}}
	})
	stepPods := predicate.NewPredicateFuncs(func(obj client.Object) bool {
		_, ok := obj.GetLabels()[LabelWorkflow]
		return ok
	})
	err := ctrl.NewControllerManagedBy(mgr).
		For(&argov1.Workflow{}).
		Watches(&corev1.Pod{}, podToWorkflow, builder.WithPredicates(stepPods)).
		// A released lock wakes the workflows waiting for it.
		WatchesRawSource(source.Channel(r.locks.wake, &handler.EnqueueRequestForObject{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(o.Concurrency, 1)}).
		Named("workflow").
		Complete(r)
	if err != nil {
		return err
	}
	// CronWorkflows: woken by their own changes, their runs' changes and
	// the next schedule time.
	return ctrl.NewControllerManagedBy(mgr).
		For(&argov1.CronWorkflow{}).
		Owns(&argov1.Workflow{}).
		Named("cronworkflow").
		Complete(newCronReconciler(mgr.GetClient(), ctrlkit.Events{Recorder: mgr.GetEventRecorder("argolite-cron")}, time.Now))
}

// expireMetrics deletes, every 30 seconds, the custom metric series older
// than argolite-config's metricsConfig.metricsTTL.
func (r *Reconciler) expireMetrics(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx).WithName("metrics")
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		cfg := r.config(ctx)
		ttl, err := cfg.ttl, cfg.ttlErr
		if err != nil {
			if err.Error() != lastErr {
				log.Error(err, "custom metrics are kept: fix the metricsTTL")
				lastErr = err.Error()
			}
			continue
		}
		lastErr = ""
		if n := r.metrics.expire(ttl); n > 0 {
			log.V(1).Info("expired custom metric series", "series", n, "ttl", ttl.String())
		}
	}
}
