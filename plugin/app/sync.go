package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/argolite/argolite/plugin/cli"

	"github.com/spf13/cobra"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

const defaultOperationTimeout = 5 * time.Minute

// SyncOptions are the flags and state of `kubectl argo app sync`.
type SyncOptions struct {
	Common

	Name        string
	Prune       bool
	DryRun      bool
	Revision    string
	Resources   []string
	SyncOptions []string
	Async       bool
	Timeout     time.Duration

	resources []argov1.SyncOperationResource
}

// NewSyncOptions returns options with default flags.
func NewSyncOptions(c Common) *SyncOptions {
	return &SyncOptions{Common: c, Timeout: defaultOperationTimeout}
}

func newSyncCmd(o *SyncOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sync NAME",
		Short: "Apply an Application's manifests from Git now, and follow the sync",
		Long: `Ask the agent to sync an Application now: render the manifests at the target
revision (or --revision), apply them wave by wave with their hooks, and with
--prune delete the objects that left Git.

The command sets the Application's operation field, which the agent picks up,
and follows the sync: a progress line with what the current wave waits for,
and each object's result as it comes. At the end it prints every result; the
exit code is non-zero when the sync failed. With --async it returns as soon as
the request is made.

A sync is refused while another operation is requested or running: wait for it
with kubectl argo app wait NAME --operation.

--resource limits the sync to some objects, as GROUP:KIND:NAME or
GROUP:KIND:NAMESPACE/NAME; the core group is empty (:Service:web).`,
		Example: `  kubectl argo app sync guestbook

  # Delete what left Git too
  kubectl argo app sync guestbook --prune

  # Try a branch without changing anything
  kubectl argo app sync guestbook --revision feature/x --dry-run

  # Only the Deployment and the Service named web
  kubectl argo app sync guestbook --resource apps:Deployment:web --resource :Service:web

  # Request the sync and return; follow it later
  kubectl argo app sync guestbook --async
  kubectl argo app wait guestbook --operation`,
		Args:              cobra.ExactArgs(1),
		RunE:              cli.RunE(o),
		ValidArgsFunction: completeNames(&o.Common, false),
	}
	f := cmd.Flags()
	f.BoolVar(&o.Prune, "prune", false, "Delete the objects that left Git, even when automated prune is off.")
	f.BoolVar(&o.DryRun, "dry-run", false, "Sync with server-side dry-run: report what would change, change nothing.")
	f.StringVar(&o.Revision, "revision", "", "Branch, tag or commit to sync to instead of the target revision.")
	f.StringArrayVar(&o.Resources, "resource", nil, "Sync only this object: GROUP:KIND:NAME or GROUP:KIND:NAMESPACE/NAME (repeatable).")
	f.StringArrayVar(&o.SyncOptions, "sync-option", nil, "Sync option for this sync only, such as Replace=true (repeatable).")
	f.BoolVar(&o.Async, "async", false, "Return once the sync is requested instead of waiting for it.")
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "How long to wait for the sync to finish.")
	return cmd
}

// Complete takes the name and builds the clients.
func (o *SyncOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	return o.Common.Complete()
}

// Validate checks the flags.
func (o *SyncOptions) Validate() error {
	if err := cli.ValidateTimeout("timeout", o.Timeout); err != nil {
		return err
	}
	o.resources = nil
	for _, s := range o.Resources {
		r, err := parseResource(s)
		if err != nil {
			return err
		}
		o.resources = append(o.resources, r)
	}
	for _, opt := range o.SyncOptions {
		if !strings.Contains(opt, "=") {
			return fmt.Errorf("--sync-option %q: use NAME=VALUE, such as Replace=true", opt)
		}
	}
	return nil
}

// parseResource parses GROUP:KIND:NAME or GROUP:KIND:NAMESPACE/NAME.
func parseResource(s string) (argov1.SyncOperationResource, error) {
	parts := strings.SplitN(s, ":", 3)
	bad := func(why string) error {
		return fmt.Errorf("--resource %q: %s; use GROUP:KIND:NAME or GROUP:KIND:NAMESPACE/NAME, with an empty group for core kinds (:Service:web, apps:Deployment:team/web)", s, why)
	}
	if len(parts) != 3 {
		return argov1.SyncOperationResource{}, bad("expected three parts separated by ':'")
	}
	r := argov1.SyncOperationResource{Group: parts[0], Kind: parts[1], Name: parts[2]}
	if ns, name, ok := strings.Cut(parts[2], "/"); ok {
		r.Namespace, r.Name = ns, name
		if ns == "" {
			return r, bad("the namespace before '/' is empty")
		}
	}
	switch {
	case r.Kind == "":
		return r, bad("the kind is empty")
	case r.Name == "":
		return r, bad("the name is empty")
	case strings.Contains(r.Name, "/"):
		return r, bad("the name has more than one '/'")
	}
	return r, nil
}

// Run requests the sync and, unless --async, follows it.
func (o *SyncOptions) Run(ctx context.Context) error {
	op := argov1.Operation{
		Sync: &argov1.SyncOperation{
			Revision:    o.Revision,
			Prune:       o.Prune,
			DryRun:      o.DryRun,
			Resources:   o.resources,
			SyncOptions: o.SyncOptions,
		},
		InitiatedBy: argov1.OperationInitiator{Username: o.User},
	}
	req, err := o.startOperation(ctx, o.Name, func(*argov1.Application) (argov1.Operation, error) { return op, nil })
	if err != nil {
		return err
	}
	return o.follow(ctx, req, "sync", describeSync(op.Sync), o.Async, o.Timeout)
}

// describeSync is what a sync request asks for, in words.
func describeSync(s *argov1.SyncOperation) string {
	var parts []string
	if s.Revision != "" {
		parts = append(parts, "revision "+s.Revision)
	}
	if s.Prune {
		parts = append(parts, "with prune")
	}
	if s.DryRun {
		parts = append(parts, "dry run")
	}
	if n := len(s.Resources); n > 0 {
		parts = append(parts, "only "+cli.Plural(n, "resource"))
	}
	if len(s.SyncOptions) > 0 {
		parts = append(parts, "options "+strings.Join(s.SyncOptions, ", "))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// follow reports a requested operation and, unless async, waits for it and
// prints its results.
func (c *Common) follow(ctx context.Context, req *request, what, detail string, async bool, timeout time.Duration) error {
	fmt.Fprintf(c.Out, "Requested a %s of %s%s.\n", what, c.Ref(req.name), detail)
	if async {
		fmt.Fprintf(c.Out, "Follow it with kubectl argo app wait %s --operation%s\n", req.name, c.NSFlag(c.Namespace))
		return nil
	}
	app, err := c.waitOperation(ctx, req, what, timeout)
	if err != nil {
		return err
	}
	return c.reportOperation(app, capitalize(what))
}
