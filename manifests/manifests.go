// Package manifests owns what an install puts in a cluster: the generated
// CRDs and RBAC and the agent's Namespace, ServiceAccount, Service and
// Deployment. They are embedded in kubectl-argo, and kustomization.yaml is the
// one list of them that both `kubectl argo install` and `kubectl apply -k` read.
package manifests

import (
	"bytes"
	"embed"
	"fmt"
	"path"

	"github.com/fluxcd/pkg/ssa/utils"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/argolite/argolite/shared/agentmeta"
)

//go:embed kustomization.yaml crds/*.yaml rbac/*.yaml agent/*.yaml
var files embed.FS

// Options change the embedded manifests at install time.
type Options struct {
	// Image is the agent image; empty keeps the one in deployment.yaml.
	Image string
	// Replicas overrides the agent Deployment's replicas when positive.
	Replicas int32
}

type kustomization struct {
	Resources []string `json:"resources"`
}

// Resources lists the manifest files in kustomization.yaml, in order.
func Resources() ([]string, error) {
	data, err := files.ReadFile("kustomization.yaml")
	if err != nil {
		return nil, err
	}
	var k kustomization
	if err := yaml.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("manifests/kustomization.yaml: %w", err)
	}
	return k.Resources, nil
}

// Objects returns every object an install applies, labelled as part of
// argolite, with opts applied to the agent Deployment.
func Objects(opts Options) ([]*unstructured.Unstructured, error) {
	resources, err := Resources()
	if err != nil {
		return nil, err
	}
	var objects []*unstructured.Unstructured
	for _, name := range resources {
		data, err := files.ReadFile(path.Clean(name))
		if err != nil {
			return nil, fmt.Errorf("manifests/kustomization.yaml lists %s: %w", name, err)
		}
		objs, err := utils.ReadObjects(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("manifests/%s: %w", name, err)
		}
		objects = append(objects, objs...)
	}
	for _, obj := range objects {
		labels := obj.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[agentmeta.PartOfLabel] = agentmeta.PartOf
		obj.SetLabels(labels)
		if obj.GetKind() == "Deployment" && obj.GetName() == agentmeta.Name {
			if err := customiseAgent(obj, opts); err != nil {
				return nil, err
			}
		}
	}
	return objects, nil
}

// ExecutorImageEnv is the agent's environment variable naming the image whose
// binary wraps workflow steps: the agent's own image.
const ExecutorImageEnv = "ARGOLITE_EXECUTOR_IMAGE"

func customiseAgent(deploy *unstructured.Unstructured, opts Options) error {
	if opts.Replicas > 0 {
		if err := unstructured.SetNestedField(deploy.Object, int64(opts.Replicas), "spec", "replicas"); err != nil {
			return err
		}
	}
	if opts.Image == "" {
		return nil
	}
	containers, _, err := unstructured.NestedSlice(deploy.Object, "spec", "template", "spec", "containers")
	if err != nil || len(containers) == 0 {
		return fmt.Errorf("manifests/agent/deployment.yaml: no containers in the agent Deployment")
	}
	c := containers[0].(map[string]any)
	c["image"] = opts.Image
	env, _, _ := unstructured.NestedSlice(c, "env")
	for i := range env {
		if e, ok := env[i].(map[string]any); ok && e["name"] == ExecutorImageEnv {
			e["value"] = opts.Image
		}
	}
	if err := unstructured.SetNestedSlice(c, env, "env"); err != nil {
		return err
	}
	return unstructured.SetNestedSlice(deploy.Object, containers, "spec", "template", "spec", "containers")
}

// AgentImage returns the agent image of the embedded Deployment.
func AgentImage(objects []*unstructured.Unstructured) string {
	for _, obj := range objects {
		if obj.GetKind() == "Deployment" && obj.GetName() == agentmeta.Name {
			containers, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
			if len(containers) > 0 {
				if img, ok := containers[0].(map[string]any)["image"].(string); ok {
					return img
				}
			}
		}
	}
	return ""
}
