package wf

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/cli-runtime/pkg/printers"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/wfnames"
)

// treeOptions say what the summary and the tree of a workflow show.
type treeOptions struct {
	// wide adds the outputs and the Kubernetes node of each step.
	wide bool
	// outputs adds the outputs of each step.
	outputs bool
	// podNames are the step Pods by node ID, as listed from the cluster;
	// nodes without one get the name the agent gives (wfnames.PodName).
	podNames map[string]string
	now      time.Time
	pal      palette
}

// printWorkflow prints a workflow's summary, then its tree of nodes, as
// `argo get` does.
func printWorkflow(out io.Writer, wf *argov1.Workflow, opts treeOptions) {
	printSummary(out, wf, opts)
	if _, ok := wf.Status.Nodes[wf.Name]; ok {
		fmt.Fprintln(out)
		printTree(out, wf, opts)
	}
}

func printSummary(out io.Writer, wf *argov1.Workflow, opts treeOptions) {
	w := printers.GetNewTabWriter(out)
	defer w.Flush()
	field := func(name, value string) { fmt.Fprintf(w, "%s\t%s\n", name, value) }
	field("Name:", wf.Name)
	field("Namespace:", wf.Namespace)
	if ref := wf.Spec.WorkflowTemplateRef; ref != nil {
		kind := "workflowtemplate"
		if ref.ClusterScope {
			kind = "clusterworkflowtemplate"
		}
		field("Template:", kind+"/"+ref.Name)
	}
	field("Status:", opts.pal.workflowPhase(wf.Status.Phase, statusText(wf)))
	if wf.Status.Message != "" {
		field("Message:", wf.Status.Message)
	}
	field("Created:", cli.When(opts.now, wf.CreationTimestamp))
	if !wf.Status.StartedAt.IsZero() {
		field("Started:", cli.When(opts.now, wf.Status.StartedAt))
	}
	if !wf.Status.FinishedAt.IsZero() {
		field("Finished:", cli.When(opts.now, wf.Status.FinishedAt))
	}
	if d := cli.Span(opts.now, wf.Status.StartedAt, wf.Status.FinishedAt); d != "" {
		field("Duration:", d)
	}
	if wf.Status.Progress != "" {
		field("Progress:", wf.Status.Progress)
	}
	spec := &wf.Spec
	if wf.Status.StoredWorkflowSpec != nil {
		spec = wf.Status.StoredWorkflowSpec
	}
	if params := parameterLines(spec.Arguments.Parameters); len(params) > 0 {
		field("Parameters:", "")
		for _, p := range params {
			field("  "+p[0]+":", p[1])
		}
	}
	if out := wf.Status.Outputs; out != nil && len(out.Parameters) > 0 {
		field("Output parameters:", "")
		for _, p := range parameterLines(out.Parameters) {
			field("  "+p[0]+":", p[1])
		}
	}
}

func parameterLines(params []argov1.Parameter) [][2]string {
	var out [][2]string
	for _, p := range params {
		if p.Value != nil {
			out = append(out, [2]string{p.Name, oneLine(p.Value.String(), 120)})
		}
	}
	return out
}

// renderKind is how a node takes part in the tree, after Argo's printer:
// a boundary (Steps, DAG) contains the nodes whose boundaryID it is; a
// non-boundary parent (StepGroup, Retry) holds its children; an execution
// node (Pod, Suspend, Skipped) is a leaf.
type renderKind int

const (
	boundaryNode renderKind = iota
	parentNode
	executionNode
)

// renderNode is a node of the tree before it is drawn: its ID and the nodes
// that hang from it, in Argo's order.
type renderNode struct {
	id       string
	children []*renderNode
}

func kindOf(t argov1.NodeType) (renderKind, bool) {
	switch t {
	case argov1.NodeTypeDAG, argov1.NodeTypeSteps:
		return boundaryNode, true
	case argov1.NodeTypeStepGroup, argov1.NodeTypeRetry:
		return parentNode, true
	case argov1.NodeTypePod, argov1.NodeTypeSkipped, argov1.NodeTypeSuspend, argov1.NodeTypeContainer:
		return executionNode, true
	}
	return 0, false
}

// renderTrees turns the nodes into trees and returns their roots by ID.
func renderTrees(wf *argov1.Workflow) map[string]*renderNode {
	nodes := wf.Status.Nodes
	byID := map[string]*renderNode{}
	// childOf maps the children of non-boundary parents to them: those
	// attach to the parent, not to their boundary.
	childOf := map[string]string{}
	for id, n := range nodes {
		kind, ok := kindOf(n.Type)
		if !ok || (n.Type == argov1.NodeTypeSkipped && n.Phase == argov1.NodeOmitted) {
			// Omitted tasks are left out of the tree (Argo filters them
			// while drawing, which leaves the tree lines of their siblings open).
			continue
		}
		byID[id] = &renderNode{id: id}
		if kind == parentNode {
			for _, c := range n.Children {
				childOf[c] = id
			}
		}
	}
	roots := map[string]*renderNode{}
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r := byID[id]
		n := nodes[id]
		parent := ""
		if p, ok := childOf[id]; ok {
			parent = p
		} else if n.BoundaryID != "" {
			parent = n.BoundaryID
		}
		if p := byID[parent]; p != nil && parent != id {
			p.children = append(p.children, r)
		} else {
			roots[id] = r
		}
	}
	for _, r := range byID {
		sortChildren(wf, r.children)
	}
	return roots
}

