package wf

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/spf13/cobra"

	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/plugin/clitest"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/wfnames"
)

// now is the fake clock of every test.
var now = clitest.Now

// ns is the namespace of the test kubeconfig's context.
const ns = clitest.Namespace

// statusKinds are the kinds whose status the plugin writes apart, as
// Workflows and CronWorkflows have a status subresource.
var statusKinds = []client.Object{&argov1.Workflow{}, &argov1.CronWorkflow{}}

// newClients are clitest's fake clients with the status subresources of
// statusKinds: a spec patch leaves the status alone and a status patch the spec.
func newClients(t *testing.T, objs ...client.Object) *cli.Clients {
	t.Helper()
	return clitest.Fake{Objects: objs, StatusSubresource: statusKinds}.Clients(t)
}

func newClientsWith(t *testing.T, funcs interceptor.Funcs, objs ...client.Object) *cli.Clients {
	t.Helper()
	return clitest.Fake{Objects: objs, Funcs: funcs, StatusSubresource: statusKinds}.Clients(t)
}

// run runs `wf args...` against clients, as `kubectl argo wf` would.
func run(t *testing.T, clients *cli.Clients, args ...string) clitest.Result {
	t.Helper()
	return runWith(t, clients, nil, "", args...)
}

// runWith is run with a log source and stdin.
func runWith(t *testing.T, clients *cli.Clients, logs LogSource, stdin string, args ...string) clitest.Result {
	t.Helper()
	return clitest.RunIO(t, clitest.IO{Stdin: stdin}, func(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
		return newCmd(flags, streams, func(c *Common) {
			clitest.Use(&c.Common, clients)
			c.Logs = logs
		})
	}, args...)
}

func getWF(t *testing.T, clients *cli.Clients, name string) *argov1.Workflow {
	t.Helper()
	wf := &argov1.Workflow{}
	if err := clients.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, wf); err != nil {
		t.Fatalf("reading workflow %s: %v", name, err)
	}
	return wf
}

func listWFs(t *testing.T, clients *cli.Clients) []argov1.Workflow {
	t.Helper()
	list := &argov1.WorkflowList{}
	if err := clients.Client.List(context.Background(), list); err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// at is the fake clock plus d.
func at(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(d)) }

// builder makes a workflow status node by node, with the IDs the agent gives.
type builder struct{ wf *argov1.Workflow }

func newWorkflow(name string, phase argov1.WorkflowPhase) *builder {
	return &builder{wf: &argov1.Workflow{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: at(-10 * time.Minute)},
		Spec:       argov1.WorkflowSpec{Entrypoint: "main"},
		Status:     argov1.WorkflowStatus{Phase: phase, StartedAt: at(-10 * time.Minute), Nodes: argov1.Nodes{}},
	}}
}

// node adds a node named name (after the workflow's name; "" is the root)
// as a child of parent ("" for none, "-" for the root), in boundary ("-"
// for the root's).
func (b *builder) node(name string, typ argov1.NodeType, phase argov1.NodePhase, template, parent, boundary string, start, dur time.Duration, mutate ...func(*argov1.NodeStatus)) *builder {
	full := b.wf.Name + name
	if b.wf.Status.Nodes == nil {
		b.wf.Status.Nodes = argov1.Nodes{}
	}
	n := argov1.NodeStatus{
		ID: wfnames.NodeID(b.wf.Name, full), Name: full, DisplayName: wfnames.DisplayName(b.wf.Name, full),
		Type: typ, Phase: phase, TemplateName: template, StartedAt: at(-10*time.Minute + start),
	}
	if boundary != "" {
		n.BoundaryID = b.id(boundary)
	}
	if phase.Fulfilled() {
		n.FinishedAt = at(-10*time.Minute + start + dur)
	}
	for _, m := range mutate {
		m(&n)
	}
	b.wf.Status.Nodes[n.ID] = n
	if parent != "" {
		p := b.wf.Status.Nodes[b.id(parent)]
		p.Children = append(p.Children, n.ID)
		b.wf.Status.Nodes[p.ID] = p
	}
	return b
}

// id is the ID of the node name ("" for the root).
func (b *builder) id(name string) string {
	if name == "-" {
		name = ""
	}
	return wfnames.NodeID(b.wf.Name, b.wf.Name+name)
}

func (b *builder) done(phase argov1.WorkflowPhase, message string, dur time.Duration) *builder {
	b.wf.Status.Phase, b.wf.Status.Message = phase, message
	b.wf.Status.FinishedAt = at(-10*time.Minute + dur)
	return b
}

func msg(m string) func(*argov1.NodeStatus) { return func(n *argov1.NodeStatus) { n.Message = m } }

