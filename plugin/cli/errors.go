package cli

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/tools/clientcmd"
)

// Fixes for permission errors, by what the command needs.
const (
	// NeedsClusterAdmin is the fix when install or uninstall lacks rights.
	NeedsClusterAdmin = "installing and uninstalling argolite needs cluster-admin, because it manages CRDs, " +
		"ClusterRoles and the argolite-system namespace: use a --context with cluster-admin rights"
	// NeedsReadAccess is the fix when reading the agent's state lacks rights.
	NeedsReadAccess = "reading argolite's state needs get and list on pods, deployments and leases in " +
		"argolite-system and on customresourcedefinitions: ask a cluster administrator for them or use another --context"
)

// ErrNotInstalled is matched with errors.Is when argolite is not in the cluster.
var ErrNotInstalled = errors.New("argolite is not installed in this cluster")

// Error is a failure explained for a person: what went wrong, naming the
// object or server, and what to do about it.
type Error struct {
	Problem string
	Fix     string
	// Err is the underlying error, kept for errors.Is and errors.As.
	Err error
}

func (e *Error) Error() string {
	if e.Fix == "" {
		return e.Problem
	}
	return e.Problem + ": " + e.Fix
}

func (e *Error) Unwrap() error { return e.Err }

// NotInstalled is the error of commands that need argolite in the cluster.
func NotInstalled() error {
	return &Error{Problem: ErrNotInstalled.Error(), Fix: "run kubectl argo install", Err: ErrNotInstalled}
}

// Explain returns err as an *Error when it is one people commonly meet: no
// reachable cluster, rejected credentials, no permission (forbiddenFix says
// what to do about that in this command), or argolite's CRDs missing. Other
// errors come back unchanged.
func (c *Clients) Explain(err error, forbiddenFix string) error {
	var explained *Error
	if err == nil || errors.As(err, &explained) {
		return err
	}
	var status apierrors.APIStatus
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case apierrors.IsForbidden(err) && errors.As(err, &status):
		return &Error{Problem: "permission denied: " + status.Status().Message, Fix: forbiddenFix, Err: err}
	case apierrors.IsUnauthorized(err):
		return &Error{
			Problem: fmt.Sprintf("the API server at %s rejected your credentials%s", c.server(), c.context()),
			Fix:     "log in again or refresh the credentials in your kubeconfig",
			Err:     err,
		}
	case meta.IsNoMatchError(err):
		return &Error{Problem: ErrNotInstalled.Error() + " (" + err.Error() + ")", Fix: "run kubectl argo install",
			Err: errors.Join(ErrNotInstalled, err)}
	}
	if cause, ok := certificateProblem(err); ok {
		return &Error{
			Problem: fmt.Sprintf("cannot trust the API server at %s%s: %s", c.server(), c.context(), cause),
			Fix:     "check certificate-authority-data for this cluster in your kubeconfig",
			Err:     err,
		}
	}
	if cause, ok := unreachable(err); ok {
		return &Error{
			Problem: fmt.Sprintf("cannot reach the Kubernetes API server at %s%s: %s", c.server(), c.context(), cause),
			Fix:     "check that the cluster is running, or select another one with KUBECONFIG or --context",
			Err:     err,
		}
	}
	return err
}

func (c *Clients) server() string {
	if c == nil || c.Server == "" {
		return "(unknown server)"
	}
	return c.Server
}

func (c *Clients) context() string {
	if c == nil || c.Context == "" {
		return ""
	}
	return fmt.Sprintf(" (context %q)", c.Context)
}

// Rejected is the error of a write the API server refused as invalid: what
// names the object ("workflow team/build").
func Rejected(what string, err error) *Error {
	return &Error{Problem: fmt.Sprintf("the API server rejected %s: %v", what, APIMessage(err)),
		Fix: "fix the fields it names", Err: err}
}

// APIMessage is the API server's message of err without the Go type around it.
func APIMessage(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().Message
	}
	return err.Error()
}

// unreachable reports whether err means no API server answered, and the
// shortest message that says why: the dial error, not the whole URL.
func unreachable(err error) (string, bool) {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.Error(), true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return opErr.Error(), true
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return err.Error(), true
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return err.Error(), true
	}
	// Discovery and REST mapping flatten the error chain into text.
	msg := err.Error()
	for _, s := range []string{"connection refused", "no such host", "no route to host", "i/o timeout",
		"network is unreachable", "TLS handshake timeout", "connection reset by peer"} {
		if strings.Contains(msg, s) {
			return msg, true
		}
	}
	return "", false
}

func certificateProblem(err error) (string, bool) {
	var unknownAuthority x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var hostname x509.HostnameError
	switch {
	case errors.As(err, &unknownAuthority):
		return unknownAuthority.Error(), true
	case errors.As(err, &invalid):
		return invalid.Error(), true
	case errors.As(err, &hostname):
		return hostname.Error(), true
	}
	return "", false
}

// explainConfig explains a kubeconfig that cannot be loaded.
func explainConfig(err error) error {
	if clientcmd.IsEmptyConfig(err) {
		return &Error{
			Problem: "no Kubernetes cluster is configured",
			Fix:     "set KUBECONFIG, create ~/.kube/config, or pass --kubeconfig",
			Err:     err,
		}
	}
	return &Error{
		Problem: "cannot use the kubeconfig: " + err.Error(),
		Fix:     "fix it, or select another with KUBECONFIG, --kubeconfig or --context",
		Err:     err,
	}
}

// ExitError ends kubectl-argo with Code instead of 1, as `kubectl diff` exits 1 for differences and 2 for errors. A Silent one prints
// nothing, because the command's output already said it (app diff's
// differences); otherwise Err is printed as any error is.
type ExitError struct {
	Code   int
	Err    error
	Silent bool
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode is the process exit code.
func (e *ExitError) ExitCode() int { return e.Code }
