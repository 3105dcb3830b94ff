package e2e

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryTestNeedsTheCluster runs without the cluster: it checks that each
// test of the suite starts with needCluster(t), so that `go test` without
// ARGOLITE_E2E lists every test as skipped with the reason instead of
// failing on a client that was never set up.
func TestEveryTestNeedsTheCluster(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, file := range files {
		f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Test") ||
				fn.Name.Name == "TestMain" || fn.Name.Name == "TestEveryTestNeedsTheCluster" {
				continue
			}
			if !startsWithNeedCluster(fn.Body) {
				t.Errorf("%s: %s does not start with needCluster(t)", fset.Position(fn.Pos()), fn.Name.Name)
			}
		}
	}
}

func startsWithNeedCluster(body *ast.BlockStmt) bool {
	if body == nil || len(body.List) == 0 {
		return false
	}
	stmt, ok := body.List[0].(*ast.ExprStmt)
	if !ok {
		return false
	}
	call, ok := stmt.X.(*ast.CallExpr)
	if !ok {
		return false
	}
	fun, ok := call.Fun.(*ast.Ident)
	return ok && fun.Name == "needCluster"
}
