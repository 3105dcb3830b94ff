package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/wfnames"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func msd(ms int) time.Duration { return time.Duration(ms) * time.Millisecond }

// stepPod is a step Pod as a watch event shows it; terminated adds its
// main container's end at finishedMs (API time, truncated to seconds).
func stepPod(name, node string, createdMs int, terminated bool, finishedMs int) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: name, CreationTimestamp: metav1.NewTime(at(createdMs).Truncate(time.Second)),
		Annotations: map[string]string{wfnames.AnnotationNodeName: node},
	}}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{
		{Name: "wait", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{FinishedAt: metav1.NewTime(t0)}}},
		{Name: wfnames.MainContainer, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
	}
	if terminated {
		p.Status.ContainerStatuses[1].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			FinishedAt: metav1.NewTime(at(finishedMs).Truncate(time.Second)),
		}}
	}
	return p
}

func TestRecorder(t *testing.T) {
	r := newRecorder()
	r.observe(stepPod("a", "chain[0].step-000", 0, false, 0), at(10))
	r.observe(stepPod("a", "chain[0].step-000", 0, false, 0), at(500)) // running: nothing new
	r.observe(stepPod("a", "chain[0].step-000", 0, true, 1200), at(1300))
	r.observe(stepPod("a", "chain[0].step-000", 0, true, 1200), at(1900)) // a later update: the first sight counts
	r.observe(stepPod("b", "chain[1].step-001", 1320, false, 0), at(1330))

	recs, terminated := r.records()
	if len(recs) != 2 || terminated != 1 {
		t.Fatalf("%d records, %d terminated; want 2, 1", len(recs), terminated)
	}
	a, b := recs[0], recs[1]
	if a.name != "a" || a.node != "chain[0].step-000" || !a.seenCreated.Equal(at(10)) || !a.seenTerminated.Equal(at(1300)) {
		t.Errorf("a: %+v", a)
	}
	if !a.created.Equal(t0) || !a.finished.Equal(at(1000)) {
		t.Errorf("a's API times: created %s, finished %s", a.created, a.finished)
	}
	if b.name != "b" || !b.seenCreated.Equal(at(1330)) || !b.seenTerminated.IsZero() {
		t.Errorf("b: %+v", b)
	}
}

func TestGaps(t *testing.T) {
	steps := map[int]span{
		0: {at(0), at(1000)},
		1: {at(1020), at(2500)},
		2: {at(2530), at(3000)},
	}
	got, err := gaps(steps, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []time.Duration{msd(20), msd(30)}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("gaps = %v, want %v", got, want)
	}
	delete(steps, 1)
	if _, err := gaps(steps, 3); err == nil || !strings.Contains(err.Error(), "step 1") {
		t.Errorf("a missing step: err = %v, want one naming step 1", err)
	}
	steps[1] = span{start: at(1020)}
	if _, err := gaps(steps, 3); err == nil || !strings.Contains(err.Error(), "step 1 was not seen to finish") {
		t.Errorf("an unfinished step: err = %v", err)
	}
}

func TestPercentiles(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- { // 1..100 ms, unsorted
		ds = append(ds, msd(i))
	}
	s := summarize(ds)
	if s.n != 100 || s.median != msd(50) || s.p95 != msd(95) || s.min != msd(1) || s.max != msd(100) {
		t.Errorf("summary of 1..100 ms = %+v", s)
	}
	if ds[0] != msd(100) {
		t.Error("summarize sorted its argument")
	}
	// 99 gaps, as the chain has: the median is the 50th, p95 the 95th (ceil(94.05)).
	s = summarize(ds[1:])
	if s.median != msd(50) || s.p95 != msd(95) {
		t.Errorf("summary of 1..99 ms: median %s, p95 %s; want 50ms, 95ms", s.median, s.p95)
	}
	if s := summarize([]time.Duration{msd(7)}); s.median != msd(7) || s.p95 != msd(7) {
		t.Errorf("one value: %+v", s)
	}
	if s := summarize(nil); s != (summary{}) {
		t.Errorf("no values: %+v", s)
	}
	if got := percentile([]time.Duration{msd(1), msd(2)}, 0); got != msd(1) {
		t.Errorf("0th percentile = %s, want the smallest", got)
	}
}

