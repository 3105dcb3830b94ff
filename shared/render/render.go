// Package render owns turning one Application source, checked out on disk,
// into the Kubernetes objects it describes: plain YAML and JSON directories,
// Kustomize overlays and Helm charts, with Argo CD's spec overrides applied.
//
// It reads the checkout and never writes into it, needs no cluster, and does
// not import controller-runtime, so the agent and the plugin share it. Every
// failure the user fixes in Git (or in the Application spec) is an *Error
// naming the file and the cause.
package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/argolite/argolite/shared/api/v1alpha1"
)

// Input is one source to render.
type Input struct {
	// Root is the root of the checked-out repository. It is only read.
	Root string
	// Source says where in Root the manifests are and how to render them;
	// Source.Path is relative to Root.
	Source v1alpha1.ApplicationSource
	// Refs maps a source's ref name to the root of its checkout, for Helm
	// valueFiles written as "$ref/path".
	Refs map[string]string
	// AppName is the Helm release name unless the spec names one.
	AppName string
	// Namespace is the destination namespace: Helm's .Release.Namespace. It is
	// not written into objects; Kustomize sets a namespace only when the spec
	// says so.
	Namespace string
	// KubeVersion is the cluster version for Helm's .Capabilities (e.g.
	// "v1.36.3"); empty means Helm's default.
	KubeVersion string
	// APIVersions are added to Helm's .Capabilities.APIVersions.
	APIVersions []string
}

// Kind is how a source is rendered.
type Kind string

// Source kinds, as Argo CD names them.
const (
	KindDirectory Kind = "Directory"
	KindKustomize Kind = "Kustomize"
	KindHelm      Kind = "Helm"
)

// kustomizationFiles are the file names Kustomize recognises, in its order.
var kustomizationFiles = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// Error is a render failure the user fixes in Git or in the Application spec:
// it names the file (relative to the repository root) and why.
type Error struct {
	// File is the file or directory at fault, slash-separated and relative
	// to the repository root; empty when the Application spec is at fault.
	File string
	// Err is the cause.
	Err error
	// Fix says what to do; empty means "fix the file in Git".
	Fix string
}

func (e *Error) Error() string {
	fix := e.Fix
	if fix == "" {
		fix = "fix the file in Git"
	}
	if e.File == "" {
		return fmt.Sprintf("render: %v; %s", e.Err, fix)
	}
	return fmt.Sprintf("render %s: %v; %s", e.File, e.Err, fix)
}

func (e *Error) Unwrap() error { return e.Err }

// fixSpec is the advice for errors in the Application's source spec.
const fixSpec = "fix spec.source of the Application"

func specError(format string, args ...any) *Error {
	return &Error{Err: fmt.Errorf(format, args...), Fix: fixSpec}
}

// Detect says how the source at dir renders: an explicit helm, kustomize or
// directory field in the spec wins; otherwise a Chart.yaml means Helm, a
// kustomization file means Kustomize and anything else is a Directory.
func Detect(dir string, src v1alpha1.ApplicationSource) (Kind, error) {
	var explicit []Kind
	if src.Helm != nil {
		explicit = append(explicit, KindHelm)
	}
	if src.Kustomize != nil {
		explicit = append(explicit, KindKustomize)
	}
	if src.Directory != nil {
		explicit = append(explicit, KindDirectory)
	}
	switch len(explicit) {
	case 1:
		return explicit[0], nil
	case 0:
	default:
		return "", specError("source sets %d of helm, kustomize and directory (%v); set at most one", len(explicit), explicit)
	}
	found, err := fileExists(filepath.Join(dir, "Chart.yaml"))
	if err != nil || found {
		return KindHelm, err
	}
	for _, name := range kustomizationFiles {
		found, err := fileExists(filepath.Join(dir, name))
		if err != nil || found {
			return KindKustomize, err
		}
	}
	return KindDirectory, nil
}

func fileExists(p string) (bool, error) {
	_, err := os.Lstat(p)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("detect source type: %w", err)
	}
}

// Render renders in.Source into objects, in a deterministic order. Objects
// keep the namespace their manifests give them (none if they give none),
// except that Helm templates see Namespace as .Release.Namespace.
func Render(ctx context.Context, in Input) ([]*unstructured.Unstructured, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	repo, err := newRepo(in.Root)
	if err != nil {
		return nil, err
	}
	rel, dir, err := repo.sourceDir(in.Source.Path)
	if err != nil {
		return nil, err
	}
	kind, err := Detect(dir, in.Source)
	if err != nil {
		return nil, err
	}
	var objs []*unstructured.Unstructured
	switch kind {
	case KindHelm:
		objs, err = renderHelm(ctx, repo, rel, dir, in)
	case KindKustomize:
		objs, err = renderKustomize(ctx, repo, rel, dir, in.Source.Kustomize)
	default:
		objs, err = renderDirectory(ctx, repo, rel, dir, in.Source.Directory)
	}
	if err != nil {
		return nil, err
	}
	// Argo CD honours helm.sh/hook annotations whatever renders them (its
	// helm-hooks example is a plain directory of manifests), so they are
	// mapped here for every source type, not only for Helm charts.
	kept := objs[:0]
	for _, obj := range objs {
		mapArgoKind(obj)
		if mapHelmHooks(obj) {
			kept = append(kept, obj)
		}
	}
	return kept, nil
}

