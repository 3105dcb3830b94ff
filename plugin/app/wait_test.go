package app

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argolite/argolite/plugin/clitest"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

func outOfSync(a *argov1.Application) {
	a.Status.Sync.Status = argov1.SyncStatusOutOfSync
	a.Status.Health = argov1.HealthStatus{Status: argov1.HealthProgressing, Message: "Deployment web: 1 of 2 replicas available"}
}

func TestWait(t *testing.T) {
	synced := func(a *argov1.Application) { a.Status.Sync.Status = argov1.SyncStatusSynced }
	healthy := func(a *argov1.Application) { a.Status.Health = argov1.HealthStatus{Status: argov1.HealthHealthy} }
	tests := []struct {
		name    string
		args    []string
		app     *argov1.Application
		steps   []func(*argov1.Application)
		wantOut []string
		wantErr string
	}{
		{
			name:  "sync and health by default",
			args:  []string{"web"},
			app:   application("web", outOfSync),
			steps: []func(*argov1.Application){func(*argov1.Application) {}, synced, healthy},
			wantOut: []string{
				"Waiting for web: sync OutOfSync, health Progressing (Deployment web: 1 of 2 replicas available)\n",
				"Waiting for web: health Progressing (Deployment web: 1 of 2 replicas available)\n",
				"team/web: Synced, Healthy at 53e28ff\n",
			},
		},
		{
			name:    "sync only",
			args:    []string{"web", "--sync"},
			app:     application("web", outOfSync),
			steps:   []func(*argov1.Application){synced},
			wantOut: []string{"team/web: Synced, Progressing at 53e28ff (Deployment web: 1 of 2 replicas available)\n"},
		},
		{
			name: "a spec the agent has not seen",
			args: []string{"web"},
			app:  application("web", func(a *argov1.Application) { a.Generation = 2 }),
			steps: []func(*argov1.Application){func(*argov1.Application) {}, func(a *argov1.Application) {
				a.Status.ObservedGeneration = 2
			}},
			wantOut: []string{"Waiting for web: the agent has not seen the latest spec yet (generation 2, status of 1)\n", "team/web: Synced, Healthy"},
		},
		{
			name: "operation",
			args: []string{"web", "--operation"},
			app: application("web", outOfSync, func(a *argov1.Application) {
				a.Operation = &argov1.Operation{Sync: &argov1.SyncOperation{}, InitiatedBy: argov1.OperationInitiator{Username: "bob"}}
			}),
			steps: []func(*argov1.Application){func(*argov1.Application) {}, startSync, finishSync(argov1.OperationFailed, "one or more objects failed to apply")},
			wantOut: []string{
				"Waiting for web: a sync is requested and the agent has not started it\n",
				"Waiting for web: a sync is running (wave 0: applying)\n",
				"team/web: OutOfSync, Progressing at 53e28ff (Deployment web: 1 of 2 replicas available)\n  last sync Failed by bob: one or more objects failed to apply\n",
			},
		},
		{
			name:    "several",
			args:    []string{"web", "api"},
			app:     application("web", outOfSync),
			steps:   []func(*argov1.Application){func(*argov1.Application) {}, synced, healthy},
			wantOut: []string{"Waiting for web: sync OutOfSync", "team/web: Synced, Healthy at 53e28ff\nteam/api: Synced, Healthy at 53e28ff\n"},
		},
		{
			name: "timeout names the state and why it is not Ready",
			args: []string{"web", "--timeout", "20ms"},
			app: application("web", outOfSync, func(a *argov1.Application) {
				a.Status.Conditions = []metav1.Condition{{Type: argov1.ConditionReady, Status: metav1.ConditionFalse, Reason: argov1.ReasonAuthFailed,
					Message: "fetching https://git.example.com/web.git: authentication required"}}
			}),
			wantErr: "timed out after 20ms waiting for team/web to be Synced and Healthy: it is OutOfSync, Progressing at 53e28ff " +
				"(Deployment web: 1 of 2 replicas available); Ready=False (AuthenticationFailed): fetching https://git.example.com/web.git: authentication required: " +
				"see why with kubectl argo app get web, or wait longer with --timeout",
		},
		{
			name:    "timeout with several",
			args:    []string{"web", "api", "--health", "--timeout", "20ms"},
			app:     application("web", outOfSync),
			wantErr: "timed out after 20ms waiting for 2 applications to be Healthy: web (OutOfSync, Progressing at 53e28ff (Deployment web: 1 of 2 replicas available))",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			agent := &fakeAgent{name: "web", eager: true, steps: tt.steps}
			r := run(t, clitest.NewClientsWith(t, agent.funcs(), tt.app, application("api")), append([]string{"wait"}, tt.args...)...)
			clitest.WantErr(t, r.Err, tt.wantErr)
			for _, s := range tt.wantOut {
				if !strings.Contains(r.Out, s) {
					t.Errorf("output lacks %q:\n%s", s, r.Out)
				}
			}
		})
	}
}

func TestWaitTimeoutIsPositive(t *testing.T) {
	r := run(t, clitest.NewClients(t, application("web")), "wait", "web", "--timeout", "-1s")
	clitest.WantErr(t, r.Err, "--timeout -1s: must be positive")
}