// chainRecords are n steps of 1.5 s each with a gap of 20+i ms after step
// i, as the watch would record them, with the API's truncated times.
func chainRecords(n int) ([]podRecord, argov1.Nodes) {
	var recs []podRecord
	nodes := argov1.Nodes{}
	start := 0
	for i := range n {
		end := start + 1500
		node := fmt.Sprintf("chain[%d].step-%03d", i, i)
		recs = append(recs, podRecord{
			name: fmt.Sprintf("chain-noop-%d", i), node: node,
			seenCreated: at(start), seenTerminated: at(end),
			created: at(start).Truncate(time.Second), finished: at(end).Truncate(time.Second),
		})
		id := wfnames.NodeID(chainName, node)
		nodes[id] = argov1.NodeStatus{ID: id, Name: node, Type: argov1.NodeTypePod,
			StartedAt: metav1.NewTime(at(start).Truncate(time.Second)), FinishedAt: metav1.NewTime(at(end + 400).Truncate(time.Second))}
		start = end + 20 + i
	}
	nodes[chainName] = argov1.NodeStatus{ID: chainName, Name: chainName, Type: argov1.NodeTypeSteps}
	return recs, nodes
}

func TestAnalyzeChain(t *testing.T) {
	recs, nodes := chainRecords(100)
	f, err := analyzeChain(recs, nodes, 100)
	if err != nil {
		t.Fatal(err)
	}
	// Gaps 20..118 ms: the median is the 50th (69 ms), p95 the 95th (114 ms).
	if f.seen.n != 99 || f.seen.median != msd(69) || f.seen.p95 != msd(114) || f.seen.min != msd(20) || f.seen.max != msd(118) {
		t.Errorf("seen: %+v", f.seen)
	}
	if f.pod.n != 99 || f.pod.median < 0 || f.pod.p95 > time.Second || f.pod.median%time.Second != 0 {
		t.Errorf("pod API gaps: %+v, want whole seconds of 0 or 1", f.pod)
	}
	if f.node.n != 99 {
		t.Errorf("node gaps: %+v", f.node)
	}

	if _, err := analyzeChain(recs[1:], nodes, 100); err == nil || !strings.Contains(err.Error(), "step 0") {
		t.Errorf("without step 0: err = %v", err)
	}
	dup := append(append([]podRecord(nil), recs...), recs[5])
	if _, err := analyzeChain(dup, nodes, 100); err == nil || !strings.Contains(err.Error(), "more than one Pod") {
		t.Errorf("a step twice: err = %v", err)
	}
	other := append(append([]podRecord(nil), recs...), podRecord{name: "x", node: "chain.onExit"})
	if _, err := analyzeChain(other, nodes, 100); err == nil || !strings.Contains(err.Error(), "not a chain step") {
		t.Errorf("a foreign Pod: err = %v", err)
	}
}

func TestAnalyzeFanOut(t *testing.T) {
	var recs []podRecord
	for i := range 200 {
		created, ended := 100+5*i, 3000+7*i // created over 995 ms; the last ends at 4393 ms
		recs = append(recs, podRecord{
			name: fmt.Sprintf("fan-out-noop-%d", i), node: fmt.Sprintf("fan-out.fan(%d:%d)", i, i),
			seenCreated: at(created), seenTerminated: at(ended),
			created: at(created).Truncate(time.Second), finished: at(ended).Truncate(time.Second),
		})
	}
	final := podRecord{name: "fan-out-noop-final", node: "fan-out.done", seenCreated: at(4430), created: at(4430).Truncate(time.Second)}
	f, err := analyzeFanOut(append(recs, final), 200)
	if err != nil {
		t.Fatal(err)
	}
	want := fanOutFigures{spreadSeen: msd(995), spreadAPI: time.Second, fanInSeen: msd(37), fanInAPI: 0}
	if f != want {
		t.Errorf("figures %+v, want %+v", f, want)
	}

	if _, err := analyzeFanOut(recs, 200); err == nil {
		t.Error("no final Pod: no error")
	}
	if _, err := analyzeFanOut(append(recs[1:], final), 200); err == nil || !strings.Contains(err.Error(), "199 fan-out Pods") {
		t.Errorf("199 fan-out Pods: err = %v", err)
	}
	unfinished := append(append([]podRecord(nil), recs...), final)
	unfinished[3].seenTerminated = time.Time{}
	if _, err := analyzeFanOut(unfinished, 200); err == nil || !strings.Contains(err.Error(), "not seen to finish") {
		t.Errorf("an unfinished fan-out Pod: err = %v", err)
	}
	if _, err := analyzeFanOut(append(append(recs, final), final), 200); err == nil || !strings.Contains(err.Error(), "more than one Pod") {
		t.Errorf("two final Pods: err = %v", err)
	}
}
