package git

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestResolve(t *testing.T) {
	srv := newHTTPServer(t, "", "")
	r := newRepo(t, srv, "org/app.git")
	c0 := r.commit(map[string]file{"a.yaml": {content: "zero"}})
	c1 := r.commit(map[string]file{"a.yaml": {content: "one"}})
	r.branch("dev", c1)
	r.tag("v1", c1, "")
	tagObject := r.tag("v2", c0, "annotated release")
	c2 := r.commit(map[string]file{"a.yaml": {content: "two"}})
	if tagObject == c0 {
		t.Fatal("annotated tag ref should point at a tag object, not the commit")
	}
	url := r.httpURL(srv)

	tests := []struct {
		name     string
		revision string
		want     string
		wantErr  error
		errText  string
		network  bool
	}{
		{name: "branch", revision: "master", want: c2, network: true},
		{name: "other branch", revision: "dev", want: c1, network: true},
		{name: "full branch ref", revision: "refs/heads/dev", want: c1, network: true},
		{name: "lightweight tag", revision: "v1", want: c1, network: true},
		{name: "annotated tag peels to the commit", revision: "v2", want: c0, network: true},
		{name: "HEAD", revision: "HEAD", want: c2, network: true},
		{name: "empty means HEAD", revision: "", want: c2, network: true},
		{name: "full SHA without network", revision: strings.ToUpper(c0), want: c0},
		{name: "short SHA of a commit that is no ref tip", revision: c0[:8], want: c0, network: true},
		{name: "missing branch", revision: "nope", wantErr: ErrRevisionNotFound, errText: `revision "nope" not found`, network: true},
		{name: "too short SHA", revision: "abc", wantErr: ErrRevisionNotFound, errText: "at least 7 characters", network: true},
		{name: "unknown short SHA", revision: "0123456789", wantErr: ErrRevisionNotFound, errText: "no commit", network: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, reqs := newCache(t, 0)
			got, err := c.Resolve(context.Background(), url, nil, tt.revision)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Resolve(%q) error = %v, want %v", tt.revision, err, tt.wantErr)
				}
				mustContain(t, err.Error(), tt.errText, url)
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.revision, err)
			}
			if got != tt.want {
				t.Errorf("Resolve(%q) = %s, want %s", tt.revision, got, tt.want)
			}
			if n := reqs.get(OpLsRemote) + reqs.get(OpFetch); (n > 0) != tt.network {
				t.Errorf("Resolve(%q) made %d requests, want network=%v", tt.revision, n, tt.network)
			}
		})
	}
}

func TestResolveShortSHAUsesCachedObjects(t *testing.T) {
	srv := newHTTPServer(t, "", "")
	r := newRepo(t, srv, "org/app.git")
	c0 := r.commit(map[string]file{"a": {content: "0"}})
	c1 := r.commit(map[string]file{"a": {content: "1"}})
	c, reqs := newCache(t, 0)
	ctx := context.Background()
	if _, rel, err := c.Checkout(ctx, r.httpURL(srv), nil, c1); err != nil {
		t.Fatal(err)
	} else {
		rel()
	}
	got, err := c.Resolve(ctx, r.httpURL(srv), nil, c0[:7])
	if err != nil || got != c0 {
		t.Fatalf("Resolve short = %s, %v; want %s", got, err, c0)
	}
	if n := reqs.get(OpFetch); n != 1 {
		t.Errorf("fetches = %d, want 1 (the checkout's; the short SHA was already cached)", n)
	}
}

func TestCheckoutContent(t *testing.T) {
	srv := newHTTPServer(t, "", "")
	r := newRepo(t, srv, "org/app.git")
	sha := r.commit(map[string]file{
		"a.yaml":           {content: "kind: A\n"},
		"dir/sub/b.yaml":   {content: "kind: B\n"},
		"run.sh":           {content: "#!/bin/sh\n", exec: true},
		"link.yaml":        {link: "a.yaml"},
		"dir/up.yaml":      {link: "../a.yaml"},
		"dirlink":          {link: "dir/sub"},
		"empty/.gitkeep":   {content: ""},
		"charts/x/Chart.y": {content: "name: x\n"},
	})
	c, _ := newCache(t, 0)
	dir, release, err := c.Checkout(context.Background(), r.httpURL(srv), nil, sha)
	if err != nil {
		t.Fatalf("Checkout: %v", err)
	}
	defer release()
	want := map[string]string{
		"a.yaml":           "kind: A\n",
		"dir/sub/b.yaml":   "kind: B\n",
		"run.sh":           "#!/bin/sh\n",
		"link.yaml":        "-> a.yaml",
		"dir/up.yaml":      "-> ../a.yaml",
		"dirlink":          "-> dir/sub",
		"empty/.gitkeep":   "",
		"charts/x/Chart.y": "name: x\n",
	}
	got := readTree(t, dir)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("checkout tree:\n got %v\nwant %v", got, want)
	}
	for name, wantMode := range map[string]os.FileMode{"a.yaml": 0o444, "run.sh": 0o555} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != wantMode {
			t.Errorf("%s mode = %v, want %v", name, info.Mode().Perm(), wantMode)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "dirlink", "b.yaml")); err != nil || string(b) != "kind: B\n" {
		t.Errorf("reading through the directory symlink = %q, %v", b, err)
	}
}

