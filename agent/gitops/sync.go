package gitops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/jsondiff"
	ssautils "github.com/fluxcd/pkg/ssa/utils"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/shared/agentmeta"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/appsource"
	"github.com/argolite/argolite/shared/diff"
	"github.com/argolite/argolite/shared/duration"
	"github.com/argolite/argolite/shared/health"
)

// Sync phases in the order they run.
var phaseOrder = map[string]int{hookPreSync: 0, hookSync: 1, hookPostSync: 2}

// step is one (phase, wave) group of a sync, or the prune step.
type step struct {
	phase     string
	wave      int64
	resources []*unstructured.Unstructured
	hooks     []*unstructured.Unstructured
	prune     bool
}

func (s step) String() string {
	if s.prune {
		return "prune"
	}
	return fmt.Sprintf("%s wave %d", s.phase, s.wave)
}

// plan orders a sync: PreSync hooks, the Sync phase's waves (resources and
// Sync hooks together), prune, then PostSync hooks, each phase by wave; with
// PruneLast the prune step moves to the very end.
func plan(d *desired, resources []*unstructured.Unstructured, runHooks, pruneLast bool) []step {
	type key struct {
		phase int
		wave  int64
	}
	groups := map[key]*step{}
	add := func(phase string, wave int64) *step {
		k := key{phaseOrder[phase], wave}
		if groups[k] == nil {
			groups[k] = &step{phase: phase, wave: wave}
		}
		return groups[k]
	}
	for _, o := range resources {
		s := add(hookSync, waveOf(o))
		s.resources = append(s.resources, o)
	}
	if runHooks {
		for _, h := range d.hooks {
			for _, t := range appsource.HookTypes(h) {
				if _, ok := phaseOrder[t]; ok {
					s := add(t, waveOf(h))
					s.hooks = append(s.hooks, h)
				}
			}
		}
	}
	keys := make([]key, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].phase != keys[j].phase {
			return keys[i].phase < keys[j].phase
		}
		return keys[i].wave < keys[j].wave
	})
	var steps []step
	pruneAt := -1
	for _, k := range keys {
		if !pruneLast && k.phase > phaseOrder[hookSync] && pruneAt < 0 {
			pruneAt = len(steps)
			steps = append(steps, step{prune: true, phase: hookSync})
		}
		steps = append(steps, *groups[k])
	}
	if pruneAt < 0 {
		steps = append(steps, step{prune: true, phase: hookSync})
	}
	return steps
}

// syncFailHooks are the hooks that run when a sync fails.
func syncFailHooks(d *desired) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, h := range d.hooks {
		for _, t := range appsource.HookTypes(h) {
			if t == hookSyncFail {
				out = append(out, h)
			}
		}
	}
	return out
}

// opContext is what one reconcile of a running operation works with.
type opContext struct {
	app     *argov1.Application
	state   *argov1.OperationState
	d       *desired
	options syncOptions
	ign     *diff.Ignorer
	checker *health.Checker
	rm      *ssa.ResourceManager
	dryRun  bool
	prune   bool
	partial bool
}

// syncID identifies one operation; hooks carry it so a restarted agent
// adopts the hooks it created instead of creating them twice.
func syncID(state *argov1.OperationState) string {
	// startedAt is stored with second precision: use only what survives the round trip.
	sum := sha256.Sum256([]byte(strconv.FormatInt(state.StartedAt.Unix(), 10) + "/" + state.SyncResult.Revision))
	return hex.EncodeToString(sum[:])[:10]
}

// errWaiting means the operation is waiting for health or hooks.
var errWaiting = errors.New("waiting")

