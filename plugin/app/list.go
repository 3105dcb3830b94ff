package app

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// wide is the -o format that adds columns to a table.
const wide = "wide"

// ListOptions are the flags and state of `kubectl argo app list`.
type ListOptions struct {
	Common
	PrintFlags    *genericclioptions.PrintFlags
	AllNamespaces bool
}

// NewListOptions returns options with default flags.
func NewListOptions(c Common) *ListOptions {
	return &ListOptions{Common: c, PrintFlags: genericclioptions.NewPrintFlags("")}
}

func newListCmd(o *ListOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List Applications with their sync and health",
		Long: `List the Applications in the current namespace (-n, or every namespace with -A)
with their sync status, health, the Git revision they are synced to, and where
in Git their manifests live. -o wide adds the target revision and the
destination namespace.`,
		Example: `  kubectl argo app list
  kubectl argo app list -A -o wide

  # Names only, for scripts
  kubectl argo app list -o name`,
		Args: cobra.NoArgs,
		RunE: cli.RunE(o),
	}
	cmd.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "List the Applications of every namespace.")
	addPrintFlags(cmd, o.PrintFlags, wide)
	return cmd
}

// addPrintFlags binds -o, whose text formats (such as wide) extra adds to
// the printers' formats.
func addPrintFlags(cmd *cobra.Command, flags *genericclioptions.PrintFlags, extra ...string) {
	flags.AddFlags(cmd)
	formats := append(slices.Clone(extra), flags.AllowedFormats()...)
	if f := cmd.Flags().Lookup("output"); f != nil {
		f.Usage = "Output format. One of: (" + strings.Join(formats, ", ") + ")."
	}
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
}

// validateOutput checks -o, accepting the text formats in text.
func validateOutput(flags *genericclioptions.PrintFlags, text ...string) error {
	if flags.OutputFormat != nil && slices.Contains(text, *flags.OutputFormat) {
		return nil
	}
	err := cli.ValidateOutput(flags)
	if err != nil && len(text) > 0 && strings.HasPrefix(err.Error(), "unknown output format") {
		return fmt.Errorf("unknown output format %q: use one of %s", *flags.OutputFormat,
			strings.Join(append(slices.Clone(text), flags.AllowedFormats()...), ", "))
	}
	return err
}

// printer is the -o printer, or nil for text output (including text).
func printer(flags *genericclioptions.PrintFlags, text ...string) (printers.ResourcePrinter, error) {
	if flags.OutputFormat != nil && slices.Contains(text, *flags.OutputFormat) {
		return nil, nil
	}
	return cli.ReportPrinter(flags)
}

// Complete builds the clients.
func (o *ListOptions) Complete() error { return o.Common.Complete() }

// Validate checks the flags.
func (o *ListOptions) Validate() error { return validateOutput(o.PrintFlags, wide) }

// Run lists the Applications.
func (o *ListOptions) Run(ctx context.Context) error {
	p, err := printer(o.PrintFlags, wide)
	if err != nil {
		return err
	}
	list := &argov1.ApplicationList{}
	var opts []client.ListOption
	if !o.AllNamespaces {
		opts = append(opts, client.InNamespace(o.Namespace))
	}
	if err := o.Clients.Client.List(ctx, list, opts...); err != nil {
		return o.explain(fmt.Errorf("listing applications: %w", err))
	}
	slices.SortFunc(list.Items, func(a, b argov1.Application) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	if p != nil {
		list.SetGroupVersionKind(argov1.GroupVersion.WithKind("ApplicationList"))
		for i := range list.Items {
			list.Items[i].SetGroupVersionKind(argov1.GroupVersion.WithKind("Application"))
		}
		if *o.PrintFlags.OutputFormat != "name" {
			return p.PrintObj(list, o.Out)
		}
		// The name printer takes one object at a time.
		for i := range list.Items {
			if err := p.PrintObj(&list.Items[i], o.Out); err != nil {
				return err
			}
		}
		return nil
	}
	if len(list.Items) == 0 {
		if o.AllNamespaces {
			fmt.Fprintln(o.ErrOut, "No applications found.")
		} else {
			fmt.Fprintf(o.ErrOut, "No applications found in namespace %s.\n", o.Namespace)
		}
		return nil
	}
	o.printTable(list.Items, newPalette(o.Out))
	return nil
}

func (o *ListOptions) printTable(apps []argov1.Application, pal palette) {
	isWide := o.PrintFlags.OutputFormat != nil && *o.PrintFlags.OutputFormat == wide
	w := printers.GetNewTabWriter(o.Out)
	defer w.Flush()
	var header []string
	if o.AllNamespaces {
		header = append(header, "NAMESPACE")
	}
	header = append(header, "NAME", pal.plain("SYNC"), pal.plain("HEALTH"), "REVISION", "REPO", "PATH")
	if isWide {
		header = append(header, "TARGET", "DESTINATION")
	}
	header = append(header, "AGE")
	fmt.Fprintln(w, strings.Join(header, "\t"))
	now := o.now()
	for i := range apps {
		app := &apps[i]
		src := source(app)
		repo, path := "-", "-"
		if src != nil {
			repo, path = orDash(src.RepoURL), orDash(src.Path)
		}
		var row []string
		if o.AllNamespaces {
			row = append(row, app.Namespace)
		}
		row = append(row, app.Name, pal.sync(orUnknown(app.Status.Sync.Status)), pal.health(orUnknown(app.Status.Health.Status)),
			orDash(shortRevision(app.Status.Sync.Revision)), repo, path)
		if isWide {
			row = append(row, target(src), orDash(app.Spec.Destination.Namespace))
		}
		row = append(row, age(now, app.CreationTimestamp))
		fmt.Fprintln(w, strings.Join(row, "\t"))
	}
}
