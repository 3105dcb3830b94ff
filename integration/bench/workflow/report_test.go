package main

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argolite/argolite/integration/bench/internal/benchkit"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

func TestMetricValue(t *testing.T) {
	text := []byte(`# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes_max 1
process_resident_memory_bytes 5.1892224e+07
process_virtual_memory_bytes 1.3e+09
`)
	if v, err := metricValue(text, "process_resident_memory_bytes"); err != nil || v != 51892224 {
		t.Errorf("metricValue = %v, %v; want 51892224", v, err)
	}
	if _, err := metricValue(text, "go_goroutines"); err == nil {
		t.Error("a missing metric: no error")
	}
	if _, err := metricValue([]byte("up x\n"), "up"); err == nil {
		t.Error("a value that is no number: no error")
	}
}

func TestMs(t *testing.T) {
	for d, want := range map[time.Duration]string{
		23456 * time.Microsecond:  "23.5 ms",
		-2 * time.Millisecond:     "-2.0 ms",
		1500 * time.Millisecond:   "1.50 s",
		125300 * time.Millisecond: "125.3 s",
	} {
		if got := ms(d); got != want {
			t.Errorf("ms(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestMarkdown(t *testing.T) {
	o := options{steps: 100, width: 200, image: defaultImage}
	// A run that failed early: every figure is a dash.
	partial := (&results{started: t0, restarts: -1}).markdown(o)
	for _, want := range []string{"chain of 100 trivial steps and a fan-out of 200", "median of 99 gaps | **—** |", "| **peak during the fan-out** | — |"} {
		if !strings.Contains(partial, want) {
			t.Errorf("the partial report lacks %q:\n%s", want, partial)
		}
	}
	if strings.Contains(partial, "restarts") {
		t.Error("the partial report gives a restart count it did not read")
	}

	wf := &argov1.Workflow{Status: argov1.WorkflowStatus{StartedAt: metav1.NewTime(t0), FinishedAt: metav1.NewTime(t0.Add(21 * time.Second))}}
	peak := memPeak{kubelet: benchkit.Memory{RSS: 40 << 20, WorkingSet: 45 << 20, Samples: 3}, process: 42 << 20, processSamples: 22}
	r := &results{
		started: t0, serverVersion: "v1.36.3", node: "node-1", machine: "8 CPUs", image: "agent:dev",
		idle:          memPeak{kubelet: benchkit.Memory{RSS: 30 << 20, WorkingSet: 33 << 20, Samples: 2}, process: 31 << 20, processSamples: 15},
		chain:         &run{wf: wf, wall: 21300 * time.Millisecond, firstPod: 40 * time.Millisecond, mem: peak},
		fanOut:        &run{wf: wf, wall: 30 * time.Second, firstPod: 35 * time.Millisecond, mem: peak},
		chainFigures:  chainFigures{seen: summary{n: 99, median: 23 * time.Millisecond, p95: 41 * time.Millisecond, min: 12 * time.Millisecond, max: 60 * time.Millisecond}, pod: summary{p95: time.Second}},
		fanOutFigures: fanOutFigures{spreadSeen: 2 * time.Second, fanInSeen: 30 * time.Millisecond},
		restarts:      0,
	}
	full := r.markdown(o)
	for _, want := range []string{
		"Kubernetes v1.36.3, node node-1 (8 CPUs), agent image `agent:dev`",
		"median of 99 gaps | **23.0 ms** |",
		"| the same, p95 | **41.0 ms** |",
		"median / p95 | 0 s / 1 s |",
		"| whole run: status.finishedAt − startedAt (1 s resolution) | 21 s |",
		"| per step (submit → Succeeded seen, ÷ 100) | 213.0 ms |",
		"| first → last of the 200 Pods seen created | 2.00 s |",
		"| idle, before the runs (about 15 s) | 30.0 MiB | 33.0 MiB | 31.0 MiB | 2 / 15 |",
		"| **peak during the fan-out** | 40.0 MiB | 45.0 MiB | 42.0 MiB | 3 / 22 |",
		"Agent container restarts during the run: 0.",
	} {
		if !strings.Contains(full, want) {
			t.Errorf("the report lacks %q:\n%s", want, full)
		}
	}
}
