package exec

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the command's output goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness is one wrapped container in a temporary Pod.
type harness struct {
	t       *testing.T
	o       Options
	root    string // the temp dir: files the commands write go here
	stdout  *syncBuffer
	stderr  *syncBuffer
	signals chan os.Signal
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	root := t.TempDir()
	h := &harness{t: t, root: root, stdout: &syncBuffer{}, stderr: &syncBuffer{}, signals: make(chan os.Signal, 1)}
	env := map[string]string{"AK": "access", "SK": "secret"}
	h.o = Options{
		Dir:            filepath.Join(root, "run"),
		SpecFile:       filepath.Join(root, "podinfo", "spec"),
		TerminationLog: filepath.Join(root, "termination-log"),
		Stdout:         h.stdout,
		Stderr:         h.stderr,
		Getenv:         func(k string) string { return env[k] },
		Environ:        func() []string { return append(os.Environ(), "AK=access", "SK=secret", "ROOT="+root) },
		Signals:        h.signals,
		PollInterval:   10 * time.Millisecond,
		KillGrace:      300 * time.Millisecond,
		ResourcePoll:   10 * time.Millisecond,
		Namespace:      "ns",
	}
	return h
}

// container is a sibling container of the same Pod (same Dir and spec).
func (h *harness) container(name string) *harness {
	c := *h
	c.o.TerminationLog = filepath.Join(h.root, "termination-log-"+name)
	c.stdout, c.stderr = &syncBuffer{}, &syncBuffer{}
	c.o.Stdout, c.o.Stderr = c.stdout, c.stderr
	return &c
}

func (h *harness) spec(s Spec) {
	h.t.Helper()
	data, err := json.Marshal(s)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(h.o.SpecFile), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(h.o.SpecFile, data, 0o644); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) run(args ...string) int {
	h.t.Helper()
	return h.o.Main(args)
}

func (h *harness) result() Result {
	h.t.Helper()
	data, err := os.ReadFile(h.o.TerminationLog)
	if err != nil {
		h.t.Fatalf("no termination message: %v", err)
	}
	if len(data) > TerminationMessageLimit {
		h.t.Fatalf("termination message is %d bytes, more than %d", len(data), TerminationMessageLimit)
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		h.t.Fatalf("termination message %q: %v", data, err)
	}
	return r
}

func (h *harness) done(container string) string {
	h.t.Helper()
	data, err := os.ReadFile(filepath.Join(h.o.Dir, "done", container))
	if err != nil {
		h.t.Fatalf("no done file for %s: %v", container, err)
	}
	return string(data)
}

func (h *harness) path(p string) string { return filepath.Join(h.root, p) }

func exitCodeOf(t *testing.T, r Result) int {
	t.Helper()
	if r.ExitCode == nil {
		t.Fatalf("result has no exit code: %+v", r)
	}
	return *r.ExitCode
}

func param(r Result, name string) (string, bool) {
	for _, p := range r.Parameters {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

func TestMainOutputsParametersAndResult(t *testing.T) {
	h := newHarness(t)
	def := "fallback"
	h.spec(Spec{
		CaptureResult: true,
		Outputs: Outputs{Parameters: []OutputParameter{
			{Name: "p1", Path: h.path("p1")},
			{Name: "p2", Path: h.path("missing"), Default: &def},
			{Name: "p3", Path: h.path("p3")},
		}},
	})
	code := h.run("run", "--", "sh", "-c", `echo hello; echo oops >&2; printf 'v\n\n' > "$ROOT/p1"; printf '  spaced  ' > "$ROOT/p3"`)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, h.stderr)
	}
	r := h.result()
	if exitCodeOf(t, r) != 0 || r.Message != "" {
		t.Fatalf("result %+v", r)
	}
	if r.Result == nil || *r.Result != "hello" {
		t.Fatalf("result %v, want hello", r.Result)
	}
	// Argo trims exactly one trailing newline, nothing else.
	for name, want := range map[string]string{"p1": "v\n", "p2": "fallback", "p3": "  spaced  "} {
		if got, _ := param(r, name); got != want {
			t.Errorf("parameter %s = %q, want %q", name, got, want)
		}
	}
	if h.stdout.String() != "hello\n" || h.stderr.String() != "oops\n" {
		t.Errorf("passthrough: stdout %q stderr %q", h.stdout, h.stderr)
	}
	if got := h.done("main"); got != "0" {
		t.Errorf("done file holds %q", got)
	}
}

