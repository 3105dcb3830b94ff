package wfvalidate

import (
	"fmt"
	"strings"
	"testing"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

const helloTemplate = `
- name: hello
  inputs:
    parameters:
    - name: msg
  container:
    image: busybox
    args: ["{{inputs.parameters.msg}}"]
`

type wfCase struct {
	name   string
	spec   string
	opts   Options
	faults []want
}

func runWorkflowCases(t *testing.T, cases []wfCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := decodeOne(t, workflowYAML(c.spec))
			errs := doc.Validate(c.opts)
			expectErrors(t, errs, c.faults...)
			for _, e := range errs {
				if e.File != "test.yaml" {
					t.Errorf("fault without the file: %v", e)
				}
			}
		})
	}
}

func TestEntrypointAndTemplates(t *testing.T) {
	runWorkflowCases(t, []wfCase{
		{name: "valid", spec: `
entrypoint: main
templates:
- name: main
  container: {image: busybox}
`},
		{name: "entrypoint missing", spec: `
templates:
- name: main
  container: {image: busybox}
`, faults: []want{{"spec.entrypoint", "required: name the template the workflow starts with (templates: main)"}}},
		{name: "entrypoint names no template", spec: `
entrypoint: mian
templates:
- name: main
  container: {image: busybox}
`, faults: []want{{"spec.entrypoint", `template "mian" not found in the Workflow: did you mean "main"?`}}},
		{name: "names unique and valid", spec: `
entrypoint: main
templates:
- name: main
  container: {image: busybox}
- name: main
  container: {image: busybox}
- name: Hello_World
  container: {image: busybox}
- container: {image: busybox}
`, faults: []want{
			{"spec.templates[1].name", `"main" is also the name of templates[0]: template names must be unique`},
			{"spec.templates[2].name", `"Hello_World" is not a valid name: use letters, digits and '-'`},
			{"spec.templates[3].name", "required"},
		}},
		{name: "one type per template", spec: `
entrypoint: main
templates:
- name: main
  container: {image: busybox}
  script: {image: busybox, source: "true"}
- name: empty
`, faults: []want{
			{"spec.templates[0]", "sets container and script: a template has exactly one type, keep one of them"},
			{"spec.templates[1]", "no template type: set one of container, script, containerSet, resource, steps, dag, suspend or data"},
		}},
		{name: "image required unless defaulted", spec: `
entrypoint: main
templates:
- name: main
  container: {command: [echo]}
- name: s
  script: {source: "echo"}
`, faults: []want{
			{"spec.templates[0].container.image", "required: the image the step runs"},
			{"spec.templates[1].script.image", "required"},
		}},
		{name: "image from templateDefaults", spec: `
entrypoint: main
templateDefaults:
  container: {image: busybox}
templates:
- name: main
  container: {command: [echo]}
`},
		{name: "step calls a missing template", spec: `
entrypoint: main
templates:
- name: main
  steps:
  - - name: a
      template: helo
  - - name: b
  - - name: c
      template: main
      templateRef: {name: x, template: z}
`, faults: []want{
			{"spec.templates[0].steps[0][0].template", `template "helo" not found in the Workflow (templates: main)`},
			{"spec.templates[0].steps[1][0]", "calls no template: set template (a template of the workflow), templateRef or inline"},
			{"spec.templates[0].steps[2][0]", "sets template and templateRef: set only one"},
		}},
		{name: "onExit names a template", spec: `
entrypoint: main
onExit: cleanup
templates:
- name: main
  container: {image: busybox}
`, faults: []want{{"spec.onExit", `template "cleanup" not found`}}},
		{name: "hooks", spec: `
entrypoint: main
hooks:
  exit:
    template: main
  running:
    template: main
  broken:
    template: main
    expression: "workflow.status =="
templates:
- name: main
  container: {image: busybox}
`, faults: []want{
			{"spec.hooks.running.expression", "required: a hook other than exit runs when its expression becomes true"},
			{"spec.hooks.broken.expression", `"workflow.status ==" does not compile: unexpected token EOF`},
		}},
		{name: "scalars", spec: `
entrypoint: main
activeDeadlineSeconds: 0
parallelism: -1
shutdown: Halt
podGC: {strategy: OnPodFinished}
volumeClaimGC: {strategy: Never}
templates:
- name: main
  parallelism: 2
  activeDeadlineSeconds: -5
  timeout: "30"
  container: {image: busybox}
- name: s
  activeDeadlineSeconds: 10
  timeout: 1h
  steps:
  - - name: a
      template: main
- name: w
  suspend: {duration: soon}
- name: w2
  suspend: {duration: "{{inputs.parameters.d}}"}
  inputs: {parameters: [{name: d, value: "10"}]}
- name: w3
  suspend: {duration: "20"}
`, faults: []want{
			{"spec.activeDeadlineSeconds", "must be more than 0"},
			{"spec.parallelism", "must be 0 or more"},
			{"spec.shutdown", `"Halt" is not a shutdown strategy: use Stop`},
			{"spec.podGC.strategy", `"OnPodFinished" is not a pod GC strategy`},
			{"spec.volumeClaimGC.strategy", `"Never" is not a volume claim GC strategy`},
			{"spec.templates[0].parallelism", "only steps and DAG templates take parallelism"},
			{"spec.templates[0].activeDeadlineSeconds", "must be more than 0 (seconds the Pod may run), not -5"},
			{"spec.templates[0].timeout", `"30" has no unit: write it as a duration such as 30s`},
			{"spec.templates[1].activeDeadlineSeconds", "only container, script, containerSet, resource and suspend templates take activeDeadlineSeconds"},
			{"spec.templates[1].timeout", "only container, script, containerSet and resource templates take timeout"},
			{"spec.templates[2].suspend.duration", `"soon" is not a duration: write it like 30s, 5m or 1h30m, or as a number of seconds`},
		}},
		{name: "retry strategy", spec: `
entrypoint: main
templates:
- name: main
  retryStrategy:
    limit: -1
    retryPolicy: Sometimes
    backoff: {duration: "1 minute", factor: "two", maxDuration: 1m}
    expression: "lastRetry.status =="
  container: {image: busybox}
- name: ok
  retryStrategy:
    limit: "{{inputs.parameters.count}}"
    backoff: {duration: "5", factor: 2, maxDuration: "2m"}
    expression: asInt(lastRetry.exitCode) > 1
  inputs: {parameters: [{name: count, value: "3"}]}
  container: {image: busybox}
`, faults: []want{
			{"spec.templates[0].retryStrategy.limit", "must be 0 or more, not -1"},
			{"spec.templates[0].retryStrategy.retryPolicy", `"Sometimes" is not a retry policy: use Always, OnFailure, OnError or OnTransientError`},
			{"spec.templates[0].retryStrategy.backoff.duration", `"1 minute" is not a duration`},
			{"spec.templates[0].retryStrategy.backoff.factor", `"two" is not a whole number`},
			{"spec.templates[0].retryStrategy.expression", "does not compile"},
		}},
		{name: "resource templates", spec: `
entrypoint: main
templates:
- name: main
  resource:
    action: launch
    mergeStrategy: deep
    manifest: |
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: x
- name: nomanifest
  resource: {action: create}
- name: del
  resource:
    action: delete
    flags: [configmap, x]
`, faults: []want{
			{"spec.templates[0].resource.action", `"launch" is not an action: use one of get, create, apply, delete, replace, patch`},
			{"spec.templates[0].resource.mergeStrategy", `"deep" is not a merge strategy`},
			{"spec.templates[0].resource.manifest", "not valid YAML"},
			{"spec.templates[1].resource", "set manifest (the object, as YAML) or manifestFrom"},
		}},
		{name: "outputs", spec: `
entrypoint: main
templates:
- name: main
  outputs:
    parameters:
    - name: a
    - name: b
      valueFrom: {parameter: "x"}
    - name: c
      valueFrom: {path: /tmp/c, parameter: x}
    - name: d
      value: "1"
      valueFrom: {path: /tmp/d}
    - name: ok
      valueFrom: {path: /tmp/ok, default: "none"}
    - name: defaultonly
      valueFrom: {default: "none"}
  container: {image: busybox}
  podSpecPatch: "containers: [{name: main"
- name: s
  steps:
  - - name: a
      template: main
  outputs:
    parameters:
    - name: p
      valueFrom: {path: /tmp/p}
    artifacts:
    - name: art
      path: /tmp/art
`, faults: []want{
			{"spec.templates[0].outputs.parameters[0]", `output parameter "a" has no value`},
			{"spec.templates[0].outputs.parameters[1].valueFrom", "a container template's output parameters are read from a file: set valueFrom.path"},
			{"spec.templates[0].outputs.parameters[2].valueFrom", "sets path and parameter: choose one source"},
			{"spec.templates[0].outputs.parameters[3]", "set value or valueFrom, not both"},
			{"spec.templates[0].outputs.parameters[5].valueFrom", "a container template's output parameters are read from a file: set valueFrom.path (the file the step writes)"},
			{"spec.templates[0].podSpecPatch", "not valid YAML or JSON"},
			{"spec.templates[1].outputs.parameters[0].valueFrom", "a steps or DAG template's output parameters come from its steps or tasks"},
			{"spec.templates[1].outputs.artifacts[0].path", "a steps or DAG template runs no Pod to take a file from"},
		}},
		{name: "container set", spec: `
entrypoint: main
templates:
- name: main
  containerSet:
    containers:
    - name: a
      image: busybox
      dependencies: [b]
    - name: b
      image: busybox
      dependencies: [a, c]
    - name: a
`, faults: []want{
			{"spec.templates[0].containerSet.containers[2].name", `"a" is used twice`},
			{"spec.templates[0].containerSet.containers[2].image", "required"},
			{"spec.templates[0].containerSet.containers[1].dependencies[1]", `container "c" is not in this container set`},
			{"spec.templates[0].containerSet.containers", "dependency cycle a -> b -> a"},
		}},
	})
}

