package health

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/argolite/argolite/shared/api/v1alpha1"
)

// argocdCM is the data of a ConfigMap in argocd-cm's shape: health rules
// among settings that are not ours to read.
var argocdCM = map[string]string{
	"url": "https://argo.example.com",
	"resource.customizations.ignoreDifferences.apps_Deployment": "jsonPointers: [/spec/replicas]",
	"resource.customizations.health.cache.example.com_Redis": `
		!has(object.status) ? {"status": "Progressing", "message": "no status yet"} :
		object.status.ready == object.spec.replicas
		  ? {"status": "Healthy"}
		  : {"status": "Degraded", "message": string(object.status.ready) + " of " + string(object.spec.replicas) + " ready"}`,
	"resource.customizations.health.ConfigMap": `
		object.?data.?mode.orValue("") == "maintenance"
		  ? {"status": "Suspended", "message": "maintenance mode"}
		  : {"status": "Healthy"}`,
	"resource.customizations.health.apps_Deployment":          `{"status": "Degraded", "message": "custom rule says no"}`,
	"resource.customizations.health.*.crossplane.io_*":        `{"status": object.status.conditions.exists(c, c.type == "Ready" && c.status == "True") ? "Healthy" : "Progressing"}`,
	"resource.customizations.health.example.com_Broken":       `{"status": object.status.phase == "ok" ? "Healthy" : "Degraded"}`,
	"resource.customizations.health.example.com_BadCode":      `{"status": "Fine"}`,
	"resource.customizations.health.example.com_BadMessage":   `{"status": "Healthy", "message": 42}`,
	"resource.customizations.health.example.com_NotAMap":      `object.status`,
	"resource.customizations.health.example.com_NoStatus":     `{"message": "forgot the status"}`,
	"resource.customizations.health.example.com_Expensive":    `{"status": object.status.items.all(a, object.status.items.all(b, a == a || b == b)) ? "Healthy" : "Degraded"}`,
	"resource.customizations.health.example.com_UsesStrings":  `{"status": object.status.state.lowerAscii() == "ready" ? "Healthy" : "Progressing"}`,
	"resource.customizations.health.argolite.dev_Application": `{"status": "Healthy", "message": "overridden"}`,
}

func TestCustomRules(t *testing.T) {
	c, err := NewChecker(argocdCM)
	if err != nil {
		t.Fatalf("NewChecker: %v", err)
	}
	items := make([]string, 1000)
	for i := range items {
		items[i] = fmt.Sprintf("item-%d", i)
	}
	expensive := "apiVersion: example.com/v1\nkind: Expensive\nmetadata: {name: big}\nstatus:\n  items: [" + strings.Join(items, ", ") + "]\n"

	runHealthCases(t, c, []healthCase{
		{
			name: "rule healthy",
			manifest: `apiVersion: cache.example.com/v1
kind: Redis
metadata: {name: sessions, namespace: shop}
spec: {replicas: 3}
status: {ready: 3}
`,
			code: v1alpha1.HealthHealthy,
		},
		{
			name: "rule degraded with message",
			manifest: `apiVersion: cache.example.com/v1
kind: Redis
metadata: {name: sessions, namespace: shop}
spec: {replicas: 3}
status: {ready: 1}
`,
			code:    v1alpha1.HealthDegraded,
			message: "1 of 3 ready",
		},
		{
			name: "rule guards a missing status",
			manifest: `apiVersion: cache.example.com/v1
kind: Redis
metadata: {name: sessions}
spec: {replicas: 3}
`,
			code:    v1alpha1.HealthProgressing,
			message: "no status yet",
		},
		{
			name: "core group rule with optional fields",
			manifest: `apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: maintenance}
`,
			code:    v1alpha1.HealthSuspended,
			message: "maintenance mode",
		},
		{
			name: "core group rule, field absent",
			manifest: `apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
`,
			code: v1alpha1.HealthHealthy,
		},
		{
			name: "custom rule wins over the built-in",
			manifest: deploymentHead + `spec:
  replicas: 1
` + deploymentTemplate + `status:
  observedGeneration: 3
  replicas: 1
  updatedReplicas: 1
  availableReplicas: 1
`,
			code:    v1alpha1.HealthDegraded,
			message: "custom rule says no",
		},
		{
			name: "custom rule wins over own kinds",
			manifest: `apiVersion: argolite.dev/v1alpha1
kind: Application
metadata: {name: guestbook}
status:
  health: {status: Degraded}
`,
			code:    v1alpha1.HealthHealthy,
			message: "overridden",
		},
		{
			name: "wildcard rule",
			manifest: `apiVersion: ec2.aws.crossplane.io/v1beta1
kind: VPC
metadata: {name: main}
status:
  conditions:
  - {type: Synced, status: "True"}
  - {type: Ready, status: "True"}
`,
			code: v1alpha1.HealthHealthy,
		},
		{
			name: "runtime error is Unknown with the error",
			manifest: `apiVersion: example.com/v1
kind: Broken
metadata: {name: b, namespace: shop}
spec: {}
`,
			code:    v1alpha1.HealthUnknown,
			msgPart: `health rule "resource.customizations.health.example.com_Broken" on Broken shop/b: no such key: status`,
		},
		{
			name: "unknown status code",
			manifest: `apiVersion: example.com/v1
kind: BadCode
metadata: {name: b}
`,
			code:    v1alpha1.HealthUnknown,
			msgPart: `status "Fine" is not one of Healthy`,
		},
		{
			name: "message not a string",
			manifest: `apiVersion: example.com/v1
kind: BadMessage
metadata: {name: b}
`,
			code:    v1alpha1.HealthUnknown,
			msgPart: `"message" is int, want a string`,
		},
		{
			name: "result not a map",
			manifest: `apiVersion: example.com/v1
kind: NotAMap
metadata: {name: b}
status: Healthy
`,
			code:    v1alpha1.HealthUnknown,
			msgPart: `returned string, want a map`,
		},
		{
			name: "result without status",
			manifest: `apiVersion: example.com/v1
kind: NoStatus
metadata: {name: b}
`,
			code:    v1alpha1.HealthUnknown,
			msgPart: `the result has no "status"`,
		},
		{
			name:     "cost limit stops a runaway rule",
			manifest: expensive,
			code:     v1alpha1.HealthUnknown,
			msgPart:  "cost limit exceeded",
		},
		{
			name: "string extensions",
			manifest: `apiVersion: example.com/v1
kind: UsesStrings
metadata: {name: b}
status: {state: READY}
`,
			code: v1alpha1.HealthHealthy,
		},
		{
			name: "kinds without a rule keep the built-ins",
			manifest: `apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
status:
  conditions:
  - {type: Failed, status: "True", message: Job has reached the specified backoff limit}
`,
			code:    v1alpha1.HealthDegraded,
			message: "Job has reached the specified backoff limit",
		},
	})
}

