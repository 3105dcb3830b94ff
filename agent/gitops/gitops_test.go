package gitops

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/event"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

func obj(kind, name string, annotations map[string]string) *unstructured.Unstructured {
	o := &unstructured.Unstructured{}
	o.SetAPIVersion("v1")
	o.SetKind(kind)
	o.SetName(name)
	o.SetAnnotations(annotations)
	return o
}

func wave(n string) map[string]string { return map[string]string{"argocd.argoproj.io/sync-wave": n} }

func TestPlanOrdersPhasesWavesAndPrune(t *testing.T) {
	d := &desired{hooks: []*unstructured.Unstructured{
		obj("Job", "post", map[string]string{"argocd.argoproj.io/hook": "PostSync"}),
		obj("Job", "pre", map[string]string{"argocd.argoproj.io/hook": "PreSync"}),
		obj("Job", "sync-hook", map[string]string{"argocd.argoproj.io/hook": "Sync", "argolite.dev/sync-wave": "2"}),
		obj("Job", "fail", map[string]string{"argocd.argoproj.io/hook": "SyncFail"}),
	}}
	resources := []*unstructured.Unstructured{
		obj("ConfigMap", "late", wave("5")),
		obj("ConfigMap", "early", wave("-1")),
		obj("ConfigMap", "default", nil),
	}
	cases := []struct {
		name      string
		hooks     bool
		pruneLast bool
		want      []string
	}{
		{"hooks and prune before PostSync", true, false, []string{"PreSync wave 0", "Sync wave -1", "Sync wave 0", "Sync wave 2", "Sync wave 5", "prune", "PostSync wave 0"}},
		{"PruneLast", true, true, []string{"PreSync wave 0", "Sync wave -1", "Sync wave 0", "Sync wave 2", "Sync wave 5", "PostSync wave 0", "prune"}},
		{"no hooks (dry run, partial sync)", false, false, []string{"Sync wave -1", "Sync wave 0", "Sync wave 5", "prune"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, s := range plan(d, resources, tc.hooks, tc.pruneLast) {
				got = append(got, s.String())
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("plan = %v, want %v", got, tc.want)
			}
		})
	}
	if hooks := syncFailHooks(d); len(hooks) != 1 || hooks[0].GetName() != "fail" {
		t.Errorf("syncFailHooks = %v", hooks)
	}
}

func TestHookNameIsFixedPerOperation(t *testing.T) {
	st := &argov1.OperationState{StartedAt: metav1.NewTime(time.Unix(1700000000, 5)), SyncResult: &argov1.SyncOperationResult{Revision: "abc"}}
	h := obj("Job", "", nil)
	h.SetGenerateName("migrate-")
	// The status round trip keeps seconds only: the name must survive it.
	roundTrip := st.DeepCopy()
	roundTrip.StartedAt = metav1.NewTime(time.Unix(1700000000, 0))
	a, b := hookName(st, h), hookName(roundTrip, h)
	if a != b || !strings.HasPrefix(a, "migrate-") || len(a) != len("migrate-")+5 {
		t.Errorf("hookName = %q and %q, want one stable migrate-xxxxx name", a, b)
	}
	other := st.DeepCopy()
	other.StartedAt = metav1.NewTime(time.Unix(1700000001, 0))
	if hookName(other, h) == a {
		t.Error("two operations give a generateName hook the same name")
	}
	if got := hookName(st, obj("Job", "named", nil)); got != "named" {
		t.Errorf("a named hook is renamed to %q", got)
	}
}

func TestBackoff(t *testing.T) {
	two := int64(3)
	cases := []struct {
		b    *argov1.Backoff
		n    int64
		want time.Duration
	}{
		{nil, 0, 5 * time.Second},
		{nil, 2, 20 * time.Second},
		{nil, 10, 3 * time.Minute},
		{&argov1.Backoff{Duration: "2", Factor: &two, MaxDuration: "1m"}, 2, 18 * time.Second},
		{&argov1.Backoff{Duration: "10s", MaxDuration: "15s"}, 3, 15 * time.Second},
	}
	for _, tc := range cases {
		if got := backoff(tc.b, tc.n); got != tc.want {
			t.Errorf("backoff(%+v, %d) = %s, want %s", tc.b, tc.n, got, tc.want)
		}
	}
}

