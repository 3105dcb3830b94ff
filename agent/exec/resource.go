package exec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/yaml"
)

// FieldManager is the field manager of the objects resource templates
// create, apply and patch.
const FieldManager = "argolite"

const saNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// inClusterClients connects with the Pod's ServiceAccount.
func inClusterClients() (dynamic.Interface, meta.RESTMapper, error) {
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return nil, nil, fmt.Errorf("no in-cluster credentials (%v): a resource template acts with its Pod's ServiceAccount token; "+
			"set serviceAccountName on the template and do not disable automountServiceAccountToken", err)
	}
	cfg.UserAgent = "argolite-agent-exec"
	cfg.QPS, cfg.Burst = 50, 100
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	cached := memory.NewMemCacheClient(dc)
	mapper := restmapper.NewShortcutExpander(restmapper.NewDeferredDiscoveryRESTMapper(cached), cached, nil)
	return dyn, mapper, nil
}

// namespace is the Pod's namespace.
func (o Options) namespace() string {
	if o.Namespace != "" {
		return o.Namespace
	}
	if v := o.Getenv("POD_NAMESPACE"); v != "" {
		return v
	}
	if data, err := os.ReadFile(saNamespaceFile); err == nil {
		if ns := strings.TrimSpace(string(data)); ns != "" {
			return ns
		}
	}
	return metav1.NamespaceDefault
}

// resourceCmd runs a resource template's action and reports its outputs.
func (o Options) resourceCmd(args []string) int {
	if len(args) > 0 {
		o.logf("exec resource takes no arguments (the action comes from the spec), got %q", args)
		return 2
	}
	sigs, stop := o.notify()
	defer stop()
	r := newRouter(sigs)
	defer r.close()
	spec, err := o.readSpec()
	if err != nil {
		o.logf("%v", err)
		return o.report(context.Background(), "", nil, Result{Message: err.Error()}, 1)
	}
	if spec.Resource == nil {
		msg := "the step spec has no resource: `exec resource` runs resource templates only"
		o.logf("%s", msg)
		return o.report(context.Background(), "", nil, Result{Message: msg}, 1)
	}
	res := Result{}
	err = o.downloadInputs(r.ctx, spec.Inputs, false)
	if err == nil {
		res, err = o.doResource(r.ctx, spec)
	}
	code := 0
	if err != nil {
		if s := r.signal(); s != nil {
			err = fmt.Errorf("stopped by %v: %w", s, err)
		}
		o.logf("%v", err)
		res.Message = err.Error()
		code = 1
	}
	res.ExitCode = &code
	return o.report(context.Background(), "", spec, res, code)
}

