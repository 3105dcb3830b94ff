package workflow

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/argolite/argolite/agent/exec"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/expr"
	"github.com/argolite/argolite/shared/wfnames"
)

// Labels and annotations on step Pods (shared with the plugin).
const (
	LabelWorkflow      = wfnames.LabelWorkflow
	AnnotationNodeID   = wfnames.AnnotationNodeID
	AnnotationNodeName = wfnames.AnnotationNodeName
)

// executePod runs a container, script, container set or resource template
// as one Pod, and folds the Pod's state into its node.
func (o *operation) executePod(name string, t *argov1.Template, ref templateRef, opts execOpts) (*argov1.NodeStatus, error) {
	n := o.node(name)
	if n == nil {
		n = o.initNode(name, argov1.NodeTypePod, ref, opts.boundaryID, argov1.NodePending, opts.flag, "")
		if len(t.Inputs.Parameters) > 0 || len(t.Inputs.Artifacts) > 0 {
			n.Inputs = t.Inputs.DeepCopy()
			o.setNode(n)
		}
	}
	if n.Phase.Fulfilled() {
		return n, nil
	}
	o.visited[n.ID] = true
	if pod := o.pods[n.ID]; pod != nil {
		o.assessPod(n, pod, t)
		return o.node(name), nil
	}
	if n.Phase == argov1.NodeRunning {
		return o.markNode(name, argov1.NodeError, "pod deleted"), nil
	}
	if o.shutdown == argov1.ShutdownTerminate || (o.shutdown != "" && !o.inExitHandler) {
		return n, nil
	}
	if o.suspended() {
		return n, nil
	}
	if p := o.spec.Parallelism; p != nil && int64(o.activePods) >= *p {
		if n.Message == "" {
			n.Message = "Waiting for parallelism"
			o.setNode(n)
		}
		return n, nil
	}
	pod, err := o.buildPod(n, t)
	if err != nil {
		return o.markNode(name, argov1.NodeError, err.Error()), err
	}
	if err := o.r.Client.Create(o.ctx, pod); err != nil {
		switch {
		case apierrors.IsAlreadyExists(err):
		case apierrors.IsInvalid(err), apierrors.IsForbidden(err), apierrors.IsBadRequest(err):
			return o.markNode(name, argov1.NodeError, fmt.Sprintf("creating pod %s: %v", pod.Name, err)), nil
		default:
			return n, fmt.Errorf("creating pod %s for node %s: %w", pod.Name, name, err)
		}
	} else {
		o.log.V(1).Info("pod created", "pod", pod.Name, "node", name)
	}
	o.activePods++
	if n.Message == "Waiting for parallelism" {
		n.Message = ""
		o.setNode(n)
	}
	return n, nil
}

// suspended reports whether the whole workflow is suspended.
func (o *operation) suspended() bool {
	return o.wf.Spec.Suspend != nil && *o.wf.Spec.Suspend
}

// buildPod is the Pod for a node: the template's containers under the
// wrapper, with the workflow's Pod settings under the template's own.
func (o *operation) buildPod(n *argov1.NodeStatus, t *argov1.Template) (*corev1.Pod, error) {
	pod := o.newPod(n, t)
	ps := &pod.Spec
	o.setIdentity(ps, t)
	o.podSpec = ps
	o.setScheduling(ps, t)
	o.setNetworking(ps, t)
	if err := o.setLimits(ps, t); err != nil {
		return nil, err
	}
	es := exec.Spec{ResultCap: exec.DefaultResultCap}
	mains, err := o.mainContainers(n, t, &es, ps)
	if err != nil {
		return nil, err
	}
	es.Outputs.Parameters = fileOutputParameters(t)
	if err := o.addArtifacts(t, &es, pod, mains); err != nil {
		return nil, err
	}
	if err := o.addContainers(ps, t, mains); err != nil {
		return nil, err
	}
	if err := o.addVolumes(ps, t); err != nil {
		return nil, err
	}
	if err := setExecSpec(pod, &es); err != nil {
		return nil, err
	}
	if err := o.applyPodSpecPatches(ps, t); err != nil {
		return nil, err
	}
	return pod, nil
}

