package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// roundTrip writes img as a docker archive tagged ref and reads it back.
func roundTrip(t *testing.T, ref string, img v1.Image) (v1.Image, string) {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "img.tar")
	if err := writeImage(out, tag, img); err != nil {
		t.Fatal(err)
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(out) })
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || !reflect.DeepEqual(m[0].RepoTags, []string{ref}) {
		t.Fatalf("archive manifest RepoTags = %+v, want [%s]", m, ref)
	}
	back, err := tarball.ImageFromPath(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	return back, out
}

type fsEntry struct {
	hdr  *tar.Header
	data []byte
}

// files flattens img into its file system, keyed by path without a leading
// or trailing slash.
func files(t *testing.T, img v1.Image) map[string]fsEntry {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	got := map[string]fsEntry{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		got[strings.Trim(h.Name, "/")] = fsEntry{h, b}
	}
	return got
}

func configOf(t *testing.T, img v1.Image) *v1.ConfigFile {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("platform = %s/%s, want linux/amd64", cf.OS, cf.Architecture)
	}
	return cf
}

func TestLayerTarIsSortedWithParentsAndFixedTimes(t *testing.T) {
	b, err := layerTar([]entry{
		file("usr/bin/z", 0o644, []byte("z")),
		symlink("/bin/sh", "/bin/busybox"),
		dir("tmp", 0o1777),
		file("a", 0o600, nil).owned(7, 8),
	})
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(b))
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if !h.ModTime.Equal(epoch) || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: mtime %v uname %q gname %q, want epoch and no names", h.Name, h.ModTime, h.Uname, h.Gname)
		}
		switch h.Name {
		case "tmp/":
			if h.Mode != 0o1777 || h.Typeflag != tar.TypeDir {
				t.Errorf("tmp/: mode %o type %c", h.Mode, h.Typeflag)
			}
		case "a":
			if h.Uid != 7 || h.Gid != 8 {
				t.Errorf("a: owner %d:%d, want 7:8", h.Uid, h.Gid)
			}
		case "usr/":
			if h.Mode != 0o755 || h.Uid != 0 {
				t.Errorf("implicit usr/: mode %o uid %d", h.Mode, h.Uid)
			}
		}
	}
	want := []string{"a", "bin/", "bin/sh", "tmp/", "usr/", "usr/bin/", "usr/bin/z"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("entries = %v, want %v", names, want)
	}

	for _, bad := range [][]entry{
		{file("a", 0o644, nil), file("/a", 0o644, nil)},
		{file("../x", 0o644, nil)},
		{file("a", 0o644, nil), file("a/b", 0o644, nil)},
	} {
		if _, err := layerTar(bad); err == nil {
			t.Errorf("layerTar(%v) succeeded, want an error", bad)
		}
	}
}

func TestParseApplets(t *testing.T) {
	got, err := parseApplets("bin/busybox\nusr/bin/env\n\nbin/sh\nusr/bin/env\n/sbin/init\nlinuxrc\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"bin/sh", "linuxrc", "sbin/init", "usr/bin/env"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseApplets = %v, want %v", got, want)
	}
	if _, err := parseApplets("../../etc/x\n"); err == nil {
		t.Error("an applet outside the root was accepted")
	}
	if _, err := parseApplets("bin/busybox\n"); err == nil {
		t.Error("an empty applet list was accepted")
	}
}

