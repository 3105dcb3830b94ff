package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// epoch is the one timestamp every layer entry, history entry and config
// carries, so the same inputs always give the same image digest.
var epoch = time.Unix(0, 0).UTC()

// entry is one file system object of a layer.
type entry struct {
	Path     string // relative to the root: "bin/busybox"
	Type     byte   // tar.TypeDir, tar.TypeReg or tar.TypeSymlink
	Mode     int64  // permission bits, including sticky (0o1777)
	UID, GID int
	Data     []byte // regular files
	Link     string // symlinks
}

func dir(p string, mode int64) entry { return entry{Path: p, Type: tar.TypeDir, Mode: mode} }

func file(p string, mode int64, data []byte) entry {
	return entry{Path: p, Type: tar.TypeReg, Mode: mode, Data: data}
}

func symlink(p, target string) entry {
	return entry{Path: p, Type: tar.TypeSymlink, Mode: 0o777, Link: target}
}

// owned returns e owned by uid:gid.
func (e entry) owned(uid, gid int) entry { e.UID, e.GID = uid, gid; return e }

// layerTar writes entries as an uncompressed tar stream: paths cleaned,
// missing parent directories added (root-owned, 0755), entries sorted by
// path, every time set to epoch and no user or group names. Duplicate paths
// are an error.
func layerTar(entries []entry) ([]byte, error) {
	byPath := map[string]entry{}
	for _, e := range entries {
		p := path.Clean(strings.TrimPrefix(e.Path, "/"))
		if p == "." || p == ".." || strings.HasPrefix(p, "../") {
			return nil, fmt.Errorf("layer entry %q: path must name something below the root", e.Path)
		}
		if _, dup := byPath[p]; dup {
			return nil, fmt.Errorf("layer entry %q: path given twice", p)
		}
		e.Path = p
		byPath[p] = e
	}
	for p := range byPath {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if parent, ok := byPath[d]; !ok {
				byPath[d] = dir(d, 0o755)
			} else if parent.Type != tar.TypeDir {
				return nil, fmt.Errorf("layer entry %q: parent %q is not a directory", p, d)
			}
		}
	}
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	sort.Strings(paths)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		e := byPath[p]
		h := &tar.Header{
			Typeflag: e.Type,
			Name:     p,
			Mode:     e.Mode,
			Uid:      e.UID,
			Gid:      e.GID,
			ModTime:  epoch,
		}
		switch e.Type {
		case tar.TypeDir:
			h.Name += "/"
		case tar.TypeReg:
			h.Size = int64(len(e.Data))
		case tar.TypeSymlink:
			h.Linkname = e.Link
		default:
			return nil, fmt.Errorf("layer entry %q: unsupported type %q", p, e.Type)
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("layer entry %q: %w", p, err)
		}
		if e.Type == tar.TypeReg {
			if _, err := tw.Write(e.Data); err != nil {
				return nil, fmt.Errorf("layer entry %q: %w", p, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// layerSpec is one layer of an image: its entries and how the image
// history describes it.
type layerSpec struct {
	what    string
	entries []entry
}

// layerOf is a layerSpec.
func layerOf(what string, entries []entry) layerSpec { return layerSpec{what, entries} }

// buildImage returns a linux image for arch made of layers, bottom first,
// with cfg as its runtime config. Equal layers give equal blobs, so images
// sharing a base layer share it in containerd's content store too.
func buildImage(arch string, cfg v1.Config, layers ...layerSpec) (v1.Image, error) {
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		Architecture: arch,
		OS:           "linux",
		Created:      v1.Time{Time: epoch},
		Config:       cfg,
		RootFS:       v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	for _, ls := range layers {
		b, err := layerTar(ls.entries)
		if err != nil {
			return nil, err
		}
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(b)), nil
		}, tarball.WithCompressedCaching)
		if err != nil {
			return nil, fmt.Errorf("compressing layer: %w", err)
		}
		img, err = mutate.Append(img, mutate.Addendum{
			Layer: layer,
			History: v1.History{
				Created:   v1.Time{Time: epoch},
				CreatedBy: "argolite integration/images: " + ls.what,
				Comment:   "built without Docker by go run ./integration/images",
			},
		})
		if err != nil {
			return nil, err
		}
	}
	return img, nil
}

