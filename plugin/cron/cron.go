// Package cron owns `kubectl argo cron`: listing, showing, creating,
// deleting, suspending, resuming, triggering and linting CronWorkflows,
// which the agent turns into Workflows on their schedules.
//
// Its options embed cli.Common and print through package cli. What they do
// with workflows is package wf's: file reading and the validator adapter for
// create and lint, the table of a CronWorkflow's workflows in get, and
// trigger makes its workflow as `wf submit --from cronworkflow/NAME` does
// (wf.FromCronWorkflow) and follows it as wf does.
package cron

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/plugin/wf"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/wfnames"
	"github.com/argolite/argolite/shared/wfvalidate"
)

// Resource is how kubectl names CronWorkflows.
var Resource = "cronworkflow." + argov1.GroupVersion.Group

// NextRun is when a schedule runs next after from, in timezone tz (""
// for UTC, as the agent reads it); ok is false when it does not parse.
var NextRun = func(schedule, tz string, from time.Time) (next time.Time, ok bool) {
	scheds, err := wfvalidate.Schedules(&argov1.CronWorkflowSpec{Schedule: schedule, Timezone: tz})
	if err != nil || len(scheds) == 0 {
		return time.Time{}, false
	}
	next = scheds[0].Next(from)
	return next, !next.IsZero()
}

// NewCmd returns `cron` with its subcommands.
func NewCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmd(flags, streams, nil)
}

func newCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, setup func(*cli.Common)) *cobra.Command {
	common := cli.Each(func() cli.Common { return cli.NewCommon(flags, streams) }, setup)
	cmd := &cobra.Command{
		Use:     "cron",
		Aliases: []string{"cronwf", "cronworkflow", "cronworkflows", "cwf"},
		Short:   "Run workflows on a schedule: manage CronWorkflows",
		Long: `Manage CronWorkflows: workflow specs the agent submits on cron schedules
(spec.schedules, in spec.timezone), with Argo's concurrency policies and history
limits. cron create -f accepts Argo's argoproj.io/v1alpha1 files.

trigger runs one now, as a schedule would; suspend stops scheduling until
resume.`,
		Example: `  kubectl argo cron create -f nightly.yaml
  kubectl argo cron list
  kubectl argo cron trigger nightly --wait
  kubectl argo cron suspend nightly`,
	}
	cmd.AddCommand(
		newListCmd(&listOptions{Common: common(), PrintFlags: genericclioptions.NewPrintFlags("")}),
		newGetCmd(&getOptions{Common: common(), PrintFlags: genericclioptions.NewPrintFlags("")}),
		newCreateCmd(&createOptions{Common: common()}),
		newDeleteCmd(&deleteOptions{Common: common()}),
		newSuspendCmd(&suspendOptions{Common: common(), suspend: true}),
		newSuspendCmd(&suspendOptions{Common: common(), suspend: false}),
		newTriggerCmd(&triggerOptions{Common: common()}),
		newLintCmd(wf.NewLintOptions(common(), wf.LintCron)),
	)
	return cmd
}

const forbidden = "cronworkflows"

// workflows is c as the workflow commands see it, for what cron does with
// workflows: looking up templates, creating, following and listing them.
func workflows(c *cli.Common) *wf.Common { return &wf.Common{Common: *c} }

// getCron reads the CronWorkflow name.
func getCron(ctx context.Context, c *cli.Common, name string) (*argov1.CronWorkflow, error) {
	cron := &argov1.CronWorkflow{}
	err := c.Clients.Client.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: name}, cron)
	if apierrors.IsNotFound(err) {
		return nil, notFound(c, name, err)
	}
	if err != nil {
		return nil, c.Explain(fmt.Errorf("reading cron workflow %s: %w", c.Ref(name), err), forbidden)
	}
	return cron, nil
}

func notFound(c *cli.Common, name string, err error) error {
	return c.NotFound("cron workflow", name,
		"list them with kubectl argo cron list (-A for every namespace), or pick the namespace with -n", err)
}

func listCrons(ctx context.Context, c *cli.Common, all bool) (*argov1.CronWorkflowList, error) {
	list := &argov1.CronWorkflowList{}
	if err := c.Clients.Client.List(ctx, list, c.ListScope(all)...); err != nil {
		return nil, c.Explain(fmt.Errorf("listing cron workflows: %w", err), forbidden)
	}
	slices.SortFunc(list.Items, func(a, b argov1.CronWorkflow) int {
		if a.Namespace != b.Namespace {
			return strings.Compare(a.Namespace, b.Namespace)
		}
		return strings.Compare(a.Name, b.Name)
	})
	return list, nil
}

