// Package agent owns how the plugin finds and judges the argolite agent in a
// cluster: its Deployment and rollout, its replica Pods with the version and
// roles each writes on itself, the leader Lease, and why a replica cannot start.
package agent

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/semver"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/shared/agentmeta"
	"github.com/argolite/argolite/shared/version"
)

// revisionAnnotation is the Deployment controller's rollout revision, on the
// Deployment and on each of its ReplicaSets.
const revisionAnnotation = "deployment.kubernetes.io/revision"

// Deployment returns the agent's Deployment, or nil when it does not exist.
func Deployment(ctx context.Context, r client.Reader) (*appsv1.Deployment, error) {
	d := &appsv1.Deployment{}
	err := r.Get(ctx, client.ObjectKey{Namespace: agentmeta.Namespace, Name: agentmeta.Name}, d)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading Deployment %s/%s: %w", agentmeta.Namespace, agentmeta.Name, err)
	}
	return d, nil
}

// Pods lists the agent's replica Pods, sorted by name.
func Pods(ctx context.Context, r client.Reader) ([]corev1.Pod, error) {
	var list corev1.PodList
	if err := r.List(ctx, &list, client.InNamespace(agentmeta.Namespace),
		client.MatchingLabels{agentmeta.ComponentLabel: agentmeta.Name}); err != nil {
		return nil, fmt.Errorf("listing the agent Pods in %s: %w", agentmeta.Namespace, err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items, nil
}

// Lease returns the leader Lease, or nil before any replica has taken it.
func Lease(ctx context.Context, r client.Reader) (*coordinationv1.Lease, error) {
	l := &coordinationv1.Lease{}
	err := r.Get(ctx, client.ObjectKey{Namespace: agentmeta.Namespace, Name: agentmeta.LeaderElectionID}, l)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading Lease %s/%s: %w", agentmeta.Namespace, agentmeta.LeaderElectionID, err)
	}
	return l, nil
}

// Version is the agent version a replica reports on its Pod, or "" before it has.
func Version(pod *corev1.Pod) string { return pod.Annotations[agentmeta.VersionAnnotation] }

// Roles are the roles a replica reports it runs.
func Roles(pod *corev1.Pod) []string {
	v := pod.Annotations[agentmeta.RolesAnnotation]
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// Leader is who holds the leader Lease.
type Leader struct {
	// Pod is the holder's Pod name; empty when nobody holds the Lease.
	Pod string
	// Renewed is when the holder last renewed the Lease.
	Renewed time.Time
	// Expires is when the Lease lapses unless the holder renews it.
	Expires time.Time
}

// LeaderOf reads a Lease written by controller-runtime's leader election,
// whose holder identity is "<pod name>_<uuid>".
func LeaderOf(lease *coordinationv1.Lease) Leader {
	if lease == nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		return Leader{}
	}
	// Pod names cannot contain "_", so the first one ends the name.
	pod, _, _ := strings.Cut(*lease.Spec.HolderIdentity, "_")
	l := Leader{Pod: pod}
	if lease.Spec.RenewTime != nil && lease.Spec.LeaseDurationSeconds != nil {
		l.Renewed = lease.Spec.RenewTime.Time
		l.Expires = lease.Spec.RenewTime.Add(time.Duration(*lease.Spec.LeaseDurationSeconds) * time.Second)
	}
	return l
}

// Fresh reports whether the holder renewed the Lease recently enough that
// no other replica may take it yet.
func (l Leader) Fresh(now time.Time) bool { return l.Pod != "" && now.Before(l.Expires) }

// Replicas is the number of replicas d asks for.
func Replicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1 // the API server's default
	}
	return *d.Spec.Replicas
}

// Rollout judges a Deployment's rollout the way kubectl rollout status does:
// done when the controller has seen the latest spec and every replica runs
// the new template and is available. msg says what is still missing; err is
// set when the rollout has stalled for good.
func Rollout(d *appsv1.Deployment) (done bool, msg string, err error) {
	want, s := Replicas(d), d.Status
	if d.Generation > s.ObservedGeneration {
		return false, "waiting for the Deployment controller to see the new spec", nil
	}
	for _, c := range s.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return false, "", fmt.Errorf("rollout of Deployment %s/%s made no progress: %s", d.Namespace, d.Name, c.Message)
		}
	}
	ready := fmt.Sprintf("%d/%d ready", s.ReadyReplicas, want)
	switch {
	case s.UpdatedReplicas < want:
		return false, fmt.Sprintf("%s, %d of %d updated", ready, s.UpdatedReplicas, want), nil
	case s.Replicas > s.UpdatedReplicas:
		return false, fmt.Sprintf("%s, %d old replicas terminating", ready, s.Replicas-s.UpdatedReplicas), nil
	case s.AvailableReplicas < want:
		return false, fmt.Sprintf("%s, %d of %d available", ready, s.AvailableReplicas, want), nil
	}
	return true, ready, nil
}

// CurrentPods returns the Pods of d's current revision: a rollout is judged
// by them, not by old Pods that are about to go. It is empty until the
// Deployment controller has created the revision's ReplicaSet.
func CurrentPods(ctx context.Context, r client.Reader, d *appsv1.Deployment) ([]corev1.Pod, error) {
	revision := d.Annotations[revisionAnnotation]
	if revision == "" || d.Spec.Selector == nil {
		return nil, nil
	}
	var sets appsv1.ReplicaSetList
	if err := r.List(ctx, &sets, client.InNamespace(d.Namespace), client.MatchingLabels(d.Spec.Selector.MatchLabels)); err != nil {
		return nil, fmt.Errorf("listing the ReplicaSets of Deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	hash := ""
	for _, rs := range sets.Items {
		if rs.Annotations[revisionAnnotation] == revision && ownedBy(rs.OwnerReferences, d) {
			hash = rs.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
		}
	}
	if hash == "" {
		return nil, nil
	}
	var pods corev1.PodList
	if err := r.List(ctx, &pods, client.InNamespace(d.Namespace), client.MatchingLabels(d.Spec.Selector.MatchLabels),
		client.MatchingLabels{appsv1.DefaultDeploymentUniqueLabelKey: hash}); err != nil {
		return nil, fmt.Errorf("listing the Pods of Deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	var current []corev1.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			current = append(current, p)
		}
	}
	sort.Slice(current, func(i, j int) bool { return current[i].Name < current[j].Name })
	return current, nil
}

func ownedBy(refs []metav1.OwnerReference, d *appsv1.Deployment) bool {
	for _, ref := range refs {
		if ref.Kind == "Deployment" && ref.Name == d.Name && ref.UID == d.UID {
			return true
		}
	}
	return false
}

// SkewFix says which side of a version skew to move: the older one. An agent
// newer than the plugin means upgrading the plugin; anything else (older or
// not comparable) means installing the plugin's agent.
func SkewFix(agentVersion string) string {
	if semver.IsValid(agentVersion) && semver.IsValid(version.Version) && semver.Compare(agentVersion, version.Version) > 0 {
		return "the agent is newer than this plugin: upgrade the plugin (kubectl krew upgrade argo)"
	}
	return "run kubectl argo install to move the agent to the plugin's version " + version.Version
}
