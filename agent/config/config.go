// Package config owns the agent's settings objects in its own namespace:
// argolite-config today (health rules, images, the artifact repository,
// metrics), the notifications ConfigMap and Secret next. One watch on the
// ConfigMaps of that namespace feeds every role; a role parses the keys it
// owns with Parsed, which parses again only when the ConfigMap changed, so
// an edit applies at once and an unchanged one costs no request.
package config

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Source reads a ConfigMap of the agent's namespace: its data and its
// resourceVersion, both empty when it does not exist.
type Source interface {
	ConfigMap(ctx context.Context, name string) (data map[string]string, version string, err error)
	// Namespace is the agent's namespace, for messages.
	Namespace() string
}

// Store is the Source the agent runs with: a cache of the ConfigMaps in its
// namespace, kept by one watch. Add it to the manager; its informer is
// synced before any controller starts.
type Store struct {
	namespace string
	cache     cache.Cache
}

// NewStore watches the ConfigMaps of namespace.
func NewStore(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, namespace string) (*Store, error) {
	c, err := cache.New(cfg, cache.Options{
		Scheme:            scheme,
		DefaultNamespaces: map[string]cache.Config{namespace: {}},
		DefaultTransform:  cache.TransformStripManagedFields(),
	})
	if err != nil {
		return nil, fmt.Errorf("cache of the ConfigMaps in %s: %w", namespace, err)
	}
	// Registered now, so the manager waits for it before the controllers start.
	if _, err := c.GetInformer(ctx, &corev1.ConfigMap{}); err != nil {
		return nil, fmt.Errorf("watching the ConfigMaps in %s: %w", namespace, err)
	}
	return &Store{namespace: namespace, cache: c}, nil
}

// +kubebuilder:rbac:groups="",namespace=argolite-system,resources=configmaps,verbs=get;list;watch

// Start runs the watch until ctx ends (a manager Runnable).
func (s *Store) Start(ctx context.Context) error { return s.cache.Start(ctx) }

// GetCache puts the Store among the manager's caches, which it syncs first.
func (s *Store) GetCache() cache.Cache { return s.cache }

// Namespace is the agent's namespace.
func (s *Store) Namespace() string { return s.namespace }

// ConfigMap reads one ConfigMap from the watch's cache.
func (s *Store) ConfigMap(ctx context.Context, name string) (map[string]string, string, error) {
	return readConfigMap(ctx, s.cache, s.namespace, name)
}

// Reader is a Source that reads through a client on every call: for unit
// tests and out-of-manager tools.
type Reader struct {
	Client client.Reader
	NS     string
}

// Namespace is the namespace the ConfigMaps are read in.
func (r Reader) Namespace() string { return r.NS }

// ConfigMap reads one ConfigMap.
func (r Reader) ConfigMap(ctx context.Context, name string) (map[string]string, string, error) {
	return readConfigMap(ctx, r.Client, r.NS, name)
}

func readConfigMap(ctx context.Context, c client.Reader, namespace, name string) (map[string]string, string, error) {
	cm := &corev1.ConfigMap{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, cm); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, "", nil
		}
		return nil, "", fmt.Errorf("reading ConfigMap %s/%s: %w", namespace, name, err)
	}
	return cm.Data, cm.ResourceVersion, nil
}

// Parsed is what a role makes of one ConfigMap, made again only when the
// ConfigMap's resourceVersion changed. Errors reading the ConfigMap are
// returned as they are and not kept; the parse's own error is kept with its
// value until the next edit.
type Parsed[T any] struct {
	source Source
	name   string
	parse  func(data map[string]string) (T, error)

	mu      sync.Mutex
	done    bool
	version string
	value   T
	err     error
}

// NewParsed parses ConfigMap name of source with parse. parse gets nil data
// when the ConfigMap does not exist.
func NewParsed[T any](source Source, name string, parse func(data map[string]string) (T, error)) *Parsed[T] {
	return &Parsed[T]{source: source, name: name, parse: parse}
}

// Get returns the parse of the ConfigMap as it is now.
func (p *Parsed[T]) Get(ctx context.Context) (T, error) {
	data, version, err := p.source.ConfigMap(ctx, p.name)
	if err != nil {
		var zero T
		return zero, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.done || version != p.version {
		p.value, p.err = p.parse(data)
		p.version, p.done = version, true
	}
	return p.value, p.err
}
