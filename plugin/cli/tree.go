package cli

import (
	"fmt"
	"io"
	"strings"
)

// TreeNode is a row of a tree table and the rows that hang from it.
type TreeNode struct {
	// Cells are the row's columns; branch lines go before the first.
	Cells    []string
	Children []*TreeNode
	// Hidden leaves the row out: its children take its place.
	Hidden bool
	// Fork draws the children of a Hidden node as one fork where the node
	// would have been (┬─ first, ├─ between, └─ last, ── alone), as Argo
	// draws the steps of a group, which run side by side.
	Fork bool
}

// WriteTree writes root and the nodes below it to w, a row each with tabs
// between the cells, the first cell after the branch lines (├─, └─, │) that
// join it to its parent. w is a tab writer whose table header is written.
func WriteTree(w io.Writer, root *TreeNode) { writeTree(w, root, " ", " ") }

// writeTree writes n after nodePrefix; its children's rows start with
// childPrefix, which continues the branches above them.
func writeTree(w io.Writer, n *TreeNode, nodePrefix, childPrefix string) {
	if !n.Hidden {
		cells := append([]string{nodePrefix + n.Cells[0]}, n.Cells[1:]...)
		fmt.Fprintln(w, strings.Join(cells, "\t"))
	}
	last := len(n.Children) - 1
	for i, c := range n.Children {
		branch, below := branches(n, i, last)
		prefix := childPrefix
		if n.Hidden && i == 0 {
			// The first child stands where the hidden node would have.
			prefix = nodePrefix
		}
		writeTree(w, c, prefix+branch, childPrefix+below)
	}
}

// branches are the lines before the i-th of n's children (of last+1) and
// before the rows below that child.
func branches(n *TreeNode, i, last int) (branch, below string) {
	switch {
	case n.Hidden && !n.Fork:
		return "", ""
	case n.Hidden && last == 0:
		return "──", "  "
	case n.Hidden && i == 0:
		return "┬─", "│ "
	case i == last:
		return "└─", "  "
	}
	return "├─", "│ "
}
