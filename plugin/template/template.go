// Package template owns `kubectl argo template`: listing, showing, creating,
// deleting and linting WorkflowTemplates and (with --cluster)
// ClusterWorkflowTemplates, the reusable workflow specs that workflows run
// with workflowTemplateRef or call with templateRef.
//
// Its options embed cli.Common and print through package cli; file reading
// and the validator adapter are package wf's.
package template

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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/plugin/wf"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// Resources are how kubectl names the two kinds.
var (
	Resource        = "workflowtemplate." + argov1.GroupVersion.Group
	ClusterResource = "clusterworkflowtemplate." + argov1.GroupVersion.Group
)

// NewCmd returns `template` with its subcommands.
func NewCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmd(flags, streams, nil)
}

func newCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, setup func(*cli.Common)) *cobra.Command {
	common := cli.Each(func() cli.Common { return cli.NewCommon(flags, streams) }, setup)
	cmd := &cobra.Command{
		Use:     "template",
		Aliases: []string{"templates", "tmpl", "wftmpl", "workflowtemplate", "workflowtemplates"},
		Short:   "Manage WorkflowTemplates and ClusterWorkflowTemplates: reusable workflow specs",
		Long: `Manage WorkflowTemplates (in a namespace) and, with --cluster,
ClusterWorkflowTemplates (for every namespace): workflow specs that workflows
run whole (spec.workflowTemplateRef, or kubectl argo wf submit --from) or call
template by template (templateRef).

template create -f accepts Argo's argoproj.io/v1alpha1 files, validated with
the validator the agent uses before anything is created.`,
		Example: `  kubectl argo template create -f ci-template.yaml
  kubectl argo template list
  kubectl argo wf submit --from workflowtemplate/ci -p branch=main

  kubectl argo template create -f backup.yaml      # a ClusterWorkflowTemplate
  kubectl argo template list --cluster`,
	}
	lint := wf.NewLintOptions(common(), wf.LintTemplates)
	cmd.AddCommand(
		newListCmd(&listOptions{Common: common(), PrintFlags: genericclioptions.NewPrintFlags("")}),
		newGetCmd(&getOptions{Common: common(), PrintFlags: genericclioptions.NewPrintFlags("")}),
		newCreateCmd(&createOptions{Common: common()}),
		newDeleteCmd(&deleteOptions{Common: common()}),
		newLintCmd(lint),
	)
	return cmd
}

// kind names the kind --cluster selects.
func kind(cluster bool) string {
	if cluster {
		return wf.KindClusterWorkflowTemplate
	}
	return wf.KindWorkflowTemplate
}

func resource(cluster bool) string {
	if cluster {
		return ClusterResource
	}
	return Resource
}

func plural(cluster bool) string {
	if cluster {
		return "clusterworkflowtemplates"
	}
	return "workflowtemplates"
}

// item is a template of either kind.
type item struct {
	obj  client.Object
	spec *argov1.WorkflowSpec
}

// list lists the templates of the namespace (or all, or the cluster's).
func list(ctx context.Context, c *cli.Common, cluster, all bool) ([]item, client.ObjectList, error) {
	var items []item
	var objList client.ObjectList
	var err error
	if cluster {
		l := &argov1.ClusterWorkflowTemplateList{}
		err = c.Clients.Client.List(ctx, l)
		for i := range l.Items {
			items = append(items, item{obj: &l.Items[i], spec: &l.Items[i].Spec})
		}
		objList = l
	} else {
		l := &argov1.WorkflowTemplateList{}
		err = c.Clients.Client.List(ctx, l, c.ListScope(all)...)
		for i := range l.Items {
			items = append(items, item{obj: &l.Items[i], spec: &l.Items[i].Spec})
		}
		objList = l
	}
	if err != nil {
		return nil, nil, c.Explain(fmt.Errorf("listing %s: %w", plural(cluster), err), plural(cluster))
	}
	slices.SortFunc(items, func(a, b item) int {
		return cmp.Or(cmp.Compare(a.obj.GetNamespace(), b.obj.GetNamespace()), cmp.Compare(a.obj.GetName(), b.obj.GetName()))
	})
	return items, objList, nil
}

// get reads one template.
func get(ctx context.Context, c *cli.Common, name string, cluster bool) (item, error) {
	var it item
	key := client.ObjectKey{Namespace: c.Namespace, Name: name}
	if cluster {
		t := &argov1.ClusterWorkflowTemplate{}
		it, key.Namespace = item{obj: t, spec: &t.Spec}, ""
	} else {
		t := &argov1.WorkflowTemplate{}
		it = item{obj: t, spec: &t.Spec}
	}
	err := c.Clients.Client.Get(ctx, key, it.obj)
	if apierrors.IsNotFound(err) {
		where, fix := " in namespace "+c.Namespace, "list them with kubectl argo template list (-A for every namespace), or pick the namespace with -n"
		if cluster {
			where, fix = "", "list them with kubectl argo template list --cluster"
		}
		return it, &cli.Error{Problem: fmt.Sprintf("%s %q not found%s", kind(cluster), name, where), Fix: fix, Err: err}
	}
	if err != nil {
		return it, c.Explain(fmt.Errorf("reading %s %s: %w", kind(cluster), name, err), plural(cluster))
	}
	return it, nil
}

