package wf

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// lintLookupTimeout bounds each template lookup lint makes in the cluster.
const lintLookupTimeout = 10 * time.Second

// The kinds each lint command checks.
var (
	LintWorkflows = []string{KindWorkflow, KindWorkflowTemplate, KindClusterWorkflowTemplate, KindCronWorkflow}
	LintTemplates = []string{KindWorkflowTemplate, KindClusterWorkflowTemplate}
	LintCron      = []string{KindCronWorkflow}
)

// LintOptions are the flags and state of `kubectl argo wf lint` (and of
// `template lint` and `cron lint`, with other kinds).
type LintOptions struct {
	Common

	Paths   []string
	Offline bool
	Output  string

	kinds []string
	// offlineWhy says why the cluster was not asked, once it was not.
	offlineWhy string
	unchecked  []string
}

// NewLintOptions returns options that lint documents of kinds.
func NewLintOptions(c cli.Common, kinds []string) *LintOptions {
	return &LintOptions{Common: Common{Common: c}, Output: "pretty", kinds: kinds}
}

// NewLintCmd returns `wf lint`.
func NewLintCmd(o *LintOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lint (FILE | DIR)...",
		Short: "Validate workflow files without submitting them (no cluster needed)",
		Long: `Validate Workflows, WorkflowTemplates, ClusterWorkflowTemplates and
CronWorkflows in files and directories (their .yaml, .yml and .json files,
recursively; - for stdin), with the validator the agent uses. Argo's
argoproj.io/v1alpha1 files are mapped first.

Every error is printed with its file, path and reason, such as an unknown
field, a template that does not exist, a cyclic DAG, an input parameter no
caller supplies or an expression that does not parse. The exit code is 1 when
there is any. (A workflow parameter without a value is left for submit time,
where -p may give it; submit rejects it when nothing does.)

References to WorkflowTemplates (templateRef, workflowTemplateRef) resolve
against the linted files first, then against the cluster when one is
reachable; --offline never contacts a cluster (references to templates that
are not in the files are left unchecked and counted).`,
		Example: `  kubectl argo wf lint hello-world.yaml

  # A directory, in CI without a cluster
  kubectl argo wf lint workflows/ --offline

  # One line per error, for editors and CI annotations
  kubectl argo wf lint workflows/ -o simple`,
		Args: cobra.MinimumNArgs(1),
		RunE: cli.RunE(o),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return []cobra.Completion{"yaml", "yml", "json"}, cobra.ShellCompDirectiveFilterFileExt
		},
	}
	o.AddFlags(cmd)
	return cmd
}

// AddFlags binds the lint flags to cmd.
func (o *LintOptions) AddFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&o.Offline, "offline", false, "Never contact a cluster: resolve template references from the linted files only.")
	cmd.Flags().StringVarP(&o.Output, "output", "o", o.Output, "Output format: pretty (grouped by file) or simple (one FILE: PATH: REASON line per error).")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]cobra.Completion{"pretty", "simple"}, cobra.ShellCompDirectiveNoFileComp))
}

// Complete takes the paths and resolves the namespace; the clients come only
// when a template reference needs the cluster.
func (o *LintOptions) Complete(_ *cobra.Command, args []string) error {
	o.Paths = args
	return o.CompleteLocal()
}

// Validate checks the flags.
func (o *LintOptions) Validate() error {
	if o.Output != "pretty" && o.Output != "simple" {
		return fmt.Errorf("-o %q: use pretty or simple", o.Output)
	}
	return nil
}

// Run lints the files.
func (o *LintOptions) Run(ctx context.Context) error {
	srcs, err := cli.ReadSources(o.Paths, o.In)
	if err != nil {
		return err
	}
	docs, errs := decodeSources(srcs)
	lookup := o.lookup(ctx, docs)
	for _, doc := range docs {
		if doc.Object == nil {
			continue // another kind (a ConfigMap next to a workflow)
		}
		if !slices.Contains(o.kinds, doc.Kind) {
			errs = append(errs, fmt.Sprintf("%s: kind: %s %s is not linted here: %s", doc.File, doc.Kind, doc.Name, lintHint(doc.Kind)))
			continue
		}
		// As Argo's lint: a workflow parameter without a value may be left
		// for submit time (-p); a CronWorkflow's need values all the same.
		errs = append(errs, Validate(doc, ValidateOptions{TemplateLookup: lookup})...)
	}
	o.print(srcs, errs)
	if len(errs) > 0 {
		return &cli.ExitError{Code: 1, Silent: true, Err: fmt.Errorf("%s", cli.Plural(len(errs), "error"))}
	}
	return nil
}

func lintHint(kind string) string {
	switch kind {
	case KindCronWorkflow:
		return "lint it with kubectl argo cron lint (or kubectl argo wf lint)"
	case KindWorkflowTemplate, KindClusterWorkflowTemplate:
		return "lint it with kubectl argo template lint (or kubectl argo wf lint)"
	}
	return "lint it with kubectl argo wf lint"
}