// runOperation advances a running operation as far as it can go now: each
// (phase, wave) step is applied, then waited for; a restarted agent resumes
// at status.operationState.completedSteps.
func (r *Reconciler) runOperation(ctx context.Context, oc *opContext) error {
	st := oc.state
	if failing(st) {
		return r.runSyncFail(ctx, oc, "")
	}
	sel := st.Operation.Sync
	resources := oc.d.objects
	if oc.partial {
		resources = selectResources(resources, sel.Resources)
	}
	steps := plan(oc.d, resources, !oc.dryRun && !oc.partial, oc.options.on("PruneLast"))
	if deadline := st.StartedAt.Add(r.Options.SyncTimeout); time.Now().After(deadline) {
		return r.runSyncFail(ctx, oc, fmt.Sprintf("sync did not finish within --sync-timeout %s at %s", r.Options.SyncTimeout, st.Message))
	}
	for i := int(st.CompletedSteps); i < len(steps); i++ {
		s := steps[i]
		if err := r.applyStep(ctx, oc, s); err != nil {
			if errors.Is(err, errWaiting) {
				return err
			}
			return r.runSyncFail(ctx, oc, fmt.Sprintf("%s: %v", s, err))
		}
		done, msg, err := r.stepDone(ctx, oc, s, lastWithWork(steps, i))
		if err != nil {
			return r.runSyncFail(ctx, oc, fmt.Sprintf("%s: %v", s, err))
		}
		if !done {
			st.Message = fmt.Sprintf("%s: %s", s, msg)
			return errWaiting
		}
		st.CompletedSteps = int64(i + 1)
	}
	r.finishOperation(ctx, oc, argov1.OperationSucceeded, successMessage(oc))
	return nil
}

// lastWithWork reports whether no step after i applies or runs anything: the
// health of step i's resources then gates nothing and is not waited for.
func lastWithWork(steps []step, i int) bool {
	for _, s := range steps[i+1:] {
		if !s.prune && (len(s.resources) > 0 || len(s.hooks) > 0) {
			return false
		}
	}
	return true
}

func successMessage(oc *opContext) string {
	switch {
	case oc.dryRun:
		return "successfully synced (dry run: nothing changed)"
	case oc.partial:
		return "successfully synced the selected resources"
	default:
		return "successfully synced (all tasks run)"
	}
}

func selectResources(objs []*unstructured.Unstructured, sel []argov1.SyncOperationResource) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		for _, s := range sel {
			if o.GroupVersionKind().Group == s.Group && o.GetKind() == s.Kind && o.GetName() == s.Name &&
				(s.Namespace == "" || s.Namespace == o.GetNamespace()) {
				out = append(out, o)
				break
			}
		}
	}
	return out
}

// result finds or adds the operation's result for an object in a phase.
func result(st *argov1.OperationState, o *unstructured.Unstructured, phase string) *argov1.ResourceResult {
	gvk := o.GroupVersionKind()
	for i := range st.SyncResult.Resources {
		r := &st.SyncResult.Resources[i]
		if r.Group == gvk.Group && r.Kind == gvk.Kind && r.Namespace == o.GetNamespace() && r.Name == o.GetName() && r.SyncPhase == phase {
			return r
		}
	}
	st.SyncResult.Resources = append(st.SyncResult.Resources, argov1.ResourceResult{
		Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: o.GetNamespace(), Name: o.GetName(),
		SyncPhase: phase, SyncWave: waveOf(o),
	})
	return &st.SyncResult.Resources[len(st.SyncResult.Resources)-1]
}

// hookResult finds the result of a hook by its template (a generateName hook's
// real name is only known once created).
func hookResult(st *argov1.OperationState, h *unstructured.Unstructured, phase string) *argov1.ResourceResult {
	gvk := h.GroupVersionKind()
	want := hookName(st, h)
	for i := range st.SyncResult.Resources {
		r := &st.SyncResult.Resources[i]
		if r.Group == gvk.Group && r.Kind == gvk.Kind && r.Namespace == h.GetNamespace() && r.Name == want && r.SyncPhase == phase {
			return r
		}
	}
	return nil
}

// hookName is the name a hook is created with: its own, or its generateName
// plus a suffix fixed by the operation, so a resumed sync finds it again.
func hookName(st *argov1.OperationState, h *unstructured.Unstructured) string {
	if h.GetName() != "" {
		return h.GetName()
	}
	name := h.GetGenerateName() + syncID(st)[:5]
	if len(name) > 63 {
		name = name[len(name)-63:]
	}
	return name
}

