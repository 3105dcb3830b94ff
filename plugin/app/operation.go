package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// request is an operation the plugin set on an Application, and what the
// Application's operation state was before, to tell the agent's answer to
// this request from a previous operation's state.
type request struct {
	name   string
	sent   argov1.Operation
	sentAt time.Time
	prev   *argov1.OperationState
}

// busy refuses an operation while another is requested or running.
func (c *Common) busy(app *argov1.Application) error {
	wait := fmt.Sprintf("kubectl argo app wait %s --operation%s", app.Name, c.NSFlag(app.Namespace))
	if op := app.Operation; op != nil {
		return &cli.Error{
			Problem: fmt.Sprintf("another operation is requested on application %s%s and the agent has not started it yet",
				c.Ref(app.Name), initiator(op.InitiatedBy)),
			Fix: "wait for it with " + wait + "; if no agent picks it up, check the agent with kubectl argo status",
		}
	}
	if st := app.Status.OperationState; st != nil && (st.Phase == argov1.OperationRunning || st.Phase == argov1.OperationTerminating) {
		problem := fmt.Sprintf("another operation is running on application %s: a sync%s", c.Ref(app.Name), initiator(st.Operation.InitiatedBy))
		if !st.StartedAt.IsZero() {
			problem += " started " + duration.HumanDuration(c.Now().Sub(st.StartedAt.Time)) + " ago"
		}
		if st.Phase == argov1.OperationTerminating {
			problem += " is terminating"
		}
		if st.Message != "" {
			problem += " (" + st.Message + ")"
		}
		return &cli.Error{Problem: problem, Fix: "wait for it to finish with " + wait + ", then try again"}
	}
	return nil
}

// startOperation sets the operation build returns on the Application,
// refusing when another operation is requested or running. build may change
// the Application's spec in the same request (rollback turns automated sync
// off), and may refuse. The patch carries the resourceVersion it was
// computed from, so that nothing slips between the check and the request; a
// conflict reads the Application again.
func (c *Common) startOperation(ctx context.Context, name string,
	build func(*argov1.Application) (argov1.Operation, error)) (*request, error) {
	var req *request
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		app, err := c.getApp(ctx, name)
		if err != nil {
			return err
		}
		if err := c.busy(app); err != nil {
			return err
		}
		before := app.DeepCopy()
		op, err := build(app)
		if err != nil {
			return err
		}
		app.Operation = op.DeepCopy()
		sentAt := c.Now()
		if err := c.Clients.Client.Patch(ctx, app, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
			return err
		}
		req = &request{name: name, sent: op, sentAt: sentAt, prev: before.Status.OperationState.DeepCopy()}
		return nil
	})
	var explained *cli.Error
	switch {
	case errors.As(err, &explained):
		return nil, err
	case apierrors.IsNotFound(err):
		return nil, c.notFound(name, err)
	case err != nil:
		return nil, c.explain(fmt.Errorf("requesting a sync of application %s: %w", c.Ref(name), err))
	}
	return req, nil
}

// ours reports whether the Application's operation state is the agent's
// answer to the request. The state it had before is not (the agent writes a
// new one for every operation it starts), nor a rewrite of it while the
// request still waits in the operation field. A new state is ours when it
// records our operation; the agent records it normalised (the revision
// resolved, the source filled in), so a new state of our user's once the
// agent has taken the request is ours too; failing both, one that started
// after the request (startedAt has a precision of one second).
func (r *request) ours(app *argov1.Application) bool {
	st := app.Status.OperationState
	if st == nil || equality.Semantic.DeepEqual(st, r.prev) {
		return false
	}
	taken := app.Operation == nil
	if !taken && r.prev != nil && !st.StartedAt.After(r.prev.StartedAt.Time) {
		return false
	}
	if equality.Semantic.DeepEqual(st.Operation.InitiatedBy, r.sent.InitiatedBy) &&
		(taken || equality.Semantic.DeepEqual(st.Operation.Sync, r.sent.Sync)) {
		return true
	}
	return !st.StartedAt.Time.Before(r.sentAt.Truncate(time.Second))
}

