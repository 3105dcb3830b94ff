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

	"github.com/gobwas/glob"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/argolite/argolite/shared/api/v1alpha1"
)

// renderDirectory reads the YAML and JSON manifests of a directory, as Argo
// CD's directory source does: *.yaml, *.yml and *.json files in walk (path)
// order, subdirectories only with recurse, include and exclude matched
// against the path relative to the source directory.
func renderDirectory(ctx context.Context, r *repo, rel, dir string, spec *v1alpha1.ApplicationSourceDirectory) ([]*unstructured.Unstructured, error) {
	var opts v1alpha1.ApplicationSourceDirectory
	if spec != nil {
		opts = *spec
	}
	include, err := compileGlob("include", opts.Include)
	if err != nil {
		return nil, err
	}
	exclude, err := compileGlob("exclude", opts.Exclude)
	if err != nil {
		return nil, err
	}
	var objs []*unstructured.Unstructured
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, walkErr error) error {
		if walkErr != nil {
			return walkErr
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && (!opts.Recurse || d.Name() == ".git") {
				return filepath.SkipDir
			}
			return nil
		}
		ext := path.Ext(d.Name())
		if ext != ".yaml" && ext != ".yml" && ext != ".json" && ext != ".jsonnet" {
			return nil
		}
		relPath, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		relPath = filepath.ToSlash(relPath)
		if exclude != nil && exclude.Match(relPath) {
			return nil
		}
		if include != nil && !include.Match(relPath) {
			return nil
		}
		file := path.Join(rel, relPath)
		if ext == ".jsonnet" {
			// Argo CD evaluates Jsonnet; skipping it silently would drop objects.
			return &Error{File: file, Err: errors.New("jsonnet is not supported"), Fix: "commit the rendered YAML or JSON instead, or exclude the file with spec.source.directory.exclude"}
		}
		real := p
		if d.Type()&fs.ModeSymlink != 0 {
			real, err = r.resolve(p)
			if errors.Is(err, errOutside) {
				return &Error{File: file, Err: fmt.Errorf("symlink %w", errOutside), Fix: "make the symlink point inside the repository"}
			}
			if err != nil {
				return &Error{File: file, Err: err, Fix: "fix or remove the symlink in Git"}
			}
			if info, err := os.Stat(real); err == nil && info.IsDir() {
				return nil // the walk does not follow directory symlinks; neither does Argo CD
			}
		}
		data, err := os.ReadFile(real)
		if err != nil {
			return fmt.Errorf("render %s: %w", file, err)
		}
		got, err := decodeManifests(file, data, ext == ".json")
		if err != nil {
			return err
		}
		objs = append(objs, got...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return objs, nil
}

// compileGlob compiles an include or exclude pattern as Argo CD does: a
// github.com/gobwas/glob pattern without separators, so "*" also matches
// "/" and "{a.yaml,b.yaml}" lists alternatives.
func compileGlob(field, pattern string) (glob.Glob, error) {
	if strings.TrimSpace(pattern) == "" {
		return nil, nil
	}
	g, err := glob.Compile(pattern)
	if err != nil {
		return nil, specError("directory.%s %q is not a valid glob: %w", field, pattern, err)
	}
	return g, nil
}
