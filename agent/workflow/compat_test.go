package workflow

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argolite/argolite/agent/exec"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// TestWhenWithExpressionTags: a when holding {{= }} expression tags (here
// building a quoted list with join) is substituted first and evaluated
// after, as in Argo's steps-when-expr-filter case.
func TestWhenWithExpressionTags(t *testing.T) {
	h := newHarness(t, `
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
  - name: main
    inputs:
      parameters:
      - {name: test, value: 'true'}
      - name: list
        value: "{{= concat(['always'], inputs.parameters.test == 'true' ? ['test'] : []) | toJSON() }}"
    steps:
    - - name: fst
        template: run
        when: |
          "{{= get(item, 'type') ?? 'always' }}"
          in
          ("{{= inputs.parameters.list | fromJSON() | join('","') }}","")
        withParam: |
          [
            { "name": "first", "type": "" },
            { "name": "second", "type": "always" },
            { "name": "third", "type": "test" },
            { "name": "fourth" },
            { "name": "fifth", "type": "other" }
          ]
        arguments:
          parameters:
          - {name: name, value: "{{ item.name }}{{ inputs.parameters.list }}"}
  - name: run
    inputs: {parameters: [{name: name}]}
    container: {image: alpine, command: [echo], args: ["{{inputs.parameters.name}}"]}
`)
	wf := h.runSucceeded()
	for name, want := range map[string]argov1.NodePhase{
		"wf[0].fst(0:name:first,type:)":        argov1.NodeSucceeded,
		"wf[0].fst(1:name:second,type:always)": argov1.NodeSucceeded,
		"wf[0].fst(2:name:third,type:test)":    argov1.NodeSucceeded,
		"wf[0].fst(3:name:fourth)":             argov1.NodeSucceeded,
		"wf[0].fst(4:name:fifth,type:other)":   argov1.NodeSkipped,
	} {
		if got := nodeNamed(t, wf, name).Phase; got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
}

// TestSkippedProducerOutputs: a consumer reading the outputs of a skipped
// or omitted task runs, with "" for each declared output parameter or its
// valueFrom.default (Argo's dag-skipped-output-ref and
// dag-omitted-output-ref cases), and withParam over such an output runs
// over the default.
func TestSkippedProducerOutputs(t *testing.T) {
	h := newHarness(t, `
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
  - name: main
    outputs:
      parameters:
      - name: from-b
        valueFrom: {parameter: "{{tasks.b.outputs.parameters.out}}", default: dag-default}
    dag:
      tasks:
      - {name: a, template: produce}
      - {name: b, template: produce, when: "false"}
      - {name: o, template: produce, depends: a.Failed}
      - {name: d, template: defaulted, when: "false"}
      - name: c
        template: consume
        depends: "a && (b || b.Skipped) && (o || o.Omitted) && (d || d.Skipped)"
        arguments:
          parameters:
          - {name: msg, value: "[{{tasks.a.outputs.parameters.out}}][{{tasks.b.outputs.parameters.out}}][{{tasks.o.outputs.parameters.out}}][{{tasks.d.outputs.parameters.list}}]"}
      - name: loop
        template: consume
        depends: "d || d.Skipped"
        withParam: "{{tasks.d.outputs.parameters.list}}"
        arguments: {parameters: [{name: msg, value: "{{item}}"}]}
  - name: produce
    container: {image: alpine, command: [sh, -c, "echo hi > /tmp/out"]}
    outputs: {parameters: [{name: out, valueFrom: {path: /tmp/out}}]}
  - name: defaulted
    container: {image: alpine, command: [sh, -c, "echo '[]' > /tmp/out"]}
    outputs: {parameters: [{name: list, valueFrom: {path: /tmp/out, default: '["x","y"]'}}]}
  - name: consume
    inputs: {parameters: [{name: msg}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.msg}}"]}
`)
	h.finish = func(p *corev1.Pod) (int, exec.Result) {
		if strings.Contains(p.Name, "-produce-") {
			return 0, exec.Result{Parameters: []exec.ParameterValue{{Name: "out", Value: "hi"}}}
		}
		return 0, exec.Result{}
	}
	wf := h.runSucceeded()
	if n := nodeNamed(t, wf, "wf.o"); n.Phase != argov1.NodeOmitted {
		t.Errorf("o: %s", n.Phase)
	}
	c := nodeNamed(t, wf, "wf.c")
	if got := c.Inputs.Parameters[0].Value.String(); got != `[hi][][][["x","y"]]` {
		t.Errorf("c got %q", got)
	}
	// The DAG's own outputs do not see the skipped fill: its default wins,
	// as in Argo, where only dependent tasks get it.
	if got := nodeNamed(t, wf, "wf").Outputs.Parameters[0].Value.String(); got != "dag-default" {
		t.Errorf("from-b %q", got)
	}
	for _, name := range []string{`wf.loop(0:x)`, `wf.loop(1:y)`} {
		if n := nodeNamed(t, wf, name); n.Phase != argov1.NodeSucceeded {
			t.Errorf("%s: %s", name, n.Phase)
		}
	}
}

// TestDefaultParameterOutputs: a steps template's output read from a
// skipped step falls back to its valueFrom.default (Argo's
// TestDefaultParameterOutputs).
func TestDefaultParameterOutputs(t *testing.T) {
	h := newHarness(t, `
metadata: {name: wf}
spec:
  entrypoint: start
  templates:
  - name: start
    steps:
    - - {name: generate-1, template: generate}
    - - {name: generate-2, template: generate, when: "True == False"}
    outputs:
      parameters:
      - name: nested-out-parameter
        valueFrom: {default: "Default value", parameter: "{{steps.generate-2.outputs.parameters.out-parameter}}"}
  - name: generate
    container: {image: alpine, command: [echo, my-output-parameter]}
    outputs: {parameters: [{name: out-parameter, valueFrom: {path: /tmp/my-output-parameter.txt}}]}
`)
	h.finish = func(p *corev1.Pod) (int, exec.Result) {
		return 0, exec.Result{Parameters: []exec.ParameterValue{{Name: "out-parameter", Value: "my-output-parameter"}}}
	}
	wf := h.runSucceeded()
	if got := nodeNamed(t, wf, "wf").Outputs.Parameters[0].Value.String(); got != "Default value" {
		t.Errorf("nested-out-parameter %q", got)
	}
}

// TestParameterizedOutputNames: output names with {{inputs...}} tags are
// resolved per call and only then checked, as in Argo's
// exit-handler-parameterized-global-artifacts case; a name that resolves to
// something invalid fails the node.
func TestParameterizedOutputNames(t *testing.T) {
	h := newHarness(t, `
metadata: {name: wf}
spec:
  entrypoint: main
  onExit: exit
  arguments: {parameters: [{name: params, value: '[{"v": "car"}, {"v": "bike"}]'}]}
  templates:
  - name: main
    steps:
    - - name: step-1
        template: output
        arguments: {parameters: [{name: v, value: "{{item.v}}"}]}
        withParam: "{{workflow.parameters.params}}"
  - name: output
    inputs: {parameters: [{name: v}]}
    container: {image: alpine, command: [sh, -c, "echo Have {{inputs.parameters.v}} > /tmp/r"]}
    outputs:
      parameters:
      - {name: "result-{{inputs.parameters.v}}", valueFrom: {path: /tmp/r}, globalName: "output-result-{{inputs.parameters.v}}"}
  - name: exit
    steps:
    - - name: printer
        template: printer
        arguments: {parameters: [{name: msg, value: "{{workflow.outputs.parameters.output-result-car}} {{workflow.outputs.parameters.output-result-bike}}"}]}
  - name: printer
    inputs: {parameters: [{name: msg}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.msg}}"]}
`)
	h.finish = func(p *corev1.Pod) (int, exec.Result) {
		for _, v := range []string{"car", "bike"} {
			if strings.Contains(podArgs(p), "Have "+v) {
				return 0, exec.Result{Parameters: []exec.ParameterValue{{Name: "result-" + v, Value: "Have " + v}}}
			}
		}
		return 0, exec.Result{}
	}
	wf := h.runSucceeded()
	if got := nodeNamed(t, wf, "wf.onExit[0].printer").Inputs.Parameters[0].Value.String(); got != "Have car Have bike" {
		t.Errorf("printer got %q", got)
	}

	bad := newHarness(t, `
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
  - name: main
    inputs: {parameters: [{name: v, value: "a car"}]}
    container: {image: alpine, command: [sh, -c, "echo hi > /tmp/r"]}
    outputs: {parameters: [{name: "result-{{inputs.parameters.v}}", valueFrom: {path: /tmp/r}}]}
`)
	wf = bad.run()
	if wf.Status.Phase != argov1.WorkflowError && wf.Status.Phase != argov1.WorkflowFailed || !strings.Contains(wf.Status.Message, `"result-a car" (after substitution) is not a valid parameter name`) {
		t.Errorf("phase %s: %s", wf.Status.Phase, wf.Status.Message)
	}
}

// TestAggregateOverRetriedItems: a loop whose items retry (by the
// workflow's retryStrategy) and whose template's output is a literal value
// ('{{inputs.parameters.message}}') fans in those values from each item's
// last attempt, in steps and DAGs, as Argo's
// parameter-aggregation-*-with-retry e2e workflows expect.
func TestAggregateOverRetriedItems(t *testing.T) {
	for _, tc := range []struct{ kind, body, ref string }{
		{"dag", `dag:
      tasks:
      - name: echo-list
        template: echo-value
        arguments: {parameters: [{name: message, value: "{{item}}"}]}
        withItems: [1, 2, 3]`, "tasks"},
		{"steps", `steps:
    - - name: echo-list
        template: echo-value
        arguments: {parameters: [{name: message, value: "{{item}}"}]}
        withItems: [1, 2, 3]`, "steps"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			h := newHarness(t, `
metadata: {name: wf}
spec:
  retryStrategy: {limit: 1}
  entrypoint: fanout
  templates:
  - name: echo-value
    inputs: {parameters: [{name: message}]}
    container: {image: alpine, command: [echo]}
    outputs: {parameters: [{name: dummy-output, value: "{{inputs.parameters.message}}"}]}
  - name: fanout
    `+tc.body+`
    outputs:
      parameters:
      - name: all
        valueFrom: {parameter: "{{`+tc.ref+`.echo-list.outputs.parameters.dummy-output}}"}
`)
			pods := 0
			h.finish = func(p *corev1.Pod) (int, exec.Result) {
				// The items run together: the first three Pods are their
				// first attempts, and fail, so every output comes from a retry.
				pods++
				if pods <= 3 {
					return 1, exec.Result{}
				}
				return 0, exec.Result{}
			}
			wf := h.runSucceeded()
			if got := nodeNamed(t, wf, "wf").Outputs.Parameters[0].Value.String(); got != `["1","2","3"]` {
				t.Errorf("aggregated %q, want [\"1\",\"2\",\"3\"]", got)
			}
			if pods != 6 {
				t.Errorf("%d Pods, want 3 failed attempts and 3 retries", pods)
			}
		})
	}
}

