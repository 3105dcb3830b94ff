// Package wfvalidate owns the validation of the workflow kinds (Workflow,
// WorkflowTemplate, ClusterWorkflowTemplate, CronWorkflow): the one validator
// the agent runs before any Pod of a workflow starts and `kubectl argo wf
// lint/submit` runs offline. It is pure logic: it reads no cluster, and
// templates referenced by name come through Options.TemplateLookup.
//
// Two layers:
//
//   - Decoding. DecodeFile reads the YAML or JSON documents of a file,
//     maps Argo's apiVersion argoproj.io/v1alpha1 to argolite.dev/v1alpha1 and
//     decodes strictly: every field the argolite types do not have is an
//     Error naming its full path, with "not supported by argolite" for the
//     Argo fields argolite knowingly lacks (http templates, artifactGC, git
//     artifacts, ...) and a "did you mean" for typos. Strict does the same
//     for an object read from the API server as unstructured content.
//   - Semantics. Workflow, WorkflowTemplate, ClusterWorkflowTemplate and
//     CronWorkflow check what the types cannot: the entrypoint and every
//     template reference resolve, names are valid and unique, DAGs have no
//     cycles and name existing tasks, every input parameter is supplied by
//     its callers, `{{...}}` tags and expressions parse, variable references
//     name steps, tasks, inputs and workflow parameters that exist where
//     they are used, and durations, schedules and policies are well formed.
//
// Every fault is an *Error with the path of the field (for example
// `spec.templates[2].dag.tasks[0].depends`) and a reason that says how to
// fix it; a run returns all faults it found, as Errors.
//
// The rules follow Argo Workflows' own validator where argolite supports the
// feature, so a file Argo accepts is accepted here, except for fields
// argolite does not support.
package wfvalidate
