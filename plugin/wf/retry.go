package wf

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/wfnames"
)

// RetryOptions are the flags and state of `kubectl argo wf retry`.
type RetryOptions struct {
	Common

	Name              string
	RestartSuccessful bool
	NodeFieldSelector string
	Wait              bool
	Watch             bool

	selector fields.Selector
}

// NewRetryOptions returns options with default flags.
func NewRetryOptions(c Common) *RetryOptions { return &RetryOptions{Common: c} }

func newRetryCmd(o *RetryOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "retry NAME",
		Short: "Run the failed steps of a Failed or Error workflow again",
		Long: `Retry a workflow that ended Failed or Error, as Argo's retry does: the failed
and errored steps, and the steps and DAGs above them that did not succeed, are
removed from status.nodes (their Pods deleted) or reset to Running; the
workflow goes back to the agent, which runs what is missing again. Steps that
succeeded keep their results and do not run again; the exit handler runs again.

--restart-successful with --node-field-selector also runs the matching
succeeded steps again (and is the way to retry a Succeeded workflow), such as
--node-field-selector displayName=build. Fields: displayName, name,
templateName, phase, id, inputs.parameters.NAME.value.

The status is written with the resourceVersion it was computed from, so that a
concurrent change is noticed and the retry computed again.`,
		Example: `  kubectl argo wf retry build-x7k2p --wait

  # Also run the succeeded build step again
  kubectl argo wf retry build-x7k2p --restart-successful --node-field-selector displayName=build`,
		Args: cobra.ExactArgs(1),
		RunE: cli.RunE(o),
		ValidArgsFunction: completeNames(&o.Common, false, func(wf *argov1.Workflow) bool {
			return wf.Status.Phase == argov1.WorkflowFailed || wf.Status.Phase == argov1.WorkflowError
		}),
	}
	f := cmd.Flags()
	f.BoolVar(&o.RestartSuccessful, "restart-successful", false, "Also run again the succeeded steps --node-field-selector matches.")
	f.StringVar(&o.NodeFieldSelector, "node-field-selector", "", "With --restart-successful: the succeeded steps to run again, such as displayName=build.")
	f.BoolVar(&o.Wait, "wait", false, "Wait until the workflow ends again; exit non-zero when it does not succeed.")
	f.BoolVarP(&o.Watch, "watch", "w", false, "Show the workflow's tree of steps until it ends.")
	return cmd
}

// Complete takes the name and builds the clients.
func (o *RetryOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	return o.Common.Complete()
}

// Validate checks the flags.
func (o *RetryOptions) Validate() error {
	if o.NodeFieldSelector != "" {
		sel, err := fields.ParseSelector(o.NodeFieldSelector)
		if err != nil {
			return fmt.Errorf("--node-field-selector %q: %w; use FIELD=VALUE with displayName, name, templateName, phase or id", o.NodeFieldSelector, err)
		}
		o.selector = sel
	}
	if o.NodeFieldSelector != "" && !o.RestartSuccessful {
		return fmt.Errorf("--node-field-selector selects succeeded steps to run again: add --restart-successful")
	}
	return nil
}