// applyStep applies a step's resources with server-side apply (staged: CRDs
// and Namespaces first) and creates its hooks, recording each in the
// operation's results. Steps already applied are skipped.
func (r *Reconciler) applyStep(ctx context.Context, oc *opContext, s step) error {
	st := oc.state
	if s.prune {
		return r.pruneStep(ctx, oc)
	}
	var todo []*unstructured.Unstructured
	for _, o := range s.resources {
		res := result(st, o, s.phase)
		if res.Status != "" && res.Status != "SyncFailed" {
			continue
		}
		// An object compared in sync at its current resourceVersion would be
		// left unchanged by server-side apply: skip the requests (this is
		// what makes a no-change sync cheap). Objects with ignored fields are
		// applied anyway unless RespectIgnoreDifferences, as Argo CD does.
		if !oc.dryRun && r.knownInSync(ctx, oc.app, o, oc.d.hash(o)) && (oc.options.on("RespectIgnoreDifferences") || len(oc.ign.Matches(o)) == 0) {
			res.Status = "Synced"
			res.Message = "unchanged"
			continue
		}
		todo = append(todo, o)
	}
	if len(todo) > 0 {
		if err := r.applyResources(ctx, oc, s, todo); err != nil {
			return err
		}
	}
	if oc.dryRun {
		return nil
	}
	for _, h := range s.hooks {
		if res := hookResult(st, h, s.phase); res != nil && res.HookPhase != "" {
			continue
		}
		if err := r.createHook(ctx, oc, h, s.phase); err != nil {
			return err
		}
	}
	return nil
}

func (r *Reconciler) applyOptions(oc *opContext, objs []*unstructured.Unstructured) ssa.ApplyOptions {
	o := ssa.DefaultApplyOptions()
	o.WaitTimeout = r.Options.SyncTimeout
	o.WaitInterval = time.Second
	o.Force = oc.options.on("Replace")
	o.Cleanup = ssa.ApplyCleanupOptions{
		Annotations: []string{corev1.LastAppliedConfigAnnotation},
		FieldManagers: []ssa.FieldManager{
			{Name: "kubectl", OperationType: metav1.ManagedFieldsOperationApply},
			{Name: "kubectl-client-side-apply", OperationType: metav1.ManagedFieldsOperationUpdate},
			{Name: "before-first-apply", OperationType: metav1.ManagedFieldsOperationUpdate},
		},
	}
	if oc.options.on("RespectIgnoreDifferences") {
		o.DriftIgnoreRules = ignoreRules(oc.app.Spec.IgnoreDifferences)
	}
	return o
}

// ignoreRules turns ignoreDifferences' JSON pointers into ssa's drift rules,
// so a sync leaves those fields to their current owner (an HPA's replicas).
func ignoreRules(in []argov1.ResourceIgnoreDifferences) []jsondiff.IgnoreRule {
	var out []jsondiff.IgnoreRule
	exact := func(s string) string {
		if s == "" {
			return ""
		}
		return "^" + regexp.QuoteMeta(s) + "$"
	}
	for _, d := range in {
		if len(d.JSONPointers) == 0 {
			continue
		}
		out = append(out, jsondiff.IgnoreRule{
			Paths: d.JSONPointers,
			Selector: &jsondiff.Selector{
				Group: exact(d.Group), Kind: exact(d.Kind), Name: exact(d.Name), Namespace: exact(d.Namespace),
			},
		})
	}
	return out
}

