package wf

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// notRunning refuses to change a workflow that has ended.
func (c *Common) notRunning(wf *argov1.Workflow, verb string) error {
	if !wf.Status.Phase.Completed() {
		return nil
	}
	fix := "run it again with kubectl argo wf resubmit " + wf.Name + c.NSFlag(wf.Namespace)
	if wf.Status.Phase != argov1.WorkflowSucceeded {
		fix = "run its failed steps again with kubectl argo wf retry " + wf.Name + c.NSFlag(wf.Namespace) + ", or " + fix
	}
	return &cli.Error{Problem: fmt.Sprintf("workflow %s/%s has already ended (%s): there is nothing to %s", wf.Namespace, wf.Name, wf.Status.Phase, verb),
		Fix: fix}
}

// patchSpec changes the workflow's spec with change, with the
// resourceVersion it read, reading again on a conflict. change returns
// false to leave the workflow as it is.
func (c *Common) patchSpec(ctx context.Context, name, verb string, change func(*argov1.Workflow) (bool, error)) (*argov1.Workflow, error) {
	return c.patchWorkflow(ctx, name, verb, false, change)
}

// patchStatus changes the workflow's status (its status subresource) with
// change, with the resourceVersion it read, reading again on a conflict
// (the agent writes the status too).
func (c *Common) patchStatus(ctx context.Context, name, verb string, change func(*argov1.Workflow) (bool, error)) (*argov1.Workflow, error) {
	return c.patchWorkflow(ctx, name, verb, true, change)
}

// patchWorkflow lets change edit the workflow with its nodes inflated, then
// patches the spec, or the status subresource, from the workflow as stored.
// The nodes are written in the form they were stored in: a merge patch from
// compressedNodes to inflated nodes would add nodes next to compressedNodes.
// The returned workflow has its nodes inflated.
func (c *Common) patchWorkflow(ctx context.Context, name, verb string, status bool, change func(*argov1.Workflow) (bool, error)) (*argov1.Workflow, error) {
	var wf *argov1.Workflow
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		stored, err := c.readWorkflow(ctx, name)
		if err != nil {
			return err
		}
		wf = stored.DeepCopy()
		if err := c.inflate(wf); err != nil {
			return err
		}
		before := wf.DeepCopy()
		changed, err := change(wf)
		if err != nil || !changed || (status && equality.Semantic.DeepEqual(before.Status, wf.Status)) {
			return err
		}
		out := wf.DeepCopy()
		switch {
		case !status:
			// The API server ignores status in a spec patch: leave it out.
			out.Status = *stored.Status.DeepCopy()
		case stored.Status.CompressedNodes != "":
			if err := out.DeflateNodes(); err != nil {
				return err
			}
		}
		patch := client.MergeFromWithOptions(stored, client.MergeFromWithOptimisticLock{})
		if status {
			return c.Clients.Client.Status().Patch(ctx, out, patch)
		}
		return c.Clients.Client.Patch(ctx, out, patch)
	})
	return wf, c.writeError(err, name, verb)
}

func (c *Common) writeError(err error, name, verb string) error {
	var explained *cli.Error
	switch {
	case err == nil, errors.As(err, &explained):
		return err
	case apierrors.IsNotFound(err):
		return c.notFound(name, err)
	case apierrors.IsConflict(err):
		return &cli.Error{Problem: fmt.Sprintf("workflow %s kept changing while trying to %s it", c.Ref(name), verb),
			Fix: "run the command again", Err: err}
	}
	return c.explain(fmt.Errorf("trying to %s workflow %s: %w", verb, c.Ref(name), err))
}

// SuspendOptions are the flags and state of `kubectl argo wf suspend`.
type SuspendOptions struct {
	Common
	Names []string
}

func newSuspendCmd(o *SuspendOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "suspend NAME...",
		Short: "Suspend workflows: no new step starts until they are resumed",
		Long: `Suspend workflows (spec.suspend: true): the agent starts no new step; steps
that run go on to their end. Resume with kubectl argo wf resume.`,
		Example:           `  kubectl argo wf suspend build-x7k2p`,
		Args:              cobra.MinimumNArgs(1),
		RunE:              cli.RunE(o),
		ValidArgsFunction: completeNames(&o.Common, true, func(wf *argov1.Workflow) bool { return !wf.Status.Phase.Completed() && !suspended(wf) }),
	}
}

// Complete takes the names and builds the clients.
func (o *SuspendOptions) Complete(_ *cobra.Command, args []string) error {
	o.Names = args
	return o.Common.Complete()
}

// Validate checks the flags.
func (o *SuspendOptions) Validate() error { return nil }

