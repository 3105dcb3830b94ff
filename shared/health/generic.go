package health

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/argolite/argolite/shared/api/v1alpha1"
)

// isOwnGroup reports whether objects of group are argolite's kinds, or Argo's
// kinds they mirror (the plugin accepts argoproj.io YAML).
func isOwnGroup(group string) bool {
	return group == v1alpha1.GroupVersion.Group || group == "argoproj.io"
}

// awaitsStatus lists the kinds whose controller always reports a health or a
// phase: until it does, they are Progressing (as Argo CD's rules for its
// Application, Workflow, Rollout, AnalysisRun and Experiment say), not Healthy.
var awaitsStatus = map[string]bool{
	"Application": true,
	"Workflow":    true,
	"Rollout":     true,
	"AnalysisRun": true,
	"Experiment":  true,
}

// phaseHealth maps the phases of argolite's kinds (Workflow, Rollout,
// AnalysisRun, ...) to health, as Argo CD's rules for those kinds do.
var phaseHealth = map[string]v1alpha1.HealthStatusCode{
	"Pending":      v1alpha1.HealthProgressing,
	"Running":      v1alpha1.HealthProgressing,
	"Progressing":  v1alpha1.HealthProgressing,
	"Succeeded":    v1alpha1.HealthHealthy,
	"Successful":   v1alpha1.HealthHealthy,
	"Healthy":      v1alpha1.HealthHealthy,
	"Failed":       v1alpha1.HealthDegraded,
	"Error":        v1alpha1.HealthDegraded,
	"Degraded":     v1alpha1.HealthDegraded,
	"Paused":       v1alpha1.HealthSuspended,
	"Suspended":    v1alpha1.HealthSuspended,
	"Inconclusive": v1alpha1.HealthUnknown,
}

var validCodes = map[v1alpha1.HealthStatusCode]bool{
	v1alpha1.HealthHealthy:     true,
	v1alpha1.HealthProgressing: true,
	v1alpha1.HealthDegraded:    true,
	v1alpha1.HealthSuspended:   true,
	v1alpha1.HealthMissing:     true,
	v1alpha1.HealthUnknown:     true,
}

// ownKindHealth judges argolite's kinds: an unobserved spec is Progressing;
// then status.health if set; then status.phase; then, for kinds that always
// report one, Progressing while they have not. known is false when none of
// these apply and kstatus should decide.
func ownKindHealth(obj *unstructured.Unstructured) (Status, bool, error) {
	kind := obj.GetKind()
	if gen, ok := intField(obj.Object, "metadata", "generation"); ok {
		if observed, ok := intField(obj.Object, "status", "observedGeneration"); ok && observed < gen {
			return Status{
				Code:    v1alpha1.HealthProgressing,
				Message: fmt.Sprintf("Waiting for %s generation %d to be observed (status describes generation %d)", kind, gen, observed),
			}, true, nil
		}
	}
	if code := stringField(obj.Object, "status", "health", "status"); code != "" {
		st := Status{Code: v1alpha1.HealthStatusCode(code), Message: stringField(obj.Object, "status", "health", "message")}
		if !validCodes[st.Code] {
			return Status{}, true, fmt.Errorf("%s %s: status.health.status is %q, not one of Healthy, Progressing, Degraded, Suspended, Missing, Unknown", kind, objectName(obj), code)
		}
		return st, true, nil
	}
	message := stringField(obj.Object, "status", "message")
	if phase := stringField(obj.Object, "status", "phase"); phase != "" {
		code, ok := phaseHealth[phase]
		if !ok {
			return Status{}, true, fmt.Errorf("%s %s: status.phase %q has no known health; add a custom health rule for %s to judge it", kind, objectName(obj), phase, kind)
		}
		return Status{Code: code, Message: message}, true, nil
	}
	if awaitsStatus[kind] {
		if message == "" {
			message = fmt.Sprintf("Waiting for the %s status to be reported", kind)
		}
		return Status{Code: v1alpha1.HealthProgressing, Message: message}, true, nil
	}
	return Status{}, false, nil
}