func completeNames(c *cli.Common, many bool, keep func(*argov1.CronWorkflow) bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if !many && len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		if err := c.Complete(); err != nil {
			return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
		}
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		list, err := listCrons(ctx, c, false)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
		}
		var names []cobra.Completion
		for i := range list.Items {
			cron := &list.Items[i]
			if strings.HasPrefix(cron.Name, toComplete) && !slices.Contains(args, cron.Name) && (keep == nil || keep(cron)) {
				names = append(names, cobra.CompletionWithDesc(cron.Name, strings.Join(schedules(cron), ", ")))
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// schedules are a CronWorkflow's schedules, schedule first.
func schedules(c *argov1.CronWorkflow) []string {
	var s []string
	if c.Spec.Schedule != "" {
		s = append(s, c.Spec.Schedule)
	}
	return append(s, c.Spec.Schedules...)
}

// nextRun is the soonest next run of any schedule; none while suspended.
func nextRun(c *argov1.CronWorkflow, now time.Time) (time.Time, bool) {
	var best time.Time
	found := false
	if c.Spec.Suspend {
		return best, false
	}
	for _, s := range schedules(c) {
		if t, ok := NextRun(s, c.Spec.Timezone, now); ok && (!found || t.Before(best)) {
			best, found = t, true
		}
	}
	return best, found
}

type listOptions struct {
	cli.Common
	PrintFlags    *genericclioptions.PrintFlags
	AllNamespaces bool
}

func newListCmd(o *listOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List CronWorkflows with their schedules and last run",
		Example: `  kubectl argo cron list
  kubectl argo cron list -A -o name`,
		Args: cobra.NoArgs,
		RunE: cli.RunE(o),
	}
	cmd.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "List the CronWorkflows of every namespace.")
	cli.AddPrintFlags(cmd, o.PrintFlags)
	return cmd
}

func (o *listOptions) Complete(*cobra.Command, []string) error { return o.Common.Complete() }
func (o *listOptions) Validate() error                         { return cli.ValidateOutput(o.PrintFlags) }

func (o *listOptions) Run(ctx context.Context) error {
	list, err := listCrons(ctx, &o.Common, o.AllNamespaces)
	if err != nil {
		return err
	}
	p, err := cli.Printer(o.PrintFlags)
	if err != nil {
		return err
	}
	if p != nil {
		return cli.PrintList(p, o.PrintFlags, list, wf.KindCronWorkflow, o.Out)
	}
	if len(list.Items) == 0 {
		o.NoneFound("cron workflows", o.AllNamespaces)
		return nil
	}
	printTable(o.Out, list.Items, o.AllNamespaces, o.Now())
	return nil
}

func printTable(out io.Writer, items []argov1.CronWorkflow, namespaces bool, now time.Time) {
	w := printers.GetNewTabWriter(out)
	defer w.Flush()
	header := "NAME\tAGE\tLAST-RUN\tNEXT-RUN\tSCHEDULE\tTIMEZONE\tSUSPENDED"
	if namespaces {
		header = "NAMESPACE\t" + header
	}
	fmt.Fprintln(w, header)
	for i := range items {
		c := &items[i]
		last := "-"
		if t := c.Status.LastScheduledTime; t != nil {
			last = cli.Age(now, *t)
		}
		next := "-"
		if t, ok := nextRun(c, now); ok {
			next = "in " + cli.Age(t, metav1.NewTime(now))
		}
		tz := c.Spec.Timezone
		if tz == "" {
			tz = "-"
		}
		row := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", c.Name, cli.Age(now, c.CreationTimestamp), last, next,
			strings.Join(schedules(c), ","), tz, strconv.FormatBool(c.Spec.Suspend))
		if namespaces {
			row = c.Namespace + "\t" + row
		}
		fmt.Fprintln(w, row)
	}
}

type getOptions struct {
	cli.Common
	PrintFlags *genericclioptions.PrintFlags
	Name       string
}