func TestValidateNamesTheFieldAndTheFix(t *testing.T) {
	src := &argov1.ApplicationSource{RepoURL: "https://git.example.com/r.git"}
	cases := []struct {
		name string
		spec argov1.ApplicationSpec
		want string
	}{
		{"other cluster", argov1.ApplicationSpec{Source: src, Destination: argov1.ApplicationDestination{Server: "https://10.0.0.1:6443"}}, "spec.destination.server"},
		{"other cluster by name", argov1.ApplicationSpec{Source: src, Destination: argov1.ApplicationDestination{Name: "prod"}}, "spec.destination.name"},
		{"both sources", argov1.ApplicationSpec{Source: src, Sources: []argov1.ApplicationSource{*src}}, "not both"},
		{"no source", argov1.ApplicationSpec{}, "spec.source is missing"},
		{"unknown option", argov1.ApplicationSpec{Source: src, SyncPolicy: &argov1.SyncPolicy{SyncOptions: []string{"CreateNamspace=true"}}}, `unknown option "CreateNamspace"`},
		{"bad backoff", argov1.ApplicationSpec{Source: src, SyncPolicy: &argov1.SyncPolicy{Retry: &argov1.RetryStrategy{Backoff: &argov1.Backoff{Duration: "soon"}}}}, "retry.backoff.duration"},
		{"bad jq", argov1.ApplicationSpec{Source: src, IgnoreDifferences: []argov1.ResourceIgnoreDifferences{{Kind: "Deployment", JQPathExpressions: []string{".spec["}}}}, "jqPathExpressions"},
		{"in-cluster is fine", argov1.ApplicationSpec{Source: src, Destination: argov1.ApplicationDestination{Server: argov1.InClusterServer + "/"}}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app := &argov1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "app"}, Spec: tc.spec}
			err := validate(app)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestAutoSyncDecisions(t *testing.T) {
	outOfSync := &comparison{sync: argov1.SyncStatusOutOfSync, drifted: []string{"ConfigMap/ns/a"}}
	onlyPrune := &comparison{sync: argov1.SyncStatusOutOfSync, extraneous: []*unstructured.Unstructured{obj("ConfigMap", "old", nil)}}
	d := &desired{revision: "new", objects: []*unstructured.Unstructured{obj("ConfigMap", "a", nil)},
		source: &argov1.ApplicationSource{RepoURL: "https://example.test/repo.git", Path: "now"}}
	synced := func(rev string, phase argov1.OperationPhase) *argov1.OperationState {
		return &argov1.OperationState{Phase: phase, Operation: argov1.Operation{InitiatedBy: argov1.OperationInitiator{Automated: true}},
			SyncResult: &argov1.SyncOperationResult{Revision: rev}}
	}
	manual := func(st *argov1.OperationState, edit func(*argov1.SyncOperation)) *argov1.OperationState {
		st.Operation.InitiatedBy = argov1.OperationInitiator{Username: "someone"}
		st.Operation.Sync = &argov1.SyncOperation{}
		if edit != nil {
			edit(st.Operation.Sync)
		}
		return st
	}
	cases := []struct {
		name     string
		auto     *argov1.SyncPolicyAutomated
		last     *argov1.OperationState
		cmp      *comparison
		wantSync bool
	}{
		{"manual policy", nil, nil, outOfSync, false},
		{"new revision", &argov1.SyncPolicyAutomated{}, synced("old", argov1.OperationSucceeded), outOfSync, true},
		{"drift without selfHeal", &argov1.SyncPolicyAutomated{}, synced("new", argov1.OperationSucceeded), outOfSync, false},
		{"drift with selfHeal", &argov1.SyncPolicyAutomated{SelfHeal: true}, synced("new", argov1.OperationSucceeded), outOfSync, true},
		{"failed revision is not repeated", &argov1.SyncPolicyAutomated{SelfHeal: true}, synced("new", argov1.OperationFailed), outOfSync, false},
		{"only pruning left, prune off", &argov1.SyncPolicyAutomated{SelfHeal: true}, synced("old", argov1.OperationSucceeded), onlyPrune, false},
		{"only pruning left, prune on", &argov1.SyncPolicyAutomated{Prune: true}, synced("old", argov1.OperationSucceeded), onlyPrune, true},
		{"drift after a manual sync, no selfHeal", &argov1.SyncPolicyAutomated{}, manual(synced("new", argov1.OperationSucceeded), nil), outOfSync, false},
		{"failed manual sync is not repeated", &argov1.SyncPolicyAutomated{SelfHeal: true}, manual(synced("new", argov1.OperationFailed), nil), outOfSync, false},
		{"after a manual dry run", &argov1.SyncPolicyAutomated{}, manual(synced("new", argov1.OperationSucceeded), func(s *argov1.SyncOperation) { s.DryRun = true }), outOfSync, true},
		{"after a partial manual sync", &argov1.SyncPolicyAutomated{}, manual(synced("new", argov1.OperationSucceeded), func(s *argov1.SyncOperation) {
			s.Resources = []argov1.SyncOperationResource{{Kind: "ConfigMap", Name: "a"}}
		}), outOfSync, true},
		{"same revision, another source", &argov1.SyncPolicyAutomated{}, func() *argov1.OperationState {
			st := synced("new", argov1.OperationSucceeded)
			st.SyncResult.Source = &argov1.ApplicationSource{RepoURL: "https://example.test/repo.git", Path: "before"}
			return st
		}(), outOfSync, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app := &argov1.Application{}
			if tc.auto != nil {
				app.Spec.SyncPolicy = &argov1.SyncPolicy{Automated: tc.auto}
			}
			app.Status.OperationState = tc.last
			op := (&Reconciler{}).autoSync(app, d, tc.cmp)
			if (op != nil) != tc.wantSync {
				t.Fatalf("autoSync started a sync: %v, want %v", op != nil, tc.wantSync)
			}
			if op != nil && (!op.InitiatedBy.Automated || op.Sync.Revision != "new" || op.Sync.Prune != tc.auto.Prune) {
				t.Errorf("automated operation = %+v", op)
			}
		})
	}
	empty := &desired{revision: "new"}
	app := &argov1.Application{Spec: argov1.ApplicationSpec{SyncPolicy: &argov1.SyncPolicy{Automated: &argov1.SyncPolicyAutomated{Prune: true}}}}
	if op := (&Reconciler{}).autoSync(app, empty, onlyPrune); op != nil {
		t.Error("an empty render pruned everything without allowEmpty")
	}
	if len(app.Status.Conditions) != 1 || app.Status.Conditions[0].Reason != "EmptyRender" {
		t.Errorf("no EmptyRender condition: %+v", app.Status.Conditions)
	}
}

