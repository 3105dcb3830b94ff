package main

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/integration/bench/internal/benchkit"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/wfnames"
)

// run is one workflow's run as the benchmark saw it.
type run struct {
	namespace string
	wf        *argov1.Workflow // as it completed
	pods      []podRecord      // by seenCreated
	wall      time.Duration    // submit → completion seen
	firstPod  time.Duration    // submit → first step Pod seen
	mem       memPeak          // from submit to the kubelet's first measurement after completion
}

// status is the workflow's finishedAt − startedAt (1 s resolution).
func (r *run) status() time.Duration {
	return r.wf.Status.FinishedAt.Sub(r.wf.Status.StartedAt.Time)
}

// runWorkflow submits wf in a new namespace ns, watches its Pods and the
// agent's memory until it has completed, and checks that it succeeded with
// wantPods step Pods.
func (b *bench) runWorkflow(ctx context.Context, ns string, wf *argov1.Workflow, wantPods int, agent *corev1.Pod, timeout time.Duration) (*run, error) {
	if err := b.createNamespace(ctx, ns); err != nil {
		return nil, err
	}
	wf = wf.DeepCopy()
	wf.Namespace = ns
	r := &run{namespace: ns}

	// Watch the Pods from before the submit, so that each Pod's first event
	// is its creation.
	selector := wfnames.LabelWorkflow + "=" + wf.Name
	list, err := b.CS.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("listing the Pods in %s: %w", ns, err)
	}
	rec := newRecorder()
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watchErr := make(chan error, 1)
	go func() { watchErr <- b.watchPods(watchCtx, ns, selector, list.ResourceVersion, rec) }()

	memCtx, stopMem := context.WithCancel(ctx)
	defer stopMem()
	completed, memOut := make(chan struct{}), make(chan memPeak, 1)
	go func() { memOut <- b.sampleMemory(memCtx, agent, completed) }()

	b.logf("submitting workflow %s/%s (%d step Pods)", ns, wf.Name, wantPods)
	t0 := time.Now()
	if err := b.c.Create(ctx, wf, client.FieldValidation(metav1.FieldValidationStrict)); err != nil {
		return nil, fmt.Errorf("creating workflow %s/%s: %w", ns, wf.Name, err)
	}
	done, seen, err := b.waitCompleted(ctx, ns, wf.Name, timeout)
	if err != nil {
		return nil, err
	}
	r.wf, r.wall = done, seen.Sub(t0)
	if done.Status.Phase != argov1.WorkflowSucceeded {
		return nil, fmt.Errorf("workflow %s/%s did not succeed: %s", ns, wf.Name, describe(done))
	}
	b.logf("workflow %s/%s %s after %s", ns, wf.Name, done.Status.Phase, ms(r.wall))

	// The Pods' last events may trail the workflow's.
	err = benchkit.Poll(ctx, fmt.Sprintf("the watch to show %d step Pods of %s/%s terminated", wantPods, ns, wf.Name), 50*time.Millisecond, 30*time.Second, func(context.Context) (bool, error) {
		select {
		case err := <-watchErr:
			return false, benchkit.Fatal("the Pod watch ended: %w", err)
		default:
		}
		_, terminated := rec.records()
		return terminated >= wantPods, nil
	})
	if err != nil {
		return nil, err
	}
	stopWatch()
	r.pods, _ = rec.records()
	if len(r.pods) != wantPods {
		return nil, fmt.Errorf("workflow %s/%s ran %d step Pods, want %d", ns, wf.Name, len(r.pods), wantPods)
	}
	r.firstPod = r.pods[0].seenCreated.Sub(t0)
	close(completed)
	r.mem = <-memOut
	return r, nil
}

// watchPods feeds the watch events of the Pods in ns that match selector to
// rec, stamped with the time they arrived, until ctx ends; a watch the
// server closes is resumed where it left off.
func (b *bench) watchPods(ctx context.Context, ns, selector, resourceVersion string, rec *recorder) error {
	for ctx.Err() == nil {
		w, err := b.CS.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: selector, ResourceVersion: resourceVersion})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("watching the Pods in %s: %w", ns, err)
		}
		for ev := range w.ResultChan() {
			now := time.Now()
			if ev.Type == watch.Error {
				w.Stop()
				return fmt.Errorf("watching the Pods in %s: %w", ns, apierrors.FromObject(ev.Object))
			}
			if pod, ok := ev.Object.(*corev1.Pod); ok {
				resourceVersion = pod.ResourceVersion
				if ev.Type == watch.Added || ev.Type == watch.Modified {
					rec.observe(pod, now)
				}
			}
		}
		w.Stop()
	}
	return nil
}

// waitCompleted watches the workflow until it has completed and returns it
// and when that was seen.
func (b *bench) waitCompleted(ctx context.Context, ns, name string, timeout time.Duration) (*argov1.Workflow, time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	wf := &argov1.Workflow{}
	var logged time.Time
	for {
		if err := b.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, wf); err != nil {
			return nil, time.Time{}, fmt.Errorf("reading workflow %s/%s: %w (last seen: %s)", ns, name, err, describe(wf))
		}
		if err := wf.InflateNodes(); err != nil {
			return nil, time.Time{}, err
		}
		if wf.Status.Phase.Completed() {
			return wf, time.Now(), nil
		}
		w, err := b.c.Watch(ctx, &argov1.WorkflowList{}, client.InNamespace(ns), client.MatchingFields{"metadata.name": name},
			&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: wf.ResourceVersion}})
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("watching workflow %s/%s: %w", ns, name, err)
		}
		for ev := range w.ResultChan() {
			got, ok := ev.Object.(*argov1.Workflow)
			if !ok {
				continue // an error: the watch ends, and a new one starts after a fresh read
			}
			now := time.Now()
			if err := got.InflateNodes(); err != nil {
				w.Stop()
				return nil, time.Time{}, err
			}
			wf = got
			if wf.Status.Phase.Completed() {
				w.Stop()
				return wf, now, nil
			}
			if now.Sub(logged) >= 5*time.Second {
				b.logf("  %s/%s: %s", ns, name, describe(wf))
				logged = now
			}
		}
		w.Stop()
		if ctx.Err() != nil {
			return nil, time.Time{}, fmt.Errorf("workflow %s/%s did not complete within %s (%w): %s", ns, name, timeout, ctx.Err(), describe(wf))
		}
	}
}

