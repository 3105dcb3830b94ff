package cli

import (
	"strings"
	"testing"
)

func TestWriteTree(t *testing.T) {
	leaf := func(name string, children ...*TreeNode) *TreeNode {
		return &TreeNode{Cells: []string{name, "x"}, Children: children}
	}
	tests := []struct {
		name string
		root *TreeNode
		want string
	}{
		{name: "one row", root: leaf("a"), want: " a\tx\n"},
		{name: "branches", root: leaf("a", leaf("b", leaf("c"), leaf("d")), leaf("e")), want: ` a	x
 ├─b	x
 │ ├─c	x
 │ └─d	x
 └─e	x
`},
		{name: "a hidden node's children take its place",
			root: leaf("a", &TreeNode{Hidden: true, Children: []*TreeNode{leaf("b"), leaf("c")}}, leaf("d")), want: ` a	x
 ├─b	x
 │ c	x
 └─d	x
`},
		{name: "forks", root: leaf("a",
			&TreeNode{Hidden: true, Fork: true, Children: []*TreeNode{leaf("b")}},
			&TreeNode{Hidden: true, Fork: true, Children: []*TreeNode{leaf("c", leaf("x")), leaf("d"), leaf("e")}}), want: ` a	x
 ├───b	x
 └─┬─c	x
   │ └─x	x
   ├─d	x
   └─e	x
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			WriteTree(&b, tt.root)
			if b.String() != tt.want {
				t.Errorf("tree:\n%s\nwant:\n%s", b.String(), tt.want)
			}
		})
	}
}
