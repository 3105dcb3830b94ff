package app

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/spf13/cobra"

	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/plugin/clitest"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// now is the fake clock of every test.
var now = clitest.Now

const (
	// ns is the namespace of the test kubeconfig's context.
	ns = clitest.Namespace
	// sha and oldSHA are commits in the test repositories.
	sha    = "53e28ff20cc530b9ada2173fbbd64d48338583ba"
	oldSHA = "0c4bd1e1b1c9a7d5e2f30a6b8c1d2e3f4a5b6c7d"
)

// run runs `app args...` against clients, as `kubectl argo app` would.
func run(t *testing.T, clients *cli.Clients, args ...string) clitest.Result {
	t.Helper()
	return runWithInput(t, clients, "", args...)
}

func runWithInput(t *testing.T, clients *cli.Clients, stdin string, args ...string) clitest.Result {
	t.Helper()
	return clitest.RunIO(t, clitest.IO{Stdin: stdin}, func(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
		return newCmd(flags, streams, func(c *Common) { clitest.Use(&c.Common, clients) })
	}, args...)
}

// application returns a synced, healthy Application named name in ns.
func application(name string, mutate ...func(*argov1.Application)) *argov1.Application {
	app := &argov1.Application{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Generation: 1,
			CreationTimestamp: metav1.Time{Time: now.Add(-2 * time.Hour)}},
		Spec: argov1.ApplicationSpec{
			Source:      &argov1.ApplicationSource{RepoURL: "https://git.example.com/" + name + ".git", Path: "deploy", TargetRevision: "main"},
			Destination: argov1.ApplicationDestination{Namespace: name},
			Project:     "default",
		},
		Status: argov1.ApplicationStatus{
			ObservedGeneration: 1,
			Sync:               argov1.SyncStatus{Status: argov1.SyncStatusSynced, Revision: sha},
			Health:             argov1.HealthStatus{Status: argov1.HealthHealthy},
		},
	}
	for _, m := range mutate {
		m(app)
	}
	return app
}

// get reads an Application from the fake cluster.
func get(t *testing.T, clients *cli.Clients, name string) *argov1.Application {
	t.Helper()
	app := &argov1.Application{}
	if err := clients.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, app); err != nil {
		t.Fatalf("reading application %s: %v", name, err)
	}
	return app
}

// fakeAgent plays the agent in tests: each time the plugin reads the
// Application name, the agent takes its next step first, once there is
// something to do: by default once the plugin has set an operation; with
// eager at once; with when, once when says so. No clock, no goroutine: the
// plugin sees every step.
type fakeAgent struct {
	mu    sync.Mutex
	name  string
	eager bool
	when  func(*argov1.Application) bool
	steps []func(*argov1.Application)
	taken int
}

func (a *fakeAgent) funcs() interceptor.Funcs {
	return interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
		if _, ok := obj.(*argov1.Application); ok && key.Name == a.name {
			if err := a.step(ctx, c, key); err != nil {
				return err
			}
		}
		return c.Get(ctx, key, obj, opts...)
	}}
}

func (a *fakeAgent) step(ctx context.Context, c client.WithWatch, key client.ObjectKey) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.taken >= len(a.steps) {
		return nil
	}
	live := &argov1.Application{}
	if err := c.Get(ctx, key, live); err != nil {
		return nil //nolint:nilerr // the plugin's own Get reports it
	}
	when := a.when
	if when == nil {
		when = func(app *argov1.Application) bool { return a.eager || app.Operation != nil }
	}
	if a.taken == 0 && !when(live) {
		return nil // nothing asked yet
	}
	a.steps[a.taken](live)
	a.taken++
	return c.Update(ctx, live)
}

// startSync is the agent taking the requested operation.
func startSync(app *argov1.Application) {
	app.Status.OperationState = &argov1.OperationState{
		Operation: *app.Operation,
		Phase:     argov1.OperationRunning,
		Message:   "wave 0: applying",
		StartedAt: metav1.Time{Time: now},
	}
	app.Operation = nil
}

