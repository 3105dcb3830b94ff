package wf

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/clitest"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/wfnames"
)

func stepsWithPods() []client.Object {
	wf := stepsWorkflow()
	objs := []client.Object{wf}
	for _, n := range []string{"steps[0].hello", "steps[1].a", "steps[1].b(0)", "steps[1].b(1)"} {
		objs = append(objs, stepPodOf(wf, n, corev1.PodSucceeded))
	}
	return objs
}

func podLogs(wf *argov1.Workflow, logs map[string]string) *fakeLogs {
	f := &fakeLogs{logs: map[string]string{}}
	for node, text := range logs {
		n := wf.Status.Nodes[wfnames.NodeID(wf.Name, node)]
		f.logs[wfnames.PodName(wf.Name, node, n.TemplateName)] = text
	}
	return f
}

func TestLogs(t *testing.T) {
	wf := stepsWorkflow()
	logs := podLogs(wf, map[string]string{
		"steps[0].hello": "hello world\n",
		"steps[1].a":     "a1\na2",
		"steps[1].b(0)":  "flaky: try 1\n",
		"steps[1].b(1)":  "flaky: try 2\r\n",
	})
	tests := []struct {
		args    []string
		want    string
		wantErr string
	}{
		{args: []string{"steps"}, want: "hello: hello world\na: a1\na: a2\nb(0): flaky: try 1\nb(1): flaky: try 2\n"},
		{args: []string{"steps", "b"}, want: "b(0): flaky: try 1\nb(1): flaky: try 2\n"},
		{args: []string{"steps", "b(1)"}, want: "b(1): flaky: try 2\n"},
		{args: []string{"steps", wfnames.PodName("steps", "steps[0].hello", "print")}, want: "hello: hello world\n"},
		{args: []string{"steps", "nope"}, wantErr: ""},
		{args: []string{"steps", "--since-time", "yesterday"}, wantErr: `--since-time "yesterday": use RFC3339`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runWith(t, newClients(t, stepsWithPods()...), logs, "", append([]string{"logs"}, tt.args...)...)
			clitest.WantErr(t, r.Err, tt.wantErr)
			if tt.wantErr == "" && r.Out != tt.want {
				t.Errorf("output:\n%s\nwant:\n%s", r.Out, tt.want)
			}
		})
	}
	r := runWith(t, newClients(t, stepsWithPods()...), logs, "", "logs", "steps", "nope")
	if !strings.Contains(r.ErrOut, `workflow team/steps has no step "nope": use a step name as kubectl argo wf get steps shows it (a, b(0), b(1), hello)`) {
		t.Errorf("stderr %q", r.ErrOut)
	}
	r = runWith(t, newClients(t, stepsWorkflow()), logs, "", "logs", "steps")
	if r.Err != nil || r.Out != "" || r.ErrOut != "No step Pods left for workflow team/steps: they were deleted (podGC), and their logs with them\n" {
		t.Errorf("no Pods: out %q, stderr %q, err %v", r.Out, r.ErrOut, r.Err)
	}
}

func TestLogsFollow(t *testing.T) {
	// The workflow runs hello, then two steps in parallel: the logs of each
	// Pod are followed as it appears, until the workflow ends.
	b := newWorkflow("run", argov1.WorkflowRunning)
	b.node("", argov1.NodeTypeSteps, argov1.NodeRunning, "main", "", "", 0, 0)
	b.node("[0]", argov1.NodeTypeStepGroup, argov1.NodeRunning, "main", "-", "-", 0, 0)
	b.node("[0].hello", argov1.NodeTypePod, argov1.NodeRunning, "print", "[0]", "-", time.Second, 0)
	wf := b.wf
	later := wf.DeepCopy()
	lb := &builder{wf: later}
	lb.node("[1]", argov1.NodeTypeStepGroup, argov1.NodeRunning, "main", "-", "-", 5*time.Second, 0)
	lb.node("[1].x", argov1.NodeTypePod, argov1.NodeRunning, "print", "[1]", "-", 6*time.Second, 0)
	lb.node("[1].y", argov1.NodeTypePod, argov1.NodeRunning, "print", "[1]", "-", 6*time.Second, 0)

	pending := stepPodOf(wf, "run[0].hello", corev1.PodPending)
	pending.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
	agent := &fakeAgent{name: "run", steps: []func(*argov1.Workflow){
		func(*argov1.Workflow) {},
		func(*argov1.Workflow) {}, // hello starts running
		func(w *argov1.Workflow) { w.Status.Nodes = later.Status.Nodes }, // x and y start
		func(*argov1.Workflow) {},
		func(w *argov1.Workflow) { w.Status.Phase = argov1.WorkflowSucceeded },
	}}
	agent.pods = func(step int, _ *argov1.Workflow) []*corev1.Pod {
		switch step {
		case 1:
			return []*corev1.Pod{stepPodOf(wf, "run[0].hello", corev1.PodRunning)}
		case 2:
			return []*corev1.Pod{stepPodOf(later, "run[1].x", corev1.PodRunning), stepPodOf(later, "run[1].y", corev1.PodRunning)}
		}
		return nil
	}
	logs := podLogs(later, map[string]string{"run[0].hello": "hi\n", "run[1].x": "x1\nx2\n", "run[1].y": "y1\n"})
	r := runWith(t, newClientsWith(t, agent.funcs(), wf, pending), logs, "", "logs", "run", "-f")
	clitest.WantErr(t, r.Err, "")
	lines := strings.Split(strings.TrimSpace(r.Out), "\n")
	slices.Sort(lines)
	if want := []string{"hello: hi", "x: x1", "x: x2", "y: y1"}; !slices.Equal(lines, want) {
		t.Errorf("lines %q, want %q", lines, want)
	}
	if !strings.HasPrefix(r.Out, "hello: hi\n") || strings.Index(r.Out, "x: x1") > strings.Index(r.Out, "x: x2") {
		t.Errorf("lines out of order:\n%s", r.Out)
	}
	for _, a := range logs.asked {
		if !strings.HasSuffix(a, "-c main follow=true") {
			t.Errorf("asked %s", a)
		}
	}
}