// completeNames completes template names.
func completeNames(c *cli.Common, cluster *bool, many bool) cobra.CompletionFunc {
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
		items, _, err := list(ctx, c, *cluster, false)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
		}
		var names []cobra.Completion
		for _, it := range items {
			if n := it.obj.GetName(); strings.HasPrefix(n, toComplete) && !slices.Contains(args, n) {
				names = append(names, n)
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

type listOptions struct {
	cli.Common
	PrintFlags    *genericclioptions.PrintFlags
	Cluster       bool
	AllNamespaces bool
}

func newListCmd(o *listOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List WorkflowTemplates (or ClusterWorkflowTemplates with --cluster)",
		Example: `  kubectl argo template list
  kubectl argo template list -A
  kubectl argo template list --cluster -o name`,
		Args: cobra.NoArgs,
		RunE: cli.RunE(o),
	}
	cmd.Flags().BoolVar(&o.Cluster, "cluster", false, "List ClusterWorkflowTemplates.")
	cmd.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "List the WorkflowTemplates of every namespace.")
	cli.AddPrintFlags(cmd, o.PrintFlags)
	return cmd
}

func (o *listOptions) Complete(*cobra.Command, []string) error { return o.Common.Complete() }

func (o *listOptions) Validate() error {
	if o.Cluster && o.AllNamespaces {
		return errors.New("--cluster lists ClusterWorkflowTemplates, which have no namespace: drop -A")
	}
	return cli.ValidateOutput(o.PrintFlags)
}

func (o *listOptions) Run(ctx context.Context) error {
	items, objList, err := list(ctx, &o.Common, o.Cluster, o.AllNamespaces)
	if err != nil {
		return err
	}
	p, err := cli.Printer(o.PrintFlags)
	if err != nil {
		return err
	}
	if p != nil {
		return cli.PrintList(p, o.PrintFlags, objList, kind(o.Cluster), o.Out)
	}
	if len(items) == 0 {
		o.NoneFound(kind(o.Cluster)+"s", o.Cluster || o.AllNamespaces)
		return nil
	}
	printTable(o.Out, items, o.AllNamespaces, o.Now())
	return nil
}

func printTable(out io.Writer, items []item, namespaces bool, now time.Time) {
	w := printers.GetNewTabWriter(out)
	defer w.Flush()
	header := "NAME\tENTRYPOINT\tTEMPLATES\tPARAMETERS\tAGE"
	if namespaces {
		header = "NAMESPACE\t" + header
	}
	fmt.Fprintln(w, header)
	for _, it := range items {
		var params []string
		for _, p := range it.spec.Arguments.Parameters {
			params = append(params, p.Name)
		}
		row := fmt.Sprintf("%s\t%s\t%d\t%s\t%s", it.obj.GetName(), cli.OrDash(it.spec.Entrypoint), len(it.spec.Templates),
			cli.OrDash(strings.Join(params, ",")), cli.Age(now, it.obj.GetCreationTimestamp()))
		if namespaces {
			row = it.obj.GetNamespace() + "\t" + row
		}
		fmt.Fprintln(w, row)
	}
}

type getOptions struct {
	cli.Common
	PrintFlags *genericclioptions.PrintFlags
	Name       string
	Cluster    bool
}

func newGetCmd(o *getOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a WorkflowTemplate: entrypoint, parameters and templates",
		Example: `  kubectl argo template get ci
  kubectl argo template get backup --cluster -o yaml`,
		Args:              cobra.ExactArgs(1),
		RunE:              cli.RunE(o),
		ValidArgsFunction: completeNames(&o.Common, &o.Cluster, false),
	}
	cmd.Flags().BoolVar(&o.Cluster, "cluster", false, "Show a ClusterWorkflowTemplate.")
	cli.AddPrintFlags(cmd, o.PrintFlags)
	return cmd
}

func (o *getOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	return o.Common.Complete()
}
func (o *getOptions) Validate() error { return cli.ValidateOutput(o.PrintFlags) }

