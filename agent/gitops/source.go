package gitops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/shared/agentmeta"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/appsource"
	"github.com/argolite/argolite/shared/git"
	"github.com/argolite/argolite/shared/health"
	"github.com/argolite/argolite/shared/render"
)

// desired is what Git says the application should be at a revision.
type desired struct {
	// key identifies the inputs (revisions and source spec): equal keys render equally.
	key       string
	revision  string
	revisions []string
	source    *argov1.ApplicationSource
	objects   []*unstructured.Unstructured // plain resources, with owner labels and namespaces set
	hooks     []*unstructured.Unstructured // hook objects
	// hashes holds each object's content hash by ObjectID, computed once per
	// render: the compare memo is keyed by it on every reconcile.
	hashes map[string]string
}

// hash is the content hash of one of d's objects.
func (d *desired) hash(o *unstructured.Unstructured) string {
	if h, ok := d.hashes[appsource.ObjectID(o)]; ok {
		return h
	}
	return hashObject(o)
}

// stepError is a failed reconcile step with the Ready reason it sets.
type stepError struct {
	reason string
	err    error
}

func (e *stepError) Error() string { return e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

func failed(reason string, err error) error { return &stepError{reason: reason, err: err} }

// renderCache keeps each application's last rendered results, so a
// reconcile whose revision and spec did not change neither fetches nor
// renders. It holds two per application: the spec's and a running
// operation's (a rollback or a pinned revision).
type renderCache struct {
	mu    sync.Mutex
	byApp map[types.UID][]*desired
}

func newRenderCache() *renderCache { return &renderCache{byApp: map[types.UID][]*desired{}} }

func (c *renderCache) get(uid types.UID, key string) *desired {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range c.byApp[uid] {
		if d.key == key {
			return d
		}
	}
	return nil
}

func (c *renderCache) put(uid types.UID, d *desired) {
	c.mu.Lock()
	defer c.mu.Unlock()
	list := append([]*desired{d}, c.byApp[uid]...)
	if len(list) > 2 {
		list = list[:2]
	}
	c.byApp[uid] = list
}

func (c *renderCache) forget(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byApp, uid)
}

// credentials finds the auth for a repository: the source's secretRef, else
// labelled repository Secrets in the application's and the agent's namespace.
func (r *Reconciler) credentials(ctx context.Context, app *argov1.Application, src argov1.ApplicationSource) (*git.Auth, error) {
	if src.SecretRef != nil {
		var s corev1.Secret
		key := types.NamespacedName{Namespace: app.Namespace, Name: src.SecretRef.Name}
		if err := r.APIReader.Get(ctx, key, &s); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, failed(argov1.ReasonAuthFailed, fmt.Errorf("source %s: secretRef %s not found in namespace %s: create it with the repository's username/password or sshPrivateKey", src.RepoURL, src.SecretRef.Name, app.Namespace))
			}
			return nil, fmt.Errorf("reading Secret %s: %w", key, err)
		}
		auth, _, err := git.AuthFromSecretData(s.Data)
		if err != nil {
			return nil, failed(argov1.ReasonAuthFailed, fmt.Errorf("repository secret %s: %w", key, err))
		}
		return auth, nil
	}
	var candidates []git.CredentialCandidate
	for _, ns := range uniq(app.Namespace, r.Options.Namespace) {
		found, err := r.creds.list(ctx, r.APIReader, ns)
		if err != nil {
			return nil, err
		}
		candidates = append(candidates, found...)
	}
	auth, _ := git.MatchCredentials(src.RepoURL, candidates)
	return auth, nil
}

// credentialCache keeps each namespace's labelled repository Secrets for a
// short while, so a poll that finds nothing new costs one ls-remote and no
// API requests. A fixed Secret is seen within credentialTTL.
type credentialCache struct {
	mu   sync.Mutex
	byNS map[string]cachedCredentials
}

type cachedCredentials struct {
	read       time.Time
	candidates []git.CredentialCandidate
}

const credentialTTL = 30 * time.Second

