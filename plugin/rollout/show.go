package rollout

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// strategyName is Canary or BlueGreen.
func strategyName(ro *argov1.Rollout) string {
	if ro.Spec.Strategy.BlueGreen != nil {
		return "BlueGreen"
	}
	return "Canary"
}

func replicas(ro *argov1.Rollout) int32 {
	if ro.Spec.Replicas == nil {
		return 1
	}
	return *ro.Spec.Replicas
}

// step is "N/M" of a canary with steps, else "-".
func step(ro *argov1.Rollout) string {
	cs := ro.Spec.Strategy.Canary
	if cs == nil || len(cs.Steps) == 0 {
		return "-"
	}
	idx := int32(len(cs.Steps))
	if ro.Status.CurrentStepIndex != nil {
		idx = *ro.Status.CurrentStepIndex
	}
	return fmt.Sprintf("%d/%d", idx, len(cs.Steps))
}

// setWeight is the weight of the last setWeight step reached, as Argo's CLI.
func setWeight(ro *argov1.Rollout) string {
	cs := ro.Spec.Strategy.Canary
	if cs == nil {
		return "-"
	}
	if ro.Status.Abort {
		return "0"
	}
	if ro.Status.CurrentStepIndex == nil || int(*ro.Status.CurrentStepIndex) >= len(cs.Steps) {
		return "100"
	}
	for i := int(*ro.Status.CurrentStepIndex); i >= 0; i-- {
		if w := cs.Steps[i].SetWeight; w != nil {
			return strconv.Itoa(int(*w))
		}
	}
	return "0"
}

// actualWeight is what the routes carry (traffic routing) or the canary's
// share of available Pods.
func actualWeight(ro *argov1.Rollout, o *owned) string {
	if w := ro.Status.Canary.Weights; w != nil {
		return strconv.Itoa(int(w.Canary.Weight))
	}
	var canary, total int32
	for _, rs := range o.replicaSets {
		total += rs.Status.AvailableReplicas
		if rs.Labels[labelPodTemplateHash] == ro.Status.CurrentPodHash && ro.Status.CurrentPodHash != ro.Status.StableRS {
			canary += rs.Status.AvailableReplicas
		}
	}
	if total == 0 {
		return "0"
	}
	if ro.Status.CurrentPodHash == ro.Status.StableRS {
		return "100"
	}
	return strconv.Itoa(int(canary * 100 / total))
}

// statusIcon is the phase with Argo's CLI icon.
func statusIcon(phase string) string {
	switch phase {
	case string(argov1.RolloutPhaseHealthy), "Successful", "Running":
		return "✔ " + phase
	case string(argov1.RolloutPhaseProgressing), "Pending":
		return "◌ " + phase
	case string(argov1.RolloutPhasePaused):
		return "॥ " + phase
	case string(argov1.RolloutPhaseDegraded), "Failed", "Error":
		return "✖ " + phase
	case "Inconclusive":
		return "⚠ " + phase
	case "ScaledDown":
		return "• " + phase
	case "":
		return "-"
	}
	return phase
}

// runIcon is statusIcon for AnalysisRuns and their metrics: Running is
// work in progress there, as kubectl-argo-rollouts draws it, not a ready Pod.
func runIcon(phase argov1.AnalysisPhase) string {
	if phase == argov1.AnalysisPhaseRunning {
		return "◌ " + string(phase)
	}
	return statusIcon(string(phase))
}

type listOptions struct {
	cli.Common
	PrintFlags    *genericclioptions.PrintFlags
	AllNamespaces bool
}

func newListCmd(o *listOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List Rollouts: strategy, status, step, weight and replicas",
		Example: `  kubectl argo rollout list
  kubectl argo rollout list -A -o name`,
		Args: cobra.NoArgs,
		RunE: cli.RunE(o),
	}
	cmd.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "List the Rollouts of every namespace.")
	cli.AddPrintFlags(cmd, o.PrintFlags)
	return cmd
}

