package events

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrl "sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/argolite/argolite/agent/ctrlkit"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/eventstrict"
	"github.com/argolite/argolite/shared/strict"
)

// The reasons of the events kinds' Ready condition.
const (
	reasonLoaded      = "Loaded"
	reasonInvalidSpec = "InvalidSpec"
)

// statusWriter writes status only on the leader: every replica keeps the
// registry and serves webhooks, one writes.
type statusWriter struct {
	*ctrlkit.StatusWriter
	elected <-chan struct{}
}

func (w statusWriter) leader() bool {
	select {
	case <-w.elected:
		return true
	default:
		return false
	}
}

// strictFaults reads an object as stored (the CRD keeps fields the types
// do not know) and checks it.
func strictFaults(ctx context.Context, reader client.Reader, obj client.Object, kind string, check func(map[string]any) []strict.Fault) (string, error) {
	raw, err := ctrlkit.StoredSpec(ctx, reader, obj, kind)
	if err != nil {
		return "", err
	}
	faults := check(raw)
	if len(faults) == 0 {
		return "", nil
	}
	msg := ""
	for i, f := range faults {
		if i > 0 {
			msg += "; "
		}
		msg += f.Path + ": " + f.Reason
	}
	return msg + " (field names follow Argo Events; see docs/events.md)", nil
}

// eventSourceReconciler loads EventSources into the router.
type eventSourceReconciler struct {
	ctrlkit.Events
	client client.Client
	reader client.Reader
	router *Router
	status statusWriter
	// counts are the events each endpoint took on this replica since its
	// status was last written.
	mu     sync.Mutex
	counts map[types.NamespacedName]map[string]*argov1.EventEndpoint
	// changed asks for the status to be written.
	changed func(types.NamespacedName)
	// leader runs the calendar and resource events; cal is their record.
	leader *leaderSources
	cal    map[types.NamespacedName]map[string]*argov1.SourceEventStatus
}

// calendarFired records a calendar event's fire (or failure) for the
// status.
func (r *eventSourceReconciler) calendarFired(key types.NamespacedName, event string, at, next time.Time, err error) {
	defer r.changed(key)
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.calendarRecord(key, event)
	if !next.IsZero() { // a resource event has no next time
		n := metav1.NewTime(next)
		rec.NextFireTime = &n
	}
	if err != nil {
		rec.LastError = err.Error()
		return
	}
	t := metav1.NewTime(at)
	rec.LastFireTime, rec.LastError = &t, ""
	rec.Events++
}

// calendarRecord is the record of one calendar event (r.mu held).
func (r *eventSourceReconciler) calendarRecord(key types.NamespacedName, event string) *argov1.SourceEventStatus {
	if r.cal[key] == nil {
		r.cal[key] = map[string]*argov1.SourceEventStatus{}
	}
	rec := r.cal[key][event]
	if rec == nil {
		rec = &argov1.SourceEventStatus{EventName: event}
		r.cal[key][event] = rec
	}
	return rec
}

// calendarStatus is status.events: each calendar and resource event's record, which
// starts from the status (so the counts and the last fire time carry over
// an agent restart).
func (r *eventSourceReconciler) calendarStatus(key types.NamespacedName, es *argov1.EventSource) []argov1.SourceEventStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	prev := map[string]argov1.SourceEventStatus{}
	for _, c := range es.Status.Events {
		prev[c.EventName] = c
	}
	var out []argov1.SourceEventStatus
	names := []string{}
	for name := range es.Spec.Calendar {
		names = append(names, name)
	}
	for name := range es.Spec.Resource {
		names = append(names, name)
	}
	for _, name := range names {
		rec, ok := r.cal[key][name]
		if !ok {
			p := prev[name]
			rec = r.calendarRecord(key, name)
			*rec = p
			rec.EventName = name
		}
		out = append(out, *rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].EventName < out[j].EventName })
	return out
}

