package gitops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/shared/agentmeta"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/appsource"
	"github.com/argolite/argolite/shared/diff"
	"github.com/argolite/argolite/shared/health"
)

// compareMemo remembers, per application and object, the resourceVersion at
// which the object was last compared and the result. When the watch cache
// shows the same resourceVersion and Git the same object, the comparison is
// reused: a resync with no change makes no API requests.
type compareMemo struct {
	mu    sync.Mutex
	byApp map[types.UID]map[string]memoEntry
}

type memoEntry struct {
	resourceVersion string
	desiredHash     string
	synced          bool
	health          health.Status
	message         string
}

func newCompareMemo() *compareMemo { return &compareMemo{byApp: map[types.UID]map[string]memoEntry{}} }

func (m *compareMemo) get(uid types.UID, id string) (memoEntry, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.byApp[uid][id]
	return e, ok
}

func (m *compareMemo) put(uid types.UID, id string, e memoEntry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byApp[uid] == nil {
		m.byApp[uid] = map[string]memoEntry{}
	}
	m.byApp[uid][id] = e
}

func (m *compareMemo) drop(uid types.UID, id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.byApp[uid], id)
}

func (m *compareMemo) forget(uid types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.byApp, uid)
}

// comparison is Git against the cluster for one application.
type comparison struct {
	resources  []argov1.ResourceStatus
	drifted    []string                     // objects that differ or are missing, described
	extraneous []*unstructured.Unstructured // inventory objects that left Git and still exist
	sync       argov1.SyncStatusCode
	health     argov1.HealthStatus
}

