// Package agentmeta owns the names by which the plugin finds the agent in a
// cluster and the agent describes itself: its namespace, Deployment, leader
// Lease, settings ConfigMap, labels and the annotations the agent writes on its own Pod.
package agentmeta

const (
	// Namespace is where `kubectl argo install` puts the agent.
	Namespace = "argolite-system"
	// Name is the agent's Deployment, ServiceAccount and Service name.
	Name = "argolite-agent"
	// LeaderElectionID names the Lease the agent replicas elect a leader on.
	LeaderElectionID = "argolite-agent-leader"
	// ConfigMapName is the agent's settings ConfigMap in its namespace:
	// health rules, workflow images, the artifact repository, metrics.
	ConfigMapName = "argolite-config"
	// FieldManager is the server-side apply field manager of everything argolite applies.
	FieldManager = "argolite"

	// ComponentLabel selects the agent's Pods.
	ComponentLabel = "app.kubernetes.io/name"
	// PartOfLabel marks every object an install creates, so uninstall finds them all.
	PartOfLabel = "app.kubernetes.io/part-of"
	// PartOf is the value of PartOfLabel.
	PartOf = "argolite"

	// VersionAnnotation is written by each agent replica on its own Pod: the
	// agent binary's version, read by `kubectl argo version` and `status`.
	VersionAnnotation = "argolite.dev/agent-version"
	// RolesAnnotation lists the roles the replica runs, comma separated.
	RolesAnnotation = "argolite.dev/agent-roles"
)
