package workflow

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// Synchronization: mutexes and ConfigMap-backed semaphores held by whole
// workflows or by template nodes. The state lives in the agent's memory and
// in each workflow's status.synchronization, from which it is rebuilt when
// the agent starts. A release wakes the waiters through a channel source,
// so a waiting workflow starts as soon as its lock is free.

// lockWaiter is a holder in line for a lock.
type lockWaiter struct {
	holder   string
	priority int32
	created  time.Time
}

// lockManager holds the locks of every workflow the agent runs.
type lockManager struct {
	mu       sync.Mutex
	loaded   bool
	held     map[string][]string
	waiting  map[string][]lockWaiter
	wake     chan event.GenericEvent
	listFunc func(context.Context) ([]argov1.Workflow, error)
}

func newLockManager(list func(context.Context) ([]argov1.Workflow, error)) *lockManager {
	return &lockManager{held: map[string][]string{}, waiting: map[string][]lockWaiter{}, wake: make(chan event.GenericEvent, 1024), listFunc: list}
}

// load rebuilds the held locks from the workflows' statuses once.
func (m *lockManager) load(ctx context.Context) error {
	if m.loaded {
		return nil
	}
	wfs, err := m.listFunc(ctx)
	if err != nil {
		return fmt.Errorf("reading held locks: %w", err)
	}
	for _, wf := range wfs {
		if wf.Status.Phase.Completed() || wf.Status.Synchronization == nil {
			continue
		}
		for _, ls := range []*argov1.LockStatus{wf.Status.Synchronization.Mutex, wf.Status.Synchronization.Semaphore} {
			if ls == nil {
				continue
			}
			for _, h := range ls.Holding {
				for _, holder := range h.Holders {
					if !contains(m.held[h.Lock], holder) {
						m.held[h.Lock] = append(m.held[h.Lock], holder)
					}
				}
			}
		}
	}
	m.loaded = true
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// acquire takes a lock for holder when fewer than limit hold it and no one
// ahead waits; otherwise it queues holder (priority first, then age).
func (m *lockManager) acquire(ctx context.Context, key, holder string, limit int, w lockWaiter) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.load(ctx); err != nil {
		return false, err
	}
	if contains(m.held[key], holder) {
		return true, nil
	}
	q := m.waiting[key]
	found := false
	for _, x := range q {
		found = found || x.holder == holder
	}
	if !found {
		w.holder = holder
		q = append(q, w)
		sort.SliceStable(q, func(i, j int) bool {
			if q[i].priority != q[j].priority {
				return q[i].priority > q[j].priority
			}
			return q[i].created.Before(q[j].created)
		})
	}
	free := limit - len(m.held[key])
	for i, x := range q {
		if i >= free {
			break
		}
		if x.holder == holder {
			m.held[key] = append(m.held[key], holder)
			m.waiting[key] = append(q[:i:i], q[i+1:]...)
			return true, nil
		}
	}
	m.waiting[key] = q
	return false, nil
}

// release frees holder's locks whose keys pass match, and wakes the waiters.
func (m *lockManager) release(match func(key, holder string) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for key, holders := range m.held {
		kept := holders[:0]
		freed := false
		for _, h := range holders {
			if match(key, h) {
				freed = true
				continue
			}
			kept = append(kept, h)
		}
		m.held[key] = kept
		if freed {
			for _, w := range m.waiting[key] {
				m.notify(w.holder)
			}
		}
	}
	for key, q := range m.waiting {
		kept := q[:0]
		for _, w := range q {
			if !match(key, w.holder) {
				kept = append(kept, w)
			}
		}
		m.waiting[key] = kept
	}
}

// notify enqueues the workflow of a holder ("ns/name" or "ns/name/node").
func (m *lockManager) notify(holder string) {
	parts := strings.SplitN(holder, "/", 3)
	if len(parts) < 2 {
		return
	}
	wf := &argov1.Workflow{ObjectMeta: metav1.ObjectMeta{Namespace: parts[0], Name: parts[1]}}
	select {
	case m.wake <- event.GenericEvent{Object: wf}:
	default: // the queue is full of wake-ups already; the next reconcile sees the lock free
	}
}

// workflowHolder is the holder name of a whole workflow.
func workflowHolder(wf *argov1.Workflow) string { return wf.Namespace + "/" + wf.Name }

// lockKeys turns a synchronization block into lock keys and limits.
func (o *operation) lockKeys(s *argov1.Synchronization) (keys []string, limits []int, kinds []string, err error) {
	for _, mx := range s.Mutexes {
		if mx.Name == "" {
			return nil, nil, nil, specError("synchronization.mutexes: a mutex needs a name")
		}
		ns := firstNonEmpty(mx.Namespace, o.wf.Namespace)
		keys = append(keys, ns+"/Mutex/"+mx.Name)
		limits = append(limits, 1)
		kinds = append(kinds, "mutex")
	}
	for _, sem := range s.Semaphores {
		ref := sem.ConfigMapKeyRef
		if ref == nil || ref.Name == "" || ref.Key == "" {
			return nil, nil, nil, specError("synchronization.semaphores: a semaphore needs configMapKeyRef name and key")
		}
		ns := firstNonEmpty(sem.Namespace, o.wf.Namespace)
		cm := &corev1.ConfigMap{}
		if err := o.r.APIReader.Get(o.ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, cm); err != nil {
			return nil, nil, nil, specError("semaphore ConfigMap %s/%s: %v", ns, ref.Name, err)
		}
		limit, err := strconv.Atoi(strings.TrimSpace(cm.Data[ref.Key]))
		if err != nil {
			return nil, nil, nil, specError("semaphore ConfigMap %s/%s key %q must hold a whole number, not %q", ns, ref.Name, ref.Key, cm.Data[ref.Key])
		}
		keys = append(keys, ns+"/ConfigMap/"+ref.Name+"/"+ref.Key)
		limits = append(limits, limit)
		kinds = append(kinds, "semaphore")
	}
	return keys, limits, kinds, nil
}

