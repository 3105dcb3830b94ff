package exec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/term"
)

// runMain runs the command of a main container or of a container-set
// member and reports its outcome.
func (o Options) runMain(role Role, container string, argv []string) int {
	sigs, stop := o.notify()
	defer stop()
	r := newRouter(sigs)
	defer r.close()
	ctx := r.ctx

	spec, err := o.readSpec()
	if err != nil {
		return o.report(context.Background(), container, nil, Result{Message: err.Error()}, 1)
	}
	// Only the step's main container collects outputs; in a container set
	// that is the member named main.
	collect := role == RoleMain || container == MainContainer

	if role == RoleSet {
		if msg, code := o.waitDependencies(ctx, spec, container); msg != "" {
			o.logf("%s", msg)
			return o.report(context.Background(), container, spec, Result{Message: msg}, code)
		}
	}
	if err := o.downloadInputs(ctx, spec.Inputs, role == RoleSet); err != nil {
		if s := r.signal(); s != nil {
			err = fmt.Errorf("stopped by %v while downloading input artifacts", s)
		}
		o.logf("%v", err)
		return o.report(context.Background(), container, spec, Result{Message: err.Error()}, 1)
	}
	if spec.Script != nil && collect {
		path, err := o.writeScript(spec.Script.Source)
		if err != nil {
			return o.report(context.Background(), container, spec, Result{Message: err.Error()}, 1)
		}
		argv = append(argv, path)
	}
	if s := r.signal(); s != nil {
		return o.report(context.Background(), container, spec,
			Result{Message: fmt.Sprintf("stopped by %v before the command started", s)}, 128+sigNum(s))
	}

	// Wire stdout: passed through, captured for outputs.result, and teed
	// with stderr into the log file when logs are archived.
	var (
		stdout io.Writer = lenient{o.Stdout}
		stderr io.Writer = lenient{o.Stderr}
		tail   *tailBuffer
		logw   *lockedFile
	)
	capture := collect && (spec.CaptureResult || spec.Script != nil)
	resultCap := spec.ResultCap
	if resultCap <= 0 {
		resultCap = DefaultResultCap
	}
	if capture {
		tail = &tailBuffer{max: resultCap + 1} // +1: the newline Argo trims
		stdout = io.MultiWriter(stdout, tail)
	}
	var logPath string
	if collect && spec.Logs != nil {
		logPath = filepath.Join(o.Dir, "logs", container+".log")
		f, err := createFile(logPath)
		if err != nil {
			o.logf("cannot archive the log: %v", err)
		} else {
			logw = &lockedFile{f: f}
			stdout = io.MultiWriter(stdout, logw)
			stderr = io.MultiWriter(stderr, logw)
		}
	}

	code, startErr := o.runChild(r, argv, childEnv(o.Environ(), spec), stdout, stderr)
	r.forward(nil) // from now on a signal must not interrupt the uploads
	if logw != nil {
		_ = logw.f.Close()
	}
	res := Result{ExitCode: &code}
	if startErr != nil {
		o.logf("%v", startErr)
		res.Message = startErr.Error()
		return o.report(context.Background(), container, spec, res, code)
	}
	if !collect {
		return o.report(context.Background(), container, spec, res, code)
	}

	// Collect outputs even when the command failed (artifacts help to
	// debug it), but let its exit code speak for the failure then.
	bg := context.Background()
	var problems []string
	if tail != nil {
		s := tail.result(resultCap)
		res.Result = &s
	}
	params, errs := collectParameters(spec.Outputs.Parameters)
	res.Parameters = params
	problems = append(problems, errs...)
	arts, errs := o.uploadOutputs(bg, spec.Outputs.Artifacts)
	res.Artifacts = arts
	problems = append(problems, errs...)
	if logw != nil {
		if err := o.put(bg, *spec.Logs, logPath); err != nil {
			problems = append(problems, fmt.Sprintf("archiving the log of container %q to %s: %v", container, describe(*spec.Logs), err))
		} else {
			loc := *spec.Logs
			res.Artifacts = append(res.Artifacts, ArtifactResult{Name: container + "-logs", Location: &loc})
		}
	}
	for _, p := range problems {
		o.logf("%s", p)
	}
	exit := code
	if len(problems) > 0 && code == 0 {
		res.Message = strings.Join(problems, "; ")
		exit = 1
	}
	return o.report(bg, container, spec, res, exit)
}

