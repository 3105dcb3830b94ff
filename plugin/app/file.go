package app

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// ArgoCDAPIVersion is the apiVersion of Argo CD's Application, which create
// -f maps to argolite's.
const ArgoCDAPIVersion = "argoproj.io/v1alpha1"

// ArgoCDNamespace is where Argo CD keeps its Applications.
const ArgoCDNamespace = "argocd"

// unsupportedHint follows every field argolite rejects.
const unsupportedHint = "not supported by argolite (field names follow Argo CD; see docs/gitops.md)"

// serverSetMetadata are metadata fields the API server sets, dropped from
// files exported from a cluster.
var serverSetMetadata = []string{"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
	"selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"}

// readFiles reads the Applications in -f's files, directories and stdin.
func (o *CreateOptions) readFiles() ([]*argov1.Application, error) {
	var apps []*argov1.Application
	for _, name := range o.Filenames {
		files, err := expandFile(name)
		if err != nil {
			return nil, err
		}
		for _, file := range files {
			data, err := o.readFile(file)
			if err != nil {
				return nil, err
			}
			read, err := o.decodeFile(file, data)
			if err != nil {
				return nil, err
			}
			apps = append(apps, read...)
		}
	}
	if len(apps) == 0 {
		return nil, fmt.Errorf("no Application in %s: -f reads YAML or JSON documents of kind Application", strings.Join(o.Filenames, ", "))
	}
	return apps, nil
}

// expandFile is name, or the manifest files in the directory name.
func expandFile(name string) ([]string, error) {
	if name == "-" {
		return []string{name}, nil
	}
	info, err := os.Stat(name)
	if err != nil {
		return nil, fmt.Errorf("-f %s: %w", name, err)
	}
	if !info.IsDir() {
		return []string{name}, nil
	}
	entries, err := os.ReadDir(name)
	if err != nil {
		return nil, fmt.Errorf("-f %s: %w", name, err)
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && slices.Contains([]string{".yaml", ".yml", ".json"}, filepath.Ext(e.Name())) {
			files = append(files, filepath.Join(name, e.Name()))
		}
	}
	return files, nil
}

func (o *CreateOptions) readFile(name string) ([]byte, error) {
	if name == "-" {
		data, err := io.ReadAll(o.In)
		if err != nil {
			return nil, fmt.Errorf("reading stdin: %w", err)
		}
		return data, nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("-f %s: %w", name, err)
	}
	return data, nil
}

// decodeFile decodes every document of a file.
func (o *CreateOptions) decodeFile(file string, data []byte) ([]*argov1.Application, error) {
	if file == "-" {
		file = "stdin"
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var apps []*argov1.Application
	for n := 1; ; n++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return apps, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		where := file
		if n > 1 {
			where = fmt.Sprintf("%s (document %d)", file, n)
		}
		read, err := o.decodeDocument(where, doc)
		if err != nil {
			return nil, err
		}
		apps = append(apps, read...)
	}
}

// decodeDocument decodes one YAML or JSON document: an Application or a
// List of them.
func (o *CreateOptions) decodeDocument(where string, doc []byte) ([]*argov1.Application, error) {
	data, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: not valid YAML or JSON: %w", where, err)
	}
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("%s: a document must be an object: %w", where, err)
	}
	if len(obj) == 0 {
		return nil, nil // an empty document, such as a trailing ---
	}
	if kind, _ := obj["kind"].(string); kind == "List" {
		items, _ := obj["items"].([]any)
		var apps []*argov1.Application
		for i, item := range items {
			m, ok := item.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s: items[%d] is not an object", where, i)
			}
			app, err := o.decodeApplication(fmt.Sprintf("%s items[%d]", where, i), m)
			if err != nil {
				return nil, err
			}
			apps = append(apps, app)
		}
		return apps, nil
	}
	app, err := o.decodeApplication(where, obj)
	if err != nil {
		return nil, err
	}
	return []*argov1.Application{app}, nil
}