// kstatusHealth judges any other object with kstatus: Current is Healthy,
// InProgress and Terminating are Progressing, Failed is Degraded, NotFound
// is Missing. Objects with nothing to report (ConfigMaps, Secrets, RBAC)
// are Current, so Healthy.
func kstatusHealth(obj *unstructured.Unstructured) Status {
	res, err := computeKstatus(obj)
	if err != nil {
		return Status{Code: v1alpha1.HealthUnknown, Message: fmt.Sprintf("%s %s: %v", obj.GetKind(), objectName(obj), err)}
	}
	switch res.Status {
	case status.CurrentStatus:
		msg := res.Message
		switch msg {
		case "Resource is current", "Resource is Ready", "Resource is always ready":
			msg = "" // kstatus's filler, not news
		}
		return Status{Code: v1alpha1.HealthHealthy, Message: msg}
	case status.InProgressStatus, status.TerminatingStatus:
		return Status{Code: v1alpha1.HealthProgressing, Message: res.Message}
	case status.FailedStatus:
		return Status{Code: v1alpha1.HealthDegraded, Message: res.Message}
	case status.NotFoundStatus:
		return Status{Code: v1alpha1.HealthMissing, Message: res.Message}
	}
	return Status{Code: v1alpha1.HealthUnknown, Message: res.Message}
}

// computeKstatus shields Check from a panic inside kstatus on a malformed
// object: input never crashes the caller.
func computeKstatus(obj *unstructured.Unstructured) (res *status.Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("kstatus could not read the object: %v", r)
		}
	}()
	return status.Compute(obj)
}

// hookFinalizers keep a finished hook alive until its result is read;
// gitops-engine does not treat such an object as pending deletion.
var hookFinalizers = []string{
	"argocd.argoproj.io/hook-finalizer",
	"argolite.dev/hook-finalizer",
}

func hasHookFinalizer(obj *unstructured.Unstructured) bool {
	for _, f := range obj.GetFinalizers() {
		for _, h := range hookFinalizers {
			if f == h {
				return true
			}
		}
	}
	return false
}

func stringField(obj map[string]any, path ...string) string {
	v, found, err := unstructured.NestedFieldNoCopy(obj, path...)
	if err != nil || !found {
		return ""
	}
	s, _ := v.(string)
	return s
}

// intField reads a whole number whichever Go type decoding gave it.
func intField(obj map[string]any, path ...string) (int64, bool) {
	v, found, err := unstructured.NestedFieldNoCopy(obj, path...)
	if err != nil || !found {
		return 0, false
	}
	return toInt64(v)
}

func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return int64(n), true
		}
	case string:
		// Argo Rollouts writes status.observedGeneration as a string.
		if i, err := strconv.ParseInt(n, 10, 64); err == nil {
			return i, true
		}
	}
	return 0, false
}

// groupKindString spells a group and kind as group/Kind, or Kind for the core group.
func groupKindString(group, kind string) string {
	return strings.TrimPrefix(group+"/"+kind, "/")
}

// fields reads typed values from an object, remembering the first field
// whose type is wrong so a rule can report it instead of guessing.
type fields struct {
	obj map[string]any
	err error
}

func (f *fields) lookup(path []string) (any, bool) {
	v, found, err := unstructured.NestedFieldNoCopy(f.obj, path...)
	if err != nil {
		f.fail(path, err.Error())
		return nil, false
	}
	return v, found && v != nil
}

func (f *fields) fail(path []string, problem string) {
	if f.err == nil {
		f.err = fmt.Errorf("field %s: %s", strings.Join(path, "."), problem)
	}
}

func (f *fields) present(path ...string) bool {
	_, ok := f.lookup(path)
	return ok
}

// optInteger reads a whole number, reporting whether it was set.
func (f *fields) optInteger(path ...string) (int64, bool) {
	v, ok := f.lookup(path)
	if !ok {
		return 0, false
	}
	n, ok := toInt64(v)
	if !ok {
		f.fail(path, fmt.Sprintf("%v is not a whole number", v))
	}
	return n, ok
}

func (f *fields) integer(path ...string) int64 {
	n, _ := f.optInteger(path...)
	return n
}

func (f *fields) str(path ...string) string {
	v, ok := f.lookup(path)
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		f.fail(path, fmt.Sprintf("%v is not a string", v))
	}
	return s
}

func (f *fields) boolean(path ...string) bool {
	v, ok := f.lookup(path)
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		f.fail(path, fmt.Sprintf("%v is not true or false", v))
	}
	return b
}
