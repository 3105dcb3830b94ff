package exec

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// tarGz writes src (a file or a directory) as a tar+gzip archive the way
// Argo does: entries are named after src's base name, so that unpacking
// gives back one file or one directory.
func tarGz(src string, level int, w io.Writer) error {
	src, err := filepath.Abs(src)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	gz, err := gzip.NewWriterLevel(bw, level)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	base := filepath.Base(src)
	err = filepath.Walk(src, func(p string, info fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, filepath.ToSlash(link))
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(filepath.Join(base, rel))
		if info.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		_, err = io.Copy(tw, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// isTarGz says whether the file at p is a tar+gzip archive (Argo's test:
// it gunzips and has a first tar header).
func isTarGz(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return false
	}
	defer func() { _ = gz.Close() }()
	_, err = tar.NewReader(gz).Next()
	return err == nil
}

// untarGz unpacks the archive at src to dst like Argo: when the archive
// holds a single top-level file or directory, that entry becomes dst;
// otherwise dst is a directory holding the entries. Extraction is confined
// to dst (os.Root): entries cannot write outside it, through ".." or
// through symbolic links.
func untarGz(src, dst string) error {
	tmp := dst + ".tmp"
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := extract(src, tmp); err != nil {
		return err
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return err
	}
	if len(entries) == 1 {
		return os.Rename(filepath.Join(tmp, entries[0].Name()), dst)
	}
	return os.Rename(tmp, dst)
}

func extract(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return err
	}
	defer func() { _ = gz.Close() }()
	root, err := os.OpenRoot(dst)
	if err != nil {
		return err
	}
	defer func() { _ = root.Close() }()
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "/"))
		if name == "." || name == ".." || strings.HasPrefix(name, "../") {
			if name == "." {
				continue
			}
			return fmt.Errorf("illegal path %q in the archive", hdr.Name)
		}
		if dir := path.Dir(name); dir != "." {
			if err := root.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("extracting %s: %w", hdr.Name, err)
			}
		}
		mode := fs.FileMode(hdr.Mode).Perm()
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, 0o755); err != nil {
				return fmt.Errorf("extracting %s: %w", hdr.Name, err)
			}
			if mode != 0 {
				_ = root.Chmod(name, mode)
			}
		case tar.TypeReg:
			out, err := root.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
			if err != nil {
				return fmt.Errorf("extracting %s: %w", hdr.Name, err)
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("extracting %s: %w", hdr.Name, err)
			}
			_ = root.Chtimes(name, hdr.AccessTime, hdr.ModTime)
		case tar.TypeSymlink:
			if err := root.Symlink(hdr.Linkname, name); err != nil {
				return fmt.Errorf("extracting the link %s: %w", hdr.Name, err)
			}
		case tar.TypeLink:
			target := path.Clean(strings.TrimPrefix(hdr.Linkname, "/"))
			if err := root.Link(target, name); err != nil {
				return fmt.Errorf("extracting the hard link %s: %w", hdr.Name, err)
			}
		default:
			// Devices, FIFOs and the like are not artifacts: skip them.
		}
	}
}
