package version

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/spf13/cobra"

	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/plugin/clitest"
	"github.com/argolite/argolite/shared/agentmeta"
	buildversion "github.com/argolite/argolite/shared/version"
)

func setVersion(t *testing.T, v string) {
	t.Helper()
	old := buildversion.Version
	buildversion.Version = v
	t.Cleanup(func() { buildversion.Version = old })
}

func pod(name, version string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: agentmeta.Namespace, Name: name,
		Labels: map[string]string{agentmeta.ComponentLabel: agentmeta.Name}}}
	if version != "" {
		p.Annotations = map[string]string{agentmeta.VersionAnnotation: version}
	}
	return p
}

var agentDeployment = &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: agentmeta.Namespace, Name: agentmeta.Name}}

// run executes the command line args with clients injected.
func run(t *testing.T, clients *cli.Clients, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	r := clitest.Run(t, func(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
		o := NewOptions(flags, streams)
		o.Clients = clients
		return newCmd(o)
	}, args...)
	return r.Out, r.ErrOut, r.Err
}

func TestVersionText(t *testing.T) {
	setVersion(t, "v0.2.0")
	tests := []struct {
		name       string
		objs       []client.Object
		args       []string
		wantOut    string
		wantErrOut string
	}{
		{
			name:    "client only",
			args:    []string{"--client"},
			wantOut: "Client: v0.2.0 (commit",
		},
		{
			name:    "not installed",
			wantOut: "Kubernetes: " + clitest.ServerVersion + "\nAgent: not installed in this cluster (run kubectl argo install)\n",
		},
		{
			name:    "installed without replicas",
			objs:    []client.Object{agentDeployment},
			wantOut: "Agent: installed, but no replica is running (see kubectl argo status)\n",
		},
		{
			name:    "same version",
			objs:    []client.Object{agentDeployment, pod("a", "v0.2.0"), pod("b", "v0.2.0")},
			wantOut: "Agent: v0.2.0 (2 replicas)\n",
		},
		{
			name:       "skew and an unreported replica",
			objs:       []client.Object{agentDeployment, pod("a", "v0.2.0"), pod("b", "v0.1.0"), pod("c", "")},
			wantOut:    "Agent: v0.1.0 (1 replica), v0.2.0 (1 replica), unknown (1 replica not reported yet)\n",
			wantErrOut: "Warning: the agent runs v0.1.0, v0.2.0 but this plugin is v0.2.0: run kubectl argo install",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var clients *cli.Clients // --client must not need any
			if len(tt.args) == 0 {
				clients = clitest.NewClients(t, tt.objs...)
			}
			out, errOut, err := run(t, clients, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(out, "Client: v0.2.0 (commit") || !strings.Contains(out, tt.wantOut) {
				t.Errorf("output:\n%s\nwant it to start with the client version and contain:\n%s", out, tt.wantOut)
			}
			if tt.wantErrOut == "" && errOut != "" || !strings.Contains(errOut, tt.wantErrOut) {
				t.Errorf("stderr = %q, want %q", errOut, tt.wantErrOut)
			}
			if len(tt.args) > 0 && strings.Contains(out, "Agent:") {
				t.Errorf("--client printed the agent: %s", out)
			}
		})
	}
}

func TestVersionJSON(t *testing.T) {
	setVersion(t, "v0.2.0")
	clients := clitest.NewClients(t, agentDeployment, pod("a", "v0.2.0"), pod("b", "v0.1.0"))
	out, _, err := run(t, clients, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("-o json printed invalid JSON: %v\n%s", err, out)
	}
	if r.Kind != "Version" || r.APIVersion != cli.ReportAPIVersion || r.Client.Version != "v0.2.0" || r.Kubernetes != clitest.ServerVersion {
		t.Errorf("report header = %+v", r)
	}
	if r.Agent == nil || !r.Agent.Installed || strings.Join(r.Agent.Versions, ",") != "v0.1.0,v0.2.0" || len(r.Agent.Replicas) != 2 {
		t.Errorf("agent = %+v, want installed with versions v0.1.0,v0.2.0 and 2 replicas", r.Agent)
	}
}

func TestVersionFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{args: []string{"-o", "wide"}, wantErr: `unknown output format "wide"`},
		{args: []string{"-o", "name"}, wantErr: `unknown output format "name"`},
		{args: []string{"extra"}, wantErr: `unknown command "extra"`},
		{args: []string{"--bogus"}, wantErr: "unknown flag: --bogus"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, _, err := run(t, clitest.NewClients(t), tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestVersionUnreachable(t *testing.T) {
	clients := clitest.NewClients(t)
	refused := &url.Error{Op: "Get", URL: clitest.Server + "/version", Err: &net.OpError{Op: "dial", Net: "tcp",
		Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	clients.Kube.(*kubefake.Clientset).PrependReactor("get", "version", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, refused
	})
	out, _, err := run(t, clients)
	if !strings.HasPrefix(out, "Client: ") || strings.Contains(out, "Agent:") {
		t.Errorf("output = %q, want only the client version", out)
	}
	var e *cli.Error
	if !errors.As(err, &e) || !strings.Contains(err.Error(), "cannot reach the Kubernetes API server at "+clitest.Server) {
		t.Errorf("error = %v, want a friendly unreachable error", err)
	}
}

func TestVersionForbidden(t *testing.T) {
	clients := clitest.NewClientsWith(t, interceptor.Funcs{
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			return apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New(`User "bob" cannot list resource "pods"`))
		},
	})
	_, _, err := run(t, clients)
	if err == nil || !strings.Contains(err.Error(), "permission denied") || !strings.Contains(err.Error(), cli.NeedsReadAccess) {
		t.Errorf("error = %v, want permission denied with the read-access fix", err)
	}
}

func TestVersionClientConfigError(t *testing.T) {
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	flags := genericclioptions.NewConfigFlags(false)
	missing := t.TempDir() + "/absent"
	flags.KubeConfig = &missing
	cmd := newCmd(NewOptions(flags, streams))
	cmd.SetArgs(nil)
	err := cmd.Execute()
	if !strings.HasPrefix(out.String(), "Client: ") {
		t.Errorf("output = %q, want the client version first", out)
	}
	if err == nil || !strings.Contains(err.Error(), "kubeconfig") {
		t.Errorf("error = %v, want the kubeconfig explained", err)
	}
}
