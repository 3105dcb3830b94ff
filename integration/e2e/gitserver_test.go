package e2e

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fluxcd/gitkit"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/object"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// gitServer is a real Git smart-HTTP server (git upload-pack and
// receive-pack behind gitkit) run by the test process on the node's address,
// so the agent's Pod reaches it like any Git host.
type gitServer struct {
	root     string
	base     string // http://NODE_IP:PORT
	username string
	password string
}

// nodeIP is the address the kubelet reports for this machine: Pods reach the
// host there.
func nodeIP(t *testing.T) string {
	t.Helper()
	nodes, err := clientset.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil || len(nodes.Items) == 0 {
		t.Fatalf("listing nodes: %v", err)
	}
	for _, a := range nodes.Items[0].Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return a.Address
		}
	}
	t.Fatalf("node %s reports no InternalIP", nodes.Items[0].Name)
	return ""
}

// startGitServer serves repositories under a temp dir; with a username it
// requires basic auth.
func startGitServer(t *testing.T, username, password string) *gitServer {
	t.Helper()
	root := t.TempDir()
	srv := gitkit.New(gitkit.Config{Dir: root, AutoCreate: true, Auth: username != ""})
	if username != "" {
		srv.AuthFunc = func(c gitkit.Credential, _ *gitkit.Request) (bool, error) {
			return c.Username == username && c.Password == password, nil
		}
	}
	if err := srv.Setup(); err != nil {
		t.Fatalf("git server setup: %v", err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(nodeIP(t), "0"))
	if err != nil {
		t.Fatalf("git server listen: %v", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	return &gitServer{root: root, base: "http://" + ln.Addr().String(), username: username, password: password}
}

// testRepo is a working copy whose commits are pushed to the server.
type testRepo struct {
	t    *testing.T
	srv  *gitServer
	URL  string
	dir  string
	repo *gogit.Repository
}

// newRepo creates an empty repository on the server and a working copy.
func (s *gitServer) newRepo(t *testing.T, name string) *testRepo {
	t.Helper()
	dir := t.TempDir()
	r, err := gogit.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	url := s.base + "/" + name + ".git"
	if _, err := r.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{url}}); err != nil {
		t.Fatal(err)
	}
	return &testRepo{t: t, srv: s, URL: url, dir: dir, repo: r}
}

// commit writes files (an empty content deletes the file), commits on the
// current branch and pushes; it returns the commit SHA.
func (r *testRepo) commit(msg string, files map[string]string) string {
	r.t.Helper()
	wt, err := r.repo.Worktree()
	if err != nil {
		r.t.Fatal(err)
	}
	for path, content := range files {
		full := filepath.Join(r.dir, path)
		if content == "" {
			if err := os.Remove(full); err != nil {
				r.t.Fatal(err)
			}
			if _, err := wt.Remove(path); err != nil {
				r.t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
		if _, err := wt.Add(path); err != nil {
			r.t.Fatal(err)
		}
	}
	sig := &object.Signature{Name: "e2e", Email: "e2e@argolite.dev", When: time.Now()}
	sha, err := wt.Commit(msg, &gogit.CommitOptions{Author: sig, Committer: sig, AllowEmptyCommits: true})
	if err != nil {
		r.t.Fatal(err)
	}
	r.push()
	return sha.String()
}

func (r *testRepo) push() {
	r.t.Helper()
	opts := &gogit.PushOptions{RemoteName: "origin", RefSpecs: []config.RefSpec{"refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*"}, Force: true}
	if r.srv.username != "" {
		opts.Auth = &githttp.BasicAuth{Username: r.srv.username, Password: r.srv.password}
	}
	if err := r.repo.Push(opts); err != nil && !errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		r.t.Fatalf("pushing to %s: %v", r.URL, err)
	}
}