func (r *Reconciler) applyResources(ctx context.Context, oc *opContext, s step, objs []*unstructured.Unstructured) error {
	st := oc.state
	copies := make([]*unstructured.Unstructured, len(objs))
	missing := make([]bool, len(objs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(compareConcurrency)
	for i, o := range objs {
		g.Go(func() error {
			c := o.DeepCopy()
			copies[i] = c
			live := &unstructured.Unstructured{}
			live.SetGroupVersionKind(c.GroupVersionKind())
			err := r.Client.Get(gctx, client.ObjectKeyFromObject(c), live)
			switch {
			case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
				missing[i] = true
			case err != nil:
				return fmt.Errorf("reading %s: %w", appsource.Describe(c), err)
			case oc.options.on("RespectIgnoreDifferences") && oc.ign != nil:
				return oc.ign.Strip(c, live)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}

	// New objects are created with one server-side apply each, in parallel;
	// objects that exist go through ssa, which patches only what drifted,
	// cleans up other appliers' fields and recreates on immutable changes
	// only with Replace. Cluster definitions (CRDs, Namespaces) always go
	// through ssa's staged apply, which waits for them before the rest.
	var staged, replace, create []*unstructured.Unstructured
	var createOrig []*unstructured.Unstructured
	for i, c := range copies {
		switch {
		case ssautils.IsClusterDefinition(c):
			staged = append(staged, c)
		case objectOptions(objs[i]).on("Replace") && !missing[i]:
			replace = append(replace, c)
		case missing[i]:
			create = append(create, c)
			createOrig = append(createOrig, objs[i])
		default:
			staged = append(staged, c)
		}
	}
	rm := oc.rm
	var changes []ssa.ChangeSetEntry
	if len(staged) > 0 {
		cs, err := rm.ApplyAllStaged(ctx, staged, r.applyOptions(oc, staged))
		if cs != nil {
			changes = append(changes, cs.Entries...)
		}
		if err != nil {
			recordApplied(st, s, objs, changes)
			markFailed(st, s, objs, changes, err)
			return fmt.Errorf("apply: %w", err)
		}
	}
	for _, c := range replace {
		opts := r.applyOptions(oc, []*unstructured.Unstructured{c})
		opts.Force = true
		e, err := rm.Apply(ctx, c, opts)
		if err != nil {
			markFailed(st, s, objs, changes, err)
			return fmt.Errorf("apply: %w", err)
		}
		changes = append(changes, *e)
	}
	recordApplied(st, s, objs, changes)
	if err := r.createAll(ctx, oc, s, createOrig, create); err != nil {
		return err
	}
	if !oc.dryRun {
		r.addToInventory(oc.app, objs)
	}
	return nil
}

// createAll applies objects that do not exist yet, in parallel, and seeds
// the comparison memo with what the API server returned: the next compare
// then needs no requests for them.
func (r *Reconciler) createAll(ctx context.Context, oc *opContext, s step, orig, objs []*unstructured.Unstructured) error {
	opts := []client.ApplyOption{client.ForceOwnership, client.FieldOwner(agentmeta.FieldManager)}
	if oc.dryRun {
		opts = append(opts, client.DryRunAll)
	}
	errs := make([]error, len(objs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(compareConcurrency)
	for i, c := range objs {
		g.Go(func() error {
			if err := r.Client.Apply(gctx, client.ApplyConfigurationFromUnstructured(c), opts...); err != nil {
				errs[i] = fmt.Errorf("%s apply failed: %w", appsource.Describe(c), err)
				return nil
			}
			if !oc.dryRun {
				r.memo.put(oc.app.UID, appsource.ObjectID(orig[i]), memoEntry{
					resourceVersion: c.GetResourceVersion(), desiredHash: oc.d.hash(orig[i]),
					synced: true, health: oc.checker.Check(c),
				})
			}
			return nil
		})
	}
	_ = g.Wait()
	var first error
	for i, o := range orig {
		res := result(oc.state, o, s.phase)
		if errs[i] != nil {
			res.Status, res.Message = "SyncFailed", errs[i].Error()
			if first == nil {
				first = errs[i]
			}
			continue
		}
		res.Status, res.Message = "Synced", "created"
	}
	if first != nil {
		return fmt.Errorf("apply: %w", first)
	}
	return nil
}

// recordApplied writes a result for each object the change set names.
func recordApplied(st *argov1.OperationState, s step, objs []*unstructured.Unstructured, changes []ssa.ChangeSetEntry) {
	byID := map[string]ssa.ChangeSetEntry{}
	for _, c := range changes {
		byID[c.ObjMetadata.Namespace+"_"+c.ObjMetadata.Name+"_"+c.ObjMetadata.GroupKind.Group+"_"+c.ObjMetadata.GroupKind.Kind] = c
	}
	for _, o := range objs {
		c, ok := byID[appsource.ObjectID(o)]
		if !ok {
			continue
		}
		res := result(st, o, s.phase)
		res.Status = "Synced"
		res.Message = strings.ToLower(string(c.Action))
	}
}

// markFailed records the apply error on objects that did not get applied.
func markFailed(st *argov1.OperationState, s step, objs []*unstructured.Unstructured, changes []ssa.ChangeSetEntry, err error) {
	done := map[string]bool{}
	for _, c := range changes {
		done[c.ObjMetadata.Namespace+"_"+c.ObjMetadata.Name+"_"+c.ObjMetadata.GroupKind.Group+"_"+c.ObjMetadata.GroupKind.Kind] = true
	}
	msg := err.Error()
	for _, o := range objs {
		if done[appsource.ObjectID(o)] {
			continue
		}
		res := result(st, o, s.phase)
		res.Status = "SyncFailed"
		if strings.Contains(msg, o.GetName()) || len(objs) == 1 {
			res.Message = msg
		}
	}
}

func (r *Reconciler) addToInventory(app *argov1.Application, objs []*unstructured.Unstructured) {
	if app.Status.Inventory == nil {
		app.Status.Inventory = &argov1.ResourceInventory{}
	}
	have := map[string]bool{}
	for _, e := range app.Status.Inventory.Entries {
		have[e.ID] = true
	}
	for _, e := range appsource.Inventory(objs) {
		if !have[e.ID] {
			app.Status.Inventory.Entries = append(app.Status.Inventory.Entries, e)
		}
	}
	sort.Slice(app.Status.Inventory.Entries, func(i, j int) bool {
		return app.Status.Inventory.Entries[i].ID < app.Status.Inventory.Entries[j].ID
	})
}

// createHook creates one hook object for this operation, replacing an old one
// from an earlier sync (BeforeHookCreation) and adopting one this operation
// created before a restart.
func (r *Reconciler) createHook(ctx context.Context, oc *opContext, h *unstructured.Unstructured, phase string) error {
	st := oc.state
	id := syncID(st)
	obj := h.DeepCopy()
	obj.SetName(hookName(st, h))
	obj.SetGenerateName("")
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[annotationSyncID] = id
	obj.SetAnnotations(ann)

	res := result(st, obj, phase)
	res.SyncWave = waveOf(h)
	existing := &unstructured.Unstructured{}
	existing.SetGroupVersionKind(obj.GroupVersionKind())
	err := r.Client.Get(ctx, client.ObjectKeyFromObject(obj), existing)
	switch {
	case err == nil && existing.GetAnnotations()[annotationSyncID] == id:
		res.HookPhase = string(argov1.OperationRunning)
		res.Status = "Synced"
		res.Message = "hook created"
		return nil
	case err == nil:
		if existing.GetDeletionTimestamp() == nil {
			if err := r.Client.Delete(ctx, existing, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("deleting the previous hook %s: %w", appsource.Describe(existing), err)
			}
		}
		st.Message = fmt.Sprintf("%s: waiting for the previous hook %s to be deleted", phase, appsource.Describe(existing))
		return errWaiting
	case !apierrors.IsNotFound(err):
		return fmt.Errorf("reading hook %s: %w", appsource.Describe(obj), err)
	}
	if err := r.Client.Create(ctx, obj, client.FieldOwner(agentmeta.FieldManager)); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return errWaiting
		}
		res.Status = "SyncFailed"
		res.HookPhase = string(argov1.OperationFailed)
		res.Message = err.Error()
		return fmt.Errorf("creating hook %s: %w", appsource.Describe(obj), err)
	}
	r.watcher.ensure(ctx, obj.GroupVersionKind())
	res.HookPhase = string(argov1.OperationRunning)
	res.Status = "Synced"
	res.Message = "hook created"
	r.Event(oc.app, corev1.EventTypeNormal, "HookCreated", "create", "%s hook %s created", phase, appsource.Describe(obj))
	return nil
}

// alwaysHealthy kinds have no status to wait for once applied.
var alwaysHealthy = map[string]bool{
	"ConfigMap": true, "Secret": true, "ServiceAccount": true, "Role": true, "RoleBinding": true,
	"ClusterRole": true, "ClusterRoleBinding": true, "NetworkPolicy": true, "LimitRange": true,
	"ResourceQuota": true, "Endpoints": true, "PriorityClass": true, "StorageClass": true,
}

// stepDone checks a step's hooks and, unless it is the last step, waits for
// its resources to be healthy before the next wave, as Argo CD does.
func (r *Reconciler) stepDone(ctx context.Context, oc *opContext, s step, last bool) (bool, string, error) {
	if s.prune {
		return true, "", nil
	}
	st := oc.state
	var waiting []string
	for _, h := range s.hooks {
		res := hookResult(st, h, s.phase)
		if res == nil {
			return false, "", fmt.Errorf("hook %s has no result", appsource.Describe(h))
		}
		if res.HookPhase == string(argov1.OperationSucceeded) {
			continue
		}
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(h.GroupVersionKind())
		if err := r.Client.Get(ctx, client.ObjectKey{Namespace: res.Namespace, Name: res.Name}, live); err != nil {
			if apierrors.IsNotFound(err) {
				res.HookPhase = string(argov1.OperationFailed)
				res.Message = "hook deleted before it finished"
				return false, "", fmt.Errorf("hook %s/%s was deleted before it finished", res.Kind, res.Name)
			}
			return false, "", err
		}
		phase, _, _, msg := oc.checker.HookPhase(live)
		res.HookPhase = phase
		res.Message = msg
		switch phase {
		case health.HookSucceeded:
			if hasPolicy(h, deleteOnSuccess) {
				r.deleteHook(ctx, live)
			}
		case health.HookFailed, health.HookError:
			if hasPolicy(h, deleteOnFailure) {
				r.deleteHook(ctx, live)
			}
			return false, "", fmt.Errorf("hook %s failed: %s", appsource.Describe(live), msg)
		default:
			waiting = append(waiting, fmt.Sprintf("hook %s: %s", appsource.Describe(live), orDefault(msg, "running")))
		}
	}
	if len(waiting) > 0 {
		return false, waiting[0], nil
	}
	if last || oc.dryRun {
		return true, "", nil
	}
	for _, o := range s.resources {
		if alwaysHealthy[o.GetKind()] {
			continue
		}
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(o.GroupVersionKind())
		if err := r.Client.Get(ctx, client.ObjectKeyFromObject(o), live); err != nil {
			if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
				return false, fmt.Sprintf("waiting for %s to appear", appsource.Describe(o)), nil
			}
			return false, "", err
		}
		h := oc.checker.Check(live)
		switch h.Code {
		case argov1.HealthHealthy, argov1.HealthSuspended:
		case argov1.HealthDegraded:
			return false, "", fmt.Errorf("%s is Degraded: %s", appsource.Describe(o), h.Message)
		default:
			return false, fmt.Sprintf("waiting for %s to be healthy: %s", appsource.Describe(o), orDefault(h.Message, string(h.Code))), nil
		}
	}
	return true, "", nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func hasPolicy(h *unstructured.Unstructured, policy string) bool {
	for _, p := range deletePolicies(h) {
		if p == policy {
			return true
		}
	}
	return false
}

func (r *Reconciler) deleteHook(ctx context.Context, live *unstructured.Unstructured) {
	if err := r.Client.Delete(ctx, live, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil && !apierrors.IsNotFound(err) {
		logFrom(ctx).Error(err, "deleting hook", "hook", appsource.Describe(live))
	}
}

// pruneStep deletes the inventory's objects that left Git, unless prune is
// off for this sync or for the object (Prune=false).
func (r *Reconciler) pruneStep(ctx context.Context, oc *opContext) error {
	if oc.partial {
		return nil
	}
	extraneous, err := r.extraneous(ctx, oc.app, oc.d)
	if err != nil {
		return err
	}
	st := oc.state
	for _, o := range extraneous {
		res := result(st, o, hookSync)
		if res.Status != "" {
			continue
		}
		switch {
		case !oc.prune:
			res.Status = "PruneSkipped"
			res.Message = "ignored (requires pruning)"
		case objectOptions(o).off("Prune"):
			res.Status = "PruneSkipped"
			res.Message = "ignored (Prune=false)"
		case oc.dryRun:
			res.Status = "Pruned"
			res.Message = "pruned (dry run)"
		default:
			policy := metav1.DeletePropagationBackground
			if p := oc.options["PrunePropagationPolicy"]; strings.EqualFold(p, "foreground") {
				policy = metav1.DeletePropagationForeground
			} else if strings.EqualFold(p, "orphan") {
				policy = metav1.DeletePropagationOrphan
			}
			if err := r.Client.Delete(ctx, o, client.PropagationPolicy(policy)); err != nil && !apierrors.IsNotFound(err) {
				res.Status = "SyncFailed"
				res.Message = err.Error()
				return fmt.Errorf("pruning %s: %w", appsource.Describe(o), err)
			}
			res.Status = "Pruned"
			res.Message = "pruned"
			r.dropFromInventory(oc.app, o)
			r.memo.drop(oc.app.UID, appsource.ObjectID(o))
			r.Event(oc.app, corev1.EventTypeNormal, "Pruned", "prune", "pruned %s: it left Git", appsource.Describe(o))
		}
	}
	return nil
}

func (r *Reconciler) dropFromInventory(app *argov1.Application, o *unstructured.Unstructured) {
	if app.Status.Inventory == nil {
		return
	}
	id := appsource.ObjectID(o)
	entries := app.Status.Inventory.Entries[:0]
	for _, e := range app.Status.Inventory.Entries {
		if e.ID != id {
			entries = append(entries, e)
		}
	}
	app.Status.Inventory.Entries = entries
}

// failing reports whether the operation already failed and runs SyncFail hooks.
func failing(st *argov1.OperationState) bool {
	for _, res := range st.SyncResult.Resources {
		if res.SyncPhase == hookSyncFail {
			return true
		}
	}
	return false
}

// runSyncFail fails the operation; when the application has SyncFail hooks
// it runs them first and fails once they finished.
func (r *Reconciler) runSyncFail(ctx context.Context, oc *opContext, reason string) error {
	st := oc.state
	hooks := syncFailHooks(oc.d)
	if reason != "" && (len(hooks) == 0 || oc.dryRun || oc.partial) {
		return r.retryOrFail(ctx, oc, reason)
	}
	if reason != "" {
		st.Message = "sync failed: " + reason + "; running SyncFail hooks"
	}
	for _, h := range hooks {
		if res := hookResult(st, h, hookSyncFail); res != nil && res.HookPhase != "" {
			continue
		}
		if err := r.createHook(ctx, oc, h, hookSyncFail); err != nil && !errors.Is(err, errWaiting) {
			return r.retryOrFail(ctx, oc, strings.TrimPrefix(st.Message, "sync failed: ")+"; SyncFail hook: "+err.Error())
		}
	}
	done, msg, err := r.stepDone(ctx, oc, step{phase: hookSyncFail, hooks: hooks}, true)
	original := strings.TrimSuffix(strings.TrimPrefix(st.Message, "sync failed: "), "; running SyncFail hooks")
	if i := strings.Index(original, "; running SyncFail hooks"); i >= 0 {
		original = original[:i]
	}
	if err != nil {
		return r.retryOrFail(ctx, oc, original+"; SyncFail hook: "+err.Error())
	}
	if !done {
		st.Message = "sync failed: " + original + "; running SyncFail hooks: " + msg
		return errWaiting
	}
	return r.retryOrFail(ctx, oc, original)
}

// retryOrFail ends the operation as Failed, or schedules a retry when the
// retry strategy allows one.
func (r *Reconciler) retryOrFail(ctx context.Context, oc *opContext, reason string) error {
	st := oc.state
	retry := st.Operation.Retry
	if retry == nil && oc.app.Spec.SyncPolicy != nil {
		retry = oc.app.Spec.SyncPolicy.Retry
	}
	if retry != nil && !oc.dryRun && (retry.Limit < 0 || st.RetryCount < retry.Limit) {
		wait := backoff(retry.Backoff, st.RetryCount)
		st.RetryCount++
		now := metav1.Now()
		st.FinishedAt = &now // when the failed attempt ended; the retry is due wait later
		st.CompletedSteps = 0
		st.SyncResult.Resources = nil
		st.Message = fmt.Sprintf("%s (retrying attempt #%d in %s)", reason, st.RetryCount, wait)
		r.Event(oc.app, corev1.EventTypeWarning, "SyncRetrying", "sync", "sync failed, retry #%d in %s: %s", st.RetryCount, wait, reason)
		return errWaiting
	}
	r.finishOperation(ctx, oc, argov1.OperationFailed, reason)
	return nil
}

// retryDue reports when a retrying operation may run again.
func retryDue(app *argov1.Application, st *argov1.OperationState) time.Time {
	if st.FinishedAt == nil || st.RetryCount == 0 {
		return time.Time{}
	}
	retry := st.Operation.Retry
	if retry == nil && app.Spec.SyncPolicy != nil {
		retry = app.Spec.SyncPolicy.Retry
	}
	if retry == nil {
		return time.Time{}
	}
	return st.FinishedAt.Add(backoff(retry.Backoff, st.RetryCount-1))
}

// backoff is duration * factor^n capped at maxDuration (Argo CD's defaults:
// 5s, factor 2, 3m).
func backoff(b *argov1.Backoff, n int64) time.Duration {
	d, factor, maxD := 5*time.Second, int64(2), 3*time.Minute
	if b != nil {
		if v, err := duration.Parse(b.Duration); err == nil && v > 0 {
			d = v
		}
		if b.Factor != nil && *b.Factor > 0 {
			factor = *b.Factor
		}
		if v, err := duration.Parse(b.MaxDuration); err == nil && v > 0 {
			maxD = v
		}
	}
	out := float64(d) * math.Pow(float64(factor), float64(n))
	if out > float64(maxD) {
		return maxD
	}
	return time.Duration(out)
}

// finishOperation ends the operation, records history on success and says so.
func (r *Reconciler) finishOperation(_ context.Context, oc *opContext, phase argov1.OperationPhase, msg string) {
	st := oc.state
	now := metav1.Now()
	st.Phase = phase
	st.Message = msg
	st.FinishedAt = &now
	appSyncTotal.WithLabelValues(oc.app.Namespace, oc.app.Name, string(phase)).Inc()
	if phase != argov1.OperationSucceeded {
		r.Event(oc.app, corev1.EventTypeWarning, "SyncFailed", "sync", "sync to %s failed: %s", short(st.SyncResult.Revision), msg)
		return
	}
	r.Event(oc.app, corev1.EventTypeNormal, "SyncSucceeded", "sync", "synced to %s", short(st.SyncResult.Revision))
	if oc.dryRun || oc.partial {
		return
	}
	var next int64
	for _, h := range oc.app.Status.History {
		next = max(next, h.ID)
	}
	oc.app.Status.History = append(oc.app.Status.History, argov1.RevisionHistory{
		ID: next + 1, Revision: st.SyncResult.Revision, DeployedAt: now, Source: st.SyncResult.Source.DeepCopy(),
	})
	limit := int64(10)
	if oc.app.Spec.RevisionHistoryLimit != nil {
		limit = *oc.app.Spec.RevisionHistoryLimit
	}
	if extra := int64(len(oc.app.Status.History)) - limit; extra > 0 {
		oc.app.Status.History = oc.app.Status.History[extra:]
	}
}
