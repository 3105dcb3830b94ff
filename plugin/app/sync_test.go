package app

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/argolite/argolite/plugin/clitest"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// finished is a previous operation, done long ago.
func finishedBefore(a *argov1.Application) {
	a.Status.OperationState = &argov1.OperationState{
		Operation:  argov1.Operation{Sync: &argov1.SyncOperation{}, InitiatedBy: argov1.OperationInitiator{Username: "alice"}},
		Phase:      argov1.OperationSucceeded,
		Message:    "successfully synced",
		StartedAt:  metav1.Time{Time: now.Add(-time.Hour)},
		FinishedAt: &metav1.Time{Time: now.Add(-time.Hour + time.Second)},
		SyncResult: &argov1.SyncOperationResult{Revision: oldSHA},
	}
}

func TestSync(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantSync argov1.SyncOperation
	}{
		{name: "plain", args: []string{"web"}, wantSync: argov1.SyncOperation{}},
		{
			name: "every flag",
			args: []string{"web", "--prune", "--dry-run", "--revision", "feature/x", "--resource", "apps:Deployment:web",
				"--resource", ":Service:web-ns/web", "--sync-option", "Replace=true"},
			wantSync: argov1.SyncOperation{Revision: "feature/x", Prune: true, DryRun: true, SyncOptions: []string{"Replace=true"},
				Resources: []argov1.SyncOperationResource{{Group: "apps", Kind: "Deployment", Name: "web"},
					{Kind: "Service", Namespace: "web-ns", Name: "web"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sent *argov1.Operation
			agent := &fakeAgent{name: "web", steps: []func(*argov1.Application){
				func(*argov1.Application) {}, // busy: the plugin waits for the agent to start
				func(a *argov1.Application) { sent = a.Operation.DeepCopy(); startSync(a) },
				progressSync,
				finishSync(argov1.OperationSucceeded, "successfully synced (all tasks run)"),
			}}
			clients := clitest.NewClientsWith(t, agent.funcs(), application("web", finishedBefore))
			r := run(t, clients, append([]string{"sync"}, tt.args...)...)
			clitest.WantErr(t, r.Err, "")
			want := argov1.Operation{Sync: &tt.wantSync, InitiatedBy: argov1.OperationInitiator{Username: "alice"}}
			if sent == nil || !equality.Semantic.DeepEqual(*sent, want) {
				t.Errorf("operation sent:\n%+v\nwant:\n%+v", sent, want)
			}
			for _, s := range []string{
				"Waiting for the agent to start the sync of team/web\n",
				"Sync of team/web: wave 0: applying\n",
				"wave 0  ConfigMap/web/web-config  Synced: configmap/web-config configured\n",
				"Sync of team/web: wave 1: waiting for Deployment/web: Waiting for rollout to finish: 0 of 2 updated replicas are available\n",
			} {
				if !strings.Contains(r.Out, s) {
					t.Errorf("no progress line %q in:\n%s", s, r.Out)
				}
			}
			wantTable := `WAVE KIND NAMESPACE NAME RESULT MESSAGE
0 ConfigMap web web-config Synced configmap/web-config configured
1 apps/Deployment web web Synced deployment.apps/web configured
2 batch/Job web smoke-test PostSync hook Succeeded
Done: Sync of team/web succeeded at 53e28ff (2 synced, 1 hook) in 12s.`
			if tt.wantSync.DryRun {
				wantTable += " It was a dry run: nothing changed."
			}
			if got := clitest.Squeeze(r.Out); !strings.HasSuffix(got, wantTable) {
				t.Errorf("output:\n%s\nwant it to end with:\n%s", got, wantTable)
			}
			if app := get(t, clients, "web"); app.Operation != nil {
				t.Errorf("operation left: %+v", app.Operation)
			}
		})
	}
}

func TestSyncFails(t *testing.T) {
	for _, phase := range []argov1.OperationPhase{argov1.OperationFailed, argov1.OperationError} {
		t.Run(string(phase), func(t *testing.T) {
			agent := &fakeAgent{name: "web", steps: []func(*argov1.Application){
				startSync, finishSync(phase, "one or more objects failed to apply"),
			}}
			r := run(t, clitest.NewClientsWith(t, agent.funcs(), application("web")), "sync", "web")
			verb := map[argov1.OperationPhase]string{argov1.OperationFailed: "failed", argov1.OperationError: "ended in an error"}[phase]
			clitest.WantErr(t, r.Err, "sync of team/web "+verb+" at 53e28ff (1 synced, 1 failed, 1 hook) in 12s: one or more objects failed to apply: "+
				"see the failed resources above and kubectl argo app get web; fix the cause in Git or the cluster and sync again")
			if !strings.Contains(clitest.Squeeze(r.Out), "1 apps/Deployment web web SyncFailed deployment.apps/web configured") {
				t.Errorf("no results table:\n%s", r.Out)
			}
		})
	}
}

// TestSyncAsTheAgentDoes follows the agent's order: it clears the operation
// in one request, then records the operation normalised (revision resolved,
// source filled in) in the status.
func TestSyncAsTheAgentDoes(t *testing.T) {
	var taken *argov1.Operation
	agent := &fakeAgent{name: "web", steps: []func(*argov1.Application){
		func(a *argov1.Application) { taken, a.Operation = a.Operation, nil },
		func(a *argov1.Application) {
			op := taken.DeepCopy()
			op.Sync.Revision, op.Sync.Source = sha, a.Spec.Source.DeepCopy()
			a.Status.OperationState = &argov1.OperationState{Operation: *op, Phase: argov1.OperationRunning, Message: "starting",
				StartedAt: metav1.Time{Time: now.Add(-time.Minute)}} // the agent's clock is behind
		},
		finishSync(argov1.OperationSucceeded, "successfully synced"),
	}}
	r := run(t, clitest.NewClientsWith(t, agent.funcs(), application("web", finishedBefore)), "sync", "web")
	clitest.WantErr(t, r.Err, "")
	if !strings.Contains(r.Out, "Sync of team/web: starting\n") || !strings.Contains(r.Out, "Done: Sync of team/web succeeded") {
		t.Errorf("output:\n%s", r.Out)
	}
}

// TestSyncIgnoresOldResults checks that results the previous operation
// left in the state do not show as progress of this one.
func TestSyncIgnoresOldResults(t *testing.T) {
	app := application("web", finishedBefore, func(a *argov1.Application) {
		a.Status.OperationState.SyncResult.Resources = []argov1.ResourceResult{
			{Version: "v1", Kind: "ConfigMap", Namespace: "web", Name: "web-config", Status: "Synced", Message: "configmap/web-config configured", SyncPhase: "Sync"},
		}
	})
	keepResults := func(a *argov1.Application) {
		old := a.Status.OperationState.SyncResult
		startSync(a)
		a.Status.OperationState.SyncResult = old
	}
	agent := &fakeAgent{name: "web", steps: []func(*argov1.Application){keepResults, progressSync, finishSync(argov1.OperationSucceeded, "synced")}}
	r := run(t, clitest.NewClientsWith(t, agent.funcs(), app), "sync", "web")
	clitest.WantErr(t, r.Err, "")
	if strings.Contains(r.Out, "wave 0  ConfigMap/web/web-config") {
		t.Errorf("an old result shown as progress:\n%s", r.Out)
	}
}

// TestSyncWithAgentGoroutine runs the agent concurrently, as the real one
// runs: it acts when the operation is set and the plugin polls.
func TestSyncWithAgentGoroutine(t *testing.T) {
	patched := make(chan struct{}, 1)
	funcs := interceptor.Funcs{Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
		err := c.Patch(ctx, obj, patch, opts...)
		if err == nil {
			select {
			case patched <- struct{}{}:
			default:
			}
		}
		return err
	}}
	clients := clitest.NewClientsWith(t, funcs, application("web", finishedBefore))
	done := make(chan error, 1)
	go func() {
		<-patched
		ctx := context.Background()
		for _, step := range []func(*argov1.Application){startSync, progressSync, finishSync(argov1.OperationSucceeded, "synced")} {
			app := &argov1.Application{}
			if err := clients.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, app); err != nil {
				done <- err
				return
			}
			step(app)
			if err := clients.Client.Update(ctx, app); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	r := run(t, clients, "sync", "web")
	clitest.WantErr(t, r.Err, "")
	if err := <-done; err != nil {
		t.Fatalf("agent: %v", err)
	}
	if !strings.Contains(r.Out, "Done: Sync of team/web succeeded at 53e28ff") {
		t.Errorf("output:\n%s", r.Out)
	}
}

func TestSyncAsync(t *testing.T) {
	clients := clitest.NewClients(t, application("web"))
	r := run(t, clients, "sync", "web", "--async", "--prune")
	clitest.WantErr(t, r.Err, "")
	want := "Requested a sync of team/web (with prune).\nFollow it with kubectl argo app wait web --operation\n"
	if r.Out != want {
		t.Errorf("output:\n%s\nwant:\n%s", r.Out, want)
	}
	if op := get(t, clients, "web").Operation; op == nil || !op.Sync.Prune {
		t.Errorf("operation %+v, want a sync with prune", op)
	}
}

func TestSyncRefused(t *testing.T) {
	tests := []struct {
		name    string
		app     *argov1.Application
		wantErr string
	}{
		{
			name: "running",
			app: application("web", func(a *argov1.Application) {
				a.Status.OperationState = &argov1.OperationState{Phase: argov1.OperationRunning, StartedAt: metav1.Time{Time: now.Add(-2 * time.Minute)},
					Message: "wave 1: waiting for Deployment/web", Operation: argov1.Operation{InitiatedBy: argov1.OperationInitiator{Username: "bob"}}}
			}),
			wantErr: "another operation is running on application team/web: a sync by bob started 2m ago (wave 1: waiting for Deployment/web): " +
				"wait for it to finish with kubectl argo app wait web --operation, then try again",
		},
		{
			name: "requested",
			app: application("web", func(a *argov1.Application) {
				a.Operation = &argov1.Operation{Sync: &argov1.SyncOperation{}, InitiatedBy: argov1.OperationInitiator{Username: "bob"}}
			}),
			wantErr: "another operation is requested on application team/web by bob and the agent has not started it yet: " +
				"wait for it with kubectl argo app wait web --operation; if no agent picks it up, check the agent with kubectl argo status",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clients := clitest.NewClients(t, tt.app)
			r := run(t, clients, "sync", "web")
			clitest.WantErr(t, r.Err, tt.wantErr)
			if got := get(t, clients, "web"); !equality.Semantic.DeepEqual(got.Operation, tt.app.Operation) {
				t.Errorf("operation changed to %+v", got.Operation)
			}
		})
	}
}

