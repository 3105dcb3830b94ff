// Package gitops is the agent's GitOps role: it reconciles Applications by
// resolving their Git revision, rendering the manifests (shared/render),
// comparing them with the cluster by server-side dry-run (shared/diff),
// syncing them in waves with hooks through fluxcd/pkg/ssa, pruning what left
// Git, and reporting health (shared/health) and history in the Application's
// status. It owns the sync operation state machine, the watches on managed
// objects that make drift detection event-driven, and the Git push webhook.
package gitops
