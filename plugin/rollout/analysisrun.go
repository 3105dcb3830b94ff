package rollout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// newAnalysisRunCmd is `rollout analysisrun`: the runs the Rollouts make
// (and those created by hand), listed, shown metric by metric, terminated.
func newAnalysisRunCmd(common func() cli.Common) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "analysisrun",
		Aliases: []string{"analysisruns", "ar"},
		Short:   "List, show and terminate AnalysisRuns",
		Example: `  kubectl argo rollout analysisrun list
  kubectl argo rollout analysisrun get rollouts-demo-6f7b9c-3-1
  kubectl argo rollout analysisrun terminate rollouts-demo-6f7b9c-3-1`,
	}
	cmd.AddCommand(
		newRunListCmd(&runListOptions{Common: common(), PrintFlags: genericclioptions.NewPrintFlags("")}),
		newRunGetCmd(&runGetOptions{Common: common(), PrintFlags: genericclioptions.NewPrintFlags("")}),
		newRunTerminateCmd(&simpleOptions{Common: common()}),
	)
	return cmd
}

type runListOptions struct {
	cli.Common
	PrintFlags    *genericclioptions.PrintFlags
	AllNamespaces bool
}

func newRunListCmd(o *runListOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List AnalysisRuns: phase, the rollout they gate, metrics and age",
		Args:    cobra.NoArgs,
		RunE:    cli.RunE(o),
	}
	cmd.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "List the AnalysisRuns of every namespace.")
	cli.AddPrintFlags(cmd, o.PrintFlags)
	return cmd
}

func (o *runListOptions) Complete(*cobra.Command, []string) error { return o.Common.Complete() }
func (o *runListOptions) Validate() error                         { return cli.ValidateOutput(o.PrintFlags) }

func (o *runListOptions) Run(ctx context.Context) error {
	list := &argov1.AnalysisRunList{}
	if err := o.Clients.Client.List(ctx, list, o.ListScope(o.AllNamespaces)...); err != nil {
		return o.Explain(fmt.Errorf("listing analysisruns: %w", err), forbidden)
	}
	slices.SortFunc(list.Items, func(a, b argov1.AnalysisRun) int {
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
		return cli.PrintList(p, o.PrintFlags, list, "AnalysisRun", o.Out)
	}
	if len(list.Items) == 0 {
		o.NoneFound("analysisruns", o.AllNamespaces)
		return nil
	}
	w := printers.GetNewTabWriter(o.Out)
	defer w.Flush()
	header := "NAME\tSTATUS\tROLLOUT\tMETRICS\tAGE\tMESSAGE"
	if o.AllNamespaces {
		header = "NAMESPACE\t" + header
	}
	fmt.Fprintln(w, header)
	for i := range list.Items {
		r := &list.Items[i]
		owner := "-"
		for _, ref := range r.OwnerReferences {
			if ref.Kind == "Rollout" {
				owner = ref.Name
			}
		}
		row := fmt.Sprintf("%s\t%s\t%s\t%d\t%s\t%s", r.Name, cli.OrDash(string(r.Status.Phase)), owner, len(r.Spec.Metrics),
			cli.Age(o.Now(), r.CreationTimestamp), cli.OrDash(r.Status.Message))
		if o.AllNamespaces {
			row = r.Namespace + "\t" + row
		}
		fmt.Fprintln(w, row)
	}
	return nil
}

type runGetOptions struct {
	cli.Common
	PrintFlags *genericclioptions.PrintFlags
	Name       string
}

func newRunGetCmd(o *runGetOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Show an AnalysisRun metric by metric, with its last measurements",
		Args:  cobra.ExactArgs(1),
		RunE:  cli.RunE(o),
	}
	cli.AddPrintFlags(cmd, o.PrintFlags)
	return cmd
}

func (o *runGetOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	return o.Common.Complete()
}
func (o *runGetOptions) Validate() error { return cli.ValidateOutput(o.PrintFlags) }

// shownMeasurements is how many of a metric's latest measurements get shows.
const shownMeasurements = 5

