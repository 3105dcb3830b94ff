package main

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// defaultPath is the PATH of the busybox image (and Docker's default).
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// nonrootUID is the unprivileged user of the agent image (distroless's nonroot).
const nonrootUID = 65532

// passwd and group list root, nobody and nonroot. shell is nonroot's login
// shell: a real one where the image has a shell.
func passwd(withNobody bool, shell string) []byte {
	s := "root:x:0:0:root:/root:/bin/sh\n"
	if withNobody {
		s += "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	}
	s += fmt.Sprintf("nonroot:x:%d:%d:nonroot:/home/nonroot:%s\n", nonrootUID, nonrootUID, shell)
	return []byte(s)
}

func group(withNobody bool) []byte {
	s := "root:x:0:\n"
	if withNobody {
		s += "nogroup:x:65534:\n"
	}
	s += fmt.Sprintf("nonroot:x:%d:\n", nonrootUID)
	return []byte(s)
}

// parseApplets reads `busybox --list-full` output (one path per line such as
// "usr/bin/env") into sorted, de-duplicated relative paths, leaving out
// bin/busybox itself.
func parseApplets(list string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	sc := bufio.NewScanner(strings.NewReader(list))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		p := path.Clean(strings.TrimPrefix(line, "/"))
		if p == "." || p == ".." || strings.HasPrefix(p, "../") {
			return nil, fmt.Errorf("busybox applet path %q escapes the root", line)
		}
		if p == "bin/busybox" || seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("busybox --list-full listed no applets")
	}
	sort.Strings(out)
	return out, nil
}

