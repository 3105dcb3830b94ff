// Package install owns `kubectl argo install` and `kubectl argo uninstall`:
// applying the embedded manifests with server-side apply, waiting for the
// agent to roll out, and removing the agent (and on request its CRDs).
package install

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/utils"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/manifests"
	"github.com/argolite/argolite/plugin/agent"
	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/shared/agentmeta"
	"github.com/argolite/argolite/shared/version"
)

// ownerGroup labels what argolite's ssa manager owns.
const ownerGroup = "argolite.dev"

// describeAgent is the command that shows why the agent does not roll out.
const describeAgent = "kubectl -n " + agentmeta.Namespace + " describe deployment,pods -l " +
	agentmeta.ComponentLabel + "=" + agentmeta.Name

// Options are the flags and state of `kubectl argo install`.
type Options struct {
	ConfigFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	Image    string
	Replicas int32
	DryRun   bool
	Timeout  time.Duration

	// Clients are built from ConfigFlags in Complete unless set (tests set fakes).
	Clients *cli.Clients

	// interval is how often the rollout is checked.
	interval time.Duration
}

// NewOptions returns options with the defaults of the flags.
func NewOptions(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *Options {
	return &Options{
		ConfigFlags: flags,
		IOStreams:   streams,
		Image:       version.AgentImage(),
		Replicas:    1,
		Timeout:     5 * time.Minute,
		interval:    time.Second,
	}
}

// NewCmd returns the install command.
func NewCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmd(NewOptions(flags, streams))
}

func newCmd(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install or upgrade the argolite agent and its CRDs in the cluster",
		Long: `Install or upgrade argolite in the current cluster: the CRDs, the RBAC, the
argolite-system namespace and the agent Deployment, applied with server-side apply
(field manager "argolite"). Then wait until the agent has rolled out and a
replica leads.

Running it again is safe: unchanged objects stay untouched, and an older agent is
upgraded to the plugin's version. It needs cluster-admin rights.`,
		Example: `  # Install the agent that matches this plugin's version
  kubectl argo install

  # Show what would change, change nothing
  kubectl argo install --dry-run

  # Two replicas (one leader, one standby) of a locally built image
  kubectl argo install --replicas 2 --image registry.local/argolite-agent:dev`,
		Args: cobra.NoArgs,
		RunE: cli.RunE(o),
	}
	cmd.Flags().StringVar(&o.Image, "image", o.Image, "Agent image to run.")
	cmd.Flags().Int32Var(&o.Replicas, "replicas", o.Replicas, "Agent replicas; beyond one they stand by to take over through leader election.")
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", o.DryRun, "Print what would be created or configured and change nothing.")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", o.Timeout, "How long to wait for the install, including the agent's rollout.")
	return cmd
}

// Complete builds the clients.
func (o *Options) Complete(*cobra.Command, []string) error {
	return cli.EnsureClients(&o.Clients, o.ConfigFlags, o.IOStreams)
}

// Validate checks the flags.
func (o *Options) Validate() error {
	if err := validateImage(o.Image); err != nil {
		return fmt.Errorf("--image %q: %w", o.Image, err)
	}
	if o.Replicas < 1 {
		return fmt.Errorf("--replicas %d: the agent needs at least one replica", o.Replicas)
	}
	return cli.ValidateTimeout("timeout", o.Timeout)
}

// validateImage rejects what can never be an image reference; the kubelet
// judges the rest.
func validateImage(image string) error {
	if image == "" {
		return errors.New("the image must not be empty")
	}
	if strings.ContainsAny(image, " \t\r\n") {
		return errors.New("an image reference has no whitespace")
	}
	repo := image
	if i := strings.Index(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	// The tag follows the last colon after the last slash (a registry port precedes it).
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		if i == len(repo)-1 {
			return errors.New("the tag after ':' is empty")
		}
		repo = repo[:i]
	}
	path := repo
	if i := strings.Index(repo, "/"); i >= 0 && strings.ContainsAny(repo[:i], ".:") {
		path = repo[i+1:] // the registry host may have capitals; the path may not
	}
	if path != strings.ToLower(path) {
		return errors.New("the repository must be lowercase")
	}
	return nil
}

