package git

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
)

// sshDialTimeout bounds the SSH connect when the context has no deadline:
// go-git dials SSH without the context.
const sshDialTimeout = 30 * time.Second

// endpoint parses and checks a repository URL.
func endpoint(op, url string) (*transport.Endpoint, error) {
	if url == "" {
		return nil, &gitError{msg: fmt.Sprintf("git %s: the repository URL is empty: set repoURL", op), kind: ErrInvalidURL}
	}
	ep, err := transport.NewEndpoint(url)
	if err != nil {
		return nil, newError(op, url, nil, ErrInvalidURL, err, "cannot parse the repository URL: use https://host/org/repo, ssh://git@host/org/repo or git@host:org/repo")
	}
	switch ep.Protocol {
	case "https", "http", "ssh", "git":
		return ep, nil
	default:
		return nil, newError(op, url, nil, ErrInvalidURL, nil,
			fmt.Sprintf("the %q protocol is not supported: use https://, http://, ssh:// or git@host:path", ep.Protocol))
	}
}

// hostKeys is a parsed known_hosts: a callback and the key algorithms to
// offer for a host, so the server presents a key we can check.
type hostKeys struct {
	callback   ssh.HostKeyCallback
	algorithms func(hostWithPort string) []string
}

// knownHostsCache parses each distinct known_hosts content once.
type knownHostsCache struct {
	dir string
	mu  sync.Mutex
	m   map[[32]byte]*hostKeys
}

func (k *knownHostsCache) get(data []byte) (*hostKeys, error) {
	sum := sha256.Sum256(data)
	k.mu.Lock()
	defer k.mu.Unlock()
	if hk, ok := k.m[sum]; ok {
		return hk, nil
	}
	// The parser reads files: write the bytes to a private temp file.
	f, err := os.CreateTemp(k.dir, "known_hosts-")
	if err != nil {
		return nil, err
	}
	name := f.Name()
	defer func() { _ = os.Remove(name) }()
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	db, err := gitssh.NewKnownHostsDb(name)
	if err != nil {
		return nil, errors.New("known_hosts in the repository Secret cannot be parsed: use lines as printed by ssh-keyscan")
	}
	hk := &hostKeys{callback: db.HostKeyCallback(), algorithms: db.HostKeyAlgorithms}
	if k.m == nil {
		k.m = map[[32]byte]*hostKeys{}
	}
	if len(k.m) > 64 {
		clear(k.m)
	}
	k.m[sum] = hk
	return hk, nil
}

// sshAuth is a go-git SSH auth method with our host key checking and a
// dial timeout taken from the context.
type sshAuth struct {
	user       string
	signer     ssh.Signer
	callback   ssh.HostKeyCallback
	algorithms []string
	timeout    time.Duration
}

func (a *sshAuth) Name() string   { return gitssh.PublicKeysName }
func (a *sshAuth) String() string { return "user: " + a.user + ", name: " + a.Name() }

func (a *sshAuth) ClientConfig() (*ssh.ClientConfig, error) {
	return &ssh.ClientConfig{
		User:              a.user,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(a.signer)},
		HostKeyCallback:   a.callback,
		HostKeyAlgorithms: a.algorithms,
		Timeout:           a.timeout,
	}, nil
}

// authMethod turns Auth into a go-git auth method for the endpoint. It
// fails without network when SSH credentials are incomplete.
func (c *Cache) authMethod(ctx context.Context, op, url string, ep *transport.Endpoint, a *Auth) (transport.AuthMethod, error) {
	switch ep.Protocol {
	case "http", "https":
		if a == nil || (a.Username == "" && a.Password == "") {
			return nil, nil
		}
		user := a.Username
		if user == "" {
			user = defaultTokenUser
		}
		return &githttp.BasicAuth{Username: user, Password: a.Password}, nil
	case "ssh":
		if a == nil || len(a.SSHPrivateKey) == 0 {
			return nil, newError(op, url, a, ErrAuthentication, nil,
				"an SSH URL needs a private key: add sshPrivateKey (and known_hosts) to a repository Secret for this URL, or use the https:// URL")
		}
		signer, err := parsePrivateKey(a.SSHPrivateKey)
		if err != nil {
			return nil, newError(op, url, a, ErrAuthentication, nil, err.Error())
		}
		user := ep.User
		if user == "" {
			user = "git"
		}
		m := &sshAuth{user: user, signer: signer, timeout: sshDialTimeout}
		if dl, ok := ctx.Deadline(); ok {
			if d := time.Until(dl); d < m.timeout {
				m.timeout = max(d, time.Millisecond)
			}
		}
		switch {
		case a.InsecureIgnoreHostKey:
			m.callback = ssh.InsecureIgnoreHostKey()
		case len(a.KnownHosts) == 0:
			return nil, newError(op, url, a, errors.Join(ErrAuthentication, ErrHostKey), nil,
				"no known_hosts for the SSH server: add known_hosts (the output of `ssh-keyscan` for the host) to the repository Secret, or set insecureIgnoreHostKey: \"true\" to skip the check")
		default:
			hk, err := c.knownHosts.get(a.KnownHosts)
			if err != nil {
				return nil, newError(op, url, a, errors.Join(ErrAuthentication, ErrHostKey), nil, err.Error())
			}
			port := ep.Port
			if port <= 0 {
				port = 22
			}
			m.callback = hk.callback
			m.algorithms = hk.algorithms(net.JoinHostPort(ep.Host, strconv.Itoa(port)))
		}
		return m, nil
	}
	return nil, nil
}
