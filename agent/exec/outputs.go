package exec

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// collectParameters reads output parameters from their files. Like Argo it
// trims one trailing newline; a missing file takes the default or is an
// error naming the parameter and path.
func collectParameters(params []OutputParameter) ([]ParameterValue, []string) {
	var (
		out  []ParameterValue
		errs []string
	)
	for _, p := range params {
		if p.Path == "" {
			errs = append(errs, fmt.Sprintf("output parameter %q has no path (valueFrom.path)", p.Name))
			continue
		}
		data, err := os.ReadFile(p.Path)
		var value string
		switch {
		case err == nil:
			value = string(data)
		case p.Default != nil:
			value = *p.Default
		case errors.Is(err, fs.ErrNotExist):
			errs = append(errs, fmt.Sprintf("output parameter %q: %s does not exist: the command must write it, or give the parameter a default (valueFrom.default)", p.Name, p.Path))
			continue
		case errors.Is(err, syscall.EISDIR):
			errs = append(errs, fmt.Sprintf("output parameter %q: %s is a directory, not a file: use an output artifact for directories", p.Name, p.Path))
			continue
		default:
			errs = append(errs, fmt.Sprintf("output parameter %q: reading %s: %v", p.Name, p.Path, err))
			continue
		}
		out = append(out, ParameterValue{Name: p.Name, Value: strings.TrimSuffix(value, "\n")})
	}
	return out, errs
}

// uploadOutputs archives and uploads output artifacts. A missing optional
// artifact is reported without a location.
func (o Options) uploadOutputs(ctx context.Context, arts []OutputArtifact) ([]ArtifactResult, []string) {
	var (
		out  []ArtifactResult
		errs []string
	)
	for _, a := range arts {
		loc, err := o.uploadOutput(ctx, a)
		switch {
		case err == nil:
			out = append(out, ArtifactResult{Name: a.Name, Location: loc})
		case a.Optional && errors.Is(err, errMissingPath):
			out = append(out, ArtifactResult{Name: a.Name})
		default:
			errs = append(errs, err.Error())
		}
	}
	return out, errs
}

var errMissingPath = errors.New("path does not exist")

func (o Options) uploadOutput(ctx context.Context, a OutputArtifact) (*Location, error) {
	if a.Path == "" {
		return nil, fmt.Errorf("output artifact %q has no path", a.Name)
	}
	fi, err := os.Stat(a.Path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("output artifact %q: %s does not exist after the command ended: the command must create it, or mark the artifact optional: %w",
				a.Name, a.Path, errMissingPath)
		}
		return nil, fmt.Errorf("output artifact %q: %w", a.Name, err)
	}
	if !fi.Mode().IsRegular() && !fi.IsDir() {
		return nil, fmt.Errorf("output artifact %q: %s is neither a file nor a directory", a.Name, a.Path)
	}
	src := a.Path
	switch a.Archive {
	case "", "tar":
		level := gzip.DefaultCompression
		if a.CompressionLevel != nil {
			level = *a.CompressionLevel
			if level < gzip.HuffmanOnly || level > gzip.BestCompression {
				return nil, fmt.Errorf("output artifact %q: archive.tar.compressionLevel %d is out of range: use -1 (default) to 9", a.Name, level)
			}
		}
		tmpDir := filepath.Join(o.Dir, "tmp")
		if err := os.MkdirAll(tmpDir, 0o755); err != nil {
			return nil, fmt.Errorf("output artifact %q: %w", a.Name, err)
		}
		f, err := os.CreateTemp(tmpDir, "out-*.tgz")
		if err != nil {
			return nil, fmt.Errorf("output artifact %q: %w", a.Name, err)
		}
		defer func() { _ = os.Remove(f.Name()) }()
		err = tarGz(a.Path, level, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("output artifact %q: archiving %s: %w", a.Name, a.Path, err)
		}
		src = f.Name()
	case "none":
		if fi.IsDir() && a.Location.HTTP != nil {
			return nil, fmt.Errorf("output artifact %q: %s is a directory and an HTTP location takes one file: use archive tar", a.Name, a.Path)
		}
	default:
		return nil, fmt.Errorf("output artifact %q: archive %q is not supported: use tar (the default) or none", a.Name, a.Archive)
	}
	if err := o.put(ctx, a.Location, src); err != nil {
		return nil, fmt.Errorf("output artifact %q: uploading %s to %s: %w", a.Name, a.Path, describe(a.Location), err)
	}
	loc := a.Location
	return &loc, nil
}

// downloadInputs places the input artifacts at their paths. Members of a
// container set share the work: the first to take the lock downloads, the
// others skip artifacts already placed where they can see them.
func (o Options) downloadInputs(ctx context.Context, arts []InputArtifact, shared bool) error {
	if len(arts) == 0 {
		return nil
	}
	if shared {
		unlock, err := o.lock("inputs")
		if err != nil {
			return err
		}
		defer unlock()
	}
	for i, a := range arts {
		marker := filepath.Join(o.Dir, "inputs", fmt.Sprintf("%d", i))
		if shared {
			if _, err := os.Stat(marker); err == nil {
				if _, err := os.Lstat(a.Path); err == nil {
					continue
				}
			}
		}
		if err := o.downloadInput(ctx, a); err != nil {
			return err
		}
		if shared {
			if err := mkdirShared(filepath.Dir(marker)); err == nil {
				_ = writeFileAtomic(marker, []byte(a.Name), 0o644)
			}
		}
	}
	return nil
}