// Run applies the manifests and waits for the agent, or with --dry-run
// prints what would change.
func (o *Options) Run(ctx context.Context) error {
	ctx, cancel := cli.WithTimeout(ctx, o.Timeout)
	defer cancel()

	objects, err := manifests.Objects(manifests.Options{Image: o.Image, Replicas: o.Replicas})
	if err != nil {
		return fmt.Errorf("reading the embedded install manifests: %w", err)
	}
	manager := ssa.NewResourceManager(o.Clients.Client,
		polling.NewStatusPoller(o.Clients.Client, o.Clients.Mapper, polling.Options{}),
		ssa.Owner{Field: agentmeta.FieldManager, Group: ownerGroup})

	if o.DryRun {
		return o.diff(ctx, manager, objects)
	}

	fmt.Fprintf(o.Out, "Installing argolite %s (agent image %s) on %s\n", version.Version, o.Image, o.target())
	opts := ssa.DefaultApplyOptions()
	// ApplyAllStaged waits for the CRDs and the Namespace without our context:
	// bound that wait by what is left of --timeout.
	if deadline, ok := ctx.Deadline(); ok {
		opts.WaitTimeout = time.Until(deadline)
	}
	opts.WaitInterval = 500 * time.Millisecond
	changes, err := manager.ApplyAllStaged(ctx, objects, opts)
	// Entries applied before a failure are still worth showing.
	if changes != nil {
		o.printChanges(changes.Entries, "")
	}
	if err != nil {
		return o.explain(ctx, fmt.Errorf("applying the install manifests: %w", err))
	}
	return o.waitForAgent(ctx)
}

func (o *Options) target() string {
	if o.Clients.Context != "" {
		return fmt.Sprintf("%s (context %s)", o.Clients.Server, o.Clients.Context)
	}
	return o.Clients.Server
}

func (o *Options) printChanges(entries []ssa.ChangeSetEntry, suffix string) {
	colours := cli.NewPalette(o.Out)
	for _, e := range entries {
		action := e.Action.String()
		switch e.Action {
		case ssa.CreatedAction:
			action = colours.Green(action)
		case ssa.ConfiguredAction, ssa.DeletedAction:
			action = colours.Yellow(action)
		}
		fmt.Fprintf(o.Out, "%s %s%s\n", e.Subject, action, suffix)
	}
}

// diff prints what applying would do to each object, in apply order.
func (o *Options) diff(ctx context.Context, manager *ssa.ResourceManager, objects []*unstructured.Unstructured) error {
	fmt.Fprintf(o.Out, "Dry run on %s: nothing will be changed.\n", o.target())
	sorted := append([]*unstructured.Unstructured(nil), objects...)
	sort.Sort(ssa.SortableUnstructureds(sorted))

	// The API server rejects a dry run into a namespace that does not exist
	// yet; an object there would simply be created.
	namespaceExists := map[string]bool{}
	var entries []ssa.ChangeSetEntry
	counts := map[ssa.Action]int{}
	for _, obj := range sorted {
		if ns := obj.GetNamespace(); ns != "" {
			exists, checked := namespaceExists[ns]
			if !checked {
				err := o.Clients.Client.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{})
				if err != nil && !apierrors.IsNotFound(err) {
					return o.explain(ctx, fmt.Errorf("reading Namespace %s: %w", ns, err))
				}
				exists = err == nil
				namespaceExists[ns] = exists
			}
			if !exists {
				entries = append(entries, ssa.ChangeSetEntry{Subject: utils.FmtUnstructured(obj), Action: ssa.CreatedAction})
				counts[ssa.CreatedAction]++
				continue
			}
		}
		entry, _, _, err := manager.Diff(ctx, obj, ssa.DefaultDiffOptions())
		if err != nil {
			return o.explain(ctx, fmt.Errorf("dry-run of %s: %w", utils.FmtUnstructured(obj), err))
		}
		entries = append(entries, *entry)
		counts[entry.Action]++
	}
	o.printChanges(entries, " (dry run)")
	if counts[ssa.CreatedAction]+counts[ssa.ConfiguredAction] == 0 {
		fmt.Fprintln(o.Out, "Dry run: argolite is up to date; install would change nothing.")
		return nil
	}
	fmt.Fprintf(o.Out, "Dry run: install would create %d and configure %d of %d objects; run without --dry-run to apply.\n",
		counts[ssa.CreatedAction], counts[ssa.ConfiguredAction], len(entries))
	return nil
}