func TestNewCheckerErrors(t *testing.T) {
	cases := []struct {
		name  string
		data  map[string]string
		parts []string // each must appear in the error
	}{
		{
			name:  "syntax error names the key and CEL's message",
			data:  map[string]string{"resource.customizations.health.example.com_Widget": `{"status": "Healthy"`},
			parts: []string{`health rule "resource.customizations.health.example.com_Widget" does not compile`, "Syntax error"},
		},
		{
			name: "Lua from argocd-cm",
			data: map[string]string{"resource.customizations.health.argoproj.io_Rollout": `hs = {}
hs.status = "Healthy"
return hs`},
			parts: []string{`"resource.customizations.health.argoproj.io_Rollout" does not compile`, "not Argo CD's Lua"},
		},
		{
			name:  "undeclared variable",
			data:  map[string]string{"resource.customizations.health.example.com_Widget": `{"status": obj.status.phase}`},
			parts: []string{"example.com_Widget", "undeclared reference to 'obj'"},
		},
		{
			name:  "returns a string",
			data:  map[string]string{"resource.customizations.health.example.com_Widget": `"Healthy"`},
			parts: []string{"example.com_Widget", "returns string: it must return a map"},
		},
		{
			name:  "empty expression",
			data:  map[string]string{"resource.customizations.health.example.com_Widget": "  \n"},
			parts: []string{`health rule "resource.customizations.health.example.com_Widget" is empty`},
		},
		{
			name:  "key with too many parts",
			data:  map[string]string{"resource.customizations.health.example.com_Widget_v2": `{"status": "Healthy"}`},
			parts: []string{`health rule key "resource.customizations.health.example.com_Widget_v2"`, "<group>_<Kind>"},
		},
		{
			name:  "key without a kind",
			data:  map[string]string{"resource.customizations.health.": `{"status": "Healthy"}`},
			parts: []string{`health rule key "resource.customizations.health."`},
		},
		{
			name:  "bad wildcard",
			data:  map[string]string{"resource.customizations.health.[a-_Widget": `{"status": "Healthy"}`},
			parts: []string{"bad wildcard pattern", "[a-"},
		},
		{
			name: "two spellings of one core kind",
			data: map[string]string{
				"resource.customizations.health.ConfigMap":  `{"status": "Healthy"}`,
				"resource.customizations.health._ConfigMap": `{"status": "Healthy"}`,
			},
			parts: []string{"both judge ConfigMap", "keep one of them"},
		},
		{
			name: "every broken key is reported",
			data: map[string]string{
				"resource.customizations.health.example.com_A": `{`,
				"resource.customizations.health.example.com_B": `}`,
				"resource.customizations.health.example.com_C": `{"status": "Healthy"}`,
			},
			parts: []string{"example.com_A", "example.com_B"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewChecker(tc.data)
			if err == nil {
				t.Fatalf("NewChecker succeeded (%v), want an error", c)
			}
			if c != nil {
				t.Errorf("NewChecker returned a Checker with its error")
			}
			for _, p := range tc.parts {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("error %q does not contain %q", err, p)
				}
			}
		})
	}
}

func TestNewCheckerIgnoresOtherKeys(t *testing.T) {
	c, err := NewChecker(map[string]string{
		"url":                         "https://argo.example.com",
		"resource.exclusions":         "- apiGroups: ['*']",
		"resource.customizations":     "not: ours",
		"resource.customizations.foo": "{",
	})
	if err != nil {
		t.Fatalf("NewChecker: %v", err)
	}
	if len(c.exact) != 0 || len(c.globs) != 0 {
		t.Errorf("compiled rules from keys that are not health rules: %v %v", c.exact, c.globs)
	}
}

func TestCustomRulesConcurrent(t *testing.T) {
	c, err := NewChecker(argocdCM)
	if err != nil {
		t.Fatalf("NewChecker: %v", err)
	}
	redis := obj(t, `apiVersion: cache.example.com/v1
kind: Redis
metadata: {name: sessions}
spec: {replicas: 3}
status: {ready: 2}
`)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if got := c.Check(redis); got.Code != v1alpha1.HealthDegraded || got.Message != "2 of 3 ready" {
					errs <- fmt.Sprintf("%+v", got)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("concurrent Check = %s, want Degraded \"2 of 3 ready\"", e)
	}
}
