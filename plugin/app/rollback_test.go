package app

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argolite/argolite/plugin/clitest"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// withHistory is an automated Application with three history entries.
func withHistory(a *argov1.Application) {
	a.Spec.SyncPolicy = &argov1.SyncPolicy{Automated: &argov1.SyncPolicyAutomated{Prune: true}, SyncOptions: []string{"CreateNamespace=true"}}
	for i, rev := range []string{oldSHA, "1111111111111111111111111111111111111111", sha} {
		a.Status.History = append(a.Status.History, argov1.RevisionHistory{
			ID: int64(i + 3), Revision: rev, DeployedAt: metav1.Time{Time: now.Add(time.Duration(i-3) * time.Hour)},
			Source: &argov1.ApplicationSource{RepoURL: "https://git.example.com/web.git", Path: "deploy", TargetRevision: "main"},
		})
	}
	a.Status.History[0].Source.Path = "old/deploy"
}

func TestRollback(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		app       *argov1.Application
		wantRev   string
		wantPath  string
		wantPrune bool
		wantNote  bool
	}{
		{name: "to an ID, automated sync turned off", args: []string{"web", "3", "--prune"}, app: application("web", withHistory),
			wantRev: oldSHA, wantPath: "old/deploy", wantPrune: true, wantNote: true},
		{name: "to the previous entry", args: []string{"web"}, app: application("web", withHistory),
			wantRev: "1111111111111111111111111111111111111111", wantPath: "deploy", wantNote: true},
		{name: "manual sync stays manual", args: []string{"web", "4"},
			app:     application("web", withHistory, func(a *argov1.Application) { a.Spec.SyncPolicy.Automated = nil }),
			wantRev: "1111111111111111111111111111111111111111", wantPath: "deploy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sent *argov1.Operation
			var policy *argov1.SyncPolicy
			agent := &fakeAgent{name: "web", steps: []func(*argov1.Application){
				func(a *argov1.Application) {
					sent, policy = a.Operation.DeepCopy(), a.Spec.SyncPolicy.DeepCopy()
					startSync(a)
				},
				finishSync(argov1.OperationSucceeded, "successfully synced"),
			}}
			clients := clitest.NewClientsWith(t, agent.funcs(), tt.app)
			r := run(t, clients, append([]string{"rollback"}, tt.args...)...)
			clitest.WantErr(t, r.Err, "")
			if sent == nil || sent.Sync.Revision != tt.wantRev || sent.Sync.Source == nil || sent.Sync.Source.Path != tt.wantPath ||
				sent.Sync.Prune != tt.wantPrune || sent.InitiatedBy.Username != "alice" {
				t.Errorf("operation sent: %+v (sync %+v)", sent, sent.Sync)
			}
			if policy == nil || policy.Automated != nil || !equality.Semantic.DeepEqual(policy.SyncOptions, []string{"CreateNamespace=true"}) {
				t.Errorf("sync policy when the agent started: %+v, want automated off and the options kept", policy)
			}
			note := "Note: automated sync is now off for team/web: turn it back on by editing spec.syncPolicy.automated (kubectl edit application web -n team)\n"
			if strings.Contains(r.Out, note) != tt.wantNote {
				t.Errorf("note %q shown: %v, want %v:\n%s", note, !tt.wantNote, tt.wantNote, r.Out)
			}
			if !strings.Contains(r.Out, "Requested a rollback of team/web to history") ||
				!strings.Contains(r.Out, "Done: Rollback of team/web succeeded at 53e28ff") {
				t.Errorf("output:\n%s", r.Out)
			}
		})
	}
}

func TestRollbackRefused(t *testing.T) {
	tests := []struct {
		name    string
		app     *argov1.Application
		args    []string
		wantErr string
	}{
		{"unknown ID", application("web", withHistory), []string{"web", "9"},
			"application team/web has no history entry 9: its entries are 3, 4, 5: see the history with kubectl argo app history web"},
		{"not a number", application("web", withHistory), []string{"web", "latest"}, `ID "latest": a history ID is a number`},
		{"no history", application("web"), []string{"web", "1"},
			"application team/web has no history: it has not synced successfully yet: sync it with kubectl argo app sync web"},
		{"nothing before", application("web", func(a *argov1.Application) {
			withHistory(a)
			a.Status.History = a.Status.History[2:]
		}), []string{"web"}, "application team/web has one history entry (5), the deployed one: there is nothing before it to roll back to"},
		{"busy", application("web", withHistory, func(a *argov1.Application) {
			a.Status.OperationState = &argov1.OperationState{Phase: argov1.OperationRunning}
		}), []string{"web", "3"}, "another operation is running on application team/web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clients := clitest.NewClients(t, tt.app)
			r := run(t, clients, append([]string{"rollback"}, tt.args...)...)
			clitest.WantErr(t, r.Err, tt.wantErr)
			if got := get(t, clients, "web"); got.Operation != nil || !equality.Semantic.DeepEqual(got.Spec, tt.app.Spec) {
				t.Errorf("the Application changed: operation %+v, spec %+v", got.Operation, got.Spec)
			}
		})
	}
}

func TestHistory(t *testing.T) {
	clients := clitest.NewClients(t, application("web", withHistory), application("new"))
	r := run(t, clients, "history", "web")
	want := `ID DATE REVISION REPO PATH
3 2026-03-01 09:00:00 UTC 0c4bd1e1b1c9a7d5e2f30a6b8c1d2e3f4a5b6c7d https://git.example.com/web.git old/deploy
4 2026-03-01 10:00:00 UTC 1111111111111111111111111111111111111111 https://git.example.com/web.git deploy
5 2026-03-01 11:00:00 UTC 53e28ff20cc530b9ada2173fbbd64d48338583ba https://git.example.com/web.git deploy`
	clitest.WantOutput(t, r, "", want)

	r = run(t, clients, "history", "web", "-o", "json")
	clitest.WantErr(t, r.Err, "")
	var h History
	if err := json.Unmarshal([]byte(r.Out), &h); err != nil {
		t.Fatal(err)
	}
	if h.Kind != "History" || h.APIVersion != "cli.argolite.dev/v1alpha1" || h.Application != "web" || len(h.Items) != 3 || h.Items[2].ID != 5 {
		t.Errorf("-o json: %s", r.Out)
	}

	r = run(t, clients, "history", "new")
	clitest.WantErr(t, r.Err, "")
	if r.Out != "" || r.ErrOut != "No history: application team/new has not synced successfully yet.\n" {
		t.Errorf("stdout %q, stderr %q", r.Out, r.ErrOut)
	}
}

func TestRollbackCompletesIDs(t *testing.T) {
	got := clitest.Completions(t, run(t, clitest.NewClients(t, application("web", withHistory)), "__complete", "rollback", "web", ""))
	if !strings.HasPrefix(got, "3\t0c4bd1e deployed 2026-03-01 09:00\n4\t1111111 deployed") {
		t.Errorf("completions:\n%s", got)
	}
}
