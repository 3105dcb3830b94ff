package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/yaml"

	s3manifest "github.com/argolite/argolite/integration/s3server/manifest"
	"github.com/argolite/argolite/shared/agentmeta"
	"github.com/argolite/argolite/shared/wfnames"
)

// Workflow features end to end, through the plugin where a user would use
// it: suspend and resume, retry and resubmit, cron schedules, memoization,
// mutexes, custom metrics, results offloaded to the artifact repository and
// a step Pod evicted from its node.

var cronWorkflowGVR = schema.GroupVersionResource{Group: "argolite.dev", Version: "v1alpha1", Resource: "cronworkflows"}

// Labels and annotations the agent and the plugin put on what they create.
const (
	labelCronWorkflow       = "workflows.argoproj.io/cron-workflow"  // agent/workflow/cron.go
	annotationScheduledTime = "workflows.argoproj.io/scheduled-time" // agent/workflow/cron.go
	labelResubmittedFrom    = "argolite.dev/resubmitted-from"        // plugin/wf/submit.go
	nodeGoneTaintKey        = "argolite.dev/e2e-node-gone"           // the taint of the eviction subtest
	pythonImage             = "argolite.local/library/python:alpine3.23"
)

func TestWorkflowFeatures(t *testing.T) {
	needCluster(t)
	installGitopsAgent(t)
	dyn := dynamic.NewForConfigOrDie(cfg)

	t.Run("suspend node with supplied parameters, and whole-workflow suspend/resume", func(t *testing.T) {
		ns := featureNamespace(t, dyn)
		name := submitWorkflow(t, dyn, ns, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: approve-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: approve, template: approve}
    - - name: use
        template: say
        arguments: {parameters: [{name: msg, value: "{{steps.approve.outputs.parameters.answer}}"}]}
  - name: approve
    suspend: {}
    outputs:
      parameters:
      - name: answer
        valueFrom: {supplied: {}}
  - name: say
    inputs: {parameters: [{name: msg}]}
    script:
      image: `+wfImage+`
      imagePullPolicy: IfNotPresent
      command: [sh]
      source: echo "answer={{inputs.parameters.msg}}"
`)
		approve, use := name+"[0].approve", name+"[1].use"
		waitWorkflow(t, dyn, ns, name, "to wait at its suspend step", 2*time.Minute, func(wf *unstructured.Unstructured) bool {
			n := nodeNamed(wf, approve)
			return nodeStr(n, "type") == "Suspend" && nodeStr(n, "phase") == "Running"
		})

		// A value that no resumed step asks for is refused, and nothing changes.
		bad := argo(t, "wf", "resume", name, "-n", ns, "--node-field-selector", "displayName=approve", "-p", "answer=yes", "-p", "unasked=1")
		if bad.code == 0 || !strings.Contains(bad.stdout+bad.stderr, "unasked") {
			t.Errorf("wf resume -p unasked=1 exited %d (%s%s); want an error naming the parameter no suspend step asks for", bad.code, bad.stdout, bad.stderr)
		}
		if wf := getWorkflow(t, dyn, ns, name); nodeStr(nodeNamed(wf, approve), "phase") != "Running" || nodeNamed(wf, use) != nil {
			t.Fatalf("a refused resume changed the workflow:\n%s", describeWorkflow(wf))
		}

		if r := argo(t, "wf", "resume", name, "-n", ns, "--node-field-selector", "displayName=approve", "-p", "answer=yes"); r.code != 0 {
			t.Fatalf("wf resume exited %d: %s%s", r.code, r.stdout, r.stderr)
		}
		wf := waitWorkflow(t, dyn, ns, name, "to end after the resume", 2*time.Minute, completed)
		a, u := nodeNamed(wf, approve), nodeNamed(wf, use)
		if phaseOf(wf) != "Succeeded" || nodeStr(a, "phase") != "Succeeded" || nodeParam(a, "outputs", "answer") != "yes" ||
			nodeParam(u, "inputs", "msg") != "yes" || nodeStr(u, "outputs", "result") != "answer=yes" {
			t.Errorf("want Succeeded, approve's output answer=yes passed on to use, which printed answer=yes; got:\n%s", describeWorkflow(wf))
		}

		// The whole workflow: the step that runs goes on to its end, the
		// next one does not start until the workflow is resumed.
		name = submitWorkflow(t, dyn, ns, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: pause-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: first, template: slow}
    - - {name: second, template: quick}
    - - {name: third, template: quick}
  - name: slow
    container: {image: `+wfImage+`, imagePullPolicy: IfNotPresent, command: [sh, -c, "sleep 6; echo first done"]}
  - name: quick
    container: {image: `+wfImage+`, imagePullPolicy: IfNotPresent, command: [echo, quick]}
`)
		first, second := name+"[0].first", name+"[1].second"
		waitWorkflow(t, dyn, ns, name, "to run its first step", 2*time.Minute, func(wf *unstructured.Unstructured) bool {
			return nodeStr(nodeNamed(wf, first), "phase") == "Running"
		})
		if r := argo(t, "wf", "suspend", name, "-n", ns); r.code != 0 {
			t.Fatalf("wf suspend exited %d: %s%s", r.code, r.stdout, r.stderr)
		}
		if s, _, _ := unstructured.NestedBool(getWorkflow(t, dyn, ns, name).Object, "spec", "suspend"); !s {
			t.Fatal("wf suspend did not set spec.suspend")
		}
		wf = waitWorkflow(t, dyn, ns, name, "to end its first step while suspended", 2*time.Minute, func(wf *unstructured.Unstructured) bool {
			return nodeStr(nodeNamed(wf, first), "phase") == "Succeeded" || completed(wf)
		})
		// The status that records the first step's end is written after the
		// agent walked on to the second step: had it started it, its Pod
		// would exist now.
		if n := nodeNamed(wf, second); phaseOf(wf) != "Running" || (n != nil && nodeStr(n, "phase") != "Pending") {
			t.Errorf("suspended after the first step: want phase Running and the second step not started; got:\n%s", describeWorkflow(wf))
		}
		if pods := stepPods(t, ns, name); len(pods) != 1 {
			t.Errorf("%d step Pods while suspended after the first step, want 1: %v", len(pods), podNames(pods))
		}
		if list := argo(t, "wf", "list", "-n", ns); !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\s+Running \(Suspended\)`).MatchString(list.stdout) {
			t.Errorf("wf list does not show %s as Running (Suspended):\n%s", name, list.stdout)
		}
		if r := argo(t, "wf", "resume", name, "-n", ns); r.code != 0 {
			t.Fatalf("wf resume exited %d: %s%s", r.code, r.stdout, r.stderr)
		}
		wf = waitWorkflow(t, dyn, ns, name, "to end after the resume", 2*time.Minute, completed)
		if _, set, _ := unstructured.NestedFieldNoCopy(wf.Object, "spec", "suspend"); phaseOf(wf) != "Succeeded" || set {
			t.Errorf("after wf resume: want Succeeded and spec.suspend cleared; got:\n%s", describeWorkflow(wf))
		}
		if pods := stepPods(t, ns, name); len(pods) != 3 {
			t.Errorf("%d step Pods, want 3 (one per step): %v", len(pods), podNames(pods))
		}
	})

	t.Run("retry resumes from the failed step, resubmit runs again", func(t *testing.T) {
		ns := featureNamespace(t, dyn)
		// B succeeds once this host directory (mounted into its Pod) holds "ok".
		dir, err := os.MkdirTemp("/tmp", "argolite-e2e-retry-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		name := submitWorkflow(t, dyn, ns, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: retry-}
spec:
  entrypoint: main
  volumes:
  - name: data
    hostPath: {path: `+dir+`, type: Directory}
  templates:
  - name: main
    steps:
    - - {name: a, template: a}
    - - {name: b, template: b}
  - name: a
    container: {image: `+wfImage+`, imagePullPolicy: IfNotPresent, command: [echo, a ran]}
  - name: b
    container:
      image: `+wfImage+`
      imagePullPolicy: IfNotPresent
      command: [sh, -c, "test -e /data/ok && echo found"]
      volumeMounts: [{name: data, mountPath: /data}]
`)
		a, b := name+"[0].a", name+"[1].b"
		wf := waitWorkflow(t, dyn, ns, name, "to end", 2*time.Minute, completed)
		if phaseOf(wf) != "Failed" || nodeStr(nodeNamed(wf, a), "phase") != "Succeeded" || nodeStr(nodeNamed(wf, b), "phase") != "Failed" {
			t.Fatalf("want Failed with a Succeeded and b Failed; got:\n%s", describeWorkflow(wf))
		}
		aPods, bPods := podsOfNode(t, ns, name, a), podsOfNode(t, ns, name, b)
		if len(aPods) != 1 || len(bPods) != 1 {
			t.Fatalf("Pods of a: %v, of b: %v; want one each", podNames(aPods), podNames(bPods))
		}

		if err := os.WriteFile(filepath.Join(dir, "ok"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if r := argo(t, "wf", "retry", name, "-n", ns, "--wait"); r.code != 0 {
			t.Fatalf("wf retry --wait exited %d: %s%s", r.code, r.stdout, r.stderr)
		}
		wf = getWorkflow(t, dyn, ns, name)
		if phaseOf(wf) != "Succeeded" || nodeStr(nodeNamed(wf, b), "phase") != "Succeeded" {
			t.Errorf("after wf retry: want Succeeded; got:\n%s", describeWorkflow(wf))
		}
		if got := podsOfNode(t, ns, name, a); len(got) != 1 || got[0].UID != aPods[0].UID {
			t.Errorf("a succeeded before the retry and must not run again: its Pods were %s (uid %s), now %v", aPods[0].Name, aPods[0].UID, podUIDs(got))
		}
		if got := podsOfNode(t, ns, name, b); len(got) != 1 || got[0].UID == bPods[0].UID {
			t.Errorf("b must run again in a new Pod: its Pod was %s (uid %s), now %v", bPods[0].Name, bPods[0].UID, podUIDs(got))
		}

		r := argo(t, "wf", "resubmit", name, "-n", ns, "--wait")
		if r.code != 0 {
			t.Fatalf("wf resubmit --wait exited %d: %s%s", r.code, r.stdout, r.stderr)
		}
		again := submittedName(t, r)
		if again == name {
			t.Fatalf("wf resubmit reused the name %s", name)
		}
		wf = getWorkflow(t, dyn, ns, again)
		if phaseOf(wf) != "Succeeded" || wf.GetLabels()[labelResubmittedFrom] != name {
			t.Errorf("the resubmitted workflow: want Succeeded, labelled %s=%s; got labels %v and:\n%s", labelResubmittedFrom, name, wf.GetLabels(), describeWorkflow(wf))
		}
		if pods := stepPods(t, ns, again); len(pods) != 2 {
			t.Errorf("the resubmitted workflow ran %d step Pods, want 2 (every step again): %v", len(pods), podNames(pods))
		}
	})

	t.Run("cron schedules, triggers, forbids overlap and keeps history", func(t *testing.T) {
		ns := featureNamespace(t, dyn)
		// "@every 20s" (robfig/cron's descriptor, which Argo's parser and
		// the agent's accept) rather than "* * * * *": the subtest needs
		// two schedule times, one skipped and one run, within two minutes.
		const cronName = "tick"
		// Not t.TempDir(): the subtest's name has commas, and -f splits a
		// value at commas as kubectl's does.
		dir, err := os.MkdirTemp("", "argolite-e2e-cron-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(dir) })
		file := filepath.Join(dir, "cron.yaml")
		if err := os.WriteFile(file, []byte(`apiVersion: argolite.dev/v1alpha1
kind: CronWorkflow
metadata: {name: `+cronName+`}
spec:
  schedule: "@every 20s"
  concurrencyPolicy: Forbid
  successfulJobsHistoryLimit: 1
  workflowSpec:
    entrypoint: main
    templates:
    - name: main
      steps:
      - - {name: one, template: echo}
      - - {name: two, template: echo}
    - name: echo
      container: {image: `+wfImage+`, imagePullPolicy: IfNotPresent, command: [echo, tick]}
`), 0o644); err != nil {
			t.Fatal(err)
		}
		if r := argo(t, "cron", "create", "-f", file, "-n", ns); r.code != 0 {
			t.Fatalf("cron create exited %d: %s%s", r.code, r.stdout, r.stderr)
		}
		runs := func(ctx context.Context) ([]unstructured.Unstructured, error) {
			list, err := dyn.Resource(workflowGVR).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: labelCronWorkflow + "=" + cronName})
			if err != nil {
				return nil, err
			}
			return list.Items, nil
		}

		// A run triggered by hand and held suspended is still active at the
		// next schedule time: Forbid skips that time.
		r := argo(t, "cron", "trigger", cronName, "-n", ns)
		if r.code != 0 {
			t.Fatalf("cron trigger exited %d: %s%s", r.code, r.stdout, r.stderr)
		}
		held := submittedName(t, r)
		if r := argo(t, "wf", "suspend", held, "-n", ns); r.code != 0 {
			t.Fatalf("wf suspend %s exited %d: %s%s", held, r.code, r.stdout, r.stderr)
		}
		note := waitEventNote(t, ns, cronName, "Skipped", time.Minute)
		if !strings.Contains(note, held) || !strings.Contains(note, "Forbid") {
			t.Errorf("the Skipped event says %q; want it to name the active run %s and concurrencyPolicy Forbid", note, held)
		}
		items, err := runs(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 1 || items[0].GetName() != held {
			t.Errorf("while %s is active the CronWorkflow started %v; want no other run (concurrencyPolicy Forbid)", held, workflowNames(items))
		}
		if r := argo(t, "wf", "resume", held, "-n", ns); r.code != 0 {
			t.Fatalf("wf resume %s exited %d: %s%s", held, r.code, r.stdout, r.stderr)
		}
		if wf := waitWorkflow(t, dyn, ns, held, "to end after the resume", 2*time.Minute, completed); phaseOf(wf) != "Succeeded" {
			t.Fatalf("the triggered run:\n%s", describeWorkflow(wf))
		}

		// A run the schedule starts.
		scheduledName := regexp.MustCompile(`^` + cronName + `-\d+$`)
		var scheduled string
		waitFor(t, "a scheduled run to succeed", 100*time.Second, func(ctx context.Context) (bool, error) {
			items, err := runs(ctx)
			if err != nil {
				return false, err
			}
			for i := range items {
				if wf := &items[i]; wf.GetName() != held && phaseOf(wf) == "Succeeded" {
					scheduled = wf.GetName()
					if !scheduledName.MatchString(scheduled) || wf.GetAnnotations()[annotationScheduledTime] == "" {
						t.Errorf("scheduled run %s: want a name %s-<unix time> and the annotation %s; annotations %v",
							scheduled, cronName, annotationScheduledTime, wf.GetAnnotations())
					}
					return true, nil
				}
			}
			return false, nil
		})

		// successfulJobsHistoryLimit 1: the older succeeded runs go.
		keepsOne := func(what, mustGo, mustStay string) {
			t.Helper()
			var seen []string
			defer func() {
				if t.Failed() {
					t.Logf("runs last seen: %v", seen)
				}
			}()
			waitFor(t, what, time.Minute, func(ctx context.Context) (bool, error) {
				items, err := runs(ctx)
				if err != nil {
					return false, err
				}
				seen = seen[:0]
				succeeded := 0
				for i := range items {
					seen = append(seen, items[i].GetName()+"="+phaseOf(&items[i]))
					if phaseOf(&items[i]) == "Succeeded" {
						succeeded++
					}
				}
				names := workflowNames(items)
				return succeeded <= 1 && !slices.Contains(names, mustGo) && (mustStay == "" || slices.Contains(names, mustStay)), nil
			})
		}
		keepsOne("the history limit to delete the triggered run "+held, held, "")

		list := argo(t, "cron", "list", "-n", ns)
		row := regexp.MustCompile(`(?m)^` + cronName + `\s+\S+\s+\S+\s+in \S+\s+@every 20s\s+-\s+false\s*$`)
		if !strings.Contains(list.stdout, "NEXT-RUN") || !row.MatchString(list.stdout) {
			t.Errorf("cron list: want a NEXT-RUN column and a row for %s with its last run, \"in ...\" and the schedule:\n%s", cronName, list.stdout)
		}
		if r := argo(t, "cron", "suspend", cronName, "-n", ns); r.code != 0 {
			t.Fatalf("cron suspend exited %d: %s%s", r.code, r.stdout, r.stderr)
		}
		cw, err := dyn.Resource(cronWorkflowGVR).Namespace(ns).Get(context.Background(), cronName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if s, _, _ := unstructured.NestedBool(cw.Object, "spec", "suspend"); !s {
			t.Errorf("cron suspend did not set spec.suspend: %v", cw.Object["spec"])
		}
		if list := argo(t, "cron", "list", "-n", ns); !regexp.MustCompile(`(?m)^` + cronName + `\s.*\s-\s+@every 20s\s+-\s+true\s*$`).MatchString(list.stdout) {
			t.Errorf("cron list of a suspended CronWorkflow: want NEXT-RUN - and SUSPENDED true:\n%s", list.stdout)
		}

		// trigger runs even a suspended CronWorkflow, and the history limit
		// then keeps only that newest run.
		r = argo(t, "cron", "trigger", cronName, "-n", ns, "--wait", "--timeout", "2m")
		if r.code != 0 {
			t.Fatalf("cron trigger --wait exited %d: %s%s", r.code, r.stdout, r.stderr)
		}
		last := submittedName(t, r)
		if wf := getWorkflow(t, dyn, ns, last); phaseOf(wf) != "Succeeded" || wf.GetLabels()[labelCronWorkflow] != cronName {
			t.Errorf("cron trigger --wait: want %s Succeeded and labelled %s=%s; labels %v:\n%s", last, labelCronWorkflow, cronName, wf.GetLabels(), describeWorkflow(wf))
		}
		keepsOne("the history limit to keep only the newest run "+last, scheduled, last)
	})

	t.Run("memoize hits the cache on the second run", func(t *testing.T) {
		ns := featureNamespace(t, dyn)
		const key = "memo-key-1"
		doc := `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: memo-}
spec:
  entrypoint: main
  arguments: {parameters: [{name: x, value: ` + key + `}]}
  templates:
  - name: main
    inputs: {parameters: [{name: x}]}
    memoize:
      key: "{{inputs.parameters.x}}"
      maxAge: 1h
      cache: {configMap: {name: memo-cache}}
    script:
      image: ` + wfImage + `
      imagePullPolicy: IfNotPresent
      command: [sh]
      source: cat /proc/sys/kernel/random/uuid
`
		first := submitWorkflow(t, dyn, ns, doc)
		wf := waitWorkflow(t, dyn, ns, first, "to end", 2*time.Minute, completed)
		n := nodeNamed(wf, first)
		want := nodeStr(n, "outputs", "result")
		if hit, found, _ := unstructured.NestedBool(n, "memoizationStatus", "hit"); phaseOf(wf) != "Succeeded" || want == "" || !found || hit {
			t.Fatalf("first run: want Succeeded with a result and memoizationStatus.hit false; got memoizationStatus %v:\n%s", n["memoizationStatus"], describeWorkflow(wf))
		}
		waitFor(t, "the result in ConfigMap memo-cache under "+key, 30*time.Second, func(ctx context.Context) (bool, error) {
			cm, err := clientset.CoreV1().ConfigMaps(ns).Get(ctx, "memo-cache", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return strings.Contains(cm.Data[key], want), nil
		})

		second := submitWorkflow(t, dyn, ns, doc)
		wf = waitWorkflow(t, dyn, ns, second, "to end", 2*time.Minute, completed)
		n = nodeNamed(wf, second)
		if hit, _, _ := unstructured.NestedBool(n, "memoizationStatus", "hit"); phaseOf(wf) != "Succeeded" || !hit || nodeStr(n, "outputs", "result") != want {
			t.Errorf("second run: want Succeeded from the cache (memoizationStatus.hit true) with the first run's result %q; got memoizationStatus %v:\n%s",
				want, n["memoizationStatus"], describeWorkflow(wf))
		}
		if pods := stepPods(t, ns, second); len(pods) != 0 {
			t.Errorf("the cached run started %d Pods, want none: %v", len(pods), podNames(pods))
		}
	})

	t.Run("a mutex serialises two workflows", func(t *testing.T) {
		ns := featureNamespace(t, dyn)
		doc := `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: mutex-}
spec:
  entrypoint: main
  synchronization:
    mutexes: [{name: one-at-a-time}]
  templates:
  - name: main
    container: {image: ` + wfImage + `, imagePullPolicy: IfNotPresent, command: [sh, -c, "sleep 3"]}
`
		names := []string{submitWorkflow(t, dyn, ns, doc), submitWorkflow(t, dyn, ns, doc)}
		lock := ns + "/Mutex/one-at-a-time"
		var holder, waiter string
		waitFor(t, "one workflow to hold the mutex while the other waits for it", time.Minute, func(ctx context.Context) (bool, error) {
			wfs := make([]*unstructured.Unstructured, 2)
			for i, n := range names {
				wf, err := dyn.Resource(workflowGVR).Namespace(ns).Get(ctx, n, metav1.GetOptions{})
				if err != nil {
					return false, err
				}
				wfs[i] = wf
			}
			for i := range wfs {
				w, h := wfs[i], wfs[1-i]
				if phaseOf(w) == "Pending" && strings.Contains(messageOf(w), "Waiting for "+lock+" lock") &&
					lockListed(w, "waiting", lock, ns+"/"+w.GetName()) && lockListed(h, "holding", lock, ns+"/"+h.GetName()) {
					waiter, holder = w.GetName(), h.GetName()
					return true, nil
				}
			}
			return false, nil
		})
		for _, n := range names {
			wf := waitWorkflow(t, dyn, ns, n, "to end", 2*time.Minute, completed)
			if phaseOf(wf) != "Succeeded" || lockListed(wf, "holding", lock, ns+"/"+n) || lockListed(wf, "waiting", lock, ns+"/"+n) {
				sync, _, _ := unstructured.NestedFieldNoCopy(wf.Object, "status", "synchronization")
				t.Errorf("%s: want Succeeded with the mutex released; status.synchronization %v:\n%s", n, sync, describeWorkflow(wf))
			}
		}
		hStart, hEnd := mainRun(t, ns, holder)
		wStart, wEnd := mainRun(t, ns, waiter)
		// Container times have whole seconds: the waiter's start may equal the holder's end, not precede it.
		if wStart.Before(hEnd) {
			t.Errorf("the steps overlap: %s ran %s..%s, %s (which waited for the mutex) ran %s..%s",
				holder, hStart.Format(time.TimeOnly), hEnd.Format(time.TimeOnly), waiter, wStart.Format(time.TimeOnly), wEnd.Format(time.TimeOnly))
		}
	})

	t.Run("custom metrics reach the agent's /metrics", func(t *testing.T) {
		ns := featureNamespace(t, dyn)
		name := submitWorkflow(t, dyn, ns, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: metrics-}
spec:
  entrypoint: main
  metrics:
    prometheus:
    - name: e2e_feature_runs
      help: Runs of the e2e metrics workflow
      labels:
      - {key: wf, value: "{{workflow.name}}"}
      - {key: status, value: "{{workflow.status}}"}
      counter: {value: "1"}
    - name: e2e_feature_duration_seconds
      help: Duration of the e2e metrics workflow
      labels:
      - {key: wf, value: "{{workflow.name}}"}
      gauge: {value: "{{workflow.duration}}", realtime: false}
  templates:
  - name: main
    container: {image: `+wfImage+`, imagePullPolicy: IfNotPresent, command: [echo, measured]}
`)
		wf := waitWorkflow(t, dyn, ns, name, "to end", 2*time.Minute, completed)
		if phaseOf(wf) != "Succeeded" {
			t.Fatalf("want Succeeded:\n%s", describeWorkflow(wf))
		}
		// The agent records the metrics when the workflow ends, before it
		// writes the status: they should be there by now; a short poll
		// covers a scrape that races the write.
		var text string
		var runs, dur float64
		var okRuns, okDur bool
		_ = wait.PollUntilContextTimeout(context.Background(), time.Second, 15*time.Second, true, func(context.Context) (bool, error) {
			text = agentMetrics(t)
			runs, okRuns = metricSample(text, "argo_workflows_e2e_feature_runs", map[string]string{"wf": name, "status": "Succeeded"})
			dur, okDur = metricSample(text, "argo_workflows_e2e_feature_duration_seconds", map[string]string{"wf": name})
			return okRuns && okDur, nil
		})
		if !okRuns || runs != 1 || !okDur || dur < 0 || dur > 600 {
			var ours []string
			for _, l := range strings.Split(text, "\n") {
				if strings.Contains(l, "e2e_feature") {
					ours = append(ours, l)
				}
			}
			t.Errorf("want argo_workflows_e2e_feature_runs{status=\"Succeeded\",wf=%q} 1 and a duration gauge in 0..600 s; got runs=%v (%v), duration=%v (%v); the agent's e2e_feature lines:\n%s",
				name, runs, okRuns, dur, okDur, strings.Join(ours, "\n"))
		}

		// With Argo's metricsConfig.metricsTTL in argolite-config, series not
		// emitted for that long go (the agent reads its config at most every
		// 30 s and sweeps every 30 s).
		setAgentConfigKey(t, "metricsConfig", "metricsTTL: 1s\n")
		waitFor(t, "the finished workflow's metric series to expire", 2*time.Minute, func(context.Context) (bool, error) {
			_, present := metricSample(agentMetrics(t), "argo_workflows_e2e_feature_runs", map[string]string{"wf": name, "status": "Succeeded"})
			return !present, nil
		})
	})

	t.Run("a large result is offloaded to the artifact repository and read back", func(t *testing.T) {
		ns := featureNamespace(t, dyn)
		deployArtifactStore(t, dyn, ns)
		// 4000 lines of 52 bytes: 208000 bytes of stdout, the result is the
		// same without the last newline. The termination message holds 4 KiB.
		const lines, line = 4000, "abcdefghijklmnopqrstuvwxyz0123456789abcd"
		var b strings.Builder
		for i := range lines {
			fmt.Fprintf(&b, "line %05d %s\n", i, line)
		}
		stdout := b.String()
		sum := sha256.Sum256([]byte(stdout))
		bigTemplate := `
  - name: big
    script:
      image: ` + pythonImage + `
      imagePullPolicy: IfNotPresent
      command: [python3]
      source: |
        import sys
        sys.stdout.write("".join("line %05d ` + line + `\n" % i for i in range(` + strconv.Itoa(lines) + `)))
`
		name := submitWorkflow(t, dyn, ns, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: big-result-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: big, template: big}
    - - name: read
        template: read
        arguments: {parameters: [{name: text, value: "{{steps.big.outputs.result}}"}]}
  - name: read
    inputs: {parameters: [{name: text}]}
    script:
      image: `+wfImage+`
      imagePullPolicy: IfNotPresent
      command: [sh]
      source: |
        cat > /tmp/in <<'END_OF_TEXT'
        {{inputs.parameters.text}}
        END_OF_TEXT
        wc -c < /tmp/in
        sha256sum /tmp/in
`+bigTemplate)
		big, read := name+"[0].big", name+"[1].read"
		wf := waitWorkflow(t, dyn, ns, name, "to end", 3*time.Minute, completed)
		if phaseOf(wf) != "Succeeded" {
			t.Fatalf("want Succeeded:\n%s", describeWorkflow(wf))
		}
		// The wrapper stored the result in the repository and reported only
		// where; the agent read it back into the node's outputs.
		if pods := podsOfNode(t, ns, name, big); len(pods) != 1 {
			t.Errorf("Pods of %s: %v, want 1", big, podNames(pods))
		} else if term := terminatedMain(&pods[0]); term == nil || !strings.Contains(term.Message, `"offloaded"`) || len(term.Message) > 4096 {
			t.Errorf("the big step's termination message should name where its outputs were offloaded; got %+v", term)
		}
		if got := nodeStr(nodeNamed(wf, big), "outputs", "result"); got != strings.TrimSuffix(stdout, "\n") {
			t.Errorf("the big step's outputs.result has %d bytes (starts %q); want the %d bytes it printed, less the last newline",
				len(got), clipText(got, 60), len(stdout)-1)
		}
		// The next step got all of it: the heredoc adds the newline back.
		got := strings.Fields(nodeStr(nodeNamed(wf, read), "outputs", "result"))
		if len(got) < 2 || got[0] != strconv.Itoa(len(stdout)) || got[1] != hex.EncodeToString(sum[:]) {
			t.Errorf("the read step saw %v; want %d bytes with sha256 %s", got, len(stdout), hex.EncodeToString(sum[:]))
		}

		// Without an artifact repository the step fails and says what to do.
		bare := featureNamespace(t, dyn)
		name = submitWorkflow(t, dyn, bare, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: big-result-no-repo-}
spec:
  entrypoint: big
  templates:`+bigTemplate)
		wf = waitWorkflow(t, dyn, bare, name, "to end", 3*time.Minute, completed)
		// agent/exec/result.go: "the step's outputs are N bytes, more than the
		// 4 KiB a termination message holds: configure a default artifact
		// repository (...) so large outputs are stored there".
		msg := nodeStr(nodeNamed(wf, name), "message")
		if !regexp.MustCompile(`outputs are \d+ bytes`).MatchString(msg) || !strings.Contains(msg, "termination message") ||
			!strings.Contains(msg, "configure a default artifact repository") {
			t.Errorf("the step's message %q should say its outputs are too large for the termination message and to configure a default artifact repository", msg)
		}
		if phaseOf(wf) != "Failed" || !strings.Contains(messageOf(wf), "artifact repository") {
			t.Errorf("want the workflow Failed with the step's message:\n%s", describeWorkflow(wf))
		}
	})

	t.Run("a 1,000-node workflow completes with its status under the size limit", func(t *testing.T) {
		ns := featureNamespace(t, dyn)
		// 1,000 suspend nodes of no duration (nodes without Pods, so the run
		// takes seconds), each with an input of about 1 KB: the nodes alone
		// pass the agent's default 1 MiB limit, so they are stored
		// compressed; then one real step.
		note := strings.Repeat("x", 1000)
		name := submitWorkflow(t, dyn, ns, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: thousand-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: wait
        template: pause
        arguments: {parameters: [{name: note, value: "{{item}}-`+note+`"}]}
        withSequence: {count: "1000"}
    - - name: after
        template: echo
  - name: pause
    inputs: {parameters: [{name: note}]}
    suspend: {duration: "0"}
  - name: echo
    container: {image: `+wfImage+`, imagePullPolicy: IfNotPresent, command: [echo, done]}
`)
		wf := waitWorkflow(t, dyn, ns, name, "to end", 3*time.Minute, completed)
		if phaseOf(wf) != "Succeeded" {
			t.Fatalf("want Succeeded: %s", messageOf(wf))
		}
		stored, err := wf.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		compressed, _, _ := unstructured.NestedString(wf.Object, "status", "compressedNodes")
		if _, plain, _ := unstructured.NestedMap(wf.Object, "status", "nodes"); plain || compressed == "" {
			t.Errorf("a status with 1,000 nodes of 1 KB should be stored compressed: nodes present %v, compressedNodes %d bytes", plain, len(compressed))
		}
		if len(stored) > 1<<20 {
			t.Errorf("the stored workflow is %d bytes, over the agent's 1 MiB limit", len(stored))
		}
		// The plugin shows the nodes as they are.
		r := argo(t, "wf", "get", name, "-n", ns, "-o", "json")
		if r.code != 0 {
			t.Fatalf("wf get -o json exited %d: %s", r.code, r.stderr)
		}
		var got struct {
			Status struct {
				Nodes map[string]struct {
					Type, Phase string
				} `json:"nodes"`
			} `json:"status"`
		}
		if err := yaml.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatal(err)
		}
		suspends := 0
		for _, n := range got.Status.Nodes {
			if n.Type == "Suspend" && n.Phase == "Succeeded" {
				suspends++
			}
		}
		if suspends != 1000 {
			t.Errorf("wf get shows %d succeeded Suspend nodes of %d nodes, want 1000", suspends, len(got.Status.Nodes))
		}
		t.Logf("%d nodes: the stored workflow is %d bytes (compressedNodes %d bytes); wf get -o json prints %d bytes",
			len(got.Status.Nodes), len(stored), len(compressed), len(r.stdout))
	})

	// Last: it taints the only node, which no other workflow may see.
	t.Run("a node going away: the step's Pod is evicted, the workflow retries or ends with a clear message", func(t *testing.T) {
		ns := featureNamespace(t, dyn)
		nodes, err := clientset.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(nodes.Items) != 1 {
			t.Skipf("%d nodes: the test expects the one-node local cluster, where a tainted node leaves the Pods nowhere to go", len(nodes.Items))
		}
		node := nodes.Items[0].Name
		// Whatever happens, the node is left without our taint (also one a
		// killed earlier run left behind).
		untaint := func() {
			if err := setNodeGoneTaint(node, "", false); err != nil {
				t.Errorf("removing the taint %s from node %s: %v: remove it by hand (kubectl taint node %s %s-)", nodeGoneTaintKey, node, err, node, nodeGoneTaintKey)
			}
		}
		untaint()
		t.Cleanup(untaint)
		// The agent runs on that node too: it tolerates the taint, as the
		// control plane of a cluster survives a worker going away.
		tolerateNodeGone(t)

		retried := submitWorkflow(t, dyn, ns, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: evicted-retried-}
spec:
  entrypoint: main
  templates:
  - name: main
    retryStrategy: {limit: "1", retryPolicy: OnError}
    container:
      image: `+wfImage+`
      imagePullPolicy: IfNotPresent
      command: [sh, -c, 'if [ "{{retries}}" = 0 ]; then sleep 60; fi; echo recovered {{retries}}']
`)
		plain := submitWorkflow(t, dyn, ns, `
apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {generateName: evicted-}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: `+wfImage+`, imagePullPolicy: IfNotPresent, command: [sleep, "60"]}
`)
		attempt0, attempt1 := retried+"(0)", retried+"(1)"
		waitWorkflow(t, dyn, ns, retried, "to run its first attempt", 2*time.Minute, func(wf *unstructured.Unstructured) bool {
			return nodeStr(nodeNamed(wf, attempt0), "phase") == "Running"
		})
		waitWorkflow(t, dyn, ns, plain, "to run its step", 2*time.Minute, func(wf *unstructured.Unstructured) bool {
			return nodeStr(nodeNamed(wf, plain), "phase") == "Running"
		})
		plainPods := stepPods(t, ns, plain)
		if len(plainPods) != 1 {
			t.Fatalf("%s has Pods %v, want 1", plain, podNames(plainPods))
		}

		if err := setNodeGoneTaint(node, ns, true); err != nil {
			t.Fatalf("tainting node %s: %v", node, err)
		}
		// The taint eviction controller deletes both step Pods. The retried
		// step's first attempt errors and its second attempt's Pod cannot
		// be scheduled while the taint is there.
		waitWorkflow(t, dyn, ns, retried, "to error its first attempt and wait to schedule the second", 90*time.Second, func(wf *unstructured.Unstructured) bool {
			n0, n1 := nodeNamed(wf, attempt0), nodeNamed(wf, attempt1)
			return nodeStr(n0, "phase") == "Error" && n1 != nil && nodeStr(n1, "phase") == "Pending"
		})
		var pending corev1.Pod
		waitFor(t, "the second attempt's Pod to be unschedulable for the taint", time.Minute, func(ctx context.Context) (bool, error) {
			pods := podsOfNode(t, ns, retried, attempt1)
			if len(pods) != 1 {
				return false, nil
			}
			pending = pods[0]
			for _, c := range pending.Status.Conditions {
				if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
					return strings.Contains(c.Message, "taint"), nil
				}
			}
			return false, nil
		})
		wf := waitWorkflow(t, dyn, ns, retried, "to say why the second attempt waits", 30*time.Second, func(wf *unstructured.Unstructured) bool {
			return strings.Contains(nodeStr(nodeNamed(wf, attempt1), "message"), "taint")
		})
		if msg := nodeStr(nodeNamed(wf, attempt0), "message"); !strings.Contains(msg, "pod deleted") {
			t.Errorf("the evicted attempt's message is %q; want it to say the pod was deleted", msg)
		} else {
			t.Logf("the evicted attempt's message: %q", msg)
		}
		wf = waitWorkflow(t, dyn, ns, plain, "to end after the eviction", time.Minute, completed)
		if phaseOf(wf) != "Error" || !strings.Contains(messageOf(wf), "pod deleted") || !strings.Contains(nodeStr(nodeNamed(wf, plain), "message"), "pod deleted") {
			t.Errorf("the step without a retryStrategy: want the workflow in Error saying the pod was deleted; got:\n%s", describeWorkflow(wf))
		}

		// The node comes back: the second attempt runs.
		if err := setNodeGoneTaint(node, "", false); err != nil {
			t.Fatalf("removing the taint from node %s: %v", node, err)
		}
		wf = waitWorkflow(t, dyn, ns, retried, "to end once the taint is gone", 2*time.Minute, completed)
		if phaseOf(wf) != "Succeeded" || nodeStr(nodeNamed(wf, attempt0), "phase") != "Error" || nodeStr(nodeNamed(wf, attempt1), "phase") != "Succeeded" {
			t.Errorf("want Succeeded: the evicted attempt in Error, the second Succeeded; got:\n%s", describeWorkflow(wf))
		}
		if got := podsOfNode(t, ns, retried, attempt1); len(got) != 1 || got[0].UID != pending.UID {
			t.Errorf("the second attempt ran in %v, want only its Pod %s (uid %s)", podUIDs(got), pending.Name, pending.UID)
		}
		if logs := argo(t, "wf", "logs", retried, "-n", ns); !strings.Contains(logs.stdout, "recovered 1") {
			t.Errorf("wf logs lack the second attempt's output \"recovered 1\":\n%s", logs.stdout)
		}
		// The workflow that ended in Error started nothing more.
		for _, p := range stepPods(t, ns, plain) {
			if p.UID != plainPods[0].UID {
				t.Errorf("%s ended in Error but has a new Pod %s", plain, p.Name)
			}
		}
	})
}

// featureNamespace is a namespace for one subtest; when the subtest fails
// every workflow in it is logged (phase, message, nodes).
func featureNamespace(t *testing.T, dyn dynamic.Interface) string {
	t.Helper()
	ns := newNamespace(t)
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		list, err := dyn.Resource(workflowGVR).Namespace(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Logf("listing the workflows of %s: %v", ns, err)
			return
		}
		for i := range list.Items {
			t.Logf("%s", describeWorkflow(&list.Items[i]))
		}
	})
	return ns
}

// describeWorkflow is a workflow's phase, message and nodes, for failure messages.
func describeWorkflow(wf *unstructured.Unstructured) string {
	if wf == nil {
		return "(no workflow)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "workflow %s/%s: phase %q, message %q", wf.GetNamespace(), wf.GetName(), phaseOf(wf), messageOf(wf))
	if s, found, _ := unstructured.NestedBool(wf.Object, "spec", "suspend"); found {
		fmt.Fprintf(&b, ", spec.suspend %v", s)
	}
	nodes, _, _ := unstructured.NestedMap(wf.Object, "status", "nodes")
	var lines []string
	for _, v := range nodes {
		n, _ := v.(map[string]any)
		line := fmt.Sprintf("  node %s [%s] %s", nodeStr(n, "name"), nodeStr(n, "type"), nodeStr(n, "phase"))
		if m := nodeStr(n, "message"); m != "" {
			line += fmt.Sprintf(" message %q", clipText(m, 300))
		}
		if r, found, _ := unstructured.NestedString(n, "outputs", "result"); found {
			line += fmt.Sprintf(" result (%d bytes) %q", len(r), clipText(r, 80))
		}
		lines = append(lines, line)
	}
	slices.Sort(lines)
	for _, l := range lines {
		b.WriteString("\n" + l)
	}
	return b.String()
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func getWorkflow(t *testing.T, dyn dynamic.Interface, ns, name string) *unstructured.Unstructured {
	t.Helper()
	wf, err := dyn.Resource(workflowGVR).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading workflow %s/%s: %v", ns, name, err)
	}
	return wf
}

// nodeNamed is the workflow's node with that name, nil when there is none.
func nodeNamed(wf *unstructured.Unstructured, name string) map[string]any {
	nodes, _, _ := unstructured.NestedMap(wf.Object, "status", "nodes")
	for _, v := range nodes {
		if n, ok := v.(map[string]any); ok && n["name"] == name {
			return n
		}
	}
	return nil
}

// nodeStr is a string field of a node ("" when n is nil or lacks it).
func nodeStr(n map[string]any, fields ...string) string {
	s, _, _ := unstructured.NestedString(n, fields...)
	return s
}

// nodeParam is the value of a node's input or output parameter (section
// "inputs" or "outputs"), "" when it has none.
func nodeParam(n map[string]any, section, name string) string {
	params, _, _ := unstructured.NestedSlice(n, section, "parameters")
	for _, p := range params {
		if m, ok := p.(map[string]any); ok && m["name"] == name {
			v, _ := m["value"].(string)
			return v
		}
	}
	return ""
}

// lockListed reports whether status.synchronization.mutex lists holder
// under list ("holding" or "waiting") for lock.
func lockListed(wf *unstructured.Unstructured, list, lock, holder string) bool {
	entries, _, _ := unstructured.NestedSlice(wf.Object, "status", "synchronization", "mutex", list)
	for _, e := range entries {
		m, _ := e.(map[string]any)
		if m["lock"] != lock {
			continue
		}
		holders, _, _ := unstructured.NestedStringSlice(m, "holders")
		if slices.Contains(holders, holder) {
			return true
		}
	}
	return false
}

// podsOfNode are the workflow's step Pods of one node (by the node-name annotation).
func podsOfNode(t *testing.T, ns, wf, node string) []corev1.Pod {
	t.Helper()
	var out []corev1.Pod
	for _, p := range stepPods(t, ns, wf) {
		if p.Annotations[wfnames.AnnotationNodeName] == node {
			out = append(out, p)
		}
	}
	return out
}

func podNames(pods []corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

func podUIDs(pods []corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name+" (uid "+string(p.UID)+")")
	}
	return out
}

func workflowNames(wfs []unstructured.Unstructured) []string {
	var out []string
	for i := range wfs {
		out = append(out, wfs[i].GetName())
	}
	return out
}

// terminatedMain is the main container's terminated state, nil while it runs.
func terminatedMain(p *corev1.Pod) *corev1.ContainerStateTerminated {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == "main" {
			return cs.State.Terminated
		}
	}
	return nil
}

// mainRun is when the main container of a one-step workflow's Pod ran.
func mainRun(t *testing.T, ns, wf string) (start, end time.Time) {
	t.Helper()
	pods := stepPods(t, ns, wf)
	if len(pods) != 1 {
		t.Fatalf("%s has step Pods %v, want 1", wf, podNames(pods))
	}
	term := terminatedMain(&pods[0])
	if term == nil {
		t.Fatalf("the main container of %s has not ended: %+v", pods[0].Name, pods[0].Status.ContainerStatuses)
	}
	return term.StartedAt.Time, term.FinishedAt.Time
}

// submittedRe finds the workflow name in the plugin's
// "workflow.argolite.dev/NAME submitted" line.
var submittedRe = regexp.MustCompile(`workflow\.argolite\.dev/([a-z0-9][a-z0-9.-]*) submitted`)

func submittedName(t *testing.T, r result) string {
	t.Helper()
	m := submittedRe.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no \"workflow.argolite.dev/NAME submitted\" in the output:\n%s%s", r.stdout, r.stderr)
	}
	return m[1]
}

// waitEventNote waits for an events.k8s.io Event with reason about the
// object named regarding in ns, and returns its note.
func waitEventNote(t *testing.T, ns, regarding, reason string, timeout time.Duration) string {
	t.Helper()
	var note string
	waitFor(t, "an Event "+reason+" on "+regarding, timeout, func(ctx context.Context) (bool, error) {
		evs, err := clientset.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.Regarding.Name == regarding && e.Reason == reason {
				note = e.Note
				return true, nil
			}
		}
		return false, nil
	})
	return note
}

var (
	sampleRe = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)`)
	labelRe  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// metricSample is the value of the sample of metric name (or name_total)