func TestParametersSupplied(t *testing.T) {
	runWorkflowCases(t, []wfCase{
		{name: "supplied everywhere", spec: `
entrypoint: main
arguments:
  parameters: [{name: msg, value: hi}]
onExit: hello
templates:
- name: main
  inputs:
    parameters: [{name: msg}]
  steps:
  - - name: a
      template: hello
      arguments: {parameters: [{name: msg, value: "{{inputs.parameters.msg}}"}]}
      hooks:
        exit:
          template: hello
          arguments: {parameters: [{name: msg, value: "bye"}]}
  - - name: b
      template: dag
` + indent(helloTemplate, 0) + `
- name: dag
  dag:
    tasks:
    - name: t
      template: hello
      arguments: {parameters: [{name: msg, value: x}]}
    - name: defaulted
      template: withdefault
- name: withdefault
  inputs:
    parameters:
    - {name: a, default: x}
    - {name: b, value: y}
    - {name: c, valueFrom: {configMapKeyRef: {name: cm, key: k}}}
    - {name: d, valueFrom: {supplied: {}}}
  suspend: {}
`},
		{name: "not supplied", spec: `
entrypoint: hello
onExit: hello
hooks:
  running:
    template: hello
    expression: "true"
templates:
- name: main
  steps:
  - - name: a
      template: hello
      onExit: hello
      arguments: {parameters: [{name: mesg, value: hi}]}
      hooks:
        exit:
          template: hello
- name: dag
  dag:
    tasks:
    - name: t
      template: hello
      arguments: {parameters: [{name: msg}]}
    - name: u
      template: hello
      arguments: {parameters: [{name: msg, valueFrom: {expression: "1 + 1"}}]}
` + indent(helloTemplate, 0), faults: []want{
			{"spec.arguments", `parameter "msg" of template "hello" (the entrypoint) is not supplied: add it to spec.arguments.parameters (or pass -p msg=VALUE), or give the input a default`},
			{"spec.arguments", `parameter "msg" of template "hello" (the exit handler (onExit)) is not supplied`},
			{"spec.hooks.running.arguments", `parameter "msg" of template "hello" (hook running) is not supplied: add {name: msg, value: ...} to arguments.parameters`},
			{"spec.templates[0].steps[0][0].arguments", `parameter "msg" of template "hello" is not supplied (the arguments name "mesg": a typo?): add {name: msg, value: ...} to arguments.parameters, or give the input a default`},
			{"spec.templates[0].steps[0][0].onExit", `parameter "msg" of template "hello" (onExit, which gets no arguments: use hooks.exit with arguments instead) is not supplied`},
			{"spec.templates[0].steps[0][0].onExit", "set onExit or hooks.exit, not both"},
			{"spec.templates[0].steps[0][0].hooks.exit.arguments", `parameter "msg" of template "hello" (hook exit) is not supplied`},
			{"spec.templates[1].dag.tasks[0].arguments.parameters[0]", `parameter "msg" has no value: give it a value`},
			{"spec.templates[1].dag.tasks[1].arguments.parameters[0].valueFrom", `an argument takes its value from configMapKeyRef (with an optional default) or supplied only`},
		}},
		{name: "input artifacts supplied", spec: `
entrypoint: main
templates:
- name: main
  steps:
  - - name: a
      template: consume
  - - name: b
      template: consume
      arguments:
        artifacts:
        - {name: in, from: "{{steps.a.outputs.artifacts.out}}"}
        - {name: in2}
        - {name: in3, from: "steps.a.outputs.artifacts.out"}
- name: consume
  inputs:
    artifacts:
    - {name: in, path: /tmp/in}
    - {name: opt, path: /tmp/opt, optional: true}
    - {name: raw, path: /tmp/raw, raw: {data: x}}
  outputs:
    artifacts:
    - {name: out, path: /tmp/out}
  container: {image: busybox}
`, faults: []want{
			{"spec.templates[0].steps[0][0].arguments", `artifact "in" of template "consume" is not supplied`},
			{"spec.templates[0].steps[1][0].arguments.artifacts[1]", `artifact "in2" has no source`},
			{"spec.templates[0].steps[1][0].arguments.artifacts[2].from", `"steps.a.outputs.artifacts.out" is not a reference`},
		}},
		{name: "submit needs values", spec: `
entrypoint: main
arguments:
  parameters:
  - name: a
  - name: b
  - name: c
    value: x
  - name: d
    valueFrom: {configMapKeyRef: {name: cm, key: k}}
templates:
- name: main
  container: {image: busybox}
`, opts: Options{Submit: true, Parameters: map[string]string{"b": "given"}}, faults: []want{
			{"spec.arguments.parameters[0]", `parameter "a" has no value: give it a value, or pass one with -p a=VALUE`},
		}},
		{name: "lint leaves values to submit", spec: `
entrypoint: main
arguments:
  parameters:
  - name: a
templates:
- name: main
  container: {image: busybox}
`},
		{name: "submit parameters supply the entrypoint", spec: `
entrypoint: hello
` + "templates:\n" + indent(helloTemplate, 0), opts: Options{Submit: true, Parameters: map[string]string{"msg": "hi"}}},
		{name: "enums", spec: `
entrypoint: main
arguments:
  parameters:
  - name: level
    value: loud
    enum: [quiet, normal]
  - name: empty
    value: x
    enum: []
templates:
- name: main
  steps:
  - - name: a
      template: pick
      arguments: {parameters: [{name: color, value: purple}]}
  - - name: b
      template: pick
      arguments: {parameters: [{name: color, value: "{{workflow.parameters.level}}"}]}
- name: pick
  inputs:
    parameters:
    - name: color
      default: pink
      enum: [red, green]
  container: {image: busybox}
`, faults: []want{
			{"spec.arguments.parameters[0].value", `"loud" is not one of the allowed values (enum) of "level": "quiet", "normal"`},
			{"spec.arguments.parameters[1].enum", "empty: list the allowed values, or remove enum"},
			{"spec.templates[0].steps[0][0].arguments.parameters[0].value", `"purple" (parameters[0].value) is not one of the allowed values (enum) of parameter "color" of template "pick": "red", "green"`},
			{"spec.templates[1].inputs.parameters[0].default", `"pink" is not one of the allowed values (enum) of "color"`},
		}},
		{name: "enum checks -p values", spec: `
entrypoint: main
arguments:
  parameters:
  - name: level
    value: quiet
    enum: [quiet, normal]
templates:
- name: main
  container: {image: busybox}
`, opts: Options{Submit: true, Parameters: map[string]string{"level": "loud"}}, faults: []want{
			{"spec.arguments.parameters[0]", `"loud" is not one of the allowed values (enum) of "level"`},
		}},
		{name: "workflow argument valueFrom", spec: `
entrypoint: main
arguments:
  parameters:
  - name: a
    valueFrom: {path: /tmp/x}
templates:
- name: main
  container: {image: busybox}
`, faults: []want{{"spec.arguments.parameters[0].valueFrom", "a workflow argument takes its value from configMapKeyRef"}}},
		{name: "parameter names", spec: `
entrypoint: main
templates:
- name: main
  inputs:
    parameters:
    - {name: "a b", value: x}
    - {name: c, value: x}
    - {name: c, value: y}
  container: {image: busybox}
`, faults: []want{
			{"spec.templates[0].inputs.parameters[0].name", `"a b" is not a valid parameter name`},
			{"spec.templates[0].inputs.parameters[2].name", `"c" is also the name of parameters[1]: parameter names must be unique`},
		}},
		// Argo's exit-handler-parameterized-global-artifacts: a name with a
		// tag is checked once resolved (ResolvedNames), not here.
		{name: "parameterized output names", spec: `
entrypoint: main
templates:
- name: main
  inputs: {parameters: [{name: v, value: car}]}
  container: {image: busybox}
  outputs:
    parameters:
    - {name: "p-{{inputs.parameters.v}}", valueFrom: {path: /tmp/p}}
    artifacts:
    - {name: "result-{{inputs.parameters.v}}", path: /tmp/r, globalName: "output-result-{{inputs.parameters.v}}"}
`},
	})
}