func hashObject(o *unstructured.Unstructured) string {
	b, _ := json.Marshal(o.Object)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// compareConcurrency bounds parallel dry-runs; the API server's priority and
// fairness does the rest.
const compareConcurrency = 8

// compare diffs every desired object with the live one by server-side
// dry-run, judges health, and finds inventory objects that left Git.
func (r *Reconciler) compare(ctx context.Context, app *argov1.Application, d *desired, ign *diff.Ignorer, checker *health.Checker) (*comparison, error) {
	results := make([]argov1.ResourceStatus, len(d.objects))
	synced := make([]bool, len(d.objects))
	messages := make([]string, len(d.objects))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(compareConcurrency)
	for i, obj := range d.objects {
		g.Go(func() error {
			e, err := r.compareOne(gctx, app, obj, d.hash(obj), ign, checker)
			if err != nil {
				return err
			}
			gvk := obj.GroupVersionKind()
			h := e.health
			results[i] = argov1.ResourceStatus{
				Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind,
				Namespace: obj.GetNamespace(), Name: obj.GetName(),
				Status: argov1.SyncStatusSynced,
				Health: &argov1.HealthStatus{Status: h.Code, Message: h.Message},
			}
			if !e.synced {
				results[i].Status = argov1.SyncStatusOutOfSync
			}
			synced[i], messages[i] = e.synced, e.message
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	c := &comparison{sync: argov1.SyncStatusSynced}
	var statuses []health.ResourceHealth
	for i, obj := range d.objects {
		if !synced[i] {
			c.drifted = append(c.drifted, appsource.Describe(obj)+messages[i])
		}
		statuses = append(statuses, health.ResourceHealth{Kind: obj.GetKind(), Name: obj.GetName(),
			Status: health.Status{Code: results[i].Health.Status, Message: results[i].Health.Message}})
	}

	extraneous, err := r.extraneous(ctx, app, d)
	if err != nil {
		return nil, err
	}
	for _, o := range extraneous {
		gvk := o.GroupVersionKind()
		results = append(results, argov1.ResourceStatus{
			Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind,
			Namespace: o.GetNamespace(), Name: o.GetName(),
			Status: argov1.SyncStatusOutOfSync, RequiresPruning: true,
		})
	}
	c.extraneous = extraneous
	c.resources = results
	if len(c.drifted) > 0 || len(extraneous) > 0 {
		c.sync = argov1.SyncStatusOutOfSync
	}
	agg := health.Aggregate(statuses)
	c.health = argov1.HealthStatus{Status: agg.Code, Message: agg.Message}
	return c, nil
}

// compareOne compares one object, reusing the memo when the watch cache shows
// it unchanged since.
func (r *Reconciler) compareOne(ctx context.Context, app *argov1.Application, obj *unstructured.Unstructured, hash string, ign *diff.Ignorer, checker *health.Checker) (memoEntry, error) {
	id := appsource.ObjectID(obj)
	gvk := obj.GroupVersionKind()
	key := client.ObjectKeyFromObject(obj)
	r.watcher.ensure(ctx, gvk)
	if rv, ok := r.watcher.resourceVersion(ctx, gvk, key); ok {
		if e, ok := r.memo.get(app.UID, id); ok && e.resourceVersion == rv && e.desiredHash == hash {
			return e, nil
		}
	}

	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(gvk)
	if err := r.Client.Get(ctx, key, live); err != nil {
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			r.memo.drop(app.UID, id)
			return memoEntry{health: health.Status{Code: argov1.HealthMissing}, message: ": missing"}, nil
		}
		return memoEntry{}, failed(argov1.ReasonCompareFailed, fmt.Errorf("reading %s: %w", appsource.Describe(obj), err))
	}
	e := memoEntry{resourceVersion: live.GetResourceVersion(), desiredHash: hash, health: checker.Check(live)}

	merged := obj.DeepCopy()
	err := r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(merged), client.DryRunAll, client.ForceOwnership, client.FieldOwner(agentmeta.FieldManager))
	switch {
	case err != nil:
		// The dry-run says what a sync would hit (an immutable field, a
		// webhook's refusal): out of sync, with the reason.
		e.message = ": " + err.Error()
	default:
		res, cerr := diff.Compare(live, merged, ign)
		if cerr != nil {
			return memoEntry{}, failed(argov1.ReasonCompareFailed, fmt.Errorf("%s: %w", appsource.Describe(obj), cerr))
		}
		e.synced = !res.Modified
		if res.Modified && len(res.Paths) > 0 {
			e.message = " (" + strings.Join(res.Paths, ", ") + ")"
		}
	}
	r.memo.put(app.UID, id, e)
	return e, nil
}

// knownInSync reports, without API requests, whether obj was compared in
// sync at the resourceVersion the watch cache shows now.
func (r *Reconciler) knownInSync(ctx context.Context, app *argov1.Application, obj *unstructured.Unstructured, hash string) bool {
	rv, ok := r.watcher.resourceVersion(ctx, obj.GroupVersionKind(), client.ObjectKeyFromObject(obj))
	if !ok {
		return false
	}
	e, ok := r.memo.get(app.UID, appsource.ObjectID(obj))
	return ok && e.synced && e.resourceVersion == rv && e.desiredHash == hash
}

// extraneous returns the inventory's objects that are no longer in Git but
// still exist and still carry this application's labels.
func (r *Reconciler) extraneous(ctx context.Context, app *argov1.Application, d *desired) ([]*unstructured.Unstructured, error) {
	if app.Status.Inventory == nil {
		return nil, nil
	}
	want := map[string]bool{}
	for _, o := range d.objects {
		want[appsource.ObjectID(o)] = true
	}
	var out []*unstructured.Unstructured
	for _, e := range app.Status.Inventory.Entries {
		if want[e.ID] {
			continue
		}
		o, err := appsource.InventoryObject(e)
		if err != nil {
			continue
		}
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(o.GroupVersionKind())
		if err := r.Client.Get(ctx, client.ObjectKeyFromObject(o), m); err != nil {
			if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
				continue
			}
			return nil, failed(argov1.ReasonCompareFailed, fmt.Errorf("reading %s: %w", appsource.Describe(o), err))
		}
		if m.GetLabels()[argov1.LabelAppName] != app.Name || m.GetLabels()[argov1.LabelAppNamespace] != app.Namespace {
			continue // adopted by someone else since
		}
		o.SetLabels(m.GetLabels())
		o.SetAnnotations(m.GetAnnotations())
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return appsource.ObjectID(out[i]) < appsource.ObjectID(out[j]) })
	return out, nil
}
