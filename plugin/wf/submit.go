package wf

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/wfnames"
)

// Labels of workflows created from templates and resubmitted ones. Those of
// cron workflows are Argo's, in shared/wfnames, so that the agent's history
// limits and tools written for Argo recognise them.
const (
	LabelWorkflowTemplate        = argov1.Prefix + "workflow-template"
	LabelClusterWorkflowTemplate = argov1.Prefix + "cluster-workflow-template"
	LabelResubmittedFrom         = argov1.Prefix + "resubmitted-from"
)

// SubmitOptions are the flags and state of `kubectl argo wf submit`.
type SubmitOptions struct {
	Common
	PrintFlags *genericclioptions.PrintFlags

	Files          []string
	Parameters     []string
	ParameterFile  string
	From           string
	GenerateName   string
	Name           string
	Entrypoint     string
	ServiceAccount string
	Labels         string
	Watch          bool
	Wait           bool
	Log            bool
	Timeout        time.Duration

	params   map[string]string
	labels   map[string]string
	fromKind string
	fromName string
}

// NewSubmitOptions returns options with default flags.
func NewSubmitOptions(c Common) *SubmitOptions {
	flags := genericclioptions.NewPrintFlags("submitted")
	flags.OutputFormat = ptr.To("")
	return &SubmitOptions{Common: c, PrintFlags: flags}
}

func newSubmitCmd(o *SubmitOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "submit (FILE... | --from KIND/NAME)",
		Short: "Validate and submit Workflows from files (Argo's too) or from a template",
		Long: `Submit the Workflows in FILEs (or - for stdin), or one made from a
WorkflowTemplate, ClusterWorkflowTemplate or CronWorkflow in the cluster (--from).

Files may be argolite's (argolite.dev/v1alpha1) or Argo's (argoproj.io/v1alpha1,
which is mapped). Every workflow is validated first, with the validator the
agent uses: when any has an error, all errors are printed with file, path and
reason, and nothing is created.

-p NAME=VALUE sets a workflow parameter (spec.arguments.parameters, or those of
the template --from names); a name the workflow does not declare is an error.
--parameter-file reads NAME: VALUE pairs from a YAML or JSON file; -p wins.

--wait waits until the workflows end, with a progress line; --watch shows the
workflow's tree of steps while it runs (redrawn in place on a terminal, as
appended lines otherwise); --log streams the steps' logs as kubectl argo wf
logs -f does. With any of them the exit code is non-zero when a workflow does
not succeed, and its message is printed.`,
		Example: `  # Argo's own examples work as they are
  kubectl argo wf submit hello-world.yaml --watch

  # Parameters, and wait for the result in CI
  kubectl argo wf submit build.yaml -p revision=$GIT_SHA -p image=registry/app --wait --log

  # From a WorkflowTemplate, a ClusterWorkflowTemplate or a CronWorkflow in the cluster
  kubectl argo wf submit --from workflowtemplate/ci -p branch=main
  kubectl argo wf submit --from clusterworkflowtemplate/backup
  kubectl argo wf submit --from cronworkflow/nightly --wait

  # The name of the created workflow, for scripts
  NAME=$(kubectl argo wf submit build.yaml -o name)`,
		RunE: cli.RunE(o),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return []cobra.Completion{"yaml", "yml", "json"}, cobra.ShellCompDirectiveFilterFileExt
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.Parameters, "parameter", "p", nil, "Workflow parameter NAME=VALUE (repeatable).")
	f.StringVar(&o.ParameterFile, "parameter-file", "", "YAML or JSON file of parameter NAME: VALUE pairs.")
	f.StringVar(&o.From, "from", "", "Submit from workflowtemplate/NAME, clusterworkflowtemplate/NAME or cronworkflow/NAME in the cluster.")
	f.StringVar(&o.GenerateName, "generate-name", "", "Name prefix of the workflow: the API server appends a random suffix.")
	f.StringVar(&o.Name, "name", "", "Name of the workflow (instead of the file's name or generateName).")
	f.StringVar(&o.Entrypoint, "entrypoint", "", "Template to start with, instead of spec.entrypoint.")
	f.StringVar(&o.ServiceAccount, "serviceaccount", "", "ServiceAccount the step Pods run as (with its API credentials).")
	f.StringVarP(&o.Labels, "labels", "l", "", "Labels of the workflow: key=value,key2=value2.")
	f.BoolVarP(&o.Watch, "watch", "w", false, "Show the workflow's tree of steps until it ends.")
	f.BoolVar(&o.Wait, "wait", false, "Wait until the workflows end; exit non-zero when one does not succeed.")
	f.BoolVar(&o.Log, "log", false, "Stream the steps' logs until the workflow ends; exit non-zero when it does not succeed.")
	f.DurationVar(&o.Timeout, "timeout", 0, "With --wait, --watch or --log: how long to wait (default: until the workflow ends).")
	cli.AddPrintFlags(cmd, o.PrintFlags)
	_ = cmd.MarkFlagFilename("parameter-file", "yaml", "yml", "json")
	_ = cmd.RegisterFlagCompletionFunc("from", o.completeFrom)
	return cmd
}

