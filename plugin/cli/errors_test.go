package cli

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestExplain(t *testing.T) {
	clients := &Clients{Server: "https://k8s.test:6443", Context: "prod"}
	refused := &url.Error{Op: "Get", URL: "https://k8s.test:6443/api/v1/pods", Err: &net.OpError{
		Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "",
		errors.New(`User "bob" cannot list resource "pods" in API group "" in the namespace "argolite-system"`))
	already := &Error{Problem: "p", Fix: "f"}

	tests := []struct {
		name         string
		err          error
		wantExplain  bool
		wantContains []string
		wantIs       error
	}{
		{name: "nil", err: nil},
		{name: "other errors pass through", err: errors.New("boom"), wantContains: []string{"boom"}},
		{name: "cancelled", err: fmt.Errorf("listing: %w", context.Canceled), wantIs: context.Canceled},
		{name: "already explained", err: already, wantExplain: true, wantContains: []string{"p: f"}},
		{
			name: "connection refused", err: fmt.Errorf("listing pods: %w", refused), wantExplain: true,
			wantContains: []string{"cannot reach the Kubernetes API server at https://k8s.test:6443", `(context "prod")`,
				"connection refused", "KUBECONFIG or --context"},
		},
		{
			name: "connection refused flattened into text", err: errors.New(`couldn't get resource list: Get "https://x": dial tcp: connect: connection refused`),
			wantExplain: true, wantContains: []string{"cannot reach"},
		},
		{
			name: "unknown host", err: &url.Error{Op: "Get", URL: "https://k8s.test", Err: &net.DNSError{Err: "no such host", Name: "k8s.test"}},
			wantExplain: true, wantContains: []string{"cannot reach", "no such host"},
		},
		{
			name: "forbidden names verb, resource and the fix", err: fmt.Errorf("Deployment/x/y dry-run failed: %w", forbidden),
			wantExplain: true, wantContains: []string{"permission denied", `cannot list resource "pods"`, NeedsClusterAdmin},
		},
		{
			name: "unauthorized", err: apierrors.NewUnauthorized("token expired"), wantExplain: true,
			wantContains: []string{"rejected your credentials", "https://k8s.test:6443", "log in again"},
		},
		{
			name: "CRD missing", err: &meta.NoKindMatchError{GroupKind: schema.GroupKind{Group: "argolite.dev", Kind: "Application"}},
			wantExplain: true, wantIs: ErrNotInstalled, wantContains: []string{"argolite is not installed", "kubectl argo install"},
		},
		{
			name: "untrusted certificate", err: &url.Error{Op: "Get", URL: "https://k8s.test", Err: x509.UnknownAuthorityError{}},
			wantExplain: true, wantContains: []string{"cannot trust the API server", "certificate-authority-data"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := clients.Explain(tt.err, NeedsClusterAdmin)
			if tt.err == nil {
				if got != nil {
					t.Fatalf("Explain(nil) = %v", got)
				}
				return
			}
			var e *Error
			if errors.As(got, &e) != tt.wantExplain {
				t.Fatalf("Explain(%v) = %T %v, explained = %v, want %v", tt.err, got, got, !tt.wantExplain, tt.wantExplain)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("Explain lost the original error from the chain: %v", got)
			}
			if tt.wantIs != nil && !errors.Is(got, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", got, tt.wantIs)
			}
			for _, s := range tt.wantContains {
				if !strings.Contains(got.Error(), s) {
					t.Errorf("Explain(...) = %q, want it to contain %q", got, s)
				}
			}
		})
	}
}

func TestExplainOnNilClients(t *testing.T) {
	var c *Clients
	got := c.Explain(errors.New("dial tcp 198.19.0.1:443: i/o timeout"), "")
	if !strings.Contains(got.Error(), "(unknown server)") {
		t.Errorf("Explain on nil clients = %q, want the server marked unknown", got)
	}
}

func TestNotInstalled(t *testing.T) {
	err := NotInstalled()
	if got, want := err.Error(), "argolite is not installed in this cluster: run kubectl argo install"; got != want {
		t.Errorf("NotInstalled() = %q, want %q", got, want)
	}
	if !errors.Is(err, ErrNotInstalled) {
		t.Error("NotInstalled() does not match ErrNotInstalled")
	}
}
