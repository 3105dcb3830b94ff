package root

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/argolite/argolite/plugin/cli"
)

func TestRun(t *testing.T) {
	// Port 1 refuses connections at once: the real clients fail fast.
	unreachable := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(unreachable, []byte(`apiVersion: v1
kind: Config
clusters: [{name: nowhere, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: nowhere, context: {cluster: nowhere, user: u}}]
current-context: nowhere
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cacheDir := t.TempDir()
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    []string
		wantErrOut string
	}{
		{name: "help shows the kubectl display name", args: []string{"--help"},
			wantOut: []string{"kubectl argo [command]", "install", "uninstall", "status", "version", "completion", "--context"}},
		{name: "subcommand help", args: []string{"install", "--help"}, wantOut: []string{"kubectl argo install [flags]", "--dry-run", "--replicas"}},
		{name: "client version needs no cluster", args: []string{"version", "--client"}, wantOut: []string{"Client: "}},
		{name: "bash completion", args: []string{"completion", "bash"}, wantOut: []string{"bash completion V2 for kubectl-argo"}},
		{name: "zsh completion", args: []string{"completion", "zsh"}, wantOut: []string{"#compdef kubectl-argo"}},
		{name: "fish completion", args: []string{"completion", "fish"}, wantOut: []string{"complete -c kubectl-argo"}},
		{name: "powershell completion", args: []string{"completion", "powershell"}, wantOut: []string{"Register-ArgumentCompleter"}},
		{name: "unknown shell", args: []string{"completion", "tcsh"}, wantCode: 1, wantErrOut: `error: invalid argument "tcsh" for "kubectl argo completion"`},
		{name: "no shell", args: []string{"completion"}, wantCode: 1, wantErrOut: "error: accepts 1 arg(s), received 0"},
		{name: "unknown flag points at help", args: []string{"install", "--bogus"}, wantCode: 1,
			wantErrOut: "error: unknown flag: --bogus\nSee 'kubectl argo install --help' for usage\n"},
		{name: "unknown command", args: []string{"sync"}, wantCode: 1, wantErrOut: `error: unknown command "sync" for "kubectl argo"`},
		{name: "kubeconfig errors are explained", args: []string{"status", "--kubeconfig", "/nonexistent"},
			wantCode: 1, wantErrOut: "error: cannot use the kubeconfig: stat /nonexistent"},
		{name: "flag values are checked before any request", args: []string{"install", "--replicas", "0", "--kubeconfig", unreachable},
			wantCode: 1, wantErrOut: "error: --replicas 0: the agent needs at least one replica\n"},
		{name: "unreachable cluster", args: []string{"status", "--kubeconfig", unreachable},
			wantCode: 1, wantErrOut: `error: cannot reach the Kubernetes API server at https://127.0.0.1:1 (context "nowhere")`},
		{name: "version prints the client before failing", args: []string{"version", "--kubeconfig", unreachable},
			wantCode: 1, wantOut: []string{"Client: "}, wantErrOut: "error: cannot reach the Kubernetes API server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KUBECACHEDIR", cacheDir)
			streams, _, out, errOut := genericiooptions.NewTestIOStreams()
			code := Run(context.Background(), streams, tt.args)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr: %s", code, tt.wantCode, errOut)
			}
			for _, s := range tt.wantOut {
				if !strings.Contains(out.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, out)
				}
			}
			if !strings.Contains(errOut.String(), tt.wantErrOut) || tt.wantErrOut == "" && errOut.Len() > 0 {
				t.Errorf("stderr = %q, want %q", errOut, tt.wantErrOut)
			}
			if tt.wantCode != 0 && strings.Contains(out.String(), "Usage:") {
				t.Errorf("usage printed after an error:\n%s", out)
			}
		})
	}
}

func TestPrintError(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{err: cli.NotInstalled(), want: "error: argolite is not installed in this cluster: run kubectl argo install\n"},
		{err: fmt.Errorf("waiting: %w", context.Canceled), want: "interrupted\n"},
		{err: errors.New("boom"), want: "error: boom\n"},
	}
	for _, tt := range tests {
		var b strings.Builder
		PrintError(&b, tt.err)
		if b.String() != tt.want {
			t.Errorf("PrintError(%v) = %q, want %q", tt.err, b.String(), tt.want)
		}
	}
}
