// Package root owns the kubectl-argo command tree: the root command shown as
// `kubectl argo`, the kubeconfig flags every subcommand shares, shell
// completion, and how errors reach the user.
package root

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/klog/v2"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/argolite/argolite/plugin/app"
	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/plugin/cron"
	"github.com/argolite/argolite/plugin/events"
	"github.com/argolite/argolite/plugin/install"
	"github.com/argolite/argolite/plugin/rollout"
	"github.com/argolite/argolite/plugin/status"
	"github.com/argolite/argolite/plugin/template"
	"github.com/argolite/argolite/plugin/version"
	"github.com/argolite/argolite/plugin/wf"
)

// Run executes the command line args and returns the process exit code.
func Run(ctx context.Context, streams genericiooptions.IOStreams, args []string) int {
	// Errors reach the user explained, once; client-go's and
	// controller-runtime's logs would repeat them as noise.
	klog.SetLogger(logr.Discard())
	ctrllog.SetLogger(logr.Discard())

	cmd := NewCmd(streams)
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(ctx); err != nil {
		var exit *cli.ExitError
		if errors.As(err, &exit) {
			if !exit.Silent {
				PrintError(streams.ErrOut, err)
			}
			return exit.Code
		}
		PrintError(streams.ErrOut, err)
		return 1
	}
	return 0
}

// PrintError writes err the way kubectl does: "error: ..." on one line.
func PrintError(w io.Writer, err error) {
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(w, "interrupted")
		return
	}
	fmt.Fprintf(w, "%s %v\n", cli.NewPalette(w).Red("error:"), err)
}

// NewCmd returns the root command with every subcommand.
func NewCmd(streams genericiooptions.IOStreams) *cobra.Command {
	flags := genericclioptions.NewConfigFlags(true).WithWarningPrinter(streams)
	cmd := &cobra.Command{
		Use:   "kubectl-argo",
		Short: "Argo's GitOps, workflows, rollouts and events in one small agent",
		Long: `kubectl argo installs and drives argolite: one small agent per cluster that
does what Argo CD, Argo Workflows, Argo Rollouts and Argo Events do, driven
entirely from this kubectl plugin.

Start with kubectl argo install, then kubectl argo status.`,
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl argo"},
		// Usage after every runtime error buries the message; flag errors
		// point at --help instead (see SetFlagErrorFunc).
		SilenceUsage:  true,
		SilenceErrors: true,
		CompletionOptions: cobra.CompletionOptions{
			DisableDefaultCmd: true, // replaced by newCompletionCmd
		},
	}
	cmd.SetIn(streams.In)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w\nSee '%s --help' for usage", err, c.CommandPath())
	})
	flags.AddFlags(cmd.PersistentFlags())
	registerFlagCompletion(cmd, flags)

	cmd.AddCommand(
		install.NewCmd(flags, streams),
		app.NewCmd(flags, streams),
		wf.NewCmd(flags, streams),
		template.NewCmd(flags, streams),
		cron.NewCmd(flags, streams),
		rollout.NewCmd(flags, streams),
		events.NewCmd(flags, streams),
		install.NewUninstallCmd(flags, streams),
		status.NewCmd(flags, streams),
		version.NewCmd(flags, streams),
		newCompletionCmd(streams),
	)
	return cmd
}

// registerFlagCompletion completes --context and --cluster from the kubeconfig.
func registerFlagCompletion(cmd *cobra.Command, flags *genericclioptions.ConfigFlags) {
	fromKubeconfig := func(names func(*clientcmdapi.Config) []string) cobra.CompletionFunc {
		return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			raw, err := flags.ToRawKubeConfigLoader().RawConfig()
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return slices.Sorted(slices.Values(names(&raw))), cobra.ShellCompDirectiveNoFileComp
		}
	}
	_ = cmd.RegisterFlagCompletionFunc("context", fromKubeconfig(func(c *clientcmdapi.Config) []string {
		return slices.Collect(maps.Keys(c.Contexts))
	}))
	_ = cmd.RegisterFlagCompletionFunc("cluster", fromKubeconfig(func(c *clientcmdapi.Config) []string {
		return slices.Collect(maps.Keys(c.Clusters))
	}))
}