// progressSync is the agent half way: one result, and a wave waiting.
func progressSync(app *argov1.Application) {
	st := app.Status.OperationState
	st.Message = "wave 1: waiting for Deployment/web: Waiting for rollout to finish: 0 of 2 updated replicas are available"
	st.SyncResult = &argov1.SyncOperationResult{Revision: sha, Resources: []argov1.ResourceResult{
		{Version: "v1", Kind: "ConfigMap", Namespace: "web", Name: "web-config", Status: "Synced", Message: "configmap/web-config configured", SyncPhase: "Sync"},
	}}
}

// finishSync is the agent done, with phase.
func finishSync(phase argov1.OperationPhase, message string) func(*argov1.Application) {
	return func(app *argov1.Application) {
		st := app.Status.OperationState
		st.Phase, st.Message = phase, message
		st.FinishedAt = &metav1.Time{Time: now.Add(12 * time.Second)}
		status := "Synced"
		if phase != argov1.OperationSucceeded {
			status = "SyncFailed"
		}
		st.SyncResult = &argov1.SyncOperationResult{Revision: sha, Resources: []argov1.ResourceResult{
			{Version: "v1", Kind: "ConfigMap", Namespace: "web", Name: "web-config", Status: "Synced", Message: "configmap/web-config configured", SyncPhase: "Sync"},
			{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "web", Name: "web", Status: status, Message: "deployment.apps/web configured", SyncPhase: "Sync", SyncWave: 1},
			{Group: "batch", Version: "v1", Kind: "Job", Namespace: "web", Name: "smoke-test", Status: "Synced", HookPhase: "Succeeded", SyncPhase: "PostSync", SyncWave: 2},
		}}
	}
}

func TestNotInstalled(t *testing.T) {
	for _, args := range [][]string{
		{"list"}, {"get", "web"}, {"sync", "web"}, {"wait", "web"}, {"history", "web"}, {"rollback", "web", "1"},
		{"refresh", "web"}, {"delete", "web"}, {"create", "web", "--repo", "https://git.example.com/web.git"},
	} {
		t.Run(args[0], func(t *testing.T) {
			r := run(t, clitest.NewClientsWith(t, clitest.NotInstalled("Application")), args...)
			clitest.WantErr(t, r.Err, "argolite is not installed in this cluster")
			if !errors.Is(r.Err, cli.ErrNotInstalled) {
				t.Errorf("error %v is not cli.ErrNotInstalled", r.Err)
			}
			if !strings.Contains(r.Err.Error(), "run kubectl argo install") {
				t.Errorf("error %v does not say what to do", r.Err)
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	for _, args := range [][]string{{"get", "nope"}, {"sync", "nope"}, {"wait", "nope"}, {"history", "nope"},
		{"rollback", "nope", "1"}, {"refresh", "nope"}, {"delete", "nope"}} {
		t.Run(args[0], func(t *testing.T) {
			r := run(t, clitest.NewClients(t), args...)
			clitest.WantErr(t, r.Err, `application "nope" not found in namespace team: list the applications with kubectl argo app list`)
		})
	}
}

func TestCompletion(t *testing.T) {
	clients := clitest.NewClients(t, application("web"), application("worker"), application("api"),
		application("web", func(a *argov1.Application) { a.Namespace = "elsewhere" }))
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"get", "w"}, "web\tSynced, Healthy\nworker\tSynced, Healthy\n"},
		{[]string{"get", ""}, "api\tSynced, Healthy\nweb\tSynced, Healthy\nworker\tSynced, Healthy\n"},
		{[]string{"get", "web", ""}, ""},
		{[]string{"wait", "web", "w"}, "worker\tSynced, Healthy\n"},
		{[]string{"delete", "api", "web", ""}, "worker\tSynced, Healthy\n"},
		{[]string{"sync", "-n", "elsewhere", ""}, "web\tSynced, Healthy\n"},
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

func objects(apps []*argov1.Application) []client.Object {
	objs := make([]client.Object, len(apps))
	for i, a := range apps {
		objs[i] = a
	}
	return objs
}
