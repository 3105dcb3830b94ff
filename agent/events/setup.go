package events

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/argolite/argolite/agent/ctrlkit"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// Webhooks is where the role adds its webhook handler (the agent's
// webhook server).
type Webhooks interface {
	Handle(pattern string, h http.Handler)
}

// +kubebuilder:rbac:groups=argolite.dev,resources=eventsources;sensors,verbs=get;list;watch
// +kubebuilder:rbac:groups=argolite.dev,resources=eventsources/status;sensors/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=secrets;configmaps,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Setup adds the EventSource and Sensor controllers and the webhook
// handler. The controllers run on every replica (each serves the webhooks
// that reach it); only the leader writes status.
func Setup(mgr manager.Manager, hooks Webhooks) error {
	dyn, err := dynamic.NewForConfig(mgr.GetConfig())
	if err != nil {
		return fmt.Errorf("the events role's dynamic client: %w", err)
	}
	router := newRouter()
	runner := &triggerRunner{client: mgr.GetClient(), reader: mgr.GetAPIReader()}
	router.fire = runner.fire
	// One status writer per kind: it remembers writes by name, and an
	// EventSource and a Sensor often share one.
	status := func() statusWriter {
		return statusWriter{StatusWriter: ctrlkit.NewStatusWriter(mgr.GetClient()), elected: mgr.Elected()}
	}
	sensorChanged := make(chan event.GenericEvent, 1024)
	sourceChanged := make(chan event.GenericEvent, 1024)
	router.changed = notify(sensorChanged, func() client.Object { return &argov1.Sensor{} })
	esr := &eventSourceReconciler{Events: ctrlkit.Events{Recorder: mgr.GetEventRecorder("argolite-events")}, client: mgr.GetClient(), reader: mgr.GetAPIReader(),
		router: router, status: status(), counts: map[types.NamespacedName]map[string]*argov1.EventEndpoint{},
		changed: notify(sourceChanged, func() client.Object { return &argov1.EventSource{} })}
	esr.leader = &leaderSources{log: mgr.GetLogger().WithName("events"), router: router, elected: mgr.Elected(), fired: esr.calendarFired, running: map[sourceEventKey]*leaderRun{}, reader: mgr.GetAPIReader(), dynamic: dyn,
		resync: func(ctx context.Context) { requeueAll(ctx, mgr.GetClient(), sourceChanged, nil) }}
	esr.cal = map[types.NamespacedName]map[string]*argov1.SourceEventStatus{}
	if err := mgr.Add(esr.leader); err != nil {
		return err
	}
	sr := &sensorReconciler{Events: esr.Events, client: mgr.GetClient(), reader: mgr.GetAPIReader(), router: router, status: status()}
	opts := controller.Options{NeedLeaderElection: ptr.To(false)}
	if err := ctrl.NewControllerManagedBy(mgr).For(&argov1.EventSource{}).
		WatchesRawSource(source.Channel(sourceChanged, &handler.EnqueueRequestForObject{})).
		WithOptions(opts).Named("eventsource").Complete(esr); err != nil {
		return err
	}
	if err := ctrl.NewControllerManagedBy(mgr).For(&argov1.Sensor{}).
		WatchesRawSource(source.Channel(sensorChanged, &handler.EnqueueRequestForObject{})).
		WithOptions(opts).Named("sensor").Complete(sr); err != nil {
		return err
	}
	// A replica that becomes leader writes every status once.
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			return nil
		case <-mgr.Elected():
		}
		requeueAll(ctx, mgr.GetClient(), sourceChanged, sensorChanged)
		return nil
	})); err != nil {
		return err
	}
	hooks.Handle(WebhookPrefix, &webhookHandler{log: mgr.GetLogger().WithName("events"), router: router, reader: mgr.GetAPIReader(), seen: esr.seen})
	return nil
}

// notify returns a function that asks for a reconcile of an object, never
// blocking the event path: when the queue is full the next change asks
// again.
func notify(ch chan<- event.GenericEvent, blank func() client.Object) func(types.NamespacedName) {
	return func(key types.NamespacedName) {
		obj := blank()
		obj.SetNamespace(key.Namespace)
		obj.SetName(key.Name)
		select {
		case ch <- event.GenericEvent{Object: obj}:
		default:
		}
	}
}

// requeueAll asks for a reconcile of every EventSource and Sensor, once
// the cache can list them.
func requeueAll(ctx context.Context, c client.Client, sources, sensors chan<- event.GenericEvent) {
	_ = wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
		var esl argov1.EventSourceList
		var sl argov1.SensorList
		if c.List(ctx, &esl) != nil || c.List(ctx, &sl) != nil {
			return false, nil
		}
		for i := range esl.Items {
			sources <- event.GenericEvent{Object: &esl.Items[i]}
		}
		for i := range sl.Items {
			if sensors != nil {
				sensors <- event.GenericEvent{Object: &sl.Items[i]}
			}
		}
		return true, nil
	})
}