func (o *Options) explain(ctx context.Context, err error) error {
	return explain(ctx, o.Clients, "install", o.Timeout, err)
}

// waitForAgent waits until the agent Deployment has rolled out, failing
// fast when a replica cannot start.
func (o *Options) waitForAgent(ctx context.Context) error {
	progress := cli.NewProgress(o.Out)
	msg, err := cli.Poll(ctx, progress, o.interval, "Waiting for the agent to roll out: ", o.checkRollout)
	if err != nil {
		if ctx.Err() == nil {
			return o.explain(ctx, err)
		}
		if msg == "" {
			msg = "waiting for the Deployment"
		}
		return cli.WaitTimeout(ctx, o.Timeout, fmt.Sprintf("Deployment %s/%s to roll out: %s", agentmeta.Namespace, agentmeta.Name, msg),
			"see why with "+describeAgent+", or wait longer with --timeout")
	}
	colours := cli.NewPalette(o.Out)
	progress.Done(fmt.Sprintf("%s agent %s/%s rolled out: %s (image %s).",
		colours.Green("Ready:"), agentmeta.Namespace, agentmeta.Name, msg, o.Image))
	fmt.Fprintln(o.Out, "Next: kubectl argo status")
	return nil
}

// explain turns err into a readable error, naming --timeout when it ran out
// in the middle of command.
func explain(ctx context.Context, clients *cli.Clients, command string, timeout time.Duration, err error) error {
	if errors.Is(context.Cause(ctx), cli.ErrTimeout) {
		return &cli.Error{
			Problem: fmt.Sprintf("%s did not finish within --timeout %s: %v", command, timeout, err),
			Fix:     "run it again with a longer --timeout",
			Err:     err,
		}
	}
	return clients.Explain(err, cli.NeedsClusterAdmin)
}

// checkRollout reads the Deployment and its current Pods once.
func (o *Options) checkRollout(ctx context.Context) (done bool, msg string, err error) {
	d, err := agent.Deployment(ctx, o.Clients.Client)
	if err != nil {
		return false, "", err
	}
	if d == nil {
		return false, "", fmt.Errorf("the agent Deployment %s/%s disappeared while waiting for it: was it deleted?", agentmeta.Namespace, agentmeta.Name)
	}
	pods, err := agent.CurrentPods(ctx, o.Clients.Client, d)
	if err != nil {
		return false, "", err
	}
	for i := range pods {
		if p := agent.StartFailure(&pods[i]); p != nil {
			return false, "", &cli.Error{Problem: p.Error(), Fix: p.Fix(), Err: p}
		}
	}
	waiting := ""
	for i := range pods {
		if !agent.Ready(&pods[i]) {
			waiting = fmt.Sprintf("; %s: %s", pods[i].Name, agent.Waiting(&pods[i]))
			break
		}
	}
	done, msg, err = agent.Rollout(d)
	if err != nil {
		return false, "", &cli.Error{Problem: err.Error() + waiting, Fix: "see why with " + describeAgent, Err: err}
	}
	if !done {
		return false, msg + waiting, nil
	}
	// Ready means working: a replica leads (reconciles), not only runs.
	if agent.Replicas(d) > 0 {
		lease, err := agent.Lease(ctx, o.Clients.Client)
		if err != nil {
			return false, "", err
		}
		if !agent.LeaderOf(lease).Fresh(time.Now()) {
			return false, msg + "; waiting for a replica to take the leader Lease", nil
		}
	}
	return true, msg, nil
}
