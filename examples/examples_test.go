// Package examples holds the working examples the docs point to; its tests
// render them so they cannot rot.
package examples

import (
	"bytes"
	"os"
	"testing"

	"github.com/fluxcd/pkg/ssa/utils"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/argolite/argolite/agent/events"
	"github.com/argolite/argolite/agent/rollout/analysis"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/eventstrict"
	"github.com/argolite/argolite/shared/rolloutspec"
	"github.com/argolite/argolite/shared/rolloutstrict"
	"github.com/argolite/argolite/shared/strict"
	"github.com/argolite/argolite/shared/wfvalidate"
)

func TestInstallHARenders(t *testing.T) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), "install-ha")
	if err != nil {
		t.Fatalf("kustomize build examples/install-ha: %v", err)
	}
	var found bool
	for _, r := range res.Resources() {
		if r.GetKind() != "Deployment" || r.GetName() != "argolite-agent" {
			continue
		}
		found = true
		y, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		u, err := utils.ReadObject(bytes.NewReader(y))
		if err != nil {
			t.Fatal(err)
		}
		if n, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas"); n != 2 {
			t.Errorf("replicas = %d, want 2", n)
		}
		containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
		c := containers[0].(map[string]any)
		if c["image"] != "ghcr.io/argolite/argolite-agent:v0.1.0" {
			t.Errorf("image = %v, want the pinned v0.1.0", c["image"])
		}
		if args, _ := c["args"].([]any); len(args) != 1 || args[0] != "--roles=all,-events" {
			t.Errorf("args = %v, want [--roles=all,-events]", c["args"])
		}
		if r.GetLabels()["app.kubernetes.io/part-of"] != "argolite" {
			t.Errorf("the part-of label from manifests/kustomization.yaml is missing")
		}
	}
	if !found {
		t.Fatal("no argolite-agent Deployment in the rendered example")
	}
}

func TestWorkflowFanOutLints(t *testing.T) {
	data, err := os.ReadFile("workflow-fan-out/workflow.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := wfvalidate.DecodeFile("workflow-fan-out/workflow.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 || docs[0].Kind != wfvalidate.KindWorkflow {
		t.Fatalf("want one Workflow, got %d documents", len(docs))
	}
	if errs := docs[0].Validate(wfvalidate.Options{Submit: true}); len(errs) > 0 {
		t.Errorf("the example does not lint:\n%v", errs)
	}
}

func TestAnalysisTemplateChecks(t *testing.T) {
	data, err := os.ReadFile("analysis-success-rate/analysistemplate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	if faults := rolloutstrict.Analysis(raw, &argov1.AnalysisTemplate{}); len(faults) > 0 {
		t.Fatalf("the example has fields argolite does not take: %v", faults)
	}
	tmpl := &argov1.AnalysisTemplate{}
	if err := yaml.UnmarshalStrict(data, tmpl); err != nil {
		t.Fatal(err)
	}
	if err := analysis.ValidateTemplate(tmpl.Spec, map[string]string{"service-name": "guestbook"}); err != nil {
		t.Errorf("the example does not validate: %v", err)
	}
}

// TestRolloutExamplesCheck: the Rollout examples pass the agent's strict
// check and Argo's validation rules, as the agent would run them.
func TestRolloutExamplesCheck(t *testing.T) {
	for _, file := range []string{"rollout-canary/rollout.yaml", "rollout-bluegreen/rollout.yaml", "rollout-experiment/rollout.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, doc := range bytes.Split(data, []byte("\n---\n")) {
			var raw map[string]any
			if err := yaml.Unmarshal(doc, &raw); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if raw["kind"] != "Rollout" {
				continue
			}
			found = true
			if raw["apiVersion"] != "argoproj.io/v1alpha1" {
				t.Errorf("%s: apiVersion %v, want Argo's argoproj.io/v1alpha1 (the example shows that it is taken)", file, raw["apiVersion"])
			}
			if faults := rolloutstrict.Rollout(raw); len(faults) > 0 {
				t.Errorf("%s: fields argolite does not take: %v", file, faults)
			}
			ro := &argov1.Rollout{}
			if err := yaml.UnmarshalStrict(doc, ro); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if err := rolloutspec.Validate(ro); err != nil {
				t.Errorf("%s: %v", file, err)
			}
		}
		if !found {
			t.Errorf("%s has no Rollout", file)
		}
	}
}

// TestEventsExampleCheck: the events example passes the agent's strict
// check, and its Sensor loads (filters, conditions, triggers).
func TestEventsExampleCheck(t *testing.T) {
	for _, file := range []string{"events-webhook-workflow/eventsource.yaml", "events-webhook-workflow/sensor.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var raw map[string]any
		if err := yaml.Unmarshal(data, &raw); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var faults []strict.Fault
		switch raw["kind"] {
		case "EventSource":
			faults = eventstrict.EventSource(raw)
		case "Sensor":
			faults = eventstrict.Sensor(raw)
		default:
			t.Fatalf("%s: kind %v", file, raw["kind"])
		}
		if len(faults) > 0 {
			t.Errorf("%s: fields argolite does not take: %v", file, faults)
		}
		if raw["kind"] == "Sensor" {
			s := &argov1.Sensor{}
			if err := yaml.Unmarshal(data, s); err != nil {
				t.Fatal(err)
			}
			if err := events.ValidateSensor(s); err != nil {
				t.Errorf("%s: %v", file, err)
			}
		}
	}
}
