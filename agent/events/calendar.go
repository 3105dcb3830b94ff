package events

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/uuid"
	"github.com/robfig/cron/v3"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/duration"
)

// calendarSchedule is a calendar event's parsed schedule: when it fires
// next after a time, skipping the excluded days, in its time zone.
type calendarSchedule struct {
	schedule cron.Schedule
	excluded []time.Time
	location *time.Location
}

// parseCalendar checks a calendar event as Argo's calendar source does.
func parseCalendar(c argov1.CalendarEventSource, path string) (*calendarSchedule, error) {
	cs := &calendarSchedule{location: time.UTC}
	switch {
	case c.Schedule != "" && c.Interval != "":
		return nil, fmt.Errorf("%s: give schedule or interval, not both", path)
	case c.Schedule != "":
		s, err := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow).Parse(c.Schedule)
		if err != nil {
			return nil, fmt.Errorf("%s.schedule: %q is not a five-field cron expression: %w", path, c.Schedule, err)
		}
		cs.schedule = s
	case c.Interval != "":
		d, err := time.ParseDuration(c.Interval)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%s.interval: %q is not a positive duration such as 10s or 5m", path, c.Interval)
		}
		cs.schedule = cron.ConstantDelaySchedule{Delay: d}
	default:
		return nil, fmt.Errorf("%s: give a schedule (cron) or an interval", path)
	}
	if c.Timezone != "" {
		loc, err := time.LoadLocation(c.Timezone)
		if err != nil {
			return nil, fmt.Errorf("%s.timezone: %q is not a time zone: %w", path, c.Timezone, err)
		}
		cs.location = loc
	}
	for i, v := range c.ExclusionDates {
		dates, ok := strings.CutPrefix(v, "EXDATE:")
		if !ok {
			return nil, fmt.Errorf("%s.exclusionDates[%d]: %q is not an RFC 5545 EXDATE line (EXDATE:20260101T000000Z)", path, i, v)
		}
		for _, d := range strings.Split(dates, ",") {
			t, err := time.Parse("20060102T150405Z", d)
			if err != nil {
				return nil, fmt.Errorf("%s.exclusionDates[%d]: %q is not a date such as 20260101T000000Z", path, i, d)
			}
			cs.excluded = append(cs.excluded, t)
		}
	}
	if p := c.Persistence; p != nil && p.Catchup != nil && p.Catchup.MaxDuration != "" {
		if _, err := duration.Parse(p.Catchup.MaxDuration); err != nil {
			return nil, fmt.Errorf("%s.persistence.catchup.maxDuration: %w", path, err)
		}
	}
	return cs, nil
}

// next is the first fire time after last that is not on an excluded day.
func (cs *calendarSchedule) next(last time.Time) time.Time {
	t := cs.schedule.Next(last.In(cs.location))
	for i := 0; i < 1000; i++ {
		excluded := false
		for _, ex := range cs.excluded {
			if ex.Year() == t.Year() && ex.Month() == t.Month() && ex.Day() == t.Day() {
				excluded = true
				break
			}
		}
		if !excluded {
			return t
		}
		t = cs.schedule.Next(t)
	}
	return t
}

// lastFire reads the event's last fire time from the EventSource's
// status as stored.
func (c *leaderSources) lastFire(ctx context.Context, k sourceEventKey) (time.Time, error) {
	if c.reader == nil {
		return time.Time{}, nil
	}
	es := &argov1.EventSource{}
	if err := c.reader.Get(ctx, k.source, es); err != nil {
		return time.Time{}, err
	}
	for _, st := range es.Status.Events {
		if st.EventName == k.event && st.LastFireTime != nil {
			return st.LastFireTime.Time, nil
		}
	}
	return time.Time{}, nil
}

// calendarEvent is Argo's calendar payload: {eventTime, metadata}.
func calendarEvent(source, name string, at time.Time, metadata map[string]string) (*Event, error) {
	data, err := json.Marshal(map[string]any{"eventTime": at.String(), "metadata": metadata})
	if err != nil {
		return nil, err
	}
	return &Event{Context: EventContext{ID: uuid.NewString(), Source: source, SpecVersion: "1.0", Type: "calendar",
		DataContentType: "application/json", Subject: name, Time: at.UTC()}, Data: data}, nil
}