// doResource performs the action, waits for the conditions and reads the
// output parameters.
func (o Options) doResource(ctx context.Context, spec *Spec) (Result, error) {
	rs := spec.Resource
	manifest := rs.Manifest
	if rs.ManifestFrom != "" {
		var found bool
		for _, in := range spec.Inputs {
			if in.Name == rs.ManifestFrom {
				data, err := os.ReadFile(in.Path)
				if err != nil {
					return Result{}, fmt.Errorf("reading the manifest from input artifact %q: %w", in.Name, err)
				}
				manifest, found = string(data), true
				break
			}
		}
		if !found {
			return Result{}, fmt.Errorf("manifestFrom names input artifact %q, which the template does not have", rs.ManifestFrom)
		}
	}
	kf, err := parseKubeFlags(rs.Flags)
	if err != nil {
		return Result{}, err
	}
	succ, fail, err := parseConditions(rs.SuccessCondition, rs.FailureCondition)
	if err != nil {
		return Result{}, err
	}
	action := rs.Action
	if action == "delete" && (len(succ) > 0 || len(fail) > 0 || len(rs.Parameters) > 0) {
		return Result{}, errors.New("successCondition, failureCondition and output parameters do not apply to action delete: remove them")
	}
	if strings.TrimSpace(manifest) == "" && len(kf.args) == 0 {
		return Result{}, errors.New("the resource template has neither a manifest nor flags naming an object")
	}
	dyn, mapper, err := o.KubeClients()
	if err != nil {
		return Result{}, err
	}
	k := &kube{o: o, dyn: dyn, mapper: mapper, flags: kf, ns: kf.namespace}
	if k.ns == "" {
		k.ns = o.namespace()
	}

	var obj *unstructured.Unstructured
	var tgt target
	switch action {
	case "delete":
		return Result{}, k.delete(ctx, manifest)
	case "get", "create", "apply", "replace":
		obj, tgt, err = k.objectAction(ctx, action, manifest, rs.Owner)
	case "patch":
		obj, tgt, err = k.patch(ctx, rs.MergeStrategy, manifest, rs.Owner)
	default:
		return Result{}, fmt.Errorf("resource action %q is not supported: use get, create, apply, replace, patch or delete", action)
	}
	if err != nil {
		return Result{}, err
	}
	res := Result{Resource: &ResourceRef{
		APIVersion: obj.GetAPIVersion(), Kind: obj.GetKind(), Namespace: obj.GetNamespace(), Name: obj.GetName(),
	}}
	tgt.name = obj.GetName()
	if len(succ) > 0 || len(fail) > 0 {
		if err := k.waitConditions(ctx, tgt, succ, fail); err != nil {
			return res, err
		}
	}
	if len(rs.Parameters) > 0 {
		cur, err := k.get(ctx, tgt)
		if err != nil {
			return res, err
		}
		params, err := resourceParameters(ctx, cur, rs.Parameters)
		res.Parameters = params
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// kube performs actions with the dynamic client.
type kube struct {
	o      Options
	dyn    dynamic.Interface
	mapper meta.RESTMapper
	flags  *kubeFlags
	ns     string // the default namespace
}

// target is one object on the server.
type target struct {
	gvr        schema.GroupVersionResource
	kind       string
	namespaced bool
	ns, name   string
}

func (t target) String() string {
	s := strings.ToLower(t.kind)
	if t.gvr.Group != "" {
		s += "." + t.gvr.Group
	}
	s += "/" + t.name
	if t.namespaced {
		s += " in namespace " + t.ns
	}
	return s
}

func (k *kube) client(t target) dynamic.ResourceInterface {
	if t.namespaced {
		return k.dyn.Resource(t.gvr).Namespace(t.ns)
	}
	return k.dyn.Resource(t.gvr)
}

// decodeManifest reads the single object of a YAML or JSON manifest.
func decodeManifest(manifest string) (*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	var objs []map[string]any
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("the manifest does not parse as a YAML or JSON object: %w", err)
		}
		if len(m) > 0 {
			objs = append(objs, m)
		}
	}
	switch len(objs) {
	case 0:
		return nil, errors.New("the manifest is empty")
	case 1:
	default:
		return nil, fmt.Errorf("the manifest holds %d objects: a resource template acts on one (use one step per object)", len(objs))
	}
	return &unstructured.Unstructured{Object: objs[0]}, nil
}

// mapObject finds where obj lives and sets its namespace.
func (k *kube) mapObject(obj *unstructured.Unstructured) (target, error) {
	gvk := obj.GroupVersionKind()
	if gvk.Kind == "" || gvk.Version == "" {
		return target{}, errors.New("the manifest needs apiVersion and kind")
	}
	m, err := k.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return target{}, noMatch(gvk.String(), err)
	}
	t := target{gvr: m.Resource, kind: gvk.Kind, name: obj.GetName()}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		t.namespaced = true
		t.ns = obj.GetNamespace()
		if t.ns == "" {
			t.ns = k.ns
			obj.SetNamespace(t.ns)
		}
	} else {
		obj.SetNamespace("")
	}
	return t, nil
}

// resolveType maps a kubectl resource argument (pod, pods, po,
// deployment.apps, jobs.v1.batch) to its resource.
func (k *kube) resolveType(arg string) (target, error) {
	var gvr schema.GroupVersionResource
	full, gr := schema.ParseResourceArg(strings.ToLower(arg))
	if full != nil {
		if r, err := k.mapper.ResourceFor(*full); err == nil {
			gvr = r
		}
	}
	if gvr.Resource == "" {
		r, err := k.mapper.ResourceFor(gr.WithVersion(""))
		if err != nil {
			return target{}, noMatch(arg, err)
		}
		gvr = r
	}
	gvk, err := k.mapper.KindFor(gvr)
	if err != nil {
		return target{}, noMatch(arg, err)
	}
	m, err := k.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return target{}, noMatch(arg, err)
	}
	t := target{gvr: m.Resource, kind: gvk.Kind}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		t.namespaced, t.ns = true, k.ns
	}
	return t, nil
}

