package wf

import (
	"context"
	"fmt"
	"maps"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// ResubmitOptions are the flags and state of `kubectl argo wf resubmit`.
type ResubmitOptions struct {
	Common

	Name       string
	Parameters []string
	Wait       bool
	Watch      bool

	params map[string]string
}

// NewResubmitOptions returns options with default flags.
func NewResubmitOptions(c Common) *ResubmitOptions { return &ResubmitOptions{Common: c} }

func newResubmitCmd(o *ResubmitOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "resubmit NAME",
		Short: "Run a workflow again from the start, as a new workflow",
		Long: `Create a new workflow from the spec of NAME (running or ended), named NAME-
and a random suffix, labelled ` + LabelResubmittedFrom + `=NAME. Every step runs
again; to run only the failed steps of a failed workflow, use kubectl argo wf
retry. -p changes parameters of the new workflow.`,
		Example: `  kubectl argo wf resubmit build-x7k2p --watch
  kubectl argo wf resubmit build-x7k2p -p revision=v1.2.1`,
		Args:              cobra.ExactArgs(1),
		RunE:              cli.RunE(o),
		ValidArgsFunction: completeNames(&o.Common, false, nil),
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.Parameters, "parameter", "p", nil, "Workflow parameter NAME=VALUE of the new workflow (repeatable).")
	f.BoolVar(&o.Wait, "wait", false, "Wait until the new workflow ends; exit non-zero when it does not succeed.")
	f.BoolVarP(&o.Watch, "watch", "w", false, "Show the new workflow's tree of steps until it ends.")
	return cmd
}

// Complete takes the name and builds the clients.
func (o *ResubmitOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	return o.Common.Complete()
}

// Validate checks the flags.
func (o *ResubmitOptions) Validate() error {
	params, err := ParseParameters(o.Parameters)
	o.params = params
	return err
}

// Run creates the new workflow.
func (o *ResubmitOptions) Run(ctx context.Context) error {
	// Only the spec is read: a workflow whose nodes are corrupt can be resubmitted.
	old, err := o.readWorkflow(ctx, o.Name)
	if err != nil {
		return err
	}
	wf := Resubmission(old)
	if err := ApplyParameters(wf, o.params, o.ClusterLookup(ctx)); err != nil {
		return err
	}
	if err := o.CreateWorkflow(ctx, wf); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "%s/%s submitted (resubmitted from %s)\n", Resource, wf.Name, o.Name)
	return o.follow(ctx, []string{wf.Name}, followOptions{wait: o.Wait, watch: o.Watch})
}

// Resubmission is a new workflow with old's spec, as Argo's
// FormulateResubmitWorkflow: its labels and annotations, no shutdown or
// suspension, and a label naming old.
func Resubmission(old *argov1.Workflow) *argov1.Workflow {
	wf := &argov1.Workflow{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: old.Name + "-",
			Namespace:    old.Namespace,
			Labels:       maps.Clone(old.Labels),
			Annotations:  maps.Clone(old.Annotations),
		},
		Spec: *old.Spec.DeepCopy(),
	}
	if wf.Labels == nil {
		wf.Labels = map[string]string{}
	}
	wf.Labels[LabelResubmittedFrom] = old.Name
	delete(wf.Annotations, "kubectl.kubernetes.io/last-applied-configuration")
	wf.Spec.Shutdown = ""
	wf.Spec.Suspend = nil
	if ads := wf.Spec.ActiveDeadlineSeconds; ads != nil && *ads == 0 {
		wf.Spec.ActiveDeadlineSeconds = nil
	}
	return wf
}
