package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// colors are the colors upstream picks from when COLOR is empty, and the
// colors of its image tags.
var colors = []string{"red", "orange", "yellow", "green", "blue", "purple"}

// config is what the image's environment says.
type config struct {
	color     string        // COLOR; empty: a random color per request
	errorRate int           // ERROR_RATE: percent of /color requests answering 500
	latency   time.Duration // LATENCY (seconds): added to each /color request
}

// configFromEnv reads COLOR, ERROR_RATE and LATENCY. Upstream panics on a
// value it cannot parse; this says which and exits.
func configFromEnv(getenv func(string) string) (config, error) {
	c := config{color: getenv("COLOR")}
	if s := getenv("ERROR_RATE"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 100 {
			return config{}, fmt.Errorf("ERROR_RATE %q: want a percentage, 0 to 100", s)
		}
		c.errorRate = n
	}
	if s := getenv("LATENCY"); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 {
			return config{}, fmt.Errorf("LATENCY %q: want seconds, such as 2 or 0.5", s)
		}
		c.latency = time.Duration(f * float64(time.Second))
	}
	return c, nil
}

// colorParameters is one entry of the body the UI posts to /color: for the
// color named, a delay and a chance of a 500.
type colorParameters struct {
	Color                string  `json:"color"`
	DelayLength          float64 `json:"delayLength,omitempty"`
	Return500Probability *int    `json:"return500,omitempty"`
}

// app serves the demo and counts what it answers.
type app struct {
	cfg      config
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec

	mu    sync.Mutex
	count int // /color requests so far, to spread ERROR_RATE's failures evenly

	// sleep waits d or until ctx ends; intn is rand.IntN. Tests replace them.
	sleep func(ctx context.Context, d time.Duration)
	intn  func(n int) int
}

// newApp registers the app's metrics on reg. The names are upstream's
// (metrics.go in argoproj/rollouts-demo), with a color label added so that
// one query can tell the colors of a canary apart.
func newApp(cfg config, reg *prometheus.Registry) (*app, error) {
	a := &app{
		cfg:      cfg,
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "Requests answered, by path (/ or /color), status code and color; /metrics itself is not counted.",
		}, []string{"path", "status", "color"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "http_response_time_seconds",
			Help: "Duration of HTTP requests.",
			// Upstream's buckets, and more above them for the slow- images.
			Buckets: []float64{0.01, 0.05, 0.1, 0.5, 1, 2.5, 5},
		}, []string{"path"}),
		sleep: func(ctx context.Context, d time.Duration) {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
			}
		},
		intn: rand.IntN,
	}
	for _, c := range []prometheus.Collector{a.requests, a.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering metrics: %w", err)
		}
	}
	return a, nil
}

func (a *app) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/color", func(w http.ResponseWriter, r *http.Request) { a.instrument("/color", w, r, a.getColor) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { a.instrument("/", w, r, a.page) })
	return mux
}

// instrument runs serve, which returns the color it answered with, and
// counts the request by path, status and color.
func (a *app) instrument(path string, w http.ResponseWriter, r *http.Request, serve func(http.ResponseWriter, *http.Request) string) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	color := serve(sw, r)
	a.requests.WithLabelValues(path, strconv.Itoa(sw.status), color).Inc()
	a.duration.WithLabelValues(path).Observe(time.Since(start).Seconds())
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// getColor answers /color as upstream does: the color as a JSON string,
// after the latency, with a 500 when this request is one of the failing
// ones.
func (a *app) getColor(w http.ResponseWriter, r *http.Request) string {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return a.cfg.color
	}
	var params []colorParameters
	if len(body) > 0 && string(body) != `"[]"` {
		if err := json.Unmarshal(body, &params); err != nil {
			log.Printf("%s: %v", body, err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return a.cfg.color
		}
	}
	color := a.cfg.color
	if color == "" {
		color = colors[a.intn(len(colors))]
	}
	var p colorParameters
	for _, cp := range params {
		if cp.Color == color {
			p = cp
		}
	}

	delay := a.cfg.latency
	if p.DelayLength > 0 {
		delay = time.Duration(p.DelayLength * float64(time.Second))
	}
	if delay > 0 {
		a.sleep(r.Context(), delay)
	}

	status := http.StatusOK
	if p.Return500Probability != nil && *p.Return500Probability > 0 && a.intn(100) < *p.Return500Probability {
		status = http.StatusInternalServerError
	} else if a.failNext() {
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintf(w, "%q", color)
	log.Printf("%d - %s", status, color)
	return color
}

// failNext counts a /color request and reports whether ERROR_RATE makes it
// fail: the n-th fails when n*rate/100 passes a whole number, so that after
// n requests exactly floor(n*rate/100) have failed.
func (a *app) failNext() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.count++
	rate := a.cfg.errorRate
	return a.count*rate/100 > (a.count-1)*rate/100
}

// pageTemplate is the page at /: upstream serves a canvas UI that polls
// /color; this one shows the color and polls too.
var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>Argo Rollouts Demo</title>
</head>
<body>
<h1>Argo Rollouts Demo</h1>
<p>Color: <span id="color" style="color: {{.}}">{{if .}}{{.}}{{else}}random{{end}}</span> (argolite's stand-in for argoproj/rollouts-demo)</p>
<ul id="log"></ul>
<script>
setInterval(function () {
  fetch("/color", {method: "POST", body: "[]"}).then(function (r) {
    return r.text().then(function (t) {
      var li = document.createElement("li");
      li.textContent = r.status + " " + t;
      var log = document.getElementById("log");
      log.insertBefore(li, log.firstChild);
      while (log.children.length > 20) log.removeChild(log.lastChild);
    });
  });
}, 1000);
</script>
</body>
</html>
`))

// page serves / and nothing below it.
func (a *app) page(w http.ResponseWriter, r *http.Request) string {
	if r.URL.Path != "/" && r.URL.Path != "/index.html" {
		http.NotFound(w, r)
		return a.cfg.color
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTemplate.Execute(w, a.cfg.color); err != nil {
		log.Printf("rendering the page: %v", err)
	}
	return a.cfg.color
}
