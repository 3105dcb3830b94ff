package install

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/utils"
	"github.com/spf13/cobra"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/manifests"
	"github.com/argolite/argolite/plugin/cli"
)

// UninstallOptions are the flags and state of `kubectl argo uninstall`.
type UninstallOptions struct {
	ConfigFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	// CRDs also deletes the CRDs, and with them every argolite object.
	CRDs    bool
	Timeout time.Duration

	// Clients are built from ConfigFlags in Complete unless set (tests set fakes).
	Clients *cli.Clients

	// interval is how often deletion is checked.
	interval time.Duration
}

// NewUninstallOptions returns options with the defaults of the flags.
func NewUninstallOptions(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *UninstallOptions {
	return &UninstallOptions{ConfigFlags: flags, IOStreams: streams, Timeout: 5 * time.Minute, interval: time.Second}
}

// NewUninstallCmd returns the uninstall command.
func NewUninstallCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	return newUninstallCmd(NewUninstallOptions(flags, streams))
}

func newUninstallCmd(o *UninstallOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove the argolite agent from the cluster",
		Long: `Remove the argolite agent: its Deployment, Service, RBAC and the argolite-system
namespace. The CRDs and every argolite object (Applications and the rest) stay, so
that installing again picks up where the agent left off.

With --crds the CRDs go too, and with them every argolite object in the cluster.
Their finalizers are removed first, because no agent is left to process them.`,
		Example: `  # Remove the agent, keep the CRDs and your objects
  kubectl argo uninstall

  # Remove everything argolite, including every Application
  kubectl argo uninstall --crds`,
		Args: cobra.NoArgs,
		RunE: cli.RunE(o),
	}
	cmd.Flags().BoolVar(&o.CRDs, "crds", o.CRDs, "Also delete argolite's CRDs and with them every argolite object in the cluster.")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", o.Timeout, "How long to wait for everything to be deleted.")
	return cmd
}

// Complete builds the clients.
func (o *UninstallOptions) Complete(*cobra.Command, []string) error {
	return cli.EnsureClients(&o.Clients, o.ConfigFlags, o.IOStreams)
}

// Validate checks the flags.
func (o *UninstallOptions) Validate() error {
	return cli.ValidateTimeout("timeout", o.Timeout)
}

// Run deletes the agent's objects, then with --crds the CRDs, and waits
// until they are gone.
func (o *UninstallOptions) Run(ctx context.Context) error {
	ctx, cancel := cli.WithTimeout(ctx, o.Timeout)
	defer cancel()

	objects, err := manifests.Objects(manifests.Options{})
	if err != nil {
		return fmt.Errorf("reading the embedded install manifests: %w", err)
	}
	var agentObjects, crds []*unstructured.Unstructured
	for _, obj := range objects {
		if utils.IsCRD(obj) {
			crds = append(crds, obj)
		} else {
			agentObjects = append(agentObjects, obj)
		}
	}
	presentAgent, err := o.present(ctx, agentObjects)
	if err != nil {
		return err
	}
	presentCRDs, err := o.present(ctx, crds)
	if err != nil {
		return err
	}

	switch {
	case len(presentAgent) == 0 && len(presentCRDs) == 0:
		fmt.Fprintln(o.Out, "argolite is not installed in this cluster: nothing to uninstall.")
		return nil
	case len(presentAgent) == 0 && !o.CRDs:
		fmt.Fprintf(o.Out, "The argolite agent is not installed in this cluster; its CRDs are (%s).\n", names(presentCRDs))
		fmt.Fprintln(o.Out, "To delete them, and with them every argolite object in the cluster, run kubectl argo uninstall --crds")
		return nil
	}

	if len(presentAgent) > 0 {
		if err := o.deleteAll(ctx, presentAgent); err != nil {
			return err
		}
		// The agent must be gone before the CRDs: it would otherwise still
		// act on the objects that deleting the CRDs deletes.
		if err := o.waitGone(ctx, presentAgent); err != nil {
			return err
		}
		fmt.Fprintln(o.Out, "Uninstalled the argolite agent.")
	}
	if !o.CRDs {
		if len(presentCRDs) > 0 {
			fmt.Fprintf(o.Out, "Kept the CRDs (%s) and every argolite object in the cluster.\n", names(presentCRDs))
			fmt.Fprintln(o.Out, "To delete them too, run kubectl argo uninstall --crds (this deletes every argolite object in the cluster).")
		}
		return nil
	}
	if len(presentCRDs) == 0 {
		return nil
	}
	fmt.Fprintln(o.Out, "Deleting the CRDs, which deletes every argolite object in the cluster.")
	for _, crd := range presentCRDs {
		if err := o.releaseObjects(ctx, crd.GetName()); err != nil {
			return err
		}
	}
	if err := o.deleteAll(ctx, presentCRDs); err != nil {
		return err
	}
	if err := o.waitGone(ctx, presentCRDs); err != nil {
		return err
	}
	fmt.Fprintln(o.Out, "Deleted argolite's CRDs and every argolite object.")
	return nil
}