// whose labels include want, in Prometheus text format.
func metricSample(text, name string, want map[string]string) (float64, bool) {
	for _, l := range strings.Split(text, "\n") {
		m := sampleRe.FindStringSubmatch(l)
		if m == nil || (m[1] != name && m[1] != name+"_total") {
			continue
		}
		labels := map[string]string{}
		for _, lm := range labelRe.FindAllStringSubmatch(m[2], -1) {
			labels[lm[1]] = lm[2]
		}
		match := true
		for k, v := range want {
			match = match && labels[k] == v
		}
		if !match {
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		return v, err == nil
	}
	return 0, false
}

// deployArtifactStore runs the S3-compatible store (Service minio, Secret
// my-minio-cred, bucket my-bucket) in ns with the artifact-repositories
// ConfigMap, as the conformance suite does, and waits until it serves.
func deployArtifactStore(t *testing.T, dyn dynamic.Interface, ns string) {
	t.Helper()
	objs, err := s3manifest.Objects()
	if err != nil {
		t.Fatal(err)
	}
	cm, err := s3manifest.ArtifactRepositories()
	if err != nil {
		t.Fatal(err)
	}
	objs = append(objs, cm)
	for _, obj := range objs {
		gvk := obj.GroupVersionKind()
		gvr := schema.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: strings.ToLower(gvk.Kind) + "s"}
		obj.SetNamespace(ns)
		if _, err := dyn.Resource(gvr).Namespace(ns).Create(context.Background(), obj, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating %s %s/%s: %v", gvk.Kind, ns, obj.GetName(), err)
		}
	}
	waitFor(t, "the artifact store "+ns+"/"+s3manifest.Name+" to be ready", 2*time.Minute, func(ctx context.Context) (bool, error) {
		d, err := clientset.AppsV1().Deployments(ns).Get(ctx, s3manifest.Name, metav1.GetOptions{})
		return err == nil && d.Status.ReadyReplicas == 1, err
	})
}

