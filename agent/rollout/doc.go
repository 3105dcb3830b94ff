// Package rollout owns the Rollout role: Rollouts moved to a new version
// blue/green or canary, step by step, through ReplicaSets the agent owns,
// Services whose selectors it switches, and (with trafficRouting) the
// weights of Gateway API HTTPRoutes; gated by AnalysisRuns.
package rollout

import argov1 "github.com/argolite/argolite/shared/api/v1alpha1"

// LabelPodTemplateHash is the label that ties a ReplicaSet, its Pods and a
// Service selector to one revision (Argo's rollouts-pod-template-hash).
const LabelPodTemplateHash = argov1.LabelPodTemplateHash
