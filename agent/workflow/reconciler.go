package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/argolite/argolite/agent/config"
	"github.com/argolite/argolite/agent/ctrlkit"
	"github.com/argolite/argolite/agent/imageconfig"
	"github.com/argolite/argolite/shared/agentmeta"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/wfvalidate"
)

// Reconciler runs Workflows.
type Reconciler struct {
	ctrlkit.Events
	Client    client.Client
	APIReader client.Reader
	Options   Options

	status    *ctrlkit.StatusWriter
	reconcile *ctrlkit.Metrics
	settings  *config.Parsed[*settings]
	locks     *lockManager
	metrics   *customMetrics
	images    *imageconfig.Resolver
}

// kindWorkflow labels the role's reconcile metrics.
const kindWorkflow = "Workflow"

// Reconcile runs one operation of a Workflow.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	start := time.Now()
	wf := &argov1.Workflow{}
	if err := r.Client.Get(ctx, req.NamespacedName, wf); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if r.status.Stale(wf) {
		return ctrlkit.StaleResult(), nil
	}
	defer func() { r.reconcile.Observe(kindWorkflow, req.NamespacedName, start, retErr) }()
	if !wf.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	if wf.Status.Phase.Completed() {
		return r.afterCompletion(ctx, wf)
	}
	log := ctrl.LoggerFrom(ctx)
	o := &operation{r: r, ctx: ctx, log: log, now: time.Now().UTC(), wf: wf, scopes: map[string]scope{}, visited: map[string]bool{}}
	// stored is the workflow as the API server has it, nodes compressed or
	// not: the status patch starts from it, so that the patch clears
	// status.nodes or status.compressedNodes when the form changes.
	stored := wf.DeepCopy()
	if err := wf.InflateNodes(); err != nil {
		// Nothing can run without the nodes: end it, keeping the data as it is.
		o.finish(argov1.WorkflowError, err.Error())
		o.releaseLocks(workflowHolder(wf))
		r.Event(wf, corev1.EventTypeWarning, "WorkflowFailed", "Run", "%s", err.Error())
		if res, err := r.status.Patch(ctx, stored, endedForm(stored, wf)); err != nil || !res.IsZero() {
			return res, err
		}
		return r.afterCompletion(ctx, wf)
	}
	orig := wf.DeepCopy()
	opErr := o.operate()
	if !equalStatus(&orig.Status, &wf.Status) {
		out, err := o.compact(stored)
		if err != nil {
			return ctrl.Result{}, err
		}
		if res, err := r.status.Patch(ctx, stored, out); err != nil || !res.IsZero() {
			return res, err
		}
	}
	o.flushMetrics()
	if opErr != nil {
		return ctrl.Result{}, opErr
	}
	if wf.Status.Phase.Completed() {
		return r.afterCompletion(ctx, wf)
	}
	if o.requeue > 0 {
		return ctrl.Result{RequeueAfter: o.requeue}, nil
	}
	return ctrl.Result{}, nil
}

// forget drops what the role keeps of a deleted workflow: its last status
// write, its reconcile series and the locks it held.
func (r *Reconciler) forget(key types.NamespacedName) {
	r.status.Forget(key)
	r.reconcile.Forget(kindWorkflow, key)
	if r.locks != nil {
		holder := key.Namespace + "/" + key.Name
		r.locks.release(func(_, h string) bool { return h == holder || strings.HasPrefix(h, holder+"/") })
	}
}

// newReconciler wires a Reconciler: c writes and reads through the cache,
// reader reads the API server, settings holds argolite-config.
func newReconciler(c client.Client, reader client.Reader, settings config.Source, o Options) *Reconciler {
	return &Reconciler{
		Client:    c,
		APIReader: reader,
		Options:   o,
		status:    ctrlkit.NewStatusWriter(c),
		reconcile: ctrlkit.RoleMetrics("workflow"),
		settings:  config.NewParsed(settings, agentmeta.ConfigMapName, parseSettings(settings.Namespace())),
		images:    imageconfig.NewResolver(),
	}
}

