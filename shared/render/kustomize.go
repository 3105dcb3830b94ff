package render

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/resid"
	"sigs.k8s.io/yaml"

	"github.com/argolite/argolite/shared/api/v1alpha1"
)

// kustomizeMu serialises krusty runs: Kustomize keeps global state (its
// OpenAPI schema) that is not safe for concurrent builds, as Flux found.
var kustomizeMu sync.Mutex

// renderKustomize builds the kustomization in dir with krusty, the library
// behind `kustomize build`. The spec's overrides are applied as Argo CD does
// with `kustomize edit` on the source's kustomization file, except that the
// edited file only exists in memory: the build reads the repository through
// a file system that serves the edit and refuses writes into the checkout.
func renderKustomize(ctx context.Context, r *repo, rel, dir string, spec *v1alpha1.ApplicationSourceKustomize) ([]*unstructured.Unstructured, error) {
	var kfile string
	for _, name := range kustomizationFiles {
		if found, err := fileExists(filepath.Join(dir, name)); err != nil {
			return nil, err
		} else if found {
			kfile = filepath.Join(dir, name)
			break
		}
	}
	if kfile == "" {
		return nil, &Error{File: rel, Err: errors.New("no kustomization.yaml, kustomization.yml or Kustomization in the directory"),
			Fix: "add a kustomization file in Git, or drop spec.source.kustomize to render the directory as plain manifests"}
	}
	kname := path.Join(rel, filepath.Base(kfile))

	fsys := &guardedFS{FileSystem: filesys.MakeFsOnDisk(), repo: r, tmp: realTempDir()}
	if spec != nil && hasKustomizeOverrides(spec) {
		edited, err := editKustomization(fsys, kfile, kname, spec)
		if err != nil {
			return nil, err
		}
		fsys.override = map[string][]byte{kfile: edited}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	opts := krusty.MakeDefaultOptions()
	// As `kustomize build`: the kustomization's sortOptions, else legacy order.
	opts.Reorder = krusty.ReorderOptionUnspecified
	kustomizeMu.Lock()
	resMap, err := krusty.MakeKustomizer(opts).Run(fsys, dir)
	kustomizeMu.Unlock()
	if err != nil {
		if fsys.refused != nil {
			// Kustomize may report a refused read as a missing file; say what happened.
			err = fsys.refused
		}
		return nil, &Error{File: kname, Err: fmt.Errorf("kustomize build: %w", r.relative(err))}
	}
	out, err := resMap.AsYaml()
	if err != nil {
		return nil, &Error{File: kname, Err: fmt.Errorf("kustomize build output: %w", err)}
	}
	return decodeManifests(kname, out, false)
}

func hasKustomizeOverrides(k *v1alpha1.ApplicationSourceKustomize) bool {
	return k.NamePrefix != "" || k.NameSuffix != "" || len(k.Images) > 0 || len(k.CommonLabels) > 0 ||
		len(k.CommonAnnotations) > 0 || k.Namespace != "" || len(k.Patches) > 0
}

// editKustomization returns the kustomization file kfile with the spec's
// overrides applied as `kustomize edit set nameprefix|namesuffix|image|
// namespace` and `kustomize edit add label|annotation --force` would, and
// the spec's patches appended, as Argo CD does.
func editKustomization(fsys filesys.FileSystem, kfile, kname string, spec *v1alpha1.ApplicationSourceKustomize) ([]byte, error) {
	data, err := fsys.ReadFile(kfile)
	if err != nil {
		return nil, &Error{File: kname, Err: err}
	}
	var k types.Kustomization
	if err := k.Unmarshal(data); err != nil {
		return nil, &Error{File: kname, Err: err}
	}
	if spec.NamePrefix != "" {
		k.NamePrefix = spec.NamePrefix
	}
	if spec.NameSuffix != "" {
		k.NameSuffix = spec.NameSuffix
	}
	if spec.Namespace != "" {
		k.Namespace = spec.Namespace
	}
	if len(spec.Images) > 0 {
		images, err := setImages(k.Images, spec.Images)
		if err != nil {
			return nil, err
		}
		k.Images = images
	}
	if err := addCommonLabels(&k, kname, spec.CommonLabels); err != nil {
		return nil, err
	}
	if len(spec.CommonAnnotations) > 0 && k.CommonAnnotations == nil {
		k.CommonAnnotations = map[string]string{}
	}
	for key, v := range spec.CommonAnnotations {
		k.CommonAnnotations[key] = v
	}
	for i, p := range spec.Patches {
		if (p.Path == "") == (p.Patch == "") {
			return nil, specError("kustomize.patches[%d] must set exactly one of path and patch", i)
		}
		kp := types.Patch{Path: p.Path, Patch: p.Patch}
		if t := p.Target; t != nil {
			kp.Target = &types.Selector{
				ResId: resid.ResId{
					Gvk:       resid.Gvk{Group: t.Group, Version: t.Version, Kind: t.Kind},
					Name:      t.Name,
					Namespace: t.Namespace,
				},
				LabelSelector:      t.LabelSelector,
				AnnotationSelector: t.AnnotationSelector,
			}
		}
		k.Patches = append(k.Patches, kp)
	}
	out, err := yaml.Marshal(&k)
	if err != nil {
		return nil, fmt.Errorf("render %s: write the edited kustomization: %w", kname, err)
	}
	return out, nil
}

// addCommonLabels adds labels as `kustomize edit add label --force` does. When
// the kustomization has no commonLabels of its own they go straight into
// labels with selectors included, which is what Kustomize turns commonLabels
// into, without its deprecation warning on stderr.
func addCommonLabels(k *types.Kustomization, kname string, labels map[string]string) error {
	if len(labels) == 0 {
		return nil
	}
	// The kustomization's own commonLabels (deprecated, still honoured by
	// Kustomize) are where `kustomize edit add label --force` overwrites.
	if k.CommonLabels != nil { //nolint:staticcheck // see above
		for key, v := range labels {
			k.CommonLabels[key] = v //nolint:staticcheck // see above
		}
		return nil
	}
	for _, l := range k.Labels {
		for key := range l.Pairs {
			if _, dup := labels[key]; dup {
				return &Error{File: kname, Err: fmt.Errorf("label %q is set both by the kustomization's labels and by spec.source.kustomize.commonLabels", key),
					Fix: "set it in one place only"}
			}
		}
	}
	pairs := make(map[string]string, len(labels))
	for key, v := range labels {
		pairs[key] = v
	}
	k.Labels = append(k.Labels, types.Label{Pairs: pairs, IncludeSelectors: true})
	return nil
}

// imageTag matches "<image>:<tag>" as `kustomize edit set image` does; "*"
// keeps the kustomization's current value.
var imageTag = regexp.MustCompile(`^(.*):([a-zA-Z0-9._-]*|\*)$`)

// setImages merges image overrides into a kustomization's images as
// `kustomize edit set image` does: an override replaces the entry of the
// same name, "*" keeps a current field, and the result is sorted by name.
func setImages(current []types.Image, args []string) ([]types.Image, error) {
	byName := map[string]types.Image{}
	for i, arg := range args {
		img, err := parseImage(arg)
		if err != nil {
			return nil, specError("kustomize.images[%d] %q: %w", i, arg, err)
		}
		byName[img.Name] = img
	}
	for _, cur := range current {
		img, ok := byName[cur.Name]
		if !ok {
			byName[cur.Name] = cur
			continue
		}
		if img.NewName == "*" {
			img.NewName = cur.NewName
		}
		if img.NewTag == "*" {
			img.NewTag = cur.NewTag
		}
		if img.Digest == "*" {
			img.Digest = cur.Digest
		}
		byName[cur.Name] = img
	}
	out := make([]types.Image, 0, len(byName))
	for _, img := range byName {
		for _, f := range []*string{&img.NewName, &img.NewTag, &img.Digest} {
			if *f == "*" {
				*f = ""
			}
		}
		out = append(out, img)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

var errImageFormat = errors.New("use name=newName:tag, name=newName@digest, name=newName, name:tag or name@digest")

// parseImage parses one `kustomize edit set image` argument.
func parseImage(arg string) (types.Image, error) {
	if name, repl, ok := strings.Cut(arg, "="); ok {
		if name == "" || strings.Contains(repl, "=") {
			return types.Image{}, errImageFormat
		}
		newName, tag, digest, err := parseImageRef(repl, true)
		return types.Image{Name: name, NewName: newName, NewTag: tag, Digest: digest}, err
	}
	name, tag, digest, err := parseImageRef(arg, false)
	return types.Image{Name: name, NewTag: tag, Digest: digest}, err
}

func parseImageRef(s string, bareNameOK bool) (name, tag, digest string, err error) {
	if n, d, ok := strings.Cut(s, "@"); ok {
		if n == "" || d == "" {
			return "", "", "", errImageFormat
		}
		return n, "", d, nil
	}
	if m := imageTag.FindStringSubmatch(s); m != nil && m[1] != "" {
		return m[1], m[2], "", nil
	}
	if s != "" && bareNameOK {
		return s, "", "", nil
	}
	return "", "", "", errImageFormat
}

// guardedFS is the on-disk file system Kustomize reads the repository
// through. It serves edited files from memory, refuses to read files whose
// real path is outside the repository (a symlink or ../ escaping it) and
// refuses any write into the repository.
type guardedFS struct {
	filesys.FileSystem
	repo     *repo
	tmp      string            // real temporary directory, where Kustomize clones remote bases
	override map[string][]byte // absolute path -> content
	refused  error             // the first read refused, for the error message
}

func (g *guardedFS) ReadFile(p string) ([]byte, error) {
	if data, ok := g.override[p]; ok {
		return append([]byte(nil), data...), nil
	}
	if err := g.readable(p); err != nil {
		return nil, err
	}
	return g.FileSystem.ReadFile(p)
}

func (g *guardedFS) Open(p string) (filesys.File, error) {
	if err := g.readable(p); err != nil {
		return nil, err
	}
	return g.FileSystem.Open(p)
}

// readable allows reading p when its real path is in the repository or in a
// Kustomize clone of a remote base.
func (g *guardedFS) readable(p string) error {
	abs, err := filepath.Abs(p)
	if err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil // let the read report it
	}
	if within(g.repo.real, real) {
		return nil
	}
	if g.tmp != "" && within(g.tmp, real) {
		if rel, err := filepath.Rel(g.tmp, real); err == nil && strings.HasPrefix(rel, "kustomize-") {
			return nil
		}
	}
	err = fmt.Errorf("security: %s %w", abs, errOutside)
	if g.refused == nil {
		g.refused = err
	}
	return err
}

func (g *guardedFS) writable(p string) error {
	abs, err := filepath.Abs(p)
	if err != nil {
		return err
	}
	if within(g.repo.root, abs) || within(g.repo.real, abs) {
		return fmt.Errorf("refusing to write %s: the repository checkout is read-only", g.repo.rel(abs))
	}
	return nil
}

func (g *guardedFS) Create(p string) (filesys.File, error) {
	if err := g.writable(p); err != nil {
		return nil, err
	}
	return g.FileSystem.Create(p)
}

func (g *guardedFS) Mkdir(p string) error {
	if err := g.writable(p); err != nil {
		return err
	}
	return g.FileSystem.Mkdir(p)
}

func (g *guardedFS) MkdirAll(p string) error {
	if err := g.writable(p); err != nil {
		return err
	}
	return g.FileSystem.MkdirAll(p)
}

func (g *guardedFS) RemoveAll(p string) error {
	if err := g.writable(p); err != nil {
		return err
	}
	return g.FileSystem.RemoveAll(p)
}

func (g *guardedFS) WriteFile(p string, data []byte) error {
	if err := g.writable(p); err != nil {
		return err
	}
	return g.FileSystem.WriteFile(p, data)
}

func realTempDir() string {
	real, err := filepath.EvalSymlinks(os.TempDir())
	if err != nil {
		return ""
	}
	return real
}
