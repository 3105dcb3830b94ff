package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/dynamic"

	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/shared/agentmeta"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/appsource"
	"github.com/argolite/argolite/shared/diff"
)

// Exit codes of `app diff`, kubectl diff's: 1 means differences, more an error.
const (
	exitDifferences = 1
	exitError       = 2
)

// cluster reads live objects and asks the API server what applying one
// would make of it. The dynamic client implements it; tests fake it.
type cluster interface {
	// Get reads an object; a missing one is a NotFound or NoMatch error.
	Get(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error)
	// DryRunApply is a server-side apply of obj with dryRun=All, force, and
	// the agent's field manager: what a sync would make the object.
	DryRunApply(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error)
}

// dynamicCluster is the cluster through client-go's dynamic client.
type dynamicCluster struct {
	client dynamic.Interface
	mapper meta.RESTMapper
}

// newDynamicCluster connects to the cluster the kubeconfig flags select,
// configured as cli.NewClients configures its clients.
func newDynamicCluster(flags *genericclioptions.ConfigFlags, mapper meta.RESTMapper, warnings io.Writer) (*dynamicCluster, error) {
	cfg, err := cli.RESTConfig(flags, warnings)
	if err != nil {
		return nil, err
	}
	c, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating a dynamic client for %s: %w", cfg.Host, err)
	}
	return &dynamicCluster{client: c, mapper: mapper}, nil
}

func (c *dynamicCluster) resource(gvk schema.GroupVersionKind, namespace string) (dynamic.ResourceInterface, error) {
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return c.client.Resource(m.Resource).Namespace(namespace), nil
	}
	return c.client.Resource(m.Resource), nil
}

func (c *dynamicCluster) Get(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error) {
	r, err := c.resource(gvk, namespace)
	if err != nil {
		return nil, err
	}
	return r.Get(ctx, name, metav1.GetOptions{})
}

func (c *dynamicCluster) DryRunApply(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	r, err := c.resource(obj.GroupVersionKind(), obj.GetNamespace())
	if err != nil {
		return nil, err
	}
	return r.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{
		FieldManager: agentmeta.FieldManager,
		Force:        true,
		DryRun:       []string{metav1.DryRunAll},
	})
}

// DiffOptions are the flags and state of `kubectl argo app diff`.
type DiffOptions struct {
	Common

	Name     string
	Revision string
	Local    string
	ExitCode bool

	// cluster reads and dry-runs objects; built in Complete unless a test set it.
	cluster cluster
	// cacheDir holds the Git cache; empty means the user's cache directory.
	cacheDir string
}

// NewDiffOptions returns options with default flags.
func NewDiffOptions(c Common) *DiffOptions {
	return &DiffOptions{Common: c, ExitCode: true}
}

func newDiffCmd(o *DiffOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "diff NAME",
		Short: "Show how the cluster differs from what an Application would apply",
		Long: `Show, object by object, how the live cluster differs from what a sync would make
it: the manifests are rendered from Git at the target revision (or --revision),
or from a working copy with --local, exactly as the agent renders them; then the
API server is asked, with a server-side apply dry-run under the agent's field
manager, what each object would become. The Application's ignoreDifferences
apply. Hooks are left out, as the agent leaves them out of sync status.

Objects missing from the cluster show as all added; objects the agent applied
before that have left Git (they require pruning) show as all removed. An object
the API server would refuse (an immutable field, say) shows the reason.

The exit code is 0 when nothing differs, 1 when something does (kubectl diff's
convention; --exit-code=false makes it 0) and 2 on errors. Colour only on a
terminal, never with NO_COLOR.

--local DIR is the directory spec.source.path names; when DIR ends with that
path, the directory above it stands for the repository root, so Kustomize bases
elsewhere in the working copy resolve.`,
		Example: `  kubectl argo app diff guestbook

  # Before pushing: what your working copy would change
  kubectl argo app diff guestbook --local ./guestbook

  # What syncing a branch would change
  kubectl argo app diff guestbook --revision feature/x`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// kubectl diff's exit codes: 1 is for differences, errors are 2.
			err := cli.RunE(o)(cmd, args)
			var exit *cli.ExitError
			if err == nil || errors.As(err, &exit) {
				return err
			}
			return &cli.ExitError{Code: exitError, Err: err}
		},
		ValidArgsFunction: completeNames(&o.Common, false),
	}
	f := cmd.Flags()
	f.StringVar(&o.Revision, "revision", "", "Branch, tag or commit to compare with instead of the target revision.")
	f.StringVar(&o.Local, "local", "", "Render this directory (the one spec.source.path names) instead of fetching it from Git.")
	f.BoolVar(&o.ExitCode, "exit-code", o.ExitCode, "Exit 1 when something differs; with false, exit 0 unless there is an error.")
	_ = cmd.MarkFlagDirname("local")
	return cmd
}

