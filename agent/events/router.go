package events

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Knetic/govaluate"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// Router holds the loaded EventSources and Sensors and hands each event to
// the Sensors that depend on it.
type Router struct {
	mu      sync.RWMutex
	sources map[types.NamespacedName]*argov1.EventSource
	sensors map[types.NamespacedName]*sensorRuntime
	// fire runs one trigger; the Sensor controller sets it.
	fire func(ctx context.Context, s *argov1.Sensor, t argov1.Trigger, events map[string]*Event) error
	// changed is told a Sensor's counts changed, so its status is written.
	changed func(types.NamespacedName)
}

func newRouter() *Router {
	return &Router{sources: map[types.NamespacedName]*argov1.EventSource{}, sensors: map[types.NamespacedName]*sensorRuntime{}}
}

// sensorRuntime is a loaded Sensor: its compiled filters and conditions,
// the events each trigger holds while its conditions are not met yet, and
// its counts.
type sensorRuntime struct {
	mu       sync.Mutex
	sensor   *argov1.Sensor
	filters  map[string]*compiledFilter // by dependency name
	triggers []*triggerRuntime
	stats    map[string]*argov1.TriggerStatus
}

type triggerRuntime struct {
	spec argov1.Trigger
	// expr is the conditions over the dependency names it uses.
	expr *govaluate.EvaluableExpression
	deps []string
	// pending is the latest event of each dependency not yet used.
	pending map[string]*Event
}

// conditionsOf is a trigger's conditions: as written, or every dependency
// joined with && (Argo's default).
func conditionsOf(t *argov1.TriggerTemplate, deps []argov1.EventDependency) string {
	if t.Conditions != "" {
		return t.Conditions
	}
	names := make([]string, len(deps))
	for i, d := range deps {
		names[i] = d.Name
	}
	return strings.Join(names, " && ")
}

// compileConditions parses conditions as Argo does (govaluate, with "-"
// in dependency names escaped) and returns the dependencies it names,
// each of which the Sensor must have.
func compileConditions(cond string, deps map[string]bool, path string) (*govaluate.EvaluableExpression, []string, error) {
	expr, err := govaluate.NewEvaluableExpression(strings.ReplaceAll(cond, "-", "\\-"))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %q does not parse: %w", path, cond, err)
	}
	var used []string
	for _, v := range expr.Vars() {
		name := strings.ReplaceAll(v, "\\-", "-")
		if !deps[name] {
			return nil, nil, fmt.Errorf("%s: %q names %q, which is not a dependency of the Sensor", path, cond, name)
		}
		used = append(used, name)
	}
	return expr, used, nil
}

// loadSensor compiles a Sensor for the router; the error names the field.
func loadSensor(s *argov1.Sensor) (*sensorRuntime, error) {
	if len(s.Spec.Dependencies) == 0 {
		return nil, errors.New("spec.dependencies: a Sensor needs at least one dependency")
	}
	if len(s.Spec.Triggers) == 0 {
		return nil, errors.New("spec.triggers: a Sensor needs at least one trigger")
	}
	rt := &sensorRuntime{sensor: s.DeepCopy(), filters: map[string]*compiledFilter{}, stats: map[string]*argov1.TriggerStatus{}}
	names := map[string]bool{}
	for i, d := range s.Spec.Dependencies {
		p := fmt.Sprintf("spec.dependencies[%d]", i)
		switch {
		case d.Name == "":
			return nil, fmt.Errorf("%s.name: give the dependency a name", p)
		case names[d.Name]:
			return nil, fmt.Errorf("%s.name: two dependencies are named %q: rename one", p, d.Name)
		case d.EventSourceName == "" || d.EventName == "":
			return nil, fmt.Errorf("%s: give eventSourceName and eventName", p)
		}
		names[d.Name] = true
		cf, err := compileFilter(d, p)
		if err != nil {
			return nil, err
		}
		rt.filters[d.Name] = cf
	}
	triggerNames := map[string]bool{}
	for i, t := range s.Spec.Triggers {
		p := fmt.Sprintf("spec.triggers[%d].template", i)
		if t.Template == nil || t.Template.Name == "" {
			return nil, fmt.Errorf("%s.name: give the trigger a name", p)
		}
		if triggerNames[t.Template.Name] {
			return nil, fmt.Errorf("%s.name: two triggers are named %q: rename one", p, t.Template.Name)
		}
		triggerNames[t.Template.Name] = true
		if err := validateTrigger(t, fmt.Sprintf("spec.triggers[%d]", i)); err != nil {
			return nil, err
		}
		expr, used, err := compileConditions(conditionsOf(t.Template, s.Spec.Dependencies), names, p+".conditions")
		if err != nil {
			return nil, err
		}
		rt.triggers = append(rt.triggers, &triggerRuntime{spec: t, expr: expr, deps: used, pending: map[string]*Event{}})
		rt.stats[t.Template.Name] = &argov1.TriggerStatus{Name: t.Template.Name}
	}
	for _, st := range s.Status.Triggers {
		if cur, ok := rt.stats[st.Name]; ok {
			*cur = st // the counts so far carry over a reload
		}
	}
	return rt, nil
}

// setSensor loads (or replaces) a Sensor; a Sensor of the same generation
// keeps its pending events.
func (r *Router) setSensor(key types.NamespacedName, rt *sensorRuntime) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.sensors[key]; old != nil && old.sensor.Generation == rt.sensor.Generation {
		return
	}
	r.sensors[key] = rt
}

func (r *Router) removeSensor(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.sensors, key)
}