// finished reports whether an operation phase is final.
func finished(phase argov1.OperationPhase) bool {
	switch phase {
	case argov1.OperationSucceeded, argov1.OperationFailed, argov1.OperationError:
		return true
	}
	return false
}

// waitOperation waits until the agent has finished the request, showing
// its progress (the agent's message) and each resource result as it
// appears. It returns the Application with the finished operation state.
func (c *Common) waitOperation(ctx context.Context, req *request, what string, timeout time.Duration) (*argov1.Application, error) {
	ctx, cancel := cli.WithTimeout(ctx, timeout)
	defer cancel()
	pal := newPalette(c.Out)
	progress := cli.NewProgress(c.Out)
	ref := c.Ref(req.name)
	var app *argov1.Application
	started := false
	// printed holds the result lines shown; the previous operation's count
	// as shown, so that an agent that keeps them in a new running state
	// does not show them as news.
	printed := map[string]string{}
	if req.prev != nil && req.prev.SyncResult != nil {
		for _, r := range req.prev.SyncResult.Resources {
			printed[resultKey(r)] = resultLine(r, pal)
		}
	}
	_, err := cli.Poll(ctx, progress, c.Interval, "", func(ctx context.Context) (bool, string, error) {
		got, err := c.getApp(ctx, req.name)
		if err != nil {
			return false, "", err
		}
		app = got
		st := app.Status.OperationState
		if !req.ours(app) {
			msg := fmt.Sprintf("Waiting for the agent to start the %s of %s", what, ref)
			if r := notReady(app); r != "" {
				// Such as a spec the agent cannot act on.
				msg += " (" + r + ")"
			}
			return false, msg, nil
		}
		started = true
		if finished(st.Phase) {
			return true, "", nil
		}
		// Results that appeared or changed since the last look.
		if st.SyncResult != nil {
			for _, r := range st.SyncResult.Resources {
				key, line := resultKey(r), resultLine(r, pal)
				if printed[key] != line {
					progress.Clear()
					fmt.Fprintln(c.Out, line)
					printed[key] = line
				}
			}
		}
		msg := st.Message
		if msg == "" {
			msg = strings.ToLower(string(st.Phase))
		}
		return false, fmt.Sprintf("%s of %s: %s", capitalize(what), ref, msg), nil
	})
	if err == nil {
		progress.Clear()
		return app, nil
	}
	if ctx.Err() == nil {
		return nil, err
	}
	if !started {
		if app != nil {
			if r := notReady(app); r != "" {
				ref += " (" + r + ")"
			}
		}
		return nil, cli.WaitTimeout(ctx, timeout, "the agent to start the "+what+" of "+ref,
			"check that the agent runs with kubectl argo status; the request stays in the Application's operation field until an agent takes it")
	}
	last := ""
	if app != nil && app.Status.OperationState != nil && app.Status.OperationState.Message != "" {
		last = ": " + app.Status.OperationState.Message
	}
	return nil, cli.WaitTimeout(ctx, timeout, "the "+what+" of "+ref+last,
		fmt.Sprintf("the %s goes on in the cluster: follow it with kubectl argo app wait %s --operation%s, or see it with kubectl argo app get %s%s",
			what, req.name, c.NSFlag(c.Namespace), req.name, c.NSFlag(c.Namespace)))
}

