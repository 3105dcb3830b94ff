package wfvalidate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// ArgoAPIVersion is Argo Workflows' apiVersion, which DecodeFile maps to
// argolite's.
const ArgoAPIVersion = "argoproj.io/v1alpha1"

// The workflow kinds.
const (
	KindWorkflow                = "Workflow"
	KindWorkflowTemplate        = "WorkflowTemplate"
	KindClusterWorkflowTemplate = "ClusterWorkflowTemplate"
	KindCronWorkflow            = "CronWorkflow"
)

var workflowKinds = []string{KindWorkflow, KindWorkflowTemplate, KindClusterWorkflowTemplate, KindCronWorkflow}

// otherKinds are the other kinds of argolite's group: DecodeFile returns
// them without an Object and without complaint.
var otherKinds = map[string]bool{
	"Application": true, "ApplicationSet": true, "AppProject": true, "Rollout": true,
	"AnalysisTemplate": true, "ClusterAnalysisTemplate": true, "AnalysisRun": true,
	"EventSource": true, "Sensor": true, "Experiment": true, "EventBus": true,
	"List": true,
}

// unsupportedKinds are Argo Workflows' kinds argolite does not have.
var unsupportedKinds = map[string]string{
	"WorkflowEventBinding":   "start workflows from events with an argolite Sensor",
	"WorkflowTaskSet":        "it is internal to Argo's agent Pod",
	"WorkflowTaskResult":     "argolite reads step results from the Pod's termination message",
	"WorkflowArtifactGCTask": "artifact garbage collection is not implemented",
}

// Document is one decoded document of a file.
type Document struct {
	// File names where the document came from, for Errors: the file name,
	// with " (document N)" when the file holds several documents.
	File string
	// Index is the document's position among the file's documents, from 0.
	Index int
	// APIVersion is the apiVersion after mapping; Kind and Name (the
	// metadata name, or generateName when there is none) are as written.
	APIVersion, Kind, Name string
	// MappedFromArgo is set when the document said argoproj.io/v1alpha1
	// and was mapped to argolite.dev/v1alpha1.
	MappedFromArgo bool
	// Object is the typed object: *argov1.Workflow, *argov1.WorkflowTemplate,
	// *argov1.ClusterWorkflowTemplate or *argov1.CronWorkflow; nil for other
	// kinds (a ConfigMap, an Application, ...), which the caller may use or
	// skip as it likes.
	Object runtime.Object
	// Raw is the document as decoded (numbers as json.Number), with the
	// apiVersion mapped.
	Raw map[string]any

	// untyped are the templates whose only type is one argolite does not
	// support (http, data, plugin): decoding reported it, so Validate does
	// not add that they have no type.
	untyped map[string]bool
}

// Validate runs the semantic checks of the document's kind (Workflow,
// WorkflowTemplate, ClusterWorkflowTemplate or CronWorkflow) with File set
// on every fault; a document of another kind has none.
func (d *Document) Validate(o Options) Errors {
	var es Errors
	switch obj := d.Object.(type) {
	case *argov1.Workflow:
		es = Workflow(obj, o)
	case *argov1.WorkflowTemplate:
		es = WorkflowTemplate(obj, o)
	case *argov1.ClusterWorkflowTemplate:
		es = ClusterWorkflowTemplate(obj, o)
	case *argov1.CronWorkflow:
		es = CronWorkflow(obj, o)
	}
	kept := es[:0]
	for _, e := range es {
		if d.untyped[e.Path] && strings.HasPrefix(e.Reason, noTemplateType) {
			continue
		}
		kept = append(kept, e)
	}
	return kept.WithFile(d.File)
}

