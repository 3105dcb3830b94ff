package exec

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/dynamic"
)

// Options are the paths, streams and clients the wrapper uses. Main uses
// DefaultOptions; tests point them at a temporary directory and fakes.
type Options struct {
	// Dir is the shared emptyDir (Dir): binary, script, done files, scratch.
	Dir string
	// SpecFile is the downward-API file holding the Spec JSON.
	SpecFile string
	// TerminationLog is where the Result is written.
	TerminationLog string
	// Binary is where init copies the executable (Dir/argolite-agent when empty).
	Binary string

	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads credentials and POD_NAMESPACE.
	Getenv func(string) string
	// Environ is the environment the command gets (minus the artifact
	// credentials the Spec names).
	Environ func() []string
	// Executable is the binary init copies.
	Executable func() (string, error)
	// Signals, when set, replaces the process's signal notifications.
	Signals <-chan os.Signal

	// PollInterval is how often done files are checked (100ms).
	PollInterval time.Duration
	// KillGrace is how long a sidecar gets between SIGTERM and SIGKILL (5s).
	KillGrace time.Duration
	// WaitDelay bounds how long the wrapper waits for the command's output
	// pipes after it exited (a background grandchild may hold them; 2s).
	WaitDelay time.Duration
	// HTTPClient fetches HTTP artifacts and carries S3 requests.
	HTTPClient *http.Client

	// KubeClients returns the clients of a resource template (in-cluster
	// config by default).
	KubeClients func() (dynamic.Interface, meta.RESTMapper, error)
	// Namespace is the Pod's namespace; empty reads $POD_NAMESPACE, then the
	// ServiceAccount's namespace file.
	Namespace string
	// ResourcePoll is how often a resource is checked against its
	// success and failure conditions (1s).
	ResourcePoll time.Duration
}

// DefaultOptions are the paths of a step Pod; $ARGOLITE_DIR,
// $ARGOLITE_SPEC_FILE and $ARGOLITE_TERMINATION_LOG override them.
func DefaultOptions() Options {
	o := Options{
		Dir:            Dir,
		SpecFile:       SpecFile,
		TerminationLog: TerminationLog,
		Stdin:          os.Stdin,
		Stdout:         os.Stdout,
		Stderr:         os.Stderr,
		Getenv:         os.Getenv,
		Environ:        os.Environ,
		Executable:     os.Executable,
	}
	if v := os.Getenv("ARGOLITE_DIR"); v != "" {
		o.Dir = v
	}
	if v := os.Getenv("ARGOLITE_SPEC_FILE"); v != "" {
		o.SpecFile = v
	}
	if v := os.Getenv("ARGOLITE_TERMINATION_LOG"); v != "" {
		o.TerminationLog = v
	}
	return o
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Dir == "" {
		o.Dir = d.Dir
	}
	if o.SpecFile == "" {
		o.SpecFile = d.SpecFile
	}
	if o.TerminationLog == "" {
		o.TerminationLog = d.TerminationLog
	}
	if o.Binary == "" {
		o.Binary = filepath.Join(o.Dir, filepath.Base(Binary))
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Environ == nil {
		o.Environ = os.Environ
	}
	if o.Executable == nil {
		o.Executable = os.Executable
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 100 * time.Millisecond
	}
	if o.KillGrace <= 0 {
		o.KillGrace = 5 * time.Second
	}
	if o.WaitDelay <= 0 {
		o.WaitDelay = 2 * time.Second
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Transport: http.DefaultTransport}
	}
	if o.KubeClients == nil {
		o.KubeClients = inClusterClients
	}
	if o.ResourcePoll <= 0 {
		o.ResourcePoll = time.Second
	}
	return o
}

const usage = `usage:
  argolite-agent exec init
  argolite-agent exec run [--role main|sidecar|init|set] [--container NAME] -- COMMAND [ARG...]
  argolite-agent exec resource`

// Main runs `argolite-agent exec ARGS...` in a step Pod and returns the
// process exit code.
func Main(args []string) int { return DefaultOptions().Main(args) }

