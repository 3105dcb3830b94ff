package workflow

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/duration"
	"github.com/argolite/argolite/shared/expr"
)

// executeWithRetries runs attempts name(0), name(1), ... under a Retry node
// until one succeeds or the strategy says stop.
func (o *operation) executeWithRetries(name string, sc scope, t *argov1.Template, ref templateRef, rs *argov1.WorkflowRetryStrategy, opts execOpts, locals map[string]string) (*argov1.NodeStatus, error) {
	parent := o.node(name)
	if parent == nil {
		parent = o.initNode(name, argov1.NodeTypeRetry, ref, opts.boundaryID, argov1.NodeRunning, opts.flag, "")
	}
	for range 2 {
		attempts := o.indexedChildren(parent)
		var last *argov1.NodeStatus
		if len(attempts) > 0 {
			last = &attempts[len(attempts)-1]
		}
		if last != nil && last.Phase.Fulfilled() {
			done, phase, msg, wait, err := o.retryDecision(rs, parent, attempts, last)
			if err != nil {
				return o.markNode(name, argov1.NodeError, err.Error()), err
			}
			if done {
				p := o.markNode(name, phase, msg)
				p.Outputs = last.Outputs.DeepCopy()
				o.setNode(p)
				return p, nil
			}
			if wait > 0 {
				o.requeueAfter(wait)
				return parent, nil
			}
			last = nil
		}
		childName := fmt.Sprintf("%s(%d)", name, len(attempts))
		if last != nil {
			childName = last.Name
		}
		attemptLocals := maps.Clone(locals)
		retryNum := len(attempts)
		if last != nil {
			retryNum = len(attempts) - 1
		}
		attemptLocals["retries"] = strconv.Itoa(retryNum)
		attemptLocals["node.name"] = childName
		if isPodTemplate(t) {
			attemptLocals["pod.name"] = podName(o.wf, childName, t.Name)
		}
		if retryNum > 0 {
			prev := attempts[retryNum-1]
			attemptLocals["lastRetry.exitCode"] = "0"
			if prev.Outputs != nil && prev.Outputs.ExitCode != nil {
				attemptLocals["lastRetry.exitCode"] = *prev.Outputs.ExitCode
			}
			attemptLocals["lastRetry.status"] = string(prev.Phase)
			attemptLocals["lastRetry.duration"] = strconv.FormatFloat(o.duration(&prev).Seconds(), 'f', -1, 64)
			attemptLocals["lastRetry.message"] = prev.Message
		}
		at, err := substitute(t, o.mergedVars(attemptLocals))
		if err != nil {
			return o.markNode(name, argov1.NodeError, err.Error()), err
		}
		at.RetryStrategy = nil
		childOpts := opts
		childOpts.flag = &argov1.NodeFlag{Retried: true}
		if opts.flag != nil {
			childOpts.flag.Hooked = opts.flag.Hooked
		}
		child, err := o.executeType(childName, sc, at, ref, childOpts)
		o.addChild(name, childName)
		parent = o.node(name)
		if err != nil && !isSpecError(err) {
			return parent, err
		}
		if child == nil || !child.Phase.Fulfilled() {
			if child != nil && child.Phase == argov1.NodeRunning && parent.Phase != argov1.NodeRunning {
				parent = o.markNode(name, argov1.NodeRunning, "")
			}
			return parent, nil
		}
		if isSpecError(err) {
			return o.markNode(name, argov1.NodeError, err.Error()), err
		}
		// The attempt ended in this pass: decide at once.
	}
	return o.node(name), nil
}