func TestCheckoutRefusesSymlinkOutOfTree(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]file
	}{
		{name: "relative escape", files: map[string]file{"evil": {link: "../../../etc/passwd"}}},
		{name: "absolute", files: map[string]file{"evil": {link: "/etc/passwd"}}},
		{name: "chain of links", files: map[string]file{"a/up": {link: ".."}, "b": {link: "a/up/../.."}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newHTTPServer(t, "", "")
			r := newRepo(t, srv, "org/app.git")
			sha := r.commit(tt.files)
			c, _ := newCache(t, 0)
			_, _, err := c.Checkout(context.Background(), r.httpURL(srv), nil, sha)
			if err == nil {
				t.Fatal("Checkout succeeded, want an out-of-bounds symlink error")
			}
			mustContain(t, err.Error(), "pointing outside the repository", r.httpURL(srv))
			if des, _ := os.ReadDir(c.checkoutsDir); len(des) != 0 {
				t.Errorf("a refused checkout left %d directories", len(des))
			}
		})
	}
}

func TestNewCommitIsSeenAndFetchedOnce(t *testing.T) {
	srv := newHTTPServer(t, "", "")
	r := newRepo(t, srv, "org/app.git")
	s1 := r.commit(map[string]file{"a.yaml": {content: "one"}})
	url := r.httpURL(srv)
	ctx := context.Background()
	cacheDir := t.TempDir()
	reqs := &requests{}
	c, err := NewCache(Options{Dir: cacheDir, OnRequest: reqs.record})
	if err != nil {
		t.Fatal(err)
	}

	got, err := c.Resolve(ctx, url, nil, "master")
	if err != nil || got != s1 {
		t.Fatalf("Resolve = %s, %v; want %s", got, err, s1)
	}
	dir1, rel1, err := c.Checkout(ctx, url, nil, s1)
	if err != nil {
		t.Fatal(err)
	}
	rel1()
	if n := reqs.get(OpFetch); n != 1 {
		t.Fatalf("fetches after first checkout = %d, want 1", n)
	}
	again, rel, err := c.Checkout(ctx, url, nil, s1)
	if err != nil {
		t.Fatal(err)
	}
	rel()
	if again != dir1 || reqs.get(OpFetch) != 1 || reqs.get(OpLsRemote) != 1 {
		t.Errorf("second checkout: dir %s (first %s), fetches %d, ls-remotes %d; want same dir and no request",
			again, dir1, reqs.get(OpFetch), reqs.get(OpLsRemote))
	}

	s2 := r.commit(map[string]file{"b.yaml": {content: "two"}})
	got, err = c.Resolve(ctx, url, nil, "master")
	if err != nil || got != s2 {
		t.Fatalf("Resolve after a new commit = %s, %v; want %s", got, err, s2)
	}
	dir2, rel2, err := c.Checkout(ctx, url, nil, s2)
	if err != nil {
		t.Fatal(err)
	}
	defer rel2()
	if tree := readTree(t, dir2); tree["b.yaml"] != "two" || tree["a.yaml"] != "one" {
		t.Errorf("new checkout tree = %v", tree)
	}
	if n := reqs.get(OpFetch); n != 2 {
		t.Errorf("fetches = %d, want 2", n)
	}

	// A restarted cache on the same directory reuses what is there.
	reqs2 := &requests{}
	c2, err := NewCache(Options{Dir: cacheDir, OnRequest: reqs2.record})
	if err != nil {
		t.Fatal(err)
	}
	d, rel, err := c2.Checkout(ctx, url, nil, s1)
	if err != nil {
		t.Fatal(err)
	}
	rel()
	if d != dir1 || reqs2.get(OpFetch) != 0 {
		t.Errorf("after restart: dir %s (want %s), fetches %d (want 0)", d, dir1, reqs2.get(OpFetch))
	}

	// A fresh cache can check out a commit that is no longer a branch tip.
	c3, _ := newCache(t, 0)
	d, rel, err = c3.Checkout(ctx, url, nil, s1)
	if err != nil {
		t.Fatalf("checkout of an older commit: %v", err)
	}
	defer rel()
	if tree := readTree(t, d); tree["a.yaml"] != "one" || tree["b.yaml"] != "" {
		t.Errorf("older commit tree = %v", tree)
	}
}