// runSidecar runs a sidecar until it ends or the main container is done.
func (o Options) runSidecar(container string, argv []string) int {
	sigs, stop := o.notify()
	defer stop()
	r := newRouter(sigs)
	defer r.close()
	c, err := o.startChild(argv, o.Environ(), lenient{o.Stdout}, lenient{o.Stderr})
	if err != nil {
		o.logf("%v", err)
		return startCode(err)
	}
	r.forward(c.signal)
	exited := make(chan int, 1)
	go func() { exited <- c.wait() }()

	done := filepath.Join(o.Dir, "done", MainContainer)
	tick := time.NewTicker(o.PollInterval)
	defer tick.Stop()
	for {
		select {
		case code := <-exited:
			return code
		case <-tick.C:
			if _, err := os.Stat(done); err != nil {
				continue
			}
			c.signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(o.KillGrace):
				o.logf("sidecar %s did not stop %s after SIGTERM: killing it", container, o.KillGrace)
				c.signal(syscall.SIGKILL)
				<-exited
			}
			return 0
		}
	}
}

// runInit runs a user's init container as it is.
func (o Options) runInit(_ string, argv []string) int {
	sigs, stop := o.notify()
	defer stop()
	r := newRouter(sigs)
	defer r.close()
	code, err := o.runChild(r, argv, o.Environ(), lenient{o.Stdout}, lenient{o.Stderr})
	if err != nil {
		o.logf("%v", err)
	}
	return code
}

// waitDependencies waits for the done files of a container-set member's
// dependencies. It returns a message and exit code when one failed or a
// signal came first.
func (o Options) waitDependencies(ctx context.Context, spec *Spec, container string) (string, int) {
	for _, dep := range spec.Dependencies[container] {
		path := filepath.Join(o.Dir, "done", dep)
		for {
			if data, err := os.ReadFile(path); err == nil {
				if code, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
					if code != 0 {
						return fmt.Sprintf("container %q did not run: its dependency %q failed with exit code %d", container, dep, code), 1
					}
					break
				}
			}
			select {
			case <-ctx.Done():
				return fmt.Sprintf("container %q was stopped while waiting for its dependency %q", container, dep), 143
			case <-time.After(o.PollInterval):
			}
		}
	}
	return "", 0
}

// writeScript writes a script template's source to Dir/script.
func (o Options) writeScript(source string) (string, error) {
	path := filepath.Join(o.Dir, filepath.Base(ScriptFile))
	if err := writeFileAtomic(path, []byte(source), 0o755); err != nil {
		return "", fmt.Errorf("writing the script source to %s: %w", path, err)
	}
	return path, nil
}

// child is a started command.
type child struct {
	cmd   *exec.Cmd
	group bool // the command leads its own process group
}

// startChild starts argv with its own process group (unless stdin is a
// terminal), so that signals reach the whole tree.
func (o Options) startChild(argv []string, env []string, stdout, stderr io.Writer) (*child, error) {
	if len(argv) == 0 || argv[0] == "" {
		return nil, &startError{code: 127, msg: "no command to run: the container needs a command (the wrapper cannot read the image's entrypoint)"}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdin = o.Stdin
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.WaitDelay = o.WaitDelay
	c := &child{cmd: cmd}
	if f, ok := o.Stdin.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		c.group = true
	}
	if err := cmd.Start(); err != nil {
		return nil, classifyStart(argv[0], err)
	}
	return c, nil
}

// signal sends s to the command (its process group when it has one).
func (c *child) signal(s os.Signal) {
	if c.cmd.Process == nil {
		return
	}
	if sig, ok := s.(syscall.Signal); ok && c.group {
		if err := syscall.Kill(-c.cmd.Process.Pid, sig); err == nil {
			return
		}
	}
	_ = c.cmd.Process.Signal(s)
}

// wait waits for the command and returns its exit code (128+N when killed
// by signal N).
func (c *child) wait() int {
	err := c.cmd.Wait()
	if ps := c.cmd.ProcessState; ps != nil {
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ps.ExitCode()
	}
	if err != nil {
		return 1
	}
	return 0
}

// runChild starts argv, forwards signals to it and returns its exit code.
// A command that cannot start gives 127 or 126 and an error naming it.
func (o Options) runChild(r *router, argv, env []string, stdout, stderr io.Writer) (int, error) {
	c, err := o.startChild(argv, env, stdout, stderr)
	if err != nil {
		return startCode(err), err
	}
	r.forward(c.signal)
	if s := r.signal(); s != nil { // arrived before the command started
		c.signal(s)
	}
	return c.wait(), nil
}

// startError is a command that could not start.
type startError struct {
	code int
	msg  string
}

