package git

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/memory"
)

// Request operations reported to Options.OnRequest.
const (
	OpLsRemote = "ls-remote"
	OpFetch    = "fetch"
)

const (
	defaultMaxCheckouts = 32
	// objectCacheSize bounds go-git's decoded-object cache per open repository.
	objectCacheSize = 8 * cache.MiByte
	minShortSHA     = 7
)

// fetchRefSpecs fetches every branch and tag, so a commit that is not a ref
// tip (an older commit, or one a tag points at) is found.
var fetchRefSpecs = []config.RefSpec{
	"+refs/heads/*:refs/heads/*",
	"+refs/tags/*:refs/tags/*",
}

// Options configure a Cache.
type Options struct {
	// Dir holds the cache: repos/ (one bare repository per URL), checkouts/
	// (one tree per commit) and tmp/. One process owns a Dir at a time.
	Dir string
	// MaxCheckouts is how many commit trees are kept; the least recently
	// used that no caller holds are removed beyond it. Default 32.
	MaxCheckouts int
	// OnRequest, when set, is called after every network request with its
	// operation (OpLsRemote or OpFetch), duration and error (nil on success).
	OnRequest func(op string, d time.Duration, err error)
}

// Cache resolves revisions and checks out commits, sharing fetched objects
// and written trees between callers. It is safe for concurrent use.
type Cache struct {
	reposDir     string
	checkoutsDir string
	tmpDir       string
	max          int
	onRequest    func(op string, d time.Duration, err error)

	repoLocks  keyedLocks
	knownHosts knownHostsCache

	mu      sync.Mutex
	entries map[string]*checkoutEntry // by commit SHA
	clock   uint64
}

type checkoutEntry struct {
	dir  string
	refs int
	used uint64
}

// NewCache creates the cache directories under o.Dir and adopts the commit
// trees a previous run left there.
func NewCache(o Options) (*Cache, error) {
	if o.Dir == "" {
		return nil, errors.New("git cache: Options.Dir is empty: give a directory for the Git cache")
	}
	root, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("git cache %s: %w", o.Dir, err)
	}
	c := &Cache{
		reposDir:     filepath.Join(root, "repos"),
		checkoutsDir: filepath.Join(root, "checkouts"),
		tmpDir:       filepath.Join(root, "tmp"),
		max:          o.MaxCheckouts,
		onRequest:    o.OnRequest,
		entries:      map[string]*checkoutEntry{},
	}
	if c.max <= 0 {
		c.max = defaultMaxCheckouts
	}
	c.knownHosts.dir = c.tmpDir
	// Leftovers in tmp are from a run that stopped mid-write.
	_ = os.RemoveAll(c.tmpDir)
	for _, d := range []string{root, c.reposDir, c.checkoutsDir, c.tmpDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("git cache: cannot create %s: %w: check the directory's permissions", d, err)
		}
	}
	if err := c.adopt(); err != nil {
		return nil, err
	}
	return c, nil
}

// adopt registers existing checkouts (complete, since they are renamed into
// place only when written), oldest first.
func (c *Cache) adopt() error {
	des, err := os.ReadDir(c.checkoutsDir)
	if err != nil {
		return fmt.Errorf("git cache: cannot read %s: %w", c.checkoutsDir, err)
	}
	type found struct {
		sha string
		mod time.Time
	}
	var list []found
	for _, de := range des {
		p := filepath.Join(c.checkoutsDir, de.Name())
		info, err := de.Info()
		if err != nil || !de.IsDir() || !isFullSHA(de.Name()) || strings.ToLower(de.Name()) != de.Name() {
			_ = os.RemoveAll(p)
			continue
		}
		list = append(list, found{de.Name(), info.ModTime()})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].mod.Before(list[j].mod) })
	c.mu.Lock()
	for _, f := range list {
		c.clock++
		c.entries[f.sha] = &checkoutEntry{dir: filepath.Join(c.checkoutsDir, f.sha), used: c.clock}
	}
	garbage := c.evictLocked()
	c.mu.Unlock()
	removeAll(garbage)
	return nil
}

func (c *Cache) report(op string, start time.Time, err error) {
	if c.onRequest != nil {
		c.onRequest(op, time.Since(start), err)
	}
}

