package wf

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/plugin/clitest"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

func listFixture() []client.Object {
	suspendedWF := dagWorkflow()
	suspendedWF.Name, suspendedWF.CreationTimestamp = "paused", at(-time.Minute)
	suspendedWF.Spec.Suspend = ptr.To(true)
	pending := newWorkflow("new", "").wf
	pending.CreationTimestamp = at(-5 * time.Second)
	pending.Status = argov1.WorkflowStatus{}
	pending.Spec.WorkflowTemplateRef = &argov1.WorkflowTemplateRef{Name: "ci"}
	pending.Spec.Arguments.Parameters = []argov1.Parameter{{Name: "branch", Value: argov1.AnyStringPtr("main")}}
	elsewhere := stepsWorkflow()
	elsewhere.Namespace = "ops"
	return []client.Object{stepsWorkflow(), dagWorkflow(), suspendedWF, pending, elsewhere}
}

func TestList(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    string
		wantErr string
	}{
		{
			name: "namespace, newest first",
			args: []string{"list"},
			want: `NAME STATUS AGE DURATION PROGRESS MESSAGE
new Pending 5s - -
paused Running (Suspended) 60s 10m 1/2
diamond Running 10m 10m 1/2
steps Failed 10m 40s 2/4 child 'steps-1' failed`,
		},
		{
			name: "running, wide",
			args: []string{"ls", "--running", "-o", "wide"},
			want: `NAME STATUS AGE DURATION PROGRESS TEMPLATE PARAMETERS MESSAGE
new Pending 5s - - workflowtemplate/ci branch=main
paused Running (Suspended) 60s 10m 1/2 main -
diamond Running 10m 10m 1/2 main -`,
		},
		{
			name: "completed, every namespace",
			args: []string{"list", "--completed", "-A"},
			want: `NAMESPACE NAME STATUS AGE DURATION PROGRESS MESSAGE
ops steps Failed 10m 40s 2/4 child 'steps-1' failed
team steps Failed 10m 40s 2/4 child 'steps-1' failed`,
		},
		{name: "names", args: []string{"list", "--completed", "-o", "name"}, want: "workflow.argolite.dev/steps"},
		{name: "both filters", args: []string{"list", "--running", "--completed"}, wantErr: "--running and --completed cannot be combined"},
		{name: "unknown format", args: []string{"list", "-o", "table"}, wantErr: `unknown output format "table": use one of wide, json, yaml`},
	}
	clients := newClients(t, listFixture()...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clitest.WantOutput(t, run(t, clients, tt.args...), tt.wantErr, tt.want)
		})
	}
}

func TestListJSONAndEmpty(t *testing.T) {
	r := run(t, newClients(t, listFixture()...), "list", "-o", "json")
	clitest.WantErr(t, r.Err, "")
	var list argov1.WorkflowList
	if err := json.Unmarshal([]byte(r.Out), &list); err != nil {
		t.Fatalf("-o json is not a WorkflowList: %v\n%s", err, r.Out)
	}
	if list.Kind != "WorkflowList" || len(list.Items) != 4 || list.Items[0].Kind != "Workflow" || list.Items[0].Name != "new" {
		t.Errorf("list: %+v", list)
	}
	r = run(t, newClients(t), "list")
	clitest.WantErr(t, r.Err, "")
	if r.Out != "" || r.ErrOut != "No workflows found in namespace team.\n" {
		t.Errorf("stdout %q, stderr %q", r.Out, r.ErrOut)
	}
}

func TestNotInstalled(t *testing.T) {
	for _, args := range [][]string{
		{"list"}, {"get", "x"}, {"wait", "x"}, {"logs", "x"}, {"suspend", "x"}, {"resume", "x"}, {"stop", "x"},
		{"terminate", "x"}, {"retry", "x"}, {"resubmit", "x"}, {"delete", "x"}, {"submit", "testdata/hello-world.yaml"},
	} {
		t.Run(args[0], func(t *testing.T) {
			r := run(t, clitest.NewClientsWith(t, clitest.NotInstalled("Workflow")), args...)
			clitest.WantErr(t, r.Err, "argolite is not installed in this cluster")
			if !errors.Is(r.Err, cli.ErrNotInstalled) || !strings.Contains(r.Err.Error(), "run kubectl argo install") {
				t.Errorf("error %v does not say what to do", r.Err)
			}
		})
	}
}

func TestCompletion(t *testing.T) {
	clients := newClients(t, listFixture()...)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"get", ""}, "diamond\tRunning\nnew\tPending\npaused\tRunning (Suspended)\nsteps\tFailed\n"},
		{[]string{"get", "steps", ""}, ""},
		{[]string{"stop", "d"}, "diamond\tRunning\n"},
		{[]string{"retry", ""}, "steps\tFailed\n"},
		{[]string{"resume", ""}, "paused\tRunning (Suspended)\n"},
		{[]string{"wait", "diamond", ""}, "new\tPending\npaused\tRunning (Suspended)\nsteps\tFailed\n"},
		{[]string{"logs", "steps", ""}, "a\nb(0)\nb(1)\nhello\n"},
		{[]string{"get", "-n", "ops", ""}, "steps\tFailed\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got := clitest.Completions(t, run(t, clients, append([]string{"__complete"}, tt.args...)...))
			if got != tt.want {
				t.Errorf("completions:\n%q\nwant:\n%q", got, tt.want)
			}
		})
	}
}