func TestResolvedNames(t *testing.T) {
	ok := argov1.Outputs{Artifacts: []argov1.Artifact{{Name: "result-car"}}, Parameters: []argov1.Parameter{{Name: "p_1"}}}
	if err := ResolvedNames("t", ok); err != nil {
		t.Errorf("valid names: %v", err)
	}
	bad := argov1.Outputs{Artifacts: []argov1.Artifact{{Name: "result-a car"}}}
	if err := ResolvedNames("t", bad); err == nil || !strings.Contains(err.Error(), `"result-a car" (after substitution) is not a valid artifact name`) {
		t.Errorf("got %v", err)
	}
}

func TestDAG(t *testing.T) {
	runWorkflowCases(t, []wfCase{
		{name: "valid diamond with enhanced depends", spec: `
entrypoint: d
templates:
- name: d
  dag:
    target: D
    tasks:
    - {name: A, template: echo}
    - {name: B, template: echo, depends: A}
    - {name: C, template: echo, depends: "A.Succeeded || A.Failed"}
    - name: D
      template: echo
      depends: "B && (C.Succeeded || C.Skipped)"
      arguments: {parameters: [{name: m, value: "{{tasks.A.outputs.result}} {{tasks.B.status}}"}]}
    - name: L
      template: echo
      withItems: [1, 2]
    - name: after-loop
      template: echo
      depends: "L.AnySucceeded"
- name: echo
  inputs: {parameters: [{name: m, default: ""}]}
  container: {image: busybox}
`},
		{name: "names, depends and targets", spec: `
entrypoint: d
templates:
- name: d
  dag:
    target: A Z
    tasks:
    - {name: A, template: echo}
    - {name: A, template: echo}
    - {name: B, template: echo, depends: "A && Q"}
    - {name: C, template: echo, depends: "A &&"}
    - {name: E, template: echo, depends: A, dependencies: [A]}
    - {name: F, template: echo, dependencies: [A, Bee]}
    - {name: G, template: echo, depends: "A.AnySucceeded"}
    - {name: H, template: echo, depends: A, continueOn: {failed: true}}
- name: echo
  container: {image: busybox}
`, faults: []want{
			{"spec.templates[0].dag.tasks[1].name", `"A" is also the name of tasks[0]: task names must be unique`},
			{"spec.templates[0].dag.tasks[2].depends", `task "Q" is not in this DAG`},
			{"spec.templates[0].dag.tasks[3].depends", `unexpected end of expression`},
			{"spec.templates[0].dag.tasks[4]", "sets depends and dependencies: keep depends"},
			{"spec.templates[0].dag.tasks[5].dependencies", `other tasks of this DAG use depends: write these as depends too (such as "A && Bee")`},
			{"spec.templates[0].dag.tasks[5].dependencies[1]", `task "Bee" is not in this DAG`},
			{"spec.templates[0].dag.tasks[6].depends", `A.AnySucceeded is for a task that loops (withItems, withParam or withSequence), and "A" does not`},
			{"spec.templates[0].dag.tasks[7].continueOn", "cannot be used in a DAG that uses depends"},
			{"spec.templates[0].dag.target", `task "Z" is not in this DAG`},
		}},
		{name: "cycles", spec: `
entrypoint: d
templates:
- name: d
  dag:
    tasks:
    - {name: a, template: echo, dependencies: [c]}
    - {name: b, template: echo, dependencies: [a]}
    - {name: c, template: echo, dependencies: [b]}
    - {name: self, template: echo, dependencies: [self]}
- name: d2
  dag:
    tasks:
    - {name: x, template: echo, depends: "z.Succeeded"}
    - {name: z, template: echo, depends: "x"}
- name: echo
  container: {image: busybox}
`, faults: []want{
			{"spec.templates[0].dag.tasks[0].dependencies", "dependency cycle a -> c -> b -> a (each task waits for the next): remove one of these dependencies"},
			{"spec.templates[0].dag.tasks[3].dependencies", "dependency cycle self -> self"},
			{"spec.templates[1].dag.tasks[0].depends", "dependency cycle x -> z -> x"},
		}},
		{name: "empty DAG", spec: `
entrypoint: d
templates:
- name: d
  dag: {tasks: []}
`, faults: []want{{"spec.templates[0].dag.tasks", "a DAG needs at least one task"}}},
	})
}