// Resolve turns a revision into a full commit SHA. A full 40-hex SHA is
// returned as is without network; "" and "HEAD" name the remote's default
// branch; a branch or tag name (or a full ref such as refs/heads/main) is
// looked up with one ls-remote, annotated tags resolving to their commit; a
// short SHA (7+ hex characters) is looked up in the cached objects, fetching
// the repository first when it is not there.
func (c *Cache) Resolve(ctx context.Context, url string, auth *Auth, revision string) (string, error) {
	rev := strings.TrimSpace(revision)
	if isFullSHA(rev) {
		return strings.ToLower(rev), nil
	}
	ep, err := endpoint(OpLsRemote, url)
	if err != nil {
		return "", err
	}
	am, err := c.authMethod(ctx, OpLsRemote, url, ep, auth)
	if err != nil {
		return "", err
	}
	refs, err := c.lsRemote(ctx, url, ep, auth, am)
	if err != nil {
		return "", err
	}
	if sha, ok := refs.match(rev); ok {
		return sha, nil
	}
	if isHex(rev) && len(rev) >= minShortSHA {
		return c.resolveShort(ctx, url, ep, auth, am, strings.ToLower(rev))
	}
	return "", revisionNotFound(OpLsRemote, url, auth, rev)
}

func revisionNotFound(op, url string, auth *Auth, rev string) error {
	detail := fmt.Sprintf("revision %q not found: no branch or tag has that name; use a branch, a tag, a commit SHA (full, or at least %d characters) or HEAD", rev, minShortSHA)
	if isHex(rev) && len(rev) < minShortSHA {
		detail = fmt.Sprintf("revision %q not found: short commit SHAs need at least %d characters", rev, minShortSHA)
	}
	return newError(op, url, auth, ErrRevisionNotFound, nil, detail)
}

// remoteRefs is an ls-remote result: ref name (peeled tags as name^{}) to
// SHA, and the ref HEAD points to when the server says.
type remoteRefs struct {
	hashes map[string]string
	head   string
}

func (r remoteRefs) match(rev string) (string, bool) {
	if rev == "" || rev == "HEAD" {
		if r.head != "" {
			if h, ok := r.hashes[r.head]; ok {
				return h, true
			}
		}
		h, ok := r.hashes["HEAD"]
		return h, ok
	}
	// Git's order for a short name: refs/<rev>, refs/tags/<rev>, refs/heads/<rev>.
	names := []string{rev}
	if !strings.HasPrefix(rev, "refs/") {
		names = []string{"refs/" + rev, "refs/tags/" + rev, "refs/heads/" + rev}
	}
	for _, n := range names {
		if h, ok := r.hashes[n+"^{}"]; ok {
			return h, true
		}
		if h, ok := r.hashes[n]; ok {
			return h, true
		}
	}
	return "", false
}

func (c *Cache) lsRemote(ctx context.Context, url string, ep *transport.Endpoint, auth *Auth, am transport.AuthMethod) (remoteRefs, error) {
	rem := gogit.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: gogit.DefaultRemoteName, URLs: []string{url}})
	start := time.Now()
	list, err := rem.ListContext(ctx, &gogit.ListOptions{Auth: am, PeelingOption: gogit.AppendPeeled})
	err = classify(OpLsRemote, url, auth, ep.Protocol == "ssh", err)
	c.report(OpLsRemote, start, err)
	if err != nil {
		return remoteRefs{}, err
	}
	r := remoteRefs{hashes: make(map[string]string, len(list))}
	for _, ref := range list {
		switch ref.Type() {
		case plumbing.HashReference:
			r.hashes[ref.Name().String()] = ref.Hash().String()
		case plumbing.SymbolicReference:
			if ref.Name() == plumbing.HEAD {
				r.head = ref.Target().String()
			}
		}
	}
	return r, nil
}

// repoKey names the bare repository of a URL: every spelling of the same
// repository shares one.
func repoKey(url string) string {
	sum := sha256.Sum256([]byte(matchKey(url)))
	return hex.EncodeToString(sum[:12])
}

// openRepo opens (creating if needed) the bare repository for url. Callers
// hold the URL's lock.
func (c *Cache) openRepo(op, url string) (*gogit.Repository, func(), error) {
	path := filepath.Join(c.reposDir, repoKey(url)+".git")
	open := func() (*gogit.Repository, *filesystem.Storage, error) {
		st := filesystem.NewStorageWithOptions(osfs.New(path), cache.NewObjectLRU(objectCacheSize), filesystem.Options{})
		r, err := gogit.Open(st, nil)
		return r, st, err
	}
	r, st, err := open()
	if err != nil {
		// Missing, or half-created by a run that stopped: start over.
		_ = os.RemoveAll(path)
		if err := os.MkdirAll(path, 0o700); err != nil {
			return nil, nil, newError(op, url, nil, nil, err, "cannot create the cache repository: check the cache directory's permissions")
		}
		st = filesystem.NewStorageWithOptions(osfs.New(path), cache.NewObjectLRU(objectCacheSize), filesystem.Options{})
		r, err = gogit.Init(st, nil)
		if err == nil {
			_, err = r.CreateRemote(&config.RemoteConfig{Name: gogit.DefaultRemoteName, URLs: []string{url}, Fetch: fetchRefSpecs})
		}
		if err != nil {
			_ = st.Close()
			return nil, nil, newError(op, url, nil, nil, err, "cannot create the cache repository: "+err.Error())
		}
	}
	return r, func() { _ = st.Close() }, nil
}

