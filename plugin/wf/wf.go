// Package wf owns `kubectl argo wf`: submitting, listing, inspecting,
// following, waiting for, suspending, resuming, stopping, retrying,
// resubmitting, deleting and linting Workflows.
//
// There is no API server between the plugin and the agent: every command
// reads and writes Workflows (and their step Pods) through the Kubernetes
// API. Suspend, stop and terminate change the spec, which the agent acts on;
// resume and retry change status.nodes as Argo's CLI and server do, with the
// resourceVersion they read, so that a concurrent write by the agent is a
// conflict to retry rather than a lost update.
//
// Each subcommand lives in a file of its own with an options struct
// (Complete, Validate, Run) that embeds Common: cli.Common and the log
// source. The template and cron packages reuse the workflow concerns: file
// reading, the validator adapter, creating and following workflows, and the
// workflow table of cron get.
package wf

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// Resource is how kubectl names Workflows: workflow.argolite.dev.
var Resource = "workflow." + argov1.GroupVersion.Group

// NewCmd returns `wf` with its subcommands.
func NewCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmd(flags, streams, nil)
}

// newCmd builds the command tree; setup, when set, adjusts every
// subcommand's Common (tests put fake clients, a fixed clock and a fake log
// source there).
func newCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, setup func(*Common)) *cobra.Command {
	common := cli.Each(func() Common { return Common{Common: cli.NewCommon(flags, streams)} }, setup)
	cmd := &cobra.Command{
		Use:     "wf",
		Aliases: []string{"workflow", "workflows"},
		Short:   "Run workflows whose steps are Pods: submit, watch, retry and inspect Workflows",
		Long: `Manage Workflows: DAGs and steps of templates whose steps run as Pods, driven by
the argolite agent.

Workflows follow Argo Workflows' field names, and wf submit and wf lint accept
Argo's argoproj.io/v1alpha1 files, which are mapped to argolite.dev/v1alpha1.
Every file is validated before anything is created: a missing template, a
cyclic DAG, an unknown field, a parameter nobody supplies or an expression that
does not parse is reported with its file and path.

The plugin talks only to the Kubernetes API: suspend, stop and terminate set
fields of the Workflow's spec that the agent acts on; resume and retry update
its status.nodes as Argo's CLI does; logs come from the step Pods.`,
		Example: `  # Run Argo's hello-world and follow it until it ends
  kubectl argo wf submit hello-world.yaml --watch

  # In CI: submit with a parameter, wait, exit non-zero when it fails
  kubectl argo wf submit build.yaml -p revision=$GIT_SHA --wait --log

  # Run a WorkflowTemplate that is in the cluster
  kubectl argo wf submit --from workflowtemplate/ci -p branch=main

  # What happened, and why it failed
  kubectl argo wf list
  kubectl argo wf get build-x7k2p
  kubectl argo wf logs build-x7k2p

  # Run the failed steps again
  kubectl argo wf retry build-x7k2p --wait

  # Check files before committing them (no cluster needed)
  kubectl argo wf lint workflows/ --offline`,
	}
	cmd.AddCommand(
		newSubmitCmd(NewSubmitOptions(common())),
		newListCmd(NewListOptions(common())),
		newGetCmd(NewGetOptions(common())),
		newLogsCmd(NewLogsOptions(common())),
		newWaitCmd(NewWaitOptions(common())),
		newSuspendCmd(&SuspendOptions{Common: common()}),
		newResumeCmd(&ResumeOptions{Common: common()}),
		newStopCmd(&StopOptions{Common: common()}, argov1.ShutdownStop),
		newStopCmd(&StopOptions{Common: common()}, argov1.ShutdownTerminate),
		newRetryCmd(NewRetryOptions(common())),
		newResubmitCmd(NewResubmitOptions(common())),
		newDeleteCmd(NewDeleteOptions(common())),
		NewLintCmd(NewLintOptions(common().Common, LintWorkflows)),
	)
	return cmd
}

// Common is what every workflow command shares: cli.Common, and where step
// logs come from.
type Common struct {
	cli.Common
	// Logs streams container logs; nil reads them from the API server.
	Logs LogSource
}

func (c *Common) explain(err error) error { return c.Explain(err, "workflows") }

// getWorkflow reads the Workflow name in the namespace with its nodes
// inflated, explaining failures: every command that reads status nodes
// starts here (or at ListWorkflows).
func (c *Common) getWorkflow(ctx context.Context, name string) (*argov1.Workflow, error) {
	wf, err := c.readWorkflow(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := c.inflate(wf); err != nil {
		return nil, err
	}
	return wf, nil
}

// readWorkflow reads the Workflow name in the namespace as stored, its nodes
// perhaps in status.compressedNodes, explaining failures.
func (c *Common) readWorkflow(ctx context.Context, name string) (*argov1.Workflow, error) {
	wf := &argov1.Workflow{}
	err := c.Clients.Client.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: name}, wf)
	if apierrors.IsNotFound(err) {
		return nil, c.notFound(name, err)
	}
	if err != nil {
		return nil, c.explain(fmt.Errorf("reading workflow %s: %w", c.Ref(name), err))
	}
	return wf, nil
}

// inflate moves the workflow's status.compressedNodes (written by the agent
// when the workflow grows large) back into status.nodes.
func (c *Common) inflate(wf *argov1.Workflow) error {
	if err := wf.InflateNodes(); err != nil {
		return &cli.Error{Problem: err.Error(),
			Fix: "its steps cannot be shown; run it again with kubectl argo wf resubmit " + wf.Name + c.NSFlag(wf.Namespace), Err: err}
	}
	return nil
}

// ListWorkflows lists Workflows with their nodes inflated (PrintWorkflowTable
// reads them to tell a suspended workflow). One whose compressedNodes are
// corrupt is listed as stored, without nodes: a list shows phases, and one
// broken workflow must not hide the others.
func (c *Common) ListWorkflows(ctx context.Context, opts ...client.ListOption) (*argov1.WorkflowList, error) {
	list := &argov1.WorkflowList{}
	if err := c.Clients.Client.List(ctx, list, opts...); err != nil {
		return nil, err
	}
	for i := range list.Items {
		_ = list.Items[i].InflateNodes()
	}
	return list, nil
}

func (c *Common) notFound(name string, err error) error {
	return c.NotFound("workflow", name,
		"list the workflows with kubectl argo wf list (-A for every namespace), or pick the namespace with -n", err)
}

// completeNames completes Workflow names from the cluster. With many, each
// argument is a name (names already given are left out); otherwise only the
// first is. keep, when set, limits the names offered (running ones for
// stop, failed ones for retry).
func completeNames(c *Common, many bool, keep func(*argov1.Workflow) bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if !many && len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		if err := c.Complete(); err != nil {
			return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
		}
		list, err := c.ListWorkflows(ctx, client.InNamespace(c.Namespace))
		if err != nil {
			return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
		}
		slices.SortFunc(list.Items, func(a, b argov1.Workflow) int { return strings.Compare(a.Name, b.Name) })
		var names []cobra.Completion
		for i := range list.Items {
			wf := &list.Items[i]
			if !strings.HasPrefix(wf.Name, toComplete) || slices.Contains(args, wf.Name) || (keep != nil && !keep(wf)) {
				continue
			}
			names = append(names, cobra.CompletionWithDesc(wf.Name, statusText(wf)))
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}