// newPod is the node's Pod with its metadata: the workflow's Pod metadata
// under the template's, and the labels and annotations the agent finds it by.
func (o *operation) newPod(n *argov1.NodeStatus, t *argov1.Template) *corev1.Pod {
	wf := o.wf
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:        podName(wf, n.Name, t.Name),
			Namespace:   wf.Namespace,
			Labels:      map[string]string{},
			Annotations: map[string]string{},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: argov1.GroupVersion.String(), Kind: "Workflow", Name: wf.Name, UID: wf.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever},
	}
	if pm := o.spec.PodMetadata; pm != nil {
		maps.Copy(pod.Labels, pm.Labels)
		maps.Copy(pod.Annotations, pm.Annotations)
	}
	maps.Copy(pod.Labels, t.Metadata.Labels)
	maps.Copy(pod.Annotations, t.Metadata.Annotations)
	pod.Labels[LabelWorkflow] = wf.Name
	pod.Annotations[AnnotationNodeID] = n.ID
	pod.Annotations[AnnotationNodeName] = n.Name
	return pod
}

// setIdentity sets whom the Pod runs as: its service account, API token,
// security context and image pull secrets.
func (o *operation) setIdentity(ps *corev1.PodSpec, t *argov1.Template) {
	spec := o.spec
	ps.ServiceAccountName = firstNonEmpty(t.ServiceAccountName, spec.ServiceAccountName)
	// Step Pods get API credentials only when they ask for an account, or
	// act on the API as a resource template does.
	automount := ps.ServiceAccountName != "" || t.Resource != nil
	if spec.AutomountServiceAccountToken != nil {
		automount = *spec.AutomountServiceAccountToken
	}
	if t.AutomountServiceAccountToken != nil {
		automount = *t.AutomountServiceAccountToken
	}
	ps.AutomountServiceAccountToken = ptr.To(automount)
	ps.SecurityContext = spec.SecurityContext
	if t.SecurityContext != nil {
		ps.SecurityContext = t.SecurityContext
	}
	ps.ImagePullSecrets = spec.ImagePullSecrets
}

// setScheduling sets where and in which order the Pod is scheduled.
func (o *operation) setScheduling(ps *corev1.PodSpec, t *argov1.Template) {
	spec := o.spec
	ps.NodeSelector = maps.Clone(spec.NodeSelector)
	if t.NodeSelector != nil {
		ps.NodeSelector = maps.Clone(t.NodeSelector)
	}
	ps.Affinity = spec.Affinity
	if t.Affinity != nil {
		ps.Affinity = t.Affinity
	}
	ps.Tolerations = append(append([]corev1.Toleration(nil), spec.Tolerations...), t.Tolerations...)
	ps.SchedulerName = firstNonEmpty(t.SchedulerName, spec.SchedulerName)
	ps.PriorityClassName = firstNonEmpty(t.PriorityClassName, spec.PodPriorityClassName)
}

// setNetworking sets the Pod's network and name resolution.
func (o *operation) setNetworking(ps *corev1.PodSpec, t *argov1.Template) {
	spec := o.spec
	if spec.HostNetwork != nil {
		ps.HostNetwork = *spec.HostNetwork
	}
	ps.HostAliases = append(append([]corev1.HostAlias(nil), spec.HostAliases...), t.HostAliases...)
	if spec.DNSPolicy != nil {
		ps.DNSPolicy = *spec.DNSPolicy
	}
	ps.DNSConfig = spec.DNSConfig
}

// setLimits sets the Pod's resources and how long it may run.
func (o *operation) setLimits(ps *corev1.PodSpec, t *argov1.Template) error {
	ps.Resources = o.spec.PodResources
	if t.PodResources != nil {
		ps.Resources = t.PodResources
	}
	if t.ActiveDeadlineSeconds == nil {
		return nil
	}
	v, err := intOrStringValue(t.ActiveDeadlineSeconds, o.globals)
	if err != nil {
		return specError("template %s: activeDeadlineSeconds: %v", t.Name, err)
	}
	ps.ActiveDeadlineSeconds = ptr.To(int64(v))
	return nil
}

