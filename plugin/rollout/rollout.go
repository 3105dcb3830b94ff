// Package rollout owns `kubectl argo rollout`: listing, showing, watching,
// creating, promoting, aborting, retrying, pausing, undoing and changing
// the image of Rollouts, in the shapes of kubectl-argo-rollouts.
//
// Every operation is the patch Argo's CLI makes, on the Rollout's spec or
// its status subresource, with the resourceVersion it read; the agent acts
// on it.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// The labels and annotations the agent puts on what a Rollout owns (as
// Argo's).
const (
	labelPodTemplateHash = "rollouts-pod-template-hash"
	annotationRevision   = "rollout.argoproj.io/revision"
	forbidden            = "rollouts"
)

// NewCmd returns `rollout` with its subcommands.
func NewCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmd(flags, streams, nil)
}

func newCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, setup func(*cli.Common)) *cobra.Command {
	common := cli.Each(func() cli.Common { return cli.NewCommon(flags, streams) }, setup)
	cmd := &cobra.Command{
		Use:     "rollout",
		Aliases: []string{"rollouts", "ro"},
		Short:   "Progressive delivery: canary and blue/green Rollouts",
		Long: `Manage Rollouts: Deployment-like workloads that the agent moves to a new
version canary (step by step, by replicas or by Gateway API weights) or
blue/green (a preview Service, then a switch), gated by AnalysisRuns.

Rollouts follow Argo Rollouts' field names; create -f accepts Argo's
argoproj.io/v1alpha1 files. The commands are kubectl-argo-rollouts' own:
promote, abort, retry, pause, restart, undo and set image patch the Rollout as
it does.`,
		Example: `  kubectl argo rollout create -f rollout.yaml
  kubectl argo rollout set image rollouts-demo rollouts-demo=argoproj/rollouts-demo:yellow
  kubectl argo rollout get rollouts-demo -w
  kubectl argo rollout promote rollouts-demo
  kubectl argo rollout abort rollouts-demo`,
	}
	cmd.AddCommand(
		newListCmd(&listOptions{Common: common(), PrintFlags: genericclioptions.NewPrintFlags("")}),
		newGetCmd(&getOptions{Common: common(), PrintFlags: genericclioptions.NewPrintFlags("")}),
		newStatusCmd(&statusOptions{Common: common()}),
		newCreateCmd(&createOptions{Common: common()}),
		newLintCmd(&lintOptions{Common: common()}),
		newPromoteCmd(&promoteOptions{Common: common()}),
		newAbortCmd(&simpleOptions{Common: common()}),
		newRetryCmd(&simpleOptions{Common: common()}),
		newPauseCmd(&simpleOptions{Common: common()}),
		newUndoCmd(&undoOptions{Common: common()}),
		newRestartCmd(&restartOptions{Common: common()}),
		newSetCmd(common),
		newAnalysisRunCmd(common),
		newExperimentCmd(common),
	)
	return cmd
}

// getRollout reads the Rollout name.
func getRollout(ctx context.Context, c *cli.Common, name string) (*argov1.Rollout, error) {
	ro := &argov1.Rollout{}
	err := c.Clients.Client.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: name}, ro)
	if apierrors.IsNotFound(err) {
		return nil, notFound(c, name, err)
	}
	if err != nil {
		return nil, c.Explain(fmt.Errorf("reading rollout %s: %w", c.Ref(name), err), forbidden)
	}
	return ro, nil
}

func notFound(c *cli.Common, name string, err error) error {
	return c.NotFound("rollout", name, "list them with kubectl argo rollout list (-A for every namespace), or pick the namespace with -n", err)
}

// patchRollout changes the Rollout with change and patches its spec (status
// false) or its status subresource, with the resourceVersion it read,
// reading again on a conflict (the agent writes the status too).
func patchRollout(ctx context.Context, c *cli.Common, name, verb string, status bool, change func(*argov1.Rollout) error) (*argov1.Rollout, error) {
	var ro *argov1.Rollout
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		stored, err := getRollout(ctx, c, name)
		if err != nil {
			return err
		}
		ro = stored.DeepCopy()
		if err := change(ro); err != nil {
			return err
		}
		if equality.Semantic.DeepEqual(stored.Spec, ro.Spec) && equality.Semantic.DeepEqual(stored.Status, ro.Status) {
			return nil
		}
		patch := client.MergeFromWithOptions(stored, client.MergeFromWithOptimisticLock{})
		if status {
			return c.Clients.Client.Status().Patch(ctx, ro, patch)
		}
		out := ro.DeepCopy()
		out.Status = *stored.Status.DeepCopy()
		return c.Clients.Client.Patch(ctx, out, patch)
	})
	if err != nil {
		var explained *cli.Error
		switch {
		case errors.As(err, &explained):
			return nil, err
		case apierrors.IsConflict(err):
			return nil, &cli.Error{Problem: fmt.Sprintf("rollout %s kept changing while trying to %s it", c.Ref(name), verb), Fix: "run the command again", Err: err}
		}
		return nil, c.Explain(fmt.Errorf("trying to %s rollout %s: %w", verb, c.Ref(name), err), forbidden)
	}
	return ro, nil
}

