package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strconv"
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
	if err := writeImage(out, img, tag); err != nil {
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

	refs := []name.Tag{ref}
	if ok, err := upToDate(out, refs, []string{in}); ok || err != nil {
		t.Fatalf("missing output: upToDate = %v, %v", ok, err)
	}
	img, err := pauseImage([]byte("p"), "amd64")
	if err != nil {
		t.Fatal(err)
	}
	if err := writeImage(out, img, ref); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(in, old, old); err != nil {
		t.Fatal(err)
	}
	if ok, err := upToDate(out, refs, []string{in}); !ok || err != nil {
		t.Errorf("fresh output: upToDate = %v, %v", ok, err)
	}
	if ok, _ := upToDate(out, []name.Tag{other}, []string{in}); ok {
		t.Error("an archive with another tag counted as up to date")
	}
	if ok, _ := upToDate(out, []name.Tag{ref, other}, []string{in}); ok {
		t.Error("an archive lacking a wanted tag counted as up to date")
	}
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(in, future, future); err != nil {
		t.Fatal(err)
	}
	if ok, _ := upToDate(out, refs, []string{in}); ok {
		t.Error("an input newer than the output counted as up to date")
	}
	if _, err := upToDate(out, refs, []string{filepath.Join(dir, "gone")}); err == nil {
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
		{[]string{"-out", dir, "nosuch"}, `unknown image "nosuch"`},
		{[]string{"-out", dir, "agent"}, "agent needs -agent-binary"},
		{[]string{"-out", dir, "-alpine-image", "Not A Ref", "alpine"}, "-alpine-image"},
		{[]string{"-out", dir, "-python-image", "", "python"}, "-python-image"},
		{[]string{"-out", dir, "-arch", "mips", "alpine"}, "mips"},
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
// exit code 0 on SIGTERM, sent once it is ready (startReadyPause).
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
	cmd := startReadyPause(t, bin)
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

// pauseHelperEnv, set to a pause binary, makes the test binary the helper
// of startReadyPause instead of running tests.
const pauseHelperEnv = "ARGOLITE_TEST_PAUSE_HELPER"

func TestMain(m *testing.M) {
	if bin := os.Getenv(pauseHelperEnv); bin != "" {
		execPauseWithExitedChild(bin)
	}
	os.Exit(m.Run())
}

// execPauseWithExitedChild starts a child that exits at once (pause -v) and,
// without waiting for it, execs pause in its place: the PID and the child
// stay, so pause has a child to reap. It prints the child's PID first.
func execPauseWithExitedChild(bin string) {
	child := exec.Command(bin, "-v")
	if err := child.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	fmt.Println(child.Process.Pid)
	err := syscall.Exec(bin, []string{bin}, os.Environ())
	fmt.Fprintln(os.Stderr, "exec", bin, err)
	os.Exit(3)
}

// startReadyPause starts pause and returns once it handles SIGTERM. pause
// says nothing when it starts, but right after its signal.Notify it reaps
// the children that exited before, and nothing else reaps them (the helper
// that exec'd it never waits): so it is ready once its child, which exits
// at once, is gone.
func startReadyPause(t *testing.T, bin string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), pauseHelperEnv+"="+bin)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	var child int
	if _, err := fmt.Fscanln(stdout, &child); err != nil {
		t.Fatalf("reading the PID of pause's child: %v", err)
	}
	const timeout = 10 * time.Second
	for deadline := time.Now().Add(timeout); ; time.Sleep(5 * time.Millisecond) {
		ppid, err := parentOf(child)
		if errors.Is(err, fs.ErrNotExist) || (err == nil && ppid != cmd.Process.Pid) { // reaped (and its PID perhaps reused)
			return cmd
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("pause (pid %d) did not reap its exited child %d within %s: it is not ready to handle SIGTERM", cmd.Process.Pid, child, timeout)
		}
	}
}

// parentOf is the parent PID of a process, from /proc/PID/stat ("pid (comm)
// state ppid ...", where comm may hold spaces and parentheses).
func parentOf(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(fields) < 2 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	return strconv.Atoi(fields[1])
}

