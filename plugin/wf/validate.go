package wf

// The validator adapter: workflow files are decoded and validated by
// shared/wfvalidate, the validator the agent runs too. This file is the one
// place the plugin calls it.

import (
	"errors"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/wfvalidate"
)

// Kinds of workflow documents.
const (
	KindWorkflow                = wfvalidate.KindWorkflow
	KindWorkflowTemplate        = wfvalidate.KindWorkflowTemplate
	KindClusterWorkflowTemplate = wfvalidate.KindClusterWorkflowTemplate
	KindCronWorkflow            = wfvalidate.KindCronWorkflow
)

// ArgoAPIVersion is Argo Workflows' apiVersion, which files may use: it is
// mapped to argolite's.
const ArgoAPIVersion = wfvalidate.ArgoAPIVersion

// Document is one object of a workflow file, decoded and mapped to
// argolite's group.
type Document struct {
	// File is where it came from, for messages: the path (or "stdin"),
	// with " (document N)" in a file of several documents.
	File string
	// Source is the path (or "stdin") alone, for commands in hints.
	Source string
	// Kind is the document's kind.
	Kind string
	// Name is its metadata.name, or generateName.
	Name string
	// Object is a *argov1.Workflow, *argov1.WorkflowTemplate,
	// *argov1.ClusterWorkflowTemplate or *argov1.CronWorkflow; nil for
	// other kinds (a ConfigMap next to a workflow), which are not validated.
	Object client.Object
	// Mapped is true when the file said argoproj.io/v1alpha1.
	Mapped bool

	doc *wfvalidate.Document
}

// ErrTemplateNotFound is what a TemplateLookup returns (wrapped, with a
// message that says what to do) for a template that does not exist.
var ErrTemplateNotFound = errors.New("not found")

// ErrUnchecked is what a TemplateLookup returns for a template it cannot
// know (lint with no cluster): references to it are left unchecked, and the
// errors the validator reports for them are dropped.
var ErrUnchecked = errors.New("not checked (no cluster to read it from)")

// TemplateLookup returns the spec of the WorkflowTemplate (or, with cluster,
// the ClusterWorkflowTemplate) name, an error wrapping ErrTemplateNotFound
// when there is none, or ErrUnchecked.
type TemplateLookup func(name string, cluster bool) (*argov1.WorkflowSpec, error)

// ValidateOptions are what validation needs beyond the object.
type ValidateOptions struct {
	TemplateLookup TemplateLookup
	// Submit validates as for a run: every workflow parameter needs a value.
	Submit bool
	// Parameters are the values given with -p.
	Parameters map[string]string
}

// DecodeFile decodes every document of a workflow file, mapping Argo's
// apiVersion, strictly: an unknown field is an error naming its path. It
// returns the documents it could decode even when it returns an error.
func DecodeFile(file string, data []byte) ([]Document, error) {
	docs, err := wfvalidate.DecodeFile(file, data)
	var out []Document
	for i := range docs {
		d := &docs[i]
		obj, _ := d.Object.(client.Object)
		if obj != nil {
			fresh(obj)
		}
		out = append(out, Document{File: d.File, Source: file, Kind: d.Kind, Name: d.Name, Object: obj, Mapped: d.MappedFromArgo, doc: d})
	}
	return out, err
}

// fresh drops what the API server sets from an object read from a file (a
// file exported from a cluster carries them): its status and server-set
// metadata.
func fresh(obj client.Object) {
	obj.SetUID("")
	obj.SetResourceVersion("")
	obj.SetGeneration(0)
	obj.SetCreationTimestamp(metav1.Time{})
	obj.SetManagedFields(nil)
	obj.SetDeletionTimestamp(nil)
	switch o := obj.(type) {
	case *argov1.Workflow:
		o.Status = argov1.WorkflowStatus{}
	case *argov1.CronWorkflow:
		o.Status = argov1.CronWorkflowStatus{}
	}
}

// Validate checks doc and returns its errors, each "FILE: PATH: REASON".
func Validate(doc Document, opts ValidateOptions) []string {
	o := wfvalidate.Options{Submit: opts.Submit, Parameters: opts.Parameters}
	if opts.TemplateLookup != nil {
		o.TemplateLookup = opts.TemplateLookup
	}
	var errs wfvalidate.Errors
	if doc.doc != nil {
		errs = doc.doc.Validate(o)
	} else {
		// A document made here (submit --from), not read from a file.
		switch obj := doc.Object.(type) {
		case *argov1.Workflow:
			errs = wfvalidate.Workflow(obj, o)
		case *argov1.WorkflowTemplate:
			errs = wfvalidate.WorkflowTemplate(obj, o)
		case *argov1.ClusterWorkflowTemplate:
			errs = wfvalidate.ClusterWorkflowTemplate(obj, o)
		case *argov1.CronWorkflow:
			errs = wfvalidate.CronWorkflow(obj, o)
		}
		errs = errs.WithFile(doc.File)
	}
	var out []string
	for _, e := range errs {
		if strings.HasSuffix(e.Reason, ErrUnchecked.Error()) {
			continue
		}
		out = append(out, e.Error())
	}
	return inFile(doc.File, out)
}

// inFile prefixes each error with the file, unless it names it already.
func inFile(file string, errs []string) []string {
	for i, e := range errs {
		if !strings.HasPrefix(e, file+":") && !strings.HasPrefix(e, file+" ") {
			errs[i] = file + ": " + e
		}
	}
	return errs
}

// ErrorMessages splits a decode error into its messages.
func ErrorMessages(err error) []string {
	if err == nil {
		return nil
	}
	var es wfvalidate.Errors
	if errors.As(err, &es) {
		out := make([]string, len(es))
		for i, e := range es {
			out[i] = e.Error()
		}
		return out
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range joined.Unwrap() {
			out = append(out, ErrorMessages(e)...)
		}
		return out
	}
	return []string{err.Error()}
}
