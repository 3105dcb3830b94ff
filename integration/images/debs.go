package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// The alpine and python images are Debian's own packages (busybox and its C
// library; Python), unpacked into layers: no debootstrap, no dpkg database, no maintainer scripts. The .deb
// files come from `apt-get download` into a cache directory and are reused
// from there, so a build is repeatable offline once the cache is filled
// (delete the cache to pick up newer package versions).

// pythonMinor is the Python of Debian 12 (bookworm), the distribution the
// packages come from.
const pythonMinor = "3.11"

// alpinePackages are the Debian packages of the alpine layer: Debian's
// dynamic busybox, whose shell runs commands from PATH as Alpine's does
// (busybox-static's prefers its own applets, so /usr/bin/nc would never
// run), and the C library it links (also the python layer's).
var alpinePackages = []string{"busybox", "libc6"}

// pythonPackages is the package set of the python layer: the interpreter,
// its standard library and the closure of their Depends, less what the
// image does not need or the alpine layer has (libc6). Left out on purpose: python3-minimal (only the
// python3 symlink, which the layer makes itself, and a dependency on dpkg),
// libnsl2 and libtirpc3 (only for the deprecated nis module, which is
// dropped, and they pull in Kerberos), readline-common and gcc-12-base
// (documentation and /etc/inputrc) and mime-support (a transitional
// alternative to media-types). checkSharedLibs fails the build if a
// library a kept binary needs is missing, so a Debian update that adds a
// dependency does not go unnoticed.
var pythonPackages = []string{
	"python" + pythonMinor + "-minimal",    // /usr/bin/python3.11
	"libpython" + pythonMinor + "-minimal", // the core modules, _hashlib, _ssl
	"libpython" + pythonMinor + "-stdlib",  // the rest of the standard library
	"libgcc-s1",                            // libc6's dependency: unwinding, pthread_cancel
	"libexpat1",                            // pyexpat (xml)
	"zlib1g",                               // zlib
	"libssl3",                              // ssl, hashlib
	"libffi8",                              // ctypes
	"libbz2-1.0",                           // bz2
	"liblzma5",                             // lzma
	"libcrypt1",                            // crypt
	"libsqlite3-0",                         // sqlite3
	"libuuid1",                             // uuid
	"libncursesw6",                         // curses
	"libtinfo6",                            // curses, readline
	"libreadline8",                         // readline (the interactive prompt)
	"libdb5.3",                             // dbm.ndbm
	"media-types",                          // /etc/mime.types for mimetypes
}

// droppedDebPaths are left out of the layer, with everything below them:
// documentation, translations, lintian and binfmt metadata, glibc's iconv
// modules (Python has its own codecs), and the parts of the standard
// library only CPython's own test suite uses (as the official python images
// do).
var droppedDebPaths = []string{
	"usr/share/doc",
	"usr/share/doc-base",
	"usr/share/man",
	"usr/share/info",
	"usr/share/locale",
	"usr/share/lintian",
	"usr/share/bug",
	"usr/share/binfmts",
	"usr/lib/binfmt.d",
	"usr/lib/*-linux-gnu*/gconv",
	"usr/lib/python" + pythonMinor + "/test",
	"usr/lib/python" + pythonMinor + "/idlelib/idle_test",
	"usr/lib/python" + pythonMinor + "/lib-dynload/_test*",
	"usr/lib/python" + pythonMinor + "/lib-dynload/_ctypes_test.*",
	"usr/lib/python" + pythonMinor + "/lib-dynload/_xx*",
	"usr/lib/python" + pythonMinor + "/lib-dynload/xx*",
	"usr/lib/python" + pythonMinor + "/lib-dynload/nis.*", // needs libnsl2 and libtirpc3
	"*/__pycache__",
}

// dropDebPath reports whether p (relative, cleaned) is left out of the layer.
func dropDebPath(p string) bool {
	segs := strings.Split(p, "/")
	for _, pat := range droppedDebPaths {
		if base, anyDepth := strings.CutPrefix(pat, "*/"); anyDepth {
			for _, s := range segs {
				if ok, _ := path.Match(base, s); ok {
					return true
				}
			}
			continue
		}
		// pat names a directory or file: it and everything below it.
		if n := strings.Count(pat, "/") + 1; len(segs) >= n {
			if ok, _ := path.Match(pat, strings.Join(segs[:n], "/")); ok {
				return true
			}
		}
	}
	return false
}

