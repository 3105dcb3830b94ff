package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/argolite/argolite/shared/wfnames"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The label and annotation the agent puts on the workflows a CronWorkflow starts.
const (
	labelCronWorkflow       = wfnames.LabelCronWorkflow
	annotationScheduledTime = wfnames.AnnotationScheduledTime
)

// cronSchedules is the subtest of TestWorkflowFeatures
// "cron schedules, triggers, forbids overlap and keeps history".
func (ws *workflowSuite) cronSchedules(t *testing.T) {
	dyn := ws.dyn
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
}

var cronWorkflowGVR = schema.GroupVersionResource{Group: "argolite.dev", Version: "v1alpha1", Resource: "cronworkflows"}

func workflowNames(wfs []unstructured.Unstructured) []string {
	var out []string
	for i := range wfs {
		out = append(out, wfs[i].GetName())
	}
	return out
}