// completeFrom completes --from with the templates and cron workflows of the namespace.
func (o *SubmitOptions) completeFrom(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	kind, _, ok := strings.Cut(toComplete, "/")
	if !ok {
		return []cobra.Completion{"workflowtemplate/", "clusterworkflowtemplate/", "cronworkflow/"}, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
	}
	if err := o.Common.Complete(); err != nil {
		return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	var names []string
	switch normalizeKind(kind) {
	case KindWorkflowTemplate:
		list := &argov1.WorkflowTemplateList{}
		if o.Clients.Client.List(ctx, list, client.InNamespace(o.Namespace)) == nil {
			for _, t := range list.Items {
				names = append(names, t.Name)
			}
		}
	case KindClusterWorkflowTemplate:
		list := &argov1.ClusterWorkflowTemplateList{}
		if o.Clients.Client.List(ctx, list) == nil {
			for _, t := range list.Items {
				names = append(names, t.Name)
			}
		}
	case KindCronWorkflow:
		list := &argov1.CronWorkflowList{}
		if o.Clients.Client.List(ctx, list, client.InNamespace(o.Namespace)) == nil {
			for _, t := range list.Items {
				names = append(names, t.Name)
			}
		}
	}
	slices.Sort(names)
	var out []cobra.Completion
	for _, n := range names {
		if c := kind + "/" + n; strings.HasPrefix(c, toComplete) {
			out = append(out, c)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// normalizeKind maps the names --from accepts to a kind ("" for none).
func normalizeKind(s string) string {
	switch strings.ToLower(s) {
	case "workflowtemplate", "workflowtemplates", "wftmpl", "template":
		return KindWorkflowTemplate
	case "clusterworkflowtemplate", "clusterworkflowtemplates", "cwftmpl", "clusterwftmpl":
		return KindClusterWorkflowTemplate
	case "cronworkflow", "cronworkflows", "cronwf", "cwf", "cron":
		return KindCronWorkflow
	}
	return ""
}

// Complete takes the files and builds the clients.
func (o *SubmitOptions) Complete(_ *cobra.Command, args []string) error {
	o.Files = args
	return o.Common.Complete()
}

// Validate checks the flags, before any request.
func (o *SubmitOptions) Validate() error {
	switch {
	case len(o.Files) == 0 && o.From == "":
		return errors.New("nothing to submit: give workflow FILEs (or - for stdin), or --from workflowtemplate/NAME")
	case len(o.Files) > 0 && o.From != "":
		return errors.New("FILEs and --from cannot be combined: submit the files, or the template --from names")
	case o.Watch && o.Log:
		return errors.New("--watch and --log cannot be combined: both write to the terminal while the workflow runs; use kubectl argo wf logs -f NAME in another terminal")
	case o.Name != "" && o.GenerateName != "":
		return errors.New("--name and --generate-name cannot be combined")
	case o.Timeout < 0:
		return fmt.Errorf("--timeout %s: must be positive", o.Timeout)
	case o.Timeout > 0 && !o.Watch && !o.Wait && !o.Log:
		return errors.New("--timeout limits --wait, --watch and --log: add one of them")
	}
	if o.From != "" {
		kind, name, _ := strings.Cut(o.From, "/")
		o.fromKind, o.fromName = normalizeKind(kind), name
		if o.fromKind == "" || name == "" {
			return fmt.Errorf("--from %q: use workflowtemplate/NAME, clusterworkflowtemplate/NAME or cronworkflow/NAME", o.From)
		}
	}
	params, err := o.readParameters()
	if err != nil {
		return err
	}
	o.params = params
	if o.Labels != "" {
		set, err := labels.ConvertSelectorToLabelsMap(o.Labels)
		if err != nil {
			return fmt.Errorf("--labels %q: %w; use key=value,key2=value2", o.Labels, err)
		}
		o.labels = set
	}
	if o.PrintFlags.OutputFormat != nil && *o.PrintFlags.OutputFormat != "" {
		if _, err := o.PrintFlags.ToPrinter(); err != nil {
			return fmt.Errorf("-o %s: use name, json or yaml", *o.PrintFlags.OutputFormat)
		}
	}
	return nil
}

// readParameters merges --parameter-file and -p (which wins).
func (o *SubmitOptions) readParameters() (map[string]string, error) {
	params := map[string]string{}
	if o.ParameterFile != "" {
		data, err := os.ReadFile(o.ParameterFile)
		if err != nil {
			return nil, fmt.Errorf("--parameter-file: %w", err)
		}
		var values map[string]argov1.AnyString
		if err := yaml.Unmarshal(data, &values); err != nil {
			return nil, fmt.Errorf("--parameter-file %s: %w; write one NAME: VALUE pair per line", o.ParameterFile, err)
		}
		for k, v := range values {
			params[k] = string(v)
		}
	}
	p, err := ParseParameters(o.Parameters)
	if err != nil {
		return nil, err
	}
	maps.Copy(params, p)
	return params, nil
}

// ParseParameters parses -p NAME=VALUE flags.
func ParseParameters(flags []string) (map[string]string, error) {
	params := map[string]string{}
	for _, kv := range flags {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("-p %q: use NAME=VALUE, such as -p message=hello", kv)
		}
		params[name] = value
	}
	return params, nil
}

// Run validates and creates the workflows, then follows them as asked.
func (o *SubmitOptions) Run(ctx context.Context) error {
	docs, err := o.workflows(ctx)
	if err != nil {
		return err
	}
	lookup := o.ClusterLookup(ctx)
	var problems []string
	for _, doc := range docs {
		wf := doc.Object.(*argov1.Workflow)
		if err := o.place(doc.File, wf); err != nil {
			return err
		}
		if err := ApplyParameters(wf, o.params, lookup); err != nil {
			problems = append(problems, doc.File+": "+err.Error())
			continue
		}
		problems = append(problems, Validate(doc, ValidateOptions{TemplateLookup: lookup, Submit: true, Parameters: o.params})...)
	}
	if len(problems) > 0 {
		return Invalid(problems, "nothing was submitted (fix them and submit again; kubectl argo wf lint FILE checks files without a cluster)")
	}
	var names []string
	for _, doc := range docs {
		wf := doc.Object.(*argov1.Workflow)
		if err := o.create(ctx, wf); err != nil {
			return err
		}
		names = append(names, wf.Name)
	}
	return o.follow(ctx, names, followOptions{watch: o.Watch, wait: o.Wait, log: o.Log, timeout: o.Timeout,
		structured: o.structured()})
}

func (o *SubmitOptions) structured() bool {
	return o.PrintFlags.OutputFormat != nil && *o.PrintFlags.OutputFormat != ""
}

// HowToCreate says which command makes the document of kind that source
// holds: "submit it with kubectl argo wf submit FILE", kubectl apply for
// kinds that are not the workflow commands'.
func HowToCreate(kind, source string) string {
	switch kind {
	case KindWorkflow:
		return "submit it with kubectl argo wf submit " + source
	case KindWorkflowTemplate, KindClusterWorkflowTemplate:
		return "create it with kubectl argo template create -f " + source
	case KindCronWorkflow:
		return "create it with kubectl argo cron create -f " + source
	}
	return "create it with kubectl apply -f " + source
}

// InNamespace puts obj, read from file, in c's namespace when it names
// none; when it names another than -n, it returns the problem.
func InNamespace(c *cli.Common, obj metav1.Object, file string) string {
	switch ns := obj.GetNamespace(); {
	case ns == "":
		obj.SetNamespace(c.Namespace)
	case c.ExplicitNamespace && ns != c.Namespace:
		return fmt.Sprintf("%s: metadata.namespace: %s, but -n says %s: drop -n, or change metadata.namespace", file, ns, c.Namespace)
	}
	return ""
}

// Invalid is the error of documents with validation errors: all of them,
// one per line, after what happened and what to do.
func Invalid(problems []string, what string) error {
	return &cli.Error{
		Problem: fmt.Sprintf("%s; %s:\n  %s", cli.Plural(len(problems), "validation error"), what, strings.Join(problems, "\n  ")),
	}
}

// workflows are the Workflows to submit: the files' or the one --from makes.
func (o *SubmitOptions) workflows(ctx context.Context) ([]Document, error) {
	if o.From != "" {
		wf, err := o.fromCluster(ctx)
		if err != nil {
			return nil, err
		}
		return []Document{{File: o.From, Kind: KindWorkflow, Object: wf}}, nil
	}
	docs, problems, err := ReadDocuments(o.Files, o.In)
	if err != nil {
		return nil, err
	}
	var wfs []Document
	for _, d := range docs {
		if d.Kind != KindWorkflow {
			hint := HowToCreate(d.Kind, d.Source)
			if d.Object == nil {
				hint = HowToCreate("", d.Source)
			}
			problems = append(problems, fmt.Sprintf("%s: %s %s: submit runs Workflows: %s", d.File, d.Kind, d.Name, hint))
			continue
		}
		wfs = append(wfs, d)
	}
	if len(problems) > 0 {
		return nil, Invalid(problems, "nothing was submitted (fix them and submit again)")
	}
	if len(wfs) == 0 {
		return nil, fmt.Errorf("no Workflow in %s: submit reads YAML or JSON documents of kind Workflow", strings.Join(o.Files, ", "))
	}
	if (o.Watch || o.Log) && len(wfs) > 1 {
		return nil, fmt.Errorf("--watch and --log follow one workflow, and the files hold %d: use --wait", len(wfs))
	}
	return wfs, nil
}

// place sets the workflow's namespace, name and the flags' overrides.
func (o *SubmitOptions) place(file string, wf *argov1.Workflow) error {
	switch {
	case wf.Namespace == "":
		wf.Namespace = o.Namespace
	case o.ExplicitNamespace && wf.Namespace != o.Namespace:
		return fmt.Errorf("%s: metadata.namespace is %s but -n says %s: drop -n, or change metadata.namespace", file, wf.Namespace, o.Namespace)
	}
	switch {
	case o.Name != "":
		wf.Name, wf.GenerateName = o.Name, ""
	case o.GenerateName != "":
		wf.Name, wf.GenerateName = "", o.GenerateName
	case wf.Name == "" && wf.GenerateName == "":
		return fmt.Errorf("%s: the workflow has neither metadata.name nor metadata.generateName: set one, or pass --name or --generate-name", file)
	}
	if o.Entrypoint != "" {
		wf.Spec.Entrypoint = o.Entrypoint
	}
	if o.ServiceAccount != "" {
		wf.Spec.ServiceAccountName = o.ServiceAccount
	}
	if len(o.labels) > 0 {
		if wf.Labels == nil {
			wf.Labels = map[string]string{}
		}
		maps.Copy(wf.Labels, o.labels)
	}
	return nil
}

// ApplyParameters sets params on wf's arguments. A name the workflow (or the
// template its workflowTemplateRef names) does not declare is an error.
func ApplyParameters(wf *argov1.Workflow, params map[string]string, lookup TemplateLookup) error {
	if len(params) == 0 {
		return nil
	}
	declared := map[string]bool{}
	for _, p := range wf.Spec.Arguments.Parameters {
		declared[p.Name] = true
	}
	known := true
	if ref := wf.Spec.WorkflowTemplateRef; ref != nil && lookup != nil {
		spec, err := lookup(ref.Name, ref.ClusterScope)
		if err != nil || spec == nil {
			known = false // validation reports a template it cannot find
		} else {
			for _, p := range spec.Arguments.Parameters {
				declared[p.Name] = true
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(params)) {
		if !declared[name] {
			if !known {
				continue
			}
			names := slices.Sorted(maps.Keys(declared))
			have := "it declares no parameters"
			if len(names) > 0 {
				have = "its parameters are " + strings.Join(names, ", ")
			}
			return fmt.Errorf("-p %s: the workflow has no parameter %q (%s): check the name, or declare it in spec.arguments.parameters", name, name, have)
		}
		value := params[name]
		i := slices.IndexFunc(wf.Spec.Arguments.Parameters, func(p argov1.Parameter) bool { return p.Name == name })
		if i < 0 {
			wf.Spec.Arguments.Parameters = append(wf.Spec.Arguments.Parameters, argov1.Parameter{Name: name, Value: argov1.AnyStringPtr(value)})
			continue
		}
		p := &wf.Spec.Arguments.Parameters[i]
		if len(p.Enum) > 0 && !slices.Contains(p.Enum, argov1.AnyString(value)) {
			var allowed []string
			for _, e := range p.Enum {
				allowed = append(allowed, string(e))
			}
			return fmt.Errorf("-p %s=%s: the value must be one of %s", name, value, strings.Join(allowed, ", "))
		}
		p.Value, p.ValueFrom = argov1.AnyStringPtr(value), nil
	}
	return nil
}

// ClusterLookup reads WorkflowTemplates (of the namespace) and
// ClusterWorkflowTemplates from the cluster.
func (c *Common) ClusterLookup(ctx context.Context) TemplateLookup {
	return func(name string, cluster bool) (*argov1.WorkflowSpec, error) {
		if cluster {
			t := &argov1.ClusterWorkflowTemplate{}
			err := c.Clients.Client.Get(ctx, client.ObjectKey{Name: name}, t)
			if apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("%w in the cluster: create it first with kubectl argo template create -f FILE (the file says kind: ClusterWorkflowTemplate)", ErrTemplateNotFound)
			}
			if err != nil {
				return nil, c.Explain(err, "clusterworkflowtemplates")
			}
			return &t.Spec, nil
		}
		t := &argov1.WorkflowTemplate{}
		err := c.Clients.Client.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: name}, t)
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("%w in namespace %s: create it first with kubectl argo template create -f FILE, or pick the namespace with -n", ErrTemplateNotFound, c.Namespace)
		}
		if err != nil {
			return nil, c.Explain(err, "workflowtemplates")
		}
		return &t.Spec, nil
	}
}

// fromCluster makes the workflow --from names.
func (o *SubmitOptions) fromCluster(ctx context.Context) (*argov1.Workflow, error) {
	key := client.ObjectKey{Namespace: o.Namespace, Name: o.fromName}
	var obj client.Object
	switch o.fromKind {
	case KindWorkflowTemplate:
		obj = &argov1.WorkflowTemplate{}
	case KindClusterWorkflowTemplate:
		obj, key.Namespace = &argov1.ClusterWorkflowTemplate{}, ""
	default:
		obj = &argov1.CronWorkflow{}
	}
	if err := o.Clients.Client.Get(ctx, key, obj); err != nil {
		if apierrors.IsNotFound(err) {
			where, list := " in namespace "+o.Namespace, "kubectl argo template list"
			switch o.fromKind {
			case KindClusterWorkflowTemplate:
				where, list = "", "kubectl argo template list --cluster"
			case KindCronWorkflow:
				list = "kubectl argo cron list"
			}
			return nil, &cli.Error{Problem: fmt.Sprintf("%s %q not found%s", o.fromKind, o.fromName, where),
				Fix: "list them with " + list + ", or pick the namespace with -n", Err: err}
		}
		return nil, o.Explain(fmt.Errorf("reading %s %s: %w", o.fromKind, o.fromName, err), strings.ToLower(o.fromKind)+"s")
	}
	switch t := obj.(type) {
	case *argov1.WorkflowTemplate:
		return FromTemplate(t.Name, o.Namespace, false, t.Spec.WorkflowMetadata), nil
	case *argov1.ClusterWorkflowTemplate:
		return FromTemplate(t.Name, o.Namespace, true, t.Spec.WorkflowMetadata), nil
	case *argov1.CronWorkflow:
		return FromCronWorkflow(t, o.Now()), nil
	}
	return nil, nil
}

// FromTemplate is a workflow that runs the WorkflowTemplate (or, with
// cluster, the ClusterWorkflowTemplate) name, as `argo submit --from` makes
// it: its spec is a workflowTemplateRef, which the agent resolves.
func FromTemplate(name, namespace string, cluster bool, meta *argov1.WorkflowMetadata) *argov1.Workflow {
	label := LabelWorkflowTemplate
	if cluster {
		label = LabelClusterWorkflowTemplate
	}
	wf := &argov1.Workflow{
		ObjectMeta: metav1.ObjectMeta{GenerateName: name + "-", Namespace: namespace, Labels: map[string]string{label: name}},
		Spec:       argov1.WorkflowSpec{WorkflowTemplateRef: &argov1.WorkflowTemplateRef{Name: name, ClusterScope: cluster}},
	}
	if meta != nil {
		maps.Copy(wf.Labels, meta.Labels)
		if len(meta.Annotations) > 0 {
			wf.Annotations = maps.Clone(meta.Annotations)
		}
	}
	return wf
}

// FromCronWorkflow is the workflow a CronWorkflow runs, made now, as Argo's
// `argo cron create-workflow` (and `argo submit --from cronwf/NAME`) makes
// it: its workflowSpec and workflowMetadata, Argo's cron-workflow label and
// scheduled-time annotation, and the CronWorkflow as its controller owner.
func FromCronWorkflow(cron *argov1.CronWorkflow, now time.Time) *argov1.Workflow {
	wf := &argov1.Workflow{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: cron.Name + "-",
			Namespace:    cron.Namespace,
			Labels:       map[string]string{},
			Annotations:  map[string]string{},
		},
		Spec: *cron.Spec.WorkflowSpec.DeepCopy(),
	}
	if m := cron.Spec.WorkflowMetadata; m != nil {
		maps.Copy(wf.Labels, m.Labels)
		maps.Copy(wf.Annotations, m.Annotations)
		if m.Name != "" {
			wf.Name, wf.GenerateName = m.Name, ""
		} else if m.GenerateName != "" {
			wf.GenerateName = m.GenerateName
		}
	}
	wf.Labels[wfnames.LabelCronWorkflow] = cron.Name
	wf.Annotations[wfnames.AnnotationScheduledTime] = now.UTC().Format(time.RFC3339)
	wf.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: argov1.GroupVersion.String(), Kind: KindCronWorkflow, Name: cron.Name, UID: cron.UID,
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
	}}
	return wf
}