// busyboxApplets asks the busybox binary at p where its applets live.
func busyboxApplets(p string) ([]string, error) {
	out, err := exec.Command(p, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list-full: %w (is it Debian's busybox-static?)", p, err)
	}
	return parseApplets(string(out))
}

// busyboxEntries is the busybox userland: the static binary at /bin/busybox,
// every applet a symlink to it, the usual users, /tmp and /root.
func busyboxEntries(binary []byte, applets []string) []entry {
	entries := []entry{
		file("bin/busybox", 0o755, binary),
		file("etc/passwd", 0o644, passwd(true, "/bin/sh")),
		file("etc/group", 0o644, group(true)),
		dir("tmp", 0o1777),
		dir("root", 0o700),
		dir("home/nonroot", 0o700).owned(nonrootUID, nonrootUID),
	}
	for _, a := range applets {
		if a == "bin/busybox" {
			continue
		}
		entries = append(entries, symlink(a, "/bin/busybox"))
	}
	return entries
}

// busyboxImage is busybox (docker.io/library/busybox:latest, :1.36, ...,
// and the workflow suite's alias argolite.local/library/busybox:1.36): the
// busybox userland with sh as the default command.
func busyboxImage(binary []byte, applets []string, arch string) (v1.Image, error) {
	return buildImage(arch, v1.Config{
		Cmd: []string{"sh"},
		Env: []string{defaultPath},
	}, layerOf("busybox from Debian's busybox-static", busyboxEntries(binary, applets)))
}

// alpineRelease is the Alpine release the alpine image stands in for.
const alpineRelease = "3.23.0"

// alpineDirs is the directory layout of Alpine's root file system (its
// alpine-baselayout package), so scripts find the directories they expect,
// such as /mnt, /opt or /var/tmp. Directories are root-owned 0755 unless
// listed otherwise; /var/run is a symlink to /run as in Alpine. Left out:
// what only apk, OpenRC or the kernel modules use (/etc/apk, /lib/apk,
// /lib/modules-load.d and such).
var alpineDirs = []entry{
	dir("bin", 0o755),
	dir("dev", 0o755),
	dir("etc", 0o755),
	dir("etc/conf.d", 0o755),
	dir("etc/crontabs", 0o755),
	dir("etc/init.d", 0o755),
	dir("etc/modprobe.d", 0o755),
	dir("etc/modules-load.d", 0o755),
	dir("etc/network/if-down.d", 0o755),
	dir("etc/network/if-post-down.d", 0o755),
	dir("etc/network/if-pre-up.d", 0o755),
	dir("etc/network/if-up.d", 0o755),
	dir("etc/opt", 0o755),
	dir("etc/periodic/15min", 0o755),
	dir("etc/periodic/daily", 0o755),
	dir("etc/periodic/hourly", 0o755),
	dir("etc/periodic/monthly", 0o755),
	dir("etc/periodic/weekly", 0o755),
	dir("etc/profile.d", 0o755),
	dir("etc/sysctl.d", 0o755),
	dir("home", 0o755),
	dir("lib", 0o755),
	dir("lib/firmware", 0o755),
	dir("media/cdrom", 0o755),
	dir("media/floppy", 0o755),
	dir("media/usb", 0o755),
	dir("mnt", 0o755),
	dir("opt", 0o755),
	dir("proc", 0o755),
	dir("root", 0o700),
	dir("run", 0o755),
	dir("sbin", 0o755),
	dir("srv", 0o755),
	dir("sys", 0o755),
	dir("tmp", 0o1777),
	dir("usr/bin", 0o755),
	dir("usr/lib", 0o755),
	dir("usr/local/bin", 0o755),
	dir("usr/local/lib", 0o755),
	dir("usr/local/share", 0o755),
	dir("usr/sbin", 0o755),
	dir("usr/share/man", 0o755),
	dir("usr/share/misc", 0o755),
	dir("var/cache/misc", 0o755),
	dir("var/empty", 0o555),
	dir("var/lib/misc", 0o755),
	dir("var/local", 0o755),
	dir("var/lock/subsys", 0o755),
	dir("var/log", 0o755),
	dir("var/mail", 0o755),
	dir("var/opt", 0o755),
	symlink("var/run", "/run"),
	dir("var/spool/cron", 0o755),
	symlink("var/spool/cron/crontabs", "/etc/crontabs"),
	symlink("var/spool/mail", "../mail"),
	dir("var/tmp", 0o1777),
}

// withLayout adds layout (directories and symlinks) to entries. A path
// entries already has must be the same kind of thing with the same mode
// (or link target); anything else is an error, so the layout never
// replaces a file of the layer.
func withLayout(entries, layout []entry) ([]entry, error) {
	have := map[string]entry{}
	for _, e := range entries {
		have[path.Clean(e.Path)] = e
	}
	out := slices.Clone(entries)
	for _, d := range layout {
		e, ok := have[d.Path]
		if !ok {
			out = append(out, d)
			continue
		}
		if e.Type != d.Type || e.Mode != d.Mode || e.Link != d.Link || e.UID != d.UID || e.GID != d.GID {
			return nil, fmt.Errorf("/%s: the layer has it as %s, the layout wants %s", d.Path, describeEntry(e), describeEntry(d))
		}
	}
	return out, nil
}

// describeEntry is e in an error message: "directory 0755", "symlink to /run".
func describeEntry(e entry) string {
	switch e.Type {
	case tar.TypeDir:
		return fmt.Sprintf("directory %04o (%d:%d)", e.Mode, e.UID, e.GID)
	case tar.TypeSymlink:
		return "symlink to " + e.Link
	default:
		return fmt.Sprintf("file %04o (%d:%d)", e.Mode, e.UID, e.GID)
	}
}

// ncPath is where the alpine image has nc (as Alpine has busybox's applet).
const ncPath = "usr/bin/nc"

// alpineFiles are the inputs of the alpine layer: Debian's dynamic busybox
// with its applet list, the files of the C library it links, and the nc
// program (./nc) that replaces busybox's small nc applet.
type alpineFiles struct {
	busybox  []byte
	applets  []string
	libs     []entry
	packages []string // name=version of the packages, for the image history
	nc       []byte
}

// withoutNc is applets less busybox's nc, wherever busybox puts it.
func withoutNc(applets []string) []string {
	return slices.DeleteFunc(slices.Clone(applets), func(a string) bool { return path.Base(a) == "nc" })
}

// alpineLayer is the alpine stand-in's file system: the busybox userland
// and its C library with ./nc as /usr/bin/nc instead of busybox's applet, Alpine's directory
// layout (alpineDirs), /etc/alpine-release and an /etc/os-release that says
// what it is. The python image reuses it as its base layer, as
// python:alpine is based on alpine.
func alpineLayer(f alpineFiles) (layerSpec, error) {
	minor := alpineRelease[:strings.LastIndex(alpineRelease, ".")]
	osRelease := fmt.Sprintf(`NAME="argolite Alpine stand-in"
ID=argolite-alpine
ID_LIKE=alpine
VERSION_ID=%s
PRETTY_NAME="argolite stand-in for Alpine Linux v%s (busybox and glibc from Debian, no apk)"
HOME_URL="https://github.com/argolite/argolite"
`, alpineRelease, minor)
	if len(f.nc) == 0 {
		return layerSpec{}, errors.New("the alpine layer needs the nc binary")
	}
	entries := append(busyboxEntries(f.busybox, withoutNc(f.applets)), f.libs...)
	entries = append(entries,
		file(ncPath, 0o755, f.nc),
		file("etc/alpine-release", 0o644, []byte(alpineRelease+"\n")),
		file("etc/os-release", 0o644, []byte(osRelease)),
	)
	entries, err := withLayout(entries, alpineDirs)
	if err != nil {
		return layerSpec{}, fmt.Errorf("alpine layout: %w", err)
	}
	if err := checkSharedLibs("the alpine layer", entries, nil); err != nil {
		return layerSpec{}, err
	}
	what := "alpine " + alpineRelease + " stand-in: nc from integration/images/nc"
	if len(f.packages) > 0 {
		what += ", Debian packages " + strings.Join(f.packages, " ")
	}
	return layerOf(what, entries), nil
}

// alpineImage stands in for alpine (alpine:latest, :3.23, ...; the
// workflow conformance suite names alpine:3.23): the alpine layer, /bin/sh
// as the command.
func alpineImage(f alpineFiles, arch string) (v1.Image, error) {
	base, err := alpineLayer(f)
	if err != nil {
		return nil, err
	}
	return buildImage(arch, v1.Config{
		Cmd: []string{"/bin/sh"},
		Env: []string{defaultPath},
	}, base)
}

// pythonImage stands in for python:alpine3.23 (and python:alpine, ...): the alpine layer, then a
// layer with Python from Debian's packages (see debs.go). python3 is the
// default command.
func pythonImage(base layerSpec, py *pythonLayer, arch string) (v1.Image, error) {
	if err := checkOverlay(base.entries, py.entries); err != nil {
		return nil, fmt.Errorf("the python layer over the alpine layer: %w", err)
	}
	return buildImage(arch, v1.Config{
		Cmd: []string{"python3"},
		Env: []string{defaultPath, "LANG=C.UTF-8", "PYTHON_VERSION=" + py.version},
	}, base, layerOf("python "+py.version+" from Debian packages: "+strings.Join(py.packages, " "), py.entries))
}

// checkOverlay fails when a layer of upper entries would change what the
// lower layer has rather than add to it: a path that is a directory in one
// and not in the other, a directory with another mode or owner (such as a
// /tmp without its sticky bit), or a path below a symlink of the lower
// layer. The directories layerTar adds as parents count, as 0755 root.
func checkOverlay(lower, upper []entry) error {
	low := map[string]entry{}
	for _, e := range lower {
		p := path.Clean(e.Path)
		low[p] = e
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if _, ok := low[d]; !ok {
				low[d] = dir(d, 0o755)
			}
		}
	}
	// Explicit entries override the implicit parents added above.
	for _, e := range lower {
		low[path.Clean(e.Path)] = e
	}
	up := map[string]entry{}
	for _, e := range upper {
		p := path.Clean(e.Path)
		up[p] = e
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if _, ok := up[d]; !ok {
				up[d] = dir(d, 0o755)
			}
		}
	}
	for _, e := range upper {
		up[path.Clean(e.Path)] = e
	}
	var problems []string
	for p, u := range up {
		l, ok := low[p]
		if !ok {
			continue
		}
		switch {
		case l.Type == tar.TypeSymlink && u.Type == tar.TypeDir:
			problems = append(problems, fmt.Sprintf("/%s is a symlink to %s below, a directory above", p, l.Link))
		case (l.Type == tar.TypeDir) != (u.Type == tar.TypeDir):
			problems = append(problems, fmt.Sprintf("/%s is a %s below, a %s above", p, describeEntry(l), describeEntry(u)))
		case l.Type == tar.TypeDir && (l.Mode != u.Mode || l.UID != u.UID || l.GID != u.GID):
			problems = append(problems, fmt.Sprintf("/%s is a %s below, a %s above", p, describeEntry(l), describeEntry(u)))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// pauseImage is the sandbox image: the pause binary (./pause) as /pause,
// run as 65535:65535 like the upstream image.
func pauseImage(binary []byte, arch string) (v1.Image, error) {
	return buildImage(arch, v1.Config{
		Entrypoint: []string{"/pause"},
		User:       "65535:65535",
		WorkingDir: "/",
	}, layerOf("pause (integration/images/pause)", []entry{
		file("pause", 0o755, binary),
	}))
}

// agentImage is the argolite-agent image: the static agent binary as
// /argolite-agent run as nonroot, a writable /tmp, nonroot's passwd entry and,
// when caBundle is not nil, the CA bundle Git over HTTPS needs.
func agentImage(binary, caBundle []byte, version, arch string) (v1.Image, error) {
	entries := []entry{
		file("argolite-agent", 0o755, binary),
		file("etc/passwd", 0o644, passwd(false, "/sbin/nologin")),
		file("etc/group", 0o644, group(false)),
		dir("tmp", 0o1777),
		dir("home/nonroot", 0o700).owned(nonrootUID, nonrootUID),
	}
	if caBundle != nil {
		entries = append(entries, file("etc/ssl/certs/ca-certificates.crt", 0o644, caBundle))
	}
	return buildImage(arch, v1.Config{
		Entrypoint: []string{"/argolite-agent"},
		User:       fmt.Sprintf("%d:%d", nonrootUID, nonrootUID),
		Env:        []string{defaultPath},
		WorkingDir: "/",
		Labels: map[string]string{
			"org.opencontainers.image.title":    "argolite-agent",
			"org.opencontainers.image.version":  version,
			"org.opencontainers.image.source":   "https://github.com/argolite/argolite",
			"org.opencontainers.image.licenses": "Apache-2.0",
		},
	}, layerOf("argolite-agent "+version, entries))
}

// goSources lists the Go files of a package for GOOS=linux (the pause
// binary's for the pause image, nc's for alpine and python), so the images
// are rebuilt when they change.
func goSources(pkg, arch string) ([]string, error) {
	cmd := exec.Command("go", "list", "-f", "{{.Dir}}{{range .GoFiles}}\n{{.}}{{end}}", pkg)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w%s (run from the repository root)", pkg, err, stderrOf(err))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 2 {
		return nil, fmt.Errorf("go list %s: no Go files for linux", pkg)
	}
	var files []string
	for _, f := range lines[1:] {
		files = append(files, filepath.Join(lines[0], f))
	}
	return files, nil
}

// buildPause compiles the pause package as a static linux binary into dir
// and returns its path.
func buildPause(pkg, arch, dir string) (string, error) {
	bin := filepath.Join(dir, "pause")
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %w\n%s", pkg, err, out)
	}
	return bin, nil
}

func stderrOf(err error) string {
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return ": " + strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}