// TestSyncConflict checks the request is made against the state it was
// checked on: a change in between reads the Application again.
func TestSyncConflict(t *testing.T) {
	var patches atomic.Int32
	funcs := interceptor.Funcs{Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
		if patches.Add(1) == 1 {
			// The agent started an automated sync between the read and the patch.
			app := &argov1.Application{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(obj), app); err != nil {
				return err
			}
			app.Status.OperationState = &argov1.OperationState{Phase: argov1.OperationRunning, StartedAt: metav1.Time{Time: now},
				Operation: argov1.Operation{InitiatedBy: argov1.OperationInitiator{Automated: true}}}
			if err := c.Update(ctx, app); err != nil {
				return err
			}
		}
		return c.Patch(ctx, obj, patch, opts...)
	}}
	clients := clitest.NewClientsWith(t, funcs, application("web"))
	r := run(t, clients, "sync", "web")
	clitest.WantErr(t, r.Err, "another operation is running on application team/web: a sync (automated)")
	if got := get(t, clients, "web"); got.Operation != nil {
		t.Errorf("operation set despite the conflict: %+v", got.Operation)
	}
}

// TestSyncTimeout gives each wait a timeout long enough for the first read
// on a loaded machine: the message must come from what that read saw.
func TestSyncTimeout(t *testing.T) {
	t.Run("no agent", func(t *testing.T) {
		// The previous operation must not pass for this one.
		r := run(t, clitest.NewClients(t, application("web", finishedBefore)), "sync", "web", "--timeout", "1s")
		clitest.WantErr(t, r.Err, "timed out after 1s waiting for the agent to start the sync of team/web: check that the agent runs with kubectl argo status")
	})
	t.Run("taken, not started", func(t *testing.T) {
		// The agent took the request but cannot act on the spec.
		agent := &fakeAgent{name: "web", steps: []func(*argov1.Application){func(a *argov1.Application) {
			a.Operation = nil
			a.Status.Conditions = []metav1.Condition{{Type: argov1.ConditionReady, Status: metav1.ConditionFalse, Reason: argov1.ReasonInvalidSpec,
				Message: "spec.syncPolicy.syncOptions: unknown option \"Foo\""}}
		}}}
		r := run(t, clitest.NewClientsWith(t, agent.funcs(), application("web", finishedBefore)), "sync", "web", "--timeout", "1s")
		clitest.WantErr(t, r.Err, `timed out after 1s waiting for the agent to start the sync of team/web (Ready=False (InvalidSpec): `+
			`spec.syncPolicy.syncOptions: unknown option "Foo"): check that the agent runs`)
	})
	t.Run("stuck wave", func(t *testing.T) {
		// One agent step, so that the first read after the request already
		// sees the stuck wave, however few reads fit in the timeout.
		agent := &fakeAgent{name: "web", steps: []func(*argov1.Application){func(a *argov1.Application) { startSync(a); progressSync(a) }}}
		r := run(t, clitest.NewClientsWith(t, agent.funcs(), application("web")), "sync", "web", "--timeout", "1s")
		clitest.WantErr(t, r.Err, "timed out after 1s waiting for the sync of team/web: wave 1: waiting for Deployment/web: Waiting for rollout to finish: "+
			"0 of 2 updated replicas are available: the sync goes on in the cluster: follow it with kubectl argo app wait web --operation")
	})
}

