package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// Argo Workflows' own end-to-end suite (test/e2e of the public
// argoproj/argo-workflows repository) is read from its Go module, which the
// module proxy serves with the YAML files and the *_test.go files that say
// what each is expected to do.
const (
	argoModule        = "github.com/argoproj/argo-workflows/v4"
	argoModuleVersion = "v4.0.5"
	// argoE2EEnv overrides where the module (its root, holding test/e2e) is.
	argoE2EEnv = "ARGOLITE_ARGO_WORKFLOWS_DIR"
)

// runArgoE2E runs the workflows of Argo's e2e suite that its tests expect
// to succeed, after the WorkflowTemplates those tests create, and checks
// them against passing-argo-e2e.txt.
func runArgoE2E(t *testing.T, ctx context.Context, dyn dynamic.Interface) string {
	t.Helper()
	const title = "Argo Workflows e2e (" + argoModuleVersion + " test/e2e) conformance"
	root, err := argoE2EDir()
	if err != nil {
		msg := fmt.Sprintf("%s: skipped: Argo's module is not reachable (%v); set %s to a copy of %s", title, err, argoE2EEnv, argoModule)
		t.Log(msg)
		return msg + "\n"
	}
	cases, left, err := expectedE2E(root)
	if err != nil {
		t.Fatalf("reading Argo's e2e tests: %v", err)
	}
	dir := filepath.Join(root, "test", "e2e")
	setupHTTPBin(t, ctx, dyn, root)
	var files []string
	seen := map[string]bool{}
	for _, c := range cases {
		for _, tmpl := range c.Templates {
			applyTemplates(t, ctx, dyn, tmpl)
		}
		if !seen[c.Workflow] {
			seen[c.Workflow] = true
			files = append(files, c.Workflow)
		}
	}
	report := runSuite(t, ctx, dyn, title, dir, files, readList(t, "passing-argo-e2e.txt"), "passing-argo-e2e.txt")
	var why []string
	for reason, n := range left {
		why = append(why, fmt.Sprintf("%d %s", n, reason))
	}
	sort.Strings(why)
	return report + "  not run (Argo's tests expect them to fail, or they need more than the workflow file): " + strings.Join(why, ", ") + "\n"
}

// setupHTTPBin runs Argo's quick-start httpbin (Deployment, Service
// httpbin:9100 and Secret my-httpbin-cred) as written, for the HTTP
// artifact tests; only the image loses its digest, since the test bed's
// go-httpbin of that version is built here.
func setupHTTPBin(t *testing.T, ctx context.Context, dyn dynamic.Interface, root string) {
	t.Helper()
	base := filepath.Join(root, "manifests", "quick-start", "base", "httpbin")
	var objs []*unstructured.Unstructured
	for _, f := range []string{"my-httpbin-cred-secret.yaml", "httpbin-service.yaml", "httpbin-deploy.yaml"} {
		o, err := readObjects(filepath.Join(base, f))
		if err != nil {
			t.Fatalf("reading Argo's httpbin manifests: %v", err)
		}
		objs = append(objs, o...)
	}
	for _, obj := range objs {
		if obj.GetKind() == "Deployment" {
			containers, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
			for _, c := range containers {
				m := c.(map[string]any)
				if image, ok := m["image"].(string); ok {
					m["image"], _, _ = strings.Cut(image, "@")
				}
			}
			if err := unstructured.SetNestedSlice(obj.Object, containers, "spec", "template", "spec", "containers"); err != nil {
				t.Fatal(err)
			}
		}
		createFresh(t, ctx, dyn, obj)
	}
	waitDeploymentReady(t, ctx, dyn, "httpbin")
}

// applyTemplates creates the WorkflowTemplates and ClusterWorkflowTemplates
// in a file of Argo's e2e suite, or in YAML given inline.
func applyTemplates(t *testing.T, ctx context.Context, dyn dynamic.Interface, fileOrYAML string) {
	t.Helper()
	var objs []*unstructured.Unstructured
	var err error
	if strings.HasPrefix(fileOrYAML, "/") {
		objs, err = readObjects(fileOrYAML)
	} else {
		objs, err = decodeObjects([]byte(fileOrYAML))
	}
	if err != nil {
		t.Errorf("reading a template of Argo's e2e suite: %v", err)
		return
	}
	for _, obj := range objs {
		mapObject(obj)
		var ri dynamic.ResourceInterface
		switch obj.GetKind() {
		case "WorkflowTemplate":
			ri = dyn.Resource(wftGVR).Namespace(Namespace)
		case "ClusterWorkflowTemplate":
			ri = dyn.Resource(cwftGVR)
		default:
			continue
		}
		_ = ri.Delete(ctx, obj.GetName(), metav1.DeleteOptions{})
		if _, err := ri.Create(ctx, obj, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Logf("template %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
	}
}

// argoE2EDir is the root of Argo Workflows' module: argoE2EEnv, else the
// module cache after `go mod download`.
func argoE2EDir() (string, error) {
	if dir := os.Getenv(argoE2EEnv); dir != "" {
		return dir, nil
	}
	cmd := exec.Command("go", "mod", "download", "-json", argoModule+"@"+argoModuleVersion)
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		return "", fmt.Errorf("go mod download %s@%s: %w %s%s", argoModule, argoModuleVersion, err, out, stderr)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w", argoModule, argoModuleVersion, err)
	}
	if m.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", argoModule, argoModuleVersion, m.Error)
	}
	return m.Dir, nil
}

