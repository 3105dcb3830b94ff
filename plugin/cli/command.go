package cli

import (
	"context"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Options is what every command's options struct implements: Complete fills
// in what the arguments and flags imply, Validate rejects bad ones before
// any request, Run does the work.
type Options interface {
	Complete(cmd *cobra.Command, args []string) error
	Validate() error
	Run(ctx context.Context) error
}

// RunE is the cobra RunE of a command with options o.
func RunE(o Options) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := o.Complete(cmd, args); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		return o.Run(cmd.Context())
	}
}

// EnsureClients builds *clients from the kubeconfig flags unless a test has
// already set it.
func EnsureClients(clients **Clients, flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) error {
	if *clients != nil {
		return nil
	}
	c, err := NewClients(flags, streams.ErrOut)
	if err != nil {
		return err
	}
	*clients = c
	return nil
}
