// Package wfnames owns the names argolite gives workflow nodes and step Pods,
// so that the agent, which creates them, and the plugin, which finds them,
// agree: Argo's node IDs and (v2) Pod names, the display name of a node, and
// the label and annotations that tie a step Pod to its workflow and node,
// and a scheduled Workflow to its CronWorkflow.
//
// It imports nothing beyond the standard library, so either binary can use it.
package wfnames

import (
	"fmt"
	"hash/fnv"
	"strings"
)

// Labels, annotations and the container name of step Pods.
const (
	// LabelWorkflow names the Workflow a step Pod belongs to.
	LabelWorkflow = "argolite.dev/workflow"
	// AnnotationNodeID is the ID of the node a step Pod runs.
	AnnotationNodeID = "argolite.dev/node-id"
	// AnnotationNodeName is the full name of the node a step Pod runs.
	AnnotationNodeName = "argolite.dev/node-name"
	// MainContainer is the step Pod's container that runs the user's command.
	MainContainer = "main"

	// LabelCronWorkflow (Argo's name) names the CronWorkflow that submitted a Workflow.
	LabelCronWorkflow = "workflows.argoproj.io/cron-workflow"
	// AnnotationScheduledTime (Argo's name) is the schedule time a
	// CronWorkflow submitted a Workflow for, in RFC 3339.
	AnnotationScheduledTime = "workflows.argoproj.io/scheduled-time"
)

// maxPodPrefix keeps a Pod name (prefix, '-', up to 10 hash digits) within
// the 253 characters of a DNS subdomain.
const maxPodPrefix = 253 - 11

// NodeID is Argo's node ID: the workflow name for the root node (whose name
// is the workflow's), else the workflow name and the FNV-32a hash of the
// node's name.
func NodeID(workflow, nodeName string) string {
	if nodeName == workflow {
		return workflow
	}
	return fmt.Sprintf("%s-%d", workflow, hash(nodeName))
}

// PodName is Argo's v2 Pod name of a node: the workflow name, the template
// name and the hash of the node name. The root node's Pod is named after the
// workflow.
func PodName(workflow, nodeName, templateName string) string {
	if nodeName == workflow {
		return workflow
	}
	prefix := workflow
	if templateName != "" {
		prefix += "-" + templateName
	}
	if len(prefix) > maxPodPrefix {
		prefix = prefix[:maxPodPrefix]
	}
	return fmt.Sprintf("%s-%d", strings.TrimSuffix(prefix, "-"), hash(nodeName))
}

// DisplayName is the last part of a node name: the step or task name (with
// its loop or retry suffix). The root node's display name is its name.
func DisplayName(workflow, nodeName string) string {
	if nodeName == workflow {
		return nodeName
	}
	// The part after the last '.' that is not inside brackets or parentheses.
	depth := 0
	for i := len(nodeName) - 1; i >= 0; i-- {
		switch nodeName[i] {
		case ')', ']':
			depth++
		case '(', '[':
			depth--
		case '.':
			if depth == 0 {
				return nodeName[i+1:]
			}
		}
	}
	return nodeName
}

func hash(s string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return h.Sum32()
}
