package events

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/uuid"
	"github.com/tidwall/gjson"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// validateResource checks a resource event as Argo's resource source
// does, and returns its label selector.
func validateResource(r argov1.ResourceEventSource, path string) (labels.Selector, error) {
	if r.Version == "" || r.Resource == "" {
		return nil, fmt.Errorf("%s: give version and resource (and group, empty for the core group), such as version: v1, resource: pods", path)
	}
	if len(r.EventTypes) == 0 {
		return nil, fmt.Errorf("%s.eventTypes: give at least one of ADD, UPDATE, DELETE", path)
	}
	for i, t := range r.EventTypes {
		switch t {
		case "ADD", "UPDATE", "DELETE":
		default:
			return nil, fmt.Errorf("%s.eventTypes[%d]: %q is not one of ADD, UPDATE, DELETE", path, i, t)
		}
	}
	sel := labels.NewSelector()
	f := r.Filter
	if f == nil {
		return sel, nil
	}
	for i, l := range f.Labels {
		op := selection.Equals
		if l.Operation != "" {
			op = selection.Operator(l.Operation)
		}
		var values []string
		switch {
		case (op == selection.Exists || op == selection.DoesNotExist) && l.Value == "":
		case op == selection.In || op == selection.NotIn:
			values = strings.Split(l.Value, ",")
		default:
			values = []string{l.Value}
		}
		req, err := labels.NewRequirement(l.Key, op, values)
		if err != nil {
			return nil, fmt.Errorf("%s.filter.labels[%d]: %w", path, i, err)
		}
		sel = sel.Add(*req)
	}
	for i, fl := range f.Fields {
		switch fl.Operation {
		case "", "=", "==", "!=":
		default:
			return nil, fmt.Errorf("%s.filter.fields[%d].operation: %q is not one of ==, =, !=", path, i, fl.Operation)
		}
		if _, err := regexp.Compile(fl.Value); err != nil {
			return nil, fmt.Errorf("%s.filter.fields[%d].value: %q is not a regular expression: %w", path, i, fl.Value, err)
		}
	}
	return sel, nil
}

// passResource is Argo's passFilters: prefix, afterStart, createdBy, and
// the field requirements (a missing field fails).
func passResource(f *argov1.ResourceFilter, obj *unstructured.Unstructured, typ string, started time.Time) bool {
	if f == nil {
		return true
	}
	if f.Prefix != "" && !strings.HasPrefix(obj.GetName(), f.Prefix) {
		return false
	}
	if f.AfterStart && eventTime(obj, typ).Before(started) {
		return false
	}
	if !f.CreatedBy.IsZero() && obj.GetCreationTimestamp().After(f.CreatedBy.Time) {
		return false
	}
	if len(f.Fields) == 0 {
		return true
	}
	data, err := obj.MarshalJSON()
	if err != nil {
		return false
	}
	for _, sel := range f.Fields {
		v := gjson.GetBytes(data, sel.Key)
		if !v.Exists() {
			return false
		}
		match := regexp.MustCompile(sel.Value).MatchString(v.String()) // checked by validateResource
		if sel.Operation == "!=" && match || sel.Operation != "!=" && !match {
			return false
		}
	}
	return true
}

// eventTime is when the change happened, as Argo reads it: creation for
// ADD, deletion for DELETE, the newest update of the managed fields for
// UPDATE.
func eventTime(obj *unstructured.Unstructured, typ string) time.Time {
	switch typ {
	case "DELETE":
		if d := obj.GetDeletionTimestamp(); d != nil {
			return d.Time
		}
		return time.Now()
	case "UPDATE":
		t := obj.GetCreationTimestamp().Time
		for _, f := range obj.GetManagedFields() {
			if f.Time != nil && f.Operation == metav1.ManagedFieldsOperationUpdate && f.Time.After(t) {
				t = f.Time.Time
			}
		}
		return t
	}
	return obj.GetCreationTimestamp().Time
}