func (c *credentialCache) list(ctx context.Context, reader client.Reader, ns string) ([]git.CredentialCandidate, error) {
	c.mu.Lock()
	if e, ok := c.byNS[ns]; ok && time.Since(e.read) < credentialTTL {
		c.mu.Unlock()
		return e.candidates, nil
	}
	c.mu.Unlock()
	var out []git.CredentialCandidate
	for _, label := range git.CredentialLabels {
		var list corev1.SecretList
		if err := reader.List(ctx, &list, client.InNamespace(ns), client.HasLabels{label}); err != nil {
			if apierrors.IsForbidden(err) {
				continue
			}
			return nil, fmt.Errorf("listing repository Secrets in %s: %w", ns, err)
		}
		out = append(out, git.CredentialCandidates(label, list.Items)...)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byNS == nil {
		c.byNS = map[string]cachedCredentials{}
	}
	c.byNS[ns] = cachedCredentials{read: time.Now(), candidates: out}
	return out, nil
}

func uniq(items ...string) []string {
	var out []string
	for _, s := range items {
		if s != "" && !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// gitFailure maps a shared/git error to the Ready reason that names it.
func gitFailure(err error) error {
	switch {
	case errors.Is(err, git.ErrAuthentication):
		return failed(argov1.ReasonAuthFailed, err)
	case errors.Is(err, git.ErrRevisionNotFound):
		return failed(argov1.ReasonRevisionMissing, err)
	default:
		return failed(argov1.ReasonGitFailed, err)
	}
}

// loadDesired resolves each source's revision (ls-remote only) and renders
// them, reusing the last render when neither the revisions nor the sources
// changed.
func (r *Reconciler) loadDesired(ctx context.Context, app *argov1.Application, op *argov1.SyncOperation) (*desired, error) {
	srcs := appsource.Sources(app, op)
	if len(srcs) == 0 {
		return nil, failed(argov1.ReasonInvalidSpec, errors.New("spec.source: set source (or sources) to a Git repository"))
	}
	auths := make([]*git.Auth, len(srcs))
	shas := make([]string, len(srcs))
	for i, src := range srcs {
		auth, err := r.credentials(ctx, app, src)
		if err != nil {
			return nil, err
		}
		sha, err := r.Git.Resolve(ctx, src.RepoURL, auth, src.TargetRevision)
		if err != nil {
			return nil, gitFailure(err)
		}
		auths[i], shas[i] = auth, sha
	}
	specJSON, _ := json.Marshal(struct {
		S []argov1.ApplicationSource
		D argov1.ApplicationDestination
		R []string
	}{srcs, app.Spec.Destination, shas})
	sum := sha256.Sum256(specJSON)
	key := hex.EncodeToString(sum[:])
	if d := r.renders.get(app.UID, key); d != nil {
		return d, nil
	}

	// Check out every source; ref sources lend their trees to Helm value files.
	dirs := make([]string, len(srcs))
	refs := map[string]string{}
	for i, src := range srcs {
		dir, release, err := r.Git.Checkout(ctx, src.RepoURL, auths[i], shas[i])
		if err != nil {
			return nil, gitFailure(err)
		}
		defer release()
		dirs[i] = dir
		if src.Ref != "" {
			refs[src.Ref] = dir
		}
	}
	var objects []*unstructured.Unstructured
	for i, src := range srcs {
		if appsource.RefOnly(src) {
			continue
		}
		objs, err := render.Render(ctx, render.Input{
			Root:      dirs[i],
			Source:    src,
			Refs:      refs,
			AppName:   app.Name,
			Namespace: appsource.DestNamespace(app),
		})
		if err != nil {
			return nil, failed(argov1.ReasonRenderFailed, fmt.Errorf("revision %s: %w", short(shas[i]), err))
		}
		objects = append(objects, objs...)
	}
	d := &desired{key: key, revisions: shas}
	for i, src := range srcs {
		if !appsource.RefOnly(src) && d.revision == "" {
			d.revision = shas[i]
			d.source = srcs[i].DeepCopy()
		}
	}
	if d.revision == "" {
		return nil, failed(argov1.ReasonInvalidSpec, errors.New("spec.sources: every source has only a ref; give at least one source a path to render"))
	}
	if err := r.prepare(app, d, objects); err != nil {
		return nil, err
	}
	r.renders.put(app.UID, d)
	return d, nil
}

// prepare labels, namespaces and splits the rendered objects as
// shared/appsource does, mapping its errors to Ready reasons.
func (r *Reconciler) prepare(app *argov1.Application, d *desired, objects []*unstructured.Unstructured) error {
	out, err := appsource.Prepare(app, objects, r.Mapper)
	var unknown *appsource.UnknownKindError
	var dup *appsource.DuplicateError
	var noName *appsource.NoNameError
	switch {
	case errors.As(err, &unknown):
		return failed(argov1.ReasonUnknownKind, err)
	case errors.As(err, &dup), errors.As(err, &noName):
		return failed(argov1.ReasonRenderFailed, err)
	case err != nil:
		return failed(argov1.ReasonCompareFailed, err)
	}
	d.objects, d.hooks = out.Objects, out.Hooks
	d.hashes = make(map[string]string, len(d.objects))
	for _, o := range d.objects {
		d.hashes[appsource.ObjectID(o)] = hashObject(o)
	}
	return nil
}

// healthRules parses argolite-config's custom health rules. A bad rule is
// reported and the built-in rules judge health meanwhile.
func healthRules(namespace string) func(data map[string]string) (*health.Checker, error) {
	return func(data map[string]string) (*health.Checker, error) {
		checker, err := health.NewChecker(data)
		if err != nil {
			builtin, _ := health.NewChecker(nil)
			return builtin, fmt.Errorf("ConfigMap %s/%s: %w", namespace, agentmeta.ConfigMapName, err)
		}
		return checker, nil
	}
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