// Run suspends each workflow.
func (o *SuspendOptions) Run(ctx context.Context) error {
	for _, name := range o.Names {
		_, err := o.patchSpec(ctx, name, "suspend", func(wf *argov1.Workflow) (bool, error) {
			if err := o.notRunning(wf, "suspend"); err != nil {
				return false, err
			}
			if wf.Spec.Suspend != nil && *wf.Spec.Suspend {
				return false, nil
			}
			wf.Spec.Suspend = ptr.To(true)
			return true, nil
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "%s/%s suspended\n", Resource, name)
	}
	return nil
}

// StopOptions are the flags and state of `kubectl argo wf stop` and `terminate`.
type StopOptions struct {
	Common
	Names    []string
	strategy argov1.ShutdownStrategy
}

func newStopCmd(o *StopOptions, strategy argov1.ShutdownStrategy) *cobra.Command {
	o.strategy = strategy
	cmd := &cobra.Command{
		Use:   "stop NAME...",
		Short: "Stop workflows: end their steps, then run their exit handlers",
		Long: `Stop workflows (spec.shutdown: Stop): the agent ends the running steps and
starts no new ones, then runs the exit handlers (onExit), and the workflow
ends Failed with the message "Stopped with strategy 'Stop'".

To end without running the exit handlers, use kubectl argo wf terminate.`,
		Example: `  kubectl argo wf stop build-x7k2p`,
	}
	if strategy == argov1.ShutdownTerminate {
		cmd.Use = "terminate NAME..."
		cmd.Short = "Terminate workflows: end their steps at once, without exit handlers"
		cmd.Long = `Terminate workflows (spec.shutdown: Terminate): the agent ends the running
steps and starts nothing more, not even the exit handlers (onExit); the
workflow ends Failed with the message "Stopped with strategy 'Terminate'".

To let the exit handlers run, use kubectl argo wf stop.`
		cmd.Example = `  kubectl argo wf terminate build-x7k2p`
	}
	cmd.Args = cobra.MinimumNArgs(1)
	cmd.RunE = cli.RunE(o)
	cmd.ValidArgsFunction = completeNames(&o.Common, true, func(wf *argov1.Workflow) bool { return !wf.Status.Phase.Completed() })
	return cmd
}

// Complete takes the names and builds the clients.
func (o *StopOptions) Complete(_ *cobra.Command, args []string) error {
	o.Names = args
	return o.Common.Complete()
}

// Validate checks the flags.
func (o *StopOptions) Validate() error { return nil }

// Run sets the shutdown strategy of each workflow.
func (o *StopOptions) Run(ctx context.Context) error {
	verb, done := "stop", "stopped"
	if o.strategy == argov1.ShutdownTerminate {
		verb, done = "terminate", "terminated"
	}
	for _, name := range o.Names {
		_, err := o.patchSpec(ctx, name, verb, func(wf *argov1.Workflow) (bool, error) {
			if err := o.notRunning(wf, verb); err != nil {
				return false, err
			}
			if wf.Spec.Shutdown == o.strategy {
				return false, nil
			}
			wf.Spec.Shutdown = o.strategy
			return true, nil
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "%s/%s %s\n", Resource, name, done)
	}
	return nil
}

// ResumeOptions are the flags and state of `kubectl argo wf resume`.
type ResumeOptions struct {
	Common
	Names             []string
	NodeFieldSelector string
	Parameters        []string

	selector fields.Selector
	params   map[string]string
}

func newResumeCmd(o *ResumeOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "resume NAME...",
		Short: "Resume suspended workflows and approve their suspend steps",
		Long: `Resume workflows: clear spec.suspend, and mark every suspend step that waits
(or those --node-field-selector selects) Succeeded, as Argo's CLI does.

A suspend step may wait for values: output parameters with valueFrom.supplied.
Give them with -p NAME=VALUE; one without a value takes its valueFrom.default,
and one with neither is an error. The values become the step's outputs (and
workflow outputs when they have a globalName).

--node-field-selector selects suspend steps by displayName, name, templateName,
phase, id or inputs.parameters.NAME.value, such as displayName=approve.`,
		Example: `  kubectl argo wf resume build-x7k2p

  # Approve one of several waiting steps, with a value it asks for
  kubectl argo wf resume release-2v9xk --node-field-selector displayName=approve -p approver=alice`,
		Args:              cobra.MinimumNArgs(1),
		RunE:              cli.RunE(o),
		ValidArgsFunction: completeNames(&o.Common, true, suspended),
	}
	cmd.Flags().StringVar(&o.NodeFieldSelector, "node-field-selector", "", "Resume only the suspend steps this field selector matches, such as displayName=approve.")
	cmd.Flags().StringArrayVarP(&o.Parameters, "parameter", "p", nil, "Value NAME=VALUE of an output parameter the suspend step asks for (valueFrom.supplied; repeatable).")
	return cmd
}

// Complete takes the names and builds the clients.
func (o *ResumeOptions) Complete(_ *cobra.Command, args []string) error {
	o.Names = args
	return o.Common.Complete()
}

// Validate checks the flags.
func (o *ResumeOptions) Validate() error {
	if o.NodeFieldSelector != "" {
		sel, err := fields.ParseSelector(o.NodeFieldSelector)
		if err != nil {
			return fmt.Errorf("--node-field-selector %q: %w; use FIELD=VALUE with displayName, name, templateName, phase or id", o.NodeFieldSelector, err)
		}
		o.selector = sel
	}
	params, err := ParseParameters(o.Parameters)
	if err != nil {
		return err
	}
	o.params = params
	return nil
}

// Run resumes each workflow.
func (o *ResumeOptions) Run(ctx context.Context) error {
	for _, name := range o.Names {
		if err := o.resume(ctx, name); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "%s/%s resumed\n", Resource, name)
	}
	return nil
}