// mainContainers are the containers that do the template's work, each under
// the wrapper; es records what the wrapper does for them.
func (o *operation) mainContainers(n *argov1.NodeStatus, t *argov1.Template, es *exec.Spec, ps *corev1.PodSpec) ([]corev1.Container, error) {
	switch {
	case t.Container != nil:
		es.CaptureResult = o.resultReferenced(n.Name)
		return o.wrappedMain(*t.Container.DeepCopy(), t.Name)
	case t.Script != nil:
		es.Script = &exec.Script{Source: t.Script.Source}
		es.CaptureResult = true
		return o.wrappedMain(*t.Script.Container.DeepCopy(), t.Name)
	case t.ContainerSet != nil:
		return o.containerSet(t, es)
	case t.Resource != nil:
		// The executor acts on the API as the Pod's account.
		if ps.ServiceAccountName == "" {
			ps.ServiceAccountName = "default"
		}
		return []corev1.Container{o.resourceMain(t, es)}, nil
	}
	return nil, nil
}

// wrappedMain is c as the Pod's one main container.
func (o *operation) wrappedMain(c corev1.Container, tmpl string) ([]corev1.Container, error) {
	c.Name = exec.MainContainer
	if err := o.wrap(&c, exec.RoleMain, tmpl); err != nil {
		return nil, err
	}
	return []corev1.Container{c}, nil
}

// containerSet is a container set's containers, with its shared mounts; the
// wrapper starts each once those it depends on are done.
func (o *operation) containerSet(t *argov1.Template, es *exec.Spec) ([]corev1.Container, error) {
	es.CaptureResult = true
	es.Dependencies = map[string][]string{}
	var set []corev1.Container
	for _, cn := range t.ContainerSet.Containers {
		c := *cn.Container.DeepCopy()
		c.VolumeMounts = append(c.VolumeMounts, t.ContainerSet.VolumeMounts...)
		es.Dependencies[c.Name] = cn.Dependencies
		if err := o.wrap(&c, exec.RoleSet, t.Name); err != nil {
			return nil, err
		}
		set = append(set, c)
	}
	return set, nil
}

// resourceMain is the executor applying a resource template's manifest and
// reading its output parameters from the object.
func (o *operation) resourceMain(t *argov1.Template, es *exec.Spec) corev1.Container {
	r := t.Resource
	es.Resource = &exec.Resource{Action: r.Action, MergeStrategy: r.MergeStrategy, Manifest: r.Manifest, Flags: r.Flags,
		SuccessCondition: r.SuccessCondition, FailureCondition: r.FailureCondition}
	if r.SetOwnerReference {
		wf := o.wf
		es.Resource.Owner = &exec.Owner{APIVersion: argov1.GroupVersion.String(), Kind: "Workflow", Name: wf.Name, UID: string(wf.UID)}
	}
	for _, p := range t.Outputs.Parameters {
		if p.ValueFrom == nil {
			continue
		}
		rp := exec.ResourceParameter{Name: p.Name, JSONPath: p.ValueFrom.JSONPath, JQFilter: p.ValueFrom.JQFilter}
		if p.ValueFrom.Default != nil {
			rp.Default = ptr.To(p.ValueFrom.Default.String())
		}
		es.Resource.Parameters = append(es.Resource.Parameters, rp)
	}
	return corev1.Container{
		Name:            exec.MainContainer,
		Image:           o.r.Options.ExecutorImage,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Command:         []string{"/argolite-agent", "exec", "resource"},
		Env: []corev1.EnvVar{{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}},
	}
}

// fileOutputParameters are the output parameters the wrapper reads from files.
func fileOutputParameters(t *argov1.Template) []exec.OutputParameter {
	var out []exec.OutputParameter
	for _, p := range t.Outputs.Parameters {
		if p.ValueFrom == nil || p.ValueFrom.Path == "" {
			continue
		}
		op := exec.OutputParameter{Name: p.Name, Path: p.ValueFrom.Path}
		if p.ValueFrom.Default != nil {
			op.Default = ptr.To(p.ValueFrom.Default.String())
		}
		out = append(out, op)
	}
	return out
}

// addArtifacts tells the wrapper which artifacts to move and gives the main
// containers the credentials for them.
func (o *operation) addArtifacts(t *argov1.Template, es *exec.Spec, pod *corev1.Pod, mains []corev1.Container) error {
	credEnv, err := o.artifactSpec(t, es, pod)
	if err != nil {
		return err
	}
	// The wrapper reads the artifact credentials; it hides them from the command.
	for i := range mains {
		mains[i].Env = append(mains[i].Env, credEnv...)
	}
	return nil
}

