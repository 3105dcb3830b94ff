package app

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// History is what `app history -o json|yaml` prints.
type History struct {
	metav1.TypeMeta `json:",inline"`
	Application     string                   `json:"application"`
	Namespace       string                   `json:"namespace"`
	Items           []argov1.RevisionHistory `json:"items"`
}

// DeepCopyObject lets printers take the report as a runtime.Object.
func (h *History) DeepCopyObject() runtime.Object {
	out := *h
	out.Items = make([]argov1.RevisionHistory, len(h.Items))
	for i := range h.Items {
		h.Items[i].DeepCopyInto(&out.Items[i])
	}
	return &out
}

// HistoryOptions are the flags and state of `kubectl argo app history`.
type HistoryOptions struct {
	Common
	PrintFlags *genericclioptions.PrintFlags
	Name       string
}

// NewHistoryOptions returns options with default flags.
func NewHistoryOptions(c Common) *HistoryOptions {
	return &HistoryOptions{Common: c, PrintFlags: cli.NewReportPrintFlags()}
}

func newHistoryCmd(o *HistoryOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "history NAME",
		Short: "List an Application's successful syncs, to roll back to",
		Long: `List an Application's successful syncs, oldest first: the history ID, when it
was deployed, the Git revision and the source. The last entry is what is
deployed now. kubectl argo app rollback NAME ID syncs back to an entry.

The Application's spec.revisionHistoryLimit (default 10) says how many entries
the agent keeps.`,
		Example: `  kubectl argo app history guestbook
  kubectl argo app history guestbook -o yaml`,
		Args:              cobra.ExactArgs(1),
		RunE:              cli.RunE(o),
		ValidArgsFunction: completeNames(&o.Common, false),
	}
	cli.AddPrintFlags(cmd, o.PrintFlags)
	return cmd
}

// Complete takes the name and builds the clients.
func (o *HistoryOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	return o.Common.Complete()
}

// Validate checks the flags.
func (o *HistoryOptions) Validate() error { return cli.ValidateOutput(o.PrintFlags) }

// Run prints the history.
func (o *HistoryOptions) Run(ctx context.Context) error {
	p, err := cli.Printer(o.PrintFlags)
	if err != nil {
		return err
	}
	app, err := o.getApp(ctx, o.Name)
	if err != nil {
		return err
	}
	if p != nil {
		h := &History{
			TypeMeta:    metav1.TypeMeta{APIVersion: cli.ReportAPIVersion, Kind: "History"},
			Application: app.Name,
			Namespace:   app.Namespace,
			Items:       app.Status.History,
		}
		if h.Items == nil {
			h.Items = []argov1.RevisionHistory{}
		}
		return p.PrintObj(h, o.Out)
	}
	if len(app.Status.History) == 0 {
		fmt.Fprintf(o.ErrOut, "No history: application %s has not synced successfully yet.\n", o.Ref(app.Name))
		return nil
	}
	w := printers.GetNewTabWriter(o.Out)
	defer w.Flush()
	fmt.Fprintln(w, "ID\tDATE\tREVISION\tREPO\tPATH")
	for _, h := range app.Status.History {
		repo, path := "-", "-"
		if h.Source != nil {
			repo, path = cli.OrDash(h.Source.RepoURL), cli.OrDash(h.Source.Path)
		} else if src := source(app); src != nil {
			// Entries without a source used the spec's.
			repo, path = cli.OrDash(src.RepoURL), cli.OrDash(src.Path)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", h.ID, h.DeployedAt.UTC().Format("2006-01-02 15:04:05 MST"), h.Revision, repo, path)
	}
	return nil
}
