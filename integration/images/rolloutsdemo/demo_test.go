package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// newTestApp is the app for cfg behind an httptest server, with sleeps
// recorded instead of slept.
func newTestApp(t *testing.T, cfg config) (*app, *httptest.Server, *[]time.Duration) {
	t.Helper()
	a, err := newApp(cfg, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	var slept []time.Duration
	a.sleep = func(_ context.Context, d time.Duration) { slept = append(slept, d) }
	srv := httptest.NewServer(a.handler())
	t.Cleanup(srv.Close)
	return a, srv, &slept
}

func do(t *testing.T, method, url, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func TestConfigFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := configFromEnv(env(map[string]string{"COLOR": "red", "ERROR_RATE": "50", "LATENCY": "1.5"}))
	if err != nil || c != (config{color: "red", errorRate: 50, latency: 1500 * time.Millisecond}) {
		t.Errorf("configFromEnv = %+v, %v", c, err)
	}
	// The image bakes ERROR_RATE and LATENCY in even when they are empty.
	if c, err := configFromEnv(env(map[string]string{"COLOR": "blue", "ERROR_RATE": "", "LATENCY": ""})); err != nil || c != (config{color: "blue"}) {
		t.Errorf("empty values: %+v, %v", c, err)
	}
	for _, bad := range []map[string]string{{"ERROR_RATE": "x"}, {"ERROR_RATE": "101"}, {"ERROR_RATE": "-1"}, {"LATENCY": "2s"}, {"LATENCY": "-1"}} {
		if _, err := configFromEnv(env(bad)); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

func TestColor(t *testing.T) {
	_, srv, slept := newTestApp(t, config{color: "blue"})
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		code, body, h := do(t, method, srv.URL+"/color", "")
		if code != http.StatusOK || body != `"blue"` || h.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("%s /color = %d %q (%s), want 200 \"blue\" as text/plain", method, code, body, h.Get("Content-Type"))
		}
	}
	// The UI posts "[]" when it has no settings.
	if code, body, _ := do(t, http.MethodPost, srv.URL+"/color", `"[]"`); code != http.StatusOK || body != `"blue"` {
		t.Errorf(`POST "[]" = %d %q`, code, body)
	}
	if code, _, _ := do(t, http.MethodPost, srv.URL+"/color", `{not json`); code != http.StatusInternalServerError {
		t.Errorf("a body that is not JSON: %d, want 500", code)
	}
	if len(*slept) != 0 {
		t.Errorf("slept %v without LATENCY", *slept)
	}
}

func TestRandomColorWithoutCOLOR(t *testing.T) {
	a, srv, _ := newTestApp(t, config{})
	a.intn = func(int) int { return 3 }
	if _, body, _ := do(t, http.MethodGet, srv.URL+"/color", ""); body != `"green"` {
		t.Errorf("/color without COLOR = %q, want colors[3], \"green\"", body)
	}
}

// TestErrorRate checks that ERROR_RATE is the share of /color requests
// that fail, spread evenly: 50 fails every second one.
func TestErrorRate(t *testing.T) {
	for _, tc := range []struct {
		rate, n, want int
	}{{0, 20, 0}, {50, 20, 10}, {15, 20, 3}, {100, 7, 7}} {
		_, srv, _ := newTestApp(t, config{color: "red", errorRate: tc.rate})
		var codes []int
		failed := 0
		for range tc.n {
			code, body, _ := do(t, http.MethodGet, srv.URL+"/color", "")
			if body != `"red"` {
				t.Errorf("rate %d: body %q, want \"red\" (a failing request still names its color)", tc.rate, body)
			}
			codes = append(codes, code)
			if code == http.StatusInternalServerError {
				failed++
			}
		}
		if failed != tc.want {
			t.Errorf("ERROR_RATE %d: %d of %d requests failed (%v), want %d", tc.rate, failed, tc.n, codes, tc.want)
		}
		if tc.rate == 50 && (codes[0] != 200 || codes[1] != 500) {
			t.Errorf("ERROR_RATE 50: codes %v, want them to alternate 200, 500", codes)
		}
	}
}

func TestLatency(t *testing.T) {
	_, srv, slept := newTestApp(t, config{color: "yellow", latency: 2 * time.Second})
	do(t, http.MethodGet, srv.URL+"/color", "")
	// The UI's delayLength for this color wins over LATENCY; another color's does not.
	do(t, http.MethodPost, srv.URL+"/color", `[{"color":"yellow","delayLength":0.5},{"color":"red","delayLength":9}]`)
	want := []time.Duration{2 * time.Second, 500 * time.Millisecond}
	if len(*slept) != 2 || (*slept)[0] != want[0] || (*slept)[1] != want[1] {
		t.Errorf("slept %v, want %v", *slept, want)
	}
}

func TestReturn500FromTheUI(t *testing.T) {
	a, srv, _ := newTestApp(t, config{color: "purple"})
	a.intn = func(int) int { return 99 }
	if code, _, _ := do(t, http.MethodPost, srv.URL+"/color", `[{"color":"purple","return500":100}]`); code != http.StatusInternalServerError {
		t.Errorf("return500 100: %d, want 500", code)
	}
	if code, _, _ := do(t, http.MethodPost, srv.URL+"/color", `[{"color":"purple","return500":0}]`); code != http.StatusOK {
		t.Errorf("return500 0: %d, want 200", code)
	}
}

func TestPage(t *testing.T) {
	_, srv, _ := newTestApp(t, config{color: "orange"})
	code, body, h := do(t, http.MethodGet, srv.URL+"/", "")
	if code != http.StatusOK || !strings.Contains(body, "Argo Rollouts Demo") || !strings.Contains(body, "orange") ||
		!strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Errorf("GET / = %d %q", code, body)
	}
	if code, _, _ := do(t, http.MethodGet, srv.URL+"/nothing-here", ""); code != http.StatusNotFound {
		t.Errorf("GET /nothing-here = %d, want 404", code)
	}
}

// TestMetrics checks the counter an analysis queries: requests by path,
// status and color, without the scrapes themselves, in the text format
// Prometheus reads.
func TestMetrics(t *testing.T) {
	a, srv, _ := newTestApp(t, config{color: "red", errorRate: 50})
	for range 4 {
		do(t, http.MethodGet, srv.URL+"/color", "")
	}
	do(t, http.MethodGet, srv.URL+"/", "")
	for range 2 {
		do(t, http.MethodGet, srv.URL+"/metrics", "")
	}
	for _, tc := range []struct {
		path, status string
		want         float64
	}{{"/color", "200", 2}, {"/color", "500", 2}, {"/", "200", 1}} {
		if got := testutil.ToFloat64(a.requests.WithLabelValues(tc.path, tc.status, "red")); got != tc.want {
			t.Errorf("http_requests_total{path=%q,status=%q,color=\"red\"} = %v, want %v", tc.path, tc.status, got, tc.want)
		}
	}
	if n := testutil.CollectAndCount(a.requests); n != 3 {
		t.Errorf("%d series of http_requests_total, want 3 (/metrics is not counted)", n)
	}
	code, body, h := do(t, http.MethodGet, srv.URL+"/metrics", "")
	if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics = %d (%s)", code, h.Get("Content-Type"))
	}
	for _, want := range []string{
		`http_requests_total{color="red",path="/color",status="500"} 2`,
		`http_response_time_seconds_count{path="/color"} 4`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
}
