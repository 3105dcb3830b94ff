package rollout

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// newExperimentCmd is `rollout experiment`: the Experiments the experiment
// steps make (and those created by hand), listed, shown template by
// template, terminated.
func newExperimentCmd(common func() cli.Common) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "experiment",
		Aliases: []string{"experiments", "exp"},
		Short:   "List, show and terminate Experiments",
		Example: `  kubectl argo rollout experiment list
  kubectl argo rollout experiment get rollouts-demo-6f7b9c-3-0
  kubectl argo rollout experiment terminate rollouts-demo-6f7b9c-3-0`,
	}
	cmd.AddCommand(
		newExperimentListCmd(&experimentListOptions{Common: common(), PrintFlags: genericclioptions.NewPrintFlags("")}),
		newExperimentGetCmd(&experimentGetOptions{Common: common(), PrintFlags: genericclioptions.NewPrintFlags("")}),
		newExperimentTerminateCmd(&simpleOptions{Common: common()}),
	)
	return cmd
}

type experimentListOptions struct {
	cli.Common
	PrintFlags    *genericclioptions.PrintFlags
	AllNamespaces bool
}

func newExperimentListCmd(o *experimentListOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List Experiments: phase, the rollout they belong to, templates, duration and age",
		Args:    cobra.NoArgs,
		RunE:    cli.RunE(o),
	}
	cmd.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "List the Experiments of every namespace.")
	cli.AddPrintFlags(cmd, o.PrintFlags)
	return cmd
}

func (o *experimentListOptions) Complete(*cobra.Command, []string) error { return o.Common.Complete() }
func (o *experimentListOptions) Validate() error                         { return cli.ValidateOutput(o.PrintFlags) }

func (o *experimentListOptions) Run(ctx context.Context) error {
	list := &argov1.ExperimentList{}
	if err := o.Clients.Client.List(ctx, list, o.ListScope(o.AllNamespaces)...); err != nil {
		return o.Explain(fmt.Errorf("listing experiments: %w", err), forbidden)
	}
	slices.SortFunc(list.Items, func(a, b argov1.Experiment) int {
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		return a.CreationTimestamp.Compare(b.CreationTimestamp.Time)
	})
	p, err := cli.Printer(o.PrintFlags)
	if err != nil {
		return err
	}
	if p != nil {
		return cli.PrintList(p, o.PrintFlags, list, "Experiment", o.Out)
	}
	if len(list.Items) == 0 {
		o.NoneFound("experiments", o.AllNamespaces)
		return nil
	}
	w := printers.GetNewTabWriter(o.Out)
	defer w.Flush()
	header := "NAME\tSTATUS\tROLLOUT\tTEMPLATES\tANALYSES\tDURATION\tAGE\tMESSAGE"
	if o.AllNamespaces {
		header = "NAMESPACE\t" + header
	}
	fmt.Fprintln(w, header)
	for i := range list.Items {
		ex := &list.Items[i]
		owner := "-"
		for _, ref := range ex.OwnerReferences {
			if ref.Kind == "Rollout" {
				owner = ref.Name
			}
		}
		row := fmt.Sprintf("%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s", ex.Name, cli.OrDash(string(ex.Status.Phase)), owner, len(ex.Spec.Templates),
			len(ex.Spec.Analyses), cli.OrDash(ex.Spec.Duration), cli.Age(o.Now(), ex.CreationTimestamp), cli.OrDash(ex.Status.Message))
		if o.AllNamespaces {
			row = ex.Namespace + "\t" + row
		}
		fmt.Fprintln(w, row)
	}
	return nil
}

type experimentGetOptions struct {
	cli.Common
	PrintFlags *genericclioptions.PrintFlags
	Name       string
}

func newExperimentGetCmd(o *experimentGetOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Show an Experiment: its templates' ReplicaSets and Services, and its analyses",
		Args:  cobra.ExactArgs(1),
		RunE:  cli.RunE(o),
	}
	cli.AddPrintFlags(cmd, o.PrintFlags)
	return cmd
}

func (o *experimentGetOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	return o.Common.Complete()
}
func (o *experimentGetOptions) Validate() error { return cli.ValidateOutput(o.PrintFlags) }

