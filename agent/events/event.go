package events

import (
	"encoding/json"
	"time"
)

// Event is one event as Argo Events carries it: a CloudEvents context and
// the payload (for a webhook, {header, body, metadata}).
type Event struct {
	Context EventContext    `json:"context"`
	Data    json.RawMessage `json:"data"`
}

// EventContext is the CloudEvents context of an event, in Argo's JSON
// names.
type EventContext struct {
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	SpecVersion     string    `json:"specversion"`
	Type            string    `json:"type"`
	DataContentType string    `json:"datacontenttype"`
	Subject         string    `json:"subject"`
	Time            time.Time `json:"time"`
}

// contextJSON is the context as parameters and filters read it.
func (e *Event) contextJSON() []byte {
	b, _ := json.Marshal(e.Context)
	return b
}