func newGetCmd(o *getOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a CronWorkflow: schedules, policies, last run and its workflows",
		Example: `  kubectl argo cron get nightly
  kubectl argo cron get nightly -o yaml`,
		Args:              cobra.ExactArgs(1),
		RunE:              cli.RunE(o),
		ValidArgsFunction: completeNames(&o.Common, false, nil),
	}
	cli.AddPrintFlags(cmd, o.PrintFlags)
	return cmd
}

func (o *getOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	return o.Common.Complete()
}
func (o *getOptions) Validate() error { return cli.ValidateOutput(o.PrintFlags) }

func (o *getOptions) Run(ctx context.Context) error {
	cron, err := getCron(ctx, &o.Common, o.Name)
	if err != nil {
		return err
	}
	p, err := cli.Printer(o.PrintFlags)
	if err != nil {
		return err
	}
	if p != nil {
		cron.SetGroupVersionKind(argov1.GroupVersion.WithKind(wf.KindCronWorkflow))
		return p.PrintObj(cron, o.Out)
	}
	now := o.Now()
	w := printers.GetNewTabWriter(o.Out)
	field := func(name, value string) { fmt.Fprintf(w, "%s\t%s\n", name, value) }
	field("Name:", cron.Name)
	field("Namespace:", cron.Namespace)
	field("Created:", cli.When(now, cron.CreationTimestamp))
	field("Schedules:", strings.Join(schedules(cron), ", "))
	if cron.Spec.Timezone != "" {
		field("Timezone:", cron.Spec.Timezone)
	}
	field("Suspended:", strconv.FormatBool(cron.Spec.Suspend))
	policy := string(cron.Spec.ConcurrencyPolicy)
	if policy == "" {
		policy = string(argov1.AllowConcurrent)
	}
	field("ConcurrencyPolicy:", policy)
	if s := cron.Spec.StartingDeadlineSeconds; s != nil {
		field("StartingDeadlineSeconds:", strconv.FormatInt(*s, 10))
	}
	if t := cron.Status.LastScheduledTime; t != nil {
		field("LastScheduledTime:", cli.When(now, *t))
	}
	if t, ok := nextRun(cron, now); ok {
		field("NextScheduledTime:", t.UTC().Format("2006-01-02 15:04:05 MST"))
	}
	if cron.Status.Succeeded > 0 || cron.Status.Failed > 0 {
		field("Runs:", fmt.Sprintf("%d succeeded, %d failed", cron.Status.Succeeded, cron.Status.Failed))
	}
	for _, c := range cron.Status.Conditions {
		line := c.Type + "=" + string(c.Status)
		if c.Message != "" {
			line += ": " + c.Message
		}
		field("Condition:", line)
	}
	_ = w.Flush()
	if wfs, err := workflows(&o.Common).ListWorkflows(ctx, client.InNamespace(cron.Namespace), client.MatchingLabels{wfnames.LabelCronWorkflow: cron.Name}); err == nil && len(wfs.Items) > 0 {
		wf.SortWorkflows(wfs.Items)
		fmt.Fprintln(o.Out)
		wf.PrintWorkflowTable(o.Out, wfs.Items, false, false, now)
	}
	return nil
}

type createOptions struct {
	cli.Common
	Filenames []string
}

func newCreateCmd(o *createOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "create -f FILE...",
		Short: "Validate and create CronWorkflows from files (Argo's too)",
		Long: `Create the CronWorkflows in files (directories of .yaml, .yml and .json files,
or - for stdin), argolite's or Argo's (argoproj.io/v1alpha1, which is mapped).
Every one is validated first, its workflowSpec as a workflow submitted without
parameters: when any has an error, all errors are printed and nothing is
created.`,
		Example: `  kubectl argo cron create -f nightly.yaml`,
		Args:    cobra.NoArgs,
		RunE:    cli.RunE(o),
	}
	cli.AddFilenameFlag(cmd, &o.Filenames, "Files or directories holding CronWorkflows (- for stdin).")
	return cmd
}

func (o *createOptions) Complete(*cobra.Command, []string) error { return o.Common.Complete() }

func (o *createOptions) Validate() error {
	if len(o.Filenames) == 0 {
		return errors.New("-f FILE is required: the file holding the CronWorkflows")
	}
	return nil
}

