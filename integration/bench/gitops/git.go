package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/fluxcd/gitkit"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// gitServer is a real Git smart-HTTP server (gitkit in front of git's own
// upload-pack and receive-pack) on the node's address, so the agent's Pod
// reaches it like any Git host. A small copy of integration/e2e's test server.
type gitServer struct {
	root string // bare repositories
	base string // http://NODE_IP:PORT
	hs   *http.Server
}

// quietRequests drops gitkit's line per request from the standard logger
// (the agent polls every app's repository) and keeps its other messages.
type quietRequests struct{ w io.Writer }

func (q quietRequests) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(" request: ")) {
		return len(p), nil
	}
	return q.w.Write(p)
}

func startGitServer(root, nodeIP string) (*gitServer, error) {
	log.SetOutput(quietRequests{os.Stderr})
	srv := gitkit.New(gitkit.Config{Dir: root, AutoCreate: true})
	if err := srv.Setup(); err != nil {
		return nil, fmt.Errorf("git server setup: %w", err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(nodeIP, "0"))
	if err != nil {
		return nil, fmt.Errorf("git server listening on the node's address %s: %w", nodeIP, err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	return &gitServer{root: root, base: "http://" + ln.Addr().String(), hs: hs}, nil
}

func (s *gitServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.hs.Shutdown(ctx)
}

// workRepo is a working copy whose commits are pushed to the server.
type workRepo struct {
	URL  string
	dir  string
	repo *gogit.Repository
}

// newRepo makes an empty working copy in dir whose origin is NAME.git on the server.
func (s *gitServer) newRepo(dir, name string) (*workRepo, error) {
	r, err := gogit.PlainInit(dir, false)
	if err != nil {
		return nil, err
	}
	url := s.base + "/" + name + ".git"
	if _, err := r.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{url}}); err != nil {
		return nil, err
	}
	return &workRepo{URL: url, dir: dir, repo: r}, nil
}

// commitAll writes files (path relative to the working copy: content), commits
// everything on master and pushes; it returns the commit SHA.
func (r *workRepo) commitAll(msg string, files map[string]string) (string, error) {
	for path, content := range files {
		full := filepath.Join(r.dir, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	wt, err := r.repo.Worktree()
	if err != nil {
		return "", err
	}
	// One add of the whole tree: go-git's per-path Add computes the worktree
	// status each time, which is quadratic over thousands of files.
	if err := wt.AddWithOptions(&gogit.AddOptions{All: true}); err != nil {
		return "", fmt.Errorf("git add: %w", err)
	}
	sig := &object.Signature{Name: "bench", Email: "bench@argolite.dev", When: time.Now()}
	sha, err := wt.Commit(msg, &gogit.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		return "", fmt.Errorf("git commit: %w", err)
	}
	err = r.repo.Push(&gogit.PushOptions{RemoteName: "origin", RefSpecs: []config.RefSpec{"refs/heads/*:refs/heads/*"}, Force: true})
	if err != nil && !errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		return "", fmt.Errorf("pushing to %s: %w", r.URL, err)
	}
	return sha.String(), nil
}