func TestStepsAndLoops(t *testing.T) {
	runWorkflowCases(t, []wfCase{
		{name: "names", spec: `
entrypoint: main
templates:
- name: main
  steps:
  - - {name: a, template: echo}
    - {name: a, template: echo}
  - - {name: a, template: echo}
    - {name: "", template: echo}
    - {name: b_c, template: echo}
- name: echo
  container: {image: busybox}
`, faults: []want{
			{"spec.templates[0].steps[0][1].name", `"a" is also the name of steps[0][0]: step names must be unique in a template`},
			{"spec.templates[0].steps[1][0].name", `"a" is also the name of steps[0][0]`},
			{"spec.templates[0].steps[1][1].name", "required"},
			{"spec.templates[0].steps[1][2].name", `"b_c" is not a valid name`},
		}},
		{name: "loops", spec: `
entrypoint: main
templates:
- name: main
  steps:
  - - name: both
      template: echo
      withItems: [a]
      withParam: '["a"]'
    - name: seq-both
      template: echo
      withSequence: {count: "3", end: "5"}
    - name: seq-none
      template: echo
      withSequence: {start: "1"}
    - name: seq-bad
      template: echo
      withSequence: {count: three}
    - name: param-not-list
      template: echo
      withParam: "a, b"
    - name: ok
      template: echo
      withSequence: {start: "1", end: "{{workflow.parameters.count}}"}
      arguments: {parameters: [{name: m, value: "{{item}}"}]}
- name: echo
  inputs: {parameters: [{name: m, default: ""}]}
  container: {image: busybox}
arguments:
  parameters: [{name: count, value: "3"}]
`, faults: []want{
			{"spec.templates[0].steps[0][0]", "sets withItems and withParam: a step or task loops over one of"},
			{"spec.templates[0].steps[0][1].withSequence", "sets count and end: set count (how many numbers) or end (the last number), not both"},
			{"spec.templates[0].steps[0][2].withSequence", "set count (how many numbers) or end (the last number)"},
			{"spec.templates[0].steps[0][3].withSequence.count", `"three" is not a whole number`},
			{"spec.templates[0].steps[0][4].withParam", `"a, b" is not a JSON list`},
		}},
		{name: "when", spec: `
entrypoint: main
templates:
- name: main
  steps:
  - - {name: a, template: echo, when: "5 >"}
    - {name: b, template: echo, when: "heads"}
    - {name: c, template: echo, when: "tails == heads"}
    - {name: d, template: echo, when: "{{workflow.status}} == Succeeded"}
    - {name: e, template: echo, when: "{{workflow.status == Succeeded"}
- name: echo
  container: {image: busybox}
`, faults: []want{
			{"spec.templates[0].steps[0][0].when", "invalid 'when' expression '5 >'"},
			{"spec.templates[0].steps[0][1].when", "expected boolean evaluation for 'heads'"},
			{"spec.templates[0].steps[0][4].when", `unclosed tag: no "}}" after`},
		}},
	})
}