// flagTargets are the objects the flags name: TYPE NAME..., TYPE/NAME...,
// or TYPE[,TYPE] with --selector, --field-selector or --all.
func (k *kube) flagTargets(ctx context.Context) ([]target, error) {
	args := k.flags.args
	if len(args) == 0 {
		return nil, nil
	}
	var out []target
	if strings.Contains(args[0], "/") {
		for _, a := range args {
			typ, name, ok := strings.Cut(a, "/")
			if !ok || typ == "" || name == "" {
				return nil, fmt.Errorf("flags: %q: give objects as TYPE/NAME throughout, or as one TYPE followed by names", a)
			}
			t, err := k.resolveType(typ)
			if err != nil {
				return nil, err
			}
			t.name = name
			out = append(out, t)
		}
		return out, nil
	}
	types := strings.Split(args[0], ",")
	names := args[1:]
	selecting := k.flags.selector != "" || k.flags.fieldSelector != "" || k.flags.all
	if len(names) > 0 && selecting {
		return nil, errors.New("flags: give object names or a selector (--selector, --field-selector, --all), not both")
	}
	if len(names) == 0 && !selecting {
		return nil, fmt.Errorf("flags: %q names a type but no object: add NAME, or --selector / --all", args[0])
	}
	for _, typ := range types {
		t, err := k.resolveType(typ)
		if err != nil {
			return nil, err
		}
		if len(names) > 0 {
			for _, n := range names {
				tn := t
				tn.name = n
				out = append(out, tn)
			}
			continue
		}
		list, err := k.client(t).List(ctx, metav1.ListOptions{LabelSelector: k.flags.selector, FieldSelector: k.flags.fieldSelector})
		if err != nil {
			return nil, kubeErr(err, "list", t)
		}
		for _, item := range list.Items {
			tn := t
			tn.name = item.GetName()
			out = append(out, tn)
		}
	}
	return out, nil
}

// objectAction runs get, create, apply or replace on the manifest's object.
func (k *kube) objectAction(ctx context.Context, action, manifest string, owner *Owner) (*unstructured.Unstructured, target, error) {
	if strings.TrimSpace(manifest) == "" {
		if action != "get" {
			return nil, target{}, fmt.Errorf("action %s needs a manifest", action)
		}
		ts, err := k.flagTargets(ctx)
		if err != nil {
			return nil, target{}, err
		}
		if len(ts) != 1 {
			return nil, target{}, fmt.Errorf("action get acts on one object; the flags name %d", len(ts))
		}
		obj, err := k.get(ctx, ts[0])
		return obj, ts[0], err
	}
	obj, err := decodeManifest(manifest)
	if err != nil {
		return nil, target{}, err
	}
	t, err := k.mapObject(obj)
	if err != nil {
		return nil, target{}, err
	}
	if owner != nil && action != "get" {
		setOwner(obj, owner)
	}
	if t.name == "" && (action != "create" || obj.GetGenerateName() == "") {
		return nil, t, fmt.Errorf("the manifest's object has no metadata.name (generateName works only with action create)")
	}
	c := k.client(t)
	var out *unstructured.Unstructured
	err = retryTransient(func() error {
		var err error
		switch action {
		case "get":
			out, err = c.Get(ctx, t.name, metav1.GetOptions{})
		case "create":
			out, err = c.Create(ctx, obj, metav1.CreateOptions{FieldManager: k.flags.manager(), FieldValidation: k.flags.validation})
		case "apply":
			var data []byte
			if data, err = json.Marshal(obj.Object); err == nil {
				out, err = c.Patch(ctx, t.name, types.ApplyPatchType, data, metav1.PatchOptions{
					FieldManager: k.flags.manager(), Force: ptr(true), FieldValidation: k.flags.validation,
				})
			}
		case "replace":
			if obj.GetResourceVersion() == "" {
				cur, gerr := c.Get(ctx, t.name, metav1.GetOptions{})
				if gerr != nil {
					return gerr
				}
				obj.SetResourceVersion(cur.GetResourceVersion())
			}
			out, err = c.Update(ctx, obj, metav1.UpdateOptions{FieldManager: k.flags.manager(), FieldValidation: k.flags.validation})
		}
		return err
	})
	if err != nil {
		return nil, t, kubeErr(err, action, t)
	}
	t.name = out.GetName()
	return out, t, nil
}

