// Package events owns the events role: Argo Events' EventSources and
// Sensors run inside the agent, with no Deployment per object and no event
// bus. A webhook event is served on the agent's webhook Service, handed to
// the Sensors that depend on it in the same request, and acknowledged
// (2xx) only after every trigger it completed has succeeded; a failed
// trigger answers 5xx, so the sender retries. Each replica serves the
// webhooks that reach it, so the registry of sources and Sensors is kept on
// every replica; the leader writes their status.
package events
