package analysis

import (
	"context"
	"fmt"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/rolloutstrict"
)

// validateMetrics checks a run's metrics (arguments substituted) as Argo's
// ValidateMetrics does, plus what argolite checks before any measurement:
// the conditions compile and the provider's required fields are there.
// Each error names the field and says how to fix it.
func validateMetrics(metrics []argov1.Metric) error {
	if len(metrics) == 0 {
		return fmt.Errorf("spec.metrics: no metrics specified: add at least one")
	}
	seen := map[string]bool{}
	for i, m := range metrics {
		path := fmt.Sprintf("spec.metrics[%d]", i)
		if m.Name == "" {
			return fmt.Errorf("%s.name: required", path)
		}
		if seen[m.Name] {
			return fmt.Errorf("%s: duplicate name %q: metric names must be unique", path, m.Name)
		}
		seen[m.Name] = true
		if err := validateMetric(m); err != nil {
			return fmt.Errorf("%s (%s): %w", path, m.Name, err)
		}
	}
	return nil
}

func validateMetric(m argov1.Metric) error {
	count := 0
	if m.Count != nil {
		count = m.Count.IntValue()
	}
	failureLimit := int(limit(m.FailureLimit, 0))
	successLimit := int(limit(m.ConsecutiveSuccessLimit, 0))
	inconclusiveLimit := int(limit(m.InconclusiveLimit, 0))
	switch {
	case successLimit < 0:
		return fmt.Errorf("consecutiveSuccessLimit must be >= 0")
	case failureLimit < -1:
		return fmt.Errorf("failureLimit must be >= 0, or -1 to be disabled")
	case successLimit == 0 && failureLimit == -1:
		return fmt.Errorf("failureLimit and consecutiveSuccessLimit cannot both be disabled")
	case inconclusiveLimit < 0:
		return fmt.Errorf("inconclusiveLimit must be >= 0")
	case m.ConsecutiveErrorLimit != nil && m.ConsecutiveErrorLimit.IntValue() < 0:
		return fmt.Errorf("consecutiveErrorLimit must be >= 0")
	}
	if count > 0 {
		if failureLimit >= 0 && count < failureLimit+successLimit {
			return fmt.Errorf("count (%d) must be >= failureLimit + consecutiveSuccessLimit (%d + %d) if both >= 0", count, failureLimit, successLimit)
		}
		if failureLimit < 0 && count < successLimit {
			return fmt.Errorf("count must be >= consecutiveSuccessLimit")
		}
		if count < inconclusiveLimit {
			return fmt.Errorf("count must be >= inconclusiveLimit")
		}
	}
	if count > 1 && m.Interval == "" {
		return fmt.Errorf("interval must be specified when count > 1")
	}
	if m.Interval != "" {
		if _, err := m.Interval.Duration(); err != nil {
			return fmt.Errorf("interval %q: use a duration such as 30s or 5m", m.Interval)
		}
	}
	if m.InitialDelay != "" {
		if _, err := m.InitialDelay.Duration(); err != nil {
			return fmt.Errorf("initialDelay %q: use a duration such as 30s or 5m", m.InitialDelay)
		}
	}
	if err := checkCondition(m.SuccessCondition); err != nil {
		return fmt.Errorf("successCondition %q: %w", m.SuccessCondition, err)
	}
	if err := checkCondition(m.FailureCondition); err != nil {
		return fmt.Errorf("failureCondition %q: %w", m.FailureCondition, err)
	}
	p := m.Provider
	n := 0
	for _, set := range []bool{p.Prometheus != nil, p.Web != nil, p.Job != nil} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		return fmt.Errorf("provider: no provider specified: give %s", rolloutstrict.SupportedProviders)
	case n > 1:
		return fmt.Errorf("provider: multiple providers specified: give exactly one")
	case p.Prometheus != nil && p.Prometheus.Query == "":
		return fmt.Errorf("provider.prometheus.query: required")
	case p.Prometheus != nil && p.Prometheus.Address == "":
		return fmt.Errorf("provider.prometheus.address: required: the Prometheus server's URL, such as http://prometheus.monitoring:9090")
	case p.Prometheus != nil && p.Prometheus.Timeout != nil && *p.Prometheus.Timeout < 0:
		return fmt.Errorf("provider.prometheus.timeout: must not be negative")
	case p.Web != nil && p.Web.URL == "":
		return fmt.Errorf("provider.web.url: required")
	case p.Web != nil && p.Web.Method != "" && p.Web.Method != argov1.WebMetricMethodGet &&
		p.Web.Method != argov1.WebMetricMethodPost && p.Web.Method != argov1.WebMetricMethodPut:
		return fmt.Errorf("provider.web.method %q: use GET, POST or PUT", p.Web.Method)
	case p.Job != nil && len(p.Job.Spec.Template.Spec.Containers) == 0:
		return fmt.Errorf("provider.job.spec.template.spec.containers: required: the Job's Pod needs a container")
	}
	if p.Web != nil {
		if _, err := webJSONPath(p.Web.JSONPath); err != nil {
			return fmt.Errorf("provider.web.%w", err)
		}
	}
	return nil
}

// ValidateTemplate checks a template's metrics as a run of it would be
// checked, with args (by name) standing for the values its creator passes:
// the checks of validateMetrics after substitution. Templates it composes
// (spec.templates) are not read.
func ValidateTemplate(spec argov1.AnalysisTemplateSpec, args map[string]string) error {
	merged := make([]argov1.Argument, 0, len(spec.Args))
	for _, a := range spec.Args {
		if v, ok := args[a.Name]; ok {
			a.Value, a.ValueFrom = &v, nil
		}
		merged = append(merged, a)
	}
	metrics, _, err := resolveMetrics(context.Background(), nil, "", spec.Metrics, merged)
	if err != nil {
		return err
	}
	return validateMetrics(metrics)
}