func equalStatus(a, b *argov1.WorkflowStatus) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// afterCompletion applies the TTL strategy of a finished workflow.
func (r *Reconciler) afterCompletion(ctx context.Context, wf *argov1.Workflow) (ctrl.Result, error) {
	ttl := wf.Spec.TTLStrategy
	if wf.Status.StoredWorkflowSpec != nil && wf.Status.StoredWorkflowSpec.TTLStrategy != nil {
		ttl = wf.Status.StoredWorkflowSpec.TTLStrategy
	}
	if ttl == nil || wf.Status.FinishedAt.IsZero() {
		return ctrl.Result{}, nil
	}
	secs := ttl.SecondsAfterCompletion
	switch wf.Status.Phase {
	case argov1.WorkflowSucceeded:
		if ttl.SecondsAfterSuccess != nil {
			secs = ttl.SecondsAfterSuccess
		}
	default:
		if ttl.SecondsAfterFailure != nil {
			secs = ttl.SecondsAfterFailure
		}
	}
	if secs == nil {
		return ctrl.Result{}, nil
	}
	left := time.Until(wf.Status.FinishedAt.Add(time.Duration(*secs) * time.Second))
	if left > 0 {
		return ctrl.Result{RequeueAfter: left}, nil
	}
	err := r.Client.Delete(ctx, wf, client.PropagationPolicy(metav1.DeletePropagationBackground))
	if err == nil {
		ctrl.LoggerFrom(ctx).Info("workflow deleted by its TTL strategy")
	}
	return ctrl.Result{}, client.IgnoreNotFound(err)
}

// validate checks a new workflow before any Pod starts, with the validator
// `kubectl argo wf lint` uses: strictly against the object as stored (the
// CRD keeps fields the types do not know), then its templates, references,
// parameters and expressions.
func (r *Reconciler) validate(ctx context.Context, wf *argov1.Workflow) error {
	raw, err := ctrlkit.StoredSpec(ctx, r.APIReader, wf, "Workflow")
	if err != nil {
		return err
	}
	if errs := wfvalidate.Strict(raw, &argov1.Workflow{}); len(errs) > 0 {
		return specError("%s", errs.Error())
	}
	lookup := func(name string, cluster bool) (*argov1.WorkflowSpec, error) {
		var obj client.Object
		var spec *argov1.WorkflowSpec
		key := client.ObjectKey{Name: name}
		if cluster {
			t := &argov1.ClusterWorkflowTemplate{}
			obj, spec = t, &t.Spec
		} else {
			t := &argov1.WorkflowTemplate{}
			obj, spec, key.Namespace = t, &t.Spec, wf.Namespace
		}
		if err := r.Client.Get(ctx, key, obj); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("%s %q not found", kindOfScope(map[bool]string{true: "cluster"}[cluster]), name)
			}
			return nil, err
		}
		return spec, nil
	}
	if errs := wfvalidate.Workflow(wf, wfvalidate.Options{TemplateLookup: lookup, Submit: true}); len(errs) > 0 {
		return specError("%s", errs.Error())
	}
	return nil
}

// imageCommand is what container c of template tmpl runs when it has no
// command, by Docker's rules: from the images key of argolite-config
// (Argo's workflow-controller-configmap images) when the image is there,
// else from the image's config in its registry, read through the
// registryMirrors key with the Pod's pull secrets.
func (o *operation) imageCommand(c *corev1.Container, tmpl string) ([]string, error) {
	cfg := o.r.config(o.ctx)
	fixes := fmt.Sprintf("set command on the container, or add the image's entrypoint under images in the %s ConfigMap", agentmeta.ConfigMapName)
	img, ok := imageconfig.Image{}, false
	if e, found := cfg.images[c.Image]; found {
		img, ok = imageconfig.Image{Entrypoint: e.Entrypoint, Cmd: e.Cmd}, true
	}
	if !ok {
		if cfg.mirrorsErr != nil {
			return nil, specError("template %s: container %s (image %s) has no command: %v", tmpl, c.Name, c.Image, cfg.mirrorsErr)
		}
		var err error
		img, err = o.r.images.Lookup(o.ctx, c.Image, cfg.mirrors, o.pullKeychain)
		if err != nil {
			return nil, specError("template %s: container %s (image %s) has no command and its entrypoint cannot be read from the registry: %v; %s",
				tmpl, c.Name, c.Image, err, fixes)
		}
	}
	cmd := imageconfig.Command(img.Entrypoint, img.Cmd, len(c.Args) > 0)
	if len(cmd) == 0 && len(c.Args) == 0 {
		return nil, specError("template %s: container %s (image %s) has no command and the image has neither entrypoint nor cmd; %s", tmpl, c.Name, c.Image, fixes)
	}
	return cmd, nil
}

