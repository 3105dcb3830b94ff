package render

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/argolite/argolite/shared/api/v1alpha1"
)

// testRoot is the fixture repository every render test reads.
func testRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("testdata/repo")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// ids names objects as Kind/name (Kind/namespace/name when namespaced), in order.
func ids(objs []*unstructured.Unstructured) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		id := o.GetKind() + "/" + o.GetName()
		if o.GetNamespace() != "" {
			id = o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
		}
		out = append(out, id)
	}
	return out
}

// mustRender renders and checks that every object is a valid unstructured
// object: DeepCopy panics on values JSON cannot hold (such as int).
func mustRender(t *testing.T, in Input) []*unstructured.Unstructured {
	t.Helper()
	objs, err := Render(context.Background(), in)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	for _, o := range objs {
		_ = o.DeepCopy()
	}
	return objs
}

func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s/%s in %v", kind, name, ids(objs))
	return nil
}

// wantError checks that err is an *Error naming file whose message holds all of msgs.
func wantError(t *testing.T, err error, file string, msgs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error naming %q, got none", file)
	}
	var rerr *Error
	if !errors.As(err, &rerr) {
		t.Fatalf("want *Error, got %T: %v", err, err)
	}
	if rerr.File != file {
		t.Errorf("File = %q, want %q (error: %v)", rerr.File, file, err)
	}
	for _, m := range msgs {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q does not contain %q", err.Error(), m)
		}
	}
}

