package wfvalidate

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

func decodeErrors(t *testing.T, y string) ([]Document, Errors) {
	t.Helper()
	docs, err := DecodeFile("wf.yaml", []byte(y))
	if err == nil {
		return docs, nil
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("DecodeFile returned %T, want Errors", err)
	}
	return docs, es
}

func TestDecodeStrict(t *testing.T) {
	cases := []struct {
		name   string
		yaml   string
		faults []want
	}{
		{name: "unknown fields with suggestions", yaml: workflowYAML(`
entrypoint: main
templates:
- name: main
  container:
    imagee: busybox
    comand: [echo]
    resources: {limits: {cpu: 1, memory: 1Gi}}
  retryStrategy: {limit: 2, backof: {duration: 1s}}
  inputs:
    parameter: []
`), faults: []want{
			{"spec.templates[0].container.imagee", `unknown field "imagee": did you mean "image"?`},
			{"spec.templates[0].container.comand", `unknown field "comand": did you mean "command"?`},
			{"spec.templates[0].retryStrategy.backof", `unknown field "backof": did you mean "backoff"?`},
			{"spec.templates[0].inputs.parameter", `unknown field "parameter": did you mean "parameters"?`},
		}},
		{name: "case matters", yaml: workflowYAML(`
entrypoint: main
templates:
- name: main
  container: {Image: busybox}
`), faults: []want{{"spec.templates[0].container.Image", `unknown field "Image": did you mean "image"?`}}},
		{name: "fields argolite does not support", yaml: workflowYAML(`
entrypoint: main
artifactGC: {strategy: OnWorkflowDeletion}
executor: {serviceAccountName: x}
templates:
- name: main
  http: {url: "http://example.com"}
- name: art
  inputs:
    artifacts:
    - name: src
      path: /src
      git: {repo: "https://github.com/argoproj/argo-workflows"}
  outputs:
    artifacts:
    - name: out
      path: /out
      gcs: {bucket: b, key: k}
      archive: {zip: {}}
  container: {image: busybox}
  synchronization:
    mutexes: [{name: m, database: true}]
`), faults: []want{
			{"spec.artifactGC", `field "artifactGC" is not supported by argolite: artifact garbage collection is not implemented`},
			{"spec.executor", `field "executor" is not supported by argolite`},
			{"spec.templates[0].http", `field "http" is not supported by argolite: HTTP templates need Argo's agent Pod: use a container or script template that runs curl or wget`},
			{"spec.templates[1].inputs.artifacts[0].git", `field "git" is not supported by argolite: argolite keeps artifacts in S3-compatible stores only`},
			{"spec.templates[1].outputs.artifacts[0].gcs", `field "gcs" is not supported by argolite`},
			{"spec.templates[1].outputs.artifacts[0].archive.zip", `field "zip" is not supported by argolite: artifacts are archived with tar (gzip) or not at all`},
			{"spec.templates[1].synchronization.mutexes[0].database", `field "database" is not supported by argolite`},
		}},
		{name: "kinds of values", yaml: workflowYAML(`
entrypoint: main
parallelism: "2"
templates:
- name: main
  steps:
  - name: a
    template: main
- name: b
  container:
    image: busybox
    args: echo hi
    env: [{name: n1, value: 5}]
  activeDeadlineSeconds: [1]
  inputs:
    parameters:
    - name: p
      value: {a: 1}
    - name: ok
      value: 5
  retryStrategy: {limit: 1.5}
  daemon: "yes"
`), faults: []want{
			{"spec.parallelism", `expected a whole number, got a string (2)`},
			{"spec.templates[0].steps[0]", "expected a list of steps that run in parallel (`- - name: ...`), got an object"},
			{"spec.templates[1].container.args", "expected a list, got a string"},
			{"spec.templates[1].container.env[0].value", "expected a string, got a number: quote the value"},
			{"spec.templates[1].activeDeadlineSeconds", "expected a whole number or a string, got a list"},
			{"spec.templates[1].inputs.parameters[0].value", "expected a string, a number or a boolean, got an object: quote it to pass it as text"},
			{"spec.templates[1].retryStrategy.limit", "expected a whole number or a string, got a number (1.5)"},
			{"spec.templates[1].daemon", "expected true or false, got a string"},
		}},
		{name: "boolean-looking words", yaml: workflowYAML(`
entrypoint: main
templates:
- name: main
  inputs: {parameters: [{name: no, value: yes}]}
  container: {image: busybox}
`), faults: []want{{"spec.templates[0].inputs.parameters[0].name", "expected a string, got a boolean: quote the value (YAML reads unquoted y, n, yes, no, on, off, true and false as booleans)"}}},
		{name: "duplicate keys", yaml: workflowYAML(`
entrypoint: main
templates:
- name: main
  container: {image: busybox}
entrypoint: other
`), faults: []want{{"", `line 11: key "entrypoint" already set in map: give each key once`}}},
		{name: "not YAML", yaml: "apiVersion: v1\nkind: [\n", faults: []want{{"", "not valid YAML or JSON"}}},
		{name: "not an object", yaml: "- a\n- b\n", faults: []want{{"", "a document must be an object"}}},
		{name: "apiVersion and kind", yaml: `
kind: Workflow
---
apiVersion: argoproj.io/v1alpha2
kind: Workflow
---
apiVersion: argolite.dev/v1alpha1
kind: Workflw
---
apiVersion: argoproj.io/v1alpha1
kind: WorkflowEventBinding
---
apiVersion: argoproj.io/v1alpha1
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
data: {a: b}
---
apiVersion: argoproj.io/v1alpha1
kind: Sensor
`, faults: []want{
			{"apiVersion", "required: use argolite.dev/v1alpha1 (or Argo's argoproj.io/v1alpha1, which is mapped)"},
			{"apiVersion", `"argoproj.io/v1alpha2" is not served`},
			{"kind", `unknown kind "Workflw": did you mean "Workflow"?`},
			{"kind", "WorkflowEventBinding is not supported by argolite"},
			{"kind", "required: one of Workflow, WorkflowTemplate, ClusterWorkflowTemplate, CronWorkflow"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, errs := decodeErrors(t, c.yaml)
			expectErrors(t, errs, c.faults...)
		})
	}
}

func TestDecodeDocuments(t *testing.T) {
	file := `# comment
---
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {name: lib}
spec:
  templates:
  - name: t
    container: {image: busybox}
---
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: busybox, imagePullPolicy: Never, bogus: 1}
status:
  phase: Succeeded
  anything: goes
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
---
`
	docs, errs := decodeErrors(t, file)
	if len(docs) != 3 {
		t.Fatalf("%d documents, want 3", len(docs))
	}
	expectErrors(t, errs, want{"spec.templates[0].container.bogus", `unknown field "bogus"`})
	if errs[0].File != "wf.yaml (document 2)" {
		t.Errorf("File = %q, want the document named", errs[0].File)
	}
	if got := errs.Error(); got != `wf.yaml (document 2): spec.templates[0].container.bogus: unknown field "bogus": remove it, or check its spelling and indentation` {
		t.Errorf("Error() = %q", got)
	}
	lib, ok := docs[0].Object.(*argov1.WorkflowTemplate)
	if !ok || lib.Name != "lib" || !docs[0].MappedFromArgo || docs[0].APIVersion != "argolite.dev/v1alpha1" || docs[0].Raw["apiVersion"] != "argolite.dev/v1alpha1" {
		t.Errorf("document 1 = %+v", docs[0])
	}
	wf, ok := docs[1].Object.(*argov1.Workflow)
	if !ok || docs[1].MappedFromArgo || wf.Spec.Templates[0].Container.Image != "busybox" || wf.Status.Phase != "Succeeded" {
		t.Errorf("document 2 = %+v (decoded despite the unknown field, status kept)", docs[1])
	}
	if docs[2].Object != nil || docs[2].Kind != "ConfigMap" || docs[2].APIVersion != "v1" {
		t.Errorf("document 3 = %+v, want a ConfigMap without Object", docs[2])
	}
	if es := docs[2].Validate(Options{}); len(es) != 0 {
		t.Errorf("a ConfigMap has no faults: %v", es)
	}
}

func TestDecodeLineNumbersAndLists(t *testing.T) {
	file := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\nmetadata: {name: c}\n"
	_, errs := decodeErrors(t, file)
	expectErrors(t, errs, want{"", `line 8: key "metadata" already set in map`})

	list := `{"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "a"},
   "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "busybox"}}]}},
  {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "b"}, "spec": {"entrypoin": "main"}}
]}`
	docs, errs := decodeErrors(t, list)
	if len(docs) != 2 || docs[0].Name != "a" {
		t.Fatalf("documents: %+v", docs)
	}
	expectErrors(t, errs, want{"items[1].spec.entrypoin", `did you mean "entrypoint"?`})
	if errs[0].File != "wf.yaml (document 2)" {
		t.Errorf("File = %q", errs[0].File)
	}
}

func TestUnsupportedTemplateTypeReportedOnce(t *testing.T) {
	docs, errs := decodeErrors(t, workflowYAML(`
entrypoint: main
templates:
- name: main
  plugin: {hello: {}}
`))
	expectErrors(t, errs, want{"spec.templates[0].plugin", "not supported by argolite"})
	expectErrors(t, docs[0].Validate(Options{}))
}

func TestStrictUnstructured(t *testing.T) {
	// As an unstructured object from the API server: float64 numbers.
	var raw map[string]any
	if err := json.Unmarshal([]byte(`{"apiVersion": "argolite.dev/v1alpha1", "kind": "Workflow", "metadata": {"name": "x", "generation": 3},
	  "spec": {"entrypoint": "main", "parallelism": 2, "activeDeadlineSeconds": 1.5,
	    "templates": [{"name": "main", "container": {"image": "busybox"}, "plugin": {"x": {}}}]}}`), &raw); err != nil {
		t.Fatal(err)
	}
	expectErrors(t, Strict(raw, &argov1.Workflow{}),
		want{"spec.activeDeadlineSeconds", "expected a whole number, got a number (1.5)"},
		want{"spec.templates[0].plugin", `field "plugin" is not supported by argolite`},
	)
	expectErrors(t, Strict(map[string]any{"name": "t", "steps": []any{[]any{map[string]any{"name": "a", "tmplate": "b"}}}}, argov1.Template{}),
		want{"steps[0][0].tmplate", `unknown field "tmplate": did you mean "template"?`})
}

func TestErrorFormat(t *testing.T) {
	es := Errors{
		{File: "a.yaml", Path: "spec.entrypoint", Reason: "required"},
		{Path: "spec", Reason: "bad"},
		{Reason: "whole"},
	}
	if got, wantS := es.Error(), "a.yaml: spec.entrypoint: required\nspec: bad\nwhole"; got != wantS {
		t.Errorf("Error() = %q, want %q", got, wantS)
	}
	if Errors(nil).Err() != nil {
		t.Error("no faults must be a nil error")
	}
	if es.WithFile("b.yaml")[1].File != "b.yaml" || es[0].File != "a.yaml" {
		t.Error("WithFile sets the file of the faults without one only")
	}
}

// TestArgoExamplesWithFaults: examples of Argo's folder (all marked no-test
// there) that are faulty as written: metadata.generateName indented into
// the labels (so the object has no name), metadata.name indented into an
// annotation, and a key given twice.
func TestArgoExamplesWithFaults(t *testing.T) {
	c := loadCorpus(t)
	cases := map[string]want{
		"examples/fun-with-gifs.yaml":           {"metadata", "set name or generateName"},
		"examples/k8s-jobs.yaml":                {"metadata", "set name or generateName"},
		"examples/k8s-patch-json-workflow.yaml": {"", `key "annotations" already set in map: give each key once`},
	}
	for file, w := range cases {
		data, err := os.ReadFile(filepath.Join(c.dir, file))
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		docs, derr := DecodeFile(file, data)
		var all Errors
		if derr != nil {
			var errs Errors
			_ = errors.As(derr, &errs)
			all = append(all, errs...)
		}
		for i := range docs {
			all = append(all, docs[i].Validate(Options{TemplateLookup: c.lookup})...)
		}
		found := false
		for _, e := range all {
			found = found || (e.Path == w.path && strings.Contains(e.Reason, w.reason) && e.File == file)
		}
		if !found {
			t.Errorf("%s: want the fault %s: %s, got:\n%v", file, w.path, w.reason, all)
		}
	}
}
