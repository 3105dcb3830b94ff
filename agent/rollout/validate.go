package rollout

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/rolloutspec"
	"github.com/argolite/argolite/shared/rolloutstrict"
)

// specError is a fault of the Rollout's spec: the user must change it, and
// the agent changes nothing live until then (InvalidSpec).
type specError struct{ msg string }

func (e *specError) Error() string { return e.msg }

func invalidf(format string, args ...any) error { return &specError{msg: fmt.Sprintf(format, args...)} }

// validate checks the spec as Argo's validation does, and the stored object
// strictly; a fault is a *specError.
func (c *cycle) validate() error {
	raw, err := c.storedObject()
	if err != nil {
		return err
	}
	// metadata is the API server's; its unknown fields cannot be.
	delete(raw, "metadata")
	if faults := rolloutstrict.Rollout(raw); len(faults) > 0 {
		return invalidf("%s", rolloutstrict.Text(faults))
	}
	if err := rolloutspec.Validate(c.ro); err != nil {
		return invalidf("%s", err)
	}
	return nil
}

// invalid reports a spec fault: condition InvalidSpec, phase Degraded, one
// Warning Event per new message; nothing live changes.
func (c *cycle) invalid(msg string) {
	prev := c.condition(argov1.InvalidSpec)
	c.setCondition(argov1.InvalidSpec, corev1.ConditionTrue, "InvalidSpec", msg)
	if prev == nil || prev.Message != msg {
		c.event(corev1.EventTypeWarning, "InvalidSpec", "%s", msg)
	}
	c.observed()
	c.ro.Status.Phase = argov1.RolloutPhaseDegraded
	c.ro.Status.Message = "InvalidSpec: " + msg
}

// clearInvalid drops InvalidSpec once the spec is fixed.
func (c *cycle) clearInvalid() {
	conds := c.ro.Status.Conditions[:0]
	for _, cond := range c.ro.Status.Conditions {
		if cond.Type != argov1.InvalidSpec {
			conds = append(conds, cond)
		}
	}
	c.ro.Status.Conditions = conds
}