// debArchs maps GOARCH to Debian's architecture name.
var debArchs = map[string]string{
	"amd64":   "amd64",
	"arm64":   "arm64",
	"arm":     "armhf",
	"386":     "i386",
	"ppc64le": "ppc64el",
	"s390x":   "s390x",
	"riscv64": "riscv64",
}

func debArch(goarch string) (string, error) {
	if a, ok := debArchs[goarch]; ok {
		return a, nil
	}
	return "", fmt.Errorf("no Debian architecture for GOARCH %s", goarch)
}

// debVersionFromFile is the version in a .deb file name as apt-get download
// writes it (name_version_arch.deb, ":" escaped as "%3a").
func debVersionFromFile(p string) string {
	parts := strings.Split(strings.TrimSuffix(filepath.Base(p), ".deb"), "_")
	if len(parts) != 3 {
		return ""
	}
	v, err := url.PathUnescape(parts[1])
	if err != nil {
		return parts[1]
	}
	return v
}

// cachedDeb returns the newest .deb of pkg for arch (or "all") in dir, or ""
// when there is none.
func cachedDeb(dir, pkg, arch string) (string, error) {
	var found []string
	for _, a := range []string{arch, "all"} {
		m, err := filepath.Glob(filepath.Join(dir, pkg+"_*_"+a+".deb"))
		if err != nil {
			return "", err
		}
		found = append(found, m...)
	}
	if len(found) == 0 {
		return "", nil
	}
	var cmpErr error
	sort.Slice(found, func(i, j int) bool {
		if cmpErr != nil {
			return false
		}
		// dpkg knows Debian's version ordering (epochs, ~, revisions).
		err := exec.Command("dpkg", "--compare-versions", debVersionFromFile(found[i]), "gt", debVersionFromFile(found[j])).Run()
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			return false
		} else if err != nil {
			cmpErr = fmt.Errorf("comparing the versions of the cached %s packages in %s: %w", pkg, dir, err)
		}
		return err == nil
	})
	return found[0], cmpErr
}

// aptListsPresent reports whether apt has any package list to choose
// packages from (apt-get update writes them).
func aptListsPresent() bool {
	out, err := exec.Command("apt-get", "indextargets", "--format", "$(FILENAME)", "Created-By: Packages").Output()
	if err != nil {
		return false
	}
	for _, f := range strings.Fields(string(out)) {
		if m, _ := filepath.Glob(f + "*"); len(m) > 0 {
			return true
		}
	}
	return false
}