func TestBusyboxArchiveCarriesBothTags(t *testing.T) {
	img, err := busyboxImage([]byte("x"), []string{"bin/sh"}, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	latest, _ := name.NewTag("docker.io/library/busybox:latest")
	wf, _ := name.NewTag("argolite.local/library/busybox:1.36")
	out := filepath.Join(t.TempDir(), "busybox.tar")
	if err := writeImage(out, img, latest, wf); err != nil {
		t.Fatal(err)
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(out) })
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 {
		t.Fatalf("%d images in the archive, want one image with two tags", len(m))
	}
	got := append([]string(nil), m[0].RepoTags...)
	sort.Strings(got)
	want := []string{"argolite.local/library/busybox:1.36", "docker.io/library/busybox:latest"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RepoTags = %v, want %v", got, want)
	}
	if ok, err := upToDate(out, []name.Tag{wf, latest}, nil); !ok || err != nil {
		t.Errorf("upToDate(both tags, any order) = %v, %v", ok, err)
	}
	if ok, _ := upToDate(out, []name.Tag{latest}, nil); ok {
		t.Error("an archive with an extra tag counted as up to date")
	}
}

func TestAlpineImage(t *testing.T) {
	bin := []byte("fake busybox")
	nc := []byte("fake nc")
	img, err := alpineImage(alpineFiles{busybox: bin, applets: []string{"bin/sh", "usr/bin/env", "usr/bin/nc", "bin/nc"}, nc: nc}, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	back, _ := roundTrip(t, "argolite.local/library/alpine:3.23", img)
	cf := configOf(t, back)
	if !reflect.DeepEqual(cf.Config.Cmd, []string{"/bin/sh"}) {
		t.Errorf("Cmd = %q, want [/bin/sh]", cf.Config.Cmd)
	}
	if !reflect.DeepEqual(cf.Config.Env, []string{defaultPath}) {
		t.Errorf("Env = %q", cf.Config.Env)
	}
	fs := files(t, back)
	if got := string(fs["etc/alpine-release"].data); got != "3.23.0\n" {
		t.Errorf("/etc/alpine-release = %q", got)
	}
	osr := string(fs["etc/os-release"].data)
	for _, want := range []string{"VERSION_ID=3.23.0", "Alpine Linux v3.23", "busybox and glibc from Debian", "argolite"} {
		if !strings.Contains(osr, want) {
			t.Errorf("/etc/os-release lacks %q:\n%s", want, osr)
		}
	}
	if e := fs["bin/sh"]; e.hdr == nil || e.hdr.Linkname != "/bin/busybox" {
		t.Errorf("/bin/sh: %+v", e.hdr)
	}
	// nc is the Go program, not busybox's applet, wherever busybox has it.
	if e := fs["usr/bin/nc"]; e.hdr == nil || e.hdr.Typeflag != tar.TypeReg || e.hdr.Mode != 0o755 || !bytes.Equal(e.data, nc) {
		t.Errorf("/usr/bin/nc is not the nc binary: %+v", e.hdr)
	}
	if e, ok := fs["bin/nc"]; ok {
		t.Errorf("/bin/nc is still there: %+v", e.hdr)
	}
	if !strings.Contains(string(fs["etc/passwd"].data), "root:x:0:0:root:/root:/bin/sh") {
		t.Errorf("/etc/passwd:\n%s", fs["etc/passwd"].data)
	}
	checkAlpineLayout(t, fs)

	// The layer holds each path once: no symlink next to the nc file.
	layers, err := back.Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	seen := map[string]bool{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := strings.Trim(h.Name, "/")
		if seen[p] {
			t.Errorf("the alpine layer has %s twice", p)
		}
		seen[p] = true
	}

	// busybox keeps busybox's nc.
	bb, err := busyboxImage(bin, []string{"bin/sh", "usr/bin/nc"}, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	if e := files(t, bb)["usr/bin/nc"]; e.hdr == nil || e.hdr.Linkname != "/bin/busybox" {
		t.Errorf("busybox's /usr/bin/nc: %+v", e.hdr)
	}
	if _, err := alpineImage(alpineFiles{busybox: bin, applets: []string{"bin/sh"}}, "amd64"); err == nil {
		t.Error("an alpine image without nc was built")
	}
}

// alpineLayout is Alpine 3.23's root directory layout as the alpine image
// must have it: path, mode (0 for a symlink) and symlink target.
var alpineLayout = []struct {
	path string
	mode int64
	link string
}{
	{"bin", 0o755, ""}, {"dev", 0o755, ""}, {"etc", 0o755, ""}, {"home", 0o755, ""},
	{"lib", 0o755, ""}, {"media", 0o755, ""}, {"mnt", 0o755, ""}, {"opt", 0o755, ""},
	{"proc", 0o755, ""}, {"root", 0o700, ""}, {"run", 0o755, ""}, {"sbin", 0o755, ""},
	{"srv", 0o755, ""}, {"sys", 0o755, ""}, {"tmp", 0o1777, ""},
	{"usr", 0o755, ""}, {"usr/bin", 0o755, ""}, {"usr/lib", 0o755, ""}, {"usr/sbin", 0o755, ""},
	{"usr/share", 0o755, ""}, {"usr/local/bin", 0o755, ""}, {"usr/local/lib", 0o755, ""},
	{"usr/local/share", 0o755, ""},
	{"etc/profile.d", 0o755, ""}, {"etc/opt", 0o755, ""}, {"etc/crontabs", 0o755, ""},
	{"var", 0o755, ""}, {"var/cache", 0o755, ""}, {"var/empty", 0o555, ""}, {"var/lib", 0o755, ""},
	{"var/local", 0o755, ""}, {"var/lock", 0o755, ""}, {"var/log", 0o755, ""}, {"var/mail", 0o755, ""},
	{"var/opt", 0o755, ""}, {"var/spool", 0o755, ""}, {"var/tmp", 0o1777, ""},
	{"var/run", 0, "/run"}, {"var/spool/mail", 0, "../mail"}, {"var/spool/cron/crontabs", 0, "/etc/crontabs"},
}

// checkAlpineLayout checks fs (a flattened image) has alpineLayout, all
// root-owned.
func checkAlpineLayout(t *testing.T, fs map[string]fsEntry) {
	t.Helper()
	for _, want := range alpineLayout {
		e, ok := fs[want.path]
		switch {
		case !ok:
			t.Errorf("no /%s", want.path)
		case want.link != "":
			if e.hdr.Typeflag != tar.TypeSymlink || e.hdr.Linkname != want.link {
				t.Errorf("/%s: type %c link %q, want a symlink to %s", want.path, e.hdr.Typeflag, e.hdr.Linkname, want.link)
			}
		case e.hdr.Typeflag != tar.TypeDir || e.hdr.Mode != want.mode || e.hdr.Uid != 0 || e.hdr.Gid != 0:
			t.Errorf("/%s: type %c mode %o owner %d:%d, want a directory %o owned by root", want.path, e.hdr.Typeflag, e.hdr.Mode, e.hdr.Uid, e.hdr.Gid, want.mode)
		}
	}
}

// TestWithLayout: the layout never replaces what the layer has.
func TestWithLayout(t *testing.T) {
	layout := []entry{dir("mnt", 0o755), dir("tmp", 0o1777), symlink("var/run", "/run")}
	got, err := withLayout([]entry{dir("tmp", 0o1777), file("etc/x", 0o644, nil)}, layout)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Errorf("withLayout = %+v, want etc/x, tmp, mnt and var/run once each", got)
	}
	for _, bad := range [][]entry{
		{file("mnt", 0o644, nil)},
		{dir("tmp", 0o755)},
		{symlink("var/run", "../run")},
		{dir("var/run", 0o755)},
	} {
		if _, err := withLayout(bad, layout); err == nil {
			t.Errorf("withLayout(%+v) accepted a collision", bad)
		}
	}
	// A file below a layout symlink is caught by layerTar.
	entries, err := withLayout([]entry{file("var/run/x.pid", 0o644, nil)}, layout)
	if err == nil {
		_, err = layerTar(entries)
	}
	if err == nil {
		t.Error("a file below the /var/run symlink was accepted")
	}
	// busybox's own entries fit the alpine layout.
	if _, err := withLayout(busyboxEntries([]byte("bb"), []string{"bin/sh", "usr/bin/env"}), alpineDirs); err != nil {
		t.Error(err)
	}
}

// TestCheckOverlay: the python layer may add to the alpine layer, not
// change it.
func TestCheckOverlay(t *testing.T) {
	base := fakeAlpineLayer(t)
	ok := []entry{
		file("usr/bin/python3.11", 0o755, nil),
		dir("usr/lib/python3.11", 0o755),
		file("usr/lib/x86_64-linux-gnu/libc.so.6", 0o644, nil),
		symlink("lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
		file("etc/mime.types", 0o644, nil),
		symlink("usr/local/bin/python3", "/usr/bin/python3.11"),
	}
	if err := checkOverlay(base.entries, ok); err != nil {
		t.Errorf("checkOverlay(additions) = %v", err)
	}
	for _, bad := range []entry{
		dir("tmp", 0o755),
		file("mnt", 0o644, nil),
		file("var/run/x", 0o644, nil),
		symlink("usr/bin", "/bin"),
		dir("usr/bin/nc", 0o755),
		dir("root", 0o755),
	} {
		if err := checkOverlay(base.entries, append(slices.Clone(ok), bad)); err == nil {
			t.Errorf("checkOverlay accepted %s (%c)", bad.Path, bad.Type)
		}
	}
}

// TestAlpineNc builds the real alpine image through run and checks its nc:
// a static binary that serves nc -lk -e /bin/true, built from the nc
// package whose sources are inputs of the image.
func TestAlpineNc(t *testing.T) {
	cache := debCache(t)
	o := options{debCache: cache, alpineImage: "argolite.local/library/alpine:3.23", arch: runtime.GOARCH,
		ncPkg: "github.com/argolite/argolite/integration/images/nc"}
	tg, err := prepare("alpine", o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var hasSource bool
	for _, in := range tg.inputs {
		if strings.HasSuffix(in, "_test.go") {
			t.Errorf("input %s is a test file", in)
		}
		hasSource = hasSource || strings.HasSuffix(in, filepath.Join("images", "nc", "main.go"))
	}
	if !hasSource || !strings.HasPrefix(filepath.Base(tg.inputs[0]), "busybox_") {
		t.Errorf("alpine's inputs %q lack busybox's package or nc's sources", tg.inputs)
	}

	out := t.TempDir()
	args := []string{"-out", out, "-deb-cache", cache, "-arch", runtime.GOARCH, "alpine"}
	var stdout bytes.Buffer
	if err := run(args, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(filepath.Join(out, "alpine.tar"), nil)
	if err != nil {
		t.Fatal(err)
	}
	fs := files(t, img)
	checkAlpineLayout(t, fs)
	e := fs["usr/bin/nc"]
	if e.hdr == nil || e.hdr.Typeflag != tar.TypeReg || e.hdr.Mode != 0o755 {
		t.Fatalf("/usr/bin/nc: %+v", e.hdr)
	}
	if e := fs["usr/bin/wget"]; e.hdr == nil || e.hdr.Linkname != "/bin/busybox" {
		t.Errorf("the other applets are still busybox's: /usr/bin/wget %+v", e.hdr)
	}
	nc := filepath.Join(t.TempDir(), "nc")
	if err := os.WriteFile(nc, e.data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := checkStaticELF(nc, runtime.GOARCH); err != nil {
		t.Error(err)
	}

	// The binary itself: a persistent -e server, probed twice with -z.
	serveAndProbe(t, exec.Command(nc, "-v", "-lk", "-s", "127.0.0.1", "-e", "/bin/true"), nc)

	// The image's shell finds it through PATH, as variables-showcase's
	// `sh -c "nc -lk -p 9999 -e /bin/true"` needs (busybox-static's shell
	// would run its own nc applet, which has no -k).
	if os.Geteuid() != 0 {
		t.Log("not root: skipping the chrooted run")
	} else {
		root := t.TempDir()
		extractTo(t, fs, root)
		srv := exec.Command("/bin/sh", "-c", "nc -v -lk -s 127.0.0.1 -e /bin/true")
		srv.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Setpgid: true}
		srv.Dir = "/"
		srv.Env = []string{defaultPath}
		serveAndProbe(t, srv, nc)
	}

	stdout.Reset()
	if err := run(args, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "up to date") {
		t.Errorf("second run rebuilt: %q", stdout.String())
	}
}

// serveAndProbe starts srv, an `nc -v -lk -s 127.0.0.1 -e /bin/true`
// server, reads the address it listens on and probes it with the nc binary:
// twice with -z (the server must outlive a connection) and once with a
// connection the server's /bin/true ends.
func serveAndProbe(t *testing.T, srv *exec.Cmd, nc string) {
	t.Helper()
	stderr, err := srv.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if srv.SysProcAttr != nil && srv.SysProcAttr.Setpgid {
			_ = syscall.Kill(-srv.Process.Pid, syscall.SIGKILL)
		}
		_ = srv.Process.Kill()
		_ = srv.Wait()
	}()
	line := make([]byte, 200)
	k, _ := stderr.Read(line)
	var addr string
	if _, err := fmt.Sscanf(string(line[:k]), "listening on %s ...", &addr); err != nil {
		t.Fatalf("%s printed %q", srv.Args, line[:k])
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	host, port, _ := net.SplitHostPort(addr)
	for i := 0; i < 2; i++ {
		if out, err := exec.Command(nc, "-z", host, port).CombinedOutput(); err != nil {
			t.Errorf("nc -z %s %s (probe %d): %v %s", host, port, i, err, out)
		}
	}
	if err := exec.Command(nc, "-w", "2", host, port).Run(); err != nil {
		t.Errorf("nc %s %s to the /bin/true server: %v", host, port, err)
	}
}

func TestDropDebPath(t *testing.T) {
	for p, want := range map[string]bool{
		"usr/share/doc":                                                            true,
		"usr/share/doc/libc6/copyright":                                            true,
		"usr/share/man/man1/python3.11.1.gz":                                       true,
		"usr/share/locale/de/LC_MESSAGES/x.mo":                                     true,
		"usr/lib/x86_64-linux-gnu/gconv/BIG5.so":                                   true,
		"usr/lib/python3.11/test/support/__init__.py":                              true,
		"usr/lib/python3.11/lib-dynload/_testcapi.cpython-311-x86_64-linux-gnu.so": true,
		"usr/lib/python3.11/lib-dynload/nis.cpython-311-x86_64-linux-gnu.so":       true,
		"usr/lib/python3.11/json/__pycache__/x.pyc":                                true,
		"usr/share":                           false,
		"usr/share/documents":                 false,
		"usr/lib/x86_64-linux-gnu/libc.so.6":  false,
		"usr/lib/python3.11/json/__init__.py": false,
		"usr/lib/python3.11/unittest/test.py": false,
		"usr/lib/python3.11/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so": false,
	} {
		if got := dropDebPath(p); got != want {
			t.Errorf("dropDebPath(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestDebVersions(t *testing.T) {
	if v := debVersionFromFile("/c/libcrypt1_1%3a4.4.33-2_amd64.deb"); v != "1:4.4.33-2" {
		t.Errorf("debVersionFromFile = %q", v)
	}
	for in, want := range map[string]string{"3.11.2-6+deb12u9": "3.11.2", "1:1.2.13.dfsg-1": "1.2.13.dfsg", "10.0.0": "10.0.0"} {
		if got := upstreamVersion(in); got != want {
			t.Errorf("upstreamVersion(%q) = %q, want %q", in, got, want)
		}
	}
	if _, err := debArch("mips"); err == nil {
		t.Error("debArch(mips) succeeded")
	}
}

func TestCachedDebPicksTheNewest(t *testing.T) {
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("needs dpkg")
	}
	dir := t.TempDir()
	for _, f := range []string{"zlib1g_1%3a1.2.13.dfsg-1_amd64.deb", "zlib1g_1.3-1_amd64.deb", "zlib1g-dev_1%3a9_amd64.deb", "zlib1g_1%3a1.2.13.dfsg-1~bpo_amd64.deb"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := cachedDeb(dir, "zlib1g", "amd64")
	if err != nil || filepath.Base(got) != "zlib1g_1%3a1.2.13.dfsg-1_amd64.deb" {
		t.Errorf("cachedDeb = %q, %v; want the epoch-1 version", got, err)
	}
	if got, err := cachedDeb(dir, "libc6", "amd64"); got != "" || err != nil {
		t.Errorf("cachedDeb(absent) = %q, %v", got, err)
	}
}

// TestCheckSharedLibs feeds a real dynamic host binary to the check: it must
// name the missing loader and libraries, and pass once they are in a
// directory the loader searches.
func TestCheckSharedLibs(t *testing.T) {
	const bin = "/usr/bin/dpkg-deb"
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Skipf("needs a dynamic host binary: %v", err)
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	needed, err := f.ImportedLibraries()
	if err != nil || len(needed) == 0 {
		t.Skipf("%s needs no libraries (%v)", bin, err)
	}
	var interp string
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b, _ := io.ReadAll(p.Open())
			interp = strings.TrimPrefix(strings.TrimRight(string(b), "\x00"), "/")
		}
	}
	entries := []entry{file("usr/bin/tool", 0o755, data), file("usr/share/x/"+needed[0], 0o644, nil)}
	err = checkSharedLibs("the test layer", entries, nil)
	if err == nil || !strings.Contains(err.Error(), "usr/bin/tool needs "+needed[0]) || (interp != "" && !strings.Contains(err.Error(), "loader /"+interp)) {
		t.Fatalf("checkSharedLibs = %v, want the missing %s and loader %s named", err, needed[0], interp)
	}
	for i, lib := range needed {
		d := "lib/x86_64-linux-gnu"
		if i%2 == 1 {
			d = "usr/lib"
		}
		entries = append(entries, symlink(d+"/"+lib, "elsewhere"))
	}
	if interp != "" {
		entries = append(entries, symlink(interp, "/lib/ld.so"))
	}
	if err := checkSharedLibs("the test layer", entries, nil); err != nil {
		t.Errorf("with every library present: %v", err)
	}
	// The libraries may come from the layers below.
	if err := checkSharedLibs("the test layer", entries[:1], entries[1:]); err != nil {
		t.Errorf("with every library in the layer below: %v", err)
	}
}

// debCache returns the directory of the alpine and python images' .deb
// files: the cache make images fills (bin/debs) when it is complete, else a
// temporary directory they are downloaded into. It skips when neither can
// work.
func debCache(t *testing.T) string {
	t.Helper()
	if testing.Short() || runtime.GOOS != "linux" {
		t.Skip("needs Debian's packages; linux only, not in -short")
	}
	arch, err := debArch(runtime.GOARCH)
	if err != nil {
		t.Skip(err)
	}
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("needs dpkg-deb (Debian)")
	}
	repoCache := filepath.Join("..", "..", "bin", "debs")
	complete := true
	for _, p := range append(slices.Clone(alpinePackages), pythonPackages...) {
		if f, err := cachedDeb(repoCache, p, arch); err != nil || f == "" {
			complete = false
			break
		}
	}
	if complete {
		return repoCache
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Skip("needs apt-get to fetch the alpine and python packages (or a filled bin/debs: make images)")
	}
	if !aptListsPresent() {
		t.Skip("apt has no package lists: run apt-get update (or make images to fill bin/debs)")
	}
	return t.TempDir()
}

// extractTo writes the flattened file system fs below dir.
func extractTo(t *testing.T, fs map[string]fsEntry, dir string) {
	t.Helper()
	paths := make([]string, 0, len(fs))
	for p := range fs {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		e, dst := fs[p], filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		switch e.hdr.Typeflag {
		case tar.TypeDir:
			err := os.MkdirAll(dst, 0o755)
			if err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.WriteFile(dst, e.data, os.FileMode(e.hdr.Mode)&os.ModePerm|0o200); err != nil {
				t.Fatal(err)
			}
		case tar.TypeSymlink:
			if err := os.Symlink(e.hdr.Linkname, dst); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// pythonModules are the modules the workflow suite's scripts import.
var pythonModules = []string{"random", "json", "sys", "os", "time", "math", "subprocess", "collections", "re", "datetime", "base64", "hashlib"}

// TestPythonImage builds the alpine and python images from the real Debian
// packages through run, checks their configs and files, runs the layer's
// Python, and checks a second run is a no-op and a forced one gives the same
// digests.
func TestPythonImage(t *testing.T) {
	cache := debCache(t)
	out := t.TempDir()
	args := []string{"-out", out, "-deb-cache", cache, "-arch", runtime.GOARCH, "alpine", "python"}
	var stdout bytes.Buffer
	if err := run(args, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "wrote argolite.local/library/python:alpine3.23") {
		t.Errorf("output %q", stdout.String())
	}

	img, err := tarball.ImageFromPath(filepath.Join(out, "python.tar"), nil)
	if err != nil {
		t.Fatal(err)
	}
	alpine, err := tarball.ImageFromPath(filepath.Join(out, "alpine.tar"), nil)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cf.Config.Cmd, []string{"python3"}) {
		t.Errorf("Cmd = %q, want [python3]", cf.Config.Cmd)
	}
	if len(cf.Config.Env) < 2 || cf.Config.Env[0] != defaultPath || cf.Config.Env[1] != "LANG=C.UTF-8" {
		t.Errorf("Env = %q", cf.Config.Env)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	alpineLayers, err := alpine.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 || len(alpineLayers) != 1 {
		t.Fatalf("python has %d layers, alpine %d; want 2 and 1", len(layers), len(alpineLayers))
	}
	base, _ := layers[0].Digest()
	alpineBase, _ := alpineLayers[0].Digest()
	if base != alpineBase {
		t.Errorf("python's base layer %s is not alpine's %s", base, alpineBase)
	}

	// The python layer alone holds Python.
	pyLayer := map[string]*tar.Header{}
	rc, err := layers[1].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pyLayer[strings.Trim(h.Name, "/")] = h
		if !h.ModTime.Equal(epoch) {
			t.Errorf("%s: mtime %v", h.Name, h.ModTime)
		}
	}
	rc.Close()
	lib := "usr/lib/python" + pythonMinor
	for _, p := range []string{"usr/bin/python3", "usr/bin/python", "usr/bin/python" + pythonMinor, lib + "/os.py", "etc/mime.types"} {
		if pyLayer[p] == nil {
			t.Errorf("the python layer lacks %s", p)
		}
	}
	if h := pyLayer["usr/bin/python3"]; h != nil && (h.Typeflag != tar.TypeSymlink || h.Linkname != "python"+pythonMinor) {
		t.Errorf("usr/bin/python3: %+v", h)
	}
	builtin := map[string]bool{"sys": true, "time": true, "math": true}
	for _, m := range pythonModules {
		if builtin[m] {
			continue
		}
		if pyLayer[lib+"/"+m+".py"] == nil && pyLayer[lib+"/"+m+"/__init__.py"] == nil {
			t.Errorf("the python layer lacks the module %s", m)
		}
	}
	for _, m := range []string{"_json", "_hashlib"} {
		found := false
		for p := range pyLayer {
			if strings.HasPrefix(p, lib+"/lib-dynload/"+m+".cpython-") {
				found = true
			}
		}
		if !found {
			t.Errorf("the python layer lacks the extension module %s", m)
		}
	}
	for p := range pyLayer {
		if dropDebPath(p) {
			t.Errorf("the python layer holds %s, which should be dropped", p)
		}
	}

	fs := files(t, img)
	if _, ok := fs["etc/alpine-release"]; !ok {
		t.Error("python lacks alpine's /etc/alpine-release")
	}
	if e := fs["usr/bin/nc"]; e.hdr == nil || e.hdr.Typeflag != tar.TypeReg {
		t.Errorf("python's /usr/bin/nc is not the nc binary: %+v", e.hdr)
	}
	checkAlpineLayout(t, fs)
	root := t.TempDir()
	extractTo(t, fs, root)
	runPython(t, root)

	stdout.Reset()
	if err := run(args, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if strings.Count(stdout.String(), "up to date") != 2 {
		t.Errorf("second run rebuilt: %q", stdout.String())
	}
	before, _ := img.Digest()
	if err := run(append([]string{"-force"}, args...), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	again, err := tarball.ImageFromPath(filepath.Join(out, "python.tar"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := again.Digest(); after != before {
		t.Errorf("rebuilding from the same packages changed the digest: %s, then %s", before, after)
	}
}

// runPython runs the extracted image's Python: through the layer's own
// dynamic loader with the layer's libraries (works unprivileged), and, as
// root, chrooted into root through /bin/sh and PATH as a Pod would.
func runPython(t *testing.T, root string) {
	t.Helper()
	script := "import " + strings.Join(pythonModules, ", ") + "\n" +
		"print(json.dumps(random.randint(1, 1)), base64.b64encode(hashlib.sha256(b'x').digest()[:3]).decode(), " +
		"subprocess.run(['sh', '-c', 'echo ok'], capture_output=True, text=True).stdout.strip(), " +
		"collections.Counter('aa')['a'], re.sub('a', 'b', 'a'), datetime.date(2024, 1, 2).isoformat(), math.floor(1.5), os.sep, sys.version_info[0], int(time.time()) > 0)\n"
	const want = "1 LXEW ok 2 b 2024-01-02 1 / 3 True"

	python := filepath.Join(root, "usr/bin/python"+pythonMinor)
	pf, err := elf.Open(python)
	if err != nil {
		t.Fatal(err)
	}
	var interp string
	for _, p := range pf.Progs {
		if p.Type == elf.PT_INTERP {
			b, _ := io.ReadAll(p.Open())
			interp = strings.TrimRight(string(b), "\x00")
		}
	}
	pf.Close()
	loader := filepath.Join(root, interp)
	if target, err := os.Readlink(loader); err == nil && filepath.IsAbs(target) { // /lib64/ld-linux-x86-64.so.2 -> /lib/...
		loader = filepath.Join(root, target)
	}
	var libPath []string
	for _, d := range []string{"lib", "usr/lib"} {
		matches, _ := filepath.Glob(filepath.Join(root, d, "*-linux-*"))
		libPath = append(libPath, matches...)
		libPath = append(libPath, filepath.Join(root, d))
	}
	cmd := exec.Command(loader, "--library-path", strings.Join(libPath, ":"), python, "-B", "-c", script)
	cmd.Env = []string{"PYTHONHOME=" + filepath.Join(root, "usr"), "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", loader, python, err, out)
	}
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("python printed %q, want %q", got, want)
	}
	cmd = exec.Command(loader, "--library-path", strings.Join(libPath, ":"), python, "-c", "import random,json; print(json.dumps(random.randint(1,1)))")
	cmd.Env = []string{"PYTHONHOME=" + filepath.Join(root, "usr")}
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "1" {
		t.Errorf("python -c 'import random,json; ...': %v\n%s", err, out)
	}

	if os.Geteuid() != 0 {
		t.Log("not root: skipping the chrooted run")
		return
	}
	if err := os.WriteFile(filepath.Join(root, "tmp", "t.py"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command("/bin/sh", "-c", "python3 /tmp/t.py && python -c 'import os, sys; os.mkdir(\"/mnt/out\"); print(sys.executable)'")
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
	cmd.Dir = "/"
	cmd.Env = []string{defaultPath, "LANG=C.UTF-8", "HOME=/root"}
	out, err = cmd.CombinedOutput()
	if errors.Is(err, syscall.EPERM) {
		t.Logf("chroot not permitted here (%v): skipping the chrooted run", err)
		return
	}
	if err != nil {
		t.Fatalf("chroot %s sh -c python3 ...: %v\n%s", root, err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || lines[0] != want || !strings.HasSuffix(lines[1], "/python") {
		t.Errorf("chrooted python printed %q, want %q and the executable", out, want)
	}
}

func TestFetchDebsExplainsWhatIsMissing(t *testing.T) {
	cache := t.TempDir()
	bin := t.TempDir()
	t.Setenv("PATH", bin)
	_, err := fetchDebs(cache, "amd64", []string{"libc6"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "apt-get not found") || !strings.Contains(err.Error(), cache) {
		t.Errorf("without apt-get: %v", err)
	}

	// An apt-get that knows no package lists, as before the first apt-get update.
	if err := os.WriteFile(filepath.Join(bin, "apt-get"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = fetchDebs(cache, "amd64", []string{"libc6"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "apt-get update") {
		t.Errorf("without package lists: %v, want an error naming apt-get update", err)
	}

	// A complete cache needs no apt at all.
	if err := os.WriteFile(filepath.Join(cache, "libc6_2.36-9_amd64.deb"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := fetchDebs(cache, "amd64", []string{"libc6"}, io.Discard)
	if err != nil || len(got) != 1 || filepath.Base(got[0]) != "libc6_2.36-9_amd64.deb" {
		t.Errorf("from the cache: %v, %v", got, err)
	}
}

// fakeAlpineLayer is an alpine layer of stand-in files.
func fakeAlpineLayer(t *testing.T) layerSpec {
	t.Helper()
	base, err := alpineLayer(alpineFiles{busybox: []byte("bb"), applets: []string{"bin/sh"}, nc: []byte("nc")})
	if err != nil {
		t.Fatal(err)
	}
	return base
}

// TestPythonImageConfig checks the python image's shape without Debian's
// packages: alpine's layer below a python layer, python3 as the command.
func TestPythonImageConfig(t *testing.T) {
	py := &pythonLayer{version: "3.11.2", packages: []string{"python3.11-minimal=3.11.2-6"}, entries: []entry{
		file("usr/bin/python3.11", 0o755, []byte("py")),
		symlink("usr/bin/python3", "python3.11"),
	}}
	img, err := pythonImage(fakeAlpineLayer(t), py, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	back, _ := roundTrip(t, "argolite.local/library/python:alpine3.23", img)
	cf := configOf(t, back)
	if !reflect.DeepEqual(cf.Config.Cmd, []string{"python3"}) {
		t.Errorf("Cmd = %q", cf.Config.Cmd)
	}
	if want := []string{defaultPath, "LANG=C.UTF-8", "PYTHON_VERSION=3.11.2"}; !reflect.DeepEqual(cf.Config.Env, want) {
		t.Errorf("Env = %q, want %q", cf.Config.Env, want)
	}
	if len(cf.History) != 2 || !strings.Contains(cf.History[1].CreatedBy, "python3.11-minimal=3.11.2-6") {
		t.Errorf("History = %+v", cf.History)
	}
	alpine, err := alpineImage(alpineFiles{busybox: []byte("bb"), applets: []string{"bin/sh"}, nc: []byte("nc")}, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	pl, _ := back.Layers()
	al, _ := alpine.Layers()
	d1, _ := pl[0].Digest()
	d2, _ := al[0].Digest()
	if d1 != d2 {
		t.Errorf("python's base layer %s differs from alpine's %s", d1, d2)
	}
	fs := files(t, back)
	if fs["usr/bin/python3"].hdr == nil || fs["etc/alpine-release"].hdr == nil || fs["bin/busybox"].hdr == nil || fs["usr/bin/nc"].hdr == nil {
		t.Error("python lacks its own files or alpine's")
	}
	checkAlpineLayout(t, fs)
	py.entries = append(py.entries, dir("tmp", 0o755))
	if _, err := pythonImage(fakeAlpineLayer(t), py, "amd64"); err == nil {
		t.Error("a python layer with a /tmp without the sticky bit was accepted")
	}
}