func (r *Router) setSource(key types.NamespacedName, es *argov1.EventSource) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sources[key] = es.DeepCopy()
}

func (r *Router) removeSource(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.sources, key)
}

func (r *Router) source(key types.NamespacedName) *argov1.EventSource {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.sources[key]
}

// stats returns a copy of a Sensor's trigger counts, in trigger order.
func (r *Router) stats(key types.NamespacedName) ([]argov1.TriggerStatus, bool) {
	r.mu.RLock()
	rt := r.sensors[key]
	r.mu.RUnlock()
	if rt == nil {
		return nil, false
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var out []argov1.TriggerStatus
	for _, t := range rt.triggers {
		out = append(out, *rt.stats[t.spec.Template.Name])
	}
	return out, true
}

// Dispatch hands an event of source/eventName in namespace to every Sensor
// that depends on it, and fires the triggers whose conditions it
// completes. It returns how many triggers fired, and an error when one
// failed (the caller then refuses the event, so its sender retries).
func (r *Router) Dispatch(ctx context.Context, namespace, source, eventName string, ev *Event) (int, error) {
	r.mu.RLock()
	var keys []types.NamespacedName
	for k, rt := range r.sensors {
		if k.Namespace != namespace {
			continue
		}
		for _, d := range rt.sensor.Spec.Dependencies {
			if d.EventSourceName == source && d.EventName == eventName {
				keys = append(keys, k)
				break
			}
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Name < keys[j].Name })
	runtimes := make([]*sensorRuntime, len(keys))
	for i, k := range keys {
		runtimes[i] = r.sensors[k]
	}
	r.mu.RUnlock()
	fired := 0
	var errs []error
	for i, rt := range runtimes {
		n, err := r.dispatchTo(ctx, rt, source, eventName, ev)
		fired += n
		if err != nil {
			errs = append(errs, fmt.Errorf("sensor %s: %w", keys[i], err))
		}
		if n > 0 || err != nil {
			if r.changed != nil {
				r.changed(keys[i])
			}
		}
	}
	return fired, errors.Join(errs...)
}

// dispatchTo is one Sensor's round for an event: the dependencies it
// matches and passes, then each trigger whose conditions now hold, fired
// with the events it holds. A fired trigger uses its events up; one that
// failed drops this event (its sender sends it again) and keeps the rest.
func (r *Router) dispatchTo(ctx context.Context, rt *sensorRuntime, source, eventName string, ev *Event) (int, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var matched []string
	for _, d := range rt.sensor.Spec.Dependencies {
		if d.EventSourceName != source || d.EventName != eventName {
			continue
		}
		ok, err := rt.filters[d.Name].pass(ev.Data)
		if err != nil {
			return 0, fmt.Errorf("dependency %s: filter: %w", d.Name, err)
		}
		if ok {
			matched = append(matched, d.Name)
		}
	}
	if len(matched) == 0 {
		return 0, nil
	}
	fired := 0
	var errs []error
	for _, t := range rt.triggers {
		uses := false
		for _, m := range matched {
			for _, d := range t.deps {
				if d == m {
					t.pending[m] = ev
					uses = true
				}
			}
		}
		if !uses {
			continue
		}
		params := map[string]any{}
		for _, d := range t.deps {
			_, ok := t.pending[d]
			params[d] = ok
		}
		out, err := t.expr.Evaluate(params)
		if err != nil {
			errs = append(errs, fmt.Errorf("trigger %s: conditions: %w", t.spec.Template.Name, err))
			continue
		}
		if ok, _ := out.(bool); !ok {
			continue
		}
		events := map[string]*Event{}
		for d, e := range t.pending {
			events[d] = e
		}
		st := rt.stats[t.spec.Template.Name]
		now := metav1.NewTime(time.Now())
		if err := r.fireWithRetry(ctx, rt.sensor, t.spec, events); err != nil {
			for _, m := range matched {
				delete(t.pending, m)
			}
			st.Failed++
			st.LastError = err.Error()
			errs = append(errs, fmt.Errorf("trigger %s: %w", t.spec.Template.Name, err))
			continue
		}
		t.pending = map[string]*Event{}
		st.Fired++
		st.LastFiredTime = &now
		st.LastError = ""
		fired++
	}
	return fired, errors.Join(errs...)
}

// fireWithRetry runs a trigger, retried as its retryStrategy says.
func (r *Router) fireWithRetry(ctx context.Context, s *argov1.Sensor, t argov1.Trigger, events map[string]*Event) error {
	steps, wait, factor := 1, time.Second, 1.0
	if b := t.RetryStrategy; b != nil {
		steps = max(int(b.Steps), 1)
		if b.Duration != nil {
			if d, err := backoffDuration(b.Duration); err == nil {
				wait = d
			}
		}
		if b.Factor != nil {
			if f, err := b.Factor.Value.Float64(); err == nil && f > 0 {
				factor = f
			}
		}
	}
	var err error
	for attempt := 1; attempt <= steps; attempt++ {
		if err = r.fire(ctx, s, t, events); err == nil {
			return nil
		}
		if attempt == steps {
			break
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
		wait = time.Duration(float64(wait) * factor)
	}
	if steps > 1 {
		return fmt.Errorf("after %d attempts: %w", steps, err)
	}
	return err
}

// ValidateSensor checks a Sensor as the agent loads it (dependencies,
// filters, conditions, triggers); the error names the field.
func ValidateSensor(s *argov1.Sensor) error {
	_, err := loadSensor(s)
	return err
}