func resultKey(r argov1.ResourceResult) string {
	return resourceKey(r.Group, r.Kind, r.Namespace, r.Name) + "/" + r.SyncPhase
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// resultLine is one resource result as a progress line.
func resultLine(r argov1.ResourceResult, pal palette) string {
	status := r.Status
	if r.HookPhase != "" {
		status = r.SyncPhase + " hook " + r.HookPhase
	}
	line := fmt.Sprintf("wave %d  %s  %s", r.SyncWave, kindOf(r.Group, r.Kind)+"/"+qualified(r.Namespace, r.Name), colourResult(r, status, pal))
	if r.Message != "" {
		line += ": " + r.Message
	}
	return line
}

func qualified(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

func colourResult(r argov1.ResourceResult, text string, pal palette) string {
	if r.HookPhase != "" {
		return pal.byPhase(r.HookPhase, text)
	}
	return pal.sync(text)
}

// resultWords name resource results in a summary: "2 synced, 1 failed".
var resultWords = map[string]string{"Synced": "synced", "SyncFailed": "failed", "Pruned": "pruned", "PruneSkipped": "prune skipped"}

// reportOperation prints the results of a finished operation and a summary,
// and returns an error when it did not succeed.
func (c *Common) reportOperation(app *argov1.Application, what string) error {
	st := app.Status.OperationState
	pal := newPalette(c.Out)
	if st.SyncResult != nil && len(st.SyncResult.Resources) > 0 {
		printResults(c.Out, st.SyncResult.Resources, pal)
	}
	ref := c.Ref(app.Name)
	var counts []string
	if st.SyncResult != nil {
		byResult := map[string]int{}
		var order []string
		for _, r := range st.SyncResult.Resources {
			word := resultWords[r.Status]
			switch {
			case r.HookPhase != "":
				word = "hook"
			case word == "":
				word = strings.ToLower(cli.OrDash(r.Status))
			}
			if byResult[word] == 0 {
				order = append(order, word)
			}
			byResult[word]++
		}
		for _, word := range order {
			n := byResult[word]
			if word == "hook" {
				counts = append(counts, cli.Plural(n, word))
			} else {
				counts = append(counts, fmt.Sprintf("%d %s", n, word))
			}
		}
	}
	detail := ""
	if st.SyncResult != nil && st.SyncResult.Revision != "" {
		detail = " at " + shortRevision(st.SyncResult.Revision)
	}
	if len(counts) > 0 {
		detail += " (" + strings.Join(counts, ", ") + ")"
	}
	if st.FinishedAt != nil && !st.StartedAt.IsZero() {
		detail += " in " + duration.HumanDuration(st.FinishedAt.Sub(st.StartedAt.Time))
	}
	dryRun := st.Operation.Sync != nil && st.Operation.Sync.DryRun
	if st.Phase == argov1.OperationSucceeded {
		line := fmt.Sprintf("%s %s of %s succeeded%s.", pal.Green("Done:"), what, ref, detail)
		if dryRun {
			line += " It was a dry run: nothing changed."
		}
		fmt.Fprintln(c.Out, line)
		return nil
	}
	msg := st.Message
	if msg == "" {
		msg = "no message from the agent"
	}
	verb := "failed"
	if st.Phase == argov1.OperationError {
		verb = "ended in an error"
	}
	return &cli.Error{
		Problem: fmt.Sprintf("%s of %s %s%s: %s", strings.ToLower(what), ref, verb, detail, msg),
		Fix:     fmt.Sprintf("see the failed resources above and kubectl argo app get %s%s; fix the cause in Git or the cluster and sync again", app.Name, c.NSFlag(app.Namespace)),
	}
}

// printResults prints the resource results of an operation.
func printResults(out io.Writer, results []argov1.ResourceResult, pal palette) {
	w := printers.GetNewTabWriter(out)
	defer w.Flush()
	fmt.Fprintln(w, "WAVE\tKIND\tNAMESPACE\tNAME\t"+pal.Plain("RESULT")+"\tMESSAGE")
	for _, r := range results {
		status := cli.OrDash(r.Status)
		if r.HookPhase != "" {
			status = strings.TrimSpace(r.SyncPhase + " hook " + r.HookPhase)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", r.SyncWave, kindOf(r.Group, r.Kind), cli.OrDash(r.Namespace), r.Name,
			colourResult(r, status, pal), r.Message)
	}
}