// leaderSources runs the calendar and resource events of the loaded
// EventSources, on the leader only (every replica would fire them
// otherwise).
type leaderSources struct {
	log     logr.Logger
	router  *Router
	elected <-chan struct{}
	// fired records a fire (or a failure) for the status.
	fired func(key types.NamespacedName, event string, at, next time.Time, err error)
	// resync asks for every EventSource to be looked at again: one seen
	// before Start could not start its runs.
	resync func(ctx context.Context)
	// reader reads the last fire time once this replica leads: a standby's
	// copy is as old as its start.
	reader client.Reader
	// dynamic watches the objects of resource events.
	dynamic dynamic.Interface

	mu      sync.Mutex
	ctx     context.Context
	running map[sourceEventKey]*leaderRun
}

type sourceEventKey struct {
	source types.NamespacedName
	event  string
}

type leaderRun struct {
	generation int64
	cancel     context.CancelFunc
}

// Start keeps the runs' parent context: the manager's.
func (c *leaderSources) Start(ctx context.Context) error {
	c.mu.Lock()
	c.ctx = ctx
	c.mu.Unlock()
	if c.resync != nil {
		c.resync(ctx)
	}
	<-ctx.Done()
	return nil
}

// NeedLeaderElection is false: Start must hold the context on every
// replica; each run waits for the election itself.
func (c *leaderSources) NeedLeaderElection() bool { return false }

// sync starts, restarts (on a new generation) or stops the leader's runs
// of one EventSource (its calendar and resource events); es nil stops
// them all.
func (c *leaderSources) sync(key types.NamespacedName, es *argov1.EventSource) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, run := range c.running {
		if k.source != key {
			continue
		}
		keep := es != nil && run.generation == es.Generation
		if keep {
			_, isCal := es.Spec.Calendar[k.event]
			_, isRes := es.Spec.Resource[k.event]
			keep = isCal || isRes
		}
		if !keep {
			run.cancel()
			delete(c.running, k)
		}
	}
	if es == nil || c.ctx == nil {
		return
	}
	start := func(name string, run func(ctx context.Context, k sourceEventKey)) {
		k := sourceEventKey{source: key, event: name}
		if _, ok := c.running[k]; ok {
			return
		}
		ctx, cancel := context.WithCancel(c.ctx)
		c.running[k] = &leaderRun{generation: es.Generation, cancel: cancel}
		go func() {
			select {
			case <-ctx.Done():
				return
			case <-c.elected:
			}
			run(ctx, k)
		}()
	}
	for name, cal := range es.Spec.Calendar {
		sched, err := parseCalendar(cal, "spec.calendar."+name)
		if err != nil {
			continue // validation refused the EventSource already
		}
		start(name, func(ctx context.Context, k sourceEventKey) { c.run(ctx, k, cal, sched) })
	}
	for name, res := range es.Spec.Resource {
		start(name, func(ctx context.Context, k sourceEventKey) { c.watch(ctx, k, res) })
	}
}

// run is one calendar event: from the last fire time (with catchup) or
// now, each fire time dispatched in turn; a failed dispatch is retried
// with backoff when persistence keeps the time, else skipped, as Argo.
func (c *leaderSources) run(ctx context.Context, k sourceEventKey, cal argov1.CalendarEventSource, sched *calendarSchedule) {
	log := c.log.WithValues("eventsource", k.source, "event", k.event)
	catchup := cal.Persistence != nil && cal.Persistence.Catchup != nil && cal.Persistence.Catchup.Enabled
	last := time.Now()
	persisted, err := c.lastFire(ctx, k)
	if err != nil {
		log.Error(err, "reading the calendar event's last fire time: no catch-up this time")
	}
	if catchup && !persisted.IsZero() {
		last = persisted
		if max := cal.Persistence.Catchup.MaxDuration; max != "" {
			if d, err := duration.Parse(max); err == nil && time.Since(last) > d {
				last = time.Now().Add(-d)
			}
		}
	}
	wait := 100 * time.Millisecond
	for {
		t := sched.next(last)
		if d := time.Until(t); d > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
		}
		ev, err := calendarEvent(k.source.Name, k.event, t, cal.Metadata)
		if err == nil {
			_, err = c.router.Dispatch(logr.NewContext(ctx, log), k.source.Namespace, k.source.Name, k.event, ev)
		}
		c.fired(k.source, k.event, t, sched.next(t), err)
		if err != nil && catchup {
			log.Error(err, "a calendar event's trigger failed: it fires again", "eventTime", t)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(wait*2, time.Minute)
			continue
		}
		if err != nil {
			log.Error(err, "a calendar event's trigger failed: it is skipped (set persistence.catchup to retry it)", "eventTime", t)
		}
		wait = 100 * time.Millisecond
		last = t
	}
}
