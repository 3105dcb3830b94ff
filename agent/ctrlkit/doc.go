// Package ctrlkit owns what every reconciler of the agent does the same
// way, so a new role brings only its own steps:
//
//   - StatusWriter, the one path by which a status is written: no request
//     when nothing changed, an optimistic lock on the resourceVersion the
//     reconcile read, a short requeue on conflict, NotFound ignored, and a
//     guard against acting on a cached copy older than the last write;
//   - conditions with ObservedGeneration: Ready plus the Reconciling and
//     Stalled pair that kstatus reads;
//   - Events, the nil-safe Kubernetes Event recorder;
//   - Metrics, argolite_<role>_reconcile_seconds and
//     argolite_<role>_reconcile_errors_total per object, deleted with it.
//
// fluxcd/pkg/runtime's patch helper was the model. It is not used as such:
// it needs every kind to carry metav1.Conditions (Argo's Workflow status has
// its own condition type), and it has no guard for the stale cache that a
// controller writing status many times a second (a workflow's steps) meets.
package ctrlkit
