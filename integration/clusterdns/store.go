package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
)

// records is what the resolver reads: Services and their EndpointSlices.
type records interface {
	// synced reports whether the caches hold a full list yet.
	synced() bool
	service(namespace, name string) *corev1.Service
	endpointSlices(namespace, service string) []*discoveryv1.EndpointSlice
	hasServices(namespace string) bool
}

// informerStore answers from client-go informer caches. Objects from the
// listers are shared: read them, never change them.
type informerStore struct {
	factory   informers.SharedInformerFactory
	services  corelisters.ServiceLister
	slices    discoverylisters.EndpointSliceLister
	hasSynced []cache.InformerSynced

	logf      func(format string, args ...any)
	mu        sync.Mutex
	lastError string
	loggedAt  time.Time
}

// newInformerStore registers the Service and EndpointSlice informers; run
// start to begin watching. Watch errors go to logf, each distinct one once
// (again after 5 minutes), not once per retry.
func newInformerStore(client kubernetes.Interface, logf func(format string, args ...any)) *informerStore {
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(stripManagedFields))
	svc := factory.Core().V1().Services()
	eps := factory.Discovery().V1().EndpointSlices()
	s := &informerStore{
		factory:   factory,
		services:  svc.Lister(),
		slices:    eps.Lister(),
		hasSynced: []cache.InformerSynced{svc.Informer().HasSynced, eps.Informer().HasSynced},
		logf:      logf,
	}
	// Errors only before Start; they cannot happen here.
	_ = svc.Informer().SetWatchErrorHandlerWithContext(s.watchError("Services"))
	_ = eps.Informer().SetWatchErrorHandlerWithContext(s.watchError("EndpointSlices"))
	return s
}

func (s *informerStore) watchError(what string) cache.WatchErrorHandlerWithContext {
	return func(_ context.Context, _ *cache.Reflector, err error) {
		// A watch that ends or expires is routine: the reflector lists again.
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
			return
		}
		msg := fmt.Sprintf("watching %s: %v", what, err)
		s.mu.Lock()
		repeat := msg == s.lastError && time.Since(s.loggedAt) < 5*time.Minute
		if !repeat {
			s.lastError, s.loggedAt = msg, time.Now()
		}
		s.mu.Unlock()
		if !repeat {
			s.logf("error: %s", msg)
		}
	}
}

// stripManagedFields keeps the caches small: the resolver never reads them.
func stripManagedFields(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

func (s *informerStore) start(stop <-chan struct{}) { s.factory.Start(stop) }

// waitForSync blocks until the caches are full or stop closes.
func (s *informerStore) waitForSync(stop <-chan struct{}) bool {
	return cache.WaitForCacheSync(stop, s.hasSynced...)
}

func (s *informerStore) synced() bool {
	for _, f := range s.hasSynced {
		if !f() {
			return false
		}
	}
	return true
}

func (s *informerStore) service(namespace, name string) *corev1.Service {
	svc, err := s.services.Services(namespace).Get(name)
	if err != nil {
		return nil
	}
	return svc
}

func (s *informerStore) endpointSlices(namespace, service string) []*discoveryv1.EndpointSlice {
	sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: service})
	slices, err := s.slices.EndpointSlices(namespace).List(sel)
	if err != nil {
		return nil
	}
	return slices
}

func (s *informerStore) hasServices(namespace string) bool {
	svcs, err := s.services.Services(namespace).List(labels.Everything())
	return err == nil && len(svcs) > 0
}