// setNodeGoneTaint adds the NoExecute taint nodeGoneTaintKey=value to node,
// or removes every taint with that key (and no other).
func setNodeGoneTaint(node, value string, add bool) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ctx := context.Background()
		n, err := clientset.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		taints := slices.DeleteFunc(slices.Clone(n.Spec.Taints), func(tt corev1.Taint) bool { return tt.Key == nodeGoneTaintKey })
		if add {
			taints = append(taints, corev1.Taint{Key: nodeGoneTaintKey, Value: value, Effect: corev1.TaintEffectNoExecute})
		} else if len(taints) == len(n.Spec.Taints) {
			return nil
		}
		n.Spec.Taints = taints
		_, err = clientset.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
}

// tolerateNodeGone adds a toleration of nodeGoneTaintKey to the running
// agent Pods (a Pod's tolerations may be added to in place), so that the
// taint evicts the step Pods but not the agent.
func tolerateNodeGone(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	pods, err := clientset.CoreV1().Pods(agentmeta.Namespace).List(ctx, metav1.ListOptions{LabelSelector: agentmeta.ComponentLabel + "=" + agentmeta.Name})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("agent pods: %v (%d found)", err, len(pods.Items))
	}
	toleration := corev1.Toleration{Key: nodeGoneTaintKey, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			pod, err := clientset.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
			if isNotFound(err) {
				return nil
			}
			if err != nil {
				return err
			}
			if slices.ContainsFunc(pod.Spec.Tolerations, func(tl corev1.Toleration) bool { return tl.Key == nodeGoneTaintKey }) {
				return nil
			}
			pod.Spec.Tolerations = append(pod.Spec.Tolerations, toleration)
			_, err = clientset.CoreV1().Pods(p.Namespace).Update(ctx, pod, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatalf("letting agent Pod %s tolerate the taint %s: %v", p.Name, nodeGoneTaintKey, err)
		}
	}
}