func (o *createOptions) Run(ctx context.Context) error {
	docs, problems, err := wf.ReadDocuments(o.Filenames, o.In)
	if err != nil {
		return err
	}
	lookup := workflows(&o.Common).ClusterLookup(ctx)
	var crons []*argov1.CronWorkflow
	for _, d := range docs {
		cron, ok := d.Object.(*argov1.CronWorkflow)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: %s %s: cron create creates CronWorkflows: %s", d.File, d.Kind, d.Name,
				wf.HowToCreate(d.Kind, d.Source)))
			continue
		}
		if p := wf.InNamespace(&o.Common, cron, d.File); p != "" {
			problems = append(problems, p)
		}
		problems = append(problems, wf.Validate(d, wf.ValidateOptions{TemplateLookup: lookup})...)
		crons = append(crons, cron)
	}
	if len(problems) > 0 {
		return wf.Invalid(problems, "nothing was created (fix them and create again)")
	}
	if len(crons) == 0 {
		return fmt.Errorf("no CronWorkflow in %s", strings.Join(o.Filenames, ", "))
	}
	for _, cron := range crons {
		err := o.Clients.Client.Create(ctx, cron, client.FieldValidation(metav1.FieldValidationStrict))
		ref := cron.Namespace + "/" + cron.Name
		switch {
		case apierrors.IsAlreadyExists(err):
			return &cli.Error{Problem: fmt.Sprintf("cron workflow %s already exists", ref),
				Fix: "delete it first with kubectl argo cron delete " + cron.Name + ", or replace it with kubectl apply -f", Err: err}
		case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
			return cli.Rejected("cron workflow "+ref, err)
		case err != nil:
			return o.Explain(fmt.Errorf("creating cron workflow %s: %w", ref, err), forbidden)
		}
		fmt.Fprintf(o.Out, "%s/%s created\n", Resource, cron.Name)
	}
	return nil
}

type deleteOptions struct {
	cli.Common
	Names []string
	All   bool
}

func newDeleteCmd(o *deleteOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete (NAME... | --all)",
		Short: "Delete CronWorkflows and the workflows they started",
		Long: `Delete CronWorkflows. The workflows they started are owned by them and are
deleted with them, as in Argo.`,
		Example:           `  kubectl argo cron delete nightly`,
		RunE:              cli.RunE(o),
		ValidArgsFunction: completeNames(&o.Common, true, nil),
	}
	cmd.Flags().BoolVar(&o.All, "all", false, "Delete every CronWorkflow of the namespace.")
	return cmd
}

func (o *deleteOptions) Complete(_ *cobra.Command, args []string) error {
	o.Names = args
	return o.Common.Complete()
}

func (o *deleteOptions) Validate() error {
	switch {
	case len(o.Names) == 0 && !o.All:
		return errors.New("name the cron workflows to delete, or pass --all")
	case len(o.Names) > 0 && o.All:
		return errors.New("NAMEs cannot be combined with --all")
	}
	return nil
}

func (o *deleteOptions) Run(ctx context.Context) error {
	names := o.Names
	if o.All {
		list, err := listCrons(ctx, &o.Common, false)
		if err != nil {
			return err
		}
		for _, c := range list.Items {
			names = append(names, c.Name)
		}
		if len(names) == 0 {
			fmt.Fprintln(o.ErrOut, "No cron workflows to delete.")
			return nil
		}
	}
	for _, name := range names {
		cron := &argov1.CronWorkflow{ObjectMeta: metav1.ObjectMeta{Namespace: o.Namespace, Name: name}}
		err := o.Clients.Client.Delete(ctx, cron, client.PropagationPolicy(metav1.DeletePropagationBackground))
		switch {
		case apierrors.IsNotFound(err):
			return notFound(&o.Common, name, err)
		case err != nil:
			return o.Explain(fmt.Errorf("deleting cron workflow %s: %w", o.Ref(name), err), forbidden)
		}
		fmt.Fprintf(o.Out, "%s/%s deleted\n", Resource, name)
	}
	return nil
}

type suspendOptions struct {
	cli.Common
	Names   []string
	suspend bool
}

