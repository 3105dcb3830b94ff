package gitops

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	appInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "argolite_app_info",
		Help: "One series per Application with its sync and health status as labels; the value is always 1.",
	}, []string{"namespace", "name", "repo", "sync_status", "health_status"})
	appSyncTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "argolite_app_sync_total",
		Help: "Sync operations that finished, by phase.",
	}, []string{"namespace", "name", "phase"})
	appReconcileSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "argolite_app_reconcile_seconds",
		Help:    "Time one Application reconcile took.",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"namespace", "name"})
	gitRequestSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "argolite_git_request_seconds",
		Help:    "Git requests (ls-remote, fetch) by operation and result.",
		Buckets: prometheus.DefBuckets,
	}, []string{"op", "result"})
)

func init() {
	metrics.Registry.MustRegister(appInfo, appSyncTotal, appReconcileSeconds, gitRequestSeconds)
}
