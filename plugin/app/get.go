package app

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// GetOptions are the flags and state of `kubectl argo app get`.
type GetOptions struct {
	Common
	PrintFlags *genericclioptions.PrintFlags

	Name        string
	Refresh     bool
	HardRefresh bool
	Timeout     time.Duration
}

// NewGetOptions returns options with default flags.
func NewGetOptions(c Common) *GetOptions {
	return &GetOptions{Common: c, PrintFlags: genericclioptions.NewPrintFlags(""), Timeout: defaultRefreshTimeout}
}

func newGetCmd(o *GetOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Show an Application: source, sync, health, resources and the last operation",
		Long: `Show an Application: where its manifests come from, its sync policy, whether the
cluster matches Git (sync status and revision), its health, and the conditions
that explain why it is not Ready (Git and render errors show up there).

Then a table of the objects it manages with their sync status, health and
message, including the hooks of the last operation with their phase, and the
last operation: its phase, start, duration and message.

--refresh asks the agent to compare Git and the cluster again first, and waits
for it; --hard-refresh also makes it render the manifests again.`,
		Example: `  kubectl argo app get guestbook

  # Compare with Git again first
  kubectl argo app get guestbook --refresh

  kubectl argo app get guestbook -o yaml`,
		Args:              cobra.ExactArgs(1),
		RunE:              cli.RunE(o),
		ValidArgsFunction: completeNames(&o.Common, false),
	}
	cmd.Flags().BoolVar(&o.Refresh, "refresh", false, "Refresh first: have the agent compare Git and the cluster again, and wait for it.")
	cmd.Flags().BoolVar(&o.HardRefresh, "hard-refresh", false, "Like --refresh, and have the agent render the manifests again instead of using its cache.")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", o.Timeout, "With --refresh: how long to wait for the agent.")
	cli.AddPrintFlags(cmd, o.PrintFlags)
	return cmd
}

// Complete takes the name and builds the clients.
func (o *GetOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	return o.Common.Complete()
}

// Validate checks the flags.
func (o *GetOptions) Validate() error {
	if err := cli.ValidateTimeout("timeout", o.Timeout); err != nil {
		return err
	}
	return cli.ValidateOutput(o.PrintFlags)
}

// Run shows the Application.
func (o *GetOptions) Run(ctx context.Context) error {
	p, err := cli.Printer(o.PrintFlags)
	if err != nil {
		return err
	}
	var app *argov1.Application
	if o.Refresh || o.HardRefresh {
		app, err = o.refresh(ctx, o.Name, o.HardRefresh, o.Timeout, nil)
	} else {
		app, err = o.getApp(ctx, o.Name)
	}
	if err != nil {
		return err
	}
	if p != nil {
		app.SetGroupVersionKind(argov1.GroupVersion.WithKind("Application"))
		return p.PrintObj(app, o.Out)
	}
	pal := newPalette(o.Out)
	now := o.Now()
	printSummary(o.Out, app, pal)
	fmt.Fprintln(o.Out)
	printResources(o.Out, app, pal)
	if op := app.Status.OperationState; op != nil {
		fmt.Fprintln(o.Out)
		printOperation(o.Out, op, pal, now)
	}
	return nil
}

func printSummary(out io.Writer, app *argov1.Application, pal palette) {
	w := printers.GetNewTabWriter(out)
	defer w.Flush()
	field := func(name, value string) {
		if name != "" {
			name += ":"
		}
		fmt.Fprintf(w, "%s\t%s\n", name, value)
	}
	field("Name", app.Name)
	field("Namespace", app.Namespace)
	if app.Spec.Project != "" {
		field("Project", app.Spec.Project)
	}
	src := source(app)
	if src != nil {
		field("Repo", src.RepoURL)
		field("Target", target(src))
		field("Path", cli.OrDash(src.Path))
	}
	if n := len(app.Spec.Sources); n > 1 {
		field("Sources", fmt.Sprintf("%d (the first that renders manifests is shown)", n))
	}
	field("Destination", "namespace "+cli.OrDash(app.Spec.Destination.Namespace)+" in this cluster")
	field("Sync policy", syncPolicy(app.Spec.SyncPolicy))
	syncLine := pal.sync(orUnknown(app.Status.Sync.Status))
	if src != nil {
		syncLine += " to " + target(src)
	}
	if rev := app.Status.Sync.Revision; rev != "" {
		syncLine += " (" + shortRevision(rev) + ")"
	}
	field("Sync status", syncLine)
	health := pal.health(orUnknown(app.Status.Health.Status))
	if app.Status.Health.Message != "" {
		health += ": " + app.Status.Health.Message
	}
	field("Health", health)
	var conditions []string
	for _, c := range app.Status.Conditions {
		if c.Type == argov1.ConditionReady && c.Status == metav1.ConditionTrue {
			continue
		}
		line := fmt.Sprintf("%s=%s", c.Type, c.Status)
		if c.Reason != "" {
			line += " (" + c.Reason + ")"
		}
		if c.Message != "" {
			line += ": " + c.Message
		}
		conditions = append(conditions, line)
	}
	if len(conditions) > 0 {
		field("Conditions", pal.Red(conditions[0]))
		for _, c := range conditions[1:] {
			field("", pal.Red(c))
		}
	}
}

