package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestS3serverRecipe(t *testing.T) {
	img, err := s3serverImage([]byte("bin"), "v1", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	cf := configOf(t, img)
	if !reflect.DeepEqual(cf.Config.Entrypoint, []string{"/s3server"}) || cf.Config.User != "65532:65532" {
		t.Errorf("Entrypoint %q, User %q", cf.Config.Entrypoint, cf.Config.User)
	}
	if _, ok := cf.Config.ExposedPorts["9000/tcp"]; !ok {
		t.Errorf("ExposedPorts %v", cf.Config.ExposedPorts)
	}
	fs := files(t, img)
	if e, ok := fs["s3server"]; !ok || e.hdr.Mode != 0o755 || string(e.data) != "bin" {
		t.Errorf("/s3server: %+v", e)
	}
	if !strings.Contains(string(fs["etc/passwd"].data), "nonroot:x:65532:65532") {
		t.Errorf("/etc/passwd %q", fs["etc/passwd"].data)
	}
}

// TestS3server builds the real image and runs its binary: it serves
// /healthz and stops with exit code 0 on SIGTERM.
func TestS3server(t *testing.T) {
	if testing.Short() || runtime.GOOS != "linux" {
		t.Skip("builds the s3server binary; linux only")
	}
	out := t.TempDir()
	var stdout bytes.Buffer
	if err := run([]string{"-out", out, "-arch", runtime.GOARCH, "s3server"}, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "wrote argolite.local/library/s3server:v1") {
		t.Errorf("output %q", stdout.String())
	}
	img, err := tarball.ImageFromPath(filepath.Join(out, "s3server.tar"), nil)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "s3server")
	if err := os.WriteFile(bin, files(t, img)["s3server"].data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := checkStaticELF(bin, runtime.GOARCH); err != nil {
		t.Error(err)
	}

	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-buckets", "my-bucket")
	cmd.Env = []string{"S3_ACCESS_KEY=admin", "S3_SECRET_KEY=password"}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	lines := bufio.NewScanner(stderr)
	if !lines.Scan() {
		t.Fatalf("no start line: %v", lines.Err())
	}
	addr := regexp.MustCompile(`addr=(\S+)`).FindStringSubmatch(lines.Text())
	if addr == nil || !strings.Contains(lines.Text(), "s3server started") {
		t.Fatalf("start line %q", lines.Text())
	}
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr[1] + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %s", resp.Status)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var rest []string
	for lines.Scan() {
		rest = append(rest, lines.Text())
	}
	if len(rest) == 0 || !strings.Contains(rest[len(rest)-1], "s3server stopped") {
		t.Errorf("after SIGTERM it logged %q, want a stop line", rest)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("s3server after SIGTERM: %v, want exit 0", err)
	}

	stdout.Reset()
	if err := run([]string{"-out", out, "-arch", runtime.GOARCH, "s3server"}, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "up to date") {
		t.Errorf("second run rebuilt: %q", stdout.String())
	}
}
