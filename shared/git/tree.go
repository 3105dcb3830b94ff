package git

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// writeTree writes the tree of commit into dir (which exists and is empty):
// regular files read-only, executables read-only and executable, symlinks
// only when they stay inside dir, submodules as empty directories.
func writeTree(ctx context.Context, repo *gogit.Repository, commit *object.Commit, dir string) error {
	tree, err := commit.Tree()
	if err != nil {
		return err
	}
	walker := object.NewTreeWalker(tree, true, nil)
	defer walker.Close()
	type link struct{ name, target string }
	var links []link
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		name, entry, err := walker.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if !filepath.IsLocal(name) {
			return fmt.Errorf("the repository has an unsafe path %q", name)
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		switch entry.Mode {
		case filemode.Dir, filemode.Submodule:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case filemode.Regular, filemode.Deprecated:
			if err := writeBlob(repo, entry, p, 0o444); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		case filemode.Executable:
			if err := writeBlob(repo, entry, p, 0o555); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		case filemode.Symlink:
			target, err := readBlob(repo, entry)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			links = append(links, link{name, target})
		}
	}
	// Symlinks last, so no file above is written through one.
	for _, l := range links {
		if filepath.IsAbs(l.target) || !filepath.IsLocal(filepath.Join(filepath.Dir(l.name), l.target)) {
			return outOfBounds(l.name, l.target)
		}
		p := filepath.Join(dir, filepath.FromSlash(l.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(l.target, p); err != nil {
			return err
		}
	}
	// A chain of links can still leave the tree: check where each resolves.
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	for _, l := range links {
		resolved, err := filepath.EvalSymlinks(filepath.Join(dir, filepath.FromSlash(l.name)))
		if errors.Is(err, fs.ErrNotExist) {
			continue // dangling inside the tree: harmless
		}
		if err != nil {
			return fmt.Errorf("%s: %w", l.name, err)
		}
		if rel, err := filepath.Rel(root, resolved); err != nil || !filepath.IsLocal(rel) && rel != "." {
			return outOfBounds(l.name, l.target)
		}
	}
	return nil
}

func outOfBounds(name, target string) error {
	return fmt.Errorf("the repository has a symlink %s -> %s pointing outside the repository: remove it or point it inside", name, target)
}

func writeBlob(repo *gogit.Repository, entry object.TreeEntry, path string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	blob, err := repo.BlobObject(entry.Hash)
	if err != nil {
		return err
	}
	r, err := blob.Reader()
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func readBlob(repo *gogit.Repository, entry object.TreeEntry) (string, error) {
	blob, err := repo.BlobObject(entry.Hash)
	if err != nil {
		return "", err
	}
	r, err := blob.Reader()
	if err != nil {
		return "", err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return "", err
	}
	return string(b), nil
}