func TestCheckoutErrors(t *testing.T) {
	srv := newHTTPServer(t, "", "")
	r := newRepo(t, srv, "org/app.git")
	r.commit(map[string]file{"a": {content: "a"}})
	tests := []struct {
		name    string
		url     string
		sha     string
		wantErr error
		text    string
	}{
		{name: "not a full SHA", url: r.httpURL(srv), sha: "master", wantErr: ErrRevisionNotFound, text: "resolve the revision first"},
		{name: "commit not in the repository", url: r.httpURL(srv), sha: strings.Repeat("ab", 20), wantErr: ErrRevisionNotFound, text: "not found in any branch or tag"},
		{name: "file URL refused", url: "file:///etc", sha: strings.Repeat("ab", 20), wantErr: ErrInvalidURL, text: "not supported"},
		{name: "empty URL", url: "", sha: strings.Repeat("ab", 20), wantErr: ErrInvalidURL, text: "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newCache(t, 0)
			_, _, err := c.Checkout(context.Background(), tt.url, nil, tt.sha)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			mustContain(t, err.Error(), tt.text)
		})
	}
}

func TestRepositoryNotFound(t *testing.T) {
	srv := newHTTPServer(t, "", "")
	c, _ := newCache(t, 0)
	url := srv.HTTPAddress() + "/org/missing.git"
	_, err := c.Resolve(context.Background(), url, nil, "main")
	if !errors.Is(err, ErrRepositoryNotFound) {
		t.Fatalf("err = %v, want ErrRepositoryNotFound", err)
	}
	mustContain(t, err.Error(), url, "check the URL")
}

func TestHTTPBasicAuth(t *testing.T) {
	srv := newHTTPServer(t, "alice", "s3cret-pass")
	r := newRepo(t, srv, "org/private.git")
	sha := r.commit(map[string]file{"a": {content: "a"}})
	url := r.httpURL(srv)
	tests := []struct {
		name    string
		auth    *Auth
		wantErr error
		text    string
	}{
		{name: "good password", auth: &Auth{Username: "alice", Password: "s3cret-pass"}},
		{name: "bad password", auth: &Auth{Username: "alice", Password: "wrong-pass"}, wantErr: ErrAuthentication,
			text: "git ls-remote " + url + ": authentication failed: check the username and password in the repository Secret"},
		{name: "no credentials", wantErr: ErrAuthentication, text: "add a repository Secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newCache(t, 0)
			got, err := c.Resolve(context.Background(), url, tt.auth, "master")
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), tt.text) && !strings.Contains(err.Error(), tt.text) {
					t.Errorf("error text %q, want %q", err, tt.text)
				}
				if tt.auth != nil && strings.Contains(err.Error(), tt.auth.Password) {
					t.Errorf("error leaks the password: %q", err)
				}
				return
			}
			if err != nil || got != sha {
				t.Fatalf("Resolve = %s, %v; want %s", got, err, sha)
			}
			dir, rel, err := c.Checkout(context.Background(), url, tt.auth, sha)
			if err != nil {
				t.Fatalf("Checkout: %v", err)
			}
			defer rel()
			if readTree(t, dir)["a"] != "a" {
				t.Error("checkout content wrong")
			}
		})
	}
}

func TestCredentialsInURLAreNotShown(t *testing.T) {
	addr := closedPort(t)
	c, _ := newCache(t, 0)
	_, err := c.Resolve(context.Background(), "http://bob:hunter22@"+addr+"/org/repo.git", nil, "main")
	if err == nil {
		t.Fatal("want an error")
	}
	if strings.Contains(err.Error(), "hunter22") {
		t.Errorf("error shows the password: %q", err)
	}
	mustContain(t, err.Error(), "http://bob@"+addr+"/org/repo.git")
}