// decodeApplication maps an argolite or Argo CD Application to argolite's
// type, strictly: a field argolite does not know is an error naming it.
func (o *CreateOptions) decodeApplication(where string, obj map[string]any) (*argov1.Application, error) {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	metadata, _ := obj["metadata"].(map[string]any)
	if name, _ := metadata["name"].(string); name != "" {
		where += ": " + kind + " " + name
	}
	if kind != "Application" {
		return nil, fmt.Errorf("%s: kind %q: app create reads Applications only", where, kind)
	}
	ours := argov1.GroupVersion.String()
	argo := apiVersion == ArgoCDAPIVersion
	if apiVersion != ours && !argo {
		return nil, fmt.Errorf("%s: apiVersion %q: use %s (or Argo CD's %s, which is mapped)", where, apiVersion, ours, ArgoCDAPIVersion)
	}
	obj["apiVersion"] = ours
	// What the agent reports and what it is asked to do are not for a file to set.
	delete(obj, "status")
	delete(obj, "operation")
	if metadata != nil {
		for _, f := range serverSetMetadata {
			delete(metadata, f)
		}
		if finalizers, ok := metadata["finalizers"].([]any); ok {
			var mapped []any
			for _, f := range finalizers {
				if f == argov1.ArgoCDResourcesFinalizer {
					f = argov1.ResourcesFinalizer
				}
				if !slices.Contains(mapped, f) {
					mapped = append(mapped, f)
				}
			}
			metadata["finalizers"] = mapped
		}
	}

	data, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	app := &argov1.Application{}
	strict, err := kjson.UnmarshalStrict(data, app)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if len(strict) > 0 {
		var problems []string
		for _, e := range strict {
			var fe kjson.FieldError
			switch {
			case errors.As(e, &fe) && strings.HasPrefix(e.Error(), "duplicate field"):
				problems = append(problems, fe.FieldPath()+": given twice")
			case errors.As(e, &fe):
				problems = append(problems, fe.FieldPath()+": "+unsupportedHint)
			default:
				problems = append(problems, e.Error())
			}
		}
		return nil, fmt.Errorf("%s: %s", where, strings.Join(problems, "; "))
	}
	if err := o.placeApplication(where, app, argo); err != nil {
		return nil, err
	}
	if err := validateSpec(&app.Spec); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return app, nil
}

// placeApplication sets the namespace app is created in.
func (o *CreateOptions) placeApplication(where string, app *argov1.Application, argo bool) error {
	if app.Name == "" {
		return fmt.Errorf("%s: metadata.name is required", where)
	}
	switch {
	case app.Namespace == "":
		app.Namespace = o.Namespace
	case argo && app.Namespace == ArgoCDNamespace && o.Namespace != ArgoCDNamespace:
		fmt.Fprintf(o.ErrOut, "Note: %s: creating it in namespace %s, not in Argo CD's %s: argolite keeps each Application in the namespace you create it in.\n",
			where, o.Namespace, ArgoCDNamespace)
		app.Namespace = o.Namespace
	case o.ExplicitNamespace && app.Namespace != o.Namespace:
		return fmt.Errorf("%s: metadata.namespace is %s but -n says %s: drop -n, or change metadata.namespace", where, app.Namespace, o.Namespace)
	}
	return nil
}

// validateSpec checks what the CRD's schema cannot: one source, and this
// cluster as the destination.
func validateSpec(spec *argov1.ApplicationSpec) error {
	switch {
	case spec.Source == nil && len(spec.Sources) == 0:
		return errors.New("spec.source is required: the Git repository and path of the manifests")
	case spec.Source != nil && len(spec.Sources) > 0:
		return errors.New("spec.source and spec.sources cannot both be set: keep one")
	}
	if err := checkDestination(spec.Destination.Server, "spec.destination.server"); err != nil {
		return err
	}
	return checkDestinationName(spec.Destination.Name)
}