// writeTree writes files (slash paths relative to a new temporary root) and
// returns the root. A value starting with "->" makes a symlink to the rest.
func writeTree(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// treeHash hashes every path, mode, symlink target and file content under root.
func treeHash(t testing.TB, root string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %v %d\n", p, info.Mode(), info.ModTime().UnixNano())
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprintln(h, target)
		case d.Type().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestDetect(t *testing.T) {
	root := testRoot(t)
	tests := []struct {
		name    string
		path    string
		src     v1alpha1.ApplicationSource
		want    Kind
		wantErr bool
	}{
		{name: "Chart.yaml means Helm", path: "helm/app", want: KindHelm},
		{name: "kustomization.yaml means Kustomize", path: "kustomize/overlay", want: KindKustomize},
		{name: "anything else is a Directory", path: "dir", want: KindDirectory},
		{name: "explicit directory wins over Chart.yaml", path: "helm/app", src: v1alpha1.ApplicationSource{Directory: &v1alpha1.ApplicationSourceDirectory{}}, want: KindDirectory},
		{name: "explicit helm wins over kustomization", path: "kustomize/overlay", src: v1alpha1.ApplicationSource{Helm: &v1alpha1.ApplicationSourceHelm{}}, want: KindHelm},
		{name: "explicit kustomize on a plain directory", path: "dir", src: v1alpha1.ApplicationSource{Kustomize: &v1alpha1.ApplicationSourceKustomize{}}, want: KindKustomize},
		{name: "two explicit kinds", path: "dir", src: v1alpha1.ApplicationSource{Helm: &v1alpha1.ApplicationSourceHelm{}, Directory: &v1alpha1.ApplicationSourceDirectory{}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Detect(filepath.Join(root, tt.path), tt.src)
			if tt.wantErr {
				var rerr *Error
				if !errors.As(err, &rerr) {
					t.Fatalf("want *Error, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Detect = %s, want %s", got, tt.want)
			}
		})
	}
	// A Kustomization file (no extension) counts too.
	other := writeTree(t, map[string]string{"Kustomization": "resources: []\n"})
	if got, err := Detect(other, v1alpha1.ApplicationSource{}); err != nil || got != KindKustomize {
		t.Errorf("Detect(Kustomization) = %s, %v; want Kustomize", got, err)
	}
}

func TestSourcePathErrors(t *testing.T) {
	outside := writeTree(t, map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: secret}\n"})
	root := writeTree(t, map[string]string{
		"apps/web/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n",
		"escape":           "->" + outside,
	})
	tests := []struct {
		name, path, file, msg string
	}{
		{name: "missing", path: "apps/api", file: "apps/api", msg: "path apps/api not found in the repository"},
		{name: "dot-dot", path: "apps/../../etc", file: "apps/../../etc", msg: "leaves the repository"},
		{name: "absolute", path: "/etc", file: "/etc", msg: "absolute"},
		{name: "symlink out", path: "escape", file: "escape", msg: "leaves the repository"},
		{name: "a file", path: "apps/web/cm.yaml", file: "apps/web/cm.yaml", msg: "not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(context.Background(), Input{Root: root, Source: v1alpha1.ApplicationSource{Path: tt.path}})
			wantError(t, err, tt.file, tt.msg)
		})
	}
}

func TestRenderCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Render(ctx, Input{Root: testRoot(t), Source: v1alpha1.ApplicationSource{Path: "dir"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestSplitDocuments(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantLines []int
		wantDocs  []string
	}{
		{name: "one", in: "a: 1\n", wantLines: []int{1}, wantDocs: []string{"a: 1\n"}},
		{name: "leading separator dropped", in: "---\na: 1\n", wantLines: []int{2}, wantDocs: []string{"a: 1\n"}},
		{name: "two with comment on separator", in: "a: 1\n--- # next\nb: 2\n", wantLines: []int{1, 3}, wantDocs: []string{"a: 1\n", "b: 2\n"}},
		{name: "content after separator", in: "a: 1\n--- b: 2\n", wantLines: []int{1, 2}, wantDocs: []string{"a: 1\n", " b: 2\n"}},
		{name: "four dashes are not a separator", in: "a: |\n  x\n----\n", wantLines: []int{1}, wantDocs: []string{"a: |\n  x\n----\n"}},
		{name: "no trailing newline", in: "a: 1\n---\nb: 2", wantLines: []int{1, 3}, wantDocs: []string{"a: 1\n", "b: 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs := splitDocuments([]byte(tt.in))
			var lines []int
			var texts []string
			for _, d := range docs {
				lines = append(lines, d.line)
				texts = append(texts, string(d.data))
			}
			if !reflect.DeepEqual(lines, tt.wantLines) || !reflect.DeepEqual(texts, tt.wantDocs) {
				t.Errorf("got lines %v docs %q, want %v %q", lines, texts, tt.wantLines, tt.wantDocs)
			}
		})
	}
}

// TestRenderConcurrent renders every kind from several goroutines, as the
// agent's reconcilers do; run with -race it also checks shared state.
func TestRenderConcurrent(t *testing.T) {
	root := testRoot(t)
	inputs := []Input{
		{Root: root, Source: v1alpha1.ApplicationSource{Path: "dir", Directory: &v1alpha1.ApplicationSourceDirectory{Recurse: true}}},
		{Root: root, Source: v1alpha1.ApplicationSource{Path: "kustomize/overlay", Kustomize: &v1alpha1.ApplicationSourceKustomize{NamePrefix: "p-"}}},
		{Root: root, AppName: "myapp", Source: v1alpha1.ApplicationSource{Path: "helm/app"}, KubeVersion: "v1.36.3", APIVersions: []string{"example.com/v1"}},
	}
	want := make([][]string, len(inputs))
	for i, in := range inputs {
		want[i] = ids(mustRender(t, in))
	}
	errs := make(chan error, 8*len(inputs))
	for range 8 {
		for i, in := range inputs {
			go func() {
				objs, err := Render(context.Background(), in)
				if err == nil && !reflect.DeepEqual(ids(objs), want[i]) {
					err = fmt.Errorf("%s: got %v, want %v", in.Source.Path, ids(objs), want[i])
				}
				errs <- err
			}()
		}
	}
	for range 8 * len(inputs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestArgoKindsAreOurs: Argo's Rollout and Workflow kinds in Git are
// applied as argolite's; Argo kinds argolite does not have, and other
// groups, are left as written.
func TestArgoKindsAreOurs(t *testing.T) {
	root := writeTree(t, map[string]string{"app/all.yaml": `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: demo}
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: success-rate}
---
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata: {name: nightly}
---
apiVersion: argoproj.io/v1alpha1
kind: Experiment
metadata: {name: exp}
---
apiVersion: argoproj.io/v1alpha1
kind: EventBus
metadata: {name: default}
---
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: webhook}
---
apiVersion: example.com/v1alpha1
kind: Rollout
metadata: {name: theirs}
`})
	objs := mustRender(t, Input{Root: root, Source: v1alpha1.ApplicationSource{Path: "app"}})
	want := map[string]string{
		"demo": "argolite.dev/v1alpha1", "success-rate": "argolite.dev/v1alpha1", "nightly": "argolite.dev/v1alpha1",
		"exp": "argolite.dev/v1alpha1", "default": "argoproj.io/v1alpha1", "webhook": "argolite.dev/v1alpha1", "theirs": "example.com/v1alpha1",
	}
	for _, o := range objs {
		if got := o.GetAPIVersion(); got != want[o.GetName()] {
			t.Errorf("%s %s: apiVersion %s, want %s", o.GetKind(), o.GetName(), got, want[o.GetName()])
		}
	}
	if len(objs) != len(want) {
		t.Errorf("rendered %v", ids(objs))
	}
}
