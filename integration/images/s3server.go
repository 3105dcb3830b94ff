package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// s3serverImage is argolite.local/library/s3server:v1, the S3 artifact store
// of the workflow tests (integration/s3server): the static binary as
// /s3server run as nonroot, listening on 9000.
func s3serverImage(binary []byte, version, arch string) (v1.Image, error) {
	return buildImage(arch, v1.Config{
		Entrypoint:   []string{"/s3server"},
		User:         fmt.Sprintf("%d:%d", nonrootUID, nonrootUID),
		Env:          []string{defaultPath},
		WorkingDir:   "/",
		ExposedPorts: map[string]struct{}{"9000/tcp": {}},
		Labels: map[string]string{
			"org.opencontainers.image.title":   "s3server",
			"org.opencontainers.image.version": version,
			"org.opencontainers.image.source":  "https://github.com/argolite/argolite",
		},
	}, layerOf("s3server (integration/s3server)", []entry{
		file("s3server", 0o755, binary),
		file("etc/passwd", 0o644, passwd(false, "/sbin/nologin")),
		file("etc/group", 0o644, group(false)),
		dir("tmp", 0o1777),
	}))
}

// httpbinImage is go-httpbin as its upstream image is: the static binary as
// /bin/go-httpbin, its entrypoint, run as root, since Argo's quick-start
// has it listen on port 80 (PORT).
func httpbinImage(binary []byte, version, arch string) (v1.Image, error) {
	return buildImage(arch, v1.Config{
		Entrypoint:   []string{"/bin/go-httpbin"},
		Env:          []string{defaultPath},
		WorkingDir:   "/",
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		Labels: map[string]string{
			"org.opencontainers.image.title":   "go-httpbin",
			"org.opencontainers.image.version": version,
			"org.opencontainers.image.source":  "https://github.com/mccutchen/go-httpbin",
		},
	}, layerOf("go-httpbin ("+httpbinPkg+")", []entry{
		file("bin/go-httpbin", 0o755, binary),
		file("etc/passwd", 0o644, passwd(false, "/sbin/nologin")),
		file("etc/group", 0o644, group(false)),
		dir("tmp", 0o1777),
	}))
}

// goBuildInputs lists what a static build of pkg depends on for staleness:
// its Go files for GOOS=linux and the main module's go.mod and go.sum, which
// fix the versions of its dependencies.
func goBuildInputs(pkg, arch string) ([]string, error) {
	srcs, err := goSources(pkg, arch)
	if err != nil {
		return nil, err
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOMOD: %w%s", err, stderrOf(err))
	}
	if gomod := strings.TrimSpace(string(out)); gomod != "" && gomod != os.DevNull {
		srcs = append(srcs, gomod)
		if sum := filepath.Join(filepath.Dir(gomod), "go.sum"); fileExists(sum) {
			srcs = append(srcs, sum)
		}
	}
	return srcs, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// goBinaries holds the binaries buildGoBinaryOnce built in this run.
var goBinaries = map[string][]byte{}

// buildGoBinaryOnce is buildGoBinary, remembering the result for the rest of
// the run (alpine and python share nc).
func buildGoBinaryOnce(pkg, arch, name string) ([]byte, error) {
	key := pkg + " " + arch
	if b, ok := goBinaries[key]; ok {
		return b, nil
	}
	b, err := buildGoBinary(pkg, arch, name)
	if err != nil {
		return nil, err
	}
	goBinaries[key] = b
	return b, nil
}

// buildGoBinary compiles pkg as a static linux binary and returns its
// contents.
func buildGoBinary(pkg, arch, name string) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "argolite-"+name+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, name)
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building %s: %w\n%s", pkg, err, out)
	}
	if err := checkStaticELF(bin, arch); err != nil {
		return nil, err
	}
	return os.ReadFile(bin)
}