// sortChildren orders nodes as Argo does: by start time, then loop index,
// then display name.
func sortChildren(wf *argov1.Workflow, list []*renderNode) {
	sort.SliceStable(list, func(i, j int) bool {
		a, b := wf.Status.Nodes[list[i].id], wf.Status.Nodes[list[j].id]
		if !a.StartedAt.Equal(&b.StartedAt) {
			return a.StartedAt.Before(&b.StartedAt)
		}
		ai, bi := loopIndex(a.DisplayName), loopIndex(b.DisplayName)
		if ai >= 0 && bi >= 0 && ai != bi {
			return ai < bi
		}
		return a.DisplayName < b.DisplayName
	})
}

// loopIndex reads i from a display name such as "step(i:item)"; -1 when it
// has none.
func loopIndex(name string) int {
	start := strings.Index(name, "(")
	end := strings.Index(name, ":")
	if start < 0 || end < start {
		return -1
	}
	i, err := strconv.Atoi(name[start+1 : end])
	if err != nil {
		return -1
	}
	return i
}

// printTree prints the tree of the workflow's nodes: the main tree, then
// the exit handler's, then any other (workflow hooks).
func printTree(out io.Writer, wf *argov1.Workflow, opts treeOptions) {
	w := printers.GetNewTabWriter(out)
	defer w.Flush()
	header := opts.pal.Plain("STEP") + "\tTEMPLATE\tPODNAME\tDURATION\tMESSAGE"
	if opts.wide || opts.outputs {
		header += "\tOUTPUTS"
	}
	if opts.wide {
		header += "\tNODE"
	}
	fmt.Fprintln(w, header)
	roots := renderTrees(wf)
	main := roots[wf.Name]
	if main == nil {
		return
	}
	r := &treeRenderer{wf: wf, opts: opts}
	cli.WriteTree(w, r.treeNode(main))
	exitID := wfnames.NodeID(wf.Name, wf.Name+".onExit")
	var others []string
	for id := range roots {
		if id != wf.Name && id != exitID {
			others = append(others, id)
		}
	}
	sort.Slice(others, func(i, j int) bool {
		a, b := wf.Status.Nodes[others[i]], wf.Status.Nodes[others[j]]
		if !a.StartedAt.Equal(&b.StartedAt) {
			return a.StartedAt.Before(&b.StartedAt)
		}
		return a.Name < b.Name
	})
	if exit := roots[exitID]; exit != nil {
		others = append([]string{exitID}, others...)
	}
	for _, id := range others {
		fmt.Fprintln(w, "\t\t\t\t")
		cli.WriteTree(w, r.treeNode(roots[id]))
	}
}

// treeRenderer makes the rows of a workflow's tree.
type treeRenderer struct {
	wf   *argov1.Workflow
	opts treeOptions
}

// treeNode is the tree of rn as Argo draws it: a retry with one attempt is
// left out (the attempt stands in its place), and a step group is left out
// with its steps forking from where it would be.
func (r *treeRenderer) treeNode(rn *renderNode) *cli.TreeNode {
	n := r.wf.Status.Nodes[rn.id]
	t := &cli.TreeNode{}
	switch {
	case n.Type == argov1.NodeTypeRetry && len(n.Children) == 1:
		t.Hidden = true
	case n.Type == argov1.NodeTypeStepGroup:
		t.Hidden, t.Fork = true, true
	default:
		t.Cells = r.cells(&n)
	}
	for _, c := range rn.children {
		t.Children = append(t.Children, r.treeNode(c))
	}
	return t
}

// cells are the columns of n's row.
func (r *treeRenderer) cells(n *argov1.NodeStatus) []string {
	template := n.TemplateName
	if n.TemplateRef != nil {
		template = n.TemplateRef.Name + "/" + n.TemplateRef.Template
	}
	pod, dur := "", ""
	if n.Type == argov1.NodeTypePod {
		pod = r.podName(n)
		dur = cli.Span(r.opts.now, n.StartedAt, n.FinishedAt)
	}
	cells := []string{r.opts.pal.nodeIcon(n) + " " + n.DisplayName, template, pod, dur, oneLine(n.Message, 0)}
	if r.opts.wide || r.opts.outputs {
		cells = append(cells, outputsText(n.Outputs))
	}
	if r.opts.wide {
		cells = append(cells, n.HostNodeName)
	}
	return cells
}

func (r *treeRenderer) podName(n *argov1.NodeStatus) string {
	if p := r.opts.podNames[n.ID]; p != "" {
		return p
	}
	return wfnames.PodName(r.wf.Name, n.Name, nodeTemplateName(n))
}

// nodeTemplateName is the template name a node's Pod is named after.
func nodeTemplateName(n *argov1.NodeStatus) string {
	if n.TemplateRef != nil {
		return n.TemplateRef.Template
	}
	return n.TemplateName
}

// outputsText is a node's outputs in one cell: parameters, result, artifacts.
func outputsText(o *argov1.Outputs) string {
	if o == nil {
		return ""
	}
	var parts []string
	for _, p := range o.Parameters {
		if p.Value != nil {
			parts = append(parts, p.Name+"="+oneLine(p.Value.String(), 40))
		}
	}
	if o.Result != nil {
		parts = append(parts, "result="+oneLine(*o.Result, 40))
	}
	for _, a := range o.Artifacts {
		parts = append(parts, "artifact:"+a.Name)
	}
	return strings.Join(parts, ", ")
}