// pullKeychain is the credentials the kubelet would pull the Pod's images
// with: the Pod's imagePullSecrets, then its ServiceAccount's. A secret or
// account that is missing is skipped, as the kubelet does.
func (o *operation) pullKeychain(ctx context.Context) (authn.Keychain, error) {
	ns := o.wf.Namespace
	var refs []corev1.LocalObjectReference
	if o.podSpec != nil {
		refs = append(refs, o.podSpec.ImagePullSecrets...)
		sa := &corev1.ServiceAccount{}
		saName := firstNonEmpty(o.podSpec.ServiceAccountName, "default")
		if err := o.r.APIReader.Get(ctx, types.NamespacedName{Namespace: ns, Name: saName}, sa); err == nil {
			refs = append(refs, sa.ImagePullSecrets...)
		} else if !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("reading ServiceAccount %s/%s for its imagePullSecrets: %w", ns, saName, err)
		}
	}
	var secrets []corev1.Secret
	for _, ref := range refs {
		s := corev1.Secret{}
		if err := o.r.APIReader.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, &s); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return nil, fmt.Errorf("reading pull secret %s/%s: %w", ns, ref.Name, err)
		}
		secrets = append(secrets, s)
	}
	return imageconfig.NewKeychain(secrets)
}

type imageEntry struct {
	Entrypoint []string `json:"entrypoint"`
	Cmd        []string `json:"cmd"`
}

// artifactDriver is a plugin artifact driver of argolite-config.
type artifactDriver struct {
	Name string `json:"name"`
	// Type is how the driver stores: s3 (the plugin's configuration is an S3 bucket).
	Type string `json:"type"`
}

// settings is what the workflow role reads from argolite-config, with the
// errors of the keys that do not parse: each is reported where it is used.
type settings struct {
	images map[string]imageEntry
	// mirrors are the registryMirrors key: where image configs are read.
	mirrors    imageconfig.Mirrors
	mirrorsErr error
	repo       *argov1.ArtifactRepository
	repoErr    error
	drivers    map[string]artifactDriver
	ttl        time.Duration
	ttlErr     error
}

// metricsConfig is the metricsConfig key of argolite-config, as in Argo's
// workflow-controller-configmap.
type metricsConfig struct {
	// MetricsTTL is how long a custom metric's series is kept after it was
	// last emitted; empty or 0 keeps it until the agent restarts.
	MetricsTTL string `json:"metricsTTL"`
}

// parseSettings reads the workflow keys of argolite-config in namespace.
func parseSettings(namespace string) func(data map[string]string) (*settings, error) {
	return func(data map[string]string) (*settings, error) {
		c := &settings{}
		where := func(key string) string {
			return fmt.Sprintf("ConfigMap %s/%s key %s", namespace, agentmeta.ConfigMapName, key)
		}
		if raw := data["images"]; strings.TrimSpace(raw) != "" {
			var m map[string]imageEntry
			if err := yaml.Unmarshal([]byte(raw), &m); err == nil {
				c.images = m
			}
		}
		if raw := data["registryMirrors"]; strings.TrimSpace(raw) != "" {
			if err := yaml.UnmarshalStrict([]byte(raw), &c.mirrors); err != nil {
				c.mirrorsErr = fmt.Errorf("%s: %w", where("registryMirrors"), err)
			}
		}
		if raw := data["artifactRepository"]; strings.TrimSpace(raw) != "" {
			repo := &argov1.ArtifactRepository{}
			if err := yaml.UnmarshalStrict([]byte(raw), repo); err != nil {
				c.repoErr = specError("%s: %v", where("artifactRepository"), err)
			} else {
				c.repo = repo
			}
		}
		if raw := data["metricsConfig"]; strings.TrimSpace(raw) != "" {
			if c.ttl, c.ttlErr = parseMetricsTTL(raw); c.ttlErr != nil {
				c.ttlErr = fmt.Errorf("%s: %w", where("metricsConfig"), c.ttlErr)
			}
		}
		if raw := data["artifactDrivers"]; strings.TrimSpace(raw) != "" {
			var list []artifactDriver
			if err := yaml.UnmarshalStrict([]byte(raw), &list); err == nil {
				c.drivers = map[string]artifactDriver{}
				for _, d := range list {
					c.drivers[d.Name] = d
				}
			}
		}
		return c, nil
	}
}