// resourceEvent is Argo's resource payload: {type, body, oldBody, group,
// version, resource, metadata}.
func resourceEvent(source, name string, r argov1.ResourceEventSource, typ string, obj, old *unstructured.Unstructured) (*Event, error) {
	body, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	oldBody := json.RawMessage("null")
	if old != nil {
		if oldBody, err = json.Marshal(old); err != nil {
			return nil, err
		}
	}
	data, err := json.Marshal(map[string]any{"type": typ, "body": json.RawMessage(body), "oldBody": oldBody,
		"group": r.Group, "version": r.Version, "resource": r.Resource, "metadata": r.Metadata})
	if err != nil {
		return nil, err
	}
	return &Event{Context: EventContext{ID: uuid.NewString(), Source: source, SpecVersion: "1.0", Type: "resource",
		DataContentType: "application/json", Subject: name, Time: time.Now().UTC()}, Data: data}, nil
}

type resourceChange struct {
	typ      string
	obj, old *unstructured.Unstructured
}

// watch is one resource event on the leader: an informer on the resource
// (namespace and label selector on the server), its changes filtered and
// dispatched in order; a failed dispatch is retried a few times with
// backoff, then logged.
func (c *leaderSources) watch(ctx context.Context, k sourceEventKey, r argov1.ResourceEventSource) {
	log := c.log.WithValues("eventsource", k.source, "event", k.event)
	sel, err := validateResource(r, "spec.resource."+k.event)
	if err != nil || c.dynamic == nil {
		return // validation refused the EventSource already
	}
	gvr := schema.GroupVersionResource{Group: r.Group, Version: r.Version, Resource: r.Resource}
	factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(c.dynamic, 0, r.Namespace, func(o *metav1.ListOptions) {
		o.LabelSelector = sel.String()
	})
	changes := make(chan resourceChange, 256)
	types := map[string]bool{}
	for _, t := range r.EventTypes {
		types[t] = true
	}
	send := func(ch resourceChange) {
		select {
		case changes <- ch:
		case <-ctx.Done():
		}
	}
	handlers := cache.ResourceEventHandlerFuncs{}
	if types["ADD"] {
		handlers.AddFunc = func(obj any) {
			if u, ok := obj.(*unstructured.Unstructured); ok {
				send(resourceChange{typ: "ADD", obj: u})
			}
		}
	}
	if types["UPDATE"] {
		handlers.UpdateFunc = func(oldObj, newObj any) {
			u, ok1 := newObj.(*unstructured.Unstructured)
			o, ok2 := oldObj.(*unstructured.Unstructured)
			if ok1 && ok2 && u.GetResourceVersion() != o.GetResourceVersion() {
				send(resourceChange{typ: "UPDATE", obj: u, old: o})
			}
		}
	}
	if types["DELETE"] {
		handlers.DeleteFunc = func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if u, ok := obj.(*unstructured.Unstructured); ok {
				send(resourceChange{typ: "DELETE", obj: u})
			}
		}
	}
	informer := factory.ForResource(gvr).Informer()
	if _, err := informer.AddEventHandler(handlers); err != nil {
		log.Error(err, "watching the resource")
		return
	}
	started := time.Now()
	go informer.Run(ctx.Done())
	for {
		select {
		case <-ctx.Done():
			return
		case ch := <-changes:
			if !passResource(r.Filter, ch.obj, ch.typ, started) {
				continue
			}
			ev, err := resourceEvent(k.source.Name, k.event, r, ch.typ, ch.obj, ch.old)
			if err != nil {
				log.Error(err, "encoding a resource event")
				continue
			}
			wait := 200 * time.Millisecond
			for attempt := 1; ; attempt++ {
				_, err = c.router.Dispatch(logr.NewContext(ctx, log), k.source.Namespace, k.source.Name, k.event, ev)
				if err == nil || attempt == 5 || ctx.Err() != nil {
					break
				}
				select {
				case <-ctx.Done():
				case <-time.After(wait):
				}
				wait *= 2
			}
			c.fired(k.source, k.event, ev.Context.Time, time.Time{}, err)
			if err != nil {
				log.Error(err, "a resource event's trigger failed after 5 attempts", "object", ch.obj.GetNamespace()+"/"+ch.obj.GetName(), "type", ch.typ)
			}
		}
	}
}