func TestSSH(t *testing.T) {
	srv, hostKey := newSSHServer(t)
	r := newRepo(t, srv, "org/app.git")
	sha := r.commit(map[string]file{"a.yaml": {content: "over ssh"}})
	url := r.sshURL(srv)
	addr := strings.TrimPrefix(srv.SSHAddress(), "ssh://git@")
	clientKey := newClientKey(t)
	good := knownHostsLine(addr, hostKey)
	otherHost := knownHostsLine("127.0.0.2:22", hostKey)
	wrongKey := knownHostsLine(addr, newHostKey(t, true))
	wrongType := knownHostsLine(addr, newHostKey(t, false))

	tests := []struct {
		name      string
		auth      *Auth
		wantErr   []error
		text      string
		noNetwork bool
	}{
		{name: "key and known_hosts", auth: &Auth{SSHPrivateKey: clientKey, KnownHosts: good}},
		{name: "insecure ignore host key", auth: &Auth{SSHPrivateKey: clientKey, InsecureIgnoreHostKey: true}},
		{name: "wrong host key refused", auth: &Auth{SSHPrivateKey: clientKey, KnownHosts: wrongKey},
			wantErr: []error{ErrAuthentication, ErrHostKey}, text: "does not match known_hosts"},
		{name: "known_hosts has another key type", auth: &Auth{SSHPrivateKey: clientKey, KnownHosts: wrongType},
			wantErr: []error{ErrAuthentication, ErrHostKey}, text: "of a type known_hosts has no entry for"},
		{name: "host not in known_hosts", auth: &Auth{SSHPrivateKey: clientKey, KnownHosts: otherHost},
			wantErr: []error{ErrAuthentication, ErrHostKey}, text: "not in known_hosts"},
		{name: "missing known_hosts", auth: &Auth{SSHPrivateKey: clientKey},
			wantErr: []error{ErrAuthentication, ErrHostKey}, text: "add known_hosts", noNetwork: true},
		{name: "no key", wantErr: []error{ErrAuthentication}, text: "add sshPrivateKey", noNetwork: true},
		{name: "bad key", auth: &Auth{SSHPrivateKey: []byte("not a key"), KnownHosts: good},
			wantErr: []error{ErrAuthentication}, text: "not a valid SSH private key", noNetwork: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, reqs := newCache(t, 0)
			got, err := c.Resolve(context.Background(), url, tt.auth, "master")
			if tt.wantErr != nil {
				for _, want := range tt.wantErr {
					if !errors.Is(err, want) {
						t.Errorf("err = %v, want %v", err, want)
					}
				}
				if err != nil {
					mustContain(t, err.Error(), tt.text, url)
				}
				if tt.noNetwork && reqs.get(OpLsRemote) != 0 {
					t.Errorf("made %d requests, want none", reqs.get(OpLsRemote))
				}
				return
			}
			if err != nil || got != sha {
				t.Fatalf("Resolve = %s, %v; want %s", got, err, sha)
			}
			dir, rel, err := c.Checkout(context.Background(), url, tt.auth, sha)
			if err != nil {
				t.Fatalf("Checkout: %v", err)
			}
			defer rel()
			if readTree(t, dir)["a.yaml"] != "over ssh" {
				t.Error("checkout content wrong")
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	addr := closedPort(t)
	key := newClientKey(t)
	tests := []struct {
		name string
		url  string
		auth *Auth
	}{
		{name: "http", url: "http://" + addr + "/org/repo.git"},
		{name: "ssh", url: "ssh://git@" + addr + "/org/repo.git", auth: &Auth{SSHPrivateKey: key, InsecureIgnoreHostKey: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, reqs := newCache(t, 0)
			_, err := c.Resolve(context.Background(), tt.url, tt.auth, "main")
			if !errors.Is(err, ErrUnreachable) {
				t.Fatalf("Resolve err = %v, want ErrUnreachable", err)
			}
			mustContain(t, err.Error(), tt.url, "cannot reach the server")
			_, _, err = c.Checkout(context.Background(), tt.url, tt.auth, strings.Repeat("1", 40))
			if !errors.Is(err, ErrUnreachable) {
				t.Fatalf("Checkout err = %v, want ErrUnreachable", err)
			}
			if reqs.get(OpLsRemote) != 1 || reqs.get(OpFetch) != 1 {
				t.Errorf("requests reported: ls-remote %d, fetch %d; want 1 and 1", reqs.get(OpLsRemote), reqs.get(OpFetch))
			}
		})
	}
}

func TestContextCanceled(t *testing.T) {
	srv := newHTTPServer(t, "", "")
	r := newRepo(t, srv, "org/app.git")
	sha := r.commit(map[string]file{"a": {content: "a"}})
	c, _ := newCache(t, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Resolve(ctx, r.httpURL(srv), nil, "master"); !errors.Is(err, context.Canceled) {
		t.Errorf("Resolve err = %v, want context.Canceled", err)
	}
	if _, _, err := c.Checkout(ctx, r.httpURL(srv), nil, sha); !errors.Is(err, context.Canceled) {
		t.Errorf("Checkout err = %v, want context.Canceled", err)
	}
}

func TestEvictionKeepsCheckoutsInUse(t *testing.T) {
	srv := newHTTPServer(t, "", "")
	r := newRepo(t, srv, "org/app.git")
	var shas []string
	for i := range 4 {
		shas = append(shas, r.commit(map[string]file{"n": {content: fmt.Sprint(i)}}))
	}
	url := r.httpURL(srv)
	ctx := context.Background()
	c, _ := newCache(t, 2)

	held, releaseHeld, err := c.Checkout(ctx, url, nil, shas[0])
	if err != nil {
		t.Fatal(err)
	}
	dirs := map[string]string{shas[0]: held}
	for _, sha := range shas[1:] {
		d, rel, err := c.Checkout(ctx, url, nil, sha)
		if err != nil {
			t.Fatal(err)
		}
		dirs[sha] = d
		rel()
	}
	exists := func(sha string) bool {
		_, err := os.Stat(dirs[sha])
		return err == nil
	}
	want := map[string]bool{shas[0]: true, shas[1]: false, shas[2]: false, shas[3]: true}
	for sha, w := range want {
		if exists(sha) != w {
			t.Errorf("checkout %s exists = %v, want %v", sha[:7], !w, w)
		}
	}
	if got := readTree(t, held)["n"]; got != "0" {
		t.Errorf("held checkout content = %q, want 0", got)
	}
	releaseHeld()
	releaseHeld() // idempotent
	if des, _ := os.ReadDir(c.checkoutsDir); len(des) != 2 {
		t.Errorf("%d checkouts on disk after release, want 2", len(des))
	}

	// With every checkout held, the limit is exceeded rather than removing one in use.
	c1, _ := newCache(t, 1)
	var releases []func()
	for _, sha := range shas[:3] {
		d, rel, err := c1.Checkout(ctx, url, nil, sha)
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, rel)
		dirs[sha] = d
	}
	for _, sha := range shas[:3] {
		if !exists(sha) {
			t.Errorf("held checkout %s was removed", sha[:7])
		}
	}
	for _, rel := range releases {
		rel()
	}
	if des, _ := os.ReadDir(c1.checkoutsDir); len(des) != 1 {
		t.Errorf("%d checkouts on disk after releasing all, want 1", len(des))
	}
}

func TestConcurrentResolveAndCheckout(t *testing.T) {
	srv := newHTTPServer(t, "", "")
	type commit struct{ sha, content string }
	var repos []*testRepo
	var commits [][]commit
	for i := range 2 {
		r := newRepo(t, srv, fmt.Sprintf("org/app%d.git", i))
		var cs []commit
		for j := range 4 {
			content := fmt.Sprintf("repo %d commit %d", i, j)
			cs = append(cs, commit{r.commit(map[string]file{"marker": {content: content}}), content})
		}
		repos = append(repos, r)
		commits = append(commits, cs)
	}
	c, reqs := newCache(t, 3)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 15 {
				ri := rng.IntN(len(repos))
				want := commits[ri][rng.IntN(len(commits[ri]))]
				url := repos[ri].httpURL(srv)
				rev := want.sha
				if rng.IntN(2) == 0 {
					rev = want.sha[:9]
				}
				sha, err := c.Resolve(ctx, url, nil, rev)
				if err != nil || sha != want.sha {
					errs <- fmt.Errorf("Resolve(%s) = %s, %w", rev, sha, err)
					return
				}
				dir, rel, err := c.Checkout(ctx, url, nil, sha)
				if err != nil {
					errs <- err
					return
				}
				b, err := os.ReadFile(filepath.Join(dir, "marker"))
				rel()
				if err != nil || string(b) != want.content {
					errs <- fmt.Errorf("checkout %s marker = %q, %w; want %q", sha[:7], b, err, want.content)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := reqs.get(OpFetch); n > 2*4 {
		t.Errorf("%d fetches for 2 repositories, want few (objects are shared)", n)
	}
	if des, _ := os.ReadDir(c.checkoutsDir); len(des) > 3 {
		t.Errorf("%d checkouts on disk, want at most 3", len(des))
	}
}

func BenchmarkResolve(b *testing.B) {
	srv := newHTTPServer(b, "", "")
	r := newRepo(b, srv, "org/app.git")
	sha := r.commit(map[string]file{"a": {content: "a"}})
	for i := range 20 {
		r.tag(fmt.Sprintf("v0.%d.0", i), sha, "")
	}
	c, _ := newCache(b, 0)
	url := r.httpURL(srv)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		got, err := c.Resolve(ctx, url, nil, "master")
		if err != nil || got != sha {
			b.Fatalf("Resolve = %s, %v", got, err)
		}
	}
}
