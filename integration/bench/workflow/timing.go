package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/wfnames"
)

// podRecord is what the benchmark saw of one step Pod.
type podRecord struct {
	name, node string // the Pod's name and its workflow node's full name
	// seenCreated and seenTerminated are the benchmark's clock when the
	// Pod's watch first showed it, and first showed its main container
	// terminated.
	seenCreated, seenTerminated time.Time
	// created and finished are the API's times (1 s resolution): the Pod's
	// creationTimestamp and its main container's terminated.finishedAt.
	created, finished time.Time
	exitCode          int32
}

// recorder folds the Pod watch's events into podRecords; it is safe for
// the watch goroutine and a reader.
type recorder struct {
	mu   sync.Mutex
	pods map[string]*podRecord
}

func newRecorder() *recorder { return &recorder{pods: map[string]*podRecord{}} }

// observe records a Pod as a watch event showed it at now.
func (r *recorder) observe(pod *corev1.Pod, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.pods[pod.Name]
	if rec == nil {
		rec = &podRecord{name: pod.Name, node: pod.Annotations[wfnames.AnnotationNodeName], seenCreated: now, created: pod.CreationTimestamp.Time}
		r.pods[pod.Name] = rec
	}
	if !rec.seenTerminated.IsZero() {
		return
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if t := cs.State.Terminated; cs.Name == wfnames.MainContainer && t != nil {
			rec.seenTerminated, rec.finished, rec.exitCode = now, t.FinishedAt.Time, t.ExitCode
		}
	}
}

// records returns copies of the records so far, and how many of them were
// seen terminated.
func (r *recorder) records() (recs []podRecord, terminated int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.pods {
		recs = append(recs, *rec)
		if !rec.seenTerminated.IsZero() {
			terminated++
		}
	}
	slices.SortFunc(recs, func(a, b podRecord) int { return a.seenCreated.Compare(b.seenCreated) })
	return recs, terminated
}

// span is when one step started and ended, by one clock.
type span struct{ start, end time.Time }

// gaps are steps[i+1].start - steps[i].end for the steps 0..n-1, which must
// all be there.
func gaps(steps map[int]span, n int) ([]time.Duration, error) {
	out := make([]time.Duration, 0, max(n-1, 0))
	for i := 0; i+1 < n; i++ {
		prev, ok := steps[i]
		if !ok || prev.end.IsZero() {
			return nil, fmt.Errorf("step %d was not seen to finish", i)
		}
		next, ok := steps[i+1]
		if !ok || next.start.IsZero() {
			return nil, fmt.Errorf("step %d was not seen to start", i+1)
		}
		out = append(out, next.start.Sub(prev.end))
	}
	return out, nil
}

// summary describes a set of durations; median and p95 are nearest-rank
// percentiles (values that occurred).
type summary struct {
	n                     int
	median, p95, min, max time.Duration
}

func summarize(ds []time.Duration) summary {
	if len(ds) == 0 {
		return summary{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return summary{n: len(s), median: percentile(s, 50), p95: percentile(s, 95), min: s[0], max: s[len(s)-1]}
}

// percentile is the nearest-rank p-th percentile of sorted durations: the
// smallest value with at least p % of the values at or below it.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// chainFigures are the chain's gaps between one step's end and the next
// step's start, by three clocks.
type chainFigures struct {
	seen summary // the benchmark's watch: main container seen terminated → next Pod seen
	pod  summary // the Pods' API times (1 s): finishedAt → next creationTimestamp
	node summary // status.nodes (1 s): finishedAt → next startedAt
}

// analyzeChain computes the chain's figures from its n step Pods and the
// workflow's nodes.
func analyzeChain(recs []podRecord, nodes argov1.Nodes, n int) (chainFigures, error) {
	seen, api, byNode := map[int]span{}, map[int]span{}, map[int]span{}
	for _, rec := range recs {
		i, ok := stepIndex(rec.node)
		if !ok {
			return chainFigures{}, fmt.Errorf("pod %s runs node %q, not a chain step", rec.name, rec.node)
		}
		if _, dup := seen[i]; dup {
			return chainFigures{}, fmt.Errorf("step %d ran in more than one Pod", i)
		}
		seen[i] = span{rec.seenCreated, rec.seenTerminated}
		api[i] = span{rec.created, rec.finished}
	}
	for _, node := range nodes {
		if node.Type != argov1.NodeTypePod {
			continue
		}
		if i, ok := stepIndex(node.Name); ok {
			byNode[i] = span{node.StartedAt.Time, node.FinishedAt.Time}
		}
	}
	var f chainFigures
	for _, c := range []struct {
		what  string
		steps map[int]span
		into  *summary
	}{{"watched Pods", seen, &f.seen}, {"Pod API times", api, &f.pod}, {"status.nodes", byNode, &f.node}} {
		ds, err := gaps(c.steps, n)
		if err != nil {
			return chainFigures{}, fmt.Errorf("chain gaps from the %s: %w", c.what, err)
		}
		*c.into = summarize(ds)
	}
	return f, nil
}

// fanOutFigures are how fast the fan-out's Pods were created, and the
// fan-in to the final step.
type fanOutFigures struct {
	spreadSeen time.Duration // first → last fan-out Pod seen created
	spreadAPI  time.Duration // the same by creationTimestamp (1 s)
	fanInSeen  time.Duration // last fan-out Pod seen terminated → final Pod seen created
	fanInAPI   time.Duration // the same by the API's times (1 s)
}

// analyzeFanOut computes the fan-out's figures from its width fan-out Pods
// and one final Pod.
func analyzeFanOut(recs []podRecord, width int) (fanOutFigures, error) {
	var final *podRecord
	var seenCreated, created, seenEnded, ended []time.Time
	for _, rec := range recs {
		switch name := wfnames.DisplayName(fanOutName, rec.node); {
		case name == finalTask && final != nil:
			return fanOutFigures{}, fmt.Errorf("the final step ran in more than one Pod: %s and %s", final.name, rec.name)
		case name == finalTask:
			final = &rec
		case strings.HasPrefix(name, fanTask+"("):
			if rec.seenTerminated.IsZero() {
				return fanOutFigures{}, fmt.Errorf("fan-out Pod %s was not seen to finish", rec.name)
			}
			seenCreated, created = append(seenCreated, rec.seenCreated), append(created, rec.created)
			seenEnded, ended = append(seenEnded, rec.seenTerminated), append(ended, rec.finished)
		default:
			return fanOutFigures{}, fmt.Errorf("pod %s runs node %q, not one of the fan-out's", rec.name, rec.node)
		}
	}
	if len(created) != width || final == nil {
		return fanOutFigures{}, fmt.Errorf("%d fan-out Pods and %d final Pods, want %d and 1", len(created), len(recs)-len(created), width)
	}
	var f fanOutFigures
	first, last := bounds(seenCreated)
	f.spreadSeen = last.Sub(first)
	first, last = bounds(created)
	f.spreadAPI = last.Sub(first)
	_, last = bounds(seenEnded)
	f.fanInSeen = final.seenCreated.Sub(last)
	_, last = bounds(ended)
	f.fanInAPI = final.created.Sub(last)
	return f, nil
}

// bounds are the earliest and the latest of some times.
func bounds(ts []time.Time) (first, last time.Time) {
	return slices.MinFunc(ts, time.Time.Compare), slices.MaxFunc(ts, time.Time.Compare)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