func TestBusyboxImage(t *testing.T) {
	bin := []byte("\x7fELF fake busybox")
	img, err := busyboxImage(bin, []string{"bin/sh", "usr/bin/env", "sbin/init"}, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	back, _ := roundTrip(t, "docker.io/library/busybox:latest", img)

	cf := configOf(t, back)
	if !reflect.DeepEqual(cf.Config.Cmd, []string{"sh"}) {
		t.Errorf("Cmd = %q, want [sh]", cf.Config.Cmd)
	}
	if !reflect.DeepEqual(cf.Config.Env, []string{defaultPath}) {
		t.Errorf("Env = %q", cf.Config.Env)
	}

	fs := files(t, back)
	if e := fs["bin/busybox"]; !bytes.Equal(e.data, bin) || e.hdr.Mode != 0o755 {
		t.Errorf("bin/busybox: mode %o, %d bytes", e.hdr.Mode, len(e.data))
	}
	for _, a := range []string{"bin/sh", "usr/bin/env", "sbin/init"} {
		e, ok := fs[a]
		if !ok || e.hdr.Typeflag != tar.TypeSymlink || e.hdr.Linkname != "/bin/busybox" {
			t.Errorf("%s is not a symlink to /bin/busybox: %+v", a, e.hdr)
		}
	}
	for _, line := range []string{"root:x:0:0:", "nobody:x:65534:65534:", "nonroot:x:65532:65532:"} {
		if !strings.Contains(string(fs["etc/passwd"].data), "\n"+line) && !strings.HasPrefix(string(fs["etc/passwd"].data), line) {
			t.Errorf("/etc/passwd lacks %q:\n%s", line, fs["etc/passwd"].data)
		}
	}
	if !strings.Contains(string(fs["etc/group"].data), "nonroot:x:65532:") {
		t.Errorf("/etc/group:\n%s", fs["etc/group"].data)
	}
	if e := fs["tmp"]; e.hdr == nil || e.hdr.Mode != 0o1777 {
		t.Errorf("/tmp is not mode 1777: %+v", e.hdr)
	}
	if _, ok := fs["root"]; !ok {
		t.Error("no /root")
	}
}

func TestImagesAreDeterministic(t *testing.T) {
	digest := func() v1.Hash {
		img, err := busyboxImage([]byte("x"), []string{"bin/sh", "bin/ls"}, "amd64")
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if a, b := digest(), digest(); a != b {
		t.Errorf("same inputs gave digests %s and %s", a, b)
	}
}

func TestRealBusybox(t *testing.T) {
	const p = "/bin/busybox"
	if _, err := os.Stat(p); err != nil || runtime.GOARCH != "amd64" {
		t.Skip("needs Debian's busybox-static at /bin/busybox on amd64")
	}
	if err := checkStaticELF(p, "amd64"); err != nil {
		t.Fatal(err)
	}
	applets, err := busyboxApplets(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"bin/sh", "usr/bin/env"} {
		if i := sort.SearchStrings(applets, want); i == len(applets) || applets[i] != want {
			t.Errorf("busybox --list-full lacks %s", want)
		}
	}
	if err := checkStaticELF(p, "arm64"); err == nil {
		t.Error("an amd64 busybox passed as arm64")
	}
}

func TestCheckStaticELFRejectsNonELF(t *testing.T) {
	p := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := checkStaticELF(p, "amd64")
	if err == nil || !strings.Contains(err.Error(), "GOOS=linux") {
		t.Errorf("checkStaticELF(script) = %v, want an error naming GOOS=linux", err)
	}
}

func TestAgentImage(t *testing.T) {
	bin := []byte("agent")
	img, err := agentImage(bin, []byte("CERTS"), "v0.1.0", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	back, _ := roundTrip(t, "ghcr.io/argolite/argolite-agent:v0.1.0", img)

	cf := configOf(t, back)
	if cf.Config.User != "65532:65532" {
		t.Errorf("User = %q, want 65532:65532", cf.Config.User)
	}
	if !reflect.DeepEqual(cf.Config.Entrypoint, []string{"/argolite-agent"}) {
		t.Errorf("Entrypoint = %q", cf.Config.Entrypoint)
	}
	if l := cf.Config.Labels; l["org.opencontainers.image.title"] != "argolite-agent" || l["org.opencontainers.image.version"] != "v0.1.0" {
		t.Errorf("Labels = %v", l)
	}

	fs := files(t, back)
	if e := fs["argolite-agent"]; !bytes.Equal(e.data, bin) || e.hdr.Mode != 0o755 {
		t.Errorf("/argolite-agent: %+v", e.hdr)
	}
	if !strings.Contains(string(fs["etc/passwd"].data), "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd:\n%s", fs["etc/passwd"].data)
	}
	if e := fs["tmp"]; e.hdr == nil || e.hdr.Mode != 0o1777 {
		t.Errorf("/tmp: %+v", e.hdr)
	}
	if e := fs["home/nonroot"]; e.hdr == nil || e.hdr.Uid != 65532 {
		t.Errorf("/home/nonroot: %+v", e.hdr)
	}
	if string(fs["etc/ssl/certs/ca-certificates.crt"].data) != "CERTS" {
		t.Error("CA bundle missing")
	}
}

func TestUpToDate(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "input")
	out := filepath.Join(dir, "out.tar")
	if err := os.WriteFile(in, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	ref, _ := name.NewTag("example.com/x:v1")
	other, _ := name.NewTag("example.com/x:v2")

	if ok, err := upToDate(out, ref, []string{in}); ok || err != nil {
		t.Fatalf("missing output: upToDate = %v, %v", ok, err)
	}
	img, err := pauseImage([]byte("p"), "amd64")
	if err != nil {
		t.Fatal(err)
	}
	if err := writeImage(out, ref, img); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(in, old, old); err != nil {
		t.Fatal(err)
	}
	if ok, err := upToDate(out, ref, []string{in}); !ok || err != nil {
		t.Errorf("fresh output: upToDate = %v, %v", ok, err)
	}
	if ok, _ := upToDate(out, other, []string{in}); ok {
		t.Error("an archive with another tag counted as up to date")
	}
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(in, future, future); err != nil {
		t.Fatal(err)
	}
	if ok, _ := upToDate(out, ref, []string{in}); ok {
		t.Error("an input newer than the output counted as up to date")
	}
	if _, err := upToDate(out, ref, []string{filepath.Join(dir, "gone")}); err == nil {
		t.Error("a missing input was not an error")
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"busybox"}, "-out DIR is required"},
		{[]string{"-out", dir}, "name at least one image"},
		{[]string{"-out", dir, "nginx"}, `unknown image "nginx"`},
		{[]string{"-out", dir, "agent"}, "agent needs -agent-binary"},
		{[]string{"-out", dir, "-busybox-path", filepath.Join(dir, "nope"), "busybox"}, "apt-get install busybox-static"},
		{[]string{"-out", dir, "-agent-binary", filepath.Join(dir, "nope"), "-agent-image", "x:v1", "agent"}, "CGO_ENABLED=0"},
	} {
		err := run(tc.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

// TestPause builds the real pause image and checks the binary stops with
// exit code 0 on SIGTERM.
func TestPause(t *testing.T) {
	if testing.Short() || runtime.GOOS != "linux" {
		t.Skip("builds the pause binary; linux only")
	}
	out := t.TempDir()
	var stdout bytes.Buffer
	if err := run([]string{"-out", out, "-arch", runtime.GOARCH, "pause"}, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "wrote registry.k8s.io/pause:3.6") {
		t.Errorf("output %q", stdout.String())
	}
	img, err := tarball.ImageFromPath(filepath.Join(out, "pause.tar"), nil)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cf.Config.Entrypoint, []string{"/pause"}) {
		t.Errorf("Entrypoint = %q", cf.Config.Entrypoint)
	}
	bin := filepath.Join(t.TempDir(), "pause")
	if err := os.WriteFile(bin, files(t, img)["pause"].data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := checkStaticELF(bin, runtime.GOARCH); err != nil {
		t.Error(err)
	}
	cmd := exec.Command(bin)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("pause after SIGTERM: %v, want exit 0", err)
	}

	stdout.Reset()
	if err := run([]string{"-out", out, "-arch", runtime.GOARCH, "pause"}, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "up to date") {
		t.Errorf("second run rebuilt: %q", stdout.String())
	}
}