// addContainers puts the wrapper's init container, the template's init
// containers, the main containers and the sidecars into the Pod.
func (o *operation) addContainers(ps *corev1.PodSpec, t *argov1.Template, mains []corev1.Container) error {
	execMount := corev1.VolumeMount{Name: exec.VolumeName, MountPath: exec.Dir}
	infoMount := corev1.VolumeMount{Name: exec.PodInfoVolumeName, MountPath: exec.PodInfoDir, ReadOnly: true}
	ps.InitContainers = append(ps.InitContainers, corev1.Container{
		Name:            exec.InitContainerName,
		Image:           o.r.Options.ExecutorImage,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Command:         []string{"/argolite-agent", "exec", "init"},
		VolumeMounts:    []corev1.VolumeMount{execMount},
		// No CPU request: an init container's request counts for the whole
		// Pod's life and would keep a step asking for every CPU unschedulable.
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resourceQuantity("32Mi")}},
	})
	// User init containers and sidecars mirror main's own mounts when they
	// ask, taken before main gets the wrapper's; init containers run unwrapped.
	var mainMounts []corev1.VolumeMount
	if len(mains) > 0 {
		mainMounts = mains[0].VolumeMounts
	}
	for _, ic := range t.InitContainers {
		ps.InitContainers = append(ps.InitContainers, mirrorMounts(ic, mainMounts))
	}
	for i := range mains {
		mains[i].VolumeMounts = append(mains[i].VolumeMounts, execMount, infoMount)
	}
	ps.Containers = append(ps.Containers, mains...)
	for _, sc := range t.Sidecars {
		c := mirrorMounts(sc, mainMounts)
		if err := o.wrap(&c, exec.RoleSidecar, t.Name); err != nil {
			return err
		}
		c.VolumeMounts = append(c.VolumeMounts, execMount, infoMount)
		ps.Containers = append(ps.Containers, c)
	}
	return nil
}

// mirrorMounts is a user container with main's mounts added when it asks.
func mirrorMounts(uc argov1.UserContainer, mainMounts []corev1.VolumeMount) corev1.Container {
	c := *uc.Container.DeepCopy()
	if uc.MirrorVolumeMounts != nil && *uc.MirrorVolumeMounts {
		c.VolumeMounts = append(c.VolumeMounts, mainMounts...)
	}
	return c
}

// addVolumes adds what the containers mount, from the template, the workflow
// and its claims, then the wrapper's own volumes.
func (o *operation) addVolumes(ps *corev1.PodSpec, t *argov1.Template) error {
	available := map[string]corev1.Volume{}
	for _, v := range o.wf.Status.PersistentVolumeClaims {
		available[v.Name] = v
	}
	for _, v := range o.spec.Volumes {
		available[v.Name] = v
	}
	for _, v := range t.Volumes {
		available[v.Name] = v
	}
	used := map[string]bool{}
	for _, cs := range [][]corev1.Container{ps.InitContainers, ps.Containers} {
		for _, c := range cs {
			for _, m := range c.VolumeMounts {
				if m.Name == exec.VolumeName || m.Name == exec.PodInfoVolumeName || used[m.Name] {
					continue
				}
				v, ok := available[m.Name]
				if !ok {
					return specError("template %s: container %s mounts volume %q, which neither the template nor the workflow defines", t.Name, c.Name, m.Name)
				}
				used[m.Name] = true
				ps.Volumes = append(ps.Volumes, v)
			}
		}
	}
	ps.Volumes = append(ps.Volumes,
		corev1.Volume{Name: exec.VolumeName, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		corev1.Volume{Name: exec.PodInfoVolumeName, VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
			Items: []corev1.DownwardAPIVolumeFile{{Path: "spec", FieldRef: &corev1.ObjectFieldSelector{
				FieldPath: "metadata.annotations['" + exec.AnnotationSpec + "']"}}},
		}}},
	)
	return nil
}

// setExecSpec hands es to the wrapper in an annotation, which the Pod
// mounts through the downward API.
func setExecSpec(pod *corev1.Pod, es *exec.Spec) error {
	ps := &pod.Spec
	es.MessageLimit = exec.MessageLimitFor(len(ps.InitContainers) + len(ps.Containers))
	b, err := json.Marshal(es)
	if err != nil {
		return fmt.Errorf("encoding the wrapper's spec: %w", err)
	}
	pod.Annotations[exec.AnnotationSpec] = string(b)
	return nil
}

