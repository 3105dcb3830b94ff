package conformance

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// givenText is a fixture with its ROLLOUT_NAME filled in and the merge
// patches given applied to its Rollout, as YAML documents.
func givenText(path, name string, given []string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if name != "" {
		data = []byte(strings.ReplaceAll(string(data), "ROLLOUT_NAME", name))
	}
	objs, err := decodeObjects(data)
	if err != nil {
		return "", err
	}
	var docs []string
	for _, o := range objs {
		if o.GetKind() == "Rollout" {
			for _, g := range given {
				patch, err := yaml.YAMLToJSON([]byte(g))
				if err != nil {
					return "", err
				}
				cur, err := json.Marshal(o.Object)
				if err != nil {
					return "", err
				}
				next, err := jsonpatch.MergePatch(cur, patch)
				if err != nil {
					return "", fmt.Errorf("applying %s: %w", g, err)
				}
				o = &unstructured.Unstructured{}
				if err := json.Unmarshal(next, &o.Object); err != nil {
					return "", err
				}
			}
		}
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			return "", err
		}
		docs = append(docs, string(b))
	}
	return strings.Join(docs, "---\n"), nil
}

// Argo's fixture modifiers, as merge patches on the Rollout.
func setSteps(y string) string { return "spec: {strategy: {canary: {steps: " + y + "}}}" }
func setVersion(v string) string {
	return fmt.Sprintf("spec: {template: {metadata: {annotations: {version: %q}}}}", v)
}
func autoPromotionSeconds(n int) string {
	return fmt.Sprintf("spec: {strategy: {blueGreen: {autoPromotionSeconds: %d}}}", n)
}
func scaleDownDelaySeconds(n int) string {
	return fmt.Sprintf("spec: {strategy: {blueGreen: {scaleDownDelaySeconds: %d}}}", n)
}

const (
	noAutoPromotion = "spec: {strategy: {blueGreen: {autoPromotionEnabled: false}}}"
	historyFive     = "spec: {revisionHistoryLimit: 5}"
	windowOne       = "spec: {rollbackWindow: {revisions: 1}}"
)

func updateVersion(v string) rolloutStep { return updateSpec(setVersion(v)) }

// duration reads the Rollout's status.duration and checks Argo's
// assertDurationFieldsConsistency.
func (e *rolloutEnv) duration() (map[string]any, error) {
	ro, err := e.rollout()
	if err != nil {
		return nil, err
	}
	d, ok, _ := unstructured.NestedMap(ro.Object, "status", "duration")
	switch {
	case !ok:
		return nil, fmt.Errorf("status.duration is not set")
	case d["rolloutStartedAt"] == nil:
		return nil, fmt.Errorf("status.duration.rolloutStartedAt is not set: %v", d)
	case d["finishedAt"] != nil && d["completionStatus"] == nil:
		return nil, fmt.Errorf("status.duration has finishedAt without completionStatus: %v", d)
	case d["finishedAt"] != nil && d["manualPauseStartedAt"] != nil:
		return nil, fmt.Errorf("status.duration is finished with a manual pause running: %v", d)
	}
	return d, nil
}

// done checks the update ended as want ("" for not ended), with the manual
// pause total as pause says: "nil", ">0" or ">=0" (set).
func done(want, pause string) rolloutStep {
	return func(e *rolloutEnv) error {
		d, err := e.duration()
		if err != nil {
			return err
		}
		got, _ := d["completionStatus"].(string)
		if got != want || (want != "") != (d["finishedAt"] != nil) {
			return fmt.Errorf("status.duration = %v, want completionStatus %q and finishedAt %v", d, want, want != "")
		}
		total, set := d["totalManualPauseDuration"].(int64)
		switch {
		case pause == "nil" && d["totalManualPauseDuration"] != nil:
			return fmt.Errorf("totalManualPauseDuration = %v, want unset", d["totalManualPauseDuration"])
		case pause == ">0" && (!set || total <= 0):
			return fmt.Errorf("totalManualPauseDuration = %v, want more than 0", d["totalManualPauseDuration"])
		case pause == ">=0" && !set:
			return fmt.Errorf("totalManualPauseDuration = %v, want set", d["totalManualPauseDuration"])
		}
		return nil
	}
}

// manualPauseRunning checks manualPauseStartedAt is set.
func manualPauseRunning() rolloutStep {
	return func(e *rolloutEnv) error {
		d, err := e.duration()
		if err != nil {
			return err
		}
		if d["manualPauseStartedAt"] == nil {
			return fmt.Errorf("manualPauseStartedAt is not set: %v", d)
		}
		return nil
	}
}

// rememberStart and sameStart compare rolloutStartedAt across steps.
func rememberStart() rolloutStep {
	return func(e *rolloutEnv) error {
		d, err := e.duration()
		if err != nil {
			return err
		}
		e.remembered = fmt.Sprint(d["rolloutStartedAt"])
		return nil
	}
}

