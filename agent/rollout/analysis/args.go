package analysis

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// secretPlaceholder stands for a secret's value where the metrics are
// resolved only to be checked, as Argo's getResolvedMetricsWithoutSecrets.
const secretPlaceholder = "temp-for-secret"

// resolveMetrics substitutes {{args.NAME}} in every metric. With reader nil,
// arguments from Secrets get a placeholder; else their values are read from
// the Secrets in namespace and returned too, for redaction.
func resolveMetrics(ctx context.Context, reader client.Reader, namespace string, metrics []argov1.Metric, args []argov1.Argument) ([]argov1.Metric, []string, error) {
	values := map[string]string{}
	var secrets []string
	for i, a := range args {
		switch {
		case a.ValueFrom != nil && a.ValueFrom.SecretKeyRef != nil:
			if reader == nil {
				values[a.Name] = secretPlaceholder
				continue
			}
			v, err := secretValue(ctx, reader, namespace, a.ValueFrom.SecretKeyRef)
			if err != nil {
				return nil, nil, fmt.Errorf("args[%d] %s: %w", i, a.Name, err)
			}
			values[a.Name] = v
			if v != "" {
				secrets = append(secrets, v)
			}
		case a.Value != nil:
			values[a.Name] = *a.Value
		case a.ValueFrom != nil && a.ValueFrom.FieldRef != nil:
			return nil, nil, fmt.Errorf("args[%d] %s: valueFrom.fieldRef is resolved by the Rollout or Experiment that creates the run: give the run a value", i, a.Name)
		default:
			return nil, nil, fmt.Errorf("args[%d] %s: argument %q was not supplied: give it a value or valueFrom.secretKeyRef", i, a.Name, a.Name)
		}
	}
	out := make([]argov1.Metric, 0, len(metrics))
	for _, m := range metrics {
		r, err := resolveMetric(m, values)
		if err != nil {
			return nil, nil, fmt.Errorf("metric %s: %w", m.Name, err)
		}
		out = append(out, r)
	}
	return out, secrets, nil
}

// resolveMetric substitutes the {{args.NAME}} tags of one metric in its JSON
// form, with the values escaped for JSON strings (Argo's ResolveQuotedArgs).
func resolveMetric(m argov1.Metric, values map[string]string) (argov1.Metric, error) {
	data, err := json.Marshal(m)
	if err != nil {
		return m, err
	}
	s, err := Substitute(string(data), func(tag string) (string, bool) {
		name, ok := strings.CutPrefix(tag, "args.")
		if !ok {
			return "", false
		}
		v, ok := values[name]
		if !ok {
			return "", false
		}
		q := strconv.Quote(v)
		return q[1 : len(q)-1], true
	})
	if err != nil {
		return m, fmt.Errorf("%w: declare it in args", err)
	}
	var out argov1.Metric
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return m, fmt.Errorf("after substituting the args: %w", err)
	}
	return out, nil
}

// Substitute replaces every {{tag}} of s by lookup(tag); a tag lookup does
// not know is an error naming it, as in Argo. The Experiment controller
// resolves its own tags with it.
func Substitute(s string, lookup func(tag string) (string, bool)) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		j := strings.Index(s[i+2:], "}}")
		if j < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		tag := s[i+2 : i+2+j]
		v, ok := lookup(strings.TrimSpace(tag))
		if !ok {
			return "", fmt.Errorf("failed to resolve {{%s}}", tag)
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		s = s[i+2+j+2:]
	}
}

// secretValue reads one key of a Secret. The value never reaches a log or
// an error message.
func secretValue(ctx context.Context, reader client.Reader, namespace string, ref *argov1.SecretKeyRef) (string, error) {
	s := &corev1.Secret{}
	if err := reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, s); err != nil {
		if apierrors.IsNotFound(err) {
			return "", fmt.Errorf("secret %s/%s not found", namespace, ref.Name)
		}
		return "", fmt.Errorf("reading secret %s/%s: %w", namespace, ref.Name, err)
	}
	v, ok := s.Data[ref.Key]
	if !ok {
		return "", fmt.Errorf("key %q does not exist in secret %s/%s", ref.Key, namespace, ref.Name)
	}
	return string(v), nil
}

// redact replaces the secrets' values in msg.
func redact(msg string, secrets []string) string {
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "*****")
		}
	}
	return msg
}
