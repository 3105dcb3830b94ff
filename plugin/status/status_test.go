package status

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/spf13/cobra"

	"github.com/argolite/argolite/manifests"
	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/plugin/clitest"
	"github.com/argolite/argolite/shared/agentmeta"
	"github.com/argolite/argolite/shared/version"
)

var now = clitest.Now

const pluginVersion = "v0.3.0"

// crd is an established CRD that serves the versions served.
func crd(name string, served ...string) *apiextensionsv1.CustomResourceDefinition {
	c := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: apiextensionsv1.CustomResourceDefinitionStatus{Conditions: []apiextensionsv1.CustomResourceDefinitionCondition{
			{Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionTrue}}},
	}
	for _, v := range served {
		c.Spec.Versions = append(c.Spec.Versions, apiextensionsv1.CustomResourceDefinitionVersion{Name: v, Served: true})
	}
	return c
}

// embeddedCRD is a CRD of the install manifests and the versions it serves.
type embeddedCRD struct {
	name   string
	served []string
}

// embeddedCRDs are the CRDs of the install manifests, in manifest order.
func embeddedCRDs(t *testing.T) []embeddedCRD {
	t.Helper()
	objs, err := manifests.Objects(manifests.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var crds []embeddedCRD
	for _, o := range objs {
		if o.GetKind() != "CustomResourceDefinition" {
			continue
		}
		c := &apiextensionsv1.CustomResourceDefinition{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, c); err != nil {
			t.Fatalf("CRD %s: %v", o.GetName(), err)
		}
		e := embeddedCRD{name: c.Name}
		for _, v := range c.Spec.Versions {
			if v.Served {
				e.served = append(e.served, v.Name)
			}
		}
		if len(e.served) == 0 {
			t.Fatalf("the embedded CRD %s serves no version", c.Name)
		}
		crds = append(crds, e)
	}
	if len(crds) == 0 {
		t.Fatal("the embedded manifests have no CRD")
	}
	return crds
}

func deployment(want, ready int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: agentmeta.Namespace, Name: agentmeta.Name},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(want), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "agent", Image: "ghcr.io/argolite/argolite-agent:v0.3.0"}}}}},
		Status: appsv1.DeploymentStatus{Replicas: want, ReadyReplicas: ready},
	}
}

func pod(name, agentVersion string, ready bool, age time.Duration) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: agentmeta.Namespace, Name: name,
			Labels:            map[string]string{agentmeta.ComponentLabel: agentmeta.Name},
			CreationTimestamp: metav1.Time{Time: now.Add(-age)},
			Annotations:       map[string]string{agentmeta.RolesAnnotation: "gitops,workflow"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "agent", Image: "ghcr.io/argolite/argolite-agent:v0.3.0"}}},
		Status: corev1.PodStatus{
			Phase:             corev1.PodRunning,
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "agent", Ready: ready, RestartCount: 1}},
		},
	}
	if agentVersion != "" {
		p.Annotations[agentmeta.VersionAnnotation] = agentVersion
	}
	if ready {
		p.Status.Conditions[0].Status = corev1.ConditionTrue
	}
	return p
}

func lease(holder string, renewedAgo time.Duration) *coordinationv1.Lease {
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: agentmeta.Namespace, Name: agentmeta.LeaderElectionID},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       ptr.To(holder + "_6c1f2a9e-0000-4000-8000-000000000000"),
			LeaseDurationSeconds: ptr.To[int32](15),
			RenewTime:            &metav1.MicroTime{Time: now.Add(-renewedAgo)},
		},
	}
}

// cluster is what status reads; nil fields are absent.
type cluster struct {
	crds   []*apiextensionsv1.CustomResourceDefinition
	deploy *appsv1.Deployment
	pods   []*corev1.Pod
	lease  *coordinationv1.Lease
}

// healthy is a cluster with every embedded CRD, serving its versions, and
// two ready agent replicas of the plugin's version, one of them leading.
func healthy(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{
		deploy: deployment(2, 2),
		pods: []*corev1.Pod{
			pod("argolite-agent-a", pluginVersion, true, 90*time.Minute),
			pod("argolite-agent-b", pluginVersion, true, 3*time.Minute),
		},
		lease: lease("argolite-agent-a", 2*time.Second),
	}
	for _, e := range embeddedCRDs(t) {
		c.crds = append(c.crds, crd(e.name, e.served...))
	}
	return c
}

func (c *cluster) objects() []client.Object {
	var objs []client.Object
	for _, d := range c.crds {
		objs = append(objs, d)
	}
	if c.deploy != nil {
		objs = append(objs, c.deploy)
	}
	for _, p := range c.pods {
		objs = append(objs, p)
	}
	if c.lease != nil {
		objs = append(objs, c.lease)
	}
	return objs
}