// owned lists the ReplicaSets, Pods, AnalysisRuns and Experiments of a
// Rollout.
type owned struct {
	replicaSets []appsv1.ReplicaSet
	pods        []corev1.Pod
	runs        []argov1.AnalysisRun
	experiments []ownedExperiment
}

// ownedExperiment is an Experiment of the Rollout with its ReplicaSets and
// AnalysisRuns.
type ownedExperiment struct {
	argov1.Experiment
	replicaSets []appsv1.ReplicaSet
	runs        []argov1.AnalysisRun
}

func readOwned(ctx context.Context, c *cli.Common, ro *argov1.Rollout) (*owned, error) {
	o := &owned{}
	var rss appsv1.ReplicaSetList
	if err := c.Clients.Client.List(ctx, &rss, client.InNamespace(ro.Namespace), client.HasLabels{labelPodTemplateHash}); err != nil {
		return nil, c.Explain(fmt.Errorf("listing the ReplicaSets of rollout %s: %w", c.Ref(ro.Name), err), "replicasets")
	}
	hashes := map[string]bool{}
	for _, rs := range rss.Items {
		if metav1.IsControlledBy(&rs, ro) {
			o.replicaSets = append(o.replicaSets, rs)
			hashes[rs.Labels[labelPodTemplateHash]] = true
		}
	}
	slices.SortFunc(o.replicaSets, func(a, b appsv1.ReplicaSet) int { return revision(&b) - revision(&a) })
	var exs argov1.ExperimentList
	if err := c.Clients.Client.List(ctx, &exs, client.InNamespace(ro.Namespace)); err != nil {
		return nil, c.Explain(fmt.Errorf("listing the Experiments of rollout %s: %w", c.Ref(ro.Name), err), "experiments")
	}
	for _, ex := range exs.Items {
		if !metav1.IsControlledBy(&ex, ro) {
			continue
		}
		oe := ownedExperiment{Experiment: ex}
		for _, rs := range rss.Items {
			if metav1.IsControlledBy(&rs, &ex) {
				oe.replicaSets = append(oe.replicaSets, rs)
				hashes[rs.Labels[labelPodTemplateHash]] = true
			}
		}
		slices.SortFunc(oe.replicaSets, func(a, b appsv1.ReplicaSet) int { return strings.Compare(a.Name, b.Name) })
		o.experiments = append(o.experiments, oe)
	}
	slices.SortFunc(o.experiments, func(a, b ownedExperiment) int { return a.CreationTimestamp.Compare(b.CreationTimestamp.Time) })
	var pods corev1.PodList
	if err := c.Clients.Client.List(ctx, &pods, client.InNamespace(ro.Namespace), client.HasLabels{labelPodTemplateHash}); err != nil {
		return nil, c.Explain(fmt.Errorf("listing the Pods of rollout %s: %w", c.Ref(ro.Name), err), "pods")
	}
	for _, p := range pods.Items {
		if hashes[p.Labels[labelPodTemplateHash]] {
			o.pods = append(o.pods, p)
		}
	}
	slices.SortFunc(o.pods, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	var runs argov1.AnalysisRunList
	if err := c.Clients.Client.List(ctx, &runs, client.InNamespace(ro.Namespace)); err != nil {
		return nil, c.Explain(fmt.Errorf("listing the AnalysisRuns of rollout %s: %w", c.Ref(ro.Name), err), "analysisruns")
	}
	for _, r := range runs.Items {
		if metav1.IsControlledBy(&r, ro) {
			o.runs = append(o.runs, r)
		}
		for i := range o.experiments {
			if metav1.IsControlledBy(&r, &o.experiments[i].Experiment) {
				o.experiments[i].runs = append(o.experiments[i].runs, r)
			}
		}
	}
	slices.SortFunc(o.runs, func(a, b argov1.AnalysisRun) int { return a.CreationTimestamp.Compare(b.CreationTimestamp.Time) })
	return o, nil
}

func revision(rs *appsv1.ReplicaSet) int {
	var n int
	_, _ = fmt.Sscanf(rs.Annotations[annotationRevision], "%d", &n)
	return n
}