func TestExpressionsAndVariables(t *testing.T) {
	runWorkflowCases(t, []wfCase{
		{name: "valid references", spec: `
entrypoint: main
arguments:
  parameters: [{name: who, value: world}]
templates:
- name: main
  inputs:
    parameters: [{name: greeting, value: hi}]
  steps:
  - - name: gen
      template: gen
    - name: loop
      template: echo
      withItems: [{k: a, v: 1}, {k: b, v: 2}]
      arguments: {parameters: [{name: m, value: "{{item.k}}={{item.v}} {{item}}"}]}
  - - name: use
      template: echo
      when: "{{steps.gen.outputs.result}} == heads"
      arguments:
        parameters:
        - name: m
          value: "{{steps.gen.outputs.parameters.p}} {{steps.loop.outputs.parameters}} {{=sprig.trim(inputs.parameters.greeting)}} {{workflow.parameters.who}} {{workflow.name}} {{steps.name}} {{=asInt(steps['gen'].outputs.result) + 1}}"
      hooks:
        exit:
          template: echo
          arguments: {parameters: [{name: m, value: "{{steps.use.status}}"}]}
        running:
          template: echo
          expression: steps['use'].status == "Running"
          arguments: {parameters: [{name: m, value: "{{steps.use.id}}"}]}
    - name: inline
      inline:
        inputs: {parameters: [{name: x, value: "{{steps.gen.outputs.result}}"}]}
        container: {image: busybox, args: ["{{inputs.parameters.x}}", "{{inputs.parameters.greeting}}"]}
  outputs:
    parameters:
    - name: out
      valueFrom: {parameter: "{{steps.use.outputs.result}}"}
    - name: expr
      valueFrom: {expression: "steps['gen'].outputs.result == 'x' ? 'a' : 'b'"}
- name: gen
  outputs:
    parameters: [{name: p, valueFrom: {path: /tmp/p}}]
  script: {image: busybox, source: "echo heads; echo {{pod.name}} {{retries}} {{node.name}}"}
- name: echo
  inputs: {parameters: [{name: m}]}
  container: {image: busybox, args: ["{{inputs.parameters.m}}", "{{custom.things}}", "{{outputs.parameters.x.path}}"]}
`},
		{name: "step references", spec: `
entrypoint: main
templates:
- name: main
  steps:
  - - name: a
      template: gen
    - name: b
      template: echo
      arguments: {parameters: [{name: m, value: "{{steps.a.outputs.result}}"}]}
  - - name: c
      template: echo
      arguments: {parameters: [{name: m, value: "{{steps.d.outputs.result}} {{steps.c.id}} {{steps.aa.id}}"}]}
  - - name: d
      template: echo
      arguments: {parameters: [{name: m, value: "{{steps.a.output.result}} {{steps.a.outputs.parameters.q}} {{steps.a.outputs.results}}"}]}
- name: gen
  outputs:
    parameters: [{name: p, valueFrom: {path: /tmp/p}}]
  container: {image: busybox, args: ["{{steps.a.outputs.result}}"]}
- name: echo
  inputs: {parameters: [{name: m}]}
  container: {image: busybox}
`, faults: []want{
			{"spec.templates[0].steps[0][1].arguments.parameters[0].value", `{{steps.a.outputs.result}}: step "a" runs at the same time as this step (both in group 0): a step sees the results of the steps of earlier groups only; move "a" to an earlier group`},
			{"spec.templates[0].steps[1][0].arguments.parameters[0].value", `{{steps.d.outputs.result}}: step "d" runs after this step (in group 2, this step in group 1)`},
			{"spec.templates[0].steps[1][0].arguments.parameters[0].value", `{{steps.c.id}}: a step cannot use its own results, except in its hooks`},
			{"spec.templates[0].steps[1][0].arguments.parameters[0].value", `{{steps.aa.id}}: template "main" has no step "aa"`},
			{"spec.templates[0].steps[2][0].arguments.parameters[0].value", `{{steps.a.output.result}}: steps.a has no "output": did you mean "outputs"?`},
			{"spec.templates[0].steps[2][0].arguments.parameters[0].value", `{{steps.a.outputs.parameters.q}}: the template step "a" calls has no output parameter "q": declare it under outputs.parameters of that template (p)`},
			{"spec.templates[0].steps[2][0].arguments.parameters[0].value", `{{steps.a.outputs.results}}: outputs has result, parameters and artifacts, not "results": did you mean "result"?`},
			{"spec.templates[1].container.args[0]", "{{steps.a.outputs.result}}: steps.* is only set in the steps of a steps template (and its outputs): pass the value to this template as an input parameter"},
		}},
		{name: "task references", spec: `
entrypoint: d
templates:
- name: d
  dag:
    tasks:
    - {name: a, template: gen}
    - {name: b, template: echo, depends: a, arguments: {parameters: [{name: m, value: "{{tasks.a.outputs.result}}"}]}}
    - {name: c, template: echo, depends: b, arguments: {parameters: [{name: m, value: "{{tasks.a.outputs.parameters.p}}"}]}}
    - {name: e, template: echo, arguments: {parameters: [{name: m, value: "{{tasks.a.outputs.result}}"}]}}
    - name: f
      template: echo
      depends: a
      when: "{{tasks.f.status}} == Succeeded"
      arguments: {parameters: [{name: m, value: "{{=tasks.b.outputs.result}}"}]}
      hooks:
        exit:
          template: echo
          arguments: {parameters: [{name: m, value: "{{tasks.f.status}} {{tasks.a.id}}"}]}
  outputs:
    parameters:
    - name: o
      valueFrom: {parameter: "{{tasks.e.outputs.result}}"}
- name: gen
  outputs:
    parameters: [{name: p, valueFrom: {path: /tmp/p}}]
  container: {image: busybox}
- name: echo
  inputs: {parameters: [{name: m}]}
  container: {image: busybox, args: ["{{tasks.a.outputs.result}}"]}
`, faults: []want{
			{"spec.templates[0].dag.tasks[3].arguments.parameters[0].value", `{{tasks.a.outputs.result}}: task "e" does not depend on task "a", so its results may not exist yet: add "a" to its depends (or dependencies)`},
			{"spec.templates[0].dag.tasks[4].when", `{{tasks.f.status}}: a task cannot use its own results, except in its hooks`},
			{"spec.templates[0].dag.tasks[4].arguments.parameters[0].value", `tasks.b.outputs.result (in {{=tasks.b.outputs.result}}): task "f" does not depend on task "b"`},
			{"spec.templates[2].container.args[0]", "{{tasks.a.outputs.result}}: tasks.* is only set in the tasks of a DAG template"},
		}},
		{name: "inputs, workflow and items", spec: `
entrypoint: main
arguments:
  parameters: [{name: who, value: world}]
templates:
- name: main
  inputs:
    parameters: [{name: greeting, value: hi}]
    artifacts: [{name: data, path: /tmp/d, raw: {data: x}}]
  container:
    image: busybox
    args:
    - "{{inputs.parameters.greting}}"
    - "{{inputs.artifacts.dta.path}}"
    - "{{workflow.parameters.whom}}"
    - "{{workflow.nmae}}"
    - "{{item}}"
    - "{{=inputs.parameters['nope'] + workflow.parameters.who}}"
- name: loops
  steps:
  - - name: maps
      template: main
      withItems: [{k: a}, {k: b, v: c}]
      arguments: {parameters: [{name: greeting, value: "{{item.key}}"}]}
    - name: scalars
      template: main
      withItems: [a, b]
      arguments: {parameters: [{name: greeting, value: "{{item.k}}"}]}
    - name: any
      template: main
      withParam: '[{"a": 1}]'
      arguments: {parameters: [{name: greeting, value: "{{item.whatever}}"}]}
`, faults: []want{
			{"spec.templates[0].container.args[0]", `{{inputs.parameters.greting}}: template "main" has no input parameter "greting": declare it under inputs.parameters: did you mean "greeting"?`},
			{"spec.templates[0].container.args[1]", `{{inputs.artifacts.dta.path}}: template "main" has no input artifact "dta"`},
			{"spec.templates[0].container.args[2]", `{{workflow.parameters.whom}}: the workflow has no parameter "whom": add it to spec.arguments.parameters: did you mean "who"?`},
			{"spec.templates[0].container.args[3]", `{{workflow.nmae}}: workflow.nmae is not a workflow variable: did you mean "name"?`},
			{"spec.templates[0].container.args[4]", "{{item}}: item is only set in a step or task that loops"},
			{"spec.templates[0].container.args[5]", `inputs.parameters.nope (in {{=inputs.parameters['nope'] + workflow.parameters.who}}): template "main" has no input parameter "nope"`},
			{"spec.templates[1].steps[0][0].arguments.parameters[0].value", `{{item.key}}: no item of withItems has the key "key" (k, v)`},
			{"spec.templates[1].steps[0][1].arguments.parameters[0].value", `{{item.k}}: the items of withItems are not maps: use {{item}}`},
		}},
		{name: "tag and expression syntax", spec: `
entrypoint: main
templates:
- name: main
  inputs:
    parameters: [{name: a, value: "1"}]
  outputs:
    parameters:
    - name: o
      valueFrom: {path: /tmp/o}
    artifacts:
    - name: x
      fromExpression: "1 +"
      path: /tmp/x
  container:
    image: busybox
    args: ["{{=inputs.parameters.a +}}", "{{inputs.parameters.a", "{{=1 + 'a'}}"]
`, faults: []want{
			{"spec.templates[0].container.args[0]", `invalid expression {{=inputs.parameters.a +}}`},
			{"spec.templates[0].container.args[1]", `unclosed tag: no "}}" after "{{inputs.parameters.a": close it with }}`},
			{"spec.templates[0].container.args[2]", `{{=1 + 'a'}} does not compile: invalid operation: + (mismatched types int and string)`},
			{"spec.templates[0].outputs.artifacts[0].fromExpression", `"1 +" does not compile`},
		}},
	})
}

