package workflow

import (
	"encoding/json"
	"fmt"

	"github.com/argolite/argolite/agent/exec"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/expr"
)

// Data templates (data: {source: {artifactPaths: ...}, transformation:
// [...]}) run in the agent rather than in a Pod as in Argo: listing keys
// and evaluating expr-lang needs no container, and the agent already holds
// the artifact repository's settings. The node is a Pod node, as in Argo,
// finished in the reconcile that reaches it.
func (o *operation) executeData(name string, t *argov1.Template, ref templateRef, opts execOpts) (*argov1.NodeStatus, error) {
	n := o.node(name)
	if n == nil {
		n = o.initNode(name, argov1.NodeTypePod, ref, opts.boundaryID, argov1.NodePending, opts.flag, "")
	}
	if n.Phase.Fulfilled() {
		return n, nil
	}
	// Like a Pod, a data step does not start once the workflow stops or while it is suspended.
	if o.shutdown == argov1.ShutdownTerminate || (o.shutdown != "" && !o.inExitHandler) || o.suspended() {
		return n, nil
	}
	result, err := o.runData(t)
	if err != nil {
		phase := argov1.NodeFailed
		if isSpecError(err) {
			phase = argov1.NodeError
		}
		return o.markNode(name, phase, err.Error()), nil
	}
	n = o.markNode(name, argov1.NodeSucceeded, "")
	n.Outputs = &argov1.Outputs{Result: &result}
	o.setNode(n)
	return n, nil
}

// runData lists the template's source and applies its transformations; the
// result is the JSON of the final value, as Argo's executor reports it.
func (o *operation) runData(t *argov1.Template) (string, error) {
	src := t.Data.Source.ArtifactPaths
	if src == nil {
		return "", specError("template %s: data.source has no artifactPaths: give data.source.artifactPaths an artifact location (s3)", t.Name)
	}
	var creds credentials
	loc, err := o.execLocation(src.ArtifactLocation, src.Name, &creds)
	if err != nil {
		return "", fmt.Errorf("template %s: data.source.artifactPaths: %w", t.Name, err)
	}
	if loc.S3 != nil {
		// The agent is not in the workflow's namespace: a bare Service name must be qualified.
		loc.S3.Endpoint = inNamespace(loc.S3.Endpoint, o.wf.Namespace)
	}
	keys, err := exec.ListKeys(o.ctx, loc, o.secretEnv(o.wf.Namespace, creds.env))
	if err != nil {
		return "", fmt.Errorf("template %s: listing data.source.artifactPaths %s: %w", t.Name, src.Name, err)
	}
	exprs := make([]string, len(t.Data.Transformation))
	for i, s := range t.Data.Transformation {
		exprs[i] = s.Expression
	}
	out, err := expr.Transform(keys, exprs)
	if err != nil {
		return "", fmt.Errorf("template %s: data.%w", t.Name, err)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("template %s: the transformed data is not JSON: %w", t.Name, err)
	}
	return string(b), nil
}