func (o *listOptions) Complete(*cobra.Command, []string) error { return o.Common.Complete() }
func (o *listOptions) Validate() error                         { return cli.ValidateOutput(o.PrintFlags) }

func (o *listOptions) Run(ctx context.Context) error {
	list := &argov1.RolloutList{}
	if err := o.Clients.Client.List(ctx, list, o.ListScope(o.AllNamespaces)...); err != nil {
		return o.Explain(fmt.Errorf("listing rollouts: %w", err), forbidden)
	}
	slices.SortFunc(list.Items, func(a, b argov1.Rollout) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	p, err := cli.Printer(o.PrintFlags)
	if err != nil {
		return err
	}
	if p != nil {
		return cli.PrintList(p, o.PrintFlags, list, "Rollout", o.Out)
	}
	if len(list.Items) == 0 {
		o.NoneFound("rollouts", o.AllNamespaces)
		return nil
	}
	w := printers.GetNewTabWriter(o.Out)
	defer w.Flush()
	header := "NAME\tSTRATEGY\tSTATUS\tSTEP\tSET-WEIGHT\tREADY\tDESIRED\tUP-TO-DATE\tAVAILABLE"
	if o.AllNamespaces {
		header = "NAMESPACE\t" + header
	}
	fmt.Fprintln(w, header)
	for i := range list.Items {
		ro := &list.Items[i]
		st := ro.Status
		weight := "-"
		if ro.Spec.Strategy.Canary != nil {
			weight = setWeight(ro)
		}
		row := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%d/%d\t%d\t%d\t%d", ro.Name, strategyName(ro), cli.OrDash(string(st.Phase)), step(ro), weight,
			st.ReadyReplicas, st.Replicas, replicas(ro), st.UpdatedReplicas, st.AvailableReplicas)
		if o.AllNamespaces {
			row = ro.Namespace + "\t" + row
		}
		fmt.Fprintln(w, row)
	}
	return nil
}

type getOptions struct {
	cli.Common
	PrintFlags *genericclioptions.PrintFlags
	Name       string
	Watch      bool
	Timeout    time.Duration
}

func newGetCmd(o *getOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a Rollout as a tree: revisions, ReplicaSets, Pods and AnalysisRuns",
		Long: `Show a Rollout: its status, strategy, step and weights, images, replica
counts, and the tree of its revisions with their ReplicaSets (stable, canary,
active, preview), Pods and AnalysisRuns, as kubectl-argo-rollouts shows it.
-w redraws it in place as it changes.`,
		Example: `  kubectl argo rollout get rollouts-demo
  kubectl argo rollout get rollouts-demo -w
  kubectl argo rollout get rollouts-demo -o yaml`,
		Args: cobra.ExactArgs(1),
		RunE: cli.RunE(o),
	}
	cmd.Flags().BoolVarP(&o.Watch, "watch", "w", false, "Redraw the Rollout as it changes, until Ctrl-C or --timeout.")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 0, "With -w, stop watching after this long (0: never).")
	cli.AddPrintFlags(cmd, o.PrintFlags)
	return cmd
}

func (o *getOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	return o.Common.Complete()
}

func (o *getOptions) Validate() error {
	if o.Watch && cli.Structured(o.PrintFlags) {
		return &cli.Error{Problem: "-w draws the tree; it cannot be combined with -o", Fix: "drop -w, or -o"}
	}
	return cli.ValidateOutput(o.PrintFlags)
}