func TestTemplateRefs(t *testing.T) {
	lookup := lookupOf(t, map[string]string{
		"lib": `
entrypoint: hello
arguments:
  parameters: [{name: msg, value: from-template}, {name: other}]
templates:
` + indent(helloTemplate, 0),
	}, map[string]string{
		"clib": `
templates:
- name: shout
  inputs:
    parameters: [{name: words}]
  container: {image: busybox}
`,
	})
	runWorkflowCases(t, []wfCase{
		{name: "resolved", opts: Options{TemplateLookup: lookup}, spec: `
entrypoint: main
templates:
- name: main
  steps:
  - - name: a
      templateRef: {name: lib, template: hello}
      arguments: {parameters: [{name: msg, value: hi}]}
    - name: b
      templateRef: {name: clib, template: shout, clusterScope: true}
      arguments: {parameters: [{name: words, value: hi}]}
    - name: dynamic
      templateRef: {name: "{{workflow.name}}", template: x}
`},
		{name: "faults", opts: Options{TemplateLookup: lookup}, spec: `
entrypoint: main
templates:
- name: main
  steps:
  - - name: a
      templateRef: {name: lib, template: helo}
    - name: b
      templateRef: {name: nolib, template: hello}
    - name: c
      templateRef: {name: clib, template: shout, clusterScope: true}
    - name: d
      templateRef: {name: lib}
    - name: e
      templateRef: {name: lib, template: hello}
`, faults: []want{
			{"spec.templates[0].steps[0][0].templateRef.template", `WorkflowTemplate "lib" has no template "helo": did you mean "hello"?`},
			{"spec.templates[0].steps[0][1].templateRef", `WorkflowTemplate "nolib": not found in namespace default`},
			{"spec.templates[0].steps[0][2].arguments", `parameter "words" of template "clib/shout" is not supplied`},
			{"spec.templates[0].steps[0][3].templateRef.template", `required: the template to call in WorkflowTemplate "lib"`},
			{"spec.templates[0].steps[0][4].arguments", `parameter "msg" of template "lib/hello" is not supplied`},
		}},
		{name: "no lookup: references are not checked", spec: `
entrypoint: main
templates:
- name: main
  steps:
  - - name: a
      templateRef: {name: nolib, template: hello}
`},
		{name: "unchecked lookups", opts: Options{TemplateLookup: func(string, bool) (*argov1.WorkflowSpec, error) {
			return nil, fmt.Errorf("offline: %w", ErrUnchecked)
		}}, spec: `
entrypoint: main
templates:
- name: main
  steps:
  - - name: a
      templateRef: {name: nolib, template: hello}
`},
		{name: "workflowTemplateRef", opts: Options{TemplateLookup: lookup}, spec: `
workflowTemplateRef: {name: lib}
arguments:
  parameters: [{name: other, value: x}]
`},
		{name: "workflowTemplateRef submit", opts: Options{TemplateLookup: lookup, Submit: true}, spec: `
workflowTemplateRef: {name: lib}
`, faults: []want{
			{"spec.arguments.parameters", `parameter "other" (from WorkflowTemplate "lib") has no value: give it a value, or pass one with -p other=VALUE`},
		}},
		{name: "workflowTemplateRef faults", opts: Options{TemplateLookup: lookup}, spec: `
workflowTemplateRef: {name: clib, clusterScope: true}
entrypoint: shot
templates:
- name: x
  container: {image: busybox}
`, faults: []want{
			{"spec.templates", `a workflow with workflowTemplateRef runs the templates of ClusterWorkflowTemplate "clib": remove templates`},
			{"spec.entrypoint", `template "shot" not found in ClusterWorkflowTemplate "clib": did you mean "shout"?`},
		}},
		{name: "workflowTemplateRef not found", opts: Options{TemplateLookup: lookup}, spec: `
workflowTemplateRef: {name: gone}
`, faults: []want{{"spec.workflowTemplateRef", `WorkflowTemplate "gone": not found`}}},
	})
}

