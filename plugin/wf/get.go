package wf

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/wfnames"
)

// GetOptions are the flags and state of `kubectl argo wf get`.
type GetOptions struct {
	Common
	PrintFlags *genericclioptions.PrintFlags

	Name    string
	Watch   bool
	Outputs bool
}

// NewGetOptions returns options with default flags.
func NewGetOptions(c Common) *GetOptions {
	return &GetOptions{Common: c, PrintFlags: genericclioptions.NewPrintFlags("")}
}

func newGetCmd(o *GetOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a workflow: status, parameters and the tree of its steps",
		Long: `Show a workflow as argo get does: its status and message, when it was created,
started and finished, its progress and parameters, then the tree of its nodes:
each step with its phase icon, template, Pod, duration and message.

  ✔ succeeded   ✖ failed   ⚠ error   ◷ pending or running   ○ skipped   ⏸ suspended

Steps of a group hang from their steps template (├─·, └─·); the attempts of a
retried step hang from it; the exit handler's tree follows the main one.
--outputs (or -o wide) adds each step's output parameters, result and
artifacts; -o wide also the Kubernetes node it ran on. -w redraws the view in
place until the workflow ends.`,
		Example: `  kubectl argo wf get hello-world-x7k2p

  # With the outputs of each step
  kubectl argo wf get hello-world-x7k2p --outputs

  # Follow it until it ends
  kubectl argo wf get hello-world-x7k2p -w

  kubectl argo wf get hello-world-x7k2p -o yaml`,
		Args:              cobra.ExactArgs(1),
		RunE:              cli.RunE(o),
		ValidArgsFunction: completeNames(&o.Common, false, nil),
	}
	cmd.Flags().BoolVarP(&o.Watch, "watch", "w", false, "Redraw the view until the workflow ends.")
	cmd.Flags().BoolVar(&o.Outputs, "outputs", false, "Show each step's outputs (parameters, result, artifacts).")
	cli.AddPrintFlags(cmd, o.PrintFlags, cli.Wide)
	return cmd
}

// Complete takes the name and builds the clients.
func (o *GetOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	return o.Common.Complete()
}

// Validate checks the flags.
func (o *GetOptions) Validate() error {
	if err := cli.ValidateOutput(o.PrintFlags, cli.Wide); err != nil {
		return err
	}
	if o.Watch && cli.Structured(o.PrintFlags, cli.Wide) {
		return fmt.Errorf("-w shows the tree and -o %s prints the object: use one", *o.PrintFlags.OutputFormat)
	}
	return nil
}

func (o *GetOptions) treeOptions() treeOptions {
	return treeOptions{wide: cli.OutputIs(o.PrintFlags, cli.Wide), outputs: o.Outputs}
}

// Run shows the workflow.
func (o *GetOptions) Run(ctx context.Context) error {
	if o.Watch {
		_, err := o.watch(ctx, o.Name, o.Out, o.treeOptions())
		return err
	}
	wf, err := o.getWorkflow(ctx, o.Name)
	if err != nil {
		return err
	}
	p, err := cli.Printer(o.PrintFlags, cli.Wide)
	if err != nil {
		return err
	}
	if p != nil {
		wf.SetGroupVersionKind(argov1.GroupVersion.WithKind(KindWorkflow))
		return p.PrintObj(wf, o.Out)
	}
	opts := o.treeOptions()
	opts.now, opts.pal, opts.podNames = o.Now(), newPalette(o.Out), o.podNames(ctx, wf)
	printWorkflow(o.Out, wf, opts)
	return nil
}

// podNames maps the workflow's node IDs to the names of their Pods, as
// listed from the cluster; nil when they cannot be listed.
func (c *Common) podNames(ctx context.Context, wf *argov1.Workflow) map[string]string {
	pods, err := c.stepPods(ctx, wf)
	if err != nil {
		return nil
	}
	names := map[string]string{}
	for _, p := range pods {
		if id := p.Annotations[wfnames.AnnotationNodeID]; id != "" {
			names[id] = p.Name
		}
	}
	return names
}

// stepPods lists the step Pods of the workflow.
func (c *Common) stepPods(ctx context.Context, wf *argov1.Workflow) ([]corev1.Pod, error) {
	list := &corev1.PodList{}
	if err := c.Clients.Client.List(ctx, list, client.InNamespace(wf.Namespace),
		client.MatchingLabels{wfnames.LabelWorkflow: wf.Name}); err != nil {
		return nil, err
	}
	return list.Items, nil
}
