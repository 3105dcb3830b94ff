package gitops

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// The role's own series; reconcile duration and errors are ctrlkit.RoleMetrics("gitops").
var (
	appInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "argolite_gitops_app_info",
		Help: "One series per Application with its sync and health status as labels; the value is always 1.",
	}, []string{"namespace", "name", "repo", "sync_status", "health_status"})
	appSyncTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "argolite_gitops_sync_total",
		Help: "Sync operations that finished, by phase.",
	}, []string{"namespace", "name", "phase"})
	gitRequestSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "argolite_gitops_git_request_seconds",
		Help:    "Git requests (ls-remote, fetch) by operation and result.",
		Buckets: prometheus.DefBuckets,
	}, []string{"op", "result"})
)

func init() {
	metrics.Registry.MustRegister(appInfo, appSyncTotal, gitRequestSeconds)
}