func TestTemplateKinds(t *testing.T) {
	spec := `
templates:
- name: main
  inputs:
    parameters: [{name: m}]
  container: {image: busybox, args: ["{{workflow.parameters.anything}}", "{{inputs.parameters.m}}"]}
`
	for _, kind := range []string{KindWorkflowTemplate, KindClusterWorkflowTemplate} {
		doc := decodeOne(t, objectYAML(kind, spec))
		expectErrors(t, doc.Validate(Options{Submit: true}))
		doc = decodeOne(t, objectYAML(kind, "entrypoint: nope\n"+spec))
		expectErrors(t, doc.Validate(Options{}), want{"spec.entrypoint", `template "nope" not found in the ` + kind})
	}
}

func TestCronWorkflow(t *testing.T) {
	base := `
workflowSpec:
  entrypoint: main
  templates:
  - name: main
    container: {image: busybox}
`
	cases := []struct {
		name   string
		spec   string
		faults []want
	}{
		{name: "valid", spec: `
schedules: ["*/5 * * * *", "0 9-17/2 * JAN-mar mon-FRI", "@hourly", "@every 1h30m", "CRON_TZ=Europe/Berlin 0 0 1,15 * ?"]
timezone: America/New_York
concurrencyPolicy: Forbid
startingDeadlineSeconds: 0
when: "{{= cronworkflow.lastScheduledTime == nil }}"
stopStrategy: {expression: "cronworkflow.failed >= 3"}
` + base},
		{name: "schedule required", spec: base, faults: []want{{"spec.schedules", "required: when to run"}}},
		{name: "faults", spec: `
schedule: "0 0 * * *"
schedules: ["0 0 * *", "61 * * * *", "* * * * 7", "5-1 * * * *", "*/0 * * * *", "@fortnightly", "TZ=Mars/Base 0 0 * * *"]
timezone: Moon/Base
concurrencyPolicy: Sometimes
startingDeadlineSeconds: -1
successfulJobsHistoryLimit: -2
stopStrategy: {expression: ""}
` + base, faults: []want{
			{"spec.schedule", "set schedules (or the older schedule), not both"},
			{"spec.schedules[0]", `"0 0 * *" is not a cron schedule: expected exactly 5 fields, found 4`},
			{"spec.schedules[1]", "end of range (61) above maximum (59)"},
			{"spec.schedules[2]", "end of range (7) above maximum (6)"},
			{"spec.schedules[3]", "beginning of range (5) beyond end of range (1)"},
			{"spec.schedules[4]", "step of range should be a positive number"},
			{"spec.schedules[5]", "unrecognized descriptor: @fortnightly"},
			{"spec.schedules[6]", "unknown time zone Mars/Base"},
			{"spec.timezone", `unknown time zone "Moon/Base": use an IANA name`},
			{"spec.concurrencyPolicy", `"Sometimes" is not a concurrency policy: use Allow, Forbid or Replace`},
			{"spec.startingDeadlineSeconds", "must be 0 or more seconds, not -1"},
			{"spec.successfulJobsHistoryLimit", "must be 0 or more, not -2"},
			{"spec.stopStrategy.expression", "required"},
		}},
		{name: "workflow spec and arguments", spec: `
schedules: ["@daily"]
workflowSpec:
  entrypoint: mian
  arguments:
    parameters: [{name: p}]
  templates:
  - name: main
    container: {image: busybox}
`, faults: []want{
			{"spec.workflowSpec.entrypoint", `template "mian" not found in the CronWorkflow: did you mean "main"?`},
			{"spec.workflowSpec.arguments.parameters[0]", `parameter "p" has no value: a CronWorkflow submits its workflows without parameters, so give it a value`},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := decodeOne(t, objectYAML(KindCronWorkflow, c.spec))
			expectErrors(t, doc.Validate(Options{}), c.faults...)
		})
	}
}