// fetch brings every branch and tag of url into repo. Callers hold the
// URL's lock.
func (c *Cache) fetch(ctx context.Context, repo *gogit.Repository, url string, ep *transport.Endpoint, auth *Auth, am transport.AuthMethod) error {
	start := time.Now()
	err := repo.FetchContext(ctx, &gogit.FetchOptions{
		RemoteName: gogit.DefaultRemoteName,
		RemoteURL:  url,
		RefSpecs:   fetchRefSpecs,
		Auth:       am,
		Tags:       gogit.NoTags,
		Force:      true,
	})
	if errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		err = nil
	}
	err = classify(OpFetch, url, auth, ep.Protocol == "ssh", err)
	c.report(OpFetch, start, err)
	return err
}

func (c *Cache) resolveShort(ctx context.Context, url string, ep *transport.Endpoint, auth *Auth, am transport.AuthMethod, prefix string) (string, error) {
	unlock, err := c.repoLocks.lock(ctx, repoKey(url))
	if err != nil {
		return "", classify(OpFetch, url, auth, false, err)
	}
	defer unlock()
	repo, closeRepo, err := c.openRepo(OpFetch, url)
	if err != nil {
		return "", err
	}
	defer closeRepo()
	matches := commitsWithPrefix(repo, prefix)
	if len(matches) == 0 {
		if err := c.fetch(ctx, repo, url, ep, auth, am); err != nil {
			return "", err
		}
		matches = commitsWithPrefix(repo, prefix)
	}
	switch len(matches) {
	case 0:
		return "", newError(OpFetch, url, auth, ErrRevisionNotFound, nil,
			fmt.Sprintf("revision %q not found: no branch or tag has that name and no commit of any branch or tag starts with it; use a branch, a tag, a commit SHA or HEAD", prefix))
	case 1:
		return matches[0], nil
	default:
		return "", newError(OpFetch, url, auth, ErrRevisionNotFound, nil,
			fmt.Sprintf("short commit SHA %q is ambiguous (%d commits start with it): give more characters", prefix, len(matches)))
	}
}

// commitsWithPrefix lists the commits in repo whose SHA starts with prefix.
func commitsWithPrefix(repo *gogit.Repository, prefix string) []string {
	type prefixer interface {
		HashesWithPrefix(prefix []byte) ([]plumbing.Hash, error)
	}
	p, ok := repo.Storer.(prefixer)
	if !ok {
		return nil
	}
	even, err := hex.DecodeString(prefix[:len(prefix)/2*2])
	if err != nil {
		return nil
	}
	hashes, err := p.HashesWithPrefix(even)
	if err != nil {
		return nil
	}
	var out []string
	for _, h := range hashes {
		s := h.String()
		if !strings.HasPrefix(s, prefix) {
			continue
		}
		if _, err := repo.CommitObject(h); err == nil {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// Checkout returns a directory holding the tree of commit sha (files as in
// the repository, no .git). The directory is shared and read-only: callers
// must not write to it, and call release when done with it (it may be
// removed after that). The commit is fetched into the URL's bare
// repository only when it is not there yet; the tree is written once per
// commit.
func (c *Cache) Checkout(ctx context.Context, url string, auth *Auth, sha string) (dir string, release func(), err error) {
	sha = strings.ToLower(strings.TrimSpace(sha))
	if !isFullSHA(sha) {
		return "", nil, newError("checkout", url, auth, ErrRevisionNotFound, nil,
			fmt.Sprintf("%q is not a full commit SHA: resolve the revision first", sha))
	}
	if d, rel, ok := c.acquire(sha); ok {
		return d, rel, nil
	}
	ep, err := endpoint(OpFetch, url)
	if err != nil {
		return "", nil, err
	}
	unlock, err := c.repoLocks.lock(ctx, repoKey(url))
	if err != nil {
		return "", nil, classify(OpFetch, url, auth, false, err)
	}
	defer unlock()
	// Another caller may have written it while we waited.
	if d, rel, ok := c.acquire(sha); ok {
		return d, rel, nil
	}
	tmp, err := c.materialize(ctx, url, ep, auth, sha)
	if err != nil {
		return "", nil, err
	}
	return c.register(url, auth, sha, tmp)
}

// acquire returns a held reference to an existing checkout.
func (c *Cache) acquire(sha string) (string, func(), bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[sha]
	if !ok {
		return "", nil, false
	}
	e.refs++
	c.clock++
	e.used = c.clock
	return e.dir, c.releaser(e), true
}

func (c *Cache) releaser(e *checkoutEntry) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			e.refs--
			c.clock++
			e.used = c.clock
			garbage := c.evictLocked()
			c.mu.Unlock()
			removeAll(garbage)
		})
	}
}

