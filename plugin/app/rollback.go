package app

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// RollbackOptions are the flags and state of `kubectl argo app rollback`.
type RollbackOptions struct {
	Common

	Name string
	// ID is the history entry to roll back to; empty means the one before the last.
	ID      string
	Prune   bool
	Async   bool
	Timeout time.Duration
}

// NewRollbackOptions returns options with default flags.
func NewRollbackOptions(c Common) *RollbackOptions {
	return &RollbackOptions{Common: c, Timeout: defaultOperationTimeout}
}

func newRollbackCmd(o *RollbackOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollback NAME [ID]",
		Short: "Sync an Application back to a revision from its history",
		Long: `Sync an Application to the revision and source of one of its history entries
(see kubectl argo app history NAME); without ID, to the entry before the last.

As in Argo CD, a rollback turns automated sync off in the same request:
otherwise the agent would sync the newer revision from Git again at once. The
command says so; turn automated sync back on by editing
spec.syncPolicy.automated (kubectl edit application NAME) once Git holds what
you want deployed.

The rollback is followed like kubectl argo app sync: progress, then the
results, and a non-zero exit code when it failed.`,
		Example: `  kubectl argo app history guestbook
  kubectl argo app rollback guestbook 3

  # Back to the previous entry, deleting what it does not have
  kubectl argo app rollback guestbook --prune`,
		Args:              cobra.RangeArgs(1, 2),
		RunE:              cli.RunE(o),
		ValidArgsFunction: o.completeArgs,
	}
	f := cmd.Flags()
	f.BoolVar(&o.Prune, "prune", false, "Delete the objects that the entry's revision does not have.")
	f.BoolVar(&o.Async, "async", false, "Return once the rollback is requested instead of waiting for it.")
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "How long to wait for the rollback to finish.")
	return cmd
}

// completeArgs completes the name, then the IDs of its history.
func (o *RollbackOptions) completeArgs(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return completeNames(&o.Common, false)(cmd, args, toComplete)
	}
	if len(args) > 1 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	apps, err := o.listForCompletion(cmd.Context())
	if err != nil {
		return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
	}
	var ids []cobra.Completion
	for _, app := range apps {
		if app.Name != args[0] {
			continue
		}
		for _, h := range app.Status.History {
			id := strconv.FormatInt(h.ID, 10)
			if strings.HasPrefix(id, toComplete) {
				ids = append(ids, cobra.CompletionWithDesc(id, shortRevision(h.Revision)+" deployed "+h.DeployedAt.UTC().Format("2006-01-02 15:04")))
			}
		}
	}
	return ids, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
}

// Complete takes the name and the history ID, and builds the clients.
func (o *RollbackOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	if len(args) == 2 {
		o.ID = args[1]
	}
	return o.Common.Complete()
}

// Validate checks the flags.
func (o *RollbackOptions) Validate() error {
	if o.ID != "" {
		if _, err := strconv.ParseInt(o.ID, 10, 64); err != nil {
			return fmt.Errorf("ID %q: a history ID is a number; list them with kubectl argo app history %s", o.ID, o.Name)
		}
	}
	return cli.ValidateTimeout("timeout", o.Timeout)
}

// Run requests the rollback, turning automated sync off, and follows it.
func (o *RollbackOptions) Run(ctx context.Context) error {
	var entry argov1.RevisionHistory
	var wasAutomated bool
	req, err := o.startOperation(ctx, o.Name, func(app *argov1.Application) (argov1.Operation, error) {
		e, err := o.entry(app)
		if err != nil {
			return argov1.Operation{}, err
		}
		entry = e
		wasAutomated = app.Spec.SyncPolicy != nil && app.Spec.SyncPolicy.Automated != nil
		if wasAutomated {
			app.Spec.SyncPolicy.Automated = nil
		}
		sync := &argov1.SyncOperation{Revision: e.Revision, Prune: o.Prune}
		if len(app.Spec.Sources) == 0 {
			// A single source rolls back whole; with several sources only the
			// rendered one's revision goes back and the ref sources stay.
			sync.Source = e.Source.DeepCopy()
		}
		return argov1.Operation{
			Sync:        sync,
			InitiatedBy: argov1.OperationInitiator{Username: o.User},
		}, nil
	})
	if err != nil {
		return err
	}
	if wasAutomated {
		fmt.Fprintf(o.Out, "%s automated sync is now off for %s: turn it back on by editing spec.syncPolicy.automated (kubectl edit application %s -n %s)\n",
			newPalette(o.Out).Yellow("Note:"), o.Ref(o.Name), o.Name, o.Namespace)
	}
	detail := fmt.Sprintf(" to history %d (revision %s)", entry.ID, shortRevision(entry.Revision))
	if o.Prune {
		detail += " with prune"
	}
	return o.follow(ctx, req, "rollback", detail, o.Async, o.Timeout)
}

// entry finds the history entry to roll back to.
func (o *RollbackOptions) entry(app *argov1.Application) (argov1.RevisionHistory, error) {
	history := app.Status.History
	fix := fmt.Sprintf("see the history with kubectl argo app history %s%s", app.Name, o.NSFlag(app.Namespace))
	if len(history) == 0 {
		return argov1.RevisionHistory{}, &cli.Error{
			Problem: fmt.Sprintf("application %s has no history: it has not synced successfully yet", o.Ref(app.Name)),
			Fix:     "sync it with kubectl argo app sync " + app.Name + o.NSFlag(app.Namespace),
		}
	}
	if o.ID == "" {
		if len(history) < 2 {
			return argov1.RevisionHistory{}, &cli.Error{
				Problem: fmt.Sprintf("application %s has one history entry (%d), the deployed one: there is nothing before it to roll back to",
					o.Ref(app.Name), history[0].ID),
				Fix: fix,
			}
		}
		return history[len(history)-2], nil
	}
	id, err := strconv.ParseInt(o.ID, 10, 64)
	if err != nil {
		return argov1.RevisionHistory{}, fmt.Errorf("ID %q: a history ID is a number: %w", o.ID, err)
	}
	var ids []string
	for _, h := range history {
		if h.ID == id {
			return h, nil
		}
		ids = append(ids, strconv.FormatInt(h.ID, 10))
	}
	return argov1.RevisionHistory{}, &cli.Error{
		Problem: fmt.Sprintf("application %s has no history entry %d: its entries are %s", o.Ref(app.Name), id, strings.Join(ids, ", ")),
		Fix:     fix,
	}
}
