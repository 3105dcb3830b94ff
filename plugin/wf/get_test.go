package wf

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/argolite/argolite/plugin/clitest"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

func TestGetSteps(t *testing.T) {
	r := run(t, newClients(t, stepsWorkflow()), "get", "steps")
	clitest.WantErr(t, r.Err, "")
	want := `Name:         steps
Namespace:    team
Status:       Failed
Message:      child 'steps-1' failed
Created:      2026-03-01 11:50:00 UTC (10m ago)
Started:      2026-03-01 11:50:00 UTC (10m ago)
Finished:     2026-03-01 11:50:40 UTC (9m20s ago)
Duration:     40s
Progress:     2/4
Parameters:   
  message:    hello

STEP            TEMPLATE   PODNAME                  DURATION   MESSAGE
 ✖ steps        main                                           child 'steps-1' failed
 ├───✔ hello    print      steps-print-4089305192   9s         
 └─┬─✔ a        print      steps-print-2079271594   5s         
   └─✖ b        flaky                                          No more retries left
     ├─✖ b(0)   flaky      steps-flaky-358241418    4s         exit code 1
     └─✖ b(1)   flaky      steps-flaky-827867655    20s        exit code 1
`
	if r.Out != want {
		t.Errorf("output:\n%s\nwant:\n%s", r.Out, want)
	}
}

func TestGetDAG(t *testing.T) {
	wf := dagWorkflow()
	// The exit handler's tree follows the main one.
	b := &builder{wf: wf}
	b.node(".onExit", argov1.NodeTypePod, argov1.NodePending, "notify", "", "", 9*time.Second, 0)
	// A Pod listed from the cluster names its node's Pod.
	pod := stepPodOf(wf, "diamond.B", corev1.PodRunning)
	pod.Name = "diamond-b-custom"
	r := run(t, newClients(t, wf, pod), "get", "diamond")
	clitest.WantErr(t, r.Err, "")
	want := `Name:        diamond
Namespace:   team
Status:      Running
Created:     2026-03-01 11:50:00 UTC (10m ago)
Started:     2026-03-01 11:50:00 UTC (10m ago)
Duration:    10m
Progress:    1/2

STEP         TEMPLATE   PODNAME                     DURATION   MESSAGE
 ◷ diamond   diamond                                           
 ├─✔ A       echo       diamond-echo-1786869086     5s         
 ├─◷ B       echo       diamond-b-custom            9m53s      
 └─○ C       echo                                              when 'false' evaluated false
                                                               
 ◷ onExit    notify     diamond-notify-3310209614   9m51s      
`
	if r.Out != want {
		t.Errorf("output:\n%s\nwant:\n%s", r.Out, want)
	}
}

func TestGetOutputsAndWide(t *testing.T) {
	for _, args := range [][]string{{"--outputs"}, {"-o", "wide"}} {
		r := run(t, newClients(t, stepsWorkflow()), append([]string{"get", "steps"}, args...)...)
		clitest.WantErr(t, r.Err, "")
		out := clitest.Squeeze(r.Out)
		if !strings.Contains(out, "├───✔ hello print steps-print-4089305192 9s greeting=hi, result=hello world") {
			t.Errorf("%v: outputs missing:\n%s", args, r.Out)
		}
		if strings.Contains(out, "node-1") != (args[0] == "-o") {
			t.Errorf("%v: NODE column shown %v:\n%s", args, strings.Contains(out, "node-1"), r.Out)
		}
	}
}

func TestGetYAML(t *testing.T) {
	r := run(t, newClients(t, stepsWorkflow()), "get", "steps", "-o", "yaml")
	clitest.WantErr(t, r.Err, "")
	var got argov1.Workflow
	if err := yaml.UnmarshalStrict([]byte(r.Out), &got); err != nil {
		t.Fatalf("-o yaml is not a Workflow: %v\n%s", err, r.Out)
	}
	if got.APIVersion != "argolite.dev/v1alpha1" || got.Kind != "Workflow" || len(got.Status.Nodes) != 8 {
		t.Errorf("-o yaml:\n%s", r.Out)
	}
}

func TestGetRejects(t *testing.T) {
	clients := newClients(t, stepsWorkflow())
	clitest.WantErr(t, run(t, clients, "get", "nope").Err,
		`workflow "nope" not found in namespace team: list the workflows with kubectl argo wf list (-A for every namespace), or pick the namespace with -n`)
	clitest.WantErr(t, run(t, clients, "get", "steps", "-o", "table").Err, `unknown output format "table": use one of wide, json, yaml`)
	clitest.WantErr(t, run(t, clients, "get", "steps", "-w", "-o", "json").Err, "-w shows the tree and -o json prints the object: use one")
}

func TestGetWatchPlain(t *testing.T) {
	wf := newWorkflow("hello", "").wf
	agent := &fakeAgent{name: "hello", steps: []func(*argov1.Workflow){
		func(*argov1.Workflow) {},
		func(wf *argov1.Workflow) {
			b := &builder{wf: wf}
			wf.Status.Phase = argov1.WorkflowRunning
			b.node("", argov1.NodeTypePod, argov1.NodePending, "main", "", "", 0, 0)
		},
		func(wf *argov1.Workflow) {
			n := wf.Status.Nodes["hello"]
			n.Phase = argov1.NodeRunning
			wf.Status.Nodes["hello"] = n
		},
		func(*argov1.Workflow) {},
		func(wf *argov1.Workflow) {
			n := wf.Status.Nodes["hello"]
			n.Phase, n.FinishedAt = argov1.NodeSucceeded, at(-9*time.Minute)
			wf.Status.Nodes["hello"] = n
			wf.Status.Phase, wf.Status.FinishedAt = argov1.WorkflowSucceeded, at(-9*time.Minute)
		},
	}}
	r := run(t, newClientsWith(t, agent.funcs(), wf), "get", "hello", "-w")
	clitest.WantErr(t, r.Err, "")
	want := []string{
		"workflow.argolite.dev/hello Pending\n",
		"workflow.argolite.dev/hello Running\n◷ hello (main) Pending\n",
		"◷ hello (main) Running\n",
		"workflow.argolite.dev/hello Succeeded\n✔ hello (main) Succeeded\n\nName:",
		"STEP       TEMPLATE   PODNAME   DURATION   MESSAGE\n ✔ hello   main       hello     60s",
	}
	for _, s := range want {
		if !strings.Contains(r.Out, s) {
			t.Errorf("output lacks %q:\n%s", s, r.Out)
		}
	}
	if strings.Contains(r.Out, "\x1b") {
		t.Errorf("terminal control codes in plain output:\n%q", r.Out)
	}
}