func (o *getOptions) Run(ctx context.Context) error {
	it, err := get(ctx, &o.Common, o.Name, o.Cluster)
	if err != nil {
		return err
	}
	p, err := cli.Printer(o.PrintFlags)
	if err != nil {
		return err
	}
	if p != nil {
		it.obj.GetObjectKind().SetGroupVersionKind(argov1.GroupVersion.WithKind(kind(o.Cluster)))
		return p.PrintObj(it.obj, o.Out)
	}
	w := printers.GetNewTabWriter(o.Out)
	field := func(name, value string) { fmt.Fprintf(w, "%s\t%s\n", name, value) }
	field("Name:", it.obj.GetName())
	if o.Cluster {
		field("Kind:", wf.KindClusterWorkflowTemplate+" (every namespace)")
	} else {
		field("Namespace:", it.obj.GetNamespace())
	}
	field("Created:", cli.When(o.Now(), it.obj.GetCreationTimestamp()))
	field("Entrypoint:", cli.OrDash(it.spec.Entrypoint))
	if params := it.spec.Arguments.Parameters; len(params) > 0 {
		field("Parameters:", "")
		for _, p := range params {
			v := "(no default: pass it with -p " + p.Name + "=VALUE)"
			if p.Value != nil {
				v = p.Value.String()
			}
			field("  "+p.Name+":", v)
		}
	}
	field("Templates:", "")
	for _, t := range it.spec.Templates {
		field("  "+t.Name, templateType(&t))
	}
	_ = w.Flush()
	ref := "workflowtemplate/" + it.obj.GetName()
	if o.Cluster {
		ref = "clusterworkflowtemplate/" + it.obj.GetName()
	}
	fmt.Fprintf(o.Out, "\nRun it with kubectl argo wf submit --from %s%s\n", ref, o.NSFlag(it.obj.GetNamespace()))
	return nil
}

// templateType says what a template does.
func templateType(t *argov1.Template) string {
	switch {
	case t.Container != nil:
		return "container " + t.Container.Image
	case t.Script != nil:
		return "script " + t.Script.Image
	case t.ContainerSet != nil:
		return fmt.Sprintf("containerSet of %d", len(t.ContainerSet.Containers))
	case t.Resource != nil:
		return "resource " + t.Resource.Action
	case t.Steps != nil:
		return fmt.Sprintf("steps (%d groups)", len(t.Steps))
	case t.DAG != nil:
		return fmt.Sprintf("dag (%d tasks)", len(t.DAG.Tasks))
	case t.Suspend != nil:
		return "suspend"
	}
	return "-"
}

type createOptions struct {
	cli.Common
	Filenames []string
}

func newCreateCmd(o *createOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "create -f FILE...",
		Short: "Validate and create WorkflowTemplates and ClusterWorkflowTemplates from files",
		Long: `Create the WorkflowTemplates and ClusterWorkflowTemplates in files (directories
of .yaml, .yml and .json files, or - for stdin), argolite's or Argo's
(argoproj.io/v1alpha1, which is mapped). Every template is validated first:
when any has an error, all errors are printed and nothing is created.
templateRefs between the given files resolve against each other.`,
		Example: `  kubectl argo template create -f ci-template.yaml
  kubectl argo template create -f templates/`,
		Args: cobra.NoArgs,
		RunE: cli.RunE(o),
	}
	cli.AddFilenameFlag(cmd, &o.Filenames, "Files or directories holding WorkflowTemplates or ClusterWorkflowTemplates (- for stdin).")
	return cmd
}

func (o *createOptions) Complete(*cobra.Command, []string) error { return o.Common.Complete() }

func (o *createOptions) Validate() error {
	if len(o.Filenames) == 0 {
		return errors.New("-f FILE is required: the file holding the WorkflowTemplates")
	}
	return nil
}

func (o *createOptions) Run(ctx context.Context) error {
	docs, problems, err := wf.ReadDocuments(o.Filenames, o.In)
	if err != nil {
		return err
	}
	local := map[string]*argov1.WorkflowSpec{}
	var templates []wf.Document
	for _, d := range docs {
		switch t := d.Object.(type) {
		case *argov1.WorkflowTemplate:
			if p := wf.InNamespace(&o.Common, t, d.File); p != "" {
				problems = append(problems, p)
			}
			local[wf.KindWorkflowTemplate+"/"+t.Name] = &t.Spec
			templates = append(templates, d)
		case *argov1.ClusterWorkflowTemplate:
			t.Namespace = ""
			local[wf.KindClusterWorkflowTemplate+"/"+t.Name] = &t.Spec
			templates = append(templates, d)
		default:
			problems = append(problems, fmt.Sprintf("%s: %s %s: template create creates WorkflowTemplates and ClusterWorkflowTemplates: %s",
				d.File, d.Kind, d.Name, wf.HowToCreate(d.Kind, d.Source)))
		}
	}
	cluster := (&wf.Common{Common: o.Common}).ClusterLookup(ctx)
	lookup := func(name string, isCluster bool) (*argov1.WorkflowSpec, error) {
		if spec := local[kind(isCluster)+"/"+name]; spec != nil {
			return spec, nil
		}
		return cluster(name, isCluster)
	}
	for _, d := range templates {
		problems = append(problems, wf.Validate(d, wf.ValidateOptions{TemplateLookup: lookup})...)
	}
	if len(problems) > 0 {
		return wf.Invalid(problems, "nothing was created (fix them and create again)")
	}
	if len(templates) == 0 {
		return fmt.Errorf("no WorkflowTemplate in %s", strings.Join(o.Filenames, ", "))
	}
	for _, d := range templates {
		if err := o.create(ctx, d.Object); err != nil {
			return err
		}
	}
	return nil
}