func (o *ResumeOptions) resume(ctx context.Context, name string) error {
	specSuspended := false
	var resumed []string
	_, err := o.patchStatus(ctx, name, "resume", func(wf *argov1.Workflow) (bool, error) {
		if err := o.notRunning(wf, "resume"); err != nil {
			return false, err
		}
		specSuspended = wf.Spec.Suspend != nil && *wf.Spec.Suspend
		resumed = nil
		used := map[string]bool{}
		var waiting []string
		for _, id := range slices.Sorted(maps.Keys(wf.Status.Nodes)) {
			n := wf.Status.Nodes[id]
			if !activeSuspend(&n) {
				continue
			}
			waiting = append(waiting, n.DisplayName)
			if o.selector != nil && !o.selector.Matches(nodeFields(&n)) {
				continue
			}
			outputs, err := o.suppliedOutputs(ctx, wf, &n, used)
			if err != nil {
				return false, err
			}
			n.Outputs = outputs
			n.Phase = argov1.NodeSucceeded
			n.FinishedAt = metav1.NewTime(o.Now().UTC())
			wf.Status.Nodes[id] = n
			addGlobalOutputs(wf, outputs)
			resumed = append(resumed, n.DisplayName)
		}
		if o.selector != nil && len(resumed) == 0 {
			what := "no suspend step waits"
			if len(waiting) > 0 {
				what = "the suspend steps that wait are " + strings.Join(waiting, ", ")
			}
			return false, &cli.Error{Problem: fmt.Sprintf("no suspend step of workflow %s/%s matches %s", wf.Namespace, wf.Name, o.NodeFieldSelector),
				Fix: what + ": select one with --node-field-selector displayName=NAME"}
		}
		if len(resumed) == 0 && !specSuspended {
			return false, &cli.Error{Problem: fmt.Sprintf("workflow %s/%s is not suspended: there is nothing to resume", wf.Namespace, wf.Name),
				Fix: "see its state with kubectl argo wf get " + wf.Name + o.NSFlag(wf.Namespace)}
		}
		for _, p := range slices.Sorted(maps.Keys(o.params)) {
			if !used[p] {
				return false, &cli.Error{Problem: fmt.Sprintf("-p %s: no resumed suspend step of workflow %s/%s asks for a parameter %q", p, wf.Namespace, wf.Name, p),
					Fix: "give only the output parameters with valueFrom.supplied of the steps you resume"}
			}
		}
		return len(resumed) > 0, nil
	})
	if err != nil {
		return err
	}
	if !specSuspended {
		return nil
	}
	_, err = o.patchSpec(ctx, name, "resume", func(wf *argov1.Workflow) (bool, error) {
		if wf.Spec.Suspend == nil {
			return false, nil
		}
		wf.Spec.Suspend = nil
		return true, nil
	})
	return err
}

// nodeFields are the fields --node-field-selector matches, as Argo's
// SelectorMatchesNode.
func nodeFields(n *argov1.NodeStatus) fields.Set {
	set := fields.Set{
		"displayName":  n.DisplayName,
		"templateName": nodeTemplateName(n),
		"phase":        string(n.Phase),
		"name":         n.Name,
		"id":           n.ID,
	}
	if n.TemplateRef != nil {
		set["templateRef.name"] = n.TemplateRef.Name
		set["templateRef.template"] = n.TemplateRef.Template
	}
	if n.Inputs != nil {
		for _, p := range n.Inputs.Parameters {
			if p.Value != nil {
				set["inputs.parameters."+p.Name+".value"] = p.Value.String()
			}
		}
	}
	return set
}