// retryDecision says whether a Retry node is done (and how), or when the
// next attempt may start.
func (o *operation) retryDecision(rs *argov1.WorkflowRetryStrategy, parent *argov1.NodeStatus, attempts []argov1.NodeStatus, last *argov1.NodeStatus) (done bool, phase argov1.NodePhase, msg string, wait time.Duration, err error) {
	if last.Phase == argov1.NodeSucceeded || last.Phase == argov1.NodeSkipped || last.Phase == argov1.NodeOmitted {
		return true, last.Phase, "", 0, nil
	}
	if o.shutdown != "" {
		return true, last.Phase, last.Message, 0, nil
	}
	policy := rs.RetryPolicy
	if policy == "" {
		policy = argov1.RetryPolicyOnFailure
	}
	retryable := false
	switch policy {
	case argov1.RetryPolicyAlways:
		retryable = true
	case argov1.RetryPolicyOnFailure:
		retryable = last.Phase == argov1.NodeFailed
	case argov1.RetryPolicyOnError:
		retryable = last.Phase == argov1.NodeError
	case argov1.RetryPolicyOnTransientError:
		retryable = last.Phase == argov1.NodeError && isTransientMessage(last.Message)
	}
	if !retryable {
		return true, last.Phase, last.Message, 0, nil
	}
	if rs.Limit != nil {
		limit, lerr := intOrStringValue(rs.Limit, o.globals)
		if lerr != nil {
			return false, "", "", 0, specError("retryStrategy.limit: %v", lerr)
		}
		if len(attempts) > limit {
			return true, last.Phase, "No more retries left", 0, nil
		}
	}
	if rs.Expression != "" {
		env := map[string]any{
			"lastRetry": map[string]any{
				"exitCode": exitCodeOf(last),
				"status":   string(last.Phase),
				"duration": o.duration(last).Seconds(),
				"message":  last.Message,
			},
		}
		ok, eerr := expr.EvalBool(rs.Expression, env)
		if eerr != nil {
			return false, "", "", 0, specError("retryStrategy.expression %q: %v", rs.Expression, eerr)
		}
		if !ok {
			return true, last.Phase, last.Message, 0, nil
		}
	}
	if b := rs.Backoff; b != nil && b.Duration != "" {
		base, perr := duration.Parse(b.Duration)
		if perr != nil {
			return false, "", "", 0, specError("retryStrategy.backoff.duration: %v", perr)
		}
		factor := 1.0
		if b.Factor != nil {
			f, ferr := intOrStringValue(b.Factor, o.globals)
			if ferr != nil {
				return false, "", "", 0, specError("retryStrategy.backoff.factor: %v", ferr)
			}
			factor = float64(f)
		}
		d := float64(base)
		for range len(attempts) - 1 {
			d *= factor
		}
		delay := time.Duration(d)
		if b.Cap != "" {
			if c, err := duration.Parse(b.Cap); err == nil && delay > c {
				delay = c
			}
		}
		if b.MaxDuration != "" {
			maxD, merr := duration.Parse(b.MaxDuration)
			if merr != nil {
				return false, "", "", 0, specError("retryStrategy.backoff.maxDuration: %v", merr)
			}
			first := attempts[0].StartedAt.Time
			if !first.IsZero() && o.now.Add(delay).Sub(first) > maxD {
				return true, last.Phase, "Max duration limit exceeded", 0, nil
			}
		}
		next := last.FinishedAt.Add(delay)
		if o.now.Before(next) {
			p := *parent
			p.Message = fmt.Sprintf("Backoff for %s", delay.Round(time.Second))
			o.setNode(&p)
			return false, "", "", next.Sub(o.now), nil
		}
	}
	return false, "", "", 0, nil
}

func exitCodeOf(n *argov1.NodeStatus) int {
	if n.Outputs != nil && n.Outputs.ExitCode != nil {
		if c, err := strconv.Atoi(*n.Outputs.ExitCode); err == nil {
			return c
		}
	}
	return -1
}

// isTransientMessage recognises errors Argo treats as transient.
func isTransientMessage(msg string) bool {
	for _, s := range []string{"pod deleted", "etcdserver", "connection refused", "i/o timeout", "TLS handshake timeout", "the object has been modified", "exceeded quota", "NodeLost", "Evicted"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// retryStrategy is the template's retry strategy; a Pod template without
// one falls back on the workflow's.
func (o *operation) retryStrategy(t *argov1.Template) *argov1.WorkflowRetryStrategy {
	if t.RetryStrategy == nil && isPodTemplate(t) {
		return o.spec.RetryStrategy
	}
	return t.RetryStrategy
}
