package workflow

import (
	"sort"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/wfnames"
)

// nodeID is Argo's node ID (see shared/wfnames, which the plugin shares).
func nodeID(wf *argov1.Workflow, name string) string { return wfnames.NodeID(wf.Name, name) }

// podName is Argo's v2 Pod name of a node.
func podName(wf *argov1.Workflow, nodeName, templateName string) string {
	return wfnames.PodName(wf.Name, nodeName, templateName)
}

// node returns a copy of the node named name, or nil.
func (o *operation) node(name string) *argov1.NodeStatus {
	n, ok := o.wf.Status.Nodes[nodeID(o.wf, name)]
	if !ok {
		return nil
	}
	return &n
}

// nodeByID returns a copy of the node with id, or nil.
func (o *operation) nodeByID(id string) *argov1.NodeStatus {
	n, ok := o.wf.Status.Nodes[id]
	if !ok {
		return nil
	}
	return &n
}

// setNode stores n.
func (o *operation) setNode(n *argov1.NodeStatus) {
	if o.wf.Status.Nodes == nil {
		o.wf.Status.Nodes = argov1.Nodes{}
	}
	o.wf.Status.Nodes[n.ID] = *n
}

// initNode creates a node in phase.
func (o *operation) initNode(name string, typ argov1.NodeType, ref templateRef, boundaryID string, phase argov1.NodePhase, flag *argov1.NodeFlag, message string) *argov1.NodeStatus {
	n := &argov1.NodeStatus{
		ID:            nodeID(o.wf, name),
		Name:          name,
		DisplayName:   displayName(o.wf, name),
		Type:          typ,
		TemplateName:  ref.Name,
		TemplateRef:   ref.Ref,
		TemplateScope: ref.Scope,
		Phase:         phase,
		BoundaryID:    boundaryID,
		Message:       message,
		StartedAt:     metav1.NewTime(o.now),
		NodeFlag:      flag,
	}
	if phase.Fulfilled() {
		n.FinishedAt = n.StartedAt
	}
	o.setNode(n)
	o.log.V(1).Info("node initialized", "node", name, "type", typ, "phase", phase)
	return n
}

// displayName is the last part of a node name: the step or task name.
func displayName(wf *argov1.Workflow, name string) string { return wfnames.DisplayName(wf.Name, name) }

// markNode sets a node's phase (and message), with its finish time once fulfilled.
func (o *operation) markNode(name string, phase argov1.NodePhase, message string) *argov1.NodeStatus {
	n := o.node(name)
	if n == nil {
		return nil
	}
	if n.Phase != phase {
		o.log.V(1).Info("node phase", "node", name, "from", n.Phase, "to", phase, "message", message)
		n.Phase = phase
	}
	if message != "" || phase == argov1.NodeSucceeded {
		n.Message = message
	}
	if phase.Fulfilled() && n.FinishedAt.IsZero() {
		n.FinishedAt = metav1.NewTime(o.now)
	}
	o.setNode(n)
	return n
}

// addChild links child under parent once.
func (o *operation) addChild(parent, child string) {
	p := o.node(parent)
	if p == nil {
		return
	}
	id := nodeID(o.wf, child)
	for _, c := range p.Children {
		if c == id {
			return
		}
	}
	p.Children = append(p.Children, id)
	o.setNode(p)
}

// childNodes returns the nodes whose names are name(i) or name(i:...):
// the expansions of a loop or the attempts of a retry, in index order.
func (o *operation) indexedChildren(parent *argov1.NodeStatus) []argov1.NodeStatus {
	var out []argov1.NodeStatus
	for _, id := range parent.Children {
		if n, ok := o.wf.Status.Nodes[id]; ok {
			out = append(out, n)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return loopIndex(out[i].Name) < loopIndex(out[j].Name) })
	return out
}

// loopIndex reads i from a name ending in (i) or (i:...).
func loopIndex(name string) int {
	open := strings.LastIndex(name, "(")
	if open < 0 {
		return -1
	}
	rest := name[open+1:]
	end := strings.IndexAny(rest, ":)")
	if end < 0 {
		return -1
	}
	i, err := strconv.Atoi(rest[:end])
	if err != nil {
		return -1
	}
	return i
}

// daemoned reports whether a node is a running daemon: its dependants go
// on while it serves, until its scope ends.
func daemoned(n *argov1.NodeStatus) bool {
	return n != nil && n.Daemoned != nil && *n.Daemoned && !n.Phase.Fulfilled()
}

// doneForParent reports whether a parent may go on past a node.
func doneForParent(n *argov1.NodeStatus) bool {
	return n != nil && (n.Phase.Fulfilled() || daemoned(n))
}

// failedOrError reports whether a phase is a failure.
func failedOrError(p argov1.NodePhase) bool {
	return p == argov1.NodeFailed || p == argov1.NodeError
}

// duration of a node until now or its finish.
func (o *operation) duration(n *argov1.NodeStatus) time.Duration {
	end := o.now
	if !n.FinishedAt.IsZero() {
		end = n.FinishedAt.Time
	}
	if n.StartedAt.IsZero() {
		return 0
	}
	return end.Sub(n.StartedAt.Time)
}