// config is argolite-config as it is now. A ConfigMap that cannot be read
// counts as empty, with the error on the artifact repository, which a
// workflow cannot do without.
func (r *Reconciler) config(ctx context.Context) *settings {
	s, err := r.settings.Get(ctx)
	if err != nil {
		return &settings{repoErr: err}
	}
	return s
}

// parseMetricsTTL reads metricsConfig's metricsTTL: a duration such as 10m.
func parseMetricsTTL(raw string) (time.Duration, error) {
	var mc metricsConfig
	if err := yaml.UnmarshalStrict([]byte(raw), &mc); err != nil {
		return 0, err
	}
	if strings.TrimSpace(mc.MetricsTTL) == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(mc.MetricsTTL)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("metricsTTL %q: use a duration such as 10m (0 keeps the series)", mc.MetricsTTL)
	}
	return d, nil
}

// createClaims creates the workflow's volumeClaimTemplates as PVCs.
func (o *operation) createClaims(spec *argov1.WorkflowSpec) error {
	for _, t := range spec.VolumeClaimTemplates {
		pvc := t.DeepCopy()
		name := o.wf.Name + "-" + t.Name
		pvc.ObjectMeta = metav1.ObjectMeta{Name: name, Namespace: o.wf.Namespace, Labels: t.Labels, Annotations: t.Annotations,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: argov1.GroupVersion.String(), Kind: "Workflow", Name: o.wf.Name, UID: o.wf.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}}
		pvc.Status = corev1.PersistentVolumeClaimStatus{}
		if err := o.r.Client.Create(o.ctx, pvc); err != nil && !apierrors.IsAlreadyExists(err) {
			if apierrors.IsInvalid(err) || apierrors.IsForbidden(err) {
				return specError("volumeClaimTemplates %s: %v", t.Name, err)
			}
			return fmt.Errorf("creating PVC %s: %w", name, err)
		}
		o.wf.Status.PersistentVolumeClaims = append(o.wf.Status.PersistentVolumeClaims, corev1.Volume{Name: t.Name,
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name}}})
	}
	return nil
}

// deleteClaims deletes the workflow's PVCs when it ends (volumeClaimGC).
func (o *operation) deleteClaims() {
	gc := o.spec.VolumeClaimGC
	if gc != nil && gc.Strategy == "OnWorkflowSuccess" && o.wf.Status.Phase != argov1.WorkflowSucceeded {
		return
	}
	for _, v := range o.wf.Status.PersistentVolumeClaims {
		pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: o.wf.Namespace, Name: v.PersistentVolumeClaim.ClaimName}}
		if err := o.r.Client.Delete(o.ctx, pvc); client.IgnoreNotFound(err) != nil {
			o.log.Error(err, "deleting PVC", "pvc", pvc.Name)
		}
	}
	o.wf.Status.PersistentVolumeClaims = nil
}

// workflowPodGC deletes step Pods when the workflow ends, as podGC asks.
func (o *operation) workflowPodGC() {
	gc := o.spec.PodGC
	if gc == nil {
		return
	}
	switch gc.Strategy {
	case argov1.PodGCOnWorkflowCompletion:
	case argov1.PodGCOnWorkflowSuccess:
		if o.wf.Status.Phase != argov1.WorkflowSucceeded {
			return
		}
	default:
		return
	}
	for _, pod := range o.pods {
		if !o.podMatchesGC(pod) {
			continue
		}
		if err := o.r.Client.Delete(o.ctx, pod); client.IgnoreNotFound(err) != nil {
			o.log.Error(err, "pod GC", "pod", pod.Name)
		}
	}
}

// podMatchesGC applies podGC.labelSelector.
func (o *operation) podMatchesGC(pod *corev1.Pod) bool {
	gc := o.spec.PodGC
	if gc == nil || gc.LabelSelector == nil {
		return true
	}
	sel, err := metav1.LabelSelectorAsSelector(gc.LabelSelector)
	if err != nil {
		return false
	}
	return sel.Matches(labels.Set(pod.Labels))
}