// suppliedOutputs are the outputs of a suspend node being resumed: its
// template's output parameters with valueFrom.supplied get the -p value, or
// their default (Argo's OverrideOutputParametersWithDefault). used records
// the -p names taken.
func (o *ResumeOptions) suppliedOutputs(ctx context.Context, wf *argov1.Workflow, n *argov1.NodeStatus, used map[string]bool) (*argov1.Outputs, error) {
	outputs := n.Outputs.DeepCopy()
	if outputs == nil || len(outputs.Parameters) == 0 {
		t, err := o.nodeTemplate(ctx, wf, n)
		if err != nil {
			return nil, err
		}
		if t != nil && len(t.Outputs.Parameters) > 0 {
			outputs = &argov1.Outputs{}
			for _, p := range t.Outputs.Parameters {
				outputs.Parameters = append(outputs.Parameters, argov1.Parameter{Name: p.Name, ValueFrom: p.ValueFrom.DeepCopy(), GlobalName: p.GlobalName})
			}
		}
	}
	if outputs == nil {
		return nil, nil
	}
	for i := range outputs.Parameters {
		p := &outputs.Parameters[i]
		if p.ValueFrom == nil || p.ValueFrom.Supplied == nil {
			continue
		}
		if v, ok := o.params[p.Name]; ok {
			used[p.Name] = true
			p.Value, p.ValueFrom = argov1.AnyStringPtr(v), nil
			continue
		}
		if p.ValueFrom.Default != nil {
			p.Value, p.ValueFrom = p.ValueFrom.Default, nil
			continue
		}
		return nil, &cli.Error{
			Problem: fmt.Sprintf("suspend step %s of workflow %s/%s asks for output parameter %q, which has no default", n.DisplayName, wf.Namespace, wf.Name, p.Name),
			Fix:     fmt.Sprintf("give it with -p %s=VALUE", p.Name),
		}
	}
	return outputs, nil
}

// nodeTemplate finds the template a node ran: in the workflow's (stored)
// spec, or in the WorkflowTemplate or ClusterWorkflowTemplate it came from.
// It is nil for inline templates.
func (c *Common) nodeTemplate(ctx context.Context, wf *argov1.Workflow, n *argov1.NodeStatus) (*argov1.Template, error) {
	name, source, cluster := n.TemplateName, "", false
	if n.TemplateRef != nil {
		name, source, cluster = n.TemplateRef.Template, n.TemplateRef.Name, n.TemplateRef.ClusterScope
	} else if kind, scope, ok := strings.Cut(n.TemplateScope, "/"); ok && scope != "" {
		source, cluster = scope, kind == "cluster"
	}
	if name == "" {
		return nil, nil
	}
	var templates []argov1.Template
	if source == "" {
		spec := &wf.Spec
		if wf.Status.StoredWorkflowSpec != nil {
			spec = wf.Status.StoredWorkflowSpec
		}
		templates = spec.Templates
	} else {
		prev := c.Namespace
		c.Namespace = wf.Namespace
		spec, err := c.ClusterLookup(ctx)(source, cluster)
		c.Namespace = prev
		if err != nil {
			kind := KindWorkflowTemplate
			if cluster {
				kind = KindClusterWorkflowTemplate
			}
			return nil, c.explain(fmt.Errorf("reading %s %s, the template of step %s: %w", kind, source, n.DisplayName, err))
		}
		templates = spec.Templates
	}
	for i := range templates {
		if templates[i].Name == name {
			return &templates[i], nil
		}
	}
	return nil, nil
}

// addGlobalOutputs exports output parameters with a globalName to the
// workflow's outputs, as Argo's AddParamToGlobalScope.
func addGlobalOutputs(wf *argov1.Workflow, out *argov1.Outputs) {
	if out == nil {
		return
	}
	for _, p := range out.Parameters {
		if p.GlobalName == "" || p.Value == nil {
			continue
		}
		if wf.Status.Outputs == nil {
			wf.Status.Outputs = &argov1.Outputs{}
		}
		global := argov1.Parameter{Name: p.GlobalName, Value: p.Value}
		if i := slices.IndexFunc(wf.Status.Outputs.Parameters, func(g argov1.Parameter) bool { return g.Name == p.GlobalName }); i >= 0 {
			wf.Status.Outputs.Parameters[i] = global
		} else {
			wf.Status.Outputs.Parameters = append(wf.Status.Outputs.Parameters, global)
		}
	}
}
