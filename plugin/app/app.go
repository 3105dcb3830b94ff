// Package app owns `kubectl argo app`: creating, listing, inspecting,
// syncing, waiting for, rolling back, refreshing and deleting Applications.
//
// There is no API server between the plugin and the agent: every command
// reads and writes the Application through the Kubernetes API. A sync or a
// rollback sets the Application's top-level operation field, which the agent
// clears when it starts and reports in status.operationState; a refresh and
// a non-cascading delete are annotations the agent acts on.
//
// Each subcommand lives in a file of its own with an options struct
// (Complete, Validate, Run) that embeds Common: cli.Common and the user who
// initiates operations. A new subcommand (diff, manifests) adds its file and
// one line in NewCmd.
package app

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// Resource is how kubectl names Applications: application.argolite.dev.
var Resource = "application." + argov1.GroupVersion.Group

// DefaultUser initiates operations when the kubeconfig names no user.
const DefaultUser = "kubectl-argo"

// NewCmd returns `app` with its subcommands.
func NewCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmd(flags, streams, nil)
}

// newCmd builds the command tree; setup, when set, adjusts every
// subcommand's Common (tests put fake clients and a fixed clock there).
func newCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, setup func(*Common)) *cobra.Command {
	common := cli.Each(func() Common { return Common{Common: cli.NewCommon(flags, streams)} }, setup)
	cmd := &cobra.Command{
		Use:     "app",
		Aliases: []string{"apps", "application", "applications"},
		Short:   "Deliver manifests from Git: create, sync and inspect Applications",
		Long: `Manage Applications: sets of manifests in Git (plain YAML, Kustomize or Helm)
that the argolite agent applies to this cluster and keeps in sync.

Applications follow Argo CD's field names, and app create -f accepts Argo CD's
argoproj.io/v1alpha1 Application files. Each Application lives in the namespace
you create it in (-n, or your kubeconfig's namespace), not in a central argocd
namespace, and deploys to the cluster whose agent reads it.

The plugin talks only to the Kubernetes API: sync and rollback set the
Application's operation field, which the agent picks up; refresh and delete
leave annotations the agent acts on.`,
		Example: `  # Deliver a directory of manifests and keep it in sync
  kubectl argo app create guestbook --repo https://github.com/argoproj/argocd-example-apps \
      --path guestbook --dest-namespace guestbook --sync-policy auto
  kubectl argo app wait guestbook

  # See what an Application manages and how its last sync went
  kubectl argo app get guestbook`,
	}
	cmd.AddCommand(
		newCreateCmd(&CreateOptions{Common: common()}),
		newListCmd(NewListOptions(common())),
		newGetCmd(NewGetOptions(common())),
		newDiffCmd(NewDiffOptions(common())),
		newSyncCmd(NewSyncOptions(common())),
		newWaitCmd(NewWaitOptions(common())),
		newHistoryCmd(NewHistoryOptions(common())),
		newRollbackCmd(NewRollbackOptions(common())),
		newRefreshCmd(NewRefreshOptions(common())),
		newDeleteCmd(NewDeleteOptions(common())),
		newManifestsCmd(NewManifestsOptions(common())),
	)
	return cmd
}

// Common is what every app subcommand shares: cli.Common, and who
// operations are initiated by.
type Common struct {
	cli.Common
	// User is who syncs and rollbacks are initiated by: the kubeconfig user.
	User string
}

// Complete builds the clients and resolves the namespace and user.
func (c *Common) Complete() error {
	if err := c.Common.Complete(); err != nil {
		return err
	}
	if c.User == "" {
		c.User = kubeconfigUser(c.ConfigFlags)
	}
	return nil
}

// kubeconfigUser is the user --as impersonates, or the kubeconfig user of
// the selected context, or DefaultUser when there is none.
func kubeconfigUser(flags *genericclioptions.ConfigFlags) string {
	if flags.Impersonate != nil && *flags.Impersonate != "" {
		return *flags.Impersonate
	}
	if flags.AuthInfoName != nil && *flags.AuthInfoName != "" {
		return *flags.AuthInfoName
	}
	raw, err := flags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return DefaultUser
	}
	name := raw.CurrentContext
	if flags.Context != nil && *flags.Context != "" {
		name = *flags.Context
	}
	if ctx, ok := raw.Contexts[name]; ok && ctx.AuthInfo != "" {
		return ctx.AuthInfo
	}
	return DefaultUser
}

func (c *Common) explain(err error) error { return c.Explain(err, "applications") }

// getApp reads the Application name in the namespace, explaining failures.
func (c *Common) getApp(ctx context.Context, name string) (*argov1.Application, error) {
	app := &argov1.Application{}
	err := c.Clients.Client.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: name}, app)
	if apierrors.IsNotFound(err) {
		return nil, c.notFound(name, err)
	}
	if err != nil {
		return nil, c.explain(fmt.Errorf("reading application %s: %w", c.Ref(name), err))
	}
	return app, nil
}

func (c *Common) notFound(name string, err error) error {
	return c.NotFound("application", name,
		"list the applications with kubectl argo app list (-A for every namespace), or pick the namespace with -n", err)
}

// completeNames completes Application names from the cluster. With many,
// each argument is a name (names already given are left out); otherwise
// only the first is.
func completeNames(c *Common, many bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if !many && len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		apps, err := c.listForCompletion(cmd.Context())
		if err != nil {
			return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
		}
		var names []cobra.Completion
		for _, app := range apps {
			if !strings.HasPrefix(app.Name, toComplete) || slices.Contains(args, app.Name) {
				continue
			}
			names = append(names, cobra.CompletionWithDesc(app.Name, statusWords(&app)))
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// listForCompletion lists the Applications in the namespace.
func (c *Common) listForCompletion(ctx context.Context) ([]argov1.Application, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := c.Complete(); err != nil {
		return nil, err
	}
	list := &argov1.ApplicationList{}
	if err := c.Clients.Client.List(ctx, list, client.InNamespace(c.Namespace)); err != nil {
		return nil, err
	}
	return list.Items, nil
}