// Complete takes the name and builds the clients.
func (o *DiffOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	if err := o.Common.Complete(); err != nil {
		return err
	}
	if o.cluster == nil {
		c, err := newDynamicCluster(o.ConfigFlags, o.Clients.Mapper, o.ErrOut)
		if err != nil {
			return err
		}
		o.cluster = c
	}
	return nil
}

// Validate checks the flags.
func (o *DiffOptions) Validate() error { return validateLocal(o.Local, o.Revision) }

// compareConcurrency bounds parallel dry-runs, as in the agent.
const compareConcurrency = 8

// Run renders, compares and prints the differences.
func (o *DiffOptions) Run(ctx context.Context) error {
	app, err := o.getApp(ctx, o.Name)
	if err != nil {
		return err
	}
	ign, err := diff.NewIgnorer(app.Spec.IgnoreDifferences)
	if err != nil {
		return &cli.Error{Problem: fmt.Sprintf("application %s: %v", o.Ref(app.Name), err),
			Fix: "fix spec.ignoreDifferences", Err: err}
	}
	progress := cli.NewProgress(o.ErrOut)
	defer progress.Clear()
	d, err := o.render(ctx, app, renderRequest{revision: o.Revision, local: o.Local, cacheDir: o.cacheDir}, progress)
	if err != nil {
		return err
	}
	colour := newPalette(o.Out).On
	diffs, err := o.compare(ctx, app, d.objects, ign, colour, progress)
	if err != nil {
		return err
	}
	progress.Clear()
	n := 0
	for _, od := range diffs {
		if od.differs {
			n++
			fmt.Fprint(o.Out, od.text)
		}
	}
	if n > 0 && o.ExitCode {
		return &cli.ExitError{Code: exitDifferences, Silent: true,
			Err: fmt.Errorf("%s of %s differ from the cluster", cli.Plural(n, "object"), o.Ref(app.Name))}
	}
	return nil
}

// objectDiff is how one object differs.
type objectDiff struct {
	differs bool
	// text is the unified diff, or the object's header and why it could not be compared.
	text string
}