// print prints the errors grouped by file (pretty) or one per line
// (simple), then the summary.
func (o *LintOptions) print(srcs []cli.Source, errs []string) {
	pal := newPalette(o.Out)
	if o.Output == "simple" {
		for _, e := range errs {
			fmt.Fprintln(o.Out, e)
		}
	} else {
		left := slices.Clone(errs)
		for _, src := range srcs {
			var mine []string
			left = slices.DeleteFunc(left, func(e string) bool {
				rest, ok := strings.CutPrefix(e, src.Name)
				if ok && (strings.HasPrefix(rest, ": ") || strings.HasPrefix(rest, " (")) {
					mine = append(mine, strings.TrimPrefix(rest, ": "))
					return true
				}
				return false
			})
			if len(mine) == 0 {
				fmt.Fprintf(o.Out, "%s %s\n", pal.Green(IconSucceeded), src.Name)
				continue
			}
			fmt.Fprintf(o.Out, "%s %s\n", pal.Red(IconFailed), src.Name)
			for _, e := range mine {
				fmt.Fprintf(o.Out, "    %s\n", e)
			}
		}
		for _, e := range left {
			fmt.Fprintf(o.Out, "%s %s\n", pal.Red(IconFailed), e)
		}
	}
	if len(o.unchecked) > 0 {
		fmt.Fprintf(o.ErrOut, "Note: %s not checked (%s): %s\n", cli.Plural(len(o.unchecked), "template reference"),
			o.offlineWhy, strings.Join(o.unchecked, ", "))
	}
	summary := "no errors"
	if len(errs) > 0 {
		summary = cli.Plural(len(errs), "error")
	}
	fmt.Fprintf(o.Out, "%s linted, %s\n", cli.Plural(len(srcs), "file"), summary)
}

// lookup resolves template references: from the linted documents first,
// then from the cluster unless --offline (or no cluster answers).
func (o *LintOptions) lookup(ctx context.Context, docs []Document) TemplateLookup {
	local := map[string]*argov1.WorkflowSpec{}
	for _, d := range docs {
		switch t := d.Object.(type) {
		case *argov1.WorkflowTemplate:
			local[KindWorkflowTemplate+"/"+t.Name] = &t.Spec
		case *argov1.ClusterWorkflowTemplate:
			local[KindClusterWorkflowTemplate+"/"+t.Name] = &t.Spec
		}
	}
	if o.Offline {
		o.offlineWhy = "--offline, and they are not in the linted files"
	}
	return func(name string, cluster bool) (*argov1.WorkflowSpec, error) {
		kind := KindWorkflowTemplate
		if cluster {
			kind = KindClusterWorkflowTemplate
		}
		if spec := local[kind+"/"+name]; spec != nil {
			return spec, nil
		}
		ref := strings.ToLower(kind) + "/" + name
		if o.offlineWhy == "" {
			spec, err := o.fromCluster(ctx, name, cluster)
			if err == nil {
				return spec, nil
			}
			if errors.Is(err, ErrTemplateNotFound) {
				return nil, fmt.Errorf("%w in the linted files or the cluster: lint it together with this file, or create it with kubectl argo template create", ErrTemplateNotFound)
			}
		}
		if !slices.Contains(o.unchecked, ref) {
			o.unchecked = append(o.unchecked, ref)
		}
		return nil, ErrUnchecked
	}
}

// fromCluster reads a template from the cluster; an error other than
// ErrTemplateNotFound switches lint to offline, saying why.
func (o *LintOptions) fromCluster(ctx context.Context, name string, cluster bool) (*argov1.WorkflowSpec, error) {
	if err := cli.EnsureClients(&o.Clients, o.ConfigFlags, o.IOStreams); err != nil {
		o.offlineWhy = "no cluster is configured, and they are not in the linted files"
		return nil, err
	}
	// A cluster that does not answer must not hold lint up for long.
	ctx, cancel := context.WithTimeout(ctx, lintLookupTimeout)
	defer cancel()
	spec, err := o.ClusterLookup(ctx)(name, cluster)
	if err == nil || errors.Is(err, ErrTemplateNotFound) {
		return spec, err
	}
	var explained *cli.Error
	switch {
	case errors.Is(err, cli.ErrNotInstalled) || meta.IsNoMatchError(err):
		o.offlineWhy = "argolite is not installed in the cluster, and they are not in the linted files"
	case apierrors.IsForbidden(err):
		o.offlineWhy = "no permission to read templates in the cluster, and they are not in the linted files"
	case errors.Is(err, context.DeadlineExceeded):
		o.offlineWhy = fmt.Sprintf("the cluster did not answer within %s, and they are not in the linted files", lintLookupTimeout)
	case errors.As(err, &explained):
		o.offlineWhy = "the cluster cannot be used (" + explained.Problem + "), and they are not in the linted files"
	default:
		o.offlineWhy = "reading them from the cluster failed: " + err.Error()
	}
	return nil, err
}