// setAgentConfigKey sets one key of the agent's argolite-config ConfigMap
// (creating it if need be) and restores what was there when the test ends.
func setAgentConfigKey(t *testing.T, key, value string) {
	t.Helper()
	ctx := context.Background()
	cms := clientset.CoreV1().ConfigMaps(agentmeta.Namespace)
	const name = "argolite-config" // agent/workflow.ConfigMapName
	cm, err := cms.Get(ctx, name, metav1.GetOptions{})
	if err != nil && !isNotFound(err) {
		t.Fatalf("reading ConfigMap %s/%s: %v", agentmeta.Namespace, name, err)
	}
	created := false
	if err != nil {
		cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: agentmeta.Namespace}}
		created = true
	}
	old, had := cm.Data[key]
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data[key] = value
	if created {
		_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
	} else {
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	}
	if err != nil {
		t.Fatalf("setting %s in ConfigMap %s/%s: %v", key, agentmeta.Namespace, name, err)
	}
	t.Cleanup(func() {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cm, err := cms.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if created && len(cm.Data) == 1 {
				return cms.Delete(ctx, name, metav1.DeleteOptions{})
			}
			if had {
				cm.Data[key] = old
			} else {
				delete(cm.Data, key)
			}
			_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Errorf("restoring ConfigMap %s/%s: %v", agentmeta.Namespace, name, err)
		}
	})
}