// describe summarises a workflow's status for progress lines and errors.
func describe(wf *argov1.Workflow) string {
	st := wf.Status
	s := fmt.Sprintf("phase=%q progress=%s", st.Phase, st.Progress)
	if st.Message != "" {
		s += fmt.Sprintf(" message=%q", st.Message)
	}
	var failed []string
	for _, n := range st.Nodes {
		if n.Phase == argov1.NodeFailed || n.Phase == argov1.NodeError {
			failed = append(failed, fmt.Sprintf("%s: %s %s", n.Name, n.Phase, n.Message))
		}
	}
	sort.Strings(failed)
	if len(failed) > 5 {
		failed = append(failed[:5], fmt.Sprintf("and %d more", len(failed)-5))
	}
	if len(failed) > 0 {
		s += " failed nodes: " + strings.Join(failed, "; ")
	}
	return s
}

// memPeak is the agent's largest memory over a stretch of time, by the
// kubelet's summary API and by the agent's own /metrics.
type memPeak struct {
	kubelet benchkit.Memory // Samples counts distinct kubelet measurements
	process uint64          // process_resident_memory_bytes
	// processSamples counts the /metrics readings (one a second).
	processSamples int
	failures       int
	lastErr        error
}

func (m memPeak) String() string {
	return fmt.Sprintf("kubelet %s; /metrics process RSS %s (max of %d samples)", m.kubelet, benchkit.MiB(m.process), m.processSamples)
}

// sampleMemory reads the agent's memory every second until ctx ends, or
// until stop is closed and the kubelet has then measured once more (it
// measures about every 10-15 s; at most 30 s more), and returns the peaks.
func (b *bench) sampleMemory(ctx context.Context, agent *corev1.Pod, stop <-chan struct{}) memPeak {
	var m memPeak
	measured := map[int64]bool{}
	var stoppedAt, lastMeasured time.Time
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	fail := func(err error) {
		if ctx.Err() == nil {
			m.failures, m.lastErr = m.failures+1, err
		}
	}
	for {
		if s, ok, err := b.ReadMemory(ctx, agent); err != nil {
			fail(err)
		} else if ok && !measured[s.Time.UnixNano()] {
			measured[s.Time.UnixNano()] = true
			m.kubelet.Add(s)
			lastMeasured = later(lastMeasured, s.Time)
		}
		if rss, err := b.processRSS(ctx, agent); err != nil {
			fail(err)
		} else {
			m.process, m.processSamples = max(m.process, rss), m.processSamples+1
		}
		if !stoppedAt.IsZero() && (lastMeasured.After(stoppedAt) || time.Since(stoppedAt) > 30*time.Second) {
			return m
		}
		select {
		case <-ctx.Done():
			return m
		case <-stop:
			stoppedAt, stop = time.Now(), nil
		case <-tick.C:
		}
	}
}

// idleMemory samples the agent's memory for d (and until the kubelet's
// next measurement) while it has nothing to do.
func (b *bench) idleMemory(ctx context.Context, agent *corev1.Pod, d time.Duration) (memPeak, error) {
	stop := make(chan struct{})
	time.AfterFunc(d, func() { close(stop) })
	m := b.sampleMemory(ctx, agent, stop)
	if ctx.Err() != nil {
		return m, ctx.Err()
	}
	if m.kubelet.Samples == 0 && m.processSamples == 0 {
		return m, fmt.Errorf("no memory reading of the agent %s/%s in %s: %w", agent.Namespace, agent.Name, d, m.lastErr)
	}
	return m, nil
}

// processRSS reads process_resident_memory_bytes from the agent's
// /metrics, through the API server's Pod proxy.
func (b *bench) processRSS(ctx context.Context, agent *corev1.Pod) (uint64, error) {
	raw, err := b.CS.CoreV1().Pods(agent.Namespace).ProxyGet("http", agent.Name, "8080", "/metrics", nil).DoRaw(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading the metrics of %s/%s: %w", agent.Namespace, agent.Name, err)
	}
	v, err := metricValue(raw, "process_resident_memory_bytes")
	if err != nil {
		return 0, fmt.Errorf("the metrics of %s/%s: %w", agent.Namespace, agent.Name, err)
	}
	return uint64(v), nil
}

// metricValue is the value of an unlabelled metric in Prometheus' text format.
func metricValue(text []byte, name string) (float64, error) {
	for line := range bytes.Lines(text) {
		if v, ok := bytes.CutPrefix(bytes.TrimSpace(line), []byte(name+" ")); ok {
			f, err := strconv.ParseFloat(string(bytes.TrimSpace(v)), 64)
			if err != nil {
				return 0, fmt.Errorf("metric line %q: %w", line, err)
			}
			return f, nil
		}
	}
	return 0, fmt.Errorf("no metric %s", name)
}