// patch patches the object the flags or the manifest name.
func (k *kube) patch(ctx context.Context, strategy, manifest string, owner *Owner) (*unstructured.Unstructured, target, error) {
	var pt types.PatchType
	switch strategy {
	case "", "strategic":
		pt = types.StrategicMergePatchType
	case "merge":
		pt = types.MergePatchType
	case "json":
		pt = types.JSONPatchType
	default:
		return nil, target{}, fmt.Errorf("mergeStrategy %q is not supported: use strategic (the default), merge or json", strategy)
	}
	body, err := yaml.YAMLToJSON([]byte(manifest))
	if err != nil {
		return nil, target{}, fmt.Errorf("the patch does not parse as YAML or JSON: %w", err)
	}
	var t target
	var hasKind bool
	var obj *unstructured.Unstructured
	if pt == types.JSONPatchType {
		var ops []any
		if err := json.Unmarshal(body, &ops); err != nil {
			return nil, target{}, fmt.Errorf("a json patch must be a list of operations (op, path, value): %w", err)
		}
	} else {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil || m == nil {
			return nil, target{}, fmt.Errorf("a %s patch must be an object", pt)
		}
		obj = &unstructured.Unstructured{Object: m}
		hasKind = obj.GetKind() != ""
	}
	if pt != types.JSONPatchType && (hasKind || len(k.flags.args) == 0) {
		// kubectl patch -f MANIFEST --patch-file MANIFEST: the manifest is
		// both the target and the patch.
		if !hasKind {
			return nil, target{}, errors.New("the patch names no object: give apiVersion, kind and metadata.name in it, or the object in flags as [TYPE, NAME]")
		}
		if t, err = k.mapObject(obj); err != nil {
			return nil, t, err
		}
		if t.name == "" {
			return nil, t, errors.New("the patch's object has no metadata.name")
		}
		if owner != nil {
			setOwner(obj, owner)
		}
		if body, err = json.Marshal(obj.Object); err != nil {
			return nil, t, err
		}
	} else {
		ts, err := k.flagTargets(ctx)
		if err != nil {
			return nil, target{}, err
		}
		if len(ts) != 1 {
			return nil, target{}, fmt.Errorf("a patch acts on one object: give it in flags as [TYPE, NAME] (the manifest has no kind); they name %d", len(ts))
		}
		t = ts[0]
	}
	var out *unstructured.Unstructured
	err = retryTransient(func() error {
		var err error
		out, err = k.client(t).Patch(ctx, t.name, pt, body, metav1.PatchOptions{FieldManager: k.flags.manager(), FieldValidation: k.flags.validation})
		return err
	})
	if err != nil {
		return nil, t, kubeErr(err, "patch", t)
	}
	return out, t, nil
}

// delete deletes the objects the flags or the manifest name. Missing
// objects are fine (Argo passes --ignore-not-found) unless
// --ignore-not-found=false; with --wait (the default) it waits until they
// are gone.
func (k *kube) delete(ctx context.Context, manifest string) error {
	ts, err := k.flagTargets(ctx)
	if err != nil {
		return err
	}
	if len(k.flags.args) == 0 {
		obj, err := decodeManifest(manifest)
		if err != nil {
			return err
		}
		t, err := k.mapObject(obj)
		if err != nil {
			return err
		}
		if t.name == "" {
			return errors.New("the manifest's object has no metadata.name: delete needs a name (or flags with a selector)")
		}
		ts = []target{t}
	}
	opts := metav1.DeleteOptions{GracePeriodSeconds: k.flags.gracePeriod}
	if k.flags.propagation != "" {
		opts.PropagationPolicy = &k.flags.propagation
	}
	uids := map[int]types.UID{}
	for i, t := range ts {
		var uid types.UID
		if k.flags.wait {
			if cur, err := k.client(t).Get(ctx, t.name, metav1.GetOptions{}); err == nil {
				uid = cur.GetUID()
			}
		}
		err := retryTransient(func() error { return k.client(t).Delete(ctx, t.name, opts) })
		switch {
		case err == nil:
			uids[i] = uid
		case apierrors.IsNotFound(err) && k.flags.ignoreNotFound:
		default:
			return kubeErr(err, "delete", t)
		}
	}
	if !k.flags.wait {
		return nil
	}
	wctx := ctx
	if k.flags.timeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, k.flags.timeout)
		defer cancel()
	}
	for i, uid := range uids {
		t := ts[i]
		for {
			cur, err := k.client(t).Get(wctx, t.name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) || (err == nil && uid != "" && cur.GetUID() != uid) {
				break
			}
			if err != nil && !isTransient(err) && wctx.Err() == nil {
				return kubeErr(err, "get", t)
			}
			select {
			case <-wctx.Done():
				return fmt.Errorf("%s was not gone after %s (finalizers pending?): use --wait=false not to wait, or a longer --timeout", t, k.flags.timeout)
			case <-time.After(k.o.ResourcePoll):
			}
		}
	}
	return nil
}