func TestSyncRejects(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"web", "--resource", "Deployment:web"}, `--resource "Deployment:web": expected three parts separated by ':'; use GROUP:KIND:NAME`},
		{[]string{"web", "--resource", "apps::web"}, "the kind is empty"},
		{[]string{"web", "--resource", "apps:Deployment:"}, "the name is empty"},
		{[]string{"web", "--resource", "apps:Deployment:/web"}, "the namespace before '/' is empty"},
		{[]string{"web", "--resource", "apps:Deployment:a/b/c"}, "the name has more than one '/'"},
		{[]string{"web", "--sync-option", "Replace"}, `--sync-option "Replace": use NAME=VALUE`},
		{[]string{"web", "--timeout", "0s"}, "--timeout 0s: must be positive"},
		{[]string{}, "accepts 1 arg(s), received 0"},
	} {
		r := run(t, clitest.NewClients(t, application("web")), append([]string{"sync"}, tt.args...)...)
		clitest.WantErr(t, r.Err, tt.wantErr)
	}
}

func TestSyncForbidden(t *testing.T) {
	funcs := interceptor.Funcs{Patch: func(context.Context, client.WithWatch, client.Object, client.Patch, ...client.PatchOption) error {
		return apierrors.NewForbidden(schema.GroupResource{Group: "argolite.dev", Resource: "applications"}, "web",
			errors.New(`User "alice" cannot patch resource "applications"`))
	}}
	r := run(t, clitest.NewClientsWith(t, funcs, application("web")), "sync", "web")
	clitest.WantErr(t, r.Err, `permission denied: applications.argolite.dev "web" is forbidden: User "alice" cannot patch resource "applications": `+
		"ask a cluster administrator for access to applications.argolite.dev in namespace team")
}