func (o *getOptions) Run(ctx context.Context) error {
	if !o.Watch {
		ro, err := getRollout(ctx, &o.Common, o.Name)
		if err != nil {
			return err
		}
		p, err := cli.Printer(o.PrintFlags)
		if err != nil {
			return err
		}
		if p != nil {
			ro.SetGroupVersionKind(argov1.GroupVersion.WithKind("Rollout"))
			return p.PrintObj(ro, o.Out)
		}
		own, err := readOwned(ctx, &o.Common, ro)
		if err != nil {
			return err
		}
		writeRollout(o.Out, ro, own, o.Now())
		return nil
	}
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = cli.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	screen := cli.NewScreen(o.Out)
	last := ""
	for {
		ro, err := getRollout(ctx, &o.Common, o.Name)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		own, err := readOwned(ctx, &o.Common, ro)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		var b bytes.Buffer
		writeRollout(&b, ro, own, o.Now())
		if text := b.String(); text != last {
			if screen.TTY() {
				screen.Draw(text)
			} else {
				fmt.Fprint(o.Out, text+"\n")
			}
			last = text
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(o.Interval):
		}
	}
}

// writeRollout writes Argo's summary and tree of a Rollout.
func writeRollout(out io.Writer, ro *argov1.Rollout, o *owned, now time.Time) {
	st := &ro.Status
	w := printers.GetNewTabWriter(out)
	line := func(k, v string) { fmt.Fprintf(w, "%s\t%s\n", k, v) }
	line("Name:", ro.Name)
	line("Namespace:", ro.Namespace)
	line("Status:", statusIcon(string(st.Phase)))
	if st.Message != "" {
		line("Message:", st.Message)
	}
	line("Strategy:", strategyName(ro))
	if ro.Spec.Strategy.Canary != nil {
		line("  Step:", step(ro))
		line("  SetWeight:", setWeight(ro))
		line("  ActualWeight:", actualWeight(ro, o))
	}
	images := imagesByRole(ro, o)
	for i, im := range images {
		k := ""
		if i == 0 {
			k = "Images:"
		}
		line(k, im)
	}
	line("Replicas:", "")
	line("  Desired:", strconv.Itoa(int(replicas(ro))))
	line("  Current:", strconv.Itoa(int(st.Replicas)))
	line("  Updated:", strconv.Itoa(int(st.UpdatedReplicas)))
	line("  Ready:", strconv.Itoa(int(st.ReadyReplicas)))
	line("  Available:", strconv.Itoa(int(st.AvailableReplicas)))
	_ = w.Flush()
	fmt.Fprintln(out)

	tw := printers.GetNewTabWriter(out)
	fmt.Fprintln(tw, "NAME\tKIND\tSTATUS\tAGE\tINFO")
	root := &cli.TreeNode{Cells: []string{"⟳ " + ro.Name, "Rollout", statusIcon(string(st.Phase)), cli.Age(now, ro.CreationTimestamp), ""}}
	byRevision := map[int]*cli.TreeNode{}
	var revisions []int
	node := func(rev int) *cli.TreeNode {
		if n, ok := byRevision[rev]; ok {
			return n
		}
		n := &cli.TreeNode{Cells: []string{fmt.Sprintf("# revision:%d", rev), "", "", "", ""}}
		byRevision[rev] = n
		revisions = append(revisions, rev)
		return n
	}
	rsNode := func(rs *appsv1.ReplicaSet, info string) *cli.TreeNode {
		n := &cli.TreeNode{Cells: []string{"⧉ " + rs.Name, "ReplicaSet", statusIcon(rsStatus(rs)), cli.Age(now, rs.CreationTimestamp), info}}
		for j := range o.pods {
			p := &o.pods[j]
			if p.Labels[labelPodTemplateHash] != rs.Labels[labelPodTemplateHash] {
				continue
			}
			n.Children = append(n.Children, &cli.TreeNode{Cells: []string{"□ " + p.Name, "Pod", statusIcon(podStatus(p)), cli.Age(now, p.CreationTimestamp), podInfo(p)}})
		}
		return n
	}
	runNode := func(r *argov1.AnalysisRun) *cli.TreeNode {
		return &cli.TreeNode{Cells: []string{"α " + r.Name, "AnalysisRun", runIcon(r.Status.Phase), cli.Age(now, r.CreationTimestamp), runInfo(r)}}
	}
	for i := range o.replicaSets {
		rs := &o.replicaSets[i]
		rev := node(revision(rs))
		rev.Children = append(rev.Children, rsNode(rs, strings.Join(roles(ro, rs), ",")))
	}
	for i := range o.runs {
		r := &o.runs[i]
		var rev int
		_, _ = fmt.Sscanf(r.Annotations[annotationRevision], "%d", &rev)
		node(rev).Children = append(node(rev).Children, runNode(r))
	}
	// An experiment step's Experiment, under its revision, with the
	// ReplicaSets of its templates and its runs (Argo's Σ).
	for i := range o.experiments {
		ex := &o.experiments[i]
		var rev int
		_, _ = fmt.Sscanf(ex.Annotations[annotationRevision], "%d", &rev)
		n := &cli.TreeNode{Cells: []string{"Σ " + ex.Name, "Experiment", runIcon(ex.Status.Phase), cli.Age(now, ex.CreationTimestamp), ""}}
		for j := range ex.replicaSets {
			rs := &ex.replicaSets[j]
			n.Children = append(n.Children, rsNode(rs, rs.Annotations[argov1.ExperimentTemplateNameAnnotationKey]))
		}
		for j := range ex.runs {
			n.Children = append(n.Children, runNode(&ex.runs[j]))
		}
		node(rev).Children = append(node(rev).Children, n)
	}
	slices.Sort(revisions)
	slices.Reverse(revisions)
	for _, rev := range revisions {
		root.Children = append(root.Children, byRevision[rev])
	}
	cli.WriteTree(tw, root)
	_ = tw.Flush()
}