func (k *kube) get(ctx context.Context, t target) (*unstructured.Unstructured, error) {
	var out *unstructured.Unstructured
	err := retryTransient(func() error {
		var err error
		out, err = k.client(t).Get(ctx, t.name, metav1.GetOptions{})
		return err
	})
	if err != nil {
		return nil, kubeErr(err, "get", t)
	}
	return out, nil
}

// waitConditions polls the object until the failure condition holds (an
// error), or the success condition does.
func (k *kube) waitConditions(ctx context.Context, t target, succ, fail labels.Requirements) error {
	for {
		obj, err := k.client(t).Get(ctx, t.name, metav1.GetOptions{})
		switch {
		case err == nil:
			data, err := obj.MarshalJSON()
			if err != nil {
				return err
			}
			done, err := matchConditions(data, succ, fail)
			if err != nil {
				return fmt.Errorf("%s: %w", t, err)
			}
			if done {
				return nil
			}
		case apierrors.IsNotFound(err):
			return fmt.Errorf("%s was deleted while waiting for its success or failure condition", t)
		case isTransient(err) || ctx.Err() != nil:
		default:
			return kubeErr(err, "get", t)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped while waiting for %s to meet its success or failure condition", t)
		case <-time.After(k.o.ResourcePoll):
		}
	}
}

// setOwner makes owner the controller owner of obj (setOwnerReference).
func setOwner(obj *unstructured.Unstructured, owner *Owner) {
	refs := obj.GetOwnerReferences()
	for _, r := range refs {
		if r.UID == types.UID(owner.UID) {
			return
		}
	}
	obj.SetOwnerReferences(append(refs, metav1.OwnerReference{
		APIVersion: owner.APIVersion, Kind: owner.Kind, Name: owner.Name, UID: types.UID(owner.UID),
		Controller: ptr(true), BlockOwnerDeletion: ptr(true),
	}))
}

func ptr[T any](v T) *T { return &v }

func retryTransient(fn func() error) error {
	return retry.OnError(retry.DefaultBackoff, isTransient, fn)
}

func isTransient(err error) bool {
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err) ||
		utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err)
}

// kubeErr says what failed and, for the usual causes, what to do.
func kubeErr(err error, verb string, t target) error {
	what := t.gvr.Resource
	if t.gvr.Group != "" {
		what += "." + t.gvr.Group
	}
	where := ""
	if t.namespaced {
		where = " in namespace " + t.ns
	}
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%s %s: forbidden: the step Pod's ServiceAccount may not %s %s%s: bind it a Role granting that verb (and get, for conditions and outputs) and set serviceAccountName on the template (%w)",
			verb, t, verb, what, where, err)
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s %s: not found", verb, t)
	case apierrors.IsAlreadyExists(err):
		return fmt.Errorf("create %s: it already exists: use action apply, or generateName for a new object each run", t)
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return fmt.Errorf("%s %s: the server rejected the object: %w", verb, t, err)
	case apierrors.IsUnsupportedMediaType(err):
		return fmt.Errorf("%s %s: %w (strategic merge patches do not work on custom resources: use mergeStrategy merge)", verb, t, err)
	}
	return fmt.Errorf("%s %s: %w", verb, t, err)
}

func noMatch(what string, err error) error {
	if meta.IsNoMatchError(err) {
		return fmt.Errorf("the server has no resource type %q: check apiVersion/kind (or the type in flags), or install its CustomResourceDefinition", what)
	}
	return fmt.Errorf("finding resource type %q: %w", what, err)
}
