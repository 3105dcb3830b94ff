package pushhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/go-logr/logr"
)

// MaxBodyBytes caps a webhook request body; larger requests get 413.
const MaxBodyBytes = 1 << 20

// Handler serves push webhooks: POST only (405 otherwise), body capped at
// MaxBodyBytes (413 beyond). It calls Parse with secret() read on every
// request, so the secret can rotate; on ErrSignature it replies 401 and
// refreshes nothing; on ErrIgnored 200 with {"refreshed":0,"ignored":...};
// on other parse errors 400 with the reason; otherwise it calls refresh,
// which returns how many applications matched, and replies 200 with
// {"refreshed": n}. It logs through the logr logger in the request
// context, never the secret.
func Handler(secret func() []byte, refresh func(ctx context.Context, p Push) int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log := logr.FromContextOrDiscard(r.Context())
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "only POST is accepted"})
			return
		}
		if r.ContentLength > MaxBodyBytes {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"error": "the payload is larger than 1 MiB"})
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"error": "the payload is larger than 1 MiB"})
				return
			}
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "cannot read the request body"})
			return
		}
		var s []byte
		if secret != nil {
			s = secret()
		}
		push, err := Parse(r.Header, body, s)
		switch {
		case errors.Is(err, ErrSignature):
			log.Info("Git push webhook refused", "reason", err.Error(), "remoteAddr", r.RemoteAddr)
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": err.Error()})
			return
		case errors.Is(err, ErrIgnored):
			log.V(1).Info("Git webhook ignored", "reason", err.Error())
			writeJSON(w, http.StatusOK, map[string]any{"refreshed": 0, "ignored": err.Error()})
			return
		case err != nil:
			log.Info("Git push webhook not understood", "reason", err.Error(), "remoteAddr", r.RemoteAddr)
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
			return
		}
		n := 0
		if refresh != nil {
			n = refresh(r.Context(), push)
		}
		log.Info("Git push webhook", "provider", push.Provider, "repoURL", push.RepoURLs[0],
			"ref", push.Ref, "revision", push.After, "refreshed", n)
		writeJSON(w, http.StatusOK, map[string]any{"refreshed": n})
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
