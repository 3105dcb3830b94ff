// Package experiment owns Experiments: the ReplicaSets of their templates
// (and a Service in front of each that asks for one), run side by side
// once all are available for spec.duration, with AnalysisRuns that can end
// them early; then scaled down after scaleDownDelaySeconds. It follows
// Argo Rollouts' experiment controller (experiments/experiment.go): the
// same phases, template states, conditions, Events and names, so a
// Rollout's experiment step and Argo's tooling read it alike.
package experiment
