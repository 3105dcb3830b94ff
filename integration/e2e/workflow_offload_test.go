package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	s3manifest "github.com/argolite/argolite/integration/s3server/manifest"
)

// pythonImage is the locally built python the big step runs.
const pythonImage = "argolite.local/library/python:alpine3.23"

// largeResultOffloaded is the subtest of TestWorkflowFeatures
// "a large result is offloaded to the artifact repository and read back".
func (ws *workflowSuite) largeResultOffloaded(t *testing.T) {
	dyn := ws.dyn
	ns := featureNamespace(t, dyn)
	deployArtifactStore(t, dyn, ns)
	// 4000 lines of 52 bytes: 208000 bytes of stdout, the result is the
	// same without the last newline. The termination message holds 4 KiB.
	const lines, line = 4000, "abcdefghijklmnopqrstuvwxyz0123456789abcd"
	var b strings.Builder
	for i := range lines {
		fmt.Fprintf(&b, "line %05d %s\n", i, line)
	}
	stdout := b.String()
	sum := sha256.Sum256([]byte(stdout))
	bigTemplate := `
  - name: big
    script:
      image: ` + pythonImage + `
      imagePullPolicy: IfNotPresent
      command: [python3]
      source: |
        import sys
        sys.stdout.write("".join("line %05d ` + line + `\n" % i for i in range(` + strconv.Itoa(lines) + `)))
`
	name := submitWorkflow(t, dyn, ns, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: big-result-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: big, template: big}
    - - name: read
        template: read
        arguments: {parameters: [{name: text, value: "{{steps.big.outputs.result}}"}]}
  - name: read
    inputs: {parameters: [{name: text}]}
    script:
      image: `+wfImage+`
      imagePullPolicy: IfNotPresent
      command: [sh]
      source: |
        cat > /tmp/in <<'END_OF_TEXT'
        {{inputs.parameters.text}}
        END_OF_TEXT
        wc -c < /tmp/in
        sha256sum /tmp/in
`+bigTemplate)
	big, read := name+"[0].big", name+"[1].read"
	wf := waitWorkflow(t, dyn, ns, name, "to end", 3*time.Minute, completed)
	if phaseOf(wf) != "Succeeded" {
		t.Fatalf("want Succeeded:\n%s", describeWorkflow(wf))
	}
	// The wrapper stored the result in the repository and reported only
	// where; the agent read it back into the node's outputs.
	if pods := podsOfNode(t, ns, name, big); len(pods) != 1 {
		t.Errorf("Pods of %s: %v, want 1", big, podNames(pods))
	} else if term := terminatedMain(&pods[0]); term == nil || !strings.Contains(term.Message, `"offloaded"`) || len(term.Message) > 4096 {
		t.Errorf("the big step's termination message should name where its outputs were offloaded; got %+v", term)
	}
	if got := nodeStr(nodeNamed(wf, big), "outputs", "result"); got != strings.TrimSuffix(stdout, "\n") {
		t.Errorf("the big step's outputs.result has %d bytes (starts %q); want the %d bytes it printed, less the last newline",
			len(got), clipText(got, 60), len(stdout)-1)
	}
	// The next step got all of it: the heredoc adds the newline back.
	got := strings.Fields(nodeStr(nodeNamed(wf, read), "outputs", "result"))
	if len(got) < 2 || got[0] != strconv.Itoa(len(stdout)) || got[1] != hex.EncodeToString(sum[:]) {
		t.Errorf("the read step saw %v; want %d bytes with sha256 %s", got, len(stdout), hex.EncodeToString(sum[:]))
	}

	// Without an artifact repository the step fails and says what to do.
	bare := featureNamespace(t, dyn)
	name = submitWorkflow(t, dyn, bare, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: big-result-no-repo-}
spec:
  entrypoint: big
  templates:`+bigTemplate)
	wf = waitWorkflow(t, dyn, bare, name, "to end", 3*time.Minute, completed)
	// agent/exec/result.go: "the step's outputs are N bytes, more than the
	// 4 KiB a termination message holds: configure a default artifact
	// repository (...) so large outputs are stored there".
	msg := nodeStr(nodeNamed(wf, name), "message")
	if !regexp.MustCompile(`outputs are \d+ bytes`).MatchString(msg) || !strings.Contains(msg, "termination message") ||
		!strings.Contains(msg, "configure a default artifact repository") {
		t.Errorf("the step's message %q should say its outputs are too large for the termination message and to configure a default artifact repository", msg)
	}
	if phaseOf(wf) != "Failed" || !strings.Contains(messageOf(wf), "artifact repository") {
		t.Errorf("want the workflow Failed with the step's message:\n%s", describeWorkflow(wf))
	}
}

// deployArtifactStore runs the S3-compatible store (Service minio, Secret
// my-minio-cred, bucket my-bucket) in ns with the artifact-repositories
// ConfigMap, as the conformance suite does, and waits until it serves.
func deployArtifactStore(t *testing.T, dyn dynamic.Interface, ns string) {
	t.Helper()
	objs, err := s3manifest.Objects()
	if err != nil {
		t.Fatal(err)
	}
	cm, err := s3manifest.ArtifactRepositories()
	if err != nil {
		t.Fatal(err)
	}
	objs = append(objs, cm)
	for _, obj := range objs {
		gvk := obj.GroupVersionKind()
		gvr := schema.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: strings.ToLower(gvk.Kind) + "s"}
		obj.SetNamespace(ns)
		if _, err := dyn.Resource(gvr).Namespace(ns).Create(context.Background(), obj, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating %s %s/%s: %v", gvk.Kind, ns, obj.GetName(), err)
		}
	}
	waitFor(t, "the artifact store "+ns+"/"+s3manifest.Name+" to be ready", 2*time.Minute, func(ctx context.Context) (bool, error) {
		d, err := clientset.AppsV1().Deployments(ns).Get(ctx, s3manifest.Name, metav1.GetOptions{})
		return err == nil && d.Status.ReadyReplicas == 1, err
	})
}
