package main

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/argolite/argolite/integration/bench/internal/benchkit"
)

// ms formats a duration measured by the benchmark's clock.
func ms(d time.Duration) string {
	switch a := math.Abs(d.Seconds()); {
	case a < 1:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	case a < 100:
		return fmt.Sprintf("%.2f s", d.Seconds())
	default:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
}

// whole formats a duration between two API times, which have 1 s resolution.
func whole(d time.Duration) string { return fmt.Sprintf("%.0f s", d.Seconds()) }

// markdown renders the results as the report; what was not measured shows
// as a dash.
func (r *results) markdown(o options) string {
	var s strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&s, format+"\n", args...) }
	const none = "—"
	cell := func(ok bool, f func() string) string {
		if !ok {
			return none
		}
		return f()
	}
	chain, fan := r.chain != nil, r.fanOut != nil
	cf, ff := r.chainFigures, r.fanOutFigures

	w("## Workflows: a chain of %d trivial steps and a fan-out of %d", o.steps, o.width)
	w("")
	w("Run %s on Kubernetes %s, node %s (%s), agent image `%s` (1 replica, default settings).", r.started.Format("2006-01-02 15:04 MST"), r.serverVersion, r.node, r.machine, r.image)
	w("Every step is a Pod of `%s` (imagePullPolicy IfNotPresent) running `true`.", o.image)
	w("")
	w("### Chain: %d steps, one after another", o.steps)
	w("")
	w("| what | time |")
	w("|---|---|")
	w("| **agent overhead per step**: a step Pod's main container seen terminated → the next step Pod seen created, median of %d gaps | **%s** |", o.steps-1, cell(chain, func() string { return ms(cf.seen.median) }))
	w("| the same, p95 | **%s** |", cell(chain, func() string { return ms(cf.seen.p95) }))
	w("| the same, min / max | %s |", cell(chain, func() string { return ms(cf.seen.min) + " / " + ms(cf.seen.max) }))
	w("| by the Pods' API times (1 s resolution): next creationTimestamp − previous main container finishedAt, median / p95 | %s |", cell(chain, func() string { return whole(cf.pod.median) + " / " + whole(cf.pod.p95) }))
	w("| by status.nodes (1 s resolution): next startedAt − previous finishedAt, median / p95 | %s |", cell(chain, func() string { return whole(cf.node.median) + " / " + whole(cf.node.p95) }))
	w("| whole run: submit → Succeeded seen | %s |", cell(chain, func() string { return ms(r.chain.wall) }))
	w("| whole run: status.finishedAt − startedAt (1 s resolution) | %s |", cell(chain, func() string { return whole(r.chain.status()) }))
	w("| per step (submit → Succeeded seen, ÷ %d) | %s |", o.steps, cell(chain, func() string { return ms(r.chain.wall / time.Duration(o.steps)) }))
	w("| submit → first step Pod seen | %s |", cell(chain, func() string { return ms(r.chain.firstPod) }))
	w("")
	w("### Fan-out: %d steps at once (withSequence, no parallelism limit), then one", o.width)
	w("")
	w("| what | time |")
	w("|---|---|")
	w("| whole run: submit → Succeeded seen | %s |", cell(fan, func() string { return ms(r.fanOut.wall) }))
	w("| whole run: status.finishedAt − startedAt (1 s resolution) | %s |", cell(fan, func() string { return whole(r.fanOut.status()) }))
	w("| submit → first step Pod seen | %s |", cell(fan, func() string { return ms(r.fanOut.firstPod) }))
	w("| first → last of the %d Pods seen created | %s |", o.width, cell(fan, func() string { return ms(ff.spreadSeen) }))
	w("| the same by creationTimestamp (1 s resolution) | %s |", cell(fan, func() string { return whole(ff.spreadAPI) }))
	w("| fan-in: last of the %d seen terminated → the final step's Pod seen created | %s |", o.width, cell(fan, func() string { return ms(ff.fanInSeen) }))
	w("| the same by the API's times (1 s resolution) | %s |", cell(fan, func() string { return whole(ff.fanInAPI) }))
	w("")
	w("### Agent memory")
	w("")
	w("| when | RSS (kubelet) | working set (kubelet) | process RSS (/metrics) | readings (kubelet / /metrics) |")
	w("|---|---|---|---|---|")
	mem := func(what string, m memPeak, ok bool) {
		if !ok {
			w("| %s | %s | %s | %s | |", what, none, none, none)
			return
		}
		w("| %s | %s | %s | %s | %d / %d |", what, mib(m.kubelet.RSS), mib(m.kubelet.WorkingSet), mib(m.process), m.kubelet.Samples, m.processSamples)
	}
	mem("idle, before the runs (about 15 s)", r.idle, r.idle.kubelet.Samples+r.idle.processSamples > 0)
	mem("peak during the chain", memOf(r.chain), chain)
	mem("**peak during the fan-out**", memOf(r.fanOut), fan)
	w("")
	w("\"Seen\" times are this process's clock when a watch event arrived: the step Pods and the Workflow are watched")
	w("from before the submit. The agent learns that a step ended from the same kind of watch, so the overhead per step")
	w("is its reaction time plus one Pod create; the API's own times have 1 s resolution and are shown for reference.")
	w("Memory is read every second from submit until the kubelet's first measurement after the workflow completed.")
	w("The kubelet measures about every 10-15 s (the readings column counts its distinct measurements), so its peak")
	w("can miss a short spike; the agent's own `process_resident_memory_bytes`, read every second, is the finer figure.")
	for _, m := range []struct {
		what string
		peak memPeak
	}{{"idle", r.idle}, {"chain", memOf(r.chain)}, {"fan-out", memOf(r.fanOut)}} {
		if m.peak.failures > 0 {
			w("%d memory readings failed (%s), the last with: %v.", m.peak.failures, m.what, m.peak.lastErr)
		}
	}
	if r.restarts >= 0 {
		w("Agent container restarts during the run: %d.", r.restarts)
	}
	if r.otherWorkflows > 0 {
		w("%d unfinished Workflows from elsewhere existed in the cluster when the run started.", r.otherWorkflows)
	}
	w("Command: `make bench-workflow` (`go run ./integration/bench/workflow`).")
	return s.String()
}

func memOf(r *run) memPeak {
	if r == nil {
		return memPeak{}
	}
	return r.mem
}

func mib(n uint64) string {
	if n == 0 {
		return "—"
	}
	return benchkit.MiB(n)
}
