package wf

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/plugin/clitest"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// exitCode is the exit code err asks for: 0 for none, 1 for a plain error.
func exitCode(err error) int {
	var exit *cli.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.Code
	}
	return 1
}

// noCluster fails the test on any request.
func noCluster(t *testing.T) interceptor.Funcs {
	return interceptor.Funcs{Get: func(_ context.Context, _ client.WithWatch, key client.ObjectKey, _ client.Object, _ ...client.GetOption) error {
		t.Errorf("lint asked the cluster for %v", key)
		return errors.New("no")
	}}
}

func TestLint(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		clients  func(t *testing.T) *cli.Clients
		wantCode int
		wantOut  []string
		wantErr  string
	}{
		{
			name:    "valid",
			args:    []string{"testdata/hello-world.yaml"},
			wantOut: []string{"✔ testdata/hello-world.yaml\n1 file linted, no errors\n"},
		},
		{
			name:     "errors of several files, grouped",
			args:     []string{"testdata/hello-world.yaml", "testdata/invalid.yaml", "testdata/cyclic-steps.yaml"},
			wantCode: 1,
			wantOut: []string{
				"✔ testdata/hello-world.yaml\n✖ testdata/invalid.yaml\n    spec.templates[1].container.imagePullPolicyy: ",
				"✖ testdata/cyclic-steps.yaml\n    spec.templates[0].steps[0][0].colour: ",
				"3 files linted, ",
			},
		},
		{
			name:     "simple",
			args:     []string{"testdata/cyclic-steps.yaml", "-o", "simple"},
			wantCode: 1,
			wantOut:  []string{"testdata/cyclic-steps.yaml: spec.templates[0].steps[0][0].colour: ", "1 file linted, "},
		},
		{
			name:     "template references resolve against the other files",
			args:     []string{"testdata/uses-template.yaml", "testdata/templates.yaml", "-o", "simple"},
			clients:  func(t *testing.T) *cli.Clients { return newClientsWith(t, noCluster(t)) },
			wantCode: 1,
			wantOut: []string{`testdata/uses-template.yaml: spec.templates[0].steps[0][1].templateRef.template: WorkflowTemplate "ci" has no template "deploy"`,
				"2 files linted, 1 error\n"},
		},
		{
			name: "then against the cluster",
			args: []string{"testdata/uses-template.yaml"},
			clients: func(t *testing.T) *cli.Clients {
				return newClients(t, &argov1.WorkflowTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ci"},
					Spec: argov1.WorkflowSpec{Templates: []argov1.Template{
						{Name: "build", Container: &corev1.Container{Image: "busybox"}},
						{Name: "deploy", Container: &corev1.Container{Image: "busybox"}}}}})
			},
			wantOut: []string{"1 file linted, no errors\n"},
		},
		{
			name:     "a template in neither",
			args:     []string{"testdata/uses-template.yaml", "-o", "simple"},
			wantCode: 1,
			wantOut:  []string{`spec.templates[0].steps[0][0].templateRef: WorkflowTemplate "ci": not found in the linted files or the cluster`},
		},
		{
			name:    "--offline leaves references to templates not in the files unchecked",
			args:    []string{"testdata/uses-template.yaml", "--offline"},
			clients: func(t *testing.T) *cli.Clients { return newClientsWith(t, noCluster(t)) },
			wantOut: []string{"✔ testdata/uses-template.yaml\n1 file linted, no errors\n"},
		},
		{
			name: "an unreachable cluster is offline",
			args: []string{"testdata/uses-template.yaml"},
			clients: func(t *testing.T) *cli.Clients {
				refused := &url.Error{Op: "Get", URL: "https://k8s.test", Err: &net.OpError{Op: "dial", Net: "tcp",
					Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
				return newClientsWith(t, interceptor.Funcs{Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
					return refused
				}})
			},
			wantOut: []string{"1 file linted, no errors\n"},
		},
		{name: "bad format", args: []string{"testdata/hello-world.yaml", "-o", "json"}, wantErr: `-o "json": use pretty or simple`},
		{name: "missing file", args: []string{"testdata/nope.yaml"}, wantErr: "testdata/nope.yaml: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clients := newClients(t)
			if tt.clients != nil {
				clients = tt.clients(t)
			}
			r := run(t, clients, append([]string{"lint"}, tt.args...)...)
			if tt.wantErr != "" {
				clitest.WantErr(t, r.Err, tt.wantErr)
				return
			}
			if code := exitCode(r.Err); code != tt.wantCode {
				t.Errorf("exit code %d (%v), want %d", code, r.Err, tt.wantCode)
			}
			for _, s := range tt.wantOut {
				if !strings.Contains(r.Out, s) {
					t.Errorf("output lacks %q:\n%s", s, r.Out)
				}
			}
		})
	}
}

func TestLintNotes(t *testing.T) {
	r := run(t, newClientsWith(t, noCluster(t)), "lint", "testdata/uses-template.yaml", "--offline")
	if want := "Note: 1 template reference not checked (--offline, and they are not in the linted files): workflowtemplate/ci\n"; r.ErrOut != want {
		t.Errorf("stderr %q, want %q", r.ErrOut, want)
	}
	r = run(t, newClientsWith(t, interceptor.Funcs{Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
		return &url.Error{Op: "Get", URL: "https://k8s.test", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	}}), "lint", "testdata/uses-template.yaml")
	if !strings.Contains(r.ErrOut, "Note: 1 template reference not checked (the cluster cannot be used (cannot reach the Kubernetes API server at https://fake.test:6443") {
		t.Errorf("stderr %q", r.ErrOut)
	}
}

func TestLintDirectoryAndStdin(t *testing.T) {
	r := run(t, newClients(t), "lint", "testdata", "-o", "simple")
	if exitCode(r.Err) != 1 || !strings.Contains(r.Out, "8 files linted, ") || strings.Contains(r.Out, "params.yaml: spec.arguments") {
		t.Errorf("exit %d, output:\n%s", exitCode(r.Err), r.Out)
	}
	r = runWith(t, newClients(t), nil, clitest.ReadFile(t, "testdata/cron.yaml"), "lint", "-")
	if r.Err != nil || r.Out != "✔ stdin\n1 file linted, no errors\n" {
		t.Errorf("stdin: %v\n%s", r.Err, r.Out)
	}
}
