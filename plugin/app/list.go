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

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

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
	cli.AddPrintFlags(cmd, o.PrintFlags, cli.Wide)
	return cmd
}

// Complete builds the clients.
func (o *ListOptions) Complete(*cobra.Command, []string) error { return o.Common.Complete() }

// Validate checks the flags.
func (o *ListOptions) Validate() error { return cli.ValidateOutput(o.PrintFlags, cli.Wide) }

// Run lists the Applications.
func (o *ListOptions) Run(ctx context.Context) error {
	p, err := cli.Printer(o.PrintFlags, cli.Wide)
	if err != nil {
		return err
	}
	list := &argov1.ApplicationList{}
	if err := o.Clients.Client.List(ctx, list, o.ListScope(o.AllNamespaces)...); err != nil {
		return o.explain(fmt.Errorf("listing applications: %w", err))
	}
	slices.SortFunc(list.Items, func(a, b argov1.Application) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	if p != nil {
		return cli.PrintList(p, o.PrintFlags, list, "Application", o.Out)
	}
	if len(list.Items) == 0 {
		o.NoneFound("applications", o.AllNamespaces)
		return nil
	}
	o.printTable(list.Items, newPalette(o.Out))
	return nil
}

func (o *ListOptions) printTable(apps []argov1.Application, pal palette) {
	isWide := cli.OutputIs(o.PrintFlags, cli.Wide)
	w := printers.GetNewTabWriter(o.Out)
	defer w.Flush()
	var header []string
	if o.AllNamespaces {
		header = append(header, "NAMESPACE")
	}
	header = append(header, "NAME", pal.Plain("SYNC"), pal.Plain("HEALTH"), "REVISION", "REPO", "PATH")
	if isWide {
		header = append(header, "TARGET", "DESTINATION")
	}
	header = append(header, "AGE")
	fmt.Fprintln(w, strings.Join(header, "\t"))
	now := o.Now()
	for i := range apps {
		app := &apps[i]
		src := source(app)
		repo, path := "-", "-"
		if src != nil {
			repo, path = cli.OrDash(src.RepoURL), cli.OrDash(src.Path)
		}
		var row []string
		if o.AllNamespaces {
			row = append(row, app.Namespace)
		}
		row = append(row, app.Name, pal.sync(orUnknown(app.Status.Sync.Status)), pal.health(orUnknown(app.Status.Health.Status)),
			cli.OrDash(shortRevision(app.Status.Sync.Revision)), repo, path)
		if isWide {
			row = append(row, target(src), cli.OrDash(app.Spec.Destination.Namespace))
		}
		row = append(row, cli.Age(now, app.CreationTimestamp))
		fmt.Fprintln(w, strings.Join(row, "\t"))
	}
}
