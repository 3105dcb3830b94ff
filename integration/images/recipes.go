package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
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

// busyboxImage is docker.io/library/busybox:latest (and the workflow
// suite's argolite.local/library/busybox:1.36): the busybox userland with sh
// as the default command.
func busyboxImage(binary []byte, applets []string, arch string) (v1.Image, error) {
	return buildImage(arch, v1.Config{
		Cmd: []string{"sh"},
		Env: []string{defaultPath},
	}, layerOf("busybox from Debian's busybox-static", busyboxEntries(binary, applets)))
}

// alpineRelease is the Alpine release the alpine image stands in for.
const alpineRelease = "3.23.0"

// alpineLayer is the alpine stand-in's file system: the busybox userland
// plus /etc/alpine-release and an /etc/os-release that says what it is. The
// python image reuses it as its base layer, as python:alpine is based on
// alpine.
func alpineLayer(binary []byte, applets []string) layerSpec {
	minor := alpineRelease[:strings.LastIndex(alpineRelease, ".")]
	osRelease := fmt.Sprintf(`NAME="argolite Alpine stand-in"
ID=argolite-alpine
ID_LIKE=alpine
VERSION_ID=%s
PRETTY_NAME="argolite stand-in for Alpine Linux v%s (busybox from Debian's busybox-static, no apk)"
HOME_URL="https://github.com/argolite/argolite"
`, alpineRelease, minor)
	entries := append(busyboxEntries(binary, applets),
		file("etc/alpine-release", 0o644, []byte(alpineRelease+"\n")),
		file("etc/os-release", 0o644, []byte(osRelease)),
	)
	return layerOf("alpine "+alpineRelease+" stand-in: busybox from Debian's busybox-static", entries)
}

// alpineImage stands in for alpine:3.23 in the workflow conformance suite:
// the busybox userland, alpine's release files, /bin/sh as the command.
func alpineImage(binary []byte, applets []string, arch string) (v1.Image, error) {
	return buildImage(arch, v1.Config{
		Cmd: []string{"/bin/sh"},
		Env: []string{defaultPath},
	}, alpineLayer(binary, applets))
}

// pythonImage stands in for python:alpine3.23: the alpine layer, then a
// layer with Python from Debian's packages (see debs.go). python3 is the
// default command.
func pythonImage(binary []byte, applets []string, py *pythonLayer, arch string) (v1.Image, error) {
	return buildImage(arch, v1.Config{
		Cmd: []string{"python3"},
		Env: []string{defaultPath, "LANG=C.UTF-8", "PYTHON_VERSION=" + py.version},
	}, alpineLayer(binary, applets), layerOf("python "+py.version+" from Debian packages: "+strings.Join(py.packages, " "), py.entries))
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

// pauseSources lists the Go files of the pause package for GOOS=linux, so
// the pause image is rebuilt when they change.
func pauseSources(pkg, arch string) ([]string, error) {
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
