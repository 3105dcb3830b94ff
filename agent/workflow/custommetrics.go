package workflow

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/expr"
)

// customMetrics are the Prometheus metrics workflows and templates declare
// (spec.metrics, templates[].metrics), served on the agent's /metrics under
// Argo's prefix argo_workflows_.
type customMetrics struct {
	mu   sync.Mutex
	reg  prometheus.Registerer
	vecs map[string]prometheus.Collector
	keys map[string]string
	// series remembers when each series (metric name, then its label
	// values) was last emitted, for expire.
	series map[string]map[string]seriesSeen
	now    func() time.Time
}

type seriesSeen struct {
	labels prometheus.Labels
	last   time.Time
}

func newCustomMetrics(reg prometheus.Registerer) *customMetrics {
	return &customMetrics{reg: reg, vecs: map[string]prometheus.Collector{}, keys: map[string]string{},
		series: map[string]map[string]seriesSeen{}, now: time.Now}
}

// expire deletes the series not emitted for ttl (Argo's
// metricsConfig.metricsTTL), so that the label values of finished
// workflows do not pile up; it returns how many it deleted.
func (m *customMetrics) expire(ttl time.Duration) int {
	if m == nil || ttl <= 0 {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cutoff := m.now().Add(-ttl)
	deleted := 0
	for name, byLabels := range m.series {
		vec, ok := m.vecs[name].(interface{ Delete(prometheus.Labels) bool })
		if !ok {
			continue
		}
		for key, s := range byLabels {
			if s.last.Before(cutoff) {
				vec.Delete(s.labels)
				delete(byLabels, key)
				deleted++
			}
		}
	}
	return deleted
}

// emit records one metric with variables substituted into its labels, value
// and when condition.
func (m *customMetrics) emit(p *argov1.Prometheus, vars map[string]string) error {
	if m == nil {
		return nil
	}
	sub := func(s string) (string, error) {
		return expr.Replace(s, vars, expr.Options{AllowUnresolved: true})
	}
	if p.When != "" {
		cond, err := sub(p.When)
		if err != nil {
			return fmt.Errorf("metric %s: when: %w", p.Name, err)
		}
		ok, err := expr.When(cond)
		if err != nil {
			return fmt.Errorf("metric %s: when %q: %w", p.Name, cond, err)
		}
		if !ok {
			return nil
		}
	}
	labels := prometheus.Labels{}
	var names []string
	for _, l := range p.Labels {
		v, err := sub(l.Value)
		if err != nil {
			return fmt.Errorf("metric %s: label %s: %w", p.Name, l.Key, err)
		}
		labels[l.Key] = v
		names = append(names, l.Key)
	}
	sort.Strings(names)
	var raw string
	switch {
	case p.Gauge != nil:
		raw = p.Gauge.Value
	case p.Counter != nil:
		raw = p.Counter.Value
	case p.Histogram != nil:
		raw = p.Histogram.Value
	default:
		return fmt.Errorf("metric %s: give a gauge, counter or histogram", p.Name)
	}
	s, err := sub(raw)
	if err != nil {
		return fmt.Errorf("metric %s: value: %w", p.Name, err)
	}
	value, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return fmt.Errorf("metric %s: value %q is not a number", p.Name, s)
	}
	name := "argo_workflows_" + p.Name
	m.mu.Lock()
	defer m.mu.Unlock()
	var kind string
	switch {
	case p.Gauge != nil:
		kind = "gauge:" + strings.Join(names, ",")
	case p.Counter != nil:
		kind = "counter:" + strings.Join(names, ",")
	default:
		kind = "histogram:" + strings.Join(names, ",")
	}
	if have, ok := m.keys[name]; ok && have != kind {
		return fmt.Errorf("metric %s is already a %s; a metric keeps its type and label keys", p.Name, have)
	}
	c, ok := m.vecs[name]
	if !ok {
		switch {
		case p.Gauge != nil:
			c = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: p.Help}, names)
		case p.Counter != nil:
			c = prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: p.Help}, names)
		default:
			var buckets []float64
			for _, b := range p.Histogram.Buckets {
				f, err := strconv.ParseFloat(b.Value.String(), 64)
				if err != nil {
					return fmt.Errorf("metric %s: bucket %q is not a number", p.Name, b.Value)
				}
				buckets = append(buckets, f)
			}
			c = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: p.Help, Buckets: buckets}, names)
		}
		if err := m.reg.Register(c); err != nil {
			return fmt.Errorf("metric %s: %w", p.Name, err)
		}
		m.vecs[name], m.keys[name] = c, kind
	}
	if m.series[name] == nil {
		m.series[name] = map[string]seriesSeen{}
	}
	key := make([]string, 0, len(names))
	for _, n := range names {
		key = append(key, labels[n])
	}
	m.series[name][strings.Join(key, "\xff")] = seriesSeen{labels: labels, last: m.now()}
	switch v := c.(type) {
	case *prometheus.GaugeVec:
		v.With(labels).Set(value)
	case *prometheus.CounterVec:
		v.With(labels).Add(value)
	case *prometheus.HistogramVec:
		v.With(labels).Observe(value)
	}
	return nil
}

// nodeMetricVars are the variables of a template's metrics: Argo's status,
// duration and exitCode, the inputs and outputs.
func (o *operation) nodeMetricVars(n *argov1.NodeStatus, t *argov1.Template, locals map[string]string) map[string]string {
	v := o.mergedVars(locals)
	v["status"] = string(n.Phase)
	v["duration"] = strconv.FormatFloat(o.duration(n).Seconds(), 'f', -1, 64)
	for _, p := range t.Inputs.Parameters {
		if p.Value != nil {
			v["inputs.parameters."+p.Name] = p.Value.String()
		}
	}
	if out := n.Outputs; out != nil {
		if out.ExitCode != nil {
			v["exitCode"] = *out.ExitCode
		}
		if out.Result != nil {
			v["outputs.result"] = *out.Result
		}
		for _, p := range out.Parameters {
			if p.Value != nil {
				v["outputs.parameters."+p.Name] = p.Value.String()
			}
		}
	}
	return v
}

// pendingMetric is a metric with the variables it is emitted with.
type pendingMetric struct {
	p    *argov1.Prometheus
	vars map[string]string
}

// emitMetrics records a finished node's (or the workflow's) metrics, to be
// emitted by flushMetrics once the pass's status is written.
func (o *operation) emitMetrics(ms *argov1.Metrics, vars map[string]string) {
	if ms == nil {
		return
	}
	for _, p := range ms.Prometheus {
		if p != nil {
			o.metrics = append(o.metrics, pendingMetric{p: p, vars: vars})
		}
	}
}

// flushMetrics emits the metrics the pass recorded.
func (o *operation) flushMetrics() {
	for _, m := range o.metrics {
		if err := o.r.metrics.emit(m.p, m.vars); err != nil {
			o.log.Error(err, "custom metric")
			o.r.Event(o.wf, "Warning", "MetricError", "Metrics", "%v", err)
		}
	}
	o.metrics = nil
}

// emitTemplateMetrics records the template's custom metrics once its node is
// done.
func (o *operation) emitTemplateMetrics(t *argov1.Template, result *argov1.NodeStatus, locals map[string]string) {
	if t.Metrics != nil && result != nil && result.Phase.Fulfilled() {
		o.emitMetrics(t.Metrics, o.nodeMetricVars(result, t, locals))
	}
}
