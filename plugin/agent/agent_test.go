package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/argolite/argolite/plugin/clitest"
	"github.com/argolite/argolite/shared/agentmeta"
	"github.com/argolite/argolite/shared/version"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestLeaderOf(t *testing.T) {
	lease := func(holder string, renewed time.Time) *coordinationv1.Lease {
		return &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       ptr.To(holder),
			LeaseDurationSeconds: ptr.To[int32](15),
			RenewTime:            &metav1.MicroTime{Time: renewed},
		}}
	}
	tests := []struct {
		name      string
		lease     *coordinationv1.Lease
		wantPod   string
		wantFresh bool
	}{
		{name: "no lease"},
		{name: "released", lease: lease("", now)},
		{name: "fresh", lease: lease("argolite-agent-7d9f-abcde_0b9e3c1e-1a2b-4c5d-8e9f-0a1b2c3d4e5f", now.Add(-5*time.Second)),
			wantPod: "argolite-agent-7d9f-abcde", wantFresh: true},
		{name: "expired", lease: lease("argolite-agent-7d9f-abcde_uuid", now.Add(-16*time.Second)), wantPod: "argolite-agent-7d9f-abcde"},
		{name: "never renewed", lease: &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("p_u")}}, wantPod: "p"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := LeaderOf(tt.lease)
			if l.Pod != tt.wantPod || l.Fresh(now) != tt.wantFresh {
				t.Errorf("LeaderOf = %+v fresh=%v, want pod %q fresh=%v", l, l.Fresh(now), tt.wantPod, tt.wantFresh)
			}
		})
	}
}

func deployment(generation, observed int64, replicas int32, status appsv1.DeploymentStatus) *appsv1.Deployment {
	status.ObservedGeneration = observed
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: agentmeta.Namespace, Name: agentmeta.Name, Generation: generation},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(replicas)},
		Status:     status,
	}
}

func TestRollout(t *testing.T) {
	tests := []struct {
		name     string
		d        *appsv1.Deployment
		wantDone bool
		wantMsg  string
		wantErr  string
	}{
		{name: "spec not observed", d: deployment(2, 1, 1, appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1}),
			wantMsg: "waiting for the Deployment controller"},
		{name: "not updated", d: deployment(2, 2, 2, appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1}),
			wantMsg: "1/2 ready, 1 of 2 updated"},
		{name: "old replicas left", d: deployment(2, 2, 1, appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 1, ReadyReplicas: 2, AvailableReplicas: 2}),
			wantMsg: "1 old replicas terminating"},
		{name: "not available", d: deployment(1, 1, 1, appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 1}),
			wantMsg: "0/1 ready, 0 of 1 available"},
		{name: "rolled out", d: deployment(3, 3, 2, appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 2}),
			wantDone: true, wantMsg: "2/2 ready"},
		{name: "progress deadline", d: deployment(1, 1, 1, appsv1.DeploymentStatus{Conditions: []appsv1.DeploymentCondition{{
			Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded", Message: "ReplicaSet x has timed out progressing."}}}),
			wantErr: "made no progress: ReplicaSet x has timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done, msg, err := Rollout(tt.d)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Rollout error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || done != tt.wantDone || !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("Rollout = %v, %q, %v; want %v, %q", done, msg, err, tt.wantDone, tt.wantMsg)
			}
		})
	}
}

func agentPod(name, hash string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: agentmeta.Namespace, Name: name, Labels: map[string]string{
			agentmeta.ComponentLabel: agentmeta.Name, appsv1.DefaultDeploymentUniqueLabelKey: hash}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "agent", Image: "ghcr.io/argolite/argolite-agent:v1"}}},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func replicaSet(name, hash, revision string, owner types.UID) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{
		Namespace: agentmeta.Namespace, Name: name,
		Labels:          map[string]string{agentmeta.ComponentLabel: agentmeta.Name, appsv1.DefaultDeploymentUniqueLabelKey: hash},
		Annotations:     map[string]string{revisionAnnotation: revision},
		OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: agentmeta.Name, UID: owner}},
	}}
}