// lock takes an exclusive lock on Dir/NAME.lock.
func (o Options) lock(name string) (func(), error) {
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(o.Dir, name+".lock")
	// Read-only: flock works on it, and members running as other users
	// can open a lock file they do not own.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o666)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// downloadInput fetches one input artifact, unpacks it when it is a
// tar+gzip archive, selects SubPath and places the result at Path.
func (o Options) downloadInput(ctx context.Context, a InputArtifact) error {
	if a.Path == "" {
		return fmt.Errorf("input artifact %q has no path", a.Name)
	}
	dst := filepath.Clean(a.Path)
	if dst == "/" || dst == "." {
		return fmt.Errorf("input artifact %q: path %q cannot be replaced: choose a file or directory below it", a.Name, a.Path)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("input artifact %q: creating the parent of %s: %w", a.Name, dst, err)
	}
	// Stage next to the destination so that the final rename stays on one
	// filesystem.
	stage, err := os.MkdirTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".argolite-*")
	if err != nil {
		return fmt.Errorf("input artifact %q: staging next to %s: %w", a.Name, dst, err)
	}
	defer os.RemoveAll(stage)

	got, err := o.fetchArtifact(ctx, a, stage)
	if err != nil {
		if errors.Is(err, errNotFound) {
			if a.Optional {
				o.logf("optional input artifact %q not found at %s: skipped", a.Name, where(a))
				return nil
			}
			return fmt.Errorf("input artifact %q not found at %s: %w; check that the step producing it succeeded, or mark the input optional", a.Name, where(a), err)
		}
		return fmt.Errorf("input artifact %q: fetching %s: %w", a.Name, where(a), err)
	}
	if err := place(got, dst); err != nil {
		return fmt.Errorf("input artifact %q: %w", a.Name, err)
	}
	if a.Mode != nil {
		if err := os.Chmod(dst, os.FileMode(*a.Mode)); err != nil {
			return fmt.Errorf("input artifact %q: mode %#o on %s: %w", a.Name, *a.Mode, dst, err)
		}
	}
	return nil
}

// fetchArtifact downloads the artifact into stage and returns the path of
// what is to be placed: the unpacked archive, the file, or the directory.
func (o Options) fetchArtifact(ctx context.Context, a InputArtifact, stage string) (string, error) {
	sub := strings.Trim(filepath.ToSlash(filepath.Clean("/"+a.SubPath)), "/")
	if a.SubPath != "" && sub != "" {
		if a.Location.Raw != nil {
			return "", fmt.Errorf("subPath %q does not apply to a raw artifact", a.SubPath)
		}
		// First as its own object below the artifact's key (Argo's way, for
		// artifacts stored unarchived), then inside the archive.
		loc := withSubPath(a.Location, sub)
		got, err := o.fetchUnpacked(ctx, loc, filepath.Join(stage, "sub"))
		if err == nil || !errors.Is(err, errNotFound) {
			return got, err
		}
		whole, werr := o.fetchUnpacked(ctx, a.Location, filepath.Join(stage, "whole"))
		if werr != nil {
			if errors.Is(werr, errNotFound) {
				return "", err
			}
			return "", werr
		}
		inside := filepath.Join(whole, filepath.FromSlash(sub))
		if _, serr := os.Lstat(inside); serr != nil {
			return "", fmt.Errorf("%w: subPath %q is neither an object below the key nor inside the artifact", errNotFound, a.SubPath)
		}
		return inside, nil
	}
	return o.fetchUnpacked(ctx, a.Location, filepath.Join(stage, "art"))
}

// fetchUnpacked downloads loc to path and unpacks it when it is a
// tar+gzip archive.
func (o Options) fetchUnpacked(ctx context.Context, loc Location, path string) (string, error) {
	if err := o.fetch(ctx, loc, path); err != nil {
		return "", err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if fi.IsDir() || !isTarGz(path) {
		return path, nil
	}
	out := path + ".unpacked"
	if err := untarGz(path, out); err != nil {
		return "", fmt.Errorf("unpacking the tar+gzip archive: %w", err)
	}
	_ = os.Remove(path)
	return out, nil
}

// place moves src to dst. An existing dst is replaced when it is a file or
// an empty directory; into an existing non-empty directory (a volume mount,
// say) a directory's entries are moved.
func place(src, dst string) error {
	sfi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	dfi, err := os.Lstat(dst)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return os.Rename(src, dst)
	case err != nil:
		return err
	case !dfi.IsDir():
		if err := os.Remove(dst); err != nil {
			return fmt.Errorf("replacing %s: %w", dst, err)
		}
		return os.Rename(src, dst)
	}
	entries, err := os.ReadDir(dst)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		if err := os.Remove(dst); err == nil {
			return os.Rename(src, dst)
		}
	}
	if !sfi.IsDir() {
		return fmt.Errorf("%s is an existing directory and the artifact is a file: choose another path", dst)
	}
	children, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, c := range children {
		from, to := filepath.Join(src, c.Name()), filepath.Join(dst, c.Name())
		if err := os.RemoveAll(to); err != nil {
			return fmt.Errorf("replacing %s: %w", to, err)
		}
		if err := os.Rename(from, to); err != nil {
			return fmt.Errorf("placing %s: %w", to, err)
		}
	}
	return nil
}

// where names an input artifact's location, subPath included.
func where(a InputArtifact) string {
	s := describe(a.Location)
	if a.SubPath != "" {
		s += " subPath " + a.SubPath
	}
	return s
}