func TestMainNoResultUnlessAsked(t *testing.T) {
	h := newHarness(t)
	h.spec(Spec{})
	if code := h.run("run", "--", "sh", "-c", "echo hi"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if r := h.result(); r.Result != nil {
		t.Fatalf("result captured without captureResult or script: %q", *r.Result)
	}
}

func TestMainMissingParameterFailsNamingIt(t *testing.T) {
	h := newHarness(t)
	h.spec(Spec{Outputs: Outputs{Parameters: []OutputParameter{{Name: "answer", Path: h.path("nowhere")}}}})
	code := h.run("run", "--", "true")
	if code == 0 {
		t.Fatal("step succeeded without its output parameter")
	}
	r := h.result()
	if exitCodeOf(t, r) != 0 {
		t.Errorf("command exit code %d, want 0", *r.ExitCode)
	}
	for _, want := range []string{`"answer"`, h.path("nowhere"), "default"} {
		if !strings.Contains(r.Message, want) {
			t.Errorf("message %q does not mention %s", r.Message, want)
		}
	}
	if got := h.done("main"); got != "1" {
		t.Errorf("done file holds %q, want 1", got)
	}
}

func TestMainExitCodePassesThrough(t *testing.T) {
	h := newHarness(t)
	h.spec(Spec{})
	if code := h.run("run", "--role", "main", "--", "sh", "-c", "exit 3"); code != 3 {
		t.Fatalf("exit %d, want 3", code)
	}
	r := h.result()
	if exitCodeOf(t, r) != 3 || r.Message != "" {
		t.Fatalf("result %+v", r)
	}
}

func TestMainCommandNotFound(t *testing.T) {
	h := newHarness(t)
	h.spec(Spec{})
	if code := h.run("run", "--", "no-such-command-xyz", "arg"); code != 127 {
		t.Fatalf("exit %d, want 127", code)
	}
	r := h.result()
	if exitCodeOf(t, r) != 127 || !strings.Contains(r.Message, "no-such-command-xyz") {
		t.Fatalf("result %+v", r)
	}
	if h.done("main") != "127" {
		t.Fatalf("done file %q", h.done("main"))
	}
}

func TestMainScript(t *testing.T) {
	h := newHarness(t)
	h.spec(Spec{Script: &Script{Source: "echo from-script \"$0\"\nexit 0\n"}})
	if code := h.run("run", "--", "sh"); code != 0 {
		t.Fatalf("exit %d: %s", code, h.stderr)
	}
	script := filepath.Join(h.o.Dir, "script")
	fi, err := os.Stat(script)
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("script file: %v %v", fi, err)
	}
	r := h.result()
	if r.Result == nil || *r.Result != "from-script "+script {
		t.Fatalf("result %v", r.Result)
	}
}

func TestResultCapKeepsTheEnd(t *testing.T) {
	for _, tc := range []struct {
		out, want string
		cap       int
	}{
		{"0123456789abcdef\n", "6789abcdef", 10},
		{"a\n\n", "a\n", 10},
		{"no newline", "no newline", 100},
		{"", "", 10},
	} {
		h := newHarness(t)
		h.spec(Spec{CaptureResult: true, ResultCap: tc.cap})
		if code := h.run("run", "--", "printf", "%s", tc.out); code != 0 {
			t.Fatalf("exit %d", code)
		}
		if r := h.result(); r.Result == nil || *r.Result != tc.want {
			t.Errorf("output %q cap %d: result %v, want %q", tc.out, tc.cap, r.Result, tc.want)
		}
	}
	// The tail buffer on its own, with many writes.
	tb := &tailBuffer{max: 5}
	for _, s := range []string{"ab", "cdefg", "h", "ij\n"} {
		_, _ = tb.Write([]byte(s))
	}
	if got := tb.result(4); got != "ghij" {
		t.Errorf("tail result %q", got)
	}
}