// fetchDebs returns the .deb file of each package in pkgs, in order, from the
// cache directory dir, downloading the missing ones with apt-get download.
// Downloaded files get the current time as mtime, so images built from
// older packages count as stale.
func fetchDebs(dir, arch string, pkgs []string, log io.Writer) ([]string, error) {
	have := make([]string, len(pkgs))
	var missing []string
	for i, p := range pkgs {
		f, err := cachedDeb(dir, p, arch)
		if err != nil {
			return nil, err
		}
		have[i] = f
		if f == "" {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return have, nil
	}

	if _, err := exec.LookPath("apt-get"); err != nil {
		return nil, fmt.Errorf("apt-get not found, and %s lacks the .deb files of %s: build on Debian 12, or put those packages' .deb files into %s",
			dir, strings.Join(missing, " "), dir)
	}
	if !aptListsPresent() {
		return nil, fmt.Errorf("apt has no package lists, so apt-get download cannot find %s: run `apt-get update` (as root) first", strings.Join(missing, " "))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	args := []string{"download", "-q"}
	if os.Geteuid() == 0 {
		// _apt cannot write to a root-owned cache; download as root quietly.
		args = append(args, "-o", "APT::Sandbox::User=root")
	}
	for _, p := range missing {
		args = append(args, p+":"+arch)
	}
	fmt.Fprintf(log, "%s: apt-get download %s\n", dir, strings.Join(missing, " "))
	cmd := exec.Command("apt-get", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		hint := ""
		if s := string(out); strings.Contains(s, "Unable to locate package") || strings.Contains(s, "andidate") {
			hint = "\nthe package lists may be stale or lack Debian 12 (bookworm): run `apt-get update` (as root) and retry"
		}
		return nil, fmt.Errorf("apt-get %s: %w\n%s%s", strings.Join(args, " "), err, strings.TrimSpace(string(out)), hint)
	}
	now := time.Now()
	for i, p := range pkgs {
		if have[i] != "" {
			continue
		}
		f, err := cachedDeb(dir, p, arch)
		if err != nil {
			return nil, err
		}
		if f == "" {
			return nil, fmt.Errorf("apt-get download %s left no %s_*_{%s,all}.deb in %s", p, p, arch, dir)
		}
		if err := os.Chtimes(f, now, now); err != nil {
			return nil, err
		}
		have[i] = f
	}
	return have, nil
}

// pythonLayer is the content of the python image's second layer.
type pythonLayer struct {
	version  string   // upstream Python version, e.g. 3.11.2
	packages []string // name=version of each package, for the image history
	entries  []entry
}

// debField reads one control field of a .deb.
func debField(deb, field string) (string, error) {
	out, err := exec.Command("dpkg-deb", "--field", deb, field).Output()
	if err != nil {
		return "", fmt.Errorf("dpkg-deb --field %s %s: %w%s", deb, field, err, stderrOf(err))
	}
	return strings.TrimSpace(string(out)), nil
}

// debEntries reads the files of a .deb (its data.tar, through dpkg-deb) as
// layer entries: paths cleaned, modes and owners kept, hard links turned
// into copies, dropped paths left out.
func debEntries(deb string) ([]entry, error) {
	cmd := exec.Command("dpkg-deb", "--fsys-tarfile", deb)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("dpkg-deb: %w (apt-get install dpkg)", err)
	}
	var out []entry
	regular := map[string][]byte{}
	tr := tar.NewReader(stdout)
	var readErr error
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			readErr = err
			break
		}
		p := path.Clean(strings.TrimPrefix(strings.TrimPrefix(h.Name, "./"), "/"))
		if p == "." || dropDebPath(p) {
			continue
		}
		if p == ".." || strings.HasPrefix(p, "../") {
			readErr = fmt.Errorf("entry %q escapes the root", h.Name)
			break
		}
		e := entry{Path: p, Mode: h.Mode & 0o7777, UID: h.Uid, GID: h.Gid}
		switch h.Typeflag {
		case tar.TypeDir:
			e.Type = tar.TypeDir
		case tar.TypeReg:
			e.Type = tar.TypeReg
			if e.Data, err = io.ReadAll(tr); err != nil {
				readErr = err
			}
			regular[p] = e.Data
		case tar.TypeSymlink:
			e.Type, e.Link, e.Mode = tar.TypeSymlink, h.Linkname, 0o777
		case tar.TypeLink:
			target := path.Clean(strings.TrimPrefix(strings.TrimPrefix(h.Linkname, "./"), "/"))
			data, ok := regular[target]
			if !ok {
				readErr = fmt.Errorf("hard link %s to %s, which is not an earlier regular file", p, h.Linkname)
			}
			e.Type, e.Data = tar.TypeReg, data
		default:
			readErr = fmt.Errorf("%s: unsupported tar entry type %q", p, h.Typeflag)
		}
		if readErr != nil {
			break
		}
		out = append(out, e)
	}
	if readErr != nil {
		_ = cmd.Process.Kill()
	}
	_, _ = io.Copy(io.Discard, stdout)
	waitErr := cmd.Wait()
	if readErr != nil {
		return nil, fmt.Errorf("reading %s: %w", deb, readErr)
	}
	if waitErr != nil {
		return nil, fmt.Errorf("dpkg-deb --fsys-tarfile %s: %w: %s", deb, waitErr, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// sameEntry reports whether two packages shipping the same path agree on it.
func sameEntry(a, b entry) bool {
	return a.Type == b.Type && a.Link == b.Link && bytes.Equal(a.Data, b.Data) &&
		(a.Type == tar.TypeDir || a.Mode == b.Mode)
}

// debFiles is what a set of .deb files unpack to: their files merged and
// sorted, and name=version of each package (for the image history).
type debFiles struct {
	entries  []entry
	packages []string
	versions map[string]string // package name to its Debian version
}

// readDebs unpacks debs, in order, into one file set: a path two packages
// ship differently is an error; for directories the first wins.
func readDebs(debs []string) (*debFiles, error) {
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		return nil, errors.New("dpkg-deb not found: apt-get install dpkg")
	}
	d := &debFiles{versions: map[string]string{}}
	byPath := map[string]entry{}
	from := map[string]string{}
	for _, deb := range debs {
		id, err := debField(deb, "Package")
		if err != nil {
			return nil, err
		}
		v, err := debField(deb, "Version")
		if err != nil {
			return nil, err
		}
		d.versions[id] = v
		d.packages = append(d.packages, id+"="+v)
		entries, err := debEntries(deb)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if old, ok := byPath[e.Path]; ok {
				if !sameEntry(old, e) {
					return nil, fmt.Errorf("%s: %s and %s ship it differently", e.Path, from[e.Path], id)
				}
				continue
			}
			byPath[e.Path], from[e.Path] = e, id
		}
	}
	for _, e := range byPath {
		d.entries = append(d.entries, e)
	}
	sort.Slice(d.entries, func(i, j int) bool { return d.entries[i].Path < d.entries[j].Path })
	return d, nil
}