// materialize makes sure the commit is in the URL's bare repository and
// writes its tree to a new temporary directory. Callers hold the URL lock.
func (c *Cache) materialize(ctx context.Context, url string, ep *transport.Endpoint, auth *Auth, sha string) (string, error) {
	repo, closeRepo, err := c.openRepo(OpFetch, url)
	if err != nil {
		return "", err
	}
	defer closeRepo()
	h := plumbing.NewHash(sha)
	commit, err := repo.CommitObject(h)
	if err != nil {
		am, err := c.authMethod(ctx, OpFetch, url, ep, auth)
		if err != nil {
			return "", err
		}
		if err := c.fetch(ctx, repo, url, ep, auth, am); err != nil {
			return "", err
		}
		commit, err = repo.CommitObject(h)
		if err != nil {
			return "", newError(OpFetch, url, auth, ErrRevisionNotFound, err,
				fmt.Sprintf("commit %s not found in any branch or tag: check the revision (it may have been force-pushed away)", sha))
		}
	}
	tmp, err := os.MkdirTemp(c.tmpDir, "checkout-"+sha[:12]+"-")
	if err != nil {
		return "", newError("checkout", url, auth, nil, err, "cannot create a temporary directory: "+err.Error())
	}
	if err := writeTree(ctx, repo, commit, tmp); err != nil {
		_ = os.RemoveAll(tmp)
		if ctx.Err() != nil {
			return "", classify("checkout", url, auth, false, ctx.Err())
		}
		return "", newError("checkout", url, auth, nil, err, fmt.Sprintf("cannot write commit %s: %v", sha, err))
	}
	return tmp, nil
}

// register moves a written tree into place and returns a held reference.
func (c *Cache) register(url string, auth *Auth, sha, tmp string) (string, func(), error) {
	final := filepath.Join(c.checkoutsDir, sha)
	c.mu.Lock()
	e, ok := c.entries[sha]
	if !ok {
		if err := os.Rename(tmp, final); err != nil {
			if _, serr := os.Stat(final); serr != nil {
				c.mu.Unlock()
				removeAll([]string{tmp})
				return "", nil, newError("checkout", url, auth, nil, err, "cannot move the checkout into the cache: "+err.Error())
			}
			// Written by another process using the same directory: use it.
		} else {
			tmp = ""
		}
		e = &checkoutEntry{dir: final}
		c.entries[sha] = e
	}
	e.refs++
	c.clock++
	e.used = c.clock
	garbage := c.evictLocked()
	c.mu.Unlock()
	if tmp != "" {
		garbage = append(garbage, tmp)
	}
	removeAll(garbage)
	return final, c.releaser(e), nil
}

// evictLocked drops the least recently used checkouts nobody holds beyond
// the limit, moving them out of the way at once; the caller removes the
// returned paths after unlocking.
func (c *Cache) evictLocked() []string {
	if len(c.entries) <= c.max {
		return nil
	}
	var idle []string
	for sha, e := range c.entries {
		if e.refs == 0 {
			idle = append(idle, sha)
		}
	}
	sort.Slice(idle, func(i, j int) bool { return c.entries[idle[i]].used < c.entries[idle[j]].used })
	var garbage []string
	for _, sha := range idle {
		if len(c.entries) <= c.max {
			break
		}
		e := c.entries[sha]
		delete(c.entries, sha)
		trash := filepath.Join(c.tmpDir, "evicted-"+sha+"-"+fmt.Sprint(e.used))
		if err := os.Rename(e.dir, trash); err != nil {
			trash = e.dir
		}
		garbage = append(garbage, trash)
	}
	return garbage
}

func removeAll(paths []string) {
	for _, p := range paths {
		_ = os.RemoveAll(p)
	}
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case '0' <= r && r <= '9', 'a' <= r && r <= 'f', 'A' <= r && r <= 'F':
		default:
			return false
		}
	}
	return true
}

func isFullSHA(s string) bool { return len(s) == 40 && isHex(s) }