// imagesByRole lists each image with the roles of the revisions running it.
func imagesByRole(ro *argov1.Rollout, o *owned) []string {
	var out []string
	for i := range o.replicaSets {
		rs := &o.replicaSets[i]
		if rs.Status.Replicas == 0 && (rs.Spec.Replicas == nil || *rs.Spec.Replicas == 0) {
			continue
		}
		r := roles(ro, rs)
		for _, c := range rs.Spec.Template.Spec.Containers {
			s := c.Image
			if len(r) > 0 {
				s += " (" + strings.Join(r, ", ") + ")"
			}
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	if len(out) == 0 {
		return []string{"-"}
	}
	return out
}

// roles are a ReplicaSet's parts in the Rollout: stable, canary, active, preview.
func roles(ro *argov1.Rollout, rs *appsv1.ReplicaSet) []string {
	st := &ro.Status
	hash := rs.Labels[labelPodTemplateHash]
	var out []string
	if ro.Spec.Strategy.BlueGreen != nil {
		if hash == st.BlueGreen.ActiveSelector {
			out = append(out, "active")
		}
		if hash == st.BlueGreen.PreviewSelector && hash != st.BlueGreen.ActiveSelector {
			out = append(out, "preview")
		}
		if hash == st.StableRS {
			out = append(out, "stable")
		}
		return out
	}
	if hash == st.StableRS {
		out = append(out, "stable")
	}
	if hash == st.CurrentPodHash && hash != st.StableRS {
		out = append(out, "canary")
	}
	return out
}

func rsStatus(rs *appsv1.ReplicaSet) string {
	want := int32(0)
	if rs.Spec.Replicas != nil {
		want = *rs.Spec.Replicas
	}
	switch {
	case want == 0 && rs.Status.Replicas == 0:
		return "ScaledDown"
	case rs.Status.AvailableReplicas >= want && rs.Status.Replicas == want:
		return string(argov1.RolloutPhaseHealthy)
	}
	return string(argov1.RolloutPhaseProgressing)
}

func podStatus(p *corev1.Pod) string {
	if p.DeletionTimestamp != nil {
		return "Terminating"
	}
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			return w.Reason
		}
	}
	return string(p.Status.Phase)
}

func podInfo(p *corev1.Pod) string {
	ready, restarts := 0, int32(0)
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Ready {
			ready++
		}
		restarts += cs.RestartCount
	}
	info := fmt.Sprintf("ready:%d/%d", ready, len(p.Spec.Containers))
	if restarts > 0 {
		info += fmt.Sprintf(",restarts:%d", restarts)
	}
	return info
}

