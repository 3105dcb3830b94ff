package wf

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/argolite/argolite/plugin/cli"
)

// WaitOptions are the flags and state of `kubectl argo wf wait`.
type WaitOptions struct {
	Common

	Names   []string
	Timeout time.Duration
}

// NewWaitOptions returns options with default flags.
func NewWaitOptions(c Common) *WaitOptions { return &WaitOptions{Common: c} }

func newWaitCmd(o *WaitOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "wait NAME...",
		Short: "Wait until workflows end; exit non-zero when one did not succeed",
		Long: `Wait until each named workflow has ended, with a progress line that says
which steps run. Then print each one's phase, duration and, when it did not
succeed, its message and the first failed step's.

The exit code is 0 when every workflow Succeeded and 1 otherwise (or when
--timeout ran out).`,
		Example: `  kubectl argo wf wait build-x7k2p

  # In CI
  kubectl argo wf wait build-x7k2p test-9dq2l --timeout 30m`,
		Args:              cobra.MinimumNArgs(1),
		RunE:              cli.RunE(o),
		ValidArgsFunction: completeNames(&o.Common, true, nil),
	}
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 0, "How long to wait (default: until the workflows end).")
	return cmd
}

// Complete takes the names and builds the clients.
func (o *WaitOptions) Complete(_ *cobra.Command, args []string) error {
	o.Names = args
	return o.Common.Complete()
}

// Validate checks the flags.
func (o *WaitOptions) Validate() error {
	if o.Timeout != 0 {
		return cli.ValidateTimeout("timeout", o.Timeout)
	}
	return nil
}

// Run waits.
func (o *WaitOptions) Run(ctx context.Context) error {
	return o.follow(ctx, o.Names, followOptions{wait: true, timeout: o.Timeout})
}
