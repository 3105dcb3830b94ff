package exec

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// fakeS3 is an in-process S3 server with bucket "art".
type fakeS3 struct {
	endpoint string
	client   *minio.Client
}

func newFakeS3(t *testing.T) *fakeS3 {
	t.Helper()
	backend := s3mem.New()
	ts := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(ts.Close)
	if err := backend.CreateBucket("art"); err != nil {
		t.Fatal(err)
	}
	ep := strings.TrimPrefix(ts.URL, "http://")
	c, err := minio.New(ep, &minio.Options{Creds: credentials.NewStaticV4("access", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	return &fakeS3{endpoint: ep, client: c}
}

func (s *fakeS3) loc(key string) Location {
	return Location{S3: &S3Location{Endpoint: s.endpoint, Bucket: "art", Insecure: true, Key: key, AccessKeyEnv: "AK", SecretKeyEnv: "SK"}}
}

func (s *fakeS3) get(t *testing.T, key string) []byte {
	t.Helper()
	obj, err := s.client.GetObject(context.Background(), "art", key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = obj.Close() }()
	data, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	return data
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestArtifactsRoundTrip(t *testing.T) {
	s3 := newFakeS3(t)

	// The producing step.
	p := newHarness(t)
	p.spec(Spec{Outputs: Outputs{Artifacts: []OutputArtifact{
		{Name: "dir-tar", Path: p.path("out/dir"), Location: s3.loc("wf/p/dir-tar.tgz")},
		{Name: "file-tar", Path: p.path("out/file.txt"), Archive: "tar", CompressionLevel: ptr(0), Location: s3.loc("wf/p/file-tar.tgz")},
		{Name: "file-none", Path: p.path("out/file.txt"), Archive: "none", Location: s3.loc("wf/p/file.txt")},
		{Name: "dir-none", Path: p.path("out/dir") + "/", Archive: "none", Location: s3.loc("wf/p/dir")},
		{Name: "opt", Path: p.path("out/never"), Optional: true, Location: s3.loc("wf/p/opt.tgz")},
	}}})
	code := p.run("run", "--", "sh", "-c", `set -e; cd "$ROOT"; mkdir -p out/dir/sub; echo A > out/dir/a.txt; echo B > out/dir/sub/b.txt; echo F > out/file.txt`)
	if code != 0 {
		t.Fatalf("producer exited %d: %s / %+v", code, p.stderr, p.result())
	}
	r := p.result()
	if len(r.Artifacts) != 5 {
		t.Fatalf("artifacts %+v", r.Artifacts)
	}
	for _, a := range r.Artifacts {
		if (a.Location == nil) != (a.Name == "opt") {
			t.Errorf("artifact %s location %+v", a.Name, a.Location)
		}
	}
	if got := string(s3.get(t, "wf/p/file.txt")); got != "F\n" {
		t.Errorf("archive none stored %q", got)
	}
	if got := string(s3.get(t, "wf/p/dir/sub/b.txt")); got != "B\n" {
		t.Errorf("a directory with archive none: %q", got)
	}
	if !isTarGzBytes(s3.get(t, "wf/p/dir-tar.tgz")) {
		t.Error("the default archive is not tar+gzip")
	}

	// The consuming step.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Token") != "t0k" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		if r.URL.Path != "/files/h.txt" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, "from-http")
	}))
	defer srv.Close()
	raw := "inline\n"
	c := newHarness(t)
	in := func(name string) string { return c.path("in/" + name) }
	c.spec(Spec{Inputs: []InputArtifact{
		{Name: "dir-tar", Path: in("dir"), Location: s3.loc("wf/p/dir-tar.tgz")},
		{Name: "file-tar", Path: in("file"), Location: s3.loc("wf/p/file-tar.tgz")},
		{Name: "file-none", Path: in("plain"), Location: s3.loc("wf/p/file.txt")},
		{Name: "dir-none", Path: in("dirnone"), Location: s3.loc("wf/p/dir")},
		{Name: "sub-key", Path: in("sub-key"), SubPath: "sub/b.txt", Location: s3.loc("wf/p/dir")},
		{Name: "sub-archive", Path: in("sub-arch"), SubPath: "sub", Location: s3.loc("wf/p/dir-tar.tgz")},
		{Name: "raw", Path: in("raw"), Mode: ptr(int32(0o600)), Location: Location{Raw: &raw}},
		{Name: "http", Path: in("http"), Location: Location{HTTP: &HTTPLocation{URL: srv.URL + "/files/h.txt", Headers: map[string]string{"X-Token": "t0k"}}}},
		{Name: "absent", Path: in("absent"), Optional: true, Location: s3.loc("wf/nothing")},
		{Name: "absent-http", Path: in("absent-http"), Optional: true, Location: Location{HTTP: &HTTPLocation{URL: srv.URL + "/gone", Headers: map[string]string{"X-Token": "t0k"}}}},
	}})
	if code := c.run("run", "--", "sh", "-c", `test -f "$ROOT/in/dir/sub/b.txt"`); code != 0 {
		t.Fatalf("consumer exited %d: %s / %+v", code, c.stderr, c.result())
	}
	for p, want := range map[string]string{
		"dir/a.txt":         "A\n",
		"dir/sub/b.txt":     "B\n",
		"file":              "F\n",
		"plain":             "F\n",
		"dirnone/a.txt":     "A\n",
		"dirnone/sub/b.txt": "B\n",
		"sub-key":           "B\n",
		"sub-arch/b.txt":    "B\n",
		"raw":               "inline\n",
		"http":              "from-http",
	} {
		if got := readFile(t, in(p)); got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
	if fi, _ := os.Stat(in("raw")); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	for _, p := range []string{"absent", "absent-http"} {
		if _, err := os.Stat(in(p)); err == nil {
			t.Errorf("optional missing artifact %s was created", p)
		}
	}
	if entries, _ := os.ReadDir(c.path("in")); len(entries) != 8 {
		t.Errorf("staging left files behind: %v", entries)
	}

	// A required artifact that is missing fails the step before it runs.
	m := newHarness(t)
	m.spec(Spec{Inputs: []InputArtifact{{Name: "needed", Path: m.path("x"), Location: s3.loc("wf/nothing")}}})
	if code := m.run("run", "--", "sh", "-c", `touch "$ROOT/ran"`); code == 0 {
		t.Fatal("ran without its required input")
	}
	if _, err := os.Stat(m.path("ran")); err == nil {
		t.Fatal("the command ran")
	}
	mr := m.result()
	if mr.ExitCode != nil || !strings.Contains(mr.Message, `"needed"`) || !strings.Contains(mr.Message, "wf/nothing") {
		t.Fatalf("result %+v", mr)
	}
	if m.done("main") == "0" {
		t.Fatal("done file says success")
	}
}

func TestMissingRequiredOutputArtifact(t *testing.T) {
	s3 := newFakeS3(t)
	h := newHarness(t)
	h.spec(Spec{Outputs: Outputs{Artifacts: []OutputArtifact{{Name: "report", Path: h.path("report.txt"), Location: s3.loc("k")}}}})
	if code := h.run("run", "--", "true"); code == 0 {
		t.Fatal("succeeded without its output artifact")
	}
	r := h.result()
	if !strings.Contains(r.Message, `"report"`) || !strings.Contains(r.Message, h.path("report.txt")) || !strings.Contains(r.Message, "optional") {
		t.Fatalf("message %q", r.Message)
	}
}

func TestBadCredentialsNameTheVariable(t *testing.T) {
	h := newHarness(t)
	loc := Location{S3: &S3Location{Endpoint: "127.0.0.1:1", Bucket: "b", Key: "k", AccessKeyEnv: "NOPE_AK"}}
	h.spec(Spec{Inputs: []InputArtifact{{Name: "in", Path: h.path("in"), Location: loc}}})
	if code := h.run("run", "--", "true"); code == 0 {
		t.Fatal("succeeded")
	}
	if r := h.result(); !strings.Contains(r.Message, "NOPE_AK") {
		t.Fatalf("message %q", r.Message)
	}
}

func TestOversizedResultIsOffloaded(t *testing.T) {
	s3 := newFakeS3(t)
	h := newHarness(t)
	off := s3.loc("wf/offload/main.json")
	off.S3.Bucket = "fresh"
	off.S3.CreateBucket = true
	h.spec(Spec{CaptureResult: true, Offload: &off})
	code := h.run("run", "--", "sh", "-c", `i=0; while [ $i -lt 600 ]; do printf 0123456789; i=$((i+1)); done; exit 3`)
	if code != 3 {
		t.Fatalf("exit %d: %s", code, h.stderr)
	}
	r := h.result()
	if r.Offloaded == nil || r.Offloaded.S3 == nil || r.Offloaded.S3.Key != "wf/offload/main.json" || exitCodeOf(t, r) != 3 || r.Result != nil {
		t.Fatalf("result %+v", r)
	}
	obj, err := s3.client.GetObject(context.Background(), "fresh", "wf/offload/main.json", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(obj)
	if err != nil {
		t.Fatal(err)
	}
	var full Result
	if err := json.Unmarshal(data, &full); err != nil {
		t.Fatal(err)
	}
	if full.Result == nil || len(*full.Result) != 6000 || *full.ExitCode != 3 {
		t.Fatalf("offloaded result: %d bytes", len(data))
	}
}

func TestLogsAreArchived(t *testing.T) {
	s3 := newFakeS3(t)
	h := newHarness(t)
	logs := s3.loc("wf/logs/main.log")
	h.spec(Spec{Logs: &logs})
	if code := h.run("run", "--", "sh", "-c", "echo out; echo err >&2"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	r := h.result()
	if len(r.Artifacts) != 1 || r.Artifacts[0].Name != "main-logs" || r.Artifacts[0].Location == nil {
		t.Fatalf("artifacts %+v", r.Artifacts)
	}
	got := string(s3.get(t, "wf/logs/main.log"))
	if !strings.Contains(got, "out\n") || !strings.Contains(got, "err\n") {
		t.Fatalf("log %q", got)
	}
}

func TestHTTPOutputArtifact(t *testing.T) {
	var (
		mu  sync.Mutex
		got []byte
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut {
			http.Error(w, "put only", http.StatusMethodNotAllowed)
			return
		}
		mu.Lock()
		got, _ = io.ReadAll(r.Body)
		mu.Unlock()
	}))
	defer srv.Close()
	h := newHarness(t)
	h.spec(Spec{Outputs: Outputs{Artifacts: []OutputArtifact{{Name: "f", Path: h.path("f"), Archive: "none", Location: Location{HTTP: &HTTPLocation{URL: srv.URL + "/f"}}}}}})
	if code := h.run("run", "--", "sh", "-c", `echo put-me > "$ROOT/f"`); code != 0 {
		t.Fatalf("exit %d: %+v", code, h.result())
	}
	mu.Lock()
	defer mu.Unlock()
	if string(got) != "put-me\n" {
		t.Fatalf("server got %q", got)
	}
}

func TestUntarSemantics(t *testing.T) {
	dir := t.TempDir()
	// One top-level entry becomes the destination itself.
	src := filepath.Join(dir, "one")
	if err := os.MkdirAll(filepath.Join(src, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "x", "f"), []byte("f"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("x/f", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tarGz(src, gzip.DefaultCompression, &buf); err != nil {
		t.Fatal(err)
	}
	tgz := filepath.Join(dir, "one.tgz")
	if err := os.WriteFile(tgz, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if !isTarGz(tgz) {
		t.Fatal("not detected as tar+gzip")
	}
	out := filepath.Join(dir, "out")
	if err := untarGz(tgz, out); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(out, "link")); got != "f" {
		t.Fatalf("through the link: %q", got)
	}
	if fi, _ := os.Stat(filepath.Join(out, "x", "f")); fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v", fi.Mode())
	}

	// Several top-level entries make a directory.
	multi := writeTgz(t, dir, "multi.tgz", map[string]string{"a": "1", "b": "2"})
	if err := untarGz(multi, filepath.Join(dir, "multi")); err != nil {
		t.Fatal(err)
	}
	if readFile(t, filepath.Join(dir, "multi", "b")) != "2" {
		t.Fatal("multi")
	}

	// Entries cannot escape.
	evil := writeTgz(t, dir, "evil.tgz", map[string]string{"../escape": "x"})
	if err := untarGz(evil, filepath.Join(dir, "evil")); err == nil {
		t.Fatal("../ accepted")
	}
	if _, err := os.Stat(filepath.Join(dir, "escape")); err == nil {
		t.Fatal("wrote outside")
	}

	// A plain file (not a tar+gzip) is not an archive.
	plain := filepath.Join(dir, "plain.gz")
	var gzbuf bytes.Buffer
	zw := gzip.NewWriter(&gzbuf)
	_, _ = zw.Write([]byte("just gzip"))
	_ = zw.Close()
	if err := os.WriteFile(plain, gzbuf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if isTarGz(plain) {
		t.Fatal("gzip of a non-tar detected as tar")
	}
}

func TestPlaceIntoExistingDirectory(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	dst := filepath.Join(dir, "dst")
	for _, p := range []string{filepath.Join(src, "a"), filepath.Join(dst, "keep"), filepath.Join(dst, "a")} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := place(src, dst); err != nil {
		t.Fatal(err)
	}
	if readFile(t, filepath.Join(dst, "a")) != filepath.Join(src, "a") || readFile(t, filepath.Join(dst, "keep")) != filepath.Join(dst, "keep") {
		t.Fatal("merge into an existing directory")
	}
}

func writeTgz(t *testing.T, dir, name string, files map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for n, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write([]byte(body))
	}
	_ = tw.Close()
	_ = zw.Close()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func isTarGzBytes(b []byte) bool {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return false
	}
	_, err = tar.NewReader(zr).Next()
	return err == nil
}