// e2eCase is one of Argo's e2e tests that submits a workflow file and waits
// for it to succeed.
type e2eCase struct {
	// Test is the Go test, as Suite.TestName.
	Test string
	// Workflow is the file under test/e2e, as functional/x.yaml.
	Workflow string
	// Templates are the WorkflowTemplates and ClusterWorkflowTemplates the
	// test creates first: a file under test/e2e, or the YAML itself.
	Templates []string
}

// skippedTags are the build tags of suites that need parts argolite does not
// have (Argo's API server, its CLI, a database, executor plugins) or that
// measure Argo's own controller (metrics).
var skippedTags = map[string]string{
	"api": "Argo's API server", "cli": "the argo CLI", "dbsemaphore": "a database",
	"plugins": "executor plugins", "metrics": "Argo's controller metrics",
}

// givenResources and whenSteps are the fixture calls a case may make and
// still be replayed by submitting files: anything else (resuming, deleting,
// creating ConfigMaps from Go values, running commands) is a test of an
// action, not of a workflow succeeding.
var (
	givenResources = map[string]bool{"Workflow": true, "WorkflowTemplate": true, "ClusterWorkflowTemplate": true}
	whenSteps      = map[string]bool{"SubmitWorkflow": true, "WaitForWorkflow": true, "CreateWorkflowTemplates": true,
		"CreateClusterWorkflowTemplates": true, "Given": true, "When": true, "Then": true}
)

// expectedE2E reads test/e2e/*_test.go under root and returns the cases
// that submit a functional/ or testdata/ workflow and wait for
// fixtures.ToBeSucceeded, and how many others it left out and why.
func expectedE2E(root string) ([]e2eCase, map[string]int, error) {
	dir := filepath.Join(root, "test", "e2e")
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		return nil, nil, err
	}
	var cases []e2eCase
	left := map[string]int{}
	fset := token.NewFileSet()
	for _, path := range files {
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return nil, nil, fmt.Errorf("parsing %s: %w", path, err)
		}
		tag := buildTag(f)
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || !strings.HasPrefix(fn.Name.Name, "Test") || fn.Body == nil {
				continue
			}
			suite := ""
			if fn.Recv != nil && len(fn.Recv.List) == 1 {
				if star, ok := fn.Recv.List[0].Type.(*ast.StarExpr); ok {
					if id, ok := star.X.(*ast.Ident); ok {
						suite = id.Name + "."
					}
				}
			}
			for _, stmt := range fn.Body.List {
				es, ok := stmt.(*ast.ExprStmt)
				if !ok {
					continue
				}
				c, why := caseOf(es.X, dir)
				if c == nil {
					if why != "" {
						left[why]++
					}
					continue
				}
				if reason, skip := skippedTags[tag]; skip {
					left["needs "+reason]++
					continue
				}
				if _, err := os.Stat(filepath.Join(dir, c.Workflow)); err != nil {
					// The module zip leaves out symlinks (conditionals.yaml is one).
					left["not in the module (a symlink)"]++
					continue
				}
				c.Test = suite + fn.Name.Name
				cases = append(cases, *c)
			}
		}
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].Test < cases[j].Test })
	return cases, left, nil
}