func TestSyncOptions(t *testing.T) {
	o := parseSyncOptions([]string{"CreateNamespace=true", "PruneLast=true,Replace=false"}, []string{"Replace=true"})
	if !o.on("CreateNamespace") || !o.on("PruneLast") || !o.on("Replace") || o.on("ApplyOutOfSyncOnly") {
		t.Errorf("parsed options %v", o)
	}
	if !objectOptions(obj("ConfigMap", "x", map[string]string{"argocd.argoproj.io/sync-options": "Prune=false"})).off("Prune") {
		t.Error("Prune=false on the object is not read")
	}
}

func TestAnnotationsChangedSkipsTheHandledRefresh(t *testing.T) {
	refresh := argov1.Prefix + argov1.AnnotationRefresh
	argoRefresh := argov1.ArgoCDPrefix + argov1.AnnotationRefresh
	app := func(ann map[string]string) *argov1.Application {
		return &argov1.Application{ObjectMeta: metav1.ObjectMeta{Annotations: ann}}
	}
	for _, tc := range []struct {
		name     string
		old, new map[string]string
		want     bool
	}{
		{"refresh requested", nil, map[string]string{refresh: "normal"}, true},
		{"Argo CD's refresh requested", map[string]string{"a": "1"}, map[string]string{"a": "1", argoRefresh: "hard"}, true},
		{"normal refresh made hard", map[string]string{refresh: "normal"}, map[string]string{refresh: "hard"}, true},
		{"handled refresh removed", map[string]string{"a": "1", refresh: "normal"}, map[string]string{"a": "1"}, false},
		{"another annotation changed", map[string]string{"a": "1"}, map[string]string{"a": "2"}, true},
		{"no change", map[string]string{"a": "1"}, map[string]string{"a": "1"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := annotationsChanged().Update(event.UpdateEvent{ObjectOld: app(tc.old), ObjectNew: app(tc.new)})
			if got != tc.want {
				t.Errorf("annotationsChanged = %v, want %v", got, tc.want)
			}
		})
	}
}
