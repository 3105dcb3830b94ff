package clitest

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/argolite/argolite/plugin/cli"
)

// Namespace is the namespace of Kubeconfig's context.
const Namespace = "team"

// Now is the fixed clock of command tests.
var Now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Kubeconfig writes a kubeconfig whose context names namespace Namespace
// and user alice, and returns its path. Its server is Server, which fake
// clients report and nothing dials.
func Kubeconfig(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "`+Server+`"}}]
users: [{name: alice, user: {token: t}}]
contexts: [{name: ctx, context: {cluster: c, user: alice, namespace: `+Namespace+`}}]
current-context: ctx
`), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Use makes c use clients, the clock Now and a poll interval of a
// millisecond: the setup of a command under test.
func Use(c *cli.Common, clients *cli.Clients) {
	c.Clients = clients
	c.Now = func() time.Time { return Now }
	c.Interval = time.Millisecond
}

// NounCmd builds the command tree of a noun whose commands share
// cli.Common, setup adjusting each one's: the newCmd of such a noun.
type NounCmd func(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, setup func(*cli.Common)) *cobra.Command

// Faked is newCmd with every command's Common set up by Use with clients.
func Faked(newCmd NounCmd, clients *cli.Clients) NewCmd {
	return func(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
		return newCmd(flags, streams, func(c *cli.Common) { Use(c, clients) })
	}
}

// NewCmd builds the command under test from the kubeconfig flags and the
// streams, as a noun's NewCmd does.
type NewCmd func(*genericclioptions.ConfigFlags, genericiooptions.IOStreams) *cobra.Command

// Result is what one command run printed and returned.
type Result struct {
	Out, ErrOut string
	Err         error
}

// IO is what a run reads and where its stdout goes.
type IO struct {
	Stdin string
	// Stdout, when set, takes the command's stdout (a terminal, say);
	// Result.Out is empty then.
	Stdout io.Writer
}

// Run runs the command newCmd builds with args, as kubectl argo would: with
// the kubeconfig flags bound (the kubeconfig is Kubeconfig's), and neither
// usage nor error printed.
func Run(t testing.TB, newCmd NewCmd, args ...string) Result {
	t.Helper()
	return RunIO(t, IO{}, newCmd, args...)
}

// RunIO is Run with stdin and stdout from in.
func RunIO(t testing.TB, in IO, newCmd NewCmd, args ...string) Result {
	t.Helper()
	streams, stdin, out, errOut := genericiooptions.NewTestIOStreams()
	stdin.WriteString(in.Stdin)
	if in.Stdout != nil {
		streams.Out = in.Stdout
	}
	flags := genericclioptions.NewConfigFlags(false)
	*flags.KubeConfig = Kubeconfig(t)
	cmd := newCmd(flags, streams)
	flags.AddFlags(cmd.PersistentFlags())
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(args)
	cmd.SetOut(streams.Out)
	cmd.SetErr(errOut)
	err := cmd.ExecuteContext(context.Background())
	return Result{Out: out.String(), ErrOut: errOut.String(), Err: err}
}

// WantErr fails t unless err contains want, or unless err is nil when want
// is empty.
func WantErr(t testing.TB, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error:\n  %v\nwant it to contain:\n  %s", err, want)
	}
}

// WantOutput checks a run: its error as WantErr does, then, when no error
// is wanted, its stdout against want, both squeezed (see Squeeze).
func WantOutput(t testing.TB, r Result, wantErr, want string) {
	t.Helper()
	WantErr(t, r.Err, wantErr)
	if wantErr != "" {
		return
	}
	if got := Squeeze(r.Out); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}

// Squeeze joins the whitespace-separated fields of each line with one
// space, so that table tests do not depend on column widths.
func Squeeze(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}

// Completions are the completions a `__complete ...` run printed, one
// "name\tdescription" line each, without cobra's last line, ":directive".
// A run that failed or printed no directive fails t.
func Completions(t testing.TB, r Result) string {
	t.Helper()
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	i := strings.LastIndex(strings.TrimRight(r.Out, "\n"), "\n")
	if !strings.HasPrefix(r.Out[i+1:], ":") {
		t.Fatalf("no completion directive in %q", r.Out)
	}
	return r.Out[:i+1]
}

// ReadFile returns the content of the file name.
func ReadFile(t testing.TB, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