// applyPodSpecPatches applies the workflow's podSpecPatch, then the
// template's, over everything else.
func (o *operation) applyPodSpecPatches(ps *corev1.PodSpec, t *argov1.Template) error {
	for _, patch := range []struct{ where, p string }{{"spec.podSpecPatch", o.spec.PodSpecPatch}, {"templates." + t.Name + ".podSpecPatch", t.PodSpecPatch}} {
		if strings.TrimSpace(patch.p) == "" {
			continue
		}
		p, err := expr.Replace(patch.p, o.globals, expr.Options{AllowUnresolved: true})
		if err != nil {
			return specError("%s: %v", patch.where, err)
		}
		if err := applyPodSpecPatch(ps, p); err != nil {
			return specError("%s: %v", patch.where, err)
		}
	}
	return nil
}

// applyPodSpecPatch applies a strategic merge patch (JSON or YAML) to a Pod spec.
func applyPodSpecPatch(ps *corev1.PodSpec, patch string) error {
	pj, err := yaml.YAMLToJSON([]byte(patch))
	if err != nil {
		return fmt.Errorf("not JSON or YAML: %w", err)
	}
	if pj, err = dropArgoExecutorContainers(pj, ps); err != nil {
		return err
	}
	orig, err := json.Marshal(ps)
	if err != nil {
		return err
	}
	out, err := strategicpatch.StrategicMergePatch(orig, pj, corev1.PodSpec{})
	if err != nil {
		return fmt.Errorf("applying it to the Pod spec: %w", err)
	}
	var next corev1.PodSpec
	if err := json.Unmarshal(out, &next); err != nil {
		return err
	}
	*ps = next
	return nil
}

// argoExecutorContainers are the containers Argo's executor adds to every
// step Pod (the init container and the wait sidecar); argolite's wrapper runs
// inside the step's own containers instead, so there are none of them.
var argoExecutorContainers = map[string]string{"initContainers": "init", "containers": "wait"}

// dropArgoExecutorContainers removes, from a podSpecPatch, entries for
// Argo's executor containers that this Pod does not have. Argo's users list
// them to order or size the executor ("containers: [{name: wait}, {name:
// main}, ...]"); merged here they would add a container with no image.
func dropArgoExecutorContainers(patch []byte, ps *corev1.PodSpec) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(patch, &m); err != nil || m == nil {
		return patch, nil //nolint:nilerr // not an object: the merge reports it
	}
	have := map[string]bool{}
	for _, c := range append(slices.Clone(ps.InitContainers), ps.Containers...) {
		have[c.Name] = true
	}
	changed := false
	for field, name := range argoExecutorContainers {
		list, ok := m[field].([]any)
		if !ok || have[name] {
			continue
		}
		kept := list[:0:0]
		for _, e := range list {
			if c, ok := e.(map[string]any); ok && c["name"] == name {
				changed = true
				continue
			}
			kept = append(kept, e)
		}
		m[field] = kept
	}
	if !changed {
		return patch, nil
	}
	return json.Marshal(m)
}

// wrap makes a container run its command under the wrapper.
func (o *operation) wrap(c *corev1.Container, role exec.Role, tmpl string) error {
	cmd := c.Command
	if len(cmd) == 0 {
		var err error
		if cmd, err = o.imageCommand(c, tmpl); err != nil {
			return err
		}
	}
	c.Command = append([]string{exec.Binary, "exec", "run", "--role", string(role), "--container", c.Name, "--"}, cmd...)
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// resultReferenced reports whether anything in the workflow may read the
// outputs.result of the step or task a node runs: Argo captures a
// container's stdout only then, since it travels in the termination message.
func (o *operation) resultReferenced(nodeName string) bool {
	if nodeName == o.wf.Name {
		return true
	}
	if o.specJSON == "" {
		b, _ := json.Marshal(o.spec)
		o.specJSON = string(b)
	}
	name := displayName(o.wf, nodeName)
	if i := strings.Index(name, "("); i > 0 {
		name = name[:i]
	}
	for _, form := range []string{name + ".outputs.result", "['" + name + "'].outputs.result", `[\"` + name + `\"].outputs.result`} {
		if strings.Contains(o.specJSON, form) {
			return true
		}
	}
	return false
}