func TestOurs(t *testing.T) {
	sent := argov1.Operation{Sync: &argov1.SyncOperation{Prune: true}, InitiatedBy: argov1.OperationInitiator{Username: "alice"}}
	prev := &argov1.OperationState{Operation: sent, Phase: argov1.OperationSucceeded,
		StartedAt: metav1.Time{Time: now.Truncate(time.Second)}, FinishedAt: &metav1.Time{Time: now.Truncate(time.Second)}}
	sentAt := now.Add(300 * time.Millisecond)
	state := func(mutate func(*argov1.OperationState)) *argov1.OperationState {
		s := prev.DeepCopy()
		mutate(s)
		return s
	}
	tests := []struct {
		name string
		prev *argov1.OperationState
		st   *argov1.OperationState
		// waiting is true while the request is still in the operation field.
		waiting bool
		want    bool
	}{
		{name: "no state yet", want: false},
		{name: "the previous state, same operation, same second", prev: prev, st: prev.DeepCopy(), want: false},
		{name: "same operation started in the same second", prev: prev,
			st: state(func(s *argov1.OperationState) { s.Phase, s.FinishedAt = argov1.OperationRunning, nil }), want: true},
		{name: "the previous state rewritten while the request waits", prev: prev, waiting: true,
			st: state(func(s *argov1.OperationState) { s.Message = "successfully synced (all tasks run)" }), want: false},
		{name: "written before the request is taken, started later", prev: prev, waiting: true,
			st: state(func(s *argov1.OperationState) {
				s.Phase, s.FinishedAt, s.StartedAt = argov1.OperationRunning, nil, metav1.Time{Time: now.Add(time.Second)}
			}), want: true},
		{name: "first operation ever", st: state(func(*argov1.OperationState) {}), want: true},
		{name: "normalised operation of our user, taken", prev: prev, st: state(func(s *argov1.OperationState) {
			s.Operation.Sync.Revision, s.Operation.Sync.Source = sha, &argov1.ApplicationSource{RepoURL: repo}
			s.Phase, s.FinishedAt = argov1.OperationRunning, nil
		}), want: true},
		{name: "normalised operation, started after the request", prev: prev, st: state(func(s *argov1.OperationState) {
			s.Operation.InitiatedBy.Username = "alice@example.com"
			s.Operation.Sync.Revision = sha
			s.StartedAt = metav1.Time{Time: now.Add(2 * time.Second)}
		}), want: true},
		{name: "automated sync started before the request", prev: prev, st: state(func(s *argov1.OperationState) {
			s.Operation = argov1.Operation{Sync: &argov1.SyncOperation{}, InitiatedBy: argov1.OperationInitiator{Automated: true}}
			s.StartedAt = metav1.Time{Time: now.Add(-time.Minute)}
		}), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &request{sent: sent, sentAt: sentAt, prev: tt.prev}
			app := application("web", func(a *argov1.Application) { a.Status.OperationState = tt.st })
			if tt.waiting {
				app.Operation = sent.DeepCopy()
			}
			if got := r.ours(app); got != tt.want {
				t.Errorf("ours = %v, want %v", got, tt.want)
			}
		})
	}
}