// present returns those of objects that exist in the cluster, in delete order.
func (o *UninstallOptions) present(ctx context.Context, objects []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	var found []*unstructured.Unstructured
	for _, obj := range objects {
		live, err := o.live(ctx, obj)
		if err != nil {
			return nil, o.explain(ctx, err)
		}
		if live != nil {
			found = append(found, obj)
		}
	}
	// Dependents before what they depend on: the reverse of apply order.
	sort.Sort(sort.Reverse(ssa.SortableUnstructureds(found)))
	return found, nil
}

func (o *UninstallOptions) deleteAll(ctx context.Context, objects []*unstructured.Unstructured) error {
	colours := cli.NewPalette(o.Out)
	for _, obj := range objects {
		err := o.Clients.Client.Delete(ctx, obj.DeepCopy(), client.PropagationPolicy(metav1.DeletePropagationBackground))
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return o.explain(ctx, fmt.Errorf("deleting %s: %w", utils.FmtUnstructured(obj), err))
		}
		fmt.Fprintf(o.Out, "%s %s\n", utils.FmtUnstructured(obj), colours.Yellow(string(ssa.DeletedAction)))
	}
	return nil
}

// releaseObjects removes the finalizers of every object of a CRD: with the
// agent gone nobody would process them, and the CRD's deletion would hang.
func (o *UninstallOptions) releaseObjects(ctx context.Context, crdName string) error {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := o.Clients.Client.Get(ctx, client.ObjectKey{Name: crdName}, crd); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return o.explain(ctx, fmt.Errorf("reading CustomResourceDefinition %s: %w", crdName, err))
	}
	servedVersion := ""
	for _, v := range crd.Spec.Versions {
		if v.Served && (servedVersion == "" || v.Storage) {
			servedVersion = v.Name
		}
	}
	if servedVersion == "" {
		return nil
	}
	listKind := crd.Spec.Names.ListKind
	if listKind == "" {
		listKind = crd.Spec.Names.Kind + "List"
	}
	list := &unstructured.UnstructuredList{}
	list.SetAPIVersion(crd.Spec.Group + "/" + servedVersion)
	list.SetKind(listKind)
	if err := o.Clients.Client.List(ctx, list); err != nil {
		return o.explain(ctx, fmt.Errorf("listing %s: %w", crd.Spec.Names.Plural+"."+crd.Spec.Group, err))
	}
	released := 0
	for i := range list.Items {
		obj := &list.Items[i]
		if len(obj.GetFinalizers()) == 0 {
			continue
		}
		patch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`))
		if err := o.Clients.Client.Patch(ctx, obj, patch); err != nil && !apierrors.IsNotFound(err) {
			return o.explain(ctx, fmt.Errorf("removing the finalizers of %s: %w", utils.FmtUnstructured(obj), err))
		}
		released++
	}
	if len(list.Items) > 0 {
		fmt.Fprintf(o.Out, "Deleting CustomResourceDefinition/%s deletes %s (finalizers removed from %d).\n",
			crd.Name, count(len(list.Items), crd.Spec.Names.Kind), released)
	}
	return nil
}

// live returns obj as it is in the cluster, or nil when it does not exist.
func (o *UninstallOptions) live(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(obj.GroupVersionKind())
	err := o.Clients.Client.Get(ctx, client.ObjectKeyFromObject(obj), live)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", utils.FmtUnstructured(obj), err)
	}
	return live, nil
}

// waitGone waits until none of objects exists.
func (o *UninstallOptions) waitGone(ctx context.Context, objects []*unstructured.Unstructured) error {
	// remaining is the last complete count, for the timeout error.
	var remaining []string
	_, err := cli.Poll(ctx, cli.NewProgress(o.Out), o.interval, "", func(ctx context.Context) (bool, string, error) {
		var left []string
		for _, obj := range objects {
			live, err := o.live(ctx, obj)
			if err != nil {
				return false, "", err
			}
			if live == nil {
				continue
			}
			state := utils.FmtUnstructured(obj)
			if live.GetDeletionTimestamp() != nil {
				state += " (Terminating)"
			}
			left = append(left, state)
		}
		remaining = left
		msg := fmt.Sprintf("Waiting for %s to be deleted: %s", count(len(left), "object"), strings.Join(left, ", "))
		return len(left) == 0, msg, nil
	})
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return cli.WaitTimeout(ctx, o.Timeout, strings.Join(remaining, ", ")+" to be deleted",
			"see what holds them with kubectl get -o yaml (status.conditions and metadata.finalizers), or wait longer with --timeout")
	default:
		return o.explain(ctx, err)
	}
}

func (o *UninstallOptions) explain(ctx context.Context, err error) error {
	return explain(ctx, o.Clients, "uninstall", o.Timeout, err)
}

// names lists the names of objects alphabetically, not in delete order: a
// list of CRDs reads better that way.
func names(objects []*unstructured.Unstructured) string {
	var n []string
	for _, obj := range objects {
		n = append(n, obj.GetName())
	}
	slices.Sort(n)
	return strings.Join(n, ", ")
}

// count is "1 object" or "2 objects".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