// DecodeFile decodes the YAML or JSON documents of a file (separated by
// `---`; a `kind: List` document stands for its items), maps
// argoproj.io/v1alpha1 to argolite.dev/v1alpha1 and decodes the workflow
// kinds strictly (see Strict; status is not checked). name is only used in
// the faults' File.
//
// The error, when not nil, is Errors: YAML that does not parse, keys given
// twice, a missing apiVersion or kind, an unknown kind in argolite's or
// Argo's group, unknown fields, values of the wrong kind. The documents that
// could be decoded are returned even then (unknown fields dropped), so a
// caller can go on to report semantic faults too.
func DecodeFile(name string, data []byte) ([]Document, error) {
	var l errorList
	type part struct {
		obj  map[string]any
		path string // "" or "items[i]" of a List
	}
	var parts []part
	for _, chunk := range splitDocuments(data) {
		obj, errs := decodeChunk(chunk)
		l.errs = append(l.errs, errs...)
		if obj == nil {
			continue
		}
		if kind, _ := obj["kind"].(string); kind == "List" {
			items, _ := obj["items"].([]any)
			for i, item := range items {
				m, ok := item.(map[string]any)
				if !ok {
					l.add(index("items", i), "expected an object, got %s", kindOf(item))
					continue
				}
				parts = append(parts, part{obj: m, path: index("items", i)})
			}
			continue
		}
		parts = append(parts, part{obj: obj})
	}
	docs := make([]Document, 0, len(parts))
	for i, p := range parts {
		file := name
		if len(parts) > 1 {
			file = fmt.Sprintf("%s (document %d)", name, i+1)
		}
		doc, errs := decodeObject(p.obj, p.path)
		l.errs = append(l.errs, errs.WithFile(file)...)
		doc.File, doc.Index = file, i
		docs = append(docs, doc)
	}
	return docs, l.errs.WithFile(name).Err()
}

type chunk struct {
	data []byte
	line int // the line the document starts on, from 1
}

// splitDocuments splits a YAML stream at `---` lines, remembering where
// each document starts so that YAML errors can name the line of the file.
func splitDocuments(data []byte) []chunk {
	var out []chunk
	start, startLine, line := 0, 1, 1
	for pos := 0; pos < len(data); {
		end := bytes.IndexByte(data[pos:], '\n')
		next := len(data)
		if end >= 0 {
			next = pos + end + 1
		}
		text := strings.TrimRight(string(data[pos:next]), "\r\n")
		if isSeparator(text) {
			out = append(out, chunk{data: data[start:pos], line: startLine})
			start, startLine = next, line+1
		}
		pos = next
		line++
	}
	out = append(out, chunk{data: data[start:], line: startLine})
	return out
}

func isSeparator(line string) bool {
	if !strings.HasPrefix(line, "---") {
		return false
	}
	rest := line[3:]
	return rest == "" || rest[0] == ' ' || rest[0] == '\t'
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// decodeChunk turns one YAML (or JSON) document into a map; nil for an
// empty document.
func decodeChunk(c chunk) (map[string]any, Errors) {
	var l errorList
	fileLines := func(msg string) string {
		return yamlLine.ReplaceAllStringFunc(msg, func(m string) string {
			n, _ := strconv.Atoi(m[len("line "):])
			return fmt.Sprintf("line %d", n+c.line-1)
		})
	}
	js, err := yaml.YAMLToJSONStrict(c.data)
	if err != nil {
		loose, lerr := yaml.YAMLToJSON(c.data)
		if lerr != nil {
			l.add("", "not valid YAML or JSON: %s", fileLines(cleanYAMLError(lerr)))
			return nil, l.errs
		}
		l.add("", "%s: give each key once", fileLines(cleanYAMLError(err)))
		js = loose
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		l.add("", "not valid YAML or JSON: %v", err)
		return nil, l.errs
	}
	switch obj := v.(type) {
	case nil:
		return nil, l.errs // an empty document, such as after a trailing ---
	case map[string]any:
		if len(obj) == 0 {
			return nil, l.errs
		}
		return obj, l.errs
	default:
		l.add("", "a document must be an object with apiVersion, kind, metadata and spec, not %s", kindOf(v))
		return nil, l.errs
	}
}

func cleanYAMLError(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "error converting YAML to JSON: ")
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = strings.ReplaceAll(msg, "unmarshal errors:\n", "")
	fields := strings.Split(msg, "\n")
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	return strings.Join(fields, "; ")
}