// argoKinds are the argoproj.io/v1alpha1 kinds argolite has under its own
// group: found in Git, they are applied as argolite's, so a repository
// written for Argo (Argo CD's blue-green example keeps its Rollout in Git)
// works as it is.
var argoKinds = map[string]bool{
	"Rollout": true, "AnalysisTemplate": true, "ClusterAnalysisTemplate": true, "AnalysisRun": true, "Experiment": true, "EventSource": true, "Sensor": true,
	"Workflow": true, "WorkflowTemplate": true, "ClusterWorkflowTemplate": true, "CronWorkflow": true,
}

// mapArgoKind moves obj to argolite.dev/v1alpha1 when it is one of argoKinds.
func mapArgoKind(obj *unstructured.Unstructured) {
	if obj.GetAPIVersion() == "argoproj.io/v1alpha1" && argoKinds[obj.GetKind()] {
		obj.SetAPIVersion(v1alpha1.GroupVersion.String())
	}
}

// repo is a checkout root with its symlinks resolved, so that containment
// checks compare real paths.
type repo struct {
	root string // absolute, as given
	real string // absolute, symlinks resolved
}

func newRepo(root string) (*repo, error) {
	if root == "" {
		return nil, errors.New("render: no repository root given")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("render: repository root %s: %w", root, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("render: repository root %s: %w", root, err)
	}
	return &repo{root: abs, real: real}, nil
}

// sourceDir resolves the source path: it must be relative, stay inside the
// repository (also through symlinks) and be a directory. It returns the path
// cleaned and slash-separated for messages ("." for the root) and the real
// directory.
func (r *repo) sourceDir(p string) (string, string, error) {
	shown := p
	if shown == "" {
		shown = "."
	}
	if filepath.IsAbs(p) || path.IsAbs(p) {
		return "", "", &Error{File: shown, Err: errors.New("path is absolute"), Fix: "make spec.source.path relative to the repository root"}
	}
	clean := path.Clean(filepath.ToSlash(p)) // "" becomes "."
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", "", &Error{File: shown, Err: errors.New("path leaves the repository"), Fix: "use a path inside the repository in spec.source.path"}
	}
	real, err := r.resolve(filepath.Join(r.root, filepath.FromSlash(clean)))
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", &Error{File: clean, Err: fmt.Errorf("path %s not found in the repository", clean), Fix: "check spec.source.path and that the revision contains it"}
	}
	if err != nil {
		return "", "", &Error{File: clean, Err: err, Fix: "use a path inside the repository in spec.source.path"}
	}
	info, err := os.Stat(real)
	if err != nil {
		return "", "", fmt.Errorf("render: path %s: %w", clean, err)
	}
	if !info.IsDir() {
		return "", "", &Error{File: clean, Err: fmt.Errorf("path %s is a file, not a directory", clean), Fix: "point spec.source.path at a directory"}
	}
	return clean, real, nil
}

// errOutside reports a path (or a symlink's target) outside the repository.
var errOutside = errors.New("leaves the repository (through .. or a symlink)")

// resolve returns the real path of p, or an error wrapping errOutside when
// it lies outside the repository, or fs.ErrNotExist.
func (r *repo) resolve(p string) (string, error) {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", err
	}
	if !within(r.real, real) {
		return "", errOutside
	}
	return real, nil
}

// rel names an absolute path under the repository for messages.
func (r *repo) rel(p string) string {
	for _, base := range []string{r.root, r.real} {
		if within(base, p) {
			if rel, err := filepath.Rel(base, p); err == nil {
				return filepath.ToSlash(rel)
			}
		}
	}
	return filepath.ToSlash(p)
}

// within reports whether p is base or below it; both must be clean.
func within(base, p string) bool {
	if p == base {
		return true
	}
	sep := string(filepath.Separator)
	if strings.HasSuffix(base, sep) {
		return strings.HasPrefix(p, base)
	}
	return strings.HasPrefix(p, base+sep)
}

// rootedError is an error whose message names repository files relative to
// the repository root rather than by the checkout's absolute path, which
// means nothing to the user.
type rootedError struct {
	msg string
	err error
}

func (e *rootedError) Error() string { return e.msg }
func (e *rootedError) Unwrap() error { return e.err }

// relative rewrites absolute checkout paths in err's message.
func (r *repo) relative(err error) error {
	msg := err.Error()
	out := msg
	for _, base := range []string{r.real, r.root} {
		out = strings.ReplaceAll(out, base+string(filepath.Separator), "")
	}
	if out == msg {
		return err
	}
	return &rootedError{msg: out, err: err}
}