// seen counts an event of an endpoint, for the status.
func (r *eventSourceReconciler) seen(key types.NamespacedName, event string, at time.Time) {
	defer r.changed(key)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.counts[key] == nil {
		r.counts[key] = map[string]*argov1.EventEndpoint{}
	}
	c := r.counts[key][event]
	if c == nil {
		c = &argov1.EventEndpoint{EventName: event}
		r.counts[key][event] = c
	}
	c.Events++
	t := metav1.NewTime(at)
	c.LastEventTime = &t
}

func (r *eventSourceReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	es := &argov1.EventSource{}
	if err := r.client.Get(ctx, req.NamespacedName, es); err != nil {
		if apierrors.IsNotFound(err) {
			r.router.removeSource(req.NamespacedName)
			r.leader.sync(req.NamespacedName, nil)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !es.DeletionTimestamp.IsZero() {
		r.router.removeSource(req.NamespacedName)
		r.leader.sync(req.NamespacedName, nil)
		return ctrl.Result{}, nil
	}
	if r.status.Stale(es) {
		// The counts add to the status last written: wait for it.
		return ctrlkit.StaleResult(), nil
	}
	base := es.DeepCopy()
	if r.status.leader() {
		defer func() {
			es.Status.ObservedGeneration = es.Generation
			if _, err := r.status.Patch(ctx, base, es); err != nil {
				retErr = errors.Join(retErr, err)
			}
		}()
	}
	conds := ctrlkit.Conditions{List: &es.Status.Conditions, Generation: es.Generation}
	msg, err := strictFaults(ctx, r.reader, es, "EventSource", eventstrict.EventSource)
	if err != nil {
		return ctrl.Result{}, err
	}
	if msg == "" {
		msg = validateEventSource(es)
	}
	if msg != "" {
		r.router.removeSource(req.NamespacedName)
		r.leader.sync(req.NamespacedName, nil)
		conds.Failed(reasonInvalidSpec, msg, true)
		r.Event(es, corev1.EventTypeWarning, reasonInvalidSpec, "Validate", "%s", msg)
		return ctrl.Result{}, nil
	}
	r.router.setSource(req.NamespacedName, es)
	if r.status.leader() {
		es.Status.Endpoints = r.endpoints(req.NamespacedName, es)
		es.Status.Events = r.calendarStatus(req.NamespacedName, es)
	}
	r.leader.sync(req.NamespacedName, es)
	var what []string
	if n := len(es.Spec.Webhook); n > 0 {
		what = append(what, fmt.Sprintf("serving %d webhook event(s) on the agent's webhook Service under %s%s/%s/", n, WebhookPrefix, es.Namespace, es.Name))
	}
	if n := len(es.Spec.Calendar); n > 0 {
		what = append(what, fmt.Sprintf("firing %d calendar event(s) on the leader", n))
	}
	if n := len(es.Spec.Resource); n > 0 {
		what = append(what, fmt.Sprintf("watching %d resource event(s) on the leader", n))
	}
	conds.Ready(reasonLoaded, strings.Join(what, "; "))
	return ctrl.Result{}, nil
}

// endpoints lists the webhook events with their paths and counts.
func (r *eventSourceReconciler) endpoints(key types.NamespacedName, es *argov1.EventSource) []argov1.EventEndpoint {
	r.mu.Lock()
	defer r.mu.Unlock()
	prev := map[string]argov1.EventEndpoint{}
	for _, e := range es.Status.Endpoints {
		prev[e.EventName] = e
	}
	var out []argov1.EventEndpoint
	for name, src := range es.Spec.Webhook {
		method := src.Method
		if method == "" {
			method = "POST"
		}
		e := argov1.EventEndpoint{EventName: name, Method: method, Path: webhookPath(es.Namespace, es.Name, name)}
		if c := r.counts[key][name]; c != nil {
			e.Events, e.LastEventTime = prev[name].Events+c.Events, c.LastEventTime
			c.Events = 0 // written now
		} else {
			e.Events, e.LastEventTime = prev[name].Events, prev[name].LastEventTime
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].EventName < out[j].EventName })
	return out
}

// eventName is what a webhook event's name may be: it is part of its URL.
var eventName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// validateEventSource checks the webhook events: a name usable in a
// path, a method, a sane maxPayloadSize.
func validateEventSource(es *argov1.EventSource) string {
	if len(es.Spec.Webhook)+len(es.Spec.Calendar)+len(es.Spec.Resource) == 0 {
		return "spec: an EventSource needs at least one webhook, calendar or resource event (the source kinds argolite has so far)"
	}
	for name, res := range es.Spec.Resource {
		if !eventName.MatchString(name) {
			return "spec.resource." + name + ": the event name must be letters, digits, '-', '_' or '.'"
		}
		if _, ok := es.Spec.Webhook[name]; ok {
			return "spec.resource." + name + ": a webhook event has the same name: rename one"
		}
		if _, ok := es.Spec.Calendar[name]; ok {
			return "spec.resource." + name + ": a calendar event has the same name: rename one"
		}
		if _, err := validateResource(res, "spec.resource."+name); err != nil {
			return err.Error()
		}
	}
	for name, c := range es.Spec.Calendar {
		if !eventName.MatchString(name) {
			return "spec.calendar." + name + ": the event name must be letters, digits, '-', '_' or '.'"
		}
		if _, ok := es.Spec.Webhook[name]; ok {
			return "spec.calendar." + name + ": a webhook event has the same name: rename one"
		}
		if _, err := parseCalendar(c, "spec.calendar."+name); err != nil {
			return err.Error()
		}
	}
	for name, w := range es.Spec.Webhook {
		p := "spec.webhook." + name
		if !eventName.MatchString(name) {
			return p + ": the event name must be letters, digits, '-', '_' or '.': it is part of the URL"
		}
		switch w.Method {
		case "", "GET", "POST", "PUT", "PATCH", "DELETE":
		default:
			return fmt.Sprintf("%s.method: %q is not an HTTP method argolite serves (GET, POST, PUT, PATCH, DELETE)", p, w.Method)
		}
		if w.MaxPayloadSize != nil && *w.MaxPayloadSize <= 0 {
			return p + ".maxPayloadSize: must be more than 0 bytes"
		}
		if w.AuthSecret != nil && (w.AuthSecret.Name == "" || w.AuthSecret.Key == "") {
			return p + ".authSecret: give the Secret's name and key"
		}
	}
	return ""
}

// sensorReconciler loads Sensors into the router and writes their counts.
type sensorReconciler struct {
	ctrlkit.Events
	client client.Client
	reader client.Reader
	router *Router
	status statusWriter
}

func (r *sensorReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	s := &argov1.Sensor{}
	if err := r.client.Get(ctx, req.NamespacedName, s); err != nil {
		if apierrors.IsNotFound(err) {
			r.router.removeSensor(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !s.DeletionTimestamp.IsZero() {
		r.router.removeSensor(req.NamespacedName)
		return ctrl.Result{}, nil
	}
	if r.status.Stale(s) {
		return ctrlkit.StaleResult(), nil
	}
	base := s.DeepCopy()
	if r.status.leader() {
		defer func() {
			s.Status.ObservedGeneration = s.Generation
			if _, err := r.status.Patch(ctx, base, s); err != nil {
				retErr = errors.Join(retErr, err)
			}
		}()
	}
	conds := ctrlkit.Conditions{List: &s.Status.Conditions, Generation: s.Generation}
	msg, err := strictFaults(ctx, r.reader, s, "Sensor", eventstrict.Sensor)
	if err != nil {
		return ctrl.Result{}, err
	}
	var rt *sensorRuntime
	if msg == "" {
		if rt, err = loadSensor(s); err != nil {
			msg = err.Error()
		}
	}
	if msg != "" {
		r.router.removeSensor(req.NamespacedName)
		conds.Failed(reasonInvalidSpec, msg, true)
		r.Event(s, corev1.EventTypeWarning, reasonInvalidSpec, "Validate", "%s", msg)
		return ctrl.Result{}, nil
	}
	r.router.setSensor(req.NamespacedName, rt)
	if st, ok := r.router.stats(req.NamespacedName); ok {
		s.Status.Triggers = st
	}
	conds.Ready(reasonLoaded, fmt.Sprintf("waiting for events of %d dependencies for %d trigger(s)", len(s.Spec.Dependencies), len(s.Spec.Triggers)))
	return ctrl.Result{}, nil
}
