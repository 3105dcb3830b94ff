package install

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/ssa/utils"
	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/argolite/argolite/manifests"
	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/plugin/clitest"
	"github.com/argolite/argolite/shared/agentmeta"
)

// agentSubjects are the install objects other than the CRDs, in apply order,
// as ssa names them. A new agent object belongs here, in its place.
var agentSubjects = []string{
	"Namespace/argolite-system",
	"ClusterRole/argolite-agent",
	"ClusterRoleBinding/argolite-agent",
	"ServiceAccount/argolite-system/argolite-agent",
	"Role/argolite-system/argolite-agent",
	"RoleBinding/argolite-system/argolite-agent",
	"Service/argolite-system/argolite-agent",
	"Deployment/argolite-system/argolite-agent",
}

// crdNames are the names of the CRDs in the embedded manifests, sorted.
func crdNames(t *testing.T) []string {
	t.Helper()
	objs, err := manifests.Objects(manifests.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		if o.GetKind() == "CustomResourceDefinition" {
			names = append(names, o.GetName())
		}
	}
	if len(names) == 0 {
		t.Fatal("the embedded manifests have no CRD")
	}
	slices.Sort(names)
	return names
}

// subjects are the install objects in apply order, as ssa names them: the
// CRDs by name, then agentSubjects. It fails t unless they are exactly the
// objects of the embedded manifests.
func subjects(t *testing.T) []string {
	t.Helper()
	var all []string
	for _, name := range crdNames(t) {
		all = append(all, "CustomResourceDefinition/"+name)
	}
	all = append(all, agentSubjects...)

	objs, err := manifests.Objects(manifests.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var embedded []string
	for _, o := range objs {
		embedded = append(embedded, utils.FmtUnstructured(o))
	}
	if !slices.Equal(slices.Sorted(slices.Values(all)), slices.Sorted(slices.Values(embedded))) {
		t.Fatalf("the test's install objects:\n%s\nthe embedded manifests':\n%s\nadd a new agent object to agentSubjects",
			strings.Join(all, "\n"), strings.Join(embedded, "\n"))
	}
	return all
}

// runInstall runs `install args...` against clients and returns its stdout.
func runInstall(t *testing.T, clients *cli.Clients, args ...string) (string, error) {
	t.Helper()
	r := clitest.Run(t, func(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
		o := NewOptions(flags, streams)
		o.Clients, o.interval = clients, 10*time.Millisecond
		return newCmd(o)
	}, args...)
	return r.Out, r.Err
}

// wantLines checks that out has "<subject> <action><suffix>" for every
// install object, in apply order; actions overrides the action by subject.
func wantLines(t *testing.T, out, action, suffix string, actions map[string]string) {
	t.Helper()
	all := subjects(t)
	var got []string
	for _, line := range strings.Split(out, "\n") {
		for _, s := range all {
			if strings.HasPrefix(line, s+" ") {
				got = append(got, line)
			}
		}
	}
	var want []string
	for _, s := range all {
		a := action
		if actions[s] != "" {
			a = actions[s]
		}
		want = append(want, s+" "+a+suffix)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("change lines:\n%s\nwant:\n%s\nfull output:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), out)
	}
}

func TestInstallIsIdempotent(t *testing.T) {
	clients := fakeAPIServer(t, true)
	ctx := context.Background()

	out, err := runInstall(t, clients, "--image", "registry.test/argolite-agent:v1", "--replicas", "2")
	if err != nil {
		t.Fatalf("first install: %v\n%s", err, out)
	}
	wantLines(t, out, "created", "", nil)
	if !strings.Contains(out, "rolled out: 2/2 ready (image registry.test/argolite-agent:v1)") || !strings.Contains(out, "Next: kubectl argo status") {
		t.Errorf("first install did not report the rollout:\n%s", out)
	}
	d := &appsv1.Deployment{}
	if err := clients.Client.Get(ctx, client.ObjectKey{Namespace: agentmeta.Namespace, Name: agentmeta.Name}, d); err != nil {
		t.Fatal(err)
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "registry.test/argolite-agent:v1" || *d.Spec.Replicas != 2 {
		t.Errorf("Deployment runs %s x%d, want registry.test/argolite-agent:v1 x2", img, *d.Spec.Replicas)
	}

	out, err = runInstall(t, clients, "--image", "registry.test/argolite-agent:v1", "--replicas", "2")
	if err != nil {
		t.Fatalf("second install: %v\n%s", err, out)
	}
	wantLines(t, out, "unchanged", "", nil)

	out, err = runInstall(t, clients, "--image", "registry.test/argolite-agent:v2", "--replicas", "2")
	if err != nil {
		t.Fatalf("upgrade: %v\n%s", err, out)
	}
	wantLines(t, out, "unchanged", "", map[string]string{"Deployment/argolite-system/argolite-agent": "configured"})
}

func TestInstallDryRun(t *testing.T) {
	clients := fakeAPIServer(t, true)
	ctx := context.Background()

	out, err := runInstall(t, clients, "--dry-run")
	if err != nil {
		t.Fatalf("dry run on an empty cluster: %v\n%s", err, out)
	}
	wantLines(t, out, "created", " (dry run)", nil)
	n := len(subjects(t))
	if summary := fmt.Sprintf("install would create %d and configure 0 of %d objects", n, n); !strings.Contains(out, summary) {
		t.Errorf("no summary %q:\n%s", summary, out)
	}
	for _, name := range crdNames(t) {
		err = clients.Client.Get(ctx, client.ObjectKey{Name: name}, &apiextensionsv1.CustomResourceDefinition{})
		if !apierrors.IsNotFound(err) {
			t.Errorf("the dry run created the CRD %s (get: %v)", name, err)
		}
	}

	if out, err := runInstall(t, clients, "--image", "registry.test/argolite-agent:v1"); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	out, err = runInstall(t, clients, "--dry-run", "--image", "registry.test/argolite-agent:v1")
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, out, "unchanged", " (dry run)", nil)
	if !strings.Contains(out, "argolite is up to date") {
		t.Errorf("no up-to-date summary:\n%s", out)
	}

	out, err = runInstall(t, clients, "--dry-run", "--image", "registry.test/argolite-agent:v2")
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, out, "unchanged", " (dry run)", map[string]string{"Deployment/argolite-system/argolite-agent": "configured"})
	d := &appsv1.Deployment{}
	if err := clients.Client.Get(ctx, client.ObjectKey{Namespace: agentmeta.Namespace, Name: agentmeta.Name}, d); err != nil {
		t.Fatal(err)
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "registry.test/argolite-agent:v1" {
		t.Errorf("the dry run changed the image to %s", img)
	}
}

func TestInstallForbidden(t *testing.T) {
	clients := clitest.NewClientsWith(t, interceptor.Funcs{
		Patch: func(context.Context, client.WithWatch, client.Object, client.Patch, ...client.PatchOption) error {
			return apierrors.NewForbidden(schema.GroupResource{Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"},
				"applications.argolite.dev", errors.New(`User "bob" cannot patch resource "customresourcedefinitions"`))
		},
	})
	out, err := runInstall(t, clients)
	if err == nil || !strings.Contains(err.Error(), `permission denied`) || !strings.Contains(err.Error(), `cannot patch resource "customresourcedefinitions"`) ||
		!strings.Contains(err.Error(), "cluster-admin") {
		t.Errorf("error = %v, want permission denied naming the verb, the resource and cluster-admin", err)
	}
	if strings.Contains(out, " created") {
		t.Errorf("output claims objects were created:\n%s", out)
	}
}

func TestInstallValidate(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "defaults"},
		{name: "registry with port", args: []string{"--image", "localhost:5000/argolite-agent:dev"}},
		{name: "registry with capitals", args: []string{"--image", "Registry.Test/argolite/agent@sha256:abc"}},
		{name: "empty image", args: []string{"--image", ""}, wantErr: "must not be empty"},
		{name: "whitespace", args: []string{"--image", "argolite agent"}, wantErr: "no whitespace"},
		{name: "uppercase repository", args: []string{"--image", "ghcr.io/Argolite/agent:v1"}, wantErr: "lowercase"},
		{name: "empty tag", args: []string{"--image", "ghcr.io/argolite/agent:"}, wantErr: "tag after ':' is empty"},
		{name: "no replicas", args: []string{"--replicas", "0"}, wantErr: "--replicas 0: the agent needs at least one replica"},
		{name: "negative replicas", args: []string{"--replicas", "-2"}, wantErr: "at least one replica"},
		{name: "zero timeout", args: []string{"--timeout", "0s"}, wantErr: "--timeout 0s: must be positive"},
		{name: "bad timeout", args: []string{"--timeout", "soon"}, wantErr: "invalid argument"},
		{name: "arguments", args: []string{"now"}, wantErr: `unknown command "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			streams, _, _, _ := genericiooptions.NewTestIOStreams()
			o := NewOptions(genericclioptions.NewConfigFlags(false), streams)
			cmd := newCmd(o)
			if err := cmd.ParseFlags(tt.args); err != nil {
				if tt.wantErr == "" || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("flags %v: %v", tt.args, err)
				}
				return
			}
			err := cmd.ValidateArgs(cmd.Flags().Args())
			if err == nil {
				err = o.Validate()
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Validate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// rolloutObjects are an agent Deployment whose current revision has one Pod.
func rolloutObjects(mutatePod func(*corev1.Pod), mutateDeployment func(*appsv1.Deployment)) []client.Object {
	labels := map[string]string{agentmeta.ComponentLabel: agentmeta.Name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: agentmeta.Namespace, Name: agentmeta.Name, UID: "uid-1", Generation: 1,
			Annotations: map[string]string{"deployment.kubernetes.io/revision": "1"}},
		Spec:   appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: labels}},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, UpdatedReplicas: 1},
	}
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: agentmeta.Namespace, Name: "argolite-agent-abc",
		Labels:          map[string]string{agentmeta.ComponentLabel: agentmeta.Name, appsv1.DefaultDeploymentUniqueLabelKey: "abc"},
		Annotations:     map[string]string{"deployment.kubernetes.io/revision": "1"},
		OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: agentmeta.Name, UID: "uid-1"}}}}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: agentmeta.Namespace, Name: "argolite-agent-abc-x1",
			Labels: map[string]string{agentmeta.ComponentLabel: agentmeta.Name, appsv1.DefaultDeploymentUniqueLabelKey: "abc"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "agent", Image: "ghcr.io/argolite/argolite-agent:v9"}}},
	}
	mutatePod(pod)
	if mutateDeployment != nil {
		mutateDeployment(d)
	}
	return []client.Object{d, rs, pod}
}

func waitingPod(reason string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodPending
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "agent",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: "details"}}}}
	}
}

func TestWaitForAgent(t *testing.T) {
	stalled := func(d *appsv1.Deployment) {
		d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse,
			Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "argolite-agent-abc" has timed out progressing.`}}
	}
	tests := []struct {
		name    string
		pod     func(*corev1.Pod)
		deploy  func(*appsv1.Deployment)
		wantOut string
		wantErr []string
	}{
		{name: "progress deadline fails fast", pod: waitingPod("ContainerCreating"), deploy: stalled,
			wantErr: []string{`made no progress: ReplicaSet "argolite-agent-abc" has timed out progressing.; argolite-agent-abc-x1: ContainerCreating`,
				"describe deployment,pods"}},
		{name: "image pull back-off fails fast", pod: waitingPod("ImagePullBackOff"),
			wantErr: []string{`agent Pod argolite-system/argolite-agent-abc-x1 cannot pull image "ghcr.io/argolite/argolite-agent:v9"`, "make image-import"}},
		{name: "never pull fails fast", pod: waitingPod("ErrImageNeverPull"), wantErr: []string{"make image-import"}},
		{name: "invalid image fails fast", pod: waitingPod("InvalidImageName"), wantErr: []string{"is invalid", "--image"}},
		{name: "crash loop fails fast", pod: waitingPod("CrashLoopBackOff"), wantErr: []string{"keeps crashing", "--previous"}},
		{name: "creating times out", pod: waitingPod("ContainerCreating"),
			wantOut: "Waiting for the agent to roll out: 0/1 ready, 0 of 1 available; argolite-agent-abc-x1: ContainerCreating\n",
			wantErr: []string{"timed out after 50ms waiting for Deployment argolite-system/argolite-agent to roll out",
				"argolite-agent-abc-x1: ContainerCreating", "--timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			streams, _, out, _ := genericiooptions.NewTestIOStreams()
			o := NewOptions(genericclioptions.NewConfigFlags(false), streams)
			o.Clients = clitest.NewClients(t, rolloutObjects(tt.pod, tt.deploy)...)
			o.interval, o.Timeout = 10*time.Millisecond, 50*time.Millisecond
			ctx, cancel := cli.WithTimeout(context.Background(), o.Timeout)
			defer cancel()
			start := time.Now()
			err := o.waitForAgent(ctx)
			if err == nil {
				t.Fatal("waitForAgent succeeded")
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error = %q, want it to contain %q", err, s)
				}
			}
			if tt.wantOut == "" && time.Since(start) >= o.Timeout {
				t.Errorf("took %s: did not fail fast", time.Since(start))
			}
			if out.String() != tt.wantOut {
				t.Errorf("progress = %q, want %q (one plain line per change off a terminal)", out.String(), tt.wantOut)
			}
		})
	}
}
