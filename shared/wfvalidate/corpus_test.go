package wfvalidate

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// corpusDir is Argo's examples folder in the corpus directory that
// ARGOLITE_CORPUS_DIR names (relative to the repository root; default
// ../shared/conformance, as for integration/conformance).
func corpusDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ARGOLITE_CORPUS_DIR")
	if dir == "" {
		dir = "../shared/conformance"
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join("../..", dir) // this test runs in shared/wfvalidate
	}
	abs, err := filepath.Abs(filepath.Join(dir, "argo-workflows"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(abs, "expected-succeeded.txt")); err != nil {
		t.Skipf("the Argo examples corpus is absent (%v): it lives in ../shared/conformance/argo-workflows next to the repository, or set ARGOLITE_CORPUS_DIR to the directory that holds argo-workflows/", err)
	}
	return abs
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

type corpus struct {
	dir   string
	files map[string][]Document // by path relative to dir
	// templates are every WorkflowTemplate and ClusterWorkflowTemplate of
	// the folder, by kind and name, and the file each came from.
	templates map[lookupKey]*argov1.WorkflowSpec
	origin    map[lookupKey]string
}

var (
	corpusOnce   sync.Once
	corpusLoaded *corpus
	corpusErr    error
)

// loadCorpus decodes every YAML file of the examples folder once (decoding
// faults are ignored here: the tests decide which files must be clean).
func loadCorpus(t *testing.T) *corpus {
	t.Helper()
	dir := corpusDir(t)
	corpusOnce.Do(func() { corpusLoaded, corpusErr = readCorpus(dir) })
	if corpusErr != nil {
		t.Fatal(corpusErr)
	}
	return corpusLoaded
}

func readCorpus(dir string) (*corpus, error) {
	c := &corpus{dir: dir, files: map[string][]Document{}, templates: map[lookupKey]*argov1.WorkflowSpec{}, origin: map[lookupKey]string{}}
	err := filepath.WalkDir(filepath.Join(dir, "examples"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || (filepath.Ext(path) != ".yaml" && filepath.Ext(path) != ".yml" && filepath.Ext(path) != ".json") {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		docs, _ := DecodeFile(rel, data)
		c.files[rel] = docs
		for _, doc := range docs {
			switch obj := doc.Object.(type) {
			case *argov1.WorkflowTemplate:
				k := lookupKey{obj.Name, false}
				c.templates[k], c.origin[k] = &obj.Spec, rel
			case *argov1.ClusterWorkflowTemplate:
				k := lookupKey{obj.Name, true}
				c.templates[k], c.origin[k] = &obj.Spec, rel
			}
		}
		return nil
	})
	return c, err
}

func (c *corpus) lookup(name string, cluster bool) (*argov1.WorkflowSpec, error) {
	if spec, ok := c.templates[lookupKey{name, cluster}]; ok {
		return spec, nil
	}
	return nil, fmt.Errorf("not found")
}

// referenced are the (cluster) workflow templates a document names.
func referenced(doc Document) []lookupKey {
	var out []lookupKey
	var spec *argov1.WorkflowSpec
	switch obj := doc.Object.(type) {
	case *argov1.Workflow:
		spec = &obj.Spec
	case *argov1.CronWorkflow:
		spec = &obj.Spec.WorkflowSpec
	case *argov1.WorkflowTemplate:
		spec = &obj.Spec
	case *argov1.ClusterWorkflowTemplate:
		spec = &obj.Spec
	default:
		return nil
	}
	if r := spec.WorkflowTemplateRef; r != nil {
		out = append(out, lookupKey{r.Name, r.ClusterScope})
	}
	var visit func(t *argov1.Template)
	visit = func(t *argov1.Template) {
		for _, g := range t.Steps {
			for _, s := range g.Steps {
				if s.TemplateRef != nil {
					out = append(out, lookupKey{s.TemplateRef.Name, s.TemplateRef.ClusterScope})
				}
				if s.Inline != nil {
					visit(s.Inline)
				}
			}
		}
		if t.DAG != nil {
			for _, task := range t.DAG.Tasks {
				if task.TemplateRef != nil {
					out = append(out, lookupKey{task.TemplateRef.Name, task.TemplateRef.ClusterScope})
				}
				if task.Inline != nil {
					visit(task.Inline)
				}
			}
		}
	}
	for i := range spec.Templates {
		visit(&spec.Templates[i])
	}
	return out
}

// TestArgoExamplesAccepted: every example Argo expects to succeed, and every
// WorkflowTemplate and ClusterWorkflowTemplate they use, decodes strictly and
// validates (as lint, and as submit) with the companion templates of the
// folder given to TemplateLookup.
func TestArgoExamplesAccepted(t *testing.T) {
	c := loadCorpus(t)
	expected := readLines(t, filepath.Join(c.dir, "expected-succeeded.txt"))
	if len(expected) == 0 {
		t.Fatal("expected-succeeded.txt lists no file")
	}
	files := map[string]bool{}
	for _, f := range expected {
		files[f] = true
	}
	// The companions: the files defining the templates the examples use.
	for _, f := range expected {
		for _, doc := range c.files[f] {
			for _, k := range referenced(doc) {
				origin, ok := c.origin[k]
				if !ok {
					t.Errorf("%s: %s %q is not defined anywhere in the examples folder", f, kindName(k.cluster), k.name)
					continue
				}
				files[origin] = true
			}
		}
	}
	names := sortedKeys(files)
	workflows := 0
	for _, f := range names {
		data, err := os.ReadFile(filepath.Join(c.dir, f))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		docs, err := DecodeFile(f, data)
		if err != nil {
			t.Errorf("decoding rejected an example Argo runs:\n%v", err)
		}
		for i := range docs {
			doc := &docs[i]
			if doc.Object == nil {
				continue
			}
			if _, ok := doc.Object.(*argov1.Workflow); ok {
				workflows++
			}
			for _, submit := range []bool{false, true} {
				errs := doc.Validate(Options{TemplateLookup: c.lookup, Submit: submit})
				if len(errs) > 0 {
					t.Errorf("validation (submit=%v) rejected %s %s, which Argo runs:\n%v", submit, doc.Kind, doc.Name, errs)
				}
			}
		}
	}
	t.Logf("%d files (%d workflows) accepted", len(names), workflows)
}

// TestArgoExamplesSurvey validates every file of the examples folder and
// logs what is rejected and why (go test -v -run Survey): the examples that
// use what argolite does not support (HTTP templates, git artifacts, ...),
// and the few that are faulty as written. It only logs; the files that must
// pass are TestArgoExamplesAccepted's.
func TestArgoExamplesSurvey(t *testing.T) {
	c := loadCorpus(t)
	var names []string
	for f := range c.files {
		names = append(names, f)
	}
	sort.Strings(names)
	rejected := 0
	for _, f := range names {
		data, _ := os.ReadFile(filepath.Join(c.dir, f))
		docs, decodeErr := DecodeFile(f, data)
		var all Errors
		if decodeErr != nil {
			var errs Errors
			_ = errors.As(decodeErr, &errs)
			all = append(all, errs...)
		}
		for i := range docs {
			all = append(all, docs[i].Validate(Options{TemplateLookup: c.lookup})...)
		}
		if len(all) > 0 {
			rejected++
			t.Logf("%s:\n%v", f, all)
		}
	}
	t.Logf("%d of %d files rejected", rejected, len(names))
}
