// Command rolloutsdemo is the entrypoint of the argoproj/rollouts-demo
// stand-in image (integration/images): a rewrite of Argo Rollouts' demo app
// (github.com/argoproj/rollouts-demo) for the test bed, which has no Docker
// Hub. Like the original it listens on :8080 and answers
//
//	GET /         a page that shows the app's color (upstream: its UI)
//	GET /color    the color as a JSON string, "blue", with text/plain
//	POST /color   the same; a JSON body [{"color","delayLength","return500"}]
//	              (the UI's sliders) adds latency or 500s for that color
//	GET /metrics  Prometheus metrics (upstream's README names this endpoint)
//
// and takes its behaviour from the environment its image tag bakes in:
// COLOR (empty: a random color per request), ERROR_RATE (percent of /color
// requests that answer 500) and LATENCY (seconds added to each /color
// request). On SIGTERM it waits -termination-delay seconds (10, upstream's
// default, so load balancers drop it first) before it stops serving.
//
// Two things differ from upstream on purpose: the ERROR_RATE errors are
// spread evenly over the requests (with 50, every second request fails)
// instead of drawn at random, so a test that sends N requests knows how many
// fail; and upstream's inverted test (it fails when rand.Intn(100) >=
// ERROR_RATE) is not copied: ERROR_RATE is the failing share, as its name
// and the docs say.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "rollouts-demo:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("rollouts-demo", flag.ContinueOnError)
	listen := fs.String("listen-addr", ":8080", "server listen address")
	delay := fs.Int("termination-delay", 10, "seconds to keep serving after SIGTERM, before shutting down")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := configFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	a, err := newApp(cfg, reg)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: *listen, Handler: a.handler(), ReadHeaderTimeout: 10 * time.Second}

	done := make(chan error, 1)
	quit := make(chan os.Signal, 2)
	signal.Notify(quit, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := <-quit
		srv.SetKeepAlivesEnabled(false)
		log.Printf("Signal %v caught. Shutting down in %ds", sig, *delay)
		t := time.NewTimer(time.Duration(*delay) * time.Second)
		defer t.Stop()
		select {
		case <-quit:
			log.Println("Second signal caught. Shutting down NOW")
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		done <- srv.Shutdown(ctx)
	}()

	log.Printf("Started server on %s (color %q, error rate %d%%, latency %s)", *listen, cfg.color, cfg.errorRate, cfg.latency)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("listening on %s: %w", *listen, err)
	}
	if err := <-done; err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	log.Println("Server stopped")
	return nil
}