// Run retries the workflow.
func (o *RetryOptions) Run(ctx context.Context) error {
	var plan *RetryPlan
	// The spec first: a shutdown left in it would stop the retry at once.
	_, err := o.patchSpec(ctx, o.Name, "retry", func(wf *argov1.Workflow) (bool, error) {
		p, err := FormulateRetry(wf, o.RestartSuccessful, o.selector, o.Now())
		if err != nil {
			return false, o.retryRefused(wf, err)
		}
		plan = p
		changed := false
		if wf.Spec.Shutdown != "" {
			wf.Spec.Shutdown, changed = "", true
		}
		if ads := wf.Spec.ActiveDeadlineSeconds; ads != nil && *ads == 0 {
			wf.Spec.ActiveDeadlineSeconds, changed = nil, true
		}
		return changed, nil
	})
	if err != nil {
		return err
	}
	deleted := 0
	_, err = o.patchStatus(ctx, o.Name, "retry", func(wf *argov1.Workflow) (bool, error) {
		p, err := FormulateRetry(wf, o.RestartSuccessful, o.selector, o.Now())
		if err != nil {
			return false, o.retryRefused(wf, err)
		}
		plan = p
		n, err := o.deletePods(ctx, wf, p)
		if err != nil {
			return false, err
		}
		deleted = n
		wf.Status = p.Status
		return true, nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "%s/%s retried: %s run again (%s deleted)\n", Resource, o.Name,
		cli.Plural(len(plan.DeletedPodNodes), "step"), cli.Plural(deleted, "Pod"))
	return o.follow(ctx, []string{o.Name}, followOptions{wait: o.Wait, watch: o.Watch})
}

// retryRefused explains why a workflow cannot be retried.
func (o *RetryOptions) retryRefused(wf *argov1.Workflow, err error) error {
	fix := "wait for it to end with kubectl argo wf wait " + wf.Name + o.NSFlag(wf.Namespace) + ", or stop it with kubectl argo wf stop " + wf.Name
	if wf.Status.Phase == argov1.WorkflowSucceeded {
		fix = "to run succeeded steps again, add --restart-successful --node-field-selector displayName=STEP; to run it all again, use kubectl argo wf resubmit " + wf.Name
	}
	return &cli.Error{Problem: fmt.Sprintf("workflow %s/%s cannot be retried: %v", wf.Namespace, wf.Name, err), Fix: fix}
}

// deletePods deletes the Pods of the nodes the retry removes: those whose
// node-id annotation names one, or whose name is the one the agent gives.
func (o *RetryOptions) deletePods(ctx context.Context, wf *argov1.Workflow, p *RetryPlan) (int, error) {
	ids := map[string]bool{}
	names := map[string]bool{}
	for _, id := range p.DeletedPodNodes {
		ids[id] = true
		n := wf.Status.Nodes[id]
		names[wfnames.PodName(wf.Name, n.Name, nodeTemplateName(&n))] = true
	}
	pods, err := o.stepPods(ctx, wf)
	if err != nil {
		return 0, o.explain(fmt.Errorf("listing the Pods of workflow %s/%s: %w", wf.Namespace, wf.Name, err))
	}
	var gone []*corev1.Pod
	for i := range pods {
		pod := &pods[i]
		if !ids[pod.Annotations[wfnames.AnnotationNodeID]] && !names[pod.Name] {
			continue
		}
		// The step's new Pod gets the same name: the old one must be gone
		// first, not terminating, or the agent would take it for the new
		// one deleted. Its containers have ended, so no grace is needed.
		if err := o.Clients.Client.Delete(ctx, pod, client.GracePeriodSeconds(0)); client.IgnoreNotFound(err) != nil {
			return len(gone), o.explain(fmt.Errorf("deleting Pod %s/%s of step %s: %w", pod.Namespace, pod.Name,
				pod.Annotations[wfnames.AnnotationNodeName], err))
		}
		gone = append(gone, pod)
	}
	if len(gone) == 0 {
		return 0, nil
	}
	wait, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err = cli.Poll(wait, cli.NewProgress(o.ErrOut), 200*time.Millisecond, "waiting for the old Pods to go: ", func(ctx context.Context) (bool, string, error) {
		left := 0
		for _, pod := range gone {
			err := o.Clients.Client.Get(ctx, client.ObjectKeyFromObject(pod), &corev1.Pod{})
			if err == nil {
				left++
			} else if !apierrors.IsNotFound(err) {
				return false, "", err
			}
		}
		return left == 0, fmt.Sprintf("%d left", left), nil
	})
	if err != nil {
		return len(gone), o.explain(fmt.Errorf("waiting for the deleted Pods of workflow %s/%s to go: %w", wf.Namespace, wf.Name, err))
	}
	return len(gone), nil
}

// RetryPlan is a retried workflow's new status and the nodes whose Pods go.
type RetryPlan struct {
	Status argov1.WorkflowStatus
	// DeletedPodNodes are the IDs of the Pod nodes removed, whose Pods must
	// be deleted, sorted.
	DeletedPodNodes []string
	// Reset are the IDs of the nodes reset to Running, sorted.
	Reset []string
}

// FormulateRetry computes the retry of wf as Argo's FormulateRetryWorkflow
// (workflow/util/util.go): failed and errored Pod nodes (through their
// retry parent) with no succeeded descendant, and the succeeded nodes
// selector matches when restartSuccessful, are deleted with their
// descendants; the group, DAG and failed retry nodes on the path to them
// are reset to Running; the exit handler's nodes are deleted. The workflow
// goes back to phase "" (the agent starts it again), with no message,
// finish time, volume claims or Completed condition.
func FormulateRetry(wf *argov1.Workflow, restartSuccessful bool, selector fields.Selector, now time.Time) (*RetryPlan, error) {
	switch wf.Status.Phase {
	case argov1.WorkflowFailed, argov1.WorkflowError:
	case argov1.WorkflowSucceeded:
		if !restartSuccessful || selector == nil {
			return nil, fmt.Errorf("it Succeeded")
		}
	default:
		phase := string(wf.Status.Phase)
		if phase == "" {
			phase = "Pending"
		}
		return nil, fmt.Errorf("it is %s: only a Failed or Error workflow can be retried", phase)
	}
	nodes := wf.Status.Nodes
	exitName := wf.Name + ".onExit"

	// The reset set the selector names (restartSuccessful only).
	toReset := map[string]bool{}
	if restartSuccessful && selector != nil {
		for id, n := range nodes {
			if selector.Matches(nodeFields(&n)) {
				toReset[id] = true
			}
		}
	}
	deleteSet := maps.Clone(toReset)
	for id, n := range nodes {
		if !failedOrError(n.Phase) || (n.Type != argov1.NodeTypePod && n.Type != argov1.NodeTypeContainer) {
			continue
		}
		node := n
		if n.NodeFlag != nil && n.NodeFlag.Retried {
			if parent := retryParent(nodes, id); parent != nil {
				node = *parent
			}
		}
		if !descendantSucceeded(nodes, &node, toReset, map[string]bool{}) {
			deleteSet[id] = true
		}
	}

	g := newNodeGraph(wf)
	resets := map[string]bool{}
	deletes := map[string]bool{}
	for _, id := range g.sorted(wf.Name) {
		if !deleteSet[id] || deletes[id] {
			continue
		}
		r, d := g.resetPath(id)
		for k := range r {
			resets[k] = true
		}
		for k := range d {
			deletes[k] = true
		}
	}

	status := *wf.Status.DeepCopy()
	status.Phase = argov1.WorkflowUnknown
	status.Message = ""
	status.StartedAt = metav1.NewTime(now.UTC())
	status.FinishedAt = metav1.Time{}
	status.PersistentVolumeClaims = nil
	if status.StoredWorkflowSpec != nil {
		status.StoredWorkflowSpec.Shutdown = ""
	}
	for i := range status.Conditions {
		if status.Conditions[i].Type == "Completed" {
			status.Conditions[i].Status = metav1.ConditionFalse
		}
	}
	status.Nodes = argov1.Nodes{}
	plan := &RetryPlan{}
	for id, n := range nodes {
		switch {
		case deletes[id]:
			if n.Type == argov1.NodeTypePod {
				plan.DeletedPodNodes = append(plan.DeletedPodNodes, id)
			}
			continue
		case strings.HasPrefix(n.Name, exitName):
			if n.Type == argov1.NodeTypePod {
				plan.DeletedPodNodes = append(plan.DeletedPodNodes, id)
			}
			continue
		case resets[id]:
			n = resetNode(*n.DeepCopy(), now)
			plan.Reset = append(plan.Reset, id)
		default:
			n = *n.DeepCopy()
		}
		n.Children = slices.DeleteFunc(n.Children, func(c string) bool { return deletes[c] })
		n.OutboundNodes = slices.DeleteFunc(n.OutboundNodes, func(c string) bool { return deletes[c] })
		status.Nodes[id] = n
	}
	sort.Strings(plan.DeletedPodNodes)
	sort.Strings(plan.Reset)
	plan.Status = status
	return plan, nil
}

func failedOrError(p argov1.NodePhase) bool { return p == argov1.NodeFailed || p == argov1.NodeError }

// retryParent is the Retry node whose child id is.
func retryParent(nodes argov1.Nodes, id string) *argov1.NodeStatus {
	for _, n := range nodes {
		if n.Type == argov1.NodeTypeRetry && slices.Contains(n.Children, id) {
			return &n
		}
	}
	return nil
}

// descendantSucceeded reports whether a node below n succeeded and is not
// to be reset, as Argo's isDescendantNodeSucceeded.
func descendantSucceeded(nodes argov1.Nodes, n *argov1.NodeStatus, toReset, seen map[string]bool) bool {
	for _, c := range n.Children {
		if seen[c] {
			continue
		}
		seen[c] = true
		child, ok := nodes[c]
		if !ok {
			continue
		}
		if (!toReset[c] && child.Phase == argov1.NodeSucceeded) || descendantSucceeded(nodes, &child, toReset, seen) {
			return true
		}
	}
	return false
}

// resetNode is a node run again: Running (Skipped stays Skipped), no
// message or finish time, and the supplied outputs of a suspend node asked
// for again.
func resetNode(n argov1.NodeStatus, now time.Time) argov1.NodeStatus {
	if n.Type == argov1.NodeTypeSuspend && n.Outputs != nil {
		for i, p := range n.Outputs.Parameters {
			n.Outputs.Parameters[i] = argov1.Parameter{Name: p.Name, ValueFrom: &argov1.ValueFrom{Supplied: &argov1.SuppliedValueFrom{}}}
		}
	}
	if n.Phase != argov1.NodeSkipped {
		n.Phase = argov1.NodeRunning
	}
	n.Message = ""
	n.StartedAt = metav1.NewTime(now.UTC())
	n.FinishedAt = metav1.Time{}
	return n
}

// nodeGraph is the tree of nodes by their children links.
type nodeGraph struct {
	nodes    argov1.Nodes
	parent   map[string]string
	children map[string][]string
}

func newNodeGraph(wf *argov1.Workflow) *nodeGraph {
	g := &nodeGraph{nodes: wf.Status.Nodes, parent: map[string]string{}, children: map[string][]string{}}
	for _, id := range slices.Sorted(maps.Keys(wf.Status.Nodes)) {
		for _, c := range wf.Status.Nodes[id].Children {
			if _, ok := wf.Status.Nodes[c]; !ok {
				continue
			}
			if _, ok := g.parent[c]; !ok {
				g.parent[c] = id
			}
			g.children[id] = append(g.children[id], c)
		}
	}
	return g
}

// sorted is the nodes breadth first from root, then the others (hooks).
func (g *nodeGraph) sorted(root string) []string {
	var out []string
	seen := map[string]bool{}
	queue := []string{}
	if _, ok := g.nodes[root]; ok {
		queue = append(queue, root)
		seen[root] = true
	}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		out = append(out, id)
		for _, c := range g.children[id] {
			if !seen[c] {
				seen[c] = true
				queue = append(queue, c)
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(g.nodes)) {
		if !seen[id] {
			out = append(out, id)
		}
	}
	return out
}

// descendants are all nodes below id.
func (g *nodeGraph) descendants(id string) map[string]bool {
	out := map[string]bool{}
	queue := []string{id}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, c := range g.children[cur] {
			if !out[c] {
				out[c] = true
				queue = append(queue, c)
			}
		}
	}
	return out
}

// resetPath is Argo's resetPath: the node and its descendants are deleted;
// walking up, group nodes (Steps, DAG, StepGroup, TaskGroup) and their
// boundaries are reset, and so are failed Retry nodes; a Container's Pod is
// deleted with all it holds.
func (g *nodeGraph) resetPath(start string) (reset, del map[string]bool) {
	reset, del = map[string]bool{}, g.descendants(start)
	del[start] = true
	if _, ok := g.parent[start]; !ok {
		return reset, del // the root: nothing above it
	}
	// The walk starts at the node itself: a group node is reset (its
	// deletion wins) and its boundaries with it.
	cur := start
	for cur != "" {
		n := g.nodes[cur]
		switch {
		case isGroup(n.Type):
			reset[cur] = true
			cur = g.resetBoundaries(cur, reset)
			continue
		case n.Type == argov1.NodeTypeRetry && failedOrError(n.Phase):
			reset[cur] = true
		case n.Type == argov1.NodeTypeContainer:
			// Reset up to the Pod, which goes with its containers.
			pod := cur
			for pod != "" && g.nodes[pod].Type != argov1.NodeTypePod {
				reset[pod] = true
				pod = g.parent[pod]
			}
			if pod != "" {
				del[pod] = true
				for d := range g.descendants(pod) {
					del[d] = true
				}
				cur = g.parent[pod]
				continue
			}
		}
		cur = g.parent[cur]
	}
	return reset, del
}

// resetBoundaries is Argo's resetBoundaries: from a group node, reset the
// retry, step group and task group parents and each boundary up the tree;
// it returns where the walk goes on.
func (g *nodeGraph) resetBoundaries(cur string, reset map[string]bool) string {
	for cur != "" {
		parent := g.parent[cur]
		if parent != "" && g.nodes[parent].Type == argov1.NodeTypeRetry {
			reset[parent] = true
			cur = parent
			parent = g.parent[cur]
		}
		if parent != "" {
			switch g.nodes[parent].Type {
			case argov1.NodeTypeStepGroup, argov1.NodeTypeTaskGroup:
				reset[parent] = true
			}
		}
		boundary := g.nodes[cur].BoundaryID
		if boundary == "" {
			return parent
		}
		// Up to the boundary, resetting it.
		for cur != "" && cur != boundary {
			cur = g.parent[cur]
		}
		if cur == "" {
			return ""
		}
		reset[cur] = true
	}
	return ""
}

func isGroup(t argov1.NodeType) bool {
	return t == argov1.NodeTypeDAG || t == argov1.NodeTypeTaskGroup || t == argov1.NodeTypeStepGroup || t == argov1.NodeTypeSteps
}
