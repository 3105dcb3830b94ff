package wf

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// DeleteOptions are the flags and state of `kubectl argo wf delete`.
type DeleteOptions struct {
	Common

	Names         []string
	All           bool
	Completed     bool
	Older         time.Duration
	AllNamespaces bool
	Selector      string
}

// NewDeleteOptions returns options with default flags.
func NewDeleteOptions(c Common) *DeleteOptions { return &DeleteOptions{Common: c} }

func newDeleteCmd(o *DeleteOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete (NAME... | --all | --completed)",
		Short: "Delete workflows and their step Pods",
		Long: `Delete the named workflows, or all of the namespace (--all), or those that have
ended (--completed), optionally only those that ended more than --older ago.
Their step Pods go with them (they are owned by the workflow).`,
		Example: `  kubectl argo wf delete build-x7k2p

  # Clean up what ended more than a day ago
  kubectl argo wf delete --completed --older 24h`,
		RunE:              cli.RunE(o),
		ValidArgsFunction: completeNames(&o.Common, true, nil),
	}
	f := cmd.Flags()
	f.BoolVar(&o.All, "all", false, "Delete every workflow of the namespace.")
	f.BoolVar(&o.Completed, "completed", false, "Delete the workflows that have ended.")
	f.DurationVar(&o.Older, "older", 0, "With --completed: only those that ended more than this long ago, such as 24h.")
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "With --all or --completed: in every namespace.")
	f.StringVarP(&o.Selector, "selector", "l", "", "With --all or --completed: only workflows with these labels.")
	return cmd
}

// Complete takes the names, infers --completed from --older and builds the
// clients.
func (o *DeleteOptions) Complete(_ *cobra.Command, args []string) error {
	o.Names = args
	if o.Older > 0 && !o.All {
		o.Completed = true
	}
	return o.Common.Complete()
}

// Validate checks the flags.
func (o *DeleteOptions) Validate() error {
	bulk := o.All || o.Completed
	switch {
	case len(o.Names) == 0 && !bulk:
		return errors.New("name the workflows to delete, or pass --all or --completed")
	case len(o.Names) > 0 && bulk:
		return errors.New("NAMEs cannot be combined with --all or --completed")
	case o.All && o.Completed:
		return errors.New("--all includes --completed: keep one")
	case o.Older < 0:
		return fmt.Errorf("--older %s: must be positive", o.Older)
	case (o.AllNamespaces || o.Selector != "") && !bulk:
		return errors.New("-A and -l select workflows for --all or --completed")
	}
	return nil
}

// Run deletes the workflows.
func (o *DeleteOptions) Run(ctx context.Context) error {
	targets := []client.ObjectKey{}
	for _, name := range o.Names {
		targets = append(targets, client.ObjectKey{Namespace: o.Namespace, Name: name})
	}
	if o.All || o.Completed {
		list := &argov1.WorkflowList{}
		opts, err := cli.WithSelector(o.ListScope(o.AllNamespaces), o.Selector)
		if err != nil {
			return err
		}
		if err := o.Clients.Client.List(ctx, list, opts...); err != nil {
			return o.explain(fmt.Errorf("listing workflows: %w", err))
		}
		SortWorkflows(list.Items)
		now := o.Now()
		for _, wf := range list.Items {
			if o.Completed && !wf.Status.Phase.Completed() {
				continue
			}
			if o.Older > 0 && (wf.Status.FinishedAt.IsZero() || now.Sub(wf.Status.FinishedAt.Time) < o.Older) {
				continue
			}
			targets = append(targets, client.ObjectKeyFromObject(&wf))
		}
		if len(targets) == 0 {
			fmt.Fprintln(o.ErrOut, "No workflows to delete.")
			return nil
		}
	}
	for _, key := range targets {
		wf := &argov1.Workflow{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
		err := o.Clients.Client.Delete(ctx, wf, client.PropagationPolicy(metav1.DeletePropagationBackground))
		switch {
		case apierrors.IsNotFound(err) && len(o.Names) > 0:
			return o.notFound(key.Name, err)
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return o.explain(fmt.Errorf("deleting workflow %s/%s: %w", key.Namespace, key.Name, err))
		}
		name := key.Name
		if o.AllNamespaces {
			name = key.Namespace + "/" + key.Name
		}
		fmt.Fprintf(o.Out, "%s/%s deleted\n", Resource, name)
	}
	return nil
}
