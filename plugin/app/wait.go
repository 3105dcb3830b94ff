package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// WaitOptions are the flags and state of `kubectl argo app wait`.
type WaitOptions struct {
	Common

	Names     []string
	Sync      bool
	Health    bool
	Operation bool
	Timeout   time.Duration
}

// NewWaitOptions returns options with default flags.
func NewWaitOptions(c Common) *WaitOptions {
	return &WaitOptions{Common: c, Timeout: defaultOperationTimeout}
}

func newWaitCmd(o *WaitOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "wait NAME...",
		Short: "Wait until Applications are synced, healthy, or done with their operation",
		Long: `Wait until each named Application is Synced (--sync), Healthy (--health), or
has no sync operation requested or running (--operation). Without these flags it
waits until the Applications are Synced and Healthy.

A progress line shows what is still awaited; at the end each Application's
state is printed. When --timeout runs out the exit code is non-zero and the
error says what was awaited and the current state, including why the
Application is not Ready (such as a Git or render error).`,
		Example: `  kubectl argo app wait guestbook

  # In CI, after a push: until the new revision is deployed and healthy
  kubectl argo app wait guestbook api --timeout 10m

  # Until a sync requested with --async has finished
  kubectl argo app wait guestbook --operation`,
		Args:              cobra.MinimumNArgs(1),
		RunE:              cli.RunE(o),
		ValidArgsFunction: completeNames(&o.Common, true),
	}
	f := cmd.Flags()
	f.BoolVar(&o.Sync, "sync", false, "Wait until the Applications are Synced.")
	f.BoolVar(&o.Health, "health", false, "Wait until the Applications are Healthy.")
	f.BoolVar(&o.Operation, "operation", false, "Wait until no sync operation is requested or running.")
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "How long to wait.")
	return cmd
}

// Complete builds the clients and picks the default conditions.
func (o *WaitOptions) Complete(_ *cobra.Command, args []string) error {
	o.Names = args
	if !o.Sync && !o.Health && !o.Operation {
		o.Sync, o.Health = true, true
	}
	return o.Common.Complete()
}

// Validate checks the flags.
func (o *WaitOptions) Validate() error { return cli.ValidateTimeout("timeout", o.Timeout) }

// wanted says what the wait is for: "be Synced and Healthy", "have no
// operation running".
func (o *WaitOptions) wanted() string {
	var w []string
	if o.Sync {
		w = append(w, string(argov1.SyncStatusSynced))
	}
	if o.Health {
		w = append(w, string(argov1.HealthHealthy))
	}
	switch {
	case len(w) == 0:
		return "have no operation running"
	case o.Operation:
		return "be " + strings.Join(w, " and ") + " with no operation running"
	}
	return "be " + strings.Join(w, " and ")
}

// pending lists what app still lacks; empty when it is ready.
func (o *WaitOptions) pending(app *argov1.Application) []string {
	var p []string
	if app.Status.ObservedGeneration > 0 && app.Status.ObservedGeneration < app.Generation {
		// The status describes an older spec: it proves nothing yet.
		return []string{fmt.Sprintf("the agent has not seen the latest spec yet (generation %d, status of %d)",
			app.Generation, app.Status.ObservedGeneration)}
	}
	if o.Sync && app.Status.Sync.Status != argov1.SyncStatusSynced {
		p = append(p, "sync "+orUnknown(app.Status.Sync.Status))
	}
	if o.Health && app.Status.Health.Status != argov1.HealthHealthy {
		h := "health " + orUnknown(app.Status.Health.Status)
		if app.Status.Health.Message != "" {
			h += " (" + app.Status.Health.Message + ")"
		}
		p = append(p, h)
	}
	if o.Operation {
		if app.Operation != nil {
			p = append(p, "a sync is requested and the agent has not started it")
		} else if st := app.Status.OperationState; st != nil && !finished(st.Phase) {
			op := "a sync is " + strings.ToLower(string(st.Phase))
			if st.Message != "" {
				op += " (" + st.Message + ")"
			}
			p = append(p, op)
		}
	}
	return p
}

// Run waits for every Application.
func (o *WaitOptions) Run(ctx context.Context) error {
	ctx, cancel := cli.WithTimeout(ctx, o.Timeout)
	defer cancel()
	apps, err := cli.WaitAll(ctx, o.Out, o.Interval, o.Names, o.getApp, func(app *argov1.Application) string {
		return strings.Join(o.pending(app), ", ")
	})
	if err != nil {
		if ctx.Err() == nil {
			return err
		}
		var states []string
		fix := "see why with kubectl argo app get NAME"
		for _, name := range o.Names {
			app, ok := apps[name]
			if !ok || len(o.pending(app)) == 0 {
				continue
			}
			states = append(states, name+" ("+state(app)+")")
			fix = fmt.Sprintf("see why with kubectl argo app get %s%s", name, o.NSFlag(o.Namespace))
		}
		what := fmt.Sprintf("%s to %s: %s", cli.Plural(len(o.Names), "application"), o.wanted(), strings.Join(states, "; "))
		if len(o.Names) == 1 {
			what = fmt.Sprintf("%s to %s", o.Ref(o.Names[0]), o.wanted())
			if app := apps[o.Names[0]]; app != nil {
				what += ": it is " + state(app)
			}
		}
		return cli.WaitTimeout(ctx, o.Timeout, what, fix+", or wait longer with --timeout")
	}
	pal := newPalette(o.Out)
	for _, name := range o.Names {
		app := apps[name]
		printState(o.Out, "", app, pal)
		if st := app.Status.OperationState; o.Operation && st != nil {
			line := "  last sync " + pal.phase(string(st.Phase)) + initiator(st.Operation.InitiatedBy)
			if st.Message != "" {
				line += ": " + st.Message
			}
			fmt.Fprintln(o.Out, line)
		}
	}
	return nil
}