func TestObjectNames(t *testing.T) {
	long := strings.Repeat("a", 64)
	doc := decodeOne(t, "apiVersion: argolite.dev/v1alpha1\nkind: Workflow\nmetadata:\n  name: "+long+"\nspec:\n  entrypoint: main\n  templates:\n  - name: main\n    container: {image: busybox}\n")
	expectErrors(t, doc.Validate(Options{}), want{"metadata.name", "is 64 characters long: a Workflow name may have at most 63"})
	doc = decodeOne(t, "apiVersion: argolite.dev/v1alpha1\nkind: Workflow\nmetadata: {}\nspec:\n  entrypoint: main\n  templates:\n  - name: main\n    container: {image: busybox}\n")
	expectErrors(t, doc.Validate(Options{}), want{"metadata", "set name or generateName"})
}

func TestZeroObjects(t *testing.T) {
	// Nothing set must give faults, not panics.
	expectErrors(t, Workflow(&argov1.Workflow{}, Options{Submit: true}),
		want{"metadata", "set name or generateName"}, want{"spec.entrypoint", "required"})
	expectErrors(t, WorkflowTemplate(&argov1.WorkflowTemplate{}, Options{}), want{"metadata.name", "required"})
	expectErrors(t, ClusterWorkflowTemplate(&argov1.ClusterWorkflowTemplate{}, Options{}), want{"metadata.name", "required"})
	expectErrors(t, CronWorkflow(&argov1.CronWorkflow{}, Options{}),
		want{"metadata.name", "required"}, want{"spec.schedules", "required"}, want{"spec.workflowSpec.entrypoint", "required"})
	wf := &argov1.Workflow{}
	wf.Name = "x"
	wf.Spec.Entrypoint = "main"
	wf.Spec.Templates = []argov1.Template{{Name: "main", Steps: []argov1.ParallelSteps{{}, {Steps: []argov1.WorkflowStep{{}}}}},
		{Name: "d", DAG: &argov1.DAGTemplate{Tasks: []argov1.DAGTask{{}}}}, {Name: "i", Steps: []argov1.ParallelSteps{{Steps: []argov1.WorkflowStep{{Name: "s", Inline: &argov1.Template{}}}}}}}
	expectErrors(t, Workflow(wf, Options{}),
		want{"spec.templates[0].steps[1][0].name", "required"},
		want{"spec.templates[0].steps[1][0]", "calls no template"},
		want{"spec.templates[1].dag.tasks[0].name", "required"},
		want{"spec.templates[1].dag.tasks[0]", "calls no template"},
		want{"spec.templates[2].steps[0][0].inline", "no template type"},
	)
}
