package imageconfig

import (
	"container/list"
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const (
	// cacheSize bounds each cache: configs are small, a cluster's step
	// images a few hundred at most.
	cacheSize = 512
	// tagTTL is how long a tag is taken to point at the digest it did: a
	// pushed-over tag is seen again after it, without asking the registry
	// on every Pod.
	tagTTL = 3 * time.Minute
	// timeout bounds one lookup, which runs in the reconcile loop.
	timeout = 20 * time.Second
)

// Image is what a lookup found of an image: its entrypoint and command.
type Image struct {
	Entrypoint []string
	Cmd        []string
}

// Resolver looks image configs up in their registries and caches them.
// Configs are cached by the image reference (its mirror place) without
// regard to who asked: as in Argo, a namespace can learn the entrypoint of
// an image another namespace pulled with its own secret, never its layers.
type Resolver struct {
	// Platform is the platform an index is resolved for; empty is
	// linux on the agent's architecture.
	Platform *v1.Platform

	mu      sync.Mutex
	configs *lru[Image]        // by manifest digest (repository@sha256:...)
	tags    *lru[taggedDigest] // by tag reference
	now     func() time.Time
}

type taggedDigest struct {
	digest  string
	expires time.Time
}

// NewResolver is an empty resolver.
func NewResolver() *Resolver {
	return &Resolver{configs: newLRU[Image](cacheSize), tags: newLRU[taggedDigest](cacheSize), now: time.Now}
}

// Lookup is image's entrypoint and command. keychain is called only when
// the registry must be asked; mirrors say where to ask.
func (r *Resolver) Lookup(ctx context.Context, image string, mirrors Mirrors, keychain func(context.Context) (authn.Keychain, error)) (Image, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return Image{}, fmt.Errorf("image reference %q: %w", image, err)
	}
	place, opts, err := mirrors.Resolve(ref)
	if err != nil {
		return Image{}, err
	}
	if img, ok := r.cached(place); ok {
		return img, nil
	}
	kc, err := keychain(ctx)
	if err != nil {
		return Image{}, err
	}
	// The credentials are the upstream registry's, as the kubelet matches
	// pull secrets against the image's name even when containerd pulls
	// from a mirror.
	auth, err := kc.Resolve(ref.Context())
	if err != nil {
		return Image{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	platform := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	if r.Platform != nil {
		platform = *r.Platform
	}
	opts = append(opts, remote.WithContext(ctx), remote.WithAuth(auth), remote.WithPlatform(platform))
	desc, err := remote.Get(place, opts...)
	if err != nil {
		return Image{}, fmt.Errorf("reading %s: %w", place, err)
	}
	v1img, err := desc.Image()
	if err != nil {
		return Image{}, fmt.Errorf("reading %s for %s: %w", place, platform, err)
	}
	cf, err := v1img.ConfigFile()
	if err != nil {
		return Image{}, fmt.Errorf("reading the config of %s: %w", place, err)
	}
	img := Image{Entrypoint: cf.Config.Entrypoint, Cmd: cf.Config.Cmd}
	r.store(place, desc.Digest.String(), img)
	return img, nil
}

func (r *Resolver) cached(place name.Reference) (Image, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := place.Context().Name() + "@" + place.Identifier()
	if _, ok := place.(name.Tag); ok {
		t, ok := r.tags.get(place.Name())
		if !ok || r.now().After(t.expires) {
			return Image{}, false
		}
		key = place.Context().Name() + "@" + t.digest
	}
	return r.configs.get(key)
}

func (r *Resolver) store(place name.Reference, digest string, img Image) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := place.(name.Tag); ok {
		r.tags.put(place.Name(), taggedDigest{digest: digest, expires: r.now().Add(tagTTL)})
	}
	r.configs.put(place.Context().Name()+"@"+digest, img)
}

// lru is a bounded map dropping the least recently used entry; the
// Resolver's lock guards it.
type lru[V any] struct {
	max   int
	order *list.List // of *lruEntry[V], most recent first
	items map[string]*list.Element
}

type lruEntry[V any] struct {
	key string
	val V
}

func newLRU[V any](max int) *lru[V] {
	return &lru[V]{max: max, order: list.New(), items: map[string]*list.Element{}}
}

func (l *lru[V]) get(key string) (V, bool) {
	e, ok := l.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	l.order.MoveToFront(e)
	return e.Value.(*lruEntry[V]).val, true
}

func (l *lru[V]) put(key string, val V) {
	if e, ok := l.items[key]; ok {
		e.Value.(*lruEntry[V]).val = val
		l.order.MoveToFront(e)
		return
	}
	l.items[key] = l.order.PushFront(&lruEntry[V]{key: key, val: val})
	if l.order.Len() > l.max {
		last := l.order.Back()
		l.order.Remove(last)
		delete(l.items, last.Value.(*lruEntry[V]).key)
	}
}
