package git

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Error kinds. Every error from Resolve and Checkout that falls into one of
// these wraps it, so callers can test with errors.Is.
var (
	// ErrAuthentication: credentials are missing, wrong, or the server's
	// host key could not be verified.
	ErrAuthentication = errors.New("authentication failed")
	// ErrHostKey: the SSH server's host key is unknown or does not match
	// known_hosts. Errors of this kind also wrap ErrAuthentication.
	ErrHostKey = errors.New("SSH host key verification failed")
	// ErrRepositoryNotFound: the server has no repository at that URL.
	ErrRepositoryNotFound = errors.New("repository not found")
	// ErrRevisionNotFound: no branch, tag or commit matches the revision.
	ErrRevisionNotFound = errors.New("revision not found")
	// ErrUnreachable: the server could not be reached (DNS, refused, timeout).
	ErrUnreachable = errors.New("repository server unreachable")
	// ErrInvalidURL: the repository URL cannot be used.
	ErrInvalidURL = errors.New("invalid repository URL")
)

// gitError carries a message written for people (URL without credentials,
// cause, fix) while errors.Is/As still see the kind and the cause.
type gitError struct {
	msg   string
	kind  error
	cause error
}

func (e *gitError) Error() string { return e.msg }

func (e *gitError) Unwrap() []error {
	var errs []error
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

// newError builds an error for "git <op> <url>: <detail>" of the given kind.
func newError(op, url string, auth *Auth, kind, cause error, detail string) error {
	msg := fmt.Sprintf("git %s %s: %s", op, redactURL(url), detail)
	return &gitError{msg: scrub(msg, auth), kind: kind, cause: cause}
}

// scrub removes secret values from a message in case a library echoed them.
func scrub(msg string, auth *Auth) string {
	if auth != nil && len(auth.Password) >= 3 {
		msg = strings.ReplaceAll(msg, auth.Password, "<redacted>")
	}
	return msg
}

// unwrapGoGit strips go-git's wrappers that hide their cause from errors.Is.
func unwrapGoGit(err error) error {
	for {
		var ue *plumbing.UnexpectedError
		var pe *plumbing.PermanentError
		switch {
		case errors.As(err, &ue) && ue.Err != nil:
			err = ue.Err
		case errors.As(err, &pe) && pe.Err != nil:
			err = pe.Err
		default:
			return err
		}
	}
}

// classify maps an error from go-git to one of the package's kinds, with a
// message that says what to fix.
func classify(op, url string, auth *Auth, ssh bool, err error) error {
	if err == nil {
		return nil
	}
	var ge *gitError
	if errors.As(err, &ge) {
		return err
	}
	cause := unwrapGoGit(err)
	causeText := cause.Error()
	var keyErr *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	var netOp *net.OpError
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.Is(cause, context.Canceled):
		return newError(op, url, auth, nil, cause, "canceled")
	case errors.As(cause, &keyErr):
		if len(keyErr.Want) == 0 {
			return newError(op, url, auth, errors.Join(ErrAuthentication, ErrHostKey), cause,
				"SSH host key of the server is not in known_hosts: add the line `ssh-keyscan` prints for the host to known_hosts in the repository Secret")
		}
		return newError(op, url, auth, errors.Join(ErrAuthentication, ErrHostKey), cause,
			"SSH host key of the server does not match known_hosts: the server's key changed or this is not the expected server; update known_hosts in the repository Secret only if the change is expected")
	case strings.Contains(causeText, "no common algorithm for host key"):
		return newError(op, url, auth, errors.Join(ErrAuthentication, ErrHostKey), cause,
			"SSH host key of the server is of a type known_hosts has no entry for: add the line `ssh-keyscan` prints for the host to known_hosts in the repository Secret ("+causeText+")")
	case errors.As(cause, &revoked):
		return newError(op, url, auth, errors.Join(ErrAuthentication, ErrHostKey), cause,
			"SSH host key of the server is revoked in known_hosts")
	case errors.Is(cause, transport.ErrAuthenticationRequired),
		errors.Is(cause, transport.ErrAuthorizationFailed),
		errors.Is(cause, transport.ErrInvalidAuthMethod),
		strings.Contains(causeText, "unable to authenticate"):
		switch {
		case ssh:
			return newError(op, url, auth, ErrAuthentication, cause,
				"authentication failed: check sshPrivateKey in the repository Secret and that its public key has read access to the repository")
		case auth == nil || (auth.Username == "" && auth.Password == ""):
			return newError(op, url, auth, ErrAuthentication, cause,
				"authentication required: the repository is private or does not exist; check the URL or add a repository Secret with username and password (or token)")
		default:
			return newError(op, url, auth, ErrAuthentication, cause,
				"authentication failed: check the username and password in the repository Secret")
		}
	case errors.Is(cause, transport.ErrRepositoryNotFound):
		return newError(op, url, auth, ErrRepositoryNotFound, cause,
			"repository not found: check the URL (and that the credentials can see the repository)")
	case errors.Is(cause, transport.ErrEmptyRemoteRepository):
		return newError(op, url, auth, ErrRevisionNotFound, cause,
			"the repository is empty: push a commit first")
	case errors.Is(cause, context.DeadlineExceeded), errors.Is(cause, os.ErrDeadlineExceeded),
		errors.As(cause, &netErr) && netErr.Timeout():
		return newError(op, url, auth, ErrUnreachable, cause,
			"timed out: check the URL and that the server is reachable from here ("+causeText+")")
	case errors.As(cause, &dnsErr), errors.As(cause, &netOp), errors.Is(cause, syscall.ECONNREFUSED),
		errors.Is(cause, syscall.ECONNRESET), errors.Is(cause, syscall.EHOSTUNREACH), errors.Is(cause, syscall.ENETUNREACH),
		errors.Is(cause, io.ErrUnexpectedEOF):
		return newError(op, url, auth, ErrUnreachable, cause,
			"cannot reach the server: check the URL and the network ("+causeText+")")
	case errors.Is(cause, gogit.ErrRepositoryNotExists):
		return newError(op, url, auth, ErrRepositoryNotFound, cause, "repository not found: check the URL")
	}
	return newError(op, url, auth, nil, cause, causeText)
}