// readPythonLayer unpacks debs (the files of pythonPackages, in order) into
// the python layer: their files merged (see readDebs), python3 and python
// symlinks in /usr/bin and /usr/local/bin, and every shared library a binary
// needs checked to be present in the layer or in base, the layer below
// (which has the C library).
func readPythonLayer(debs []string, base []entry) (*pythonLayer, error) {
	d, err := readDebs(debs)
	if err != nil {
		return nil, err
	}
	v, ok := d.versions["python"+pythonMinor+"-minimal"]
	if !ok {
		return nil, fmt.Errorf("no python%s-minimal among %v", pythonMinor, debs)
	}
	l := &pythonLayer{version: upstreamVersion(v), packages: d.packages, entries: d.entries}
	have := map[string]bool{}
	for _, e := range l.entries {
		have[e.Path] = true
	}
	for _, p := range []string{"usr/bin/python3", "usr/bin/python", "usr/local/bin/python3", "usr/local/bin/python"} {
		if have[p] {
			continue
		}
		target := "python" + pythonMinor
		if strings.HasPrefix(p, "usr/local/") {
			target = "/usr/bin/python" + pythonMinor // where python:alpine has it
		}
		l.entries = append(l.entries, symlink(p, target))
	}
	sort.Slice(l.entries, func(i, j int) bool { return l.entries[i].Path < l.entries[j].Path })
	if err := checkSharedLibs("the python layer", l.entries, base); err != nil {
		return nil, err
	}
	return l, nil
}

// upstreamVersion is the upstream part of a Debian version: 3.11.2 of
// 3.11.2-6+deb12u9.
func upstreamVersion(v string) string {
	if i := strings.Index(v, ":"); i >= 0 {
		v = v[i+1:]
	}
	if i := strings.LastIndex(v, "-"); i >= 0 {
		v = v[:i]
	}
	return v
}

// libDir reports whether d is a directory the dynamic loader searches by
// default on Debian: /lib, /usr/lib and their multiarch subdirectories.
func libDir(d string) bool {
	if d == "lib" || d == "usr/lib" {
		return true
	}
	for _, pat := range []string{"lib/*-linux-*", "usr/lib/*-linux-*"} {
		if ok, _ := path.Match(pat, d); ok {
			return true
		}
	}
	return false
}

// checkSharedLibs fails unless every ELF file among entries (the files of
// what) finds its program interpreter and every library it needs
// (DT_NEEDED) among entries or below (the layers under it), in the loader's
// default directories.
func checkSharedLibs(what string, entries, below []entry) error {
	all := map[string]bool{}
	libs := map[string]bool{}
	for _, e := range append(slices.Clone(below), entries...) {
		all[e.Path] = true
		if e.Type != tar.TypeDir && libDir(path.Dir(e.Path)) {
			libs[path.Base(e.Path)] = true
		}
	}
	var missing []string
	for _, e := range entries {
		if e.Type != tar.TypeReg || !bytes.HasPrefix(e.Data, []byte(elf.ELFMAG)) {
			continue
		}
		f, err := elf.NewFile(bytes.NewReader(e.Data))
		if err != nil {
			return fmt.Errorf("%s: %w", e.Path, err)
		}
		for _, prog := range f.Progs {
			if prog.Type != elf.PT_INTERP {
				continue
			}
			b, err := io.ReadAll(prog.Open())
			if err != nil {
				return fmt.Errorf("%s: reading its interpreter: %w", e.Path, err)
			}
			interp := strings.TrimPrefix(strings.TrimRight(string(b), "\x00"), "/")
			if !all[interp] {
				missing = append(missing, fmt.Sprintf("%s needs the loader /%s", e.Path, interp))
			}
		}
		needed, err := f.ImportedLibraries()
		if err != nil {
			return fmt.Errorf("%s: %w", e.Path, err)
		}
		for _, lib := range needed {
			if !libs[lib] {
				missing = append(missing, fmt.Sprintf("%s needs %s", e.Path, lib))
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s lacks shared libraries (add their packages to alpinePackages or pythonPackages, or drop the file in droppedDebPaths):\n  %s", what, strings.Join(missing, "\n  "))
	}
	return nil
}