func (o *runGetOptions) Run(ctx context.Context) error {
	r, err := getRun(ctx, &o.Common, o.Name)
	if err != nil {
		return err
	}
	p, err := cli.Printer(o.PrintFlags)
	if err != nil {
		return err
	}
	if p != nil {
		r.SetGroupVersionKind(argov1.GroupVersion.WithKind("AnalysisRun"))
		return p.PrintObj(r, o.Out)
	}
	w := printers.GetNewTabWriter(o.Out)
	fmt.Fprintf(w, "Name:\t%s\nNamespace:\t%s\nStatus:\t%s\n", r.Name, r.Namespace, runIcon(r.Status.Phase))
	if r.Status.Message != "" {
		fmt.Fprintf(w, "Message:\t%s\n", r.Status.Message)
	}
	if r.Spec.Terminate {
		fmt.Fprintf(w, "Terminated:\tyes\n")
	}
	_ = w.Flush()
	fmt.Fprintln(o.Out)
	tw := printers.GetNewTabWriter(o.Out)
	defer tw.Flush()
	fmt.Fprintln(tw, "METRIC\tSTATUS\tCOUNT\tSUCCESSFUL\tFAILED\tINCONCLUSIVE\tERROR\tLAST")
	results := map[string]*argov1.MetricResult{}
	for i := range r.Status.MetricResults {
		results[r.Status.MetricResults[i].Name] = &r.Status.MetricResults[i]
	}
	for _, m := range r.Spec.Metrics {
		res := results[m.Name]
		if res == nil {
			fmt.Fprintf(tw, "%s\tPending\t0\t0\t0\t0\t0\t-\n", m.Name)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", m.Name, runIcon(res.Phase), res.Count, res.Successful, res.Failed,
			res.Inconclusive, res.Error, lastMeasurements(res))
	}
	return nil
}

// lastMeasurements spells a metric's latest measurements, newest last:
// the value, or the message of one without.
func lastMeasurements(res *argov1.MetricResult) string {
	ms := res.Measurements
	if len(ms) > shownMeasurements {
		ms = ms[len(ms)-shownMeasurements:]
	}
	var parts []string
	for _, m := range ms {
		v := m.Value
		if v == "" {
			v = m.Message
		}
		if v == "" {
			v = string(m.Phase)
		}
		parts = append(parts, string(m.Phase)+": "+v)
	}
	if len(parts) == 0 {
		return cli.OrDash(res.Message)
	}
	return strings.Join(parts, "; ")
}

func newRunTerminateCmd(o *simpleOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "terminate NAME",
		Short: "End an AnalysisRun now (spec.terminate): a measurement in flight ends Inconclusive",
		Long: `Terminate an AnalysisRun as kubectl-argo-rollouts terminate analysisrun does:
spec.terminate is set, the agent stops measuring, deletes a Job in flight, and
ends the run with what it has measured ("Run Terminated").`,
		Args: cobra.ExactArgs(1),
		RunE: cli.RunE(&runTerminate{o}),
	}
}

type runTerminate struct{ *simpleOptions }

func (o *runTerminate) Run(ctx context.Context) error {
	return terminate(ctx, &o.Common, "analysisrun", o.Name, func() (*argov1.AnalysisRun, error) { return getRun(ctx, &o.Common, o.Name) },
		func(r *argov1.AnalysisRun) *bool { return &r.Spec.Terminate })
}

// terminate sets spec.terminate on the object get reads (field points at
// it), retrying on conflicts, and says so.
func terminate[T client.Object](ctx context.Context, c *cli.Common, kind, name string, get func() (T, error), field func(T) *bool) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		obj, err := get()
		if err != nil {
			return err
		}
		if *field(obj) {
			return nil
		}
		patch := client.MergeFromWithOptions(obj.DeepCopyObject().(client.Object), client.MergeFromWithOptimisticLock{})
		*field(obj) = true
		return c.Clients.Client.Patch(ctx, obj, patch)
	})
	if err != nil {
		if explained := (*cli.Error)(nil); errors.As(err, &explained) {
			return err
		}
		return c.Explain(fmt.Errorf("terminating %s %s: %w", kind, c.Ref(name), err), forbidden)
	}
	fmt.Fprintf(c.Out, "%s.argolite.dev/%s terminated\n", kind, name)
	return nil
}

// getRun reads the AnalysisRun name.
func getRun(ctx context.Context, c *cli.Common, name string) (*argov1.AnalysisRun, error) {
	r := &argov1.AnalysisRun{}
	if err := c.Clients.Client.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: name}, r); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, c.NotFound("analysisrun", name, "list them with kubectl argo rollout analysisrun list (-A for every namespace), or pick the namespace with -n", err)
		}
		return nil, c.Explain(fmt.Errorf("reading analysisrun %s: %w", c.Ref(name), err), forbidden)
	}
	return r, nil
}
