package app

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/argolite/argolite/plugin/clitest"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// degraded is an Application whose last sync failed, with a hook and a
// Git error.
func degraded() *argov1.Application {
	return application("web", func(a *argov1.Application) {
		a.Spec.SyncPolicy = &argov1.SyncPolicy{Automated: &argov1.SyncPolicyAutomated{Prune: true, SelfHeal: true},
			SyncOptions: []string{"CreateNamespace=true"}}
		a.Status.Sync.Status = argov1.SyncStatusOutOfSync
		a.Status.Health = argov1.HealthStatus{Status: argov1.HealthDegraded, Message: "Deployment web: 0 of 2 replicas available"}
		a.Status.Conditions = []metav1.Condition{
			{Type: argov1.ConditionReady, Status: metav1.ConditionFalse, Reason: argov1.ReasonAuthFailed, Message: "fetching https://git.example.com/web.git: authentication required"},
			{Type: argov1.ConditionReconciling, Status: metav1.ConditionTrue, Reason: argov1.ReasonProgressingWithRetry},
		}
		a.Status.Resources = []argov1.ResourceStatus{
			{Version: "v1", Kind: "ConfigMap", Namespace: "web", Name: "web-config", Status: argov1.SyncStatusSynced,
				Health: &argov1.HealthStatus{Status: argov1.HealthHealthy}},
			{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "web", Name: "web", Status: argov1.SyncStatusOutOfSync,
				Health: &argov1.HealthStatus{Status: argov1.HealthDegraded, Message: "0 of 2 replicas available"}},
			{Version: "v1", Kind: "Namespace", Name: "web", Status: argov1.SyncStatusSynced},
			{Version: "v1", Kind: "Service", Namespace: "web", Name: "old", Status: argov1.SyncStatusOutOfSync, RequiresPruning: true},
		}
		a.Status.OperationState = &argov1.OperationState{
			Operation:  argov1.Operation{Sync: &argov1.SyncOperation{}, InitiatedBy: argov1.OperationInitiator{Automated: true}},
			Phase:      argov1.OperationFailed,
			Message:    "one or more objects failed to apply",
			StartedAt:  metav1.Time{Time: now.Add(-5 * time.Minute)},
			FinishedAt: &metav1.Time{Time: now.Add(-5*time.Minute + 42*time.Second)},
			SyncResult: &argov1.SyncOperationResult{Revision: sha, Resources: []argov1.ResourceResult{
				{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "web", Name: "web", Status: "SyncFailed",
					Message: `Deployment.apps "web" is invalid: spec.template.spec.containers[0].image: Required value`},
				{Group: "batch", Version: "v1", Kind: "Job", Namespace: "web", Name: "migrate", Status: "Synced",
					HookPhase: "Succeeded", SyncPhase: "PreSync", Message: "job completed"},
			}},
		}
	})
}

func TestGet(t *testing.T) {
	r := run(t, clitest.NewClients(t, degraded()), "get", "web")
	want := `Name: web
Namespace: team
Project: default
Repo: https://git.example.com/web.git
Target: main
Path: deploy
Destination: namespace web in this cluster
Sync policy: automated (prune, self-heal); options CreateNamespace=true
Sync status: OutOfSync to main (53e28ff)
Health: Degraded: Deployment web: 0 of 2 replicas available
Conditions: Ready=False (AuthenticationFailed): fetching https://git.example.com/web.git: authentication required
Reconciling=True (ProgressingWithRetry)

KIND NAMESPACE NAME SYNC HEALTH HOOK MESSAGE
ConfigMap web web-config Synced Healthy -
apps/Deployment web web OutOfSync Degraded - Deployment.apps "web" is invalid: spec.template.spec.containers[0].image: Required value
Namespace - web Synced - -
Service web old OutOfSync - - requires pruning (sync with --prune)
batch/Job web migrate Synced - PreSync Succeeded job completed

Last operation: Sync Failed (automated)
Started: 2026-03-01 11:55:00 UTC (5m ago)
Duration: 42s
Revision: 53e28ff
Message: one or more objects failed to apply`
	clitest.WantOutput(t, r, "", want)
}

func TestGetNew(t *testing.T) {
	app := application("web", func(a *argov1.Application) { a.Status = argov1.ApplicationStatus{} })
	r := run(t, clitest.NewClients(t, app), "get", "web")
	clitest.WantErr(t, r.Err, "")
	for _, s := range []string{"Sync policy: manual (sync with kubectl argo app sync)", "Sync status: Unknown to main\n",
		"Health: Unknown\n", "No resources yet"} {
		if !strings.Contains(clitest.Squeeze(r.Out), s) {
			t.Errorf("output lacks %q:\n%s", s, r.Out)
		}
	}
	if strings.Contains(r.Out, "Last operation") {
		t.Errorf("a last operation before any:\n%s", r.Out)
	}
}

func TestGetYAML(t *testing.T) {
	r := run(t, clitest.NewClients(t, degraded()), "get", "web", "-o", "yaml")
	clitest.WantErr(t, r.Err, "")
	var got argov1.Application
	if err := yaml.UnmarshalStrict([]byte(r.Out), &got); err != nil {
		t.Fatalf("-o yaml is not an Application: %v\n%s", err, r.Out)
	}
	if got.APIVersion != "argolite.dev/v1alpha1" || got.Kind != "Application" || got.Status.OperationState.Phase != argov1.OperationFailed {
		t.Errorf("-o yaml:\n%s", r.Out)
	}
}

func TestGetRefresh(t *testing.T) {
	var seen string
	agent := &fakeAgent{name: "web", eager: true, steps: []func(*argov1.Application){
		func(a *argov1.Application) { seen = a.Annotations[RefreshAnnotation] },
		func(a *argov1.Application) {
			delete(a.Annotations, RefreshAnnotation)
			a.Status.Sync.Status = argov1.SyncStatusOutOfSync
		},
	}}
	r := run(t, clitest.NewClientsWith(t, agent.funcs(), application("web")), "get", "web", "--hard-refresh")
	clitest.WantErr(t, r.Err, "")
	if seen != RefreshHard {
		t.Errorf("the agent saw refresh %q, want %q", seen, RefreshHard)
	}
	if !strings.Contains(clitest.Squeeze(r.Out), "Sync status: OutOfSync") {
		t.Errorf("get did not show the state after the refresh:\n%s", r.Out)
	}
	if !strings.Contains(r.ErrOut, "Waiting for the agent to refresh team/web (hard)") {
		t.Errorf("no progress on stderr: %q", r.ErrOut)
	}
}