func (o *createOptions) create(ctx context.Context, obj client.Object) error {
	_, cluster := obj.(*argov1.ClusterWorkflowTemplate)
	ref := obj.GetName()
	if !cluster {
		ref = obj.GetNamespace() + "/" + ref
	}
	err := o.Clients.Client.Create(ctx, obj, client.FieldValidation(metav1.FieldValidationStrict))
	switch {
	case err == nil:
		fmt.Fprintf(o.Out, "%s/%s created\n", resource(cluster), obj.GetName())
		return nil
	case apierrors.IsAlreadyExists(err):
		del := "kubectl argo template delete " + obj.GetName()
		if cluster {
			del += " --cluster"
		}
		return &cli.Error{Problem: fmt.Sprintf("%s %s already exists", kind(cluster), ref),
			Fix: "delete it first with " + del + ", or replace it with kubectl apply -f", Err: err}
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return cli.Rejected(kind(cluster)+" "+ref, err)
	}
	return o.Explain(fmt.Errorf("creating %s %s: %w", kind(cluster), ref, err), plural(cluster))
}

type deleteOptions struct {
	cli.Common
	Names   []string
	Cluster bool
	All     bool
}

func newDeleteCmd(o *deleteOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete (NAME... | --all)",
		Short: "Delete WorkflowTemplates (or ClusterWorkflowTemplates with --cluster)",
		Long: `Delete templates. Workflows that run them keep running: the agent stored the
spec it resolved when they started.`,
		Example: `  kubectl argo template delete ci
  kubectl argo template delete backup --cluster`,
		RunE:              cli.RunE(o),
		ValidArgsFunction: completeNames(&o.Common, &o.Cluster, true),
	}
	cmd.Flags().BoolVar(&o.Cluster, "cluster", false, "Delete ClusterWorkflowTemplates.")
	cmd.Flags().BoolVar(&o.All, "all", false, "Delete every template of the namespace (or of the cluster, with --cluster).")
	return cmd
}

func (o *deleteOptions) Complete(_ *cobra.Command, args []string) error {
	o.Names = args
	return o.Common.Complete()
}

func (o *deleteOptions) Validate() error {
	switch {
	case len(o.Names) == 0 && !o.All:
		return errors.New("name the templates to delete, or pass --all")
	case len(o.Names) > 0 && o.All:
		return errors.New("NAMEs cannot be combined with --all")
	}
	return nil
}

func (o *deleteOptions) Run(ctx context.Context) error {
	names := o.Names
	if o.All {
		items, _, err := list(ctx, &o.Common, o.Cluster, false)
		if err != nil {
			return err
		}
		for _, it := range items {
			names = append(names, it.obj.GetName())
		}
		if len(names) == 0 {
			fmt.Fprintln(o.ErrOut, "No templates to delete.")
			return nil
		}
	}
	for _, name := range names {
		var obj client.Object = &argov1.WorkflowTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: o.Namespace, Name: name}}
		if o.Cluster {
			obj = &argov1.ClusterWorkflowTemplate{ObjectMeta: metav1.ObjectMeta{Name: name}}
		}
		err := o.Clients.Client.Delete(ctx, obj)
		if apierrors.IsNotFound(err) {
			if _, gerr := get(ctx, &o.Common, name, o.Cluster); gerr != nil {
				return gerr
			}
			return err
		}
		if err != nil {
			return o.Explain(fmt.Errorf("deleting %s %s: %w", kind(o.Cluster), name, err), plural(o.Cluster))
		}
		fmt.Fprintf(o.Out, "%s/%s deleted\n", resource(o.Cluster), name)
	}
	return nil
}

func newLintCmd(o *wf.LintOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lint (FILE | DIR)...",
		Short: "Validate WorkflowTemplate files without creating them (no cluster needed)",
		Long: `Validate the WorkflowTemplates and ClusterWorkflowTemplates in files and
directories, as kubectl argo wf lint does (see its help): every error with its
file, path and reason, exit code 1 when there is any. templateRefs resolve
against the linted files, then the cluster unless --offline.`,
		Example: `  kubectl argo template lint templates/ --offline`,
		Args:    cobra.MinimumNArgs(1),
		RunE:    cli.RunE(o),
	}
	o.AddFlags(cmd)
	return cmd
}