func newSuspendCmd(o *suspendOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "suspend NAME...",
		Short:   "Stop scheduling CronWorkflows until they are resumed",
		Long:    `Suspend CronWorkflows (spec.suspend: true): the agent starts no workflow on their schedules until kubectl argo cron resume; workflows already running go on.`,
		Example: `  kubectl argo cron suspend nightly`,
		ValidArgsFunction: completeNames(&o.Common, true, func(c *argov1.CronWorkflow) bool {
			return !c.Spec.Suspend
		}),
	}
	if !o.suspend {
		cmd.Use, cmd.Short = "resume NAME...", "Schedule suspended CronWorkflows again"
		cmd.Long = `Resume CronWorkflows (spec.suspend: false): the agent starts workflows on their schedules again. Runs missed while suspended are not made up, unless within startingDeadlineSeconds.`
		cmd.Example = `  kubectl argo cron resume nightly`
		cmd.ValidArgsFunction = completeNames(&o.Common, true, func(c *argov1.CronWorkflow) bool { return c.Spec.Suspend })
	}
	cmd.Args = cobra.MinimumNArgs(1)
	cmd.RunE = cli.RunE(o)
	return cmd
}

func (o *suspendOptions) Complete(_ *cobra.Command, args []string) error {
	o.Names = args
	return o.Common.Complete()
}
func (o *suspendOptions) Validate() error { return nil }

func (o *suspendOptions) Run(ctx context.Context) error {
	verb := map[bool]string{true: "suspended", false: "resumed"}[o.suspend]
	for _, name := range o.Names {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cron, err := getCron(ctx, &o.Common, name)
			if err != nil {
				return err
			}
			if cron.Spec.Suspend == o.suspend {
				return nil
			}
			before := cron.DeepCopy()
			cron.Spec.Suspend = o.suspend
			return o.Clients.Client.Patch(ctx, cron, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
		})
		var explained *cli.Error
		if err != nil && !errors.As(err, &explained) {
			return o.Explain(fmt.Errorf("updating cron workflow %s: %w", o.Ref(name), err), forbidden)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "%s/%s %s\n", Resource, name, verb)
	}
	return nil
}

type triggerOptions struct {
	cli.Common
	Name    string
	Wait    bool
	Watch   bool
	Timeout time.Duration
}

func newTriggerCmd(o *triggerOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trigger NAME",
		Short: "Run a CronWorkflow's workflow now",
		Long: `Create a workflow from the CronWorkflow now, as its schedule would (Argo's
argo cron create-workflow): its workflowSpec and workflowMetadata, the label
` + wfnames.LabelCronWorkflow + `, the annotation
` + wfnames.AnnotationScheduledTime + ` set to now, and the CronWorkflow as
its owner. It runs even when the CronWorkflow is suspended.`,
		Example: `  kubectl argo cron trigger nightly
  kubectl argo cron trigger nightly --wait`,
		Args:              cobra.ExactArgs(1),
		RunE:              cli.RunE(o),
		ValidArgsFunction: completeNames(&o.Common, false, nil),
	}
	cmd.Flags().BoolVar(&o.Wait, "wait", false, "Wait until the workflow ends; exit non-zero when it does not succeed.")
	cmd.Flags().BoolVarP(&o.Watch, "watch", "w", false, "Show the workflow's tree of steps until it ends.")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 0, "With --wait or --watch: how long to wait (default: until the workflow ends).")
	return cmd
}

func (o *triggerOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	return o.Common.Complete()
}

func (o *triggerOptions) Validate() error {
	if o.Timeout != 0 {
		return cli.ValidateTimeout("timeout", o.Timeout)
	}
	return nil
}

func (o *triggerOptions) Run(ctx context.Context) error {
	cron, err := getCron(ctx, &o.Common, o.Name)
	if err != nil {
		return err
	}
	run := wf.FromCronWorkflow(cron, o.Now())
	w := workflows(&o.Common)
	if err := w.CreateWorkflow(ctx, run); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "%s/%s submitted (from cron workflow %s)\n", wf.Resource, run.Name, cron.Name)
	return w.Follow(ctx, []string{run.Name}, o.Wait, o.Watch, o.Timeout)
}

func newLintCmd(o *wf.LintOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lint (FILE | DIR)...",
		Short: "Validate CronWorkflow files without creating them (no cluster needed)",
		Long: `Validate the CronWorkflows in files and directories, as kubectl argo wf lint
does (see its help): schedules, timezone, policies and the workflowSpec, every
error with its file, path and reason; exit code 1 when there is any.`,
		Example: `  kubectl argo cron lint nightly.yaml`,
		Args:    cobra.MinimumNArgs(1),
		RunE:    cli.RunE(o),
	}
	o.AddFlags(cmd)
	return cmd
}
