package boot

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
)

// WebhookServer is the agent's inbound HTTP endpoint for Git and event
// webhooks. Roles add handlers before the manager starts; it serves on every
// replica, because a webhook may reach any of them through the Service.
type WebhookServer struct {
	addr string
	mux  *http.ServeMux
}

// NewWebhookServer returns a server for addr with no handlers yet.
func NewWebhookServer(addr string) *WebhookServer {
	return &WebhookServer{addr: addr, mux: http.NewServeMux()}
}

// Handle adds a handler for pattern (http.ServeMux syntax, such as "POST /api/git").
func (s *WebhookServer) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// NeedLeaderElection is false: standby replicas accept webhooks too.
func (s *WebhookServer) NeedLeaderElection() bool { return false }

// Start serves until ctx ends, then shuts down gracefully.
func (s *WebhookServer) Start(ctx context.Context) error {
	log := ctrl.Log.WithName("webhooks")
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("webhook endpoint %s: %w", s.addr, err)
	}
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 1 << 16}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("serving webhooks", "address", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}
