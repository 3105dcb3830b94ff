// Package workflow owns the workflow role of the agent: it runs Workflows
// (Argo Workflows' kind, in argolite.dev) as Pods.
//
// Each reconcile of a Workflow is one operation, after Argo's operator: it
// reads the step Pods of the workflow from a label-filtered cache and folds
// their outcome into status.nodes, then walks the template tree from the
// entrypoint again. Walking is idempotent: a node that exists and is done is
// returned as it is, a node that does not exist is created (and its Pod with
// it), so a restarted agent picks up where the status says it was. Pod
// changes reach the reconciler through a watch; nothing waits on a timer
// between steps.
//
// Step Pods run the user's command under the agent binary's wrapper (package
// agent/exec), which reports outputs through the termination message.
package workflow
