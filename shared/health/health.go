// Package health owns the judgement of whether a live Kubernetes object is
// healthy, as Argo CD judges it: the built-in rules of Argo's gitops-engine for
// workloads, Jobs, Pods, Services, Ingresses, PVCs, HPAs and APIServices, the
// status of argolite's own kinds, kstatus for everything else, and custom rules
// written as CEL expressions in Argo CD's argocd-cm key format. It also ranks
// health codes, aggregates many objects into one application health, and turns
// a hook object's health into Argo's hook phase.
//
// The agent uses it for application health and for sync waves that wait for
// health; the plugin uses it to show health without the agent.
package health

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/argolite/argolite/shared/api/v1alpha1"
)

// Status is the health of one object (or of many, after Aggregate).
type Status struct {
	Code    v1alpha1.HealthStatusCode
	Message string
}

// Checker judges object health with the built-in rules plus custom CEL rules.
// A Checker is immutable once built and safe for concurrent use. A nil
// *Checker is valid and applies the built-in rules only.
type Checker struct {
	exact map[schema.GroupKind]*customRule
	globs []*customRule // rules whose group or kind holds a wildcard, in key order
}

// Check returns the health of a live object. A nil object is Missing. Check
// never fails: when a rule cannot judge the object (a malformed field, a
// custom rule that errors) the result is Unknown with the reason as message.
//
// The order follows gitops-engine: an object being deleted is Progressing; a
// custom rule for its group and kind wins over the built-ins; then the
// built-in rule for its kind; then argolite's own kinds; then kstatus.
func (c *Checker) Check(obj *unstructured.Unstructured) Status {
	if obj == nil {
		return Status{Code: v1alpha1.HealthMissing}
	}
	st, known, err := c.assess(obj)
	if err != nil {
		return Status{Code: v1alpha1.HealthUnknown, Message: err.Error()}
	}
	if known {
		return st
	}
	return kstatusHealth(obj)
}

// assess applies every rule but the kstatus fallback. known is false when no
// rule covers the object's kind; err is set when a rule could not judge it.
func (c *Checker) assess(obj *unstructured.Unstructured) (st Status, known bool, err error) {
	if obj.GetDeletionTimestamp() != nil && !hasHookFinalizer(obj) {
		return Status{Code: v1alpha1.HealthProgressing, Message: "Pending deletion"}, true, nil
	}
	gvk := obj.GroupVersionKind()
	if rule := c.rule(gvk.GroupKind()); rule != nil {
		st, err := rule.eval(obj)
		return st, true, err
	}
	if fn := builtin(gvk.GroupKind()); fn != nil {
		st, err := fn(obj)
		if err != nil {
			return Status{}, true, fmt.Errorf("%s %s: %w", gvk.Kind, objectName(obj), err)
		}
		return st, true, nil
	}
	if isOwnGroup(gvk.Group) {
		return ownKindHealth(obj)
	}
	return Status{}, false, nil
}

// healthOrder ranks the codes from best to worst, as gitops-engine's
// health.IsWorse does.
var healthOrder = []v1alpha1.HealthStatusCode{
	v1alpha1.HealthHealthy,
	v1alpha1.HealthSuspended,
	v1alpha1.HealthProgressing,
	v1alpha1.HealthMissing,
	v1alpha1.HealthDegraded,
	v1alpha1.HealthUnknown,
}

func rank(code v1alpha1.HealthStatusCode) int {
	for i, c := range healthOrder {
		if c == code {
			return i
		}
	}
	// gitops-engine ranks a code it does not know as Healthy.
	return 0
}

// IsWorse reports whether a is worse than b in Argo CD's order:
// Healthy < Suspended < Progressing < Missing < Degraded < Unknown.
// A code outside that list ranks as Healthy, as in gitops-engine. Note the
// argument order: gitops-engine's IsWorse(current, new) asks whether new is
// worse; ours asks whether the first argument is.
func IsWorse(a, b v1alpha1.HealthStatusCode) bool {
	return rank(a) > rank(b)
}

// ResourceHealth is one object's health as Aggregate takes it.
type ResourceHealth struct {
	Kind   string
	Name   string
	Status Status
}

// Aggregate returns the worst status among resources, with the message of the
// first resource at that status prefixed "Kind/name: ". Entries with an empty
// code (not assessed, such as hooks) are skipped. With nothing to judge, or
// when every resource is Healthy, the result is Healthy with no message.
func Aggregate(resources []ResourceHealth) Status {
	worst := -1
	for i, r := range resources {
		if r.Status.Code == "" {
			continue
		}
		if worst < 0 || IsWorse(r.Status.Code, resources[worst].Status.Code) {
			worst = i
		}
	}
	if worst < 0 || resources[worst].Status.Code == v1alpha1.HealthHealthy {
		return Status{Code: v1alpha1.HealthHealthy}
	}
	r := resources[worst]
	msg := r.Kind + "/" + r.Name + ": " + r.Status.Message
	if r.Status.Message == "" {
		msg = fmt.Sprintf("%s/%s is %s", r.Kind, r.Name, r.Status.Code)
	}
	return Status{Code: r.Status.Code, Message: msg}
}

// objectName is namespace/name, or name for cluster-scoped objects.
func objectName(obj *unstructured.Unstructured) string {
	if ns := obj.GetNamespace(); ns != "" {
		return ns + "/" + obj.GetName()
	}
	return obj.GetName()
}