func TestOversizedResultWithoutOffloadFails(t *testing.T) {
	h := newHarness(t)
	h.spec(Spec{CaptureResult: true})
	code := h.run("run", "--", "sh", "-c", `i=0; while [ $i -lt 500 ]; do printf 0123456789; i=$((i+1)); done`)
	if code == 0 {
		t.Fatal("a 5000-byte result fit in a termination message?")
	}
	r := h.result()
	if exitCodeOf(t, r) != 0 {
		t.Errorf("command exit code %d", *r.ExitCode)
	}
	for _, want := range []string{"bytes", "4 KiB", "artifact repositor"} {
		if !strings.Contains(r.Message, want) {
			t.Errorf("message %q lacks %q", r.Message, want)
		}
	}
}

func TestSignalIsForwarded(t *testing.T) {
	h := newHarness(t)
	h.spec(Spec{})
	ready := h.path("ready")
	go func() {
		for i := 0; i < 500; i++ {
			if _, err := os.Stat(ready); err == nil {
				h.signals <- syscall.SIGTERM
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	start := time.Now()
	code := h.run("run", "--", "sh", "-c", `trap 'echo got-term; exit 7' TERM; touch "$ROOT/ready"; while :; do sleep 0.05; done`)
	if code != 7 {
		t.Fatalf("exit %d, want 7 (stdout %q)", code, h.stdout)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("too slow")
	}
	if !strings.Contains(h.stdout.String(), "got-term") {
		t.Fatalf("stdout %q", h.stdout)
	}
}

func TestKilledBySignalReports128PlusN(t *testing.T) {
	h := newHarness(t)
	h.spec(Spec{})
	if code := h.run("run", "--", "sh", "-c", "kill -9 $$"); code != 137 {
		t.Fatalf("exit %d, want 137", code)
	}
	if r := h.result(); exitCodeOf(t, r) != 137 {
		t.Fatalf("result %+v", r)
	}
}

func TestCredentialsAreHiddenFromTheCommand(t *testing.T) {
	h := newHarness(t)
	h.spec(Spec{Offload: &Location{S3: &S3Location{Endpoint: "x", Bucket: "b", Key: "k", AccessKeyEnv: "AK", SecretKeyEnv: "SK"}}, CaptureResult: true})
	if code := h.run("run", "--", "sh", "-c", `echo "${AK:-none}${SK:-none}"`); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if r := h.result(); *r.Result != "nonenone" {
		t.Fatalf("the command saw the credentials: %q", *r.Result)
	}
}

func TestSidecarStopsWhenMainIsDone(t *testing.T) {
	h := newHarness(t)
	go func() {
		time.Sleep(100 * time.Millisecond)
		_ = h.o.writeDone("main", 0)
	}()
	start := time.Now()
	if code := h.run("run", "--role", "sidecar", "--container", "side", "--", "sleep", "30"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("sidecar took %s to stop", d)
	}
}

func TestSidecarIgnoringTermIsKilled(t *testing.T) {
	h := newHarness(t)
	if err := h.o.writeDone("main", 1); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if code := h.run("run", "--role", "sidecar", "--", "sh", "-c", `trap '' TERM; sleep 30`); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if d := time.Since(start); d < h.o.KillGrace || d > 5*time.Second {
		t.Fatalf("stopped after %s, want about %s", d, h.o.KillGrace)
	}
}

func TestSidecarEndingByItself(t *testing.T) {
	h := newHarness(t)
	if code := h.run("run", "--role", "sidecar", "--", "sh", "-c", "exit 4"); code != 4 {
		t.Fatalf("exit %d, want 4", code)
	}
}

func TestInitRolePassesExitCode(t *testing.T) {
	h := newHarness(t)
	if code := h.run("run", "--role", "init", "--container", "setup", "--", "sh", "-c", "echo init; exit 5"); code != 5 {
		t.Fatalf("exit %d", code)
	}
	if h.stdout.String() != "init\n" {
		t.Fatalf("stdout %q", h.stdout)
	}
	if code := h.run("run", "--role", "init", "--", "/nonexistent/cmd"); code != 127 {
		t.Fatalf("exit %d, want 127", code)
	}
}

func TestContainerSetRunsInDependencyOrder(t *testing.T) {
	h := newHarness(t)
	h.spec(Spec{
		CaptureResult: true,
		Dependencies:  map[string][]string{"b": {"a"}, "main": {"b"}},
		Outputs:       Outputs{Parameters: []OutputParameter{{Name: "order", Path: h.path("order")}}},
	})
	order := `echo "$0" >> "$ROOT/order"`
	names := []string{"main", "b", "a"} // started in reverse on purpose
	codes := make(map[string]int)
	var mu sync.Mutex
	var wg sync.WaitGroup
	cs := map[string]*harness{}
	for _, n := range names {
		cs[n] = h.container(n)
	}
	for _, n := range names {
		wg.Add(1)
		go func(n string) {
			defer wg.Done()
			code := cs[n].run("run", "--role", "set", "--container", n, "--", "sh", "-c", order+"; echo out-"+n, n)
			mu.Lock()
			codes[n] = code
			mu.Unlock()
		}(n)
	}
	wg.Wait()
	for _, n := range names {
		if codes[n] != 0 {
			t.Fatalf("%s exited %d: %s", n, codes[n], cs[n].stderr)
		}
		if got := h.done(n); got != "0" {
			t.Errorf("done file of %s holds %q", n, got)
		}
	}
	r := cs["main"].result()
	if v, _ := param(r, "order"); v != "a\nb\nmain" {
		t.Fatalf("order %q", v)
	}
	if r.Result == nil || *r.Result != "out-main" {
		t.Fatalf("main result %v", r.Result)
	}
	// Members other than main report only their exit code.
	if rb := cs["b"].result(); exitCodeOf(t, rb) != 0 || rb.Result != nil || rb.Parameters != nil {
		t.Fatalf("b reported outputs: %+v", rb)
	}
}

func TestContainerSetFailedDependency(t *testing.T) {
	h := newHarness(t)
	h.spec(Spec{Dependencies: map[string][]string{"main": {"a"}}})
	a, m := h.container("a"), h.container("main")
	if code := a.run("run", "--role", "set", "--container", "a", "--", "sh", "-c", "exit 2"); code != 2 {
		t.Fatalf("a exited %d", code)
	}
	code := m.run("run", "--role", "set", "--container", "main", "--", "sh", "-c", `touch "$ROOT/ran"`)
	if code == 0 {
		t.Fatal("main ran although its dependency failed")
	}
	if _, err := os.Stat(h.path("ran")); err == nil {
		t.Fatal("main's command ran")
	}
	r := m.result()
	if r.ExitCode != nil || !strings.Contains(r.Message, `"a"`) || !strings.Contains(r.Message, "exit code 2") {
		t.Fatalf("result %+v", r)
	}
	if h.done("main") == "0" {
		t.Fatal("main's done file says success")
	}
}

func TestInitCopiesTheBinary(t *testing.T) {
	h := newHarness(t)
	src := h.path("agent-binary")
	if err := os.WriteFile(src, []byte("#!/bin/sh\necho binary\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.o.Executable = func() (string, error) { return src, nil }
	if code := h.run("init"); code != 0 {
		t.Fatalf("exit %d: %s", code, h.stderr)
	}
	dst := filepath.Join(h.o.Dir, "argolite-agent")
	fi, err := os.Stat(dst)
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("binary: %v %v", fi, err)
	}
	if data, _ := os.ReadFile(dst); string(data) != "#!/bin/sh\necho binary\n" {
		t.Fatalf("copied %q", data)
	}
	if fi, err := os.Stat(filepath.Join(h.o.Dir, "done")); err != nil || fi.Mode().Perm() != 0o777 {
		t.Fatalf("done dir: %v %v", fi, err)
	}
}

func TestBadInvocations(t *testing.T) {
	h := newHarness(t)
	for _, args := range [][]string{
		nil,
		{"frobnicate"},
		{"run", "--role", "boss", "--", "true"},
		{"run", "--role", "set", "--", "true"},
		{"init", "extra"},
		{"resource", "extra"},
	} {
		if code := h.run(args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	// A main container without a readable spec fails with a message.
	if code := h.run("run", "--", "true"); code == 0 {
		t.Fatal("ran without a spec")
	}
	if r := h.result(); !strings.Contains(r.Message, "spec") {
		t.Fatalf("message %q", r.Message)
	}
	// A spec that is not JSON.
	h.spec(Spec{})
	if err := os.WriteFile(h.o.SpecFile, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := h.run("run", "--", "true"); code == 0 {
		t.Fatal("ran with a broken spec")
	}
	if r := h.result(); !strings.Contains(r.Message, "not valid JSON") {
		t.Fatalf("message %q", r.Message)
	}
}

func TestMessageIsClipped(t *testing.T) {
	long := strings.Repeat("é", 2000)
	got := clip(long, 100)
	if len(got) > 100 || !strings.HasSuffix(got, "(truncated)") {
		t.Fatalf("clip gave %d bytes: %q", len(got), got)
	}
	if !json.Valid([]byte(`"` + got + `"`)) {
		t.Fatal("clip split a UTF-8 sequence")
	}
}

func TestMessageLimitFollowsTheContainerCount(t *testing.T) {
	for n, want := range map[int]int{0: 4096, 1: 4096, 2: 4096, 3: 4096, 4: 3072, 6: 2048} {
		if got := MessageLimitFor(n); got != want {
			t.Errorf("MessageLimitFor(%d) = %d, want %d", n, got, want)
		}
	}
	h := newHarness(t)
	h.spec(Spec{CaptureResult: true, MessageLimit: MessageLimitFor(4)})
	// 3500 bytes fit in 4 KiB but not in the 3 KiB of a four-container Pod.
	code := h.run("run", "--", "sh", "-c", `i=0; while [ $i -lt 350 ]; do printf 0123456789; i=$((i+1)); done`)
	if code == 0 {
		t.Fatal("a 3500-byte result passed a 3072-byte limit")
	}
	data, _ := os.ReadFile(h.o.TerminationLog)
	if len(data) > 3072 || !strings.Contains(string(data), "3 KiB") {
		t.Fatalf("%d bytes: %s", len(data), data)
	}
}

func TestContainerSetMembersShareInputs(t *testing.T) {
	h := newHarness(t)
	raw := "shared\n"
	h.spec(Spec{
		Dependencies: map[string][]string{"main": {"a"}},
		Inputs:       []InputArtifact{{Name: "in", Path: h.path("in/file"), Location: Location{Raw: &raw}}},
	})
	a, m := h.container("a"), h.container("main")
	if code := a.run("run", "--role", "set", "--container", "a", "--", "sh", "-c", `cat "$ROOT/in/file" > "$ROOT/seen-a"`); code != 0 {
		t.Fatalf("a exited %d: %s", code, a.stderr)
	}
	if code := m.run("run", "--role", "set", "--container", "main", "--", "sh", "-c", `cat "$ROOT/in/file" > "$ROOT/seen-main"`); code != 0 {
		t.Fatalf("main exited %d: %s", code, m.stderr)
	}
	for _, f := range []string{"seen-a", "seen-main"} {
		if got, _ := os.ReadFile(h.path(f)); string(got) != raw {
			t.Errorf("%s saw %q", f, got)
		}
	}
}