// syncPolicy describes a sync policy in words.
func syncPolicy(p *argov1.SyncPolicy) string {
	s := "manual (sync with kubectl argo app sync)"
	if p == nil {
		return s
	}
	if a := p.Automated; a != nil {
		var opts []string
		for _, o := range []struct {
			on   bool
			name string
		}{{a.Prune, "prune"}, {a.SelfHeal, "self-heal"}, {a.AllowEmpty, "allow-empty"}} {
			if o.on {
				opts = append(opts, o.name)
			}
		}
		s = "automated"
		if len(opts) > 0 {
			s += " (" + strings.Join(opts, ", ") + ")"
		}
	}
	if len(p.SyncOptions) > 0 {
		s += "; options " + strings.Join(p.SyncOptions, ", ")
	}
	return s
}

// printResources prints the managed objects and the hooks of the last operation.
func printResources(out io.Writer, app *argov1.Application, pal palette) {
	var hooks []argov1.ResourceResult
	results := map[string]argov1.ResourceResult{}
	if op := app.Status.OperationState; op != nil && op.SyncResult != nil {
		for _, r := range op.SyncResult.Resources {
			if r.HookPhase != "" {
				hooks = append(hooks, r)
				continue
			}
			results[resourceKey(r.Group, r.Kind, r.Namespace, r.Name)] = r
		}
	}
	if len(app.Status.Resources) == 0 && len(hooks) == 0 {
		fmt.Fprintln(out, "No resources yet: the agent lists them after it has rendered the manifests.")
		return
	}
	w := printers.GetNewTabWriter(out)
	defer w.Flush()
	withHooks := len(hooks) > 0
	header := "KIND\tNAMESPACE\tNAME\t" + pal.Plain("SYNC") + "\t" + pal.Plain("HEALTH")
	if withHooks {
		header += "\t" + pal.Plain("HOOK")
	}
	fmt.Fprintln(w, header+"\tMESSAGE")
	for _, r := range app.Status.Resources {
		health, msg := "-", ""
		if r.Health != nil {
			health, msg = orUnknown(r.Health.Status), r.Health.Message
		}
		if res, ok := results[resourceKey(r.Group, r.Kind, r.Namespace, r.Name)]; ok && res.Status == "SyncFailed" {
			msg = res.Message
		}
		if r.RequiresPruning {
			msg = joinMessage("requires pruning (sync with --prune)", msg)
		}
		row := fmt.Sprintf("%s\t%s\t%s\t%s\t%s", kindOf(r.Group, r.Kind), cli.OrDash(r.Namespace), r.Name,
			pal.sync(orUnknown(r.Status)), pal.health(health))
		if withHooks {
			row += "\t" + pal.Plain("-")
		}
		fmt.Fprintln(w, row+"\t"+msg)
	}
	for _, h := range hooks {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", kindOf(h.Group, h.Kind), cli.OrDash(h.Namespace), h.Name,
			pal.sync(cli.OrDash(h.Status)), pal.Plain("-"), pal.byPhase(h.HookPhase, strings.TrimSpace(h.SyncPhase+" "+h.HookPhase)), h.Message)
	}
}

func resourceKey(group, kind, namespace, name string) string {
	return group + "/" + kind + "/" + namespace + "/" + name
}

func joinMessage(a, b string) string {
	if b == "" {
		return a
	}
	return a + "; " + b
}

// printOperation prints the last (or running) operation.
func printOperation(out io.Writer, op *argov1.OperationState, pal palette, now time.Time) {
	w := printers.GetNewTabWriter(out)
	defer w.Flush()
	field := func(name, value string) { fmt.Fprintf(w, "%s:\t%s\n", name, value) }
	what := "Sync"
	if op.Operation.Sync != nil && op.Operation.Sync.DryRun {
		what = "Sync (dry run)"
	}
	field("Last operation", what+" "+pal.phase(string(op.Phase))+initiator(op.Operation.InitiatedBy))
	field("Started", cli.When(now, op.StartedAt))
	switch {
	case op.FinishedAt != nil:
		field("Duration", duration.HumanDuration(op.FinishedAt.Sub(op.StartedAt.Time)))
	case !op.StartedAt.IsZero():
		field("Duration", "running for "+duration.HumanDuration(now.Sub(op.StartedAt.Time)))
	}
	if op.SyncResult != nil && op.SyncResult.Revision != "" {
		field("Revision", shortRevision(op.SyncResult.Revision))
	}
	if op.Message != "" {
		field("Message", op.Message)
	}
}

// initiator says who started an operation: " by alice", " (automated)".
func initiator(by argov1.OperationInitiator) string {
	switch {
	case by.Automated:
		return " (automated)"
	case by.Username != "":
		return " by " + by.Username
	}
	return ""
}