func run(t *testing.T, clients *cli.Clients, args ...string) (string, error) {
	t.Helper()
	old := version.Version
	version.Version = pluginVersion
	t.Cleanup(func() { version.Version = old })
	r := clitest.Run(t, func(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
		o := NewOptions(flags, streams)
		o.Clients, o.now = clients, func() time.Time { return now }
		return newCmd(o)
	}, args...)
	return r.Out, r.Err
}

// check finds the named check in out's check table: "NAME  RESULT  DETAIL".
func check(t *testing.T, out, name string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, name+" ") {
			return strings.Join(strings.Fields(strings.TrimPrefix(line, name)), " ")
		}
	}
	t.Errorf("no %q check in:\n%s", name, out)
	return ""
}

func TestStatusHealthy(t *testing.T) {
	out, err := run(t, clitest.NewClients(t, healthy(t).objects()...))
	if err != nil {
		t.Fatalf("status of a healthy install: %v\n%s", err, out)
	}
	wantChecks := map[string]string{
		"Agent":   "OK 2/2 replicas ready (image ghcr.io/argolite/argolite-agent:v0.3.0)",
		"Leader":  "OK argolite-agent-a (lease renewed 2s ago)",
		"Version": "OK plugin and agent run v0.3.0",
	}
	for _, e := range embeddedCRDs(t) {
		wantChecks["CRD "+e.name] = "OK serves " + strings.Join(e.served, ", ")
	}
	for name, want := range wantChecks {
		if got := check(t, out, name); got != want {
			t.Errorf("check %s = %q, want %q", name, got, want)
		}
	}
	wantReplicas := []string{
		"POD READY VERSION ROLES LEADER RESTARTS AGE",
		"argolite-agent-a 1/1 v0.3.0 gitops,workflow yes 1 90m",
		"argolite-agent-b 1/1 v0.3.0 gitops,workflow no 1 3m",
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	got := lines[len(lines)-3:]
	for i := range got {
		got[i] = strings.Join(strings.Fields(got[i]), " ")
	}
	if strings.Join(got, "\n") != strings.Join(wantReplicas, "\n") {
		t.Errorf("replica table:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantReplicas, "\n"))
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colour codes in output that is not a terminal")
	}
}

func TestStatusProblems(t *testing.T) {
	crds := embeddedCRDs(t)
	allMissing := map[string]string{"Agent": "Failed Deployment argolite-system/argolite-agent not found"}
	for _, e := range crds {
		allMissing["CRD "+e.name] = "Failed missing"
	}
	first := crds[0]
	tests := []struct {
		name      string
		mutate    func(c *cluster)
		wantCheck map[string]string
		// wantErr is empty when the problem is only a warning.
		wantErr string
	}{
		{
			name:      "not installed",
			mutate:    func(c *cluster) { *c = cluster{} },
			wantCheck: allMissing,
			wantErr:   "argolite is not installed in this cluster: run kubectl argo install",
		},
		{
			name:      "CRD missing",
			mutate:    func(c *cluster) { c.crds = c.crds[1:] },
			wantCheck: map[string]string{"CRD " + first.name: "Failed missing"},
			wantErr:   "argolite is unhealthy: CRD " + first.name + ": missing: run kubectl argo install",
		},
		{
			name:   "CRD lacks the plugin's version",
			mutate: func(c *cluster) { c.crds[0] = crd(first.name, "v1alpha0") },
			wantCheck: map[string]string{
				"CRD " + first.name: "Warning serves v1alpha0; this plugin uses " + strings.Join(first.served, ", "),
			},
		},
		{
			name: "no ready replica",
			mutate: func(c *cluster) {
				c.deploy = deployment(1, 0)
				p := pod("argolite-agent-a", "", false, time.Minute)
				p.Status.ContainerStatuses[0].State.Waiting = &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}
				c.pods = []*corev1.Pod{p}
			},
			wantCheck: map[string]string{"Agent": `Failed 0/1 replicas ready (image ghcr.io/argolite/argolite-agent:v0.3.0); agent Pod argolite-system/argolite-agent-a cannot pull image "ghcr.io/argolite/argolite-agent:v0.3.0" (ImagePullBackOff)`},
			wantErr:   "make image-import",
		},
		{
			name: "some replicas not ready",
			mutate: func(c *cluster) {
				c.deploy = deployment(2, 1)
				c.pods[1] = pod("argolite-agent-b", pluginVersion, false, time.Minute)
			},
			wantCheck: map[string]string{"Agent": "Warning 1/2 replicas ready (image ghcr.io/argolite/argolite-agent:v0.3.0); argolite-agent-b: Running, not ready"},
		},
		{
			name:      "no lease",
			mutate:    func(c *cluster) { c.lease = nil },
			wantCheck: map[string]string{"Leader": "Failed no leader elected: Lease argolite-system/argolite-agent-leader does not exist"},
			wantErr:   "argolite is unhealthy: Leader: no leader elected",
		},
		{
			name:      "stale lease",
			mutate:    func(c *cluster) { c.lease = lease("argolite-agent-a", time.Minute) },
			wantCheck: map[string]string{"Leader": "Failed argolite-agent-a held Lease argolite-system/argolite-agent-leader, which expired 45s ago"},
			wantErr:   "which expired 45s ago: a standby replica should take over",
		},
		{
			name:      "leader is not an agent Pod",
			mutate:    func(c *cluster) { c.lease = lease("intruder", time.Second) },
			wantCheck: map[string]string{"Leader": "Warning intruder (renewed 1s ago) is not an agent Pod"},
		},
		{
			name:      "older agent",
			mutate:    func(c *cluster) { c.pods[1] = pod("argolite-agent-b", "v0.2.0", true, time.Minute) },
			wantCheck: map[string]string{"Version": "Warning plugin is v0.3.0; argolite-agent-b runs v0.2.0"},
		},
		{
			name:      "unreported version",
			mutate:    func(c *cluster) { c.pods[0] = pod("argolite-agent-a", "", true, time.Minute) },
			wantCheck: map[string]string{"Version": "Warning argolite-agent-a has not reported its version yet"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := healthy(t)
			tt.mutate(c)
			out, err := run(t, clitest.NewClients(t, c.objects()...))
			for name, want := range tt.wantCheck {
				if got := check(t, out, name); got != want {
					t.Errorf("check %s = %q, want %q", name, got, want)
				}
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("a warning failed the command: %v", err)
				}
				if !strings.Contains(out, "Warning: ") {
					t.Errorf("no fix printed for the warning:\n%s", out)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestStatusNotInstalledIsErrNotInstalled(t *testing.T) {
	_, err := run(t, clitest.NewClients(t))
	if !errors.Is(err, cli.ErrNotInstalled) {
		t.Errorf("error = %v, want cli.ErrNotInstalled", err)
	}
}

func TestStatusJSON(t *testing.T) {
	c := healthy(t)
	c.lease = nil
	out, err := run(t, clitest.NewClients(t, c.objects()...), "-o", "json")
	if err == nil {
		t.Error("-o json of an unhealthy install succeeded")
	}
	var r Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("-o json printed invalid JSON: %v\n%s", err, out)
	}
	if r.Kind != "Status" || r.Healthy || !r.Installed || len(r.Replicas) != 2 {
		t.Errorf("report = %+v, want an installed, unhealthy Status with 2 replicas", r)
	}
	// The CRDs in manifest order, then the agent.
	var wantNames, names []string
	for _, e := range embeddedCRDs(t) {
		wantNames = append(wantNames, "CRD "+e.name)
	}
	wantNames = append(wantNames, "Agent", "Leader", "Version")
	for _, ch := range r.Checks {
		names = append(names, ch.Name)
	}
	if !slices.Equal(names, wantNames) {
		t.Fatalf("checks %q, want %q", names, wantNames)
	}
	if leader := r.Checks[len(r.Checks)-2]; leader.Result != Failed || leader.Fix == "" {
		t.Errorf("leader check = %+v, want Failed with a fix", leader)
	}
	if rep := r.Replicas[0]; rep.Pod != "argolite-agent-a" || !rep.Ready || rep.Version != pluginVersion || rep.Leader || strings.Join(rep.Roles, ",") != "gitops,workflow" {
		t.Errorf("replica = %+v", rep)
	}
}

func TestStatusFlagsAndErrors(t *testing.T) {
	forbidden := clitest.NewClientsWith(t, interceptor.Funcs{
		Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
			return apierrors.NewForbidden(schema.GroupResource{Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"},
				"applications.argolite.dev", errors.New(`User "bob" cannot get resource "customresourcedefinitions"`))
		},
	})
	tests := []struct {
		name    string
		clients *cli.Clients
		args    []string
		wantErr string
	}{
		{name: "unknown output", clients: clitest.NewClients(t), args: []string{"-o", "wide"}, wantErr: `unknown output format "wide"`},
		{name: "arguments", clients: clitest.NewClients(t), args: []string{"agent"}, wantErr: `unknown command "agent"`},
		{name: "forbidden", clients: forbidden, wantErr: `permission denied: customresourcedefinitions.apiextensions.k8s.io "applications.argolite.dev" is forbidden`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := run(t, tt.clients, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestReportDeepCopy(t *testing.T) {
	r := &Report{Checks: []Check{{Name: "a"}}, Replicas: []Replica{{Pod: "p", Roles: []string{"gitops"}}}}
	c := r.DeepCopyObject().(*Report)
	c.Checks[0].Name, c.Replicas[0].Roles[0] = "changed", "changed"
	if r.Checks[0].Name != "a" || r.Replicas[0].Roles[0] != "gitops" {
		t.Error("DeepCopyObject shares memory with the original")
	}
}
