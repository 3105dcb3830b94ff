package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/tools/clientcmd"
)

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:6443
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: secret
contexts:
- name: local
  context: {cluster: local, user: admin}
- name: other
  context: {cluster: local, user: admin}
current-context: local
`

func writeKubeconfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func configFlags(t *testing.T, path, context string) *genericclioptions.ConfigFlags {
	t.Helper()
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBECACHEDIR", t.TempDir())
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &path
	if context != "" {
		flags.Context = &context
	}
	return flags
}

func TestNewClients(t *testing.T) {
	path := writeKubeconfig(t, kubeconfig)
	tests := []struct {
		name        string
		context     string
		wantContext string
	}{
		{name: "current context", wantContext: "local"},
		{name: "--context", context: "other", wantContext: "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClients(configFlags(t, path, tt.context), &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if c.Server != "https://127.0.0.1:6443" || c.Context != tt.wantContext {
				t.Errorf("Server, Context = %q, %q; want https://127.0.0.1:6443, %q", c.Server, c.Context, tt.wantContext)
			}
			if c.Client == nil || c.Mapper == nil || c.Kube == nil {
				t.Errorf("NewClients left a client nil: %+v", c)
			}
		})
	}
}

func TestNewClientsExplainsBadConfig(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		context string
		want    string
	}{
		{name: "no cluster configured", path: writeKubeconfig(t, "apiVersion: v1\nkind: Config\n"), want: "no Kubernetes cluster is configured"},
		{name: "unknown context", path: writeKubeconfig(t, kubeconfig), context: "nope", want: `cannot use the kubeconfig: context "nope" does not exist`},
		{name: "missing file", path: filepath.Join(t.TempDir(), "absent"), want: "cannot use the kubeconfig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewClients(configFlags(t, tt.path, tt.context), &bytes.Buffer{})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("NewClients error = %v, want a *cli.Error", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "KUBECONFIG") {
				t.Errorf("NewClients error = %q, want it to contain %q and name KUBECONFIG", err, tt.want)
			}
		})
	}
}

func TestExplainConfigEmpty(t *testing.T) {
	err := explainConfig(clientcmd.ErrEmptyConfig)
	if !errors.Is(err, clientcmd.ErrEmptyConfig) || !strings.HasPrefix(err.Error(), "no Kubernetes cluster is configured") {
		t.Errorf("explainConfig(ErrEmptyConfig) = %v", err)
	}
}

func TestNewScheme(t *testing.T) {
	s, err := NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"Pod", "Deployment", "Lease", "CustomResourceDefinition", "Application"} {
		found := false
		for gvk := range s.AllKnownTypes() {
			if gvk.Kind == kind {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("scheme lacks %s", kind)
		}
	}
}