func (e *startError) Error() string { return e.msg }

func startCode(err error) int {
	var se *startError
	if errors.As(err, &se) {
		return se.code
	}
	return 127
}

func classifyStart(name string, err error) error {
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, os.ErrNotExist):
		where := "on PATH"
		if strings.Contains(name, "/") {
			where = "in the image"
		}
		return &startError{code: 127, msg: fmt.Sprintf("command %q not found %s: check the template's command and the image", name, where)}
	case errors.Is(err, os.ErrPermission):
		return &startError{code: 126, msg: fmt.Sprintf("command %q is not executable (permission denied): make it executable in the image or run it through a shell", name)}
	case errors.Is(err, syscall.ENOEXEC):
		return &startError{code: 126, msg: fmt.Sprintf("command %q is not a valid executable for this platform (exec format error)", name)}
	default:
		return &startError{code: 126, msg: fmt.Sprintf("command %q could not start: %v", name, err)}
	}
}

func sigNum(s os.Signal) int {
	if sig, ok := s.(syscall.Signal); ok {
		return int(sig)
	}
	return int(syscall.SIGTERM)
}

// childEnv is the wrapper's environment without the artifact credentials
// the spec names: the user's command does not need them.
func childEnv(env []string, spec *Spec) []string {
	hide := map[string]bool{}
	add := func(l *Location) {
		if l != nil && l.S3 != nil {
			if l.S3.AccessKeyEnv != "" {
				hide[l.S3.AccessKeyEnv] = true
			}
			if l.S3.SecretKeyEnv != "" {
				hide[l.S3.SecretKeyEnv] = true
			}
		}
	}
	for i := range spec.Inputs {
		add(&spec.Inputs[i].Location)
	}
	for i := range spec.Outputs.Artifacts {
		add(&spec.Outputs.Artifacts[i].Location)
	}
	add(spec.Offload)
	add(spec.Logs)
	if len(hide) == 0 {
		return env
	}
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !hide[name] {
			out = append(out, kv)
		}
	}
	return out
}

// router sends the signals the wrapper receives to the command once it
// runs; before that, a signal cancels the router's context.
type router struct {
	ctx    context.Context
	cancel context.CancelFunc
	stop   chan struct{}
	once   sync.Once

	mu     sync.Mutex
	target func(os.Signal)
	got    os.Signal
	after  bool // the command ended: drop signals
}

func newRouter(sigs <-chan os.Signal) *router {
	ctx, cancel := context.WithCancel(context.Background())
	r := &router{ctx: ctx, cancel: cancel, stop: make(chan struct{})}
	go func() {
		for {
			select {
			case <-r.stop:
				return
			case s := <-sigs:
				r.mu.Lock()
				t, after := r.target, r.after
				if t == nil && !after && r.got == nil {
					r.got = s
				}
				r.mu.Unlock()
				switch {
				case t != nil:
					t(s)
				case !after:
					cancel()
				}
			}
		}
	}()
	return r
}

// forward sends later signals to f; nil drops them (the command ended).
func (r *router) forward(f func(os.Signal)) {
	r.mu.Lock()
	r.target = f
	if f == nil {
		r.after = true
	}
	r.mu.Unlock()
}

// signal is the first signal received before a target was set.
func (r *router) signal() os.Signal {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got
}

func (r *router) close() {
	r.once.Do(func() {
		close(r.stop)
		r.cancel()
	})
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	if n >= t.max {
		t.buf = append(t.buf[:0], p[n-t.max:]...)
		return n, nil
	}
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		if cap(t.buf) > 4*t.max {
			t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
		} else {
			t.buf = t.buf[len(t.buf)-t.max:]
		}
	}
	return n, nil
}

// result is outputs.result as Argo makes it: stdout with one trailing
// newline trimmed, then only its last capBytes bytes.
func (t *tailBuffer) result(capBytes int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := string(t.buf)
	out = strings.TrimSuffix(out, "\n")
	if len(out) > capBytes {
		out = out[len(out)-capBytes:]
	}
	return out
}

// lenient passes writes through and ignores their errors, so that a closed
// stdout never stops the command's output from being captured.
type lenient struct{ w io.Writer }

func (l lenient) Write(p []byte) (int, error) {
	_, _ = l.w.Write(p)
	return len(p), nil
}

// lockedFile serialises the writes of stdout and stderr into one log.
type lockedFile struct {
	mu sync.Mutex
	f  *os.File
}

func (l *lockedFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.f.Write(p)
	return len(p), nil
}
