package wf

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// ListOptions are the flags and state of `kubectl argo wf list`.
type ListOptions struct {
	Common
	PrintFlags    *genericclioptions.PrintFlags
	AllNamespaces bool
	Running       bool
	Completed     bool
	Selector      string
}

// NewListOptions returns options with default flags.
func NewListOptions(c Common) *ListOptions {
	return &ListOptions{Common: c, PrintFlags: genericclioptions.NewPrintFlags("")}
}

func newListCmd(o *ListOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List workflows with their status, duration and progress",
		Long: `List the workflows of the current namespace (-n, or every namespace with -A),
newest first: status, age, how long they ran, progress (succeeded/total steps)
and message. --running and --completed filter by status; -o wide adds the
template and the parameters.`,
		Example: `  kubectl argo wf list
  kubectl argo wf list -A --running

  # Names of the failed ones, for scripts
  kubectl argo wf list --completed -o json | jq -r '.items[] | select(.status.phase != "Succeeded") | .metadata.name'`,
		Args: cobra.NoArgs,
		RunE: cli.RunE(o),
	}
	f := cmd.Flags()
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "List the workflows of every namespace.")
	f.BoolVar(&o.Running, "running", false, "Only workflows that have not ended.")
	f.BoolVar(&o.Completed, "completed", false, "Only workflows that have ended.")
	f.StringVarP(&o.Selector, "selector", "l", "", "Label selector, such as team=web.")
	cli.AddPrintFlags(cmd, o.PrintFlags, cli.Wide)
	return cmd
}

// Complete builds the clients.
func (o *ListOptions) Complete(*cobra.Command, []string) error { return o.Common.Complete() }

// Validate checks the flags.
func (o *ListOptions) Validate() error {
	if o.Running && o.Completed {
		return errors.New("--running and --completed cannot be combined: leave both out to list every workflow")
	}
	return cli.ValidateOutput(o.PrintFlags, cli.Wide)
}

// Run lists the workflows.
func (o *ListOptions) Run(ctx context.Context) error {
	opts, err := cli.WithSelector(o.ListScope(o.AllNamespaces), o.Selector)
	if err != nil {
		return err
	}
	list, err := o.ListWorkflows(ctx, opts...)
	if err != nil {
		return o.explain(fmt.Errorf("listing workflows: %w", err))
	}
	items := list.Items[:0]
	for _, wf := range list.Items {
		done := wf.Status.Phase.Completed()
		if (o.Running && done) || (o.Completed && !done) {
			continue
		}
		items = append(items, wf)
	}
	list.Items = items
	SortWorkflows(list.Items)
	p, err := cli.Printer(o.PrintFlags, cli.Wide)
	if err != nil {
		return err
	}
	if p != nil {
		return cli.PrintList(p, o.PrintFlags, list, KindWorkflow, o.Out)
	}
	if len(list.Items) == 0 {
		o.NoneFound("workflows", o.AllNamespaces)
		return nil
	}
	PrintWorkflowTable(o.Out, list.Items, o.AllNamespaces, cli.OutputIs(o.PrintFlags, cli.Wide), o.Now())
	return nil
}

// SortWorkflows orders workflows by namespace, then newest first.
func SortWorkflows(items []argov1.Workflow) {
	slices.SortFunc(items, func(a, b argov1.Workflow) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), b.CreationTimestamp.Compare(a.CreationTimestamp.Time), cmp.Compare(a.Name, b.Name))
	})
}

// PrintWorkflowTable prints workflows as wf list does.
func PrintWorkflowTable(out io.Writer, items []argov1.Workflow, namespaces, isWide bool, now time.Time) {
	pal := newPalette(out)
	w := printers.GetNewTabWriter(out)
	defer w.Flush()
	var header []string
	if namespaces {
		header = append(header, "NAMESPACE")
	}
	header = append(header, "NAME", pal.Plain("STATUS"), "AGE", "DURATION", "PROGRESS")
	if isWide {
		header = append(header, "TEMPLATE", "PARAMETERS")
	}
	header = append(header, "MESSAGE")
	fmt.Fprintln(w, strings.Join(header, "\t"))
	for i := range items {
		wf := &items[i]
		var row []string
		if namespaces {
			row = append(row, wf.Namespace)
		}
		row = append(row, wf.Name, pal.workflowPhase(wf.Status.Phase, statusText(wf)), cli.Age(now, wf.CreationTimestamp),
			cli.OrDash(cli.Span(now, wf.Status.StartedAt, wf.Status.FinishedAt)), cli.OrDash(wf.Status.Progress))
		if isWide {
			row = append(row, cli.OrDash(templateOf(wf)), cli.OrDash(parameters(wf.Spec.Arguments.Parameters)))
		}
		row = append(row, oneLine(wf.Status.Message, 80))
		fmt.Fprintln(w, strings.Join(row, "\t"))
	}
}

// templateOf is what a workflow runs: its workflowTemplateRef or entrypoint.
func templateOf(wf *argov1.Workflow) string {
	if ref := wf.Spec.WorkflowTemplateRef; ref != nil {
		if ref.ClusterScope {
			return "clusterworkflowtemplate/" + ref.Name
		}
		return "workflowtemplate/" + ref.Name
	}
	return wf.Spec.Entrypoint
}