// create creates wf with strict field validation and says so.
func (o *SubmitOptions) create(ctx context.Context, wf *argov1.Workflow) error {
	if err := o.CreateWorkflow(ctx, wf); err != nil {
		return err
	}
	if o.structured() {
		p, err := o.PrintFlags.ToPrinter()
		if err != nil {
			return err
		}
		wf.SetGroupVersionKind(argov1.GroupVersion.WithKind(KindWorkflow))
		return p.PrintObj(wf, o.Out)
	}
	fmt.Fprintf(o.Out, "%s/%s submitted\n", Resource, wf.Name)
	return nil
}

// CreateWorkflow creates wf, asking the API server to reject unknown
// fields, and explains failures.
func (c *Common) CreateWorkflow(ctx context.Context, wf *argov1.Workflow) error {
	what := wf.Name
	if what == "" {
		what = wf.GenerateName + "*"
	}
	ref := wf.Namespace + "/" + what
	err := c.Clients.Client.Create(ctx, wf, client.FieldValidation(metav1.FieldValidationStrict))
	switch {
	case err == nil:
		return nil
	case apierrors.IsAlreadyExists(err):
		return &cli.Error{Problem: fmt.Sprintf("workflow %s already exists", ref),
			Fix: "pick another name with --name, or let the API server pick one with --generate-name " + wf.Name + "-", Err: err}
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return cli.Rejected("workflow "+ref, err)
	case apierrors.IsNotFound(err):
		return &cli.Error{Problem: fmt.Sprintf("cannot create workflow %s: %v", ref, cli.APIMessage(err)),
			Fix: "create the namespace first (kubectl create namespace " + wf.Namespace + "), or pick another with -n", Err: err}
	}
	return c.explain(fmt.Errorf("creating workflow %s: %w", ref, err))
}
