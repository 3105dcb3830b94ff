package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/integration/bench/internal/benchkit"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// benchLabel marks every namespace and ConfigMap the benchmark creates.
const benchLabel = "argolite.dev/bench"

// createNamespace creates a labelled namespace and remembers it for cleanup.
func (b *bench) createNamespace(ctx context.Context, name string) error {
	b.namespaces = append(b.namespaces, name)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{benchLabel: "gitops"}}}
	if _, err := b.CS.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}

// countConfigMaps counts the benchmark's ConfigMaps in ns.
func (b *bench) countConfigMaps(ctx context.Context, ns string) (int, error) {
	list, err := b.CS.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: benchLabel + "=gitops"})
	if err != nil {
		return 0, err
	}
	return len(list.Items), nil
}

func (b *bench) getApp(ctx context.Context, ns, name string) (*argov1.Application, error) {
	app := &argov1.Application{}
	err := b.c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, app)
	return app, err
}

// waitApp polls the Application until cond holds and returns when it saw
// that (the caller's clock stops there); a timeout reports the last status.
func (b *bench) waitApp(ctx context.Context, ns, name, what string, interval, timeout time.Duration, cond func(*argov1.Application) (bool, error)) (*argov1.Application, time.Time, error) {
	var last *argov1.Application
	var seen time.Time
	err := benchkit.Poll(ctx, fmt.Sprintf("Application %s/%s: %s", ns, name, what), interval, timeout, func(ctx context.Context) (bool, error) {
		app, err := b.getApp(ctx, ns, name)
		if err != nil {
			return false, err
		}
		seen, last = time.Now(), app
		return cond(app)
	})
	if err != nil && last != nil {
		err = fmt.Errorf("%w; last status: %s", err, describe(last))
	}
	return last, seen, err
}

// describe summarises an Application's status for error messages.
func describe(a *argov1.Application) string {
	s := fmt.Sprintf("sync=%s revision=%.8s health=%s", a.Status.Sync.Status, a.Status.Sync.Revision, a.Status.Health.Status)
	if st := a.Status.OperationState; st != nil {
		s += fmt.Sprintf(" operation=%s %q", st.Phase, st.Message)
	}
	for _, c := range a.Status.Conditions {
		if c.Status != metav1.ConditionTrue || c.Type != "Ready" {
			s += fmt.Sprintf(" %s=%s(%s: %s)", c.Type, c.Status, c.Reason, c.Message)
		}
	}
	return s
}

// syncedAt holds when the Application is Synced at rev and its last
// operation succeeded for rev; a failed operation ends the wait.
func syncedAt(rev string) func(*argov1.Application) (bool, error) {
	return func(a *argov1.Application) (bool, error) {
		st := a.Status.OperationState
		if st != nil && (st.Phase == argov1.OperationFailed || st.Phase == argov1.OperationError) {
			return false, benchkit.Fatal("Application %s/%s: sync %s: %s", a.Namespace, a.Name, st.Phase, st.Message)
		}
		return a.Status.Sync.Status == argov1.SyncStatusSynced && a.Status.Sync.Revision == rev &&
			st != nil && st.Phase == argov1.OperationSucceeded && st.SyncResult != nil && st.SyncResult.Revision == rev, nil
	}
}

// opDuration is finishedAt - startedAt of the last operation (1 s resolution).
func opDuration(a *argov1.Application) time.Duration {
	st := a.Status.OperationState
	if st == nil || st.FinishedAt == nil {
		return -1
	}
	return st.FinishedAt.Sub(st.StartedAt.Time)
}

// nextSecond waits until the clock is in a later second than t. The API
// stores times to the second: after this, a status time at or after the
// request's second was written after the request.
func nextSecond(ctx context.Context, t *metav1.Time) error {
	if t == nil {
		return nil
	}
	return benchkit.Poll(ctx, "the next second", 20*time.Millisecond, 3*time.Second, func(context.Context) (bool, error) {
		return time.Now().Truncate(time.Second).After(t.Time), nil
	})
}

// deleteApps deletes the Applications in ns and waits until they are gone
// (the agent's finalizer deletes their objects first).
func (b *bench) deleteApps(ctx context.Context, ns string, timeout time.Duration) error {
	if err := b.c.DeleteAllOf(ctx, &argov1.Application{}, client.InNamespace(ns)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting the Applications in %s: %w", ns, err)
	}
	left := -1
	return benchkit.Poll(ctx, "the Applications in "+ns+" to be deleted", time.Second, timeout, func(ctx context.Context) (bool, error) {
		list := &argov1.ApplicationList{}
		if err := b.c.List(ctx, list, client.InNamespace(ns)); err != nil {
			return false, err
		}
		if len(list.Items) != left && len(list.Items) > 0 {
			b.logf("  %d Applications left in %s", len(list.Items), ns)
		}
		left = len(list.Items)
		return left == 0, nil
	})
}

// reconcileStat is one Application's argolite_gitops_reconcile_seconds sum and count.
type reconcileStat struct{ sum, count float64 }

// reconcileSeconds reads the agent's reconcile histogram for one Application
// from its /metrics, through the API server's Pod proxy.
func (b *bench) reconcileSeconds(ctx context.Context, pod *corev1.Pod, ns, name string) (reconcileStat, error) {
	raw, err := b.CS.CoreV1().Pods(pod.Namespace).ProxyGet("http", pod.Name, "8080", "/metrics", nil).DoRaw(ctx)
	if err != nil {
		return reconcileStat{}, fmt.Errorf("metrics of %s: %w", pod.Name, err)
	}
	labels := fmt.Sprintf(`{kind="Application",name=%q,namespace=%q}`, name, ns)
	var st reconcileStat
	for _, line := range strings.Split(string(raw), "\n") {
		for prefix, into := range map[string]*float64{
			"argolite_gitops_reconcile_seconds_sum" + labels + " ":   &st.sum,
			"argolite_gitops_reconcile_seconds_count" + labels + " ": &st.count,
		} {
			if v, ok := strings.CutPrefix(line, prefix); ok {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil {
					return reconcileStat{}, fmt.Errorf("metric line %q: %w", line, err)
				}
				*into = f
			}
		}
	}
	return st, nil
}
