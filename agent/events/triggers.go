package events

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/duration"
)

// backoffDuration reads Argo Events' backoff duration: an integer is
// nanoseconds, a string a duration such as 10s.
func backoffDuration(v *intstr.IntOrString) (time.Duration, error) {
	if v.Type == intstr.Int {
		return time.Duration(v.IntVal), nil
	}
	return duration.Parse(v.StrVal)
}

// validateTrigger checks what a trigger does, before any event comes.
func validateTrigger(t argov1.Trigger, path string) error {
	tt := t.Template
	n := 0
	if tt.K8s != nil {
		n++
	}
	if tt.Log != nil {
		n++
	}
	if n != 1 {
		return fmt.Errorf("%s.template: give exactly one of k8s and log (the trigger kinds argolite has so far)", path)
	}
	if k := tt.K8s; k != nil {
		switch k.Operation {
		case "", "create", "update", "patch", "delete":
		default:
			return fmt.Errorf("%s.template.k8s.operation: %q is not one of create, update, patch, delete", path, k.Operation)
		}
		if k.Source == nil || (k.Source.Resource == nil && k.Source.Inline == nil && k.Source.Configmap == nil) {
			return fmt.Errorf("%s.template.k8s.source: give the object as resource, inline or configmap", path)
		}
		switch k.PatchStrategy {
		case "", string(types.MergePatchType), string(types.JSONPatchType), string(types.StrategicMergePatchType):
		default:
			return fmt.Errorf("%s.template.k8s.patchStrategy: %q is not one of %s, %s, %s", path, k.PatchStrategy, types.MergePatchType, types.JSONPatchType, types.StrategicMergePatchType)
		}
	}
	if b := t.RetryStrategy; b != nil && b.Duration != nil {
		if _, err := backoffDuration(b.Duration); err != nil {
			return fmt.Errorf("%s.retryStrategy.duration: %w", path, err)
		}
	}
	return nil
}

// triggerRunner runs triggers with the agent's clients.
type triggerRunner struct {
	client client.Client
	reader client.Reader
}

// fire runs one trigger with the events of its round.
func (tr *triggerRunner) fire(ctx context.Context, s *argov1.Sensor, t argov1.Trigger, events map[string]*Event) error {
	tmpl := t.Template
	if len(t.Parameters) > 0 {
		// Trigger parameters change the template itself (Argo's
		// ApplyTemplateParameters).
		doc, err := json.Marshal(tmpl)
		if err != nil {
			return err
		}
		if doc, err = applyParams(doc, t.Parameters, events); err != nil {
			return err
		}
		tmpl = &argov1.TriggerTemplate{}
		if err := json.Unmarshal(doc, tmpl); err != nil {
			return fmt.Errorf("the template after its parameters: %w", err)
		}
	}
	switch {
	case tmpl.Log != nil:
		logEvents(logr.FromContextOrDiscard(ctx), s, tmpl.Name, events)
		return nil
	case tmpl.K8s != nil:
		return tr.k8s(ctx, s, tmpl.K8s, events)
	}
	return fmt.Errorf("trigger %s does nothing argolite has", tmpl.Name)
}

// logEvents is the log trigger: one line per event, as Argo's log trigger
// prints them.
func logEvents(log logr.Logger, s *argov1.Sensor, trigger string, events map[string]*Event) {
	for dep, ev := range events {
		log.Info("Successfully processed trigger", "sensor", s.Name, "namespace", s.Namespace, "trigger", trigger,
			"dependency", dep, "eventID", ev.Context.ID, "eventSource", ev.Context.Source, "eventName", ev.Context.Subject, "data", string(ev.Data))
	}
}

// k8s is the Kubernetes trigger: the object from its source, with the
// parameters applied, created, updated, patched or deleted in the
// Sensor's namespace unless it names its own.
func (tr *triggerRunner) k8s(ctx context.Context, s *argov1.Sensor, k *argov1.StandardK8STrigger, events map[string]*Event) error {
	doc, err := tr.source(ctx, s.Namespace, k.Source)
	if err != nil {
		return err
	}
	if doc, err = applyParams(doc, k.Parameters, events); err != nil {
		return err
	}
	u := &unstructured.Unstructured{}
	if err := json.Unmarshal(doc, &u.Object); err != nil {
		return fmt.Errorf("the object after its parameters: %w", err)
	}
	if u.GetAPIVersion() == "argoproj.io/v1alpha1" && ourArgoKinds[u.GetKind()] {
		u.SetAPIVersion(argov1.GroupVersion.String())
	}
	if u.GetNamespace() == "" {
		u.SetNamespace(s.Namespace)
	}
	what := fmt.Sprintf("%s %s/%s", u.GetKind(), u.GetNamespace(), u.GetName()+u.GetGenerateName())
	switch k.Operation {
	case "", "create":
		if err := tr.client.Create(ctx, u); err != nil {
			return fmt.Errorf("creating %s: %w", what, err)
		}
	case "update":
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(u.GroupVersionKind())
		if err := tr.reader.Get(ctx, client.ObjectKeyFromObject(u), live); err != nil {
			return fmt.Errorf("reading %s to update it: %w", what, err)
		}
		u.SetResourceVersion(live.GetResourceVersion())
		if err := tr.client.Update(ctx, u); err != nil {
			return fmt.Errorf("updating %s: %w", what, err)
		}
	case "patch":
		pt := types.PatchType(k.PatchStrategy)
		if pt == "" {
			pt = types.MergePatchType
		}
		body := doc
		if pt == types.MergePatchType || pt == types.StrategicMergePatchType {
			if body, err = json.Marshal(u.Object); err != nil {
				return err
			}
		}
		if err := tr.client.Patch(ctx, u, client.RawPatch(pt, body)); err != nil {
			return fmt.Errorf("patching %s: %w", what, err)
		}
	case "delete":
		if err := tr.client.Delete(ctx, u); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting %s: %w", what, err)
		}
	}
	return nil
}

// ourArgoKinds are the argoproj.io kinds a k8s trigger creates as
// argolite's (Argo Events' users trigger Argo Workflows this way).
var ourArgoKinds = map[string]bool{"Workflow": true, "WorkflowTemplate": true, "CronWorkflow": true, "Rollout": true, "AnalysisRun": true, "Experiment": true}

// source reads a trigger's object as JSON: inline (YAML or JSON), the
// resource itself, or a ConfigMap key.
func (tr *triggerRunner) source(ctx context.Context, namespace string, src *argov1.TriggerSource) ([]byte, error) {
	switch {
	case src.Resource != nil:
		return yaml.YAMLToJSON(src.Resource.Raw)
	case src.Inline != nil:
		return yaml.YAMLToJSON([]byte(*src.Inline))
	case src.Configmap != nil:
		cm := &corev1.ConfigMap{}
		if err := tr.reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: src.Configmap.Name}, cm); err != nil {
			return nil, fmt.Errorf("reading the trigger's ConfigMap %s/%s: %w", namespace, src.Configmap.Name, err)
		}
		text, ok := cm.Data[src.Configmap.Key]
		if !ok {
			return nil, fmt.Errorf("ConfigMap %s/%s has no key %q: add it or fix source.configmap.key", namespace, src.Configmap.Name, src.Configmap.Key)
		}
		return yaml.YAMLToJSON([]byte(strings.TrimSpace(text)))
	}
	return nil, fmt.Errorf("the trigger has no source")
}
