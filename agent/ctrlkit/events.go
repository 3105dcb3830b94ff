package ctrlkit

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
)

// Events records Kubernetes Events on the objects a reconciler acts on.
// The zero value records nothing, so unit tests need no recorder.
type Events struct {
	Recorder events.EventRecorder
}

// Event records one Event: typ is Normal or Warning, reason a CamelCase
// word, action what the agent did, note a printf format.
func (e Events) Event(obj runtime.Object, typ, reason, action, note string, args ...any) {
	if e.Recorder == nil || obj == nil {
		return
	}
	e.Recorder.Eventf(obj, nil, typ, reason, action, note, args...)
}
