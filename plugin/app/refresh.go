package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// RefreshAnnotation asks the agent for a refresh; it removes it when done.
var RefreshAnnotation = argov1.Prefix + argov1.AnnotationRefresh

// Refresh modes, the values of RefreshAnnotation.
const (
	RefreshNormal = "normal"
	RefreshHard   = "hard"
)

const defaultRefreshTimeout = time.Minute

// RefreshOptions are the flags and state of `kubectl argo app refresh`.
type RefreshOptions struct {
	Common
	Name    string
	Hard    bool
	Timeout time.Duration
}

// NewRefreshOptions returns options with default flags.
func NewRefreshOptions(c Common) *RefreshOptions {
	return &RefreshOptions{Common: c, Timeout: defaultRefreshTimeout}
}

func newRefreshCmd(o *RefreshOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "refresh NAME",
		Short: "Have the agent compare Git and the cluster again now",
		Long: `Ask the agent to refresh an Application now rather than at its next poll: resolve
the Git revision again and compare the manifests with the live objects. With
--hard the agent also renders the manifests again instead of using its cache.

A refresh changes nothing in the cluster (unless automated sync is on and finds
a difference). The command waits until the agent has handled the request, then
prints the sync status and health.`,
		Example: `  kubectl argo app refresh guestbook

  # Render again too, for example after a Helm chart dependency changed
  kubectl argo app refresh guestbook --hard`,
		Args:              cobra.ExactArgs(1),
		RunE:              cli.RunE(o),
		ValidArgsFunction: completeNames(&o.Common, false),
	}
	cmd.Flags().BoolVar(&o.Hard, "hard", false, "Also render the manifests again instead of using the agent's cache.")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", o.Timeout, "How long to wait for the agent to refresh.")
	return cmd
}

// Complete takes the name and builds the clients.
func (o *RefreshOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	return o.Common.Complete()
}

// Validate checks the flags.
func (o *RefreshOptions) Validate() error { return cli.ValidateTimeout("timeout", o.Timeout) }

// Run refreshes the Application and prints its state.
func (o *RefreshOptions) Run(ctx context.Context) error {
	app, err := o.refresh(ctx, o.Name, o.Hard, o.Timeout, o.Out)
	if err != nil {
		return err
	}
	printState(o.Out, "Refreshed", app, newPalette(o.Out))
	return nil
}

// printState prints "[prefix ]ns/name: Synced, Healthy at abc1234" and why
// the Application is not Ready.
func printState(out io.Writer, prefix string, app *argov1.Application, pal palette) {
	if prefix != "" {
		prefix += " "
	}
	line := fmt.Sprintf("%s%s/%s: %s, %s", prefix, app.Namespace, app.Name,
		pal.sync(orUnknown(app.Status.Sync.Status)), pal.health(orUnknown(app.Status.Health.Status)))
	if rev := app.Status.Sync.Revision; rev != "" {
		line += " at " + shortRevision(rev)
	}
	if app.Status.Health.Message != "" && app.Status.Health.Status != argov1.HealthHealthy {
		line += " (" + app.Status.Health.Message + ")"
	}
	fmt.Fprintln(out, line)
	if r := notReady(app); r != "" {
		fmt.Fprintln(out, pal.Red(r))
	}
}

// refresh sets the refresh annotation and waits until the agent removes it,
// showing progress on out (nil: the error stream). It returns the
// Application as the agent left it.
func (c *Common) refresh(ctx context.Context, name string, hard bool, timeout time.Duration, out io.Writer) (*argov1.Application, error) {
	mode := RefreshNormal
	if hard {
		mode = RefreshHard
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{RefreshAnnotation: mode}}})
	if err != nil {
		return nil, err
	}
	app := &argov1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: c.Namespace, Name: name}}
	if err := c.Clients.Client.Patch(ctx, app, client.RawPatch(types.MergePatchType, patch)); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, c.notFound(name, err)
		}
		return nil, c.explain(fmt.Errorf("asking for a refresh of application %s: %w", c.Ref(name), err))
	}
	if out == nil {
		out = c.ErrOut
	}
	ctx, cancel := cli.WithTimeout(ctx, timeout)
	defer cancel()
	progress := cli.NewProgress(out)
	_, err = cli.Poll(ctx, progress, c.Interval, "", func(ctx context.Context) (bool, string, error) {
		got, err := c.getApp(ctx, name)
		if err != nil {
			return false, "", err
		}
		app = got
		_, pending := app.Annotations[RefreshAnnotation]
		return !pending, fmt.Sprintf("Waiting for the agent to refresh %s (%s)", c.Ref(name), mode), nil
	})
	switch {
	case err == nil:
		progress.Clear()
		return app, nil
	case ctx.Err() != nil:
		return nil, cli.WaitTimeout(ctx, timeout, "the agent to refresh "+c.Ref(name),
			"check that the agent runs with kubectl argo status; the "+RefreshAnnotation+" annotation stays until an agent handles it")
	}
	return nil, err
}