func TestCurrentPods(t *testing.T) {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: agentmeta.Namespace, Name: agentmeta.Name, UID: "d-uid",
			Annotations: map[string]string{revisionAnnotation: "2"}},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{agentmeta.ComponentLabel: agentmeta.Name}}},
	}
	terminating := func(p *corev1.Pod) {
		p.DeletionTimestamp = &metav1.Time{Time: now}
		p.Finalizers = []string{"test"}
	}
	clients := clitest.NewClients(t,
		replicaSet("argolite-agent-old", "old", "1", "d-uid"),
		replicaSet("argolite-agent-new", "new", "2", "d-uid"),
		replicaSet("someone-else", "other", "2", "other-uid"),
		agentPod("argolite-agent-old-1", "old"),
		agentPod("argolite-agent-new-2", "new"),
		agentPod("argolite-agent-new-1", "new"),
		agentPod("argolite-agent-new-3", "new", terminating),
		agentPod("someone-else-1", "other"),
	)
	pods, err := CurrentPods(context.Background(), clients.Client, d)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pods {
		names = append(names, p.Name)
	}
	if got, want := strings.Join(names, ","), "argolite-agent-new-1,argolite-agent-new-2"; got != want {
		t.Errorf("CurrentPods = %s, want %s (the new revision's live Pods, by name)", got, want)
	}

	// Before the controller writes the revision there are no current Pods.
	d.Annotations = nil
	if pods, err := CurrentPods(context.Background(), clients.Client, d); err != nil || len(pods) != 0 {
		t.Errorf("CurrentPods without a revision = %v, %v; want none", pods, err)
	}
}

func TestReadNotInstalled(t *testing.T) {
	ctx := context.Background()
	clients := clitest.NewClients(t)
	if d, err := Deployment(ctx, clients.Client); d != nil || err != nil {
		t.Errorf("Deployment = %v, %v; want nil, nil", d, err)
	}
	if l, err := Lease(ctx, clients.Client); l != nil || err != nil {
		t.Errorf("Lease = %v, %v; want nil, nil", l, err)
	}
	if p, err := Pods(ctx, clients.Client); len(p) != 0 || err != nil {
		t.Errorf("Pods = %v, %v; want none", p, err)
	}
}

func TestReadInstalled(t *testing.T) {
	ctx := context.Background()
	other := agentPod("not-an-agent", "x")
	other.Labels = map[string]string{"app": "other"}
	clients := clitest.NewClients(t,
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: agentmeta.Namespace, Name: agentmeta.Name}},
		&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: agentmeta.Namespace, Name: agentmeta.LeaderElectionID}},
		agentPod("b", "h"), agentPod("a", "h"), other,
	)
	if d, err := Deployment(ctx, clients.Client); d == nil || err != nil {
		t.Errorf("Deployment = %v, %v", d, err)
	}
	if l, err := Lease(ctx, clients.Client); l == nil || err != nil {
		t.Errorf("Lease = %v, %v", l, err)
	}
	pods, err := Pods(ctx, clients.Client)
	if err != nil || len(pods) != 2 || pods[0].Name != "a" || pods[1].Name != "b" {
		t.Errorf("Pods = %v, %v; want the two agent Pods sorted", pods, err)
	}
}

func TestVersionAndRoles(t *testing.T) {
	p := agentPod("a", "h")
	if Version(p) != "" || Roles(p) != nil {
		t.Errorf("a Pod without annotations reports %q, %v", Version(p), Roles(p))
	}
	p.Annotations = map[string]string{agentmeta.VersionAnnotation: "v1.2.3", agentmeta.RolesAnnotation: "gitops,workflow"}
	if Version(p) != "v1.2.3" || strings.Join(Roles(p), "|") != "gitops|workflow" {
		t.Errorf("Version, Roles = %q, %v", Version(p), Roles(p))
	}
}

func TestSkewFix(t *testing.T) {
	tests := []struct {
		plugin, agent, want string
	}{
		{plugin: "v0.3.0", agent: "v0.2.0", want: "run kubectl argo install"},
		{plugin: "v0.3.0", agent: "v0.4.0", want: "upgrade the plugin"},
		{plugin: "dev", agent: "v0.4.0", want: "run kubectl argo install"},
	}
	for _, tt := range tests {
		old := version.Version
		version.Version = tt.plugin
		got := SkewFix(tt.agent)
		version.Version = old
		if !strings.Contains(got, tt.want) {
			t.Errorf("SkewFix(plugin %s, agent %s) = %q, want %q", tt.plugin, tt.agent, got, tt.want)
		}
	}
}
