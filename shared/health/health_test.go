package health

import (
	"testing"

	"github.com/argolite/argolite/shared/api/v1alpha1"
)

func TestIsWorse(t *testing.T) {
	order := []v1alpha1.HealthStatusCode{
		v1alpha1.HealthHealthy,
		v1alpha1.HealthSuspended,
		v1alpha1.HealthProgressing,
		v1alpha1.HealthMissing,
		v1alpha1.HealthDegraded,
		v1alpha1.HealthUnknown,
	}
	for i, a := range order {
		for j, b := range order {
			if got, want := IsWorse(a, b), i > j; got != want {
				t.Errorf("IsWorse(%s, %s) = %v, want %v", a, b, got, want)
			}
		}
	}
	// gitops-engine ranks codes it does not know as Healthy.
	if IsWorse("", v1alpha1.HealthHealthy) || IsWorse("Bogus", v1alpha1.HealthHealthy) {
		t.Error("an unknown code ranks worse than Healthy")
	}
	if !IsWorse(v1alpha1.HealthSuspended, "Bogus") {
		t.Error("Suspended is not worse than an unknown code (ranked Healthy)")
	}
}

func TestAggregate(t *testing.T) {
	res := func(kind, name string, code v1alpha1.HealthStatusCode, msg string) ResourceHealth {
		return ResourceHealth{Kind: kind, Name: name, Status: Status{Code: code, Message: msg}}
	}
	cases := []struct {
		name string
		in   []ResourceHealth
		want Status
	}{
		{name: "nothing", in: nil, want: Status{Code: v1alpha1.HealthHealthy}},
		{
			name: "all healthy",
			in: []ResourceHealth{
				res("ConfigMap", "settings", v1alpha1.HealthHealthy, ""),
				res("StatefulSet", "db", v1alpha1.HealthHealthy, "statefulset has 3 ready pods"),
			},
			want: Status{Code: v1alpha1.HealthHealthy},
		},
		{
			name: "worst wins, first at that status gives the message",
			in: []ResourceHealth{
				res("Service", "web", v1alpha1.HealthHealthy, ""),
				res("Deployment", "web", v1alpha1.HealthProgressing, "Waiting for rollout to finish: 1 of 2 updated replicas are available..."),
				res("Job", "migrate", v1alpha1.HealthDegraded, "Job has reached the specified backoff limit"),
				res("Pod", "cron-x", v1alpha1.HealthDegraded, "OOMKilled"),
				res("Rollout", "api", v1alpha1.HealthSuspended, "CanaryPauseStep"),
			},
			want: Status{Code: v1alpha1.HealthDegraded, Message: "Job/migrate: Job has reached the specified backoff limit"},
		},
		{
			name: "missing is worse than progressing",
			in: []ResourceHealth{
				res("Deployment", "web", v1alpha1.HealthProgressing, "rolling"),
				res("Service", "web", v1alpha1.HealthMissing, ""),
			},
			want: Status{Code: v1alpha1.HealthMissing, Message: "Service/web is Missing"},
		},
		{
			name: "unassessed entries are skipped",
			in: []ResourceHealth{
				{Kind: "Job", Name: "presync-hook"},
				res("ConfigMap", "settings", v1alpha1.HealthSuspended, "maintenance mode"),
			},
			want: Status{Code: v1alpha1.HealthSuspended, Message: "ConfigMap/settings: maintenance mode"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Aggregate(tc.in); got != tc.want {
				t.Errorf("Aggregate = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestHookPhase(t *testing.T) {
	rules, err := NewChecker(map[string]string{
		"resource.customizations.health.example.com_Migration": `
			object.?status.?done.orValue(false)
			  ? {"status": object.status.ok ? "Healthy" : "Degraded", "message": "migration finished"}
			  : {"status": "Progressing"}`,
	})
	if err != nil {
		t.Fatalf("NewChecker: %v", err)
	}
	cases := []struct {
		name     string
		checker  *Checker
		manifest string // empty: nil object
		phase    string
		done     bool
		failed   bool
		message  string
	}{
		{
			name:     "job running",
			manifest: jobHead + "status: {active: 1}\n",
			phase:    HookRunning,
		},
		{
			name: "job complete",
			manifest: jobHead + `status:
  succeeded: 1
  conditions:
  - {type: Complete, status: "True"}
`,
			phase: HookSucceeded, done: true,
		},
		{
			name: "job failed",
			manifest: jobHead + `status:
  conditions:
  - {type: Failed, status: "True", reason: BackoffLimitExceeded, message: Job has reached the specified backoff limit}
`,
			phase: HookFailed, done: true, failed: true,
			message: "Job has reached the specified backoff limit",
		},
		{
			name: "job suspended keeps running",
			manifest: jobHead + `status:
  conditions:
  - {type: Suspended, status: "True", message: Job suspended}
`,
			phase: HookRunning, message: "Job suspended",
		},
		{
			name: "finished job held by the hook finalizer is judged, not pending deletion",
			manifest: `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  deletionTimestamp: "2026-11-25T10:00:00Z"
  finalizers: [argocd.argoproj.io/hook-finalizer]
status:
  conditions:
  - {type: Complete, status: "True"}
`,
			phase: HookSucceeded, done: true,
		},
		{
			name: "job being deleted without the hook finalizer",
			manifest: `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  deletionTimestamp: "2026-11-25T10:00:00Z"
  finalizers: [foregroundDeletion]
status:
  conditions:
  - {type: Complete, status: "True"}
`,
			phase: HookRunning, message: "Pending deletion",
		},
		{
			name: "pod hook running",
			manifest: podHead + `spec:
  restartPolicy: Never
  containers: [{name: hook, image: "busybox:1.37"}]
status: {phase: Running}
`,
			phase: HookRunning,
		},
		{
			name: "pod hook succeeded",
			manifest: podHead + `spec:
  restartPolicy: Never
  containers: [{name: hook, image: "busybox:1.37"}]
status: {phase: Succeeded}
`,
			phase: HookSucceeded, done: true,
		},
		{
			name: "pod hook failed",
			manifest: podHead + `spec:
  restartPolicy: Never
  containers: [{name: hook, image: "busybox:1.37"}]
status:
  phase: Failed
  containerStatuses:
  - name: hook
    state: {terminated: {exitCode: 1, reason: Error}}
`,
			phase: HookFailed, done: true, failed: true,
			message: `container "hook" failed with exit code 1`,
		},
		{
			name: "job that cannot be read is an error",
			manifest: `apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec: {backoffLimit: many}
`,
			phase: HookError, done: true, failed: true,
			message: "Job migrate: reading it as *v1.Job failed (the object does not match its API schema): ",
		},
		{
			name: "workflow hook running",
			manifest: `apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {name: smoke-test}
status: {phase: Running, message: "step 2/3"}
`,
			phase: HookRunning, message: "step 2/3",
		},
		{
			name: "config map succeeds once applied",
			manifest: `apiVersion: v1
kind: ConfigMap
metadata: {name: sync-marker}
`,
			phase: HookSucceeded, done: true, message: "sync-marker created",
		},
		{
			name: "custom resource without a rule succeeds once applied",
			manifest: `apiVersion: cache.example.com/v1
kind: Redis
metadata: {name: warmup, generation: 1}
status:
  observedGeneration: 1
  conditions:
  - {type: Ready, status: "False"}
`,
			phase: HookSucceeded, done: true, message: "warmup created",
		},
		{
			name:    "custom rule drives the phase",
			checker: rules,
			manifest: `apiVersion: example.com/v1
kind: Migration
metadata: {name: v7}
status: {done: true, ok: false}
`,
			phase: HookFailed, done: true, failed: true, message: "migration finished",
		},
		{
			name:    "custom rule still running",
			checker: rules,
			manifest: `apiVersion: example.com/v1
kind: Migration
metadata: {name: v7}
`,
			phase: HookRunning,
		},
		{
			name:  "hook not created yet",
			phase: HookRunning, message: "waiting for the hook object to exist",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var phase, message string
			var done, failed bool
			if tc.manifest == "" {
				phase, done, failed, message = tc.checker.HookPhase(nil)
			} else if tc.checker == nil {
				phase, done, failed, message = HookPhase(obj(t, tc.manifest))
			} else {
				phase, done, failed, message = tc.checker.HookPhase(obj(t, tc.manifest))
			}
			if phase != tc.phase || done != tc.done || failed != tc.failed {
				t.Errorf("HookPhase = (%s, done=%v, failed=%v, %q), want (%s, done=%v, failed=%v)", phase, done, failed, message, tc.phase, tc.done, tc.failed)
			}
			if tc.phase == HookError {
				if len(message) < len(tc.message) || message[:len(tc.message)] != tc.message {
					t.Errorf("message = %q, want it to start %q", message, tc.message)
				}
			} else if message != tc.message {
				t.Errorf("message = %q, want %q", message, tc.message)
			}
		})
	}
}

func BenchmarkCheck(b *testing.B) {
	d := obj(b, deploymentHead+`spec:
  replicas: 3
  revisionHistoryLimit: 10
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 25%, maxUnavailable: 25%}
`+deploymentTemplate+`        resources:
          requests: {cpu: 100m, memory: 128Mi}
          limits: {memory: 256Mi}
        readinessProbe:
          httpGet: {path: /healthz, port: 80}
        env:
        - {name: LOG_LEVEL, value: info}
        - {name: REGION, value: eu-west-1}
status:
  observedGeneration: 3
  replicas: 3
  updatedReplicas: 3
  readyReplicas: 3
  availableReplicas: 3
  conditions:
  - {type: Available, status: "True", reason: MinimumReplicasAvailable, message: Deployment has minimum availability.}
  - {type: Progressing, status: "True", reason: NewReplicaSetAvailable, message: ReplicaSet "web-7d9c" has successfully progressed.}
`)
	c, err := NewChecker(map[string]string{"resource.customizations.health.cache.example.com_Redis": `{"status": "Healthy"}`})
	if err != nil {
		b.Fatal(err)
	}
	if got := c.Check(d); got.Code != v1alpha1.HealthHealthy {
		b.Fatalf("benchmark Deployment is %+v, want Healthy", got)
	}
	b.ReportAllocs()
	for b.Loop() {
		c.Check(d)
	}
}
