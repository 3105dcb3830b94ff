package main

import (
	"fmt"
	"strconv"
	"strings"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/wfnames"
	"github.com/argolite/argolite/shared/wfvalidate"
)

// The workflows' names (each runs in a namespace of its own) and the DAG
// tasks of the fan-out.
const (
	chainName  = "chain"
	fanOutName = "fan-out"
	fanTask    = "fan"
	finalTask  = "done"
	stepPrefix = "step-"
)

// noopTemplate is the trivial step: the image's `true`.
func noopTemplate(image string) string {
	return fmt.Sprintf(`  - name: noop
    container:
      image: %s
      imagePullPolicy: IfNotPresent
      command: ["true"]
`, image)
}

// chainYAML is a Workflow whose steps template has n groups of one step
// each (step-000, step-001, ...), so that each step starts when the one
// before it has finished.
func chainYAML(image string, n int) string {
	var s strings.Builder
	fmt.Fprintf(&s, `apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata:
  name: %s
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
`, chainName)
	for i := range n {
		fmt.Fprintf(&s, "    - - name: %s%03d\n        template: noop\n", stepPrefix, i)
	}
	s.WriteString(noopTemplate(image))
	return s.String()
}

// fanOutYAML is a Workflow whose DAG runs width copies of the trivial step
// at once (withSequence, no parallelism limit), then one final step.
func fanOutYAML(image string, width int) string {
	return fmt.Sprintf(`apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata:
  name: %s
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: %s
        template: noop
        withSequence: {count: "%d"}
      - name: %s
        template: noop
        depends: %s
`, fanOutName, fanTask, width, finalTask, fanTask) + noopTemplate(image)
}

// decodeWorkflow decodes and validates a workflow file as `kubectl argo wf
// submit` does.
func decodeWorkflow(file, data string) (*argov1.Workflow, error) {
	docs, err := wfvalidate.DecodeFile(file, []byte(data))
	if err != nil {
		return nil, err
	}
	if len(docs) != 1 {
		return nil, fmt.Errorf("%s: %d documents, want one Workflow", file, len(docs))
	}
	wf, ok := docs[0].Object.(*argov1.Workflow)
	if !ok {
		return nil, fmt.Errorf("%s: a %s, want a Workflow", file, docs[0].Kind)
	}
	if err := docs[0].Validate(wfvalidate.Options{Submit: true}).Err(); err != nil {
		return nil, err
	}
	return wf, nil
}

// stepIndex is the chain step a node runs: 42 for the node
// "chain[42].step-042".
func stepIndex(nodeName string) (int, bool) {
	rest, ok := strings.CutPrefix(wfnames.DisplayName(chainName, nodeName), stepPrefix)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	return i, err == nil
}