// stepsWorkflow is Argo's steps example: two groups, the second with two
// parallel steps, one of which failed after a retry.
func stepsWorkflow() *argov1.Workflow {
	b := newWorkflow("steps", argov1.WorkflowRunning)
	b.node("", argov1.NodeTypeSteps, argov1.NodeFailed, "main", "", "", 0, 40*time.Second, msg("child 'steps-1' failed"))
	b.node("[0]", argov1.NodeTypeStepGroup, argov1.NodeSucceeded, "main", "-", "-", 0, 10*time.Second)
	b.node("[0].hello", argov1.NodeTypePod, argov1.NodeSucceeded, "print", "[0]", "-", time.Second, 9*time.Second, func(n *argov1.NodeStatus) {
		n.Outputs = &argov1.Outputs{Result: ptrTo("hello world"), Parameters: []argov1.Parameter{{Name: "greeting", Value: argov1.AnyStringPtr("hi")}}}
		n.HostNodeName = "node-1"
	})
	b.node("[1]", argov1.NodeTypeStepGroup, argov1.NodeFailed, "main", "-", "-", 10*time.Second, 30*time.Second)
	b.node("[1].a", argov1.NodeTypePod, argov1.NodeSucceeded, "print", "[1]", "-", 11*time.Second, 5*time.Second)
	b.node("[1].b", argov1.NodeTypeRetry, argov1.NodeFailed, "flaky", "[1]", "-", 11*time.Second, 29*time.Second, msg("No more retries left"))
	b.node("[1].b(0)", argov1.NodeTypePod, argov1.NodeFailed, "flaky", "[1].b", "-", 11*time.Second, 4*time.Second, msg("exit code 1"),
		func(n *argov1.NodeStatus) { n.NodeFlag = &argov1.NodeFlag{Retried: true} })
	b.node("[1].b(1)", argov1.NodeTypePod, argov1.NodeFailed, "flaky", "[1].b", "-", 20*time.Second, 20*time.Second, msg("exit code 1"),
		func(n *argov1.NodeStatus) { n.NodeFlag = &argov1.NodeFlag{Retried: true} })
	b.done(argov1.WorkflowFailed, "child 'steps-1' failed", 40*time.Second)
	b.wf.Status.Progress = "2/4"
	b.wf.Spec.Arguments.Parameters = []argov1.Parameter{{Name: "message", Value: argov1.AnyStringPtr("hello")}}
	return b.wf
}

// dagWorkflow is a diamond DAG, running, with a skipped task and an exit handler.
func dagWorkflow() *argov1.Workflow {
	b := newWorkflow("diamond", argov1.WorkflowRunning)
	b.node("", argov1.NodeTypeDAG, argov1.NodeRunning, "diamond", "", "", 0, 0)
	b.node(".A", argov1.NodeTypePod, argov1.NodeSucceeded, "echo", "-", "-", time.Second, 5*time.Second)
	b.node(".B", argov1.NodeTypePod, argov1.NodeRunning, "echo", ".A", "-", 7*time.Second, 0)
	b.node(".C", argov1.NodeTypeSkipped, argov1.NodeSkipped, "echo", ".A", "-", 7*time.Second, 0, msg("when 'false' evaluated false"))
	b.node(".D", argov1.NodeTypeSkipped, argov1.NodeOmitted, "echo", ".B", "-", 8*time.Second, 0)
	b.wf.Status.Progress = "1/2"
	return b.wf
}

func ptrTo[T any](v T) *T { return &v }

// fakeAgent plays the agent: each time the plugin reads the workflow, the
// agent takes its next step first (once when says so). No goroutine.
type fakeAgent struct {
	mu    sync.Mutex
	name  string
	when  func(*argov1.Workflow) bool
	steps []func(*argov1.Workflow)
	taken int
	// pods, when set, are created (or their status updated) after each
	// step, numbered from 0: the step Pods the agent runs.
	pods func(step int, wf *argov1.Workflow) []*corev1.Pod
}

func (a *fakeAgent) funcs() interceptor.Funcs {
	return interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
		if _, ok := obj.(*argov1.Workflow); ok && (key.Name == a.name || (a.name == "*" && key.Name != "")) {
			a.step(ctx, c, key)
		}
		return c.Get(ctx, key, obj, opts...)
	}}
}

func (a *fakeAgent) step(ctx context.Context, c client.WithWatch, key client.ObjectKey) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.taken >= len(a.steps) {
		return
	}
	live := &argov1.Workflow{}
	if err := c.Get(ctx, key, live); err != nil {
		return
	}
	if a.when != nil && a.taken == 0 && !a.when(live) {
		return
	}
	a.steps[a.taken](live)
	a.taken++
	if err := c.Status().Update(ctx, live); err != nil {
		panic(fmt.Sprintf("fake agent: %v", err))
	}
	if a.pods != nil {
		for _, p := range a.pods(a.taken-1, live) {
			err := c.Create(ctx, p.DeepCopy())
			if apierrors.IsAlreadyExists(err) {
				existing := &corev1.Pod{}
				if err := c.Get(ctx, client.ObjectKeyFromObject(p), existing); err != nil {
					panic(fmt.Sprintf("fake agent: %v", err))
				}
				existing.Status = p.Status
				err = c.Status().Update(ctx, existing)
			}
			if err != nil {
				panic(fmt.Sprintf("fake agent: %v", err))
			}
		}
	}
}

// fakeLogs serves canned logs by Pod name; a Pod with no entry fails.
type fakeLogs struct {
	mu   sync.Mutex
	logs map[string]string
	// asked records the Pods and options asked for.
	asked []string
}

func (f *fakeLogs) Stream(_ context.Context, namespace, pod string, opts *corev1.PodLogOptions) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, fmt.Sprintf("%s/%s -c %s follow=%v", namespace, pod, opts.Container, opts.Follow))
	text, ok := f.logs[pod]
	if !ok {
		return nil, fmt.Errorf("no log for %s", pod)
	}
	return io.NopCloser(bytes.NewBufferString(text)), nil
}

// stepPod is the Pod of a workflow's node, finished (or running).
func stepPodOf(wf *argov1.Workflow, nodeName string, phase corev1.PodPhase) *corev1.Pod {
	id := wfnames.NodeID(wf.Name, nodeName)
	n := wf.Status.Nodes[id]
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: wf.Namespace, Name: wfnames.PodName(wf.Name, nodeName, n.TemplateName),
			Labels:      map[string]string{wfnames.LabelWorkflow: wf.Name},
			Annotations: map[string]string{wfnames.AnnotationNodeID: id, wfnames.AnnotationNodeName: nodeName}},
		Status: corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{{Name: "main",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}}}},
	}
}