// compare compares every rendered object with the live one and finds the
// objects that left Git, in the order to print them.
func (o *DiffOptions) compare(ctx context.Context, app *argov1.Application, objs []*unstructured.Unstructured,
	ign *diff.Ignorer, colour bool, progress *cli.Progress) ([]objectDiff, error) {
	crds := map[schema.GroupKind]bool{}
	for _, obj := range objs {
		if gk, _, ok := appsource.CRDKind(obj); ok {
			crds[gk] = true
		}
	}
	out := make([]objectDiff, len(objs))
	tty := printers.IsTerminal(o.ErrOut)
	progress.Update(fmt.Sprintf("Comparing %s with the cluster", cli.Plural(len(objs), "object")))
	var done atomic.Int32
	var progressMu sync.Mutex // Progress is not safe for concurrent use
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(compareConcurrency)
	for i, obj := range objs {
		g.Go(func() error {
			od, err := compareObject(gctx, o.cluster, obj, ign, crds[obj.GroupVersionKind().GroupKind()], colour)
			if err != nil {
				return o.Clients.Explain(err, "ask a cluster administrator for read access to the Application's objects, or use another --context")
			}
			out[i] = od
			if n := done.Add(1); tty {
				progressMu.Lock()
				progress.Update(fmt.Sprintf("Comparing with the cluster: %d/%d", n, len(objs)))
				progressMu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	extra, err := extraneous(ctx, o.cluster, app, objs)
	if err != nil {
		return nil, o.Clients.Explain(err, "ask a cluster administrator for read access to the Application's objects, or use another --context")
	}
	for _, live := range extra {
		res, err := diff.Compare(live, nil, ign)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", appsource.Describe(live), err)
		}
		out = append(out, objectDiff{differs: true, text: diff.Unified(res.Live, nil, colour)})
	}
	return out, nil
}

// compareObject compares one rendered object with what a server-side apply
// would make of the live one. A missing object is all added; one the dry-run
// refuses shows why. Only failures to read the live object are errors.
func compareObject(ctx context.Context, c cluster, obj *unstructured.Unstructured, ign *diff.Ignorer, crdInRender, colour bool) (objectDiff, error) {
	gvk := obj.GroupVersionKind()
	live, err := c.Get(ctx, gvk, obj.GetNamespace(), obj.GetName())
	switch {
	case apierrors.IsNotFound(err), meta.IsNoMatchError(err) && crdInRender:
		live = nil
	case meta.IsNoMatchError(err):
		return failedDiff(obj, fmt.Errorf("the cluster does not know kind %s in %s: install its CRD first, or add the CRD to this application", gvk.Kind, gvk.GroupVersion()), colour), nil
	case err != nil:
		return objectDiff{}, fmt.Errorf("reading %s: %w", appsource.Describe(obj), err)
	}
	if live == nil {
		res, err := diff.Compare(nil, obj, ign)
		if err != nil {
			return objectDiff{}, fmt.Errorf("%s: %w", appsource.Describe(obj), err)
		}
		return objectDiff{differs: true, text: diff.Unified(nil, res.Desired, colour)}, nil
	}
	merged, err := c.DryRunApply(ctx, obj.DeepCopy())
	if err != nil {
		return failedDiff(obj, fmt.Errorf("server-side dry-run failed: %w", err), colour), nil
	}
	res, err := diff.Compare(live, merged, ign)
	if err != nil {
		return objectDiff{}, fmt.Errorf("%s: %w", appsource.Describe(obj), err)
	}
	if !res.Modified {
		return objectDiff{}, nil
	}
	text := diff.Unified(res.Live, res.Desired, colour)
	if text == "" {
		// The fields differ in type only (1 and 1.0): the YAML looks the same.
		text = header(obj, colour) + comment("differs at "+strings.Join(res.Paths, ", "), "", colour)
	}
	return objectDiff{differs: true, text: text}, nil
}

// failedDiff is an object that could not be compared: its header and why.
func failedDiff(obj *unstructured.Unstructured, err error, colour bool) objectDiff {
	red := "\x1b[31m"
	return objectDiff{differs: true, text: header(obj, colour) + comment(err.Error(), red, colour)}
}

// header is the unified diff header diff.Unified writes for obj.
func header(obj *unstructured.Unstructured, colour bool) string {
	parts := []string{obj.GetAPIVersion(), obj.GetKind()}
	if ns := obj.GetNamespace(); ns != "" {
		parts = append(parts, ns)
	}
	name := strings.Join(append(parts, obj.GetName()), "/")
	lines := []string{"--- live/" + name, "+++ desired/" + name}
	var b strings.Builder
	for _, l := range lines {
		if colour {
			l = "\x1b[1m" + l + "\x1b[0m"
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

// comment writes text as "# " lines, in colour when asked.
func comment(text, code string, colour bool) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		l = "# " + l
		if colour && code != "" {
			l = code + l + "\x1b[0m"
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

// extraneous returns the live objects the agent applied for app (its
// inventory, and the resources that require pruning) that are not in objs
// and still carry app's owner labels, as the agent finds them to prune.
func extraneous(ctx context.Context, c cluster, app *argov1.Application, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	want := map[string]bool{}
	for _, o := range objs {
		want[appsource.ObjectID(o)] = true
	}
	type ref struct {
		gvk             schema.GroupVersionKind
		namespace, name string
	}
	var refs []ref
	add := func(r ref) {
		id := appsource.RefID(r.gvk.Group, r.gvk.Kind, r.namespace, r.name)
		if want[id] {
			return
		}
		want[id] = true // once
		refs = append(refs, r)
	}
	if inv := app.Status.Inventory; inv != nil {
		for _, e := range inv.Entries {
			parts := strings.Split(e.ID, "_")
			if len(parts) != 4 {
				continue
			}
			add(ref{gvk: schema.GroupVersionKind{Group: parts[2], Version: e.Version, Kind: parts[3]}, namespace: parts[0], name: parts[1]})
		}
	}
	for _, r := range app.Status.Resources {
		if r.RequiresPruning {
			add(ref{gvk: schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind}, namespace: r.Namespace, name: r.Name})
		}
	}
	var out []*unstructured.Unstructured
	for _, r := range refs {
		live, err := c.Get(ctx, r.gvk, r.namespace, r.name)
		switch {
		case apierrors.IsNotFound(err), meta.IsNoMatchError(err):
			continue
		case err != nil:
			return nil, fmt.Errorf("reading %s: %w", appsource.DescribeRef(r.gvk, r.namespace, r.name), err)
		}
		if l := live.GetLabels(); l[argov1.LabelAppName] != app.Name || l[argov1.LabelAppNamespace] != app.Namespace {
			continue // adopted by someone else since
		}
		out = append(out, live)
	}
	sortObjects(out)
	return out, nil
}

// sortObjects sorts objects by inventory id, as the agent does.
func sortObjects(objs []*unstructured.Unstructured) {
	ids := make(map[*unstructured.Unstructured]string, len(objs))
	for _, o := range objs {
		ids[o] = appsource.ObjectID(o)
	}
	slices.SortFunc(objs, func(a, b *unstructured.Unstructured) int { return strings.Compare(ids[a], ids[b]) })
}