// writeImage writes img as a docker-archive tarball carrying every tag in
// refs (`ctr images import` records one image per tag).
func writeImage(out string, img v1.Image, refs ...name.Tag) error {
	if len(refs) == 0 {
		return fmt.Errorf("writing %s: no image reference", out)
	}
	m := map[name.Tag]v1.Image{}
	for _, r := range refs {
		m[r] = img
	}
	return writeImages(out, m)
}

// writeImages writes a docker-archive tarball holding each image under its
// tags (an image under several tags is one entry with all of them; layers
// the images share are written once), through a temporary file so an
// interrupted run never leaves a fresh-looking, truncated archive behind.
func writeImages(out string, images map[name.Tag]v1.Image) error {
	if len(images) == 0 {
		return fmt.Errorf("writing %s: no image reference", out)
	}
	m := map[name.Reference]v1.Image{}
	for r, img := range images {
		m[r] = img
	}
	tmp := out + ".tmp"
	if err := tarball.MultiRefWriteToFile(tmp, m); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", out, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// repoTag is the RepoTags entry tarball.Write records for ref.
func repoTag(ref name.Tag) string {
	s := ref.String()
	if ref.TagStr() == name.DefaultTag && !strings.HasSuffix(s, ":"+name.DefaultTag) {
		s += ":" + name.DefaultTag
	}
	return s
}

// repoTags is the sorted, de-duplicated RepoTags of refs.
func repoTags(refs []name.Tag) []string {
	var out []string
	for _, r := range refs {
		out = append(out, repoTag(r))
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// upToDate reports whether out exists, is newer than every input and its
// images are tagged exactly refs between them (a changed tag means a
// rebuild). An input that cannot be read is an error.
func upToDate(out string, refs []name.Tag, inputs []string) (bool, error) {
	o, err := os.Stat(out)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	for _, in := range inputs {
		i, err := os.Stat(in)
		if err != nil {
			return false, err
		}
		if !i.ModTime().Before(o.ModTime()) {
			return false, nil
		}
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(out) })
	if err != nil || len(m) == 0 {
		return false, nil // unreadable or not ours: rebuild it
	}
	var got []string
	for _, d := range m {
		if len(d.RepoTags) == 0 {
			return false, nil
		}
		got = append(got, d.RepoTags...)
	}
	sort.Strings(got)
	return slices.Equal(got, repoTags(refs)), nil
}

// elfMachines maps GOARCH to the ELF machine its binaries declare.
var elfMachines = map[string]elf.Machine{
	"amd64":   elf.EM_X86_64,
	"arm64":   elf.EM_AARCH64,
	"arm":     elf.EM_ARM,
	"386":     elf.EM_386,
	"ppc64le": elf.EM_PPC64,
	"s390x":   elf.EM_S390,
	"riscv64": elf.EM_RISCV,
}

// checkStaticELF fails unless p is a statically linked Linux ELF executable
// for arch: an image has no loader or libc to offer a dynamic binary.
func checkStaticELF(p, arch string) error {
	f, err := elf.Open(p)
	if err != nil {
		return fmt.Errorf("%s is not a Linux executable (%w): build it with GOOS=linux GOARCH=%s CGO_ENABLED=0", p, err, arch)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("%s is an ELF %s, not an executable", p, f.Type)
	}
	if f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
		return fmt.Errorf("%s is built for %s, not Linux: build it with GOOS=linux", p, f.OSABI)
	}
	if want, ok := elfMachines[arch]; ok && f.Machine != want {
		return fmt.Errorf("%s is built for %s, but the image is for %s: rebuild it with GOARCH=%s or pass -arch", p, f.Machine, arch, arch)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked and the image has no libc: build it with CGO_ENABLED=0", p)
		}
	}
	return nil
}
