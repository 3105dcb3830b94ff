package events

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// WebhookPrefix is where webhook events are served:
// /events/NAMESPACE/EVENTSOURCE/EVENT.
const WebhookPrefix = "/events/"

// defaultMaxPayload is Argo's default maxPayloadSize (1 MiB).
const defaultMaxPayload = int64(1 << 20)

// webhookPath is the path of one webhook event.
func webhookPath(namespace, source, event string) string {
	return WebhookPrefix + namespace + "/" + source + "/" + event
}

// webhookHandler serves the webhook events of every loaded EventSource. An
// event is answered 200 once every trigger it completed has fired; a
// failed trigger answers 503, so the sender retries; nothing is dispatched
// for a request with a bad token (401), the wrong method (405) or a body
// over maxPayloadSize (413).
type webhookHandler struct {
	// log is the role's logger: the log trigger writes to it.
	log    logr.Logger
	router *Router
	reader client.Reader
	// seen counts the events each endpoint took, for the status.
	seen func(key types.NamespacedName, event string, at time.Time)
}

func (h *webhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.log.WithValues("path", r.URL.Path)
	r = r.WithContext(logr.NewContext(r.Context(), log))
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, WebhookPrefix), "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		reply(w, http.StatusNotFound, "want "+WebhookPrefix+"NAMESPACE/EVENTSOURCE/EVENT")
		return
	}
	key := types.NamespacedName{Namespace: parts[0], Name: parts[1]}
	es := h.router.source(key)
	if es == nil {
		reply(w, http.StatusNotFound, fmt.Sprintf("no EventSource %s is loaded: create it, or check its Ready condition", key))
		return
	}
	src, ok := es.Spec.Webhook[parts[2]]
	if !ok {
		reply(w, http.StatusNotFound, fmt.Sprintf("EventSource %s has no webhook event %q", key, parts[2]))
		return
	}
	method := src.Method
	if method == "" {
		method = http.MethodPost
	}
	if r.Method != method {
		w.Header().Set("Allow", method)
		reply(w, http.StatusMethodNotAllowed, fmt.Sprintf("event %s takes %s", parts[2], method))
		return
	}
	if src.AuthSecret != nil {
		want, err := h.token(r, key.Namespace, src.AuthSecret)
		if err != nil {
			log.Error(err, "reading the webhook's authSecret", "eventsource", key, "event", parts[2])
			reply(w, http.StatusServiceUnavailable, "the event source's authSecret cannot be read")
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			reply(w, http.StatusUnauthorized, "a bearer token is required")
			return
		}
	}
	limit := defaultMaxPayload
	if src.MaxPayloadSize != nil && *src.MaxPayloadSize > 0 {
		limit = *src.MaxPayloadSize
	}
	if r.ContentLength > limit {
		reply(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the payload is larger than maxPayloadSize (%d bytes)", limit))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			reply(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the payload is larger than maxPayloadSize (%d bytes)", limit))
			return
		}
		reply(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	ev, err := webhookEvent(es, parts[2], src, r, body)
	if err != nil {
		reply(w, http.StatusBadRequest, err.Error())
		return
	}
	if h.seen != nil {
		h.seen(key, parts[2], ev.Context.Time)
	}
	fired, err := h.router.Dispatch(r.Context(), key.Namespace, key.Name, parts[2], ev)
	if err != nil {
		log.Error(err, "a trigger failed: the event is refused so that its sender retries", "eventsource", key, "event", parts[2], "eventID", ev.Context.ID)
		reply(w, http.StatusServiceUnavailable, "a trigger failed, send the event again: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": ev.Context.ID, "triggered": fired})
}

// token reads the bearer token of an authSecret.
func (h *webhookHandler) token(r *http.Request, namespace string, sel *corev1.SecretKeySelector) ([]byte, error) {
	sec := &corev1.Secret{}
	if err := h.reader.Get(r.Context(), client.ObjectKey{Namespace: namespace, Name: sel.Name}, sec); err != nil {
		return nil, err
	}
	v, ok := sec.Data[sel.Key]
	if !ok {
		return nil, fmt.Errorf("the Secret %s/%s has no key %q", namespace, sel.Name, sel.Key)
	}
	return []byte(strings.TrimSpace(string(v))), nil
}

// webhookEvent is Argo's webhook event: the payload {header, body,
// metadata} (a body that is not JSON is kept as a string), with a
// CloudEvents context.
func webhookEvent(es *argov1.EventSource, name string, src argov1.WebhookEventSource, r *http.Request, body []byte) (*Event, error) {
	var b json.RawMessage
	switch {
	case len(body) == 0:
		b = json.RawMessage("null")
	case json.Valid(body):
		b = body
	default:
		s, _ := json.Marshal(string(body))
		b = s
	}
	payload := map[string]any{"header": r.Header, "body": b, "metadata": src.Metadata}
	data, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("encoding the event: %w", err)
	}
	return &Event{
		Context: EventContext{ID: uuid.NewString(), Source: es.Name, SpecVersion: "1.0", Type: "webhook",
			DataContentType: "application/json", Subject: name, Time: time.Now().UTC()},
		Data: data,
	}, nil
}

func reply(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
