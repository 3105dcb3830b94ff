package root

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// shells maps each supported shell to its script generator.
var shells = map[string]func(root *cobra.Command, streams genericiooptions.IOStreams) error{
	"bash": func(root *cobra.Command, s genericiooptions.IOStreams) error {
		return root.GenBashCompletionV2(s.Out, true)
	},
	"zsh": func(root *cobra.Command, s genericiooptions.IOStreams) error { return root.GenZshCompletion(s.Out) },
	"fish": func(root *cobra.Command, s genericiooptions.IOStreams) error {
		return root.GenFishCompletion(s.Out, true)
	},
	"powershell": func(root *cobra.Command, s genericiooptions.IOStreams) error {
		return root.GenPowerShellCompletionWithDesc(s.Out)
	},
}

// newCompletionCmd returns `completion SHELL`. cobra's default command would
// do, but its help cannot explain kubectl's plugin completion.
func newCompletionCmd(streams genericiooptions.IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print the shell completion script",
		Long: `Print the completion script of kubectl-argo for a shell.

kubectl 1.26 and later complete plugins through an executable named
kubectl_complete-argo on your PATH:

  cat > ~/.local/bin/kubectl_complete-argo <<'SH'
  #!/usr/bin/env sh
  kubectl argo __complete "$@"
  SH
  chmod +x ~/.local/bin/kubectl_complete-argo

To complete the kubectl-argo binary itself, load this script in your shell.`,
		Example: `  source <(kubectl argo completion bash)
  kubectl argo completion zsh > "${fpath[1]}/_kubectl-argo"
  kubectl argo completion fish > ~/.config/fish/completions/kubectl-argo.fish`,
		ValidArgs:             []string{"bash", "zsh", "fish", "powershell"},
		Args:                  cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			gen, ok := shells[args[0]]
			if !ok {
				return fmt.Errorf("unsupported shell %q: use bash, zsh, fish or powershell", args[0])
			}
			return gen(cmd.Root(), streams)
		},
	}
}