// Main runs one exec subcommand with these options.
func (o Options) Main(args []string) int {
	o = o.withDefaults()
	if len(args) == 0 {
		fmt.Fprintln(o.Stderr, usage)
		return 2
	}
	switch args[0] {
	case "init":
		return o.initCmd(args[1:])
	case "run":
		return o.runCmd(args[1:])
	case "resource":
		return o.resourceCmd(args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(o.Stdout, usage)
		return 0
	default:
		o.logf("unknown exec subcommand %q: want init, run or resource\n%s", args[0], usage)
		return 2
	}
}

// runCmd parses `run` flags and dispatches on the role.
func (o Options) runCmd(args []string) int {
	fs := flag.NewFlagSet("exec run", flag.ContinueOnError)
	fs.SetOutput(o.Stderr)
	role := fs.String("role", string(RoleMain), "what the container does: main, sidecar, init or set")
	container := fs.String("container", "", "the container's name (done file, container-set dependencies)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	argv := fs.Args()
	name := *container
	switch Role(*role) {
	case RoleMain:
		if name == "" {
			name = MainContainer
		}
		return o.runMain(RoleMain, name, argv)
	case RoleSet:
		if name == "" {
			o.logf("exec run --role set needs --container NAME (the container-set member's name)")
			return 2
		}
		return o.runMain(RoleSet, name, argv)
	case RoleSidecar:
		return o.runSidecar(name, argv)
	case RoleInit:
		return o.runInit(name, argv)
	default:
		o.logf("unknown --role %q: want main, sidecar, init or set", *role)
		return 2
	}
}

// logf writes one short line to stderr.
func (o Options) logf(format string, args ...any) {
	fmt.Fprintf(o.Stderr, "argolite: "+format+"\n", args...)
}

// readSpec reads the Spec from the downward-API file. An empty file (the
// annotation is absent) is an empty Spec.
func (o Options) readSpec() (*Spec, error) {
	data, err := os.ReadFile(o.SpecFile)
	if err != nil {
		return nil, fmt.Errorf("reading the step spec %s: %w (the Pod must mount the downward-API volume %s showing annotation %s)",
			o.SpecFile, err, PodInfoVolumeName, AnnotationSpec)
	}
	spec := &Spec{}
	if strings.TrimSpace(string(data)) == "" {
		return spec, nil
	}
	if err := json.Unmarshal(data, spec); err != nil {
		return nil, fmt.Errorf("the step spec %s (annotation %s) is not valid JSON: %w", o.SpecFile, AnnotationSpec, err)
	}
	return spec, nil
}

// notify returns the signals to forward and a function that stops them.
func (o Options) notify() (<-chan os.Signal, func()) {
	if o.Signals != nil {
		return o.Signals, func() {}
	}
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
	return ch, func() { signal.Stop(ch) }
}

// initCmd copies the running binary to Binary, atomically and 0755, and
// prepares the done directory.
func (o Options) initCmd(args []string) int {
	if len(args) > 0 {
		o.logf("exec init takes no arguments, got %q", args)
		return 2
	}
	if err := o.install(); err != nil {
		o.logf("init: %v", err)
		return 1
	}
	return 0
}

func (o Options) install() error {
	src, err := o.Executable()
	if err != nil {
		return fmt.Errorf("finding the running binary: %w", err)
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("opening the running binary: %w", err)
	}
	defer in.Close()
	dir := filepath.Dir(o.Binary)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w (is the emptyDir volume %s mounted?)", dir, err, VolumeName)
	}
	tmp, err := os.CreateTemp(dir, ".argolite-agent-*")
	if err != nil {
		return fmt.Errorf("copying the binary into %s: %w", dir, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return fmt.Errorf("copying the binary to %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("copying the binary to %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), o.Binary); err != nil {
		return fmt.Errorf("installing the binary at %s: %w", o.Binary, err)
	}
	// Containers may run as other users: let every wrapper write its files.
	if err := mkdirShared(filepath.Join(o.Dir, "done")); err != nil {
		return err
	}
	return nil
}

// mkdirShared creates dir writable by every user (the containers of a Pod
// may run as different users).
func mkdirShared(dir string) error {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm() != 0o777 {
		_ = os.Chmod(dir, 0o777) // best effort: we may not own it
	}
	return nil
}
