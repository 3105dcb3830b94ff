package ctrlkit

import (
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Metrics are one role's reconcile series, per object as Flux's
// gotk_reconcile_duration_seconds are: argolite_<role>_reconcile_seconds and
// argolite_<role>_reconcile_errors_total, labelled kind, namespace and name.
type Metrics struct {
	seconds *prometheus.HistogramVec
	errors  *prometheus.CounterVec
}

var (
	metricsMu   sync.Mutex
	metricsRole = map[string]*Metrics{}
)

// RoleMetrics returns the role's series, registered with the agent's
// registry on first use.
func RoleMetrics(role string) *Metrics {
	metricsMu.Lock()
	defer metricsMu.Unlock()
	if m, ok := metricsRole[role]; ok {
		return m
	}
	m := &Metrics{
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "argolite_" + role + "_reconcile_seconds",
			Help:    "Time one reconcile of an object of the " + role + " role took.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"kind", "namespace", "name"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argolite_" + role + "_reconcile_errors_total",
			Help: "Reconciles of an object of the " + role + " role that returned an error (and were retried with backoff).",
		}, []string{"kind", "namespace", "name"}),
	}
	m.seconds = register(m.seconds)
	m.errors = register(m.errors)
	metricsRole[role] = m
	return m
}

// register adds c to the agent's registry, reusing what a test's earlier
// registration left there.
func register[C prometheus.Collector](c C) C {
	if err := metrics.Registry.Register(c); err != nil {
		var already prometheus.AlreadyRegisteredError
		if errors.As(err, &already) {
			if existing, ok := already.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err) // two metrics of one name and different shapes: a programming error
	}
	return c
}

// Observe records one reconcile of the object key of kind that started at
// start and ended with err.
func (m *Metrics) Observe(kind string, key types.NamespacedName, start time.Time, err error) {
	m.seconds.WithLabelValues(kind, key.Namespace, key.Name).Observe(time.Since(start).Seconds())
	if err != nil {
		m.errors.WithLabelValues(kind, key.Namespace, key.Name).Inc()
	}
}

// Forget deletes a deleted object's series.
func (m *Metrics) Forget(kind string, key types.NamespacedName) {
	labels := prometheus.Labels{"kind": kind, "namespace": key.Namespace, "name": key.Name}
	m.seconds.Delete(labels)
	m.errors.Delete(labels)
}