// acquireLocks takes every lock of s for holder; it returns the first lock
// it waits for, or "" when all are held.
func (o *operation) acquireLocks(s *argov1.Synchronization, holder string) (string, error) {
	keys, limits, kinds, err := o.lockKeys(s)
	if err != nil {
		return "", err
	}
	w := lockWaiter{created: o.wf.CreationTimestamp.Time}
	if o.spec.Priority != nil {
		w.priority = *o.spec.Priority
	}
	for i, key := range keys {
		ok, err := o.r.locks.acquire(o.ctx, key, holder, limits[i], w)
		if err != nil {
			return "", err
		}
		o.recordLock(kinds[i], key, holder, ok)
		if !ok {
			return key, nil
		}
	}
	return "", nil
}

// recordLock keeps status.synchronization in step with the lock state.
func (o *operation) recordLock(kind, key, holder string, holding bool) {
	st := o.wf.Status.Synchronization
	if st == nil {
		st = &argov1.SynchronizationStatus{}
		o.wf.Status.Synchronization = st
	}
	ls := &st.Mutex
	if kind == "semaphore" {
		ls = &st.Semaphore
	}
	if *ls == nil {
		*ls = &argov1.LockStatus{}
	}
	(*ls).Holding = removeHolder((*ls).Holding, key, holder)
	(*ls).Waiting = removeHolder((*ls).Waiting, key, holder)
	if holding {
		(*ls).Holding = addHolder((*ls).Holding, key, holder)
	} else {
		(*ls).Waiting = addHolder((*ls).Waiting, key, holder)
	}
}

// releaseLocks frees what holder holds (all of the workflow's when holder
// is the workflow) and records it.
func (o *operation) releaseLocks(holder string) {
	prefix := holder
	o.r.locks.release(func(_, h string) bool { return h == prefix || strings.HasPrefix(h, prefix+"/") })
	st := o.wf.Status.Synchronization
	if st == nil {
		return
	}
	for _, ls := range []*argov1.LockStatus{st.Mutex, st.Semaphore} {
		if ls == nil {
			continue
		}
		for _, list := range []*[]argov1.LockHolding{&ls.Holding, &ls.Waiting} {
			var out []argov1.LockHolding
			for _, h := range *list {
				var keep []string
				for _, x := range h.Holders {
					if x != prefix && !strings.HasPrefix(x, prefix+"/") {
						keep = append(keep, x)
					}
				}
				if len(keep) > 0 {
					h.Holders = keep
					out = append(out, h)
				}
			}
			*list = out
		}
	}
}

func removeHolder(list []argov1.LockHolding, key, holder string) []argov1.LockHolding {
	var out []argov1.LockHolding
	for _, h := range list {
		if h.Lock == key {
			var keep []string
			for _, x := range h.Holders {
				if x != holder {
					keep = append(keep, x)
				}
			}
			h.Holders = keep
		}
		if len(h.Holders) > 0 {
			out = append(out, h)
		}
	}
	return out
}

func addHolder(list []argov1.LockHolding, key, holder string) []argov1.LockHolding {
	for i := range list {
		if list[i].Lock == key {
			list[i].Holders = append(list[i].Holders, holder)
			return list
		}
	}
	return append(list, argov1.LockHolding{Lock: key, Holders: []string{holder}})
}

// lock takes the synchronization locks of the node name. While it waits for
// one it returns the node saying so; once it holds them, unlock gives them
// back if the node is done.
func (o *operation) lock(n *argov1.NodeStatus, name string, s *argov1.Synchronization, ref templateRef, opts execOpts) (waiting *argov1.NodeStatus, unlock func(), err error) {
	holder := workflowHolder(o.wf) + "/" + nodeID(o.wf, name)
	waitingFor, err := o.acquireLocks(s, holder)
	if err != nil {
		return nil, nil, err
	}
	if waitingFor != "" {
		if n == nil {
			n = o.initNode(name, argov1.NodeTypePod, ref, opts.boundaryID, argov1.NodePending, opts.flag, "")
		}
		n.Message = fmt.Sprintf("Waiting for %s lock", waitingFor)
		n.SynchronizationStatus = &argov1.NodeSynchronizationStatus{Waiting: waitingFor}
		o.setNode(n)
		return n, nil, nil
	}
	if n != nil && n.SynchronizationStatus != nil {
		n.SynchronizationStatus, n.Message = nil, ""
		o.setNode(n)
	}
	return nil, func() {
		if done := o.node(name); done != nil && done.Phase.Fulfilled() {
			o.releaseLocks(holder)
		}
	}, nil
}