func sameStart(same bool) rolloutStep {
	return func(e *rolloutEnv) error {
		d, err := e.duration()
		if err != nil {
			return err
		}
		if got := fmt.Sprint(d["rolloutStartedAt"]); (got == e.remembered) != same {
			return fmt.Errorf("rolloutStartedAt %s, remembered %s: want the same %v", got, e.remembered, same)
		}
		return nil
	}
}

func waitReplicas(n int64) rolloutStep { return availableReplicas(n) }

// durationScenarios are Argo's duration_test.go (the corpus' commit), the
// canary and blue/green lifecycle of status.duration.
var durationScenarios = func() []rolloutScenario {
	const canary, bg = "canary-duration-template.yaml", "bluegreen-duration-template.yaml"
	timed := setSteps("[{setWeight: 50}, {pause: {duration: 1s}}]")
	held := setSteps("[{setWeight: 50}, {pause: {}}]")
	c := func(test, name string, given []string, steps ...rolloutStep) rolloutScenario {
		return rolloutScenario{test: "duration_test.go " + test, file: canary, name: name, given: given, steps: steps}
	}
	b := func(test, name string, given []string, steps ...rolloutStep) rolloutScenario {
		return rolloutScenario{test: "duration_test.go " + test, file: bg, name: name, given: given, steps: steps}
	}
	return []rolloutScenario{
		c("TestCanaryDuration_InitialRollout", "canary-duration-start", []string{timed},
			waitPhase("Healthy"), done("Promoted", "nil")),
		c("TestCanaryDuration_SpecPaused", "canary-duration-spec-paused", []string{timed},
			waitPhase("Healthy"), updateSpec("spec: {paused: true}"), updateSpec(`{"spec":{"template":{"metadata":{"annotations":{"update":"1"}}}}}`),
			waitPhase("Paused"), manualPauseRunning(), sleep(2e9), updateSpec("spec: {paused: false}"), waitPhase("Healthy"), done("Promoted", ">0")),
		c("TestCanaryDuration_PauseStep", "canary-duration-pause-step", []string{timed},
			waitPhase("Healthy"), updateSpec(""), waitPhase("Healthy"), done("Promoted", "nil")),
		c("TestCanaryDuration_IndefinitePauseStep", "canary-duration-indefinite-pause-step", []string{held},
			waitPhase("Healthy"), updateSpec(""), waitPhase("Paused"), manualPauseRunning(), sleep(2e9), promote(), waitPhase("Healthy"), done("Promoted", ">0")),
		c("TestCanaryDuration_FullyPromoted", "canary-duration-fully-promoted",
			[]string{setSteps("[{setWeight: 25}, {pause: {}}, {setWeight: 50}, {pause: {}}, {setWeight: 75}, {pause: {}}]")},
			waitPhase("Healthy"), updateSpec(""), waitPhase("Paused"), cli("promote", "--full"), waitPhase("Healthy"), done("FastPromoted", ">=0")),
		c("TestCanaryDuration_Abort", "canary-duration-abort", []string{held},
			waitPhase("Healthy"), updateSpec(""), waitPhase("Paused"), abort(), waitPhase("Degraded"), done("Aborted", ">=0")),
		c("TestCanaryDuration_Retry", "canary-duration-retry", []string{held},
			waitPhase("Healthy"), updateSpec(""), waitPhase("Paused"), abort(), waitPhase("Degraded"), rememberStart(),
			sleep(2e9), cli("retry"), waitPhase("Paused"), sameStart(false), done("", "")),
		c("TestCanaryDuration_SupersededRollout", "canary-duration-superseded-forward", []string{held},
			waitPhase("Healthy"), updateVersion("2"), waitPhase("Paused"), rememberStart(), sleep(1e9), updateVersion("3"), waitPhase("Paused"),
			promote(), waitPhase("Healthy"), sameStart(false), done("Promoted", "")),
		c("TestCanaryDuration_SupersededRollback", "canary-duration-superseded-rollback", []string{held, setVersion("1")},
			waitPhase("Healthy"), updateVersion("2"), waitPhase("Paused"), rememberStart(), updateVersion("1"), waitPhase("Healthy"),
			sameStart(true), done("FastRollbacked", ">=0")),
		c("TestCanaryDuration_RollbackOutsideWindow", "canary-duration-rollback-outside", []string{held, setVersion("1"), historyFive, windowOne},
			waitPhase("Healthy"), updateVersion("2"), waitPhase("Paused"), promote(), waitPhase("Healthy"),
			updateVersion("3"), waitPhase("Paused"), promote(), waitPhase("Healthy"),
			updateVersion("4"), waitPhase("Paused"), updateVersion("1"), waitPhase("Paused"), promote(), waitPhase("Healthy"), done("Rollbacked", "")),
		c("TestCanaryDuration_RollbackInsideWindow", "canary-duration-rollback-inside", []string{held, setVersion("1"), historyFive, windowOne},
			waitPhase("Healthy"), updateVersion("2"), waitPhase("Paused"), promote(), waitPhase("Healthy"),
			updateVersion("3"), waitPhase("Paused"), updateVersion("1"), waitPhase("Healthy"), done("FastRollbacked", "")),
		c("TestCanaryDuration_ScalingOnly", "canary-duration-scaling-only", []string{timed},
			waitPhase("Healthy"), rememberStart(), replicas(2), waitReplicas(2), sameStart(true)),

		b("TestBlueGreenDuration_InitialRollout", "bluegreen-duration-start", []string{autoPromotionSeconds(2)},
			waitPhase("Healthy"), done("Promoted", "nil")),
		b("TestBlueGreenDuration_SpecPaused", "bluegreen-duration-spec-paused", []string{autoPromotionSeconds(2)},
			waitPhase("Healthy"), updateSpec("spec: {paused: true}"), updateVersion("1"), waitPhase("Paused"), manualPauseRunning(),
			sleep(2e9), updateSpec("spec: {paused: false}"), waitPhase("Healthy"), done("Promoted", ">0")),
		b("TestBlueGreenDuration_AutoPromotion", "bluegreen-duration-auto-promotion", []string{autoPromotionSeconds(2)},
			waitPhase("Healthy"), updateSpec(""), waitPhase("Healthy"), done("Promoted", "nil")),
		b("TestBlueGreenDuration_ManualPromotion", "bluegreen-duration-manual-promotion", []string{noAutoPromotion},
			waitPhase("Healthy"), updateSpec(""), waitPhase("Paused"), promote(), waitPhase("Healthy"), done("Promoted", ">=0")),
		b("TestBlueGreenDuration_FullyPromoted", "bluegreen-duration-fully-promoted", []string{noAutoPromotion},
			waitPhase("Healthy"), updateSpec(""), waitPhase("Paused"), cli("promote", "--full"), waitPhase("Healthy"), done("FastPromoted", ">=0")),
		b("TestBlueGreenDuration_Abort", "bluegreen-duration-abort", []string{noAutoPromotion},
			waitPhase("Healthy"), updateSpec(""), waitPhase("Paused"), abort(), waitPhase("Degraded"), done("Aborted", ">=0")),
		b("TestBlueGreenDuration_Retry", "bluegreen-duration-retry", []string{noAutoPromotion},
			waitPhase("Healthy"), updateSpec(""), waitPhase("Paused"), abort(), waitPhase("Degraded"), rememberStart(),
			sleep(2e9), cli("retry"), waitPhase("Paused"), sameStart(false), done("", "")),
		b("TestBlueGreenDuration_SupersededRollout", "bluegreen-duration-superseded-rollout", []string{noAutoPromotion, setVersion("1")},
			waitPhase("Healthy"), updateVersion("2"), waitPhase("Paused"), rememberStart(), sleep(1e9), updateVersion("3"), waitPhase("Paused"),
			promote(), waitPhase("Healthy"), sameStart(false), done("Promoted", "")),
		b("TestBlueGreenDuration_SupersededRollbackToStable", "bluegreen-duration-superseded-rollback-stable",
			[]string{noAutoPromotion, setVersion("1"), scaleDownDelaySeconds(0)},
			waitPhase("Healthy"), updateVersion("2"), waitPhase("Paused"), rememberStart(), updateVersion("1"), waitPhase("Healthy"),
			sameStart(true), done("FastRollbacked", ">=0")),
		b("TestBlueGreenDuration_SupersededRollback", "bluegreen-duration-superseded-rollback",
			[]string{noAutoPromotion, setVersion("1"), scaleDownDelaySeconds(30)},
			waitPhase("Healthy"), updateVersion("2"), waitPhase("Paused"), promote(), waitPhase("Healthy"),
			updateVersion("3"), waitPhase("Paused"), updateVersion("1"), waitPhase("Healthy"), done("FastRollbacked", "")),
		b("TestBlueGreenDuration_RollbackOutsideWindow", "bluegreen-duration-rollback-outside-window",
			[]string{noAutoPromotion, setVersion("1"), historyFive, windowOne, scaleDownDelaySeconds(0)},
			waitPhase("Healthy"), updateVersion("2"), waitPhase("Paused"), promote(), waitPhase("Healthy"),
			updateVersion("3"), waitPhase("Paused"), promote(), waitPhase("Healthy"),
			updateVersion("4"), waitPhase("Paused"), updateVersion("1"), waitPhase("Paused"), promote(), waitPhase("Healthy"), done("Rollbacked", "")),
		b("TestBlueGreenDuration_RollbackInsideWindow", "bluegreen-duration-rollback-inside-window",
			[]string{noAutoPromotion, setVersion("1"), historyFive, windowOne, scaleDownDelaySeconds(0)},
			waitPhase("Healthy"), updateVersion("2"), waitPhase("Paused"), promote(), waitPhase("Healthy"),
			updateVersion("3"), waitPhase("Paused"), updateVersion("1"), waitPhase("Healthy"), done("FastRollbacked", "")),
		b("TestBlueGreenDuration_ScalingOnly", "bluegreen-duration-scaling-only", []string{autoPromotionSeconds(2)},
			waitPhase("Healthy"), rememberStart(), replicas(2), waitReplicas(2), sameStart(true)),
	}
}()