// decodeObject maps and decodes one object; path prefixes the faults' paths
// (for the items of a List).
func decodeObject(obj map[string]any, path string) (Document, Errors) {
	var l errorList
	doc := Document{Raw: obj}
	apiVersion, _ := obj["apiVersion"].(string)
	doc.Kind, _ = obj["kind"].(string)
	if md, ok := obj["metadata"].(map[string]any); ok {
		doc.Name, _ = md["name"].(string)
		if doc.Name == "" {
			doc.Name, _ = md["generateName"].(string)
		}
	}
	ours := argov1.GroupVersion.String()
	switch {
	case apiVersion == "":
		l.add(join(path, "apiVersion"), "required: use %s (or Argo's %s, which is mapped)", ours, ArgoAPIVersion)
	case apiVersion == ArgoAPIVersion:
		doc.MappedFromArgo = true
		obj["apiVersion"] = ours
		apiVersion = ours
	case apiVersion == ours:
	case strings.HasPrefix(apiVersion, argov1.GroupVersion.Group+"/"), strings.HasPrefix(apiVersion, "argoproj.io/"):
		l.add(join(path, "apiVersion"), "%q is not served: use %s (or Argo's %s, which is mapped)", apiVersion, ours, ArgoAPIVersion)
	default:
		doc.APIVersion = apiVersion
		return doc, l.errs // not ours: the caller decides
	}
	doc.APIVersion = apiVersion
	var into runtime.Object
	switch doc.Kind {
	case KindWorkflow:
		into = &argov1.Workflow{}
	case KindWorkflowTemplate:
		into = &argov1.WorkflowTemplate{}
	case KindClusterWorkflowTemplate:
		into = &argov1.ClusterWorkflowTemplate{}
	case KindCronWorkflow:
		into = &argov1.CronWorkflow{}
	case "":
		l.add(join(path, "kind"), "required: one of %s", strings.Join(workflowKinds, ", "))
		return doc, l.errs
	default:
		if hint, ok := unsupportedKinds[doc.Kind]; ok {
			l.add(join(path, "kind"), "%s is not supported by argolite: %s", doc.Kind, hint)
		} else if !otherKinds[doc.Kind] {
			reason := fmt.Sprintf("unknown kind %q", doc.Kind)
			if s := suggest(doc.Kind, workflowKinds); s != "" {
				reason += fmt.Sprintf(": did you mean %q?", s)
			} else {
				reason += ": the workflow kinds are " + strings.Join(workflowKinds, ", ")
			}
			l.add(join(path, "kind"), "%s", reason)
		}
		return doc, l.errs
	}
	if len(l.errs) > 0 {
		return doc, l.errs
	}
	// Status is what the agent writes: a file exported from a cluster may
	// carry one, and it is not for the file to set.
	checked := make(map[string]any, len(obj))
	for k, v := range obj {
		if k != "status" {
			checked[k] = v
		}
	}
	for _, e := range Strict(checked, into) {
		if parent, field, ok := cutLast(e.Path); ok && strings.Contains(e.Reason, "not supported by argolite") &&
			(field == "http" || field == "plugin") && strings.Contains(parent, "templates[") {
			if doc.untyped == nil {
				doc.untyped = map[string]bool{}
			}
			doc.untyped[parent] = true
		}
		e.Path = prefixPath(path, e.Path)
		l.errs = append(l.errs, e)
	}
	data, err := json.Marshal(obj)
	if err == nil {
		err = kjson.UnmarshalCaseSensitivePreserveInts(data, into)
	}
	if err != nil && len(l.errs) == 0 {
		l.add(path, "cannot decode %s: %v", doc.Kind, err)
	}
	doc.Object = into
	return doc, l.errs
}

// cutLast splits a path at its last field: "a.b[0].c" is "a.b[0]", "c".
func cutLast(path string) (string, string, bool) {
	i := strings.LastIndex(path, ".")
	if i < 0 {
		return "", "", false
	}
	return path[:i], path[i+1:], true
}

func prefixPath(prefix, path string) string {
	switch {
	case prefix == "":
		return path
	case path == "":
		return prefix
	case strings.HasPrefix(path, "["):
		return prefix + path
	}
	return prefix + "." + path
}