// TestOptionalInputPassedOnWhenAbsent: an optional input artifact that was
// not given is passed on to a child (from: '{{inputs.artifacts.inputFile}}')
// as nothing, as in Argo's functional/missing-steps.yaml (here as written).
func TestOptionalInputPassedOnWhenAbsent(t *testing.T) {
	h := newHarness(t, `
metadata:
  name: wf
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - arguments:
          parameters:
          - name: script
            value: |
              echo hello
        name: step1
        template: work
    - - arguments:
          parameters:
          - name: script
            value: |
              echo world
        name: step2
        template: work
  - name: work
    inputs:
      parameters:
        - name: script
        - name: outputArtifactResultFilePath
          default: /tmp/output
      artifacts:
        - name: inputFile
          optional: true
    outputs:
      parameters:
        - name: result
          valueFrom:
            parameter: '{{steps.execute-script.outputs.result}}'
      artifacts:
        - name: resultFile
          optional: true
          from: '{{steps.execute-script.outputs.artifacts.resultFile}}'
    steps:
      - - name: execute-script
          template: execute-target-script
          arguments:
            parameters:
              - name: script
                value: '{{inputs.parameters.script}}'
              - name: outputArtifactResultFilePath
                value: '{{inputs.parameters.outputArtifactResultFilePath}}'
            artifacts:
              - name: inputFile
                from: '{{inputs.artifacts.inputFile}}'
  - name: execute-target-script
    inputs:
      parameters:
        - name: script
        - name: outputArtifactResultFilePath
          default: /tmp/output
      artifacts:
        - name: inputFile
          optional: true
          path: /tmp/inputFile
    outputs:
      artifacts:
        - name: resultFile
          optional: true
          path: '{{inputs.parameters.outputArtifactResultFilePath}}'
    script:
      command: [ 'bash' ]
      image: 'argoproj/argosay:v2'
      source: '{{inputs.parameters.script}}'
`, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: RepositoriesConfigMap,
			Annotations: map[string]string{AnnotationDefaultRepository: "default"}},
		Data: map[string]string{"default": "s3: {bucket: b, endpoint: s3.ns.svc:9000, insecure: true}"},
	})
	h.finish = func(p *corev1.Pod) (int, exec.Result) {
		var spec exec.Spec
		_ = json.Unmarshal([]byte(p.Annotations[exec.AnnotationSpec]), &spec)
		for _, a := range spec.Inputs {
			if a.Name == "inputFile" {
				t.Errorf("the Pod was given inputFile: %+v", a)
			}
		}
		out := "hello"
		return 0, exec.Result{Result: &out}
	}
	wf := h.runSucceeded()
	if got := nodeNamed(t, wf, "wf[0].step1").Outputs.Parameters[0].Value.String(); got != "hello" {
		t.Errorf("step1's result %q, want hello", got)
	}
}

// TestPodSpecPatchNamingArgoExecutor: a podSpecPatch that lists Argo's wait
// container (as Argo's sidecar-injected e2e workflow does, to add a sidecar
// after it) merges without adding an imageless container.
func TestPodSpecPatchNamingArgoExecutor(t *testing.T) {
	ps := &corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "argoproj/argosay:v1"}}}
	err := applyPodSpecPatch(ps, `
terminationGracePeriodSeconds: 3
containers:
  - name: wait
  - name: main
  - name: sidecar
    image: argoproj/argosay:v1
    command: [sh, -c]
    args: ["sleep 999"]
`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range ps.Containers {
		names = append(names, c.Name)
		if c.Image == "" {
			t.Errorf("container %s has no image", c.Name)
		}
	}
	if strings.Join(names, ",") != "main,sidecar" && strings.Join(names, ",") != "sidecar,main" {
		t.Errorf("containers %v, want main and sidecar", names)
	}
	if ps.TerminationGracePeriodSeconds == nil || *ps.TerminationGracePeriodSeconds != 3 {
		t.Errorf("terminationGracePeriodSeconds %v, want 3", ps.TerminationGracePeriodSeconds)
	}
}
