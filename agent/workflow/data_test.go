package workflow

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// The listing itself is covered by integration/e2e/workflow_data_test.go
// (it needs an S3 store); these are the paths that fail before it.
func TestDataTemplateFailures(t *testing.T) {
	for name, tt := range map[string]struct {
		yaml, want string
		phase      argov1.NodePhase
	}{
		"bad expression: refused before any Pod": {`
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: first, template: first}
    - - {name: list, template: list}
  - {name: first, container: {image: x, command: [x]}}
  - name: list
    data:
      source: {artifactPaths: {name: logs, s3: {key: logs}}}
      transformation: [{expression: 'filter(data, {# endsWith })'}]
`, "spec.templates[2].data.transformation[0].expression: template list:", ""},
		"no artifact repository: the node is in error, saying what to configure": {`
metadata: {name: wf}
spec:
  entrypoint: list
  templates:
  - name: list
    data:
      source: {artifactPaths: {name: logs, s3: {key: logs}}}
      transformation: [{expression: 'filter(data, {# endsWith "main.log"})'}]
`, `template list: data.source.artifactPaths: `, argov1.NodeError},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, tt.yaml)
			wf := h.run()
			if wf.Status.Phase != argov1.WorkflowError && wf.Status.Phase != argov1.WorkflowFailed {
				t.Fatalf("phase %s", wf.Status.Phase)
			}
			if !strings.Contains(wf.Status.Message+summary(wf), tt.want) {
				t.Errorf("message %q (%s), want %q", wf.Status.Message, summary(wf), tt.want)
			}
			if tt.phase != "" {
				if n := nodeNamed(t, wf, "wf"); n.Phase != tt.phase || n.Type != argov1.NodeTypePod || !strings.Contains(n.Message, "artifact repository") {
					t.Errorf("node %s %s %q, want a %s Pod node naming the artifact repository", n.Type, n.Phase, n.Message, tt.phase)
				}
			}
			var pods corev1.PodList
			_ = h.c.List(context.Background(), &pods)
			if len(pods.Items) != 0 {
				t.Errorf("%d pods started", len(pods.Items))
			}
		})
	}
}