// runInfo counts a run's measurements by outcome, as Argo's ✔ 2,✖ 1.
func runInfo(r *argov1.AnalysisRun) string {
	var ok, failed, errs, inconclusive int32
	for _, m := range r.Status.MetricResults {
		ok += m.Successful
		failed += m.Failed
		errs += m.Error
		inconclusive += m.Inconclusive
	}
	var parts []string
	if ok > 0 {
		parts = append(parts, fmt.Sprintf("✔ %d", ok))
	}
	if failed > 0 {
		parts = append(parts, fmt.Sprintf("✖ %d", failed))
	}
	if errs > 0 {
		parts = append(parts, fmt.Sprintf("⚠ %d errors", errs))
	}
	if inconclusive > 0 {
		parts = append(parts, fmt.Sprintf("? %d", inconclusive))
	}
	return strings.Join(parts, ",")
}

type statusOptions struct {
	cli.Common
	Name    string
	Timeout time.Duration
	Watch   bool
}

func newStatusCmd(o *statusOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status NAME",
		Short: "Wait until a Rollout is Healthy or Paused; exit non-zero when it is Degraded",
		Long: `Show a Rollout's status and wait while it is Progressing. It exits 0 when the
Rollout is Healthy or Paused, 1 when it is Degraded (aborted, timed out, an
invalid spec), and non-zero when --timeout runs out, as kubectl-argo-rollouts
status does.`,
		Example: `  kubectl argo rollout status rollouts-demo --timeout 5m`,
		Args:    cobra.ExactArgs(1),
		RunE:    cli.RunE(o),
	}
	cmd.Flags().DurationVarP(&o.Timeout, "timeout", "t", 0, "Give up after this long (0: wait as long as it takes).")
	cmd.Flags().BoolVarP(&o.Watch, "watch", "w", true, "Wait while the Rollout is Progressing; --watch=false prints the status once.")
	return cmd
}

func (o *statusOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	return o.Common.Complete()
}

// Validate takes --timeout 0 as "no limit", as kubectl-argo-rollouts does.
func (o *statusOptions) Validate() error {
	if o.Timeout < 0 {
		return cli.ValidateTimeout("timeout", o.Timeout)
	}
	return nil
}

func (o *statusOptions) Run(ctx context.Context) error {
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = cli.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	last := ""
	for {
		ro, err := getRollout(ctx, &o.Common, o.Name)
		if err != nil {
			if ctx.Err() != nil {
				return cli.WaitTimeout(ctx, o.Timeout, "rollout "+o.Ref(o.Name), "see where it stands with kubectl argo rollout get "+o.Name+o.NSFlag(o.Namespace))
			}
			return err
		}
		current := observed(ro)
		msg := string(ro.Status.Phase)
		if ro.Status.Message != "" {
			msg += " - " + ro.Status.Message
		}
		if !current {
			msg = "Progressing - waiting for the agent to observe the latest spec"
		}
		if msg != last {
			fmt.Fprintln(o.Out, msg)
			last = msg
		}
		if current || !o.Watch {
			if !o.Watch && ro.Status.Phase != argov1.RolloutPhaseDegraded {
				return nil
			}
			switch ro.Status.Phase {
			case argov1.RolloutPhaseHealthy, argov1.RolloutPhasePaused:
				return nil
			case argov1.RolloutPhaseDegraded:
				return &cli.ExitError{Code: 1, Silent: true}
			}
		}
		select {
		case <-ctx.Done():
			return cli.WaitTimeout(ctx, o.Timeout, "rollout "+o.Ref(o.Name), "see where it stands with kubectl argo rollout get "+o.Name+o.NSFlag(o.Namespace))
		case <-time.After(o.Interval):
		}
	}
}

// observed says the status is for the current generation.
func observed(ro *argov1.Rollout) bool {
	return ro.Status.ObservedGeneration == strconv.FormatInt(ro.Generation, 10)
}