// caseOf reads one fixture chain, s.Given().Workflow("@...").When()...; why
// says why a chain that submits a file workflow is not a case.
func caseOf(x ast.Expr, dir string) (*e2eCase, string) {
	type call struct {
		name string
		args []ast.Expr
	}
	var chain []call
	for {
		ce, ok := x.(*ast.CallExpr)
		if !ok {
			break
		}
		sel, ok := ce.Fun.(*ast.SelectorExpr)
		if !ok {
			break
		}
		chain = append([]call{{sel.Sel.Name, ce.Args}}, chain...)
		x = sel.X
	}
	c := &e2eCase{}
	succeeds, other, then := false, "", false
	for _, step := range chain {
		switch {
		case step.name == "Then":
			then = true
		case then:
			// Assertions: one on the workflow's phase says what it expects.
			if step.name == "ExpectWorkflow" && len(step.args) == 1 && assertsSucceeded(step.args[0]) {
				succeeds = true
			}
		case givenResources[step.name]:
			if len(step.args) != 1 {
				other = step.name
				continue
			}
			lit, ok := step.args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				other = step.name
				continue
			}
			text, err := strconv.Unquote(lit.Value)
			if err != nil {
				other = step.name
				continue
			}
			if step.name == "Workflow" {
				c.Workflow = text
			} else {
				c.Templates = append(c.Templates, text)
			}
		case whenSteps[step.name]:
			if step.name == "WaitForWorkflow" && len(step.args) > 0 {
				if sel, ok := step.args[0].(*ast.SelectorExpr); ok && sel.Sel.Name == "ToBeSucceeded" {
					succeeds = true
				}
			}
		default:
			if other == "" {
				other = step.name
			}
		}
	}
	file, isFile := strings.CutPrefix(c.Workflow, "@")
	if !isFile || !strings.HasPrefix(file, "functional/") && !strings.HasPrefix(file, "testdata/") {
		return nil, ""
	}
	switch {
	case !succeeds:
		return nil, "not expected to succeed"
	case other != "":
		return nil, "uses the fixture action " + other
	}
	c.Workflow = file
	for i, t := range c.Templates {
		if f, ok := strings.CutPrefix(t, "@"); ok {
			c.Templates[i] = filepath.Join(dir, f)
		}
	}
	return c, ""
}

// assertsSucceeded reports whether an ExpectWorkflow block asserts that the
// status phase is wfv1.WorkflowSucceeded.
func assertsSucceeded(block ast.Expr) bool {
	found := false
	ast.Inspect(block, func(n ast.Node) bool {
		ce, ok := n.(*ast.CallExpr)
		if !ok || found {
			return !found
		}
		wantPhase, phase := false, false
		for _, a := range ce.Args {
			sel, ok := a.(*ast.SelectorExpr)
			if !ok {
				continue
			}
			wantPhase = wantPhase || sel.Sel.Name == "WorkflowSucceeded"
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "status" && sel.Sel.Name == "Phase" {
				phase = true
			}
		}
		found = wantPhase && phase
		return !found
	})
	return found
}

// buildTag is the file's //go:build tag, when it is a single word.
func buildTag(f *ast.File) string {
	for _, g := range f.Comments {
		for _, c := range g.List {
			if tag, ok := strings.CutPrefix(c.Text, "//go:build "); ok {
				return strings.TrimSpace(tag)
			}
		}
	}
	return ""
}

func TestExpectedE2E(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "test", "e2e")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := "//go:build functional\n\npackage e2e\n\n" +
		"func (s *FunctionalSuite) TestA() {\n" +
		"\ts.Given().Workflow(\"@testdata/a.yaml\").WorkflowTemplate(\"@testdata/t.yaml\").When().CreateWorkflowTemplates().SubmitWorkflow().\n" +
		"\t\tWaitForWorkflow(fixtures.ToBeSucceeded, 90*time.Second).Then().ExpectWorkflow(func() {})\n" +
		"\ts.Given().Workflow(\"@functional/failing.yaml\").When().SubmitWorkflow().WaitForWorkflow(fixtures.ToBeFailed)\n" +
		"\ts.Given().Workflow(\"@functional/resume.yaml\").When().SubmitWorkflow().ResumeWorkflow().WaitForWorkflow(fixtures.ToBeSucceeded)\n" +
		"\ts.Given().Workflow(`inline`).When().SubmitWorkflow().WaitForWorkflow(fixtures.ToBeSucceeded)\n" +
		"}\n"
	for _, f := range []string{"testdata/a.yaml", "testdata/b.yaml", "functional/failing.yaml", "functional/resume.yaml"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "functional_test.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	api := "//go:build api\n\npackage e2e\n\nfunc (s *ArgoServerSuite) TestB() {\n" +
		"\ts.Given().Workflow(\"@testdata/b.yaml\").When().SubmitWorkflow().WaitForWorkflow(fixtures.ToBeSucceeded)\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "argo_server_test.go"), []byte(api), 0o644); err != nil {
		t.Fatal(err)
	}
	cases, left, err := expectedE2E(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 1 || cases[0].Test != "FunctionalSuite.TestA" || cases[0].Workflow != "testdata/a.yaml" ||
		len(cases[0].Templates) != 1 || cases[0].Templates[0] != filepath.Join(dir, "testdata/t.yaml") {
		t.Errorf("cases %+v, want FunctionalSuite.TestA with testdata/a.yaml and its template", cases)
	}
	want := map[string]int{"not expected to succeed": 1, "uses the fixture action ResumeWorkflow": 1, "needs Argo's API server": 1}
	if fmt.Sprint(left) != fmt.Sprint(want) {
		t.Errorf("left out %v, want %v", left, want)
	}
}
