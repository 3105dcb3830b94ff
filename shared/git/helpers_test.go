package git

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/pkg/gittestserver"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func TestMain(m *testing.M) {
	// gitkit's SSH server logs every connection through the standard logger.
	log.SetOutput(io.Discard)
	os.Exit(m.Run())
}

// newHTTPServer starts a Git HTTP server on loopback, with basic auth when
// user is set.
func newHTTPServer(t testing.TB, user, pass string) *gittestserver.GitServer {
	t.Helper()
	srv := gittestserver.NewGitServer(t.TempDir())
	if user != "" {
		srv.Auth(user, pass)
	}
	if err := srv.StartHTTP(); err != nil {
		t.Fatalf("start git HTTP server: %v", err)
	}
	t.Cleanup(srv.StopHTTP)
	return srv
}

// newSSHServer starts a Git SSH server on loopback and returns it with its
// host public key.
func newSSHServer(t testing.TB) (*gittestserver.GitServer, ssh.PublicKey) {
	t.Helper()
	keyDir := t.TempDir()
	srv := gittestserver.NewGitServer(t.TempDir()).KeyDir(keyDir)
	if err := srv.ListenSSH(); err != nil {
		t.Fatalf("listen SSH: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.StartSSH()
	}()
	t.Cleanup(func() {
		_ = srv.StopSSH()
		<-done
	})
	b, err := os.ReadFile(filepath.Join(keyDir, "gitkit.rsa.pub"))
	if err != nil {
		t.Fatalf("read host key: %v", err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		t.Fatalf("parse host key: %v", err)
	}
	return srv, pub
}

// knownHostsLine returns a known_hosts line for addr (host:port).
func knownHostsLine(addr string, key ssh.PublicKey) []byte {
	return []byte(knownhosts.Line([]string{knownhosts.Normalize(addr)}, key) + "\n")
}

// newClientKey returns a PEM (OpenSSH format) ed25519 private key.
func newClientKey(t testing.TB) []byte {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block)
}

// newHostKey returns a random public key, RSA or ed25519.
func newHostKey(t testing.TB, rsaKey bool) ssh.PublicKey {
	t.Helper()
	var pub any
	if rsaKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		pub = &k.PublicKey
	} else {
		k, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pub = k
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testRepo is a working copy that pushes to a bare repository served by a
// test server.
type testRepo struct {
	t    testing.TB
	dir  string
	repo *gogit.Repository
	path string // repository path on the server, e.g. org/app.git
	when time.Time
}

func newRepo(t testing.TB, srv *gittestserver.GitServer, path string) *testRepo {
	t.Helper()
	bare := filepath.Join(srv.Root(), path)
	if _, err := gogit.PlainInit(bare, true); err != nil {
		t.Fatalf("init bare repo: %v", err)
	}
	dir := t.TempDir()
	r, err := gogit.PlainInit(dir, false)
	if err != nil {
		t.Fatalf("init working repo: %v", err)
	}
	if _, err := r.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{"file://" + bare}}); err != nil {
		t.Fatal(err)
	}
	return &testRepo{t: t, dir: dir, repo: r, path: path, when: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (r *testRepo) httpURL(srv *gittestserver.GitServer) string {
	return srv.HTTPAddress() + "/" + r.path
}

func (r *testRepo) sshURL(srv *gittestserver.GitServer) string {
	return srv.SSHAddress() + "/" + r.path
}

// file is one change: content to write, or remove, or a symlink target.
type file struct {
	content string
	exec    bool
	link    string
	remove  bool
}

// commit applies the changes on the current branch, commits and pushes
// everything; it returns the commit SHA.
func (r *testRepo) commit(files map[string]file) string {
	r.t.Helper()
	for name, f := range files {
		p := filepath.Join(r.dir, filepath.FromSlash(name))
		switch {
		case f.remove:
			if err := os.Remove(p); err != nil {
				r.t.Fatal(err)
			}
			continue
		case f.link != "":
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				r.t.Fatal(err)
			}
			if err := os.Symlink(f.link, p); err != nil {
				r.t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if f.exec {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(f.content), mode); err != nil {
			r.t.Fatal(err)
		}
	}
	wt, err := r.repo.Worktree()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := wt.AddWithOptions(&gogit.AddOptions{All: true}); err != nil {
		r.t.Fatal(err)
	}
	r.when = r.when.Add(time.Minute)
	sig := &object.Signature{Name: "Test", Email: "test@example.com", When: r.when}
	h, err := wt.Commit(fmt.Sprintf("commit at %s", r.when), &gogit.CommitOptions{Author: sig, Committer: sig, AllowEmptyCommits: true})
	if err != nil {
		r.t.Fatal(err)
	}
	r.push()
	return h.String()
}

func (r *testRepo) branch(name, sha string) {
	r.t.Helper()
	ref := plumbing.NewHashReference(plumbing.NewBranchReferenceName(name), plumbing.NewHash(sha))
	if err := r.repo.Storer.SetReference(ref); err != nil {
		r.t.Fatal(err)
	}
	r.push()
}

// tag creates a tag at sha, annotated when message is set; it returns the
// SHA of the tag ref (the tag object for annotated tags).
func (r *testRepo) tag(name, sha, message string) string {
	r.t.Helper()
	var opts *gogit.CreateTagOptions
	if message != "" {
		opts = &gogit.CreateTagOptions{Message: message, Tagger: &object.Signature{Name: "Test", Email: "test@example.com", When: r.when}}
	}
	ref, err := r.repo.CreateTag(name, plumbing.NewHash(sha), opts)
	if err != nil {
		r.t.Fatal(err)
	}
	r.push()
	return ref.Hash().String()
}

func (r *testRepo) push() {
	r.t.Helper()
	err := r.repo.Push(&gogit.PushOptions{
		RemoteName: "origin",
		RefSpecs:   []config.RefSpec{"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"},
	})
	if err != nil && !errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		r.t.Fatalf("push: %v", err)
	}
}

// requests counts OnRequest calls by operation.
type requests struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *requests) record(op string, _ time.Duration, _ error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = map[string]int{}
	}
	r.n[op]++
}

func (r *requests) get(op string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[op]
}

func newCache(t testing.TB, max int) (*Cache, *requests) {
	t.Helper()
	reqs := &requests{}
	c, err := NewCache(Options{Dir: t.TempDir(), MaxCheckouts: max, OnRequest: reqs.record})
	if err != nil {
		t.Fatalf("NewCache: %v", err)
	}
	return c, reqs
}

// readTree returns the files under dir: path to content, symlinks as "-> target".
func readTree(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "-> " + target
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read tree %s: %v", dir, err)
	}
	return out
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func mustContain(t testing.TB, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%q does not contain %q", s, sub)
		}
	}
}
