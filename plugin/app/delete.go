package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// DeleteOptions are the flags and state of `kubectl argo app delete`.
type DeleteOptions struct {
	Common

	Names   []string
	Cascade bool
	Wait    bool
	Timeout time.Duration
}

// NewDeleteOptions returns options with default flags.
func NewDeleteOptions(c Common) *DeleteOptions {
	return &DeleteOptions{Common: c, Cascade: true, Wait: true, Timeout: defaultOperationTimeout}
}

func newDeleteCmd(o *DeleteOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete NAME...",
		Short: "Delete Applications and, unless --cascade=false, the objects they deployed",
		Long: `Delete Applications. By default (--cascade) the agent first deletes every object
the Application deployed, then lets the Application go: the command makes sure
the Application carries the ` + argov1.ResourcesFinalizer + ` finalizer
that makes the agent do so. With --cascade=false the objects stay in the
cluster, no longer managed (the command sets ` + argov1.AnnotationCascade + `=false first).

The command waits until the Applications are gone, with a progress line, unless
--wait=false. An Application that stays is held by its finalizer: the agent
must be running to remove it.`,
		Example: `  # Delete the Application and everything it deployed
  kubectl argo app delete guestbook

  # Stop managing the objects but leave them running
  kubectl argo app delete guestbook --cascade=false

  # Do not wait
  kubectl argo app delete guestbook api --wait=false`,
		Args:              cobra.MinimumNArgs(1),
		RunE:              cli.RunE(o),
		ValidArgsFunction: completeNames(&o.Common, true),
	}
	f := cmd.Flags()
	f.BoolVar(&o.Cascade, "cascade", o.Cascade, "Delete the objects the Application deployed too; --cascade=false leaves them in the cluster.")
	f.BoolVar(&o.Wait, "wait", o.Wait, "Wait until the Applications are gone.")
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "How long to wait for the Applications to be gone.")
	return cmd
}

// Complete takes the names and builds the clients.
func (o *DeleteOptions) Complete(_ *cobra.Command, args []string) error {
	o.Names = args
	return o.Common.Complete()
}

// Validate checks the flags.
func (o *DeleteOptions) Validate() error { return cli.ValidateTimeout("timeout", o.Timeout) }

// Run marks and deletes every Application, then waits for them to be gone.
func (o *DeleteOptions) Run(ctx context.Context) error {
	for _, name := range o.Names {
		if err := o.delete(ctx, name); err != nil {
			return err
		}
	}
	if !o.Wait {
		for _, name := range o.Names {
			fmt.Fprintf(o.Out, "%s/%s deletion requested\n", Resource, name)
		}
		return nil
	}
	return o.waitGone(ctx)
}

// delete prepares the Application for the agent (cascade annotation or
// finalizer), then deletes it.
func (o *DeleteOptions) delete(ctx context.Context, name string) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		app, err := o.getApp(ctx, name)
		if err != nil {
			return err
		}
		if app.DeletionTimestamp != nil {
			return nil // deleting already; finalizers can no longer be added
		}
		before := app.DeepCopy()
		if o.Cascade {
			if app.Annotations[argov1.AnnotationCascade] == "false" {
				delete(app.Annotations, argov1.AnnotationCascade)
			}
			if !slices.Contains(app.Finalizers, argov1.ResourcesFinalizer) {
				app.Finalizers = append(app.Finalizers, argov1.ResourcesFinalizer)
			}
		} else {
			if app.Annotations == nil {
				app.Annotations = map[string]string{}
			}
			app.Annotations[argov1.AnnotationCascade] = "false"
		}
		if equality.Semantic.DeepEqual(before, app) {
			return nil
		}
		return o.Clients.Client.Patch(ctx, app, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	})
	var explained *cli.Error
	switch {
	case errors.As(err, &explained):
		return err
	case apierrors.IsNotFound(err):
		return o.notFound(name, err)
	case err != nil:
		return o.explain(fmt.Errorf("preparing application %s for deletion: %w", o.Ref(name), err))
	}
	app := &argov1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: o.Namespace, Name: name}}
	if err := o.Clients.Client.Delete(ctx, app); err != nil && !apierrors.IsNotFound(err) {
		return o.explain(fmt.Errorf("deleting application %s: %w", o.Ref(name), err))
	}
	return nil
}

// waitGone waits until every Application is gone.
func (o *DeleteOptions) waitGone(ctx context.Context) error {
	ctx, cancel := cli.WithTimeout(ctx, o.Timeout)
	defer cancel()
	progress := cli.NewProgress(o.Out)
	gone := map[string]bool{}
	var left []string
	_, err := cli.Poll(ctx, progress, o.Interval, "", func(ctx context.Context) (bool, string, error) {
		var msgs []string
		left = nil
		for _, name := range o.Names {
			if gone[name] {
				continue
			}
			app := &argov1.Application{}
			err := o.Clients.Client.Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: name}, app)
			if apierrors.IsNotFound(err) {
				gone[name] = true
				progress.Clear()
				fmt.Fprintf(o.Out, "%s/%s deleted\n", Resource, name)
				continue
			}
			if err != nil {
				return false, "", o.explain(fmt.Errorf("reading application %s: %w", o.Ref(name), err))
			}
			left = append(left, name)
			msg := name
			if len(app.Finalizers) > 0 {
				what := "its objects"
				if app.Annotations[argov1.AnnotationCascade] == "false" {
					what = "its finalizer (leaving its objects)"
				}
				msg += fmt.Sprintf(" (the agent is removing %s; finalizers %s)", what, strings.Join(app.Finalizers, ", "))
			}
			if r := notReady(app); r != "" {
				msg += "; " + r
			}
			msgs = append(msgs, msg)
		}
		return len(msgs) == 0, "Waiting for the deletion of " + strings.Join(msgs, ", "), nil
	})
	if err == nil {
		return nil
	}
	if ctx.Err() == nil {
		return err
	}
	names := strings.Join(left, ", ")
	first := "NAME"
	if len(left) > 0 {
		first = left[0]
	}
	return cli.WaitTimeout(ctx, o.Timeout, "the deletion of "+names+" in namespace "+o.Namespace,
		fmt.Sprintf("the agent removes the %s finalizer once it has deleted the objects: check it with kubectl argo status and see the conditions with kubectl argo app get %s%s; "+
			"to let the Application go without the agent (its objects stay), run kubectl patch application %s -n %s --type merge -p '{\"metadata\":{\"finalizers\":null}}'",
			argov1.ResourcesFinalizer, first, o.NSFlag(o.Namespace), first, o.Namespace))
}