func (o *experimentGetOptions) Run(ctx context.Context) error {
	ex, err := getExperiment(ctx, &o.Common, o.Name)
	if err != nil {
		return err
	}
	p, err := cli.Printer(o.PrintFlags)
	if err != nil {
		return err
	}
	if p != nil {
		ex.SetGroupVersionKind(argov1.GroupVersion.WithKind("Experiment"))
		return p.PrintObj(ex, o.Out)
	}
	w := printers.GetNewTabWriter(o.Out)
	fmt.Fprintf(w, "Name:\t%s\nNamespace:\t%s\nStatus:\t%s\n", ex.Name, ex.Namespace, runIcon(ex.Status.Phase))
	if ex.Status.Message != "" {
		fmt.Fprintf(w, "Message:\t%s\n", ex.Status.Message)
	}
	if ex.Spec.Duration != "" {
		fmt.Fprintf(w, "Duration:\t%s\n", ex.Spec.Duration)
	}
	if at := ex.Status.AvailableAt; at != nil {
		fmt.Fprintf(w, "Available:\t%s ago\n", cli.Age(o.Now(), *at))
	}
	if ex.Spec.Terminate {
		fmt.Fprintf(w, "Terminated:\tyes\n")
	}
	_ = w.Flush()
	fmt.Fprintln(o.Out)
	tw := printers.GetNewTabWriter(o.Out)
	defer tw.Flush()
	fmt.Fprintln(tw, "TEMPLATE\tSTATUS\tREPLICAS\tREADY\tAVAILABLE\tPOD-HASH\tSERVICE\tMESSAGE")
	statuses := map[string]argov1.ExperimentTemplateStatus{}
	for _, ts := range ex.Status.TemplateStatuses {
		statuses[ts.Name] = ts
	}
	for _, t := range ex.Spec.Templates {
		ts, ok := statuses[t.Name]
		if !ok {
			fmt.Fprintf(tw, "%s\tPending\t0\t0\t0\t-\t-\t-\n", t.Name)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\n", t.Name, ts.Status, ts.Replicas, ts.ReadyReplicas, ts.AvailableReplicas,
			cli.OrDash(ts.PodTemplateHash), cli.OrDash(ts.ServiceName), cli.OrDash(ts.Message))
	}
	if len(ex.Spec.Analyses) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "ANALYSIS\tSTATUS\tANALYSISRUN\tREQUIRED\tMESSAGE")
		for _, a := range ex.Spec.Analyses {
			s := argov1.ExperimentAnalysisRunStatus{Phase: argov1.AnalysisPhasePending}
			for _, got := range ex.Status.AnalysisRuns {
				if got.Name == a.Name && got.Phase != "" {
					s = got
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\n", a.Name, runIcon(s.Phase), cli.OrDash(s.AnalysisRun), a.RequiredForCompletion, cli.OrDash(s.Message))
		}
	}
	return nil
}

func newExperimentTerminateCmd(o *simpleOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "terminate NAME",
		Short: "End an Experiment now (spec.terminate): its runs are terminated, its ReplicaSets scale down",
		Long: `Terminate an Experiment as kubectl-argo-rollouts terminate experiment does:
spec.terminate is set; the agent terminates its AnalysisRuns, ends it with
what they measured, and scales its ReplicaSets down after
scaleDownDelaySeconds. A terminated Experiment ends Successful unless an
analysis failed, so a Rollout's experiment step then completes, as in Argo.`,
		Args: cobra.ExactArgs(1),
		RunE: cli.RunE(&experimentTerminate{o}),
	}
}

type experimentTerminate struct{ *simpleOptions }

func (o *experimentTerminate) Run(ctx context.Context) error {
	return terminate(ctx, &o.Common, "experiment", o.Name, func() (*argov1.Experiment, error) { return getExperiment(ctx, &o.Common, o.Name) },
		func(ex *argov1.Experiment) *bool { return &ex.Spec.Terminate })
}

// getExperiment reads the Experiment name.
func getExperiment(ctx context.Context, c *cli.Common, name string) (*argov1.Experiment, error) {
	ex := &argov1.Experiment{}
	if err := c.Clients.Client.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: name}, ex); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, c.NotFound("experiment", name, "list them with kubectl argo rollout experiment list (-A for every namespace), or pick the namespace with -n", err)
		}
		return nil, c.Explain(fmt.Errorf("reading experiment %s: %w", c.Ref(name), err), forbidden)
	}
	return ex, nil
}
