package analysis

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/jsonpath"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// provider takes measurements of one kind. Run starts one (and for the
// quick providers finishes it); Resume looks at one in flight again;
// Terminate ends one in flight; GarbageCollect drops what measurements
// beyond limit left behind.
type provider interface {
	Run(ctx context.Context, run *argov1.AnalysisRun, m argov1.Metric, now time.Time) argov1.Measurement
	Resume(ctx context.Context, run *argov1.AnalysisRun, m argov1.Metric, ms argov1.Measurement, now time.Time) argov1.Measurement
	Terminate(ctx context.Context, run *argov1.AnalysisRun, m argov1.Metric, ms argov1.Measurement, now time.Time) argov1.Measurement
	GarbageCollect(ctx context.Context, run *argov1.AnalysisRun, m argov1.Metric, limit int) error
}

// markError ends a measurement in Error with err's message.
func markError(ms argov1.Measurement, err error, now time.Time) argov1.Measurement {
	ms.Phase = argov1.AnalysisPhaseError
	ms.Message = err.Error()
	if ms.FinishedAt == nil {
		t := metav1.NewTime(now)
		ms.FinishedAt = &t
	}
	return ms
}

func started(now time.Time) argov1.Measurement {
	t := metav1.NewTime(now)
	return argov1.Measurement{StartedAt: &t}
}

func finish(ms argov1.Measurement, value string, phase argov1.AnalysisPhase, now time.Time) argov1.Measurement {
	t := metav1.NewTime(now)
	ms.Value, ms.Phase, ms.FinishedAt = value, phase, &t
	return ms
}

// quick is a provider whose measurement is done when Run returns.
type quick struct {
	run func(ctx context.Context, m argov1.Metric) (value string, phase argov1.AnalysisPhase, meta map[string]string, err error)
}

func (q quick) Run(ctx context.Context, _ *argov1.AnalysisRun, m argov1.Metric, now time.Time) argov1.Measurement {
	ms := started(now)
	value, phase, meta, err := q.run(ctx, m)
	if err != nil {
		return markError(ms, err, time.Now())
	}
	ms.Metadata = meta
	return finish(ms, value, phase, time.Now())
}

// Resume and Terminate never meet a quick measurement in flight.
func (quick) Resume(_ context.Context, _ *argov1.AnalysisRun, _ argov1.Metric, ms argov1.Measurement, _ time.Time) argov1.Measurement {
	return ms
}

func (quick) Terminate(_ context.Context, _ *argov1.AnalysisRun, _ argov1.Metric, ms argov1.Measurement, _ time.Time) argov1.Measurement {
	return ms
}

func (quick) GarbageCollect(context.Context, *argov1.AnalysisRun, argov1.Metric, int) error {
	return nil
}

var (
	secureTransport   = http.DefaultTransport.(*http.Transport).Clone()
	insecureTransport = func() *http.Transport {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the metric asks for insecure
		return t
	}()
)

func httpClient(insecure bool, timeout time.Duration) *http.Client {
	if insecure {
		return &http.Client{Transport: insecureTransport, Timeout: timeout}
	}
	return &http.Client{Transport: secureTransport, Timeout: timeout}
}

// prometheusQuery is the prometheus provider: an instant query of
// /api/v1/query. A scalar result is a float64, a vector or matrix a
// []float64 of its samples, as Argo's prometheus provider.
func prometheusQuery(ctx context.Context, m argov1.Metric) (string, argov1.AnalysisPhase, map[string]string, error) {
	p := m.Provider.Prometheus
	timeout := 30 * time.Second
	if p.Timeout != nil {
		timeout = time.Duration(*p.Timeout) * time.Second
	}
	base, err := url.Parse(p.Address)
	if err != nil || base.Scheme == "" || base.Host == "" {
		return "", argov1.AnalysisPhaseError, nil, fmt.Errorf("prometheus address %q is not a URL: give http(s)://host:port", p.Address)
	}
	q := url.Values{"query": {p.Query}, "time": {strconv.FormatFloat(float64(time.Now().UnixMilli())/1000, 'f', 3, 64)}}
	u := base.JoinPath("api", "v1", "query")
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", argov1.AnalysisPhaseError, nil, err
	}
	for _, h := range p.Headers {
		req.Header.Set(h.Key, h.Value)
	}
	resp, err := httpClient(p.Insecure, timeout).Do(req)
	if err != nil {
		return "", argov1.AnalysisPhaseError, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return "", argov1.AnalysisPhaseError, nil, fmt.Errorf("reading the answer of %s: %w", base.Redacted(), err)
	}
	var answer struct {
		Status    string   `json:"status"`
		ErrorType string   `json:"errorType"`
		Error     string   `json:"error"`
		Warnings  []string `json:"warnings"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return "", argov1.AnalysisPhaseError, nil, fmt.Errorf("prometheus answered %s with no API response: %s", resp.Status, snippet(body))
	}
	if answer.Status != "success" {
		return "", argov1.AnalysisPhaseError, nil, fmt.Errorf("%s: %s", answer.ErrorType, answer.Error)
	}
	var meta map[string]string
	if len(answer.Warnings) > 0 {
		meta = map[string]string{"warnings": `"` + strings.Join(answer.Warnings, `", "`) + `"`}
	}
	value, result, err := promResult(answer.Data.ResultType, answer.Data.Result)
	if err != nil {
		return "", argov1.AnalysisPhaseError, meta, err
	}
	phase, err := evaluateResult(result, m)
	return value, phase, meta, err
}

// promResult turns the data of a query answer into the measured value's
// text and the condition's result.
func promResult(typ string, raw json.RawMessage) (string, any, error) {
	sample := func(pair []json.RawMessage) (float64, error) {
		if len(pair) != 2 {
			return 0, fmt.Errorf("a sample is [time, value], got %d items", len(pair))
		}
		var s string
		if err := json.Unmarshal(pair[1], &s); err != nil {
			return 0, err
		}
		return strconv.ParseFloat(s, 64)
	}
	switch typ {
	case "scalar":
		var pair []json.RawMessage
		if err := json.Unmarshal(raw, &pair); err != nil {
			return "", nil, err
		}
		f, err := sample(pair)
		if err != nil {
			return "", nil, err
		}
		return formatFloat(f), f, nil
	case "vector", "matrix":
		var series []struct {
			Value  []json.RawMessage   `json:"value"`
			Values [][]json.RawMessage `json:"values"`
		}
		if err := json.Unmarshal(raw, &series); err != nil {
			return "", nil, err
		}
		values := []float64{}
		for _, s := range series {
			pairs := s.Values
			if typ == "vector" {
				pairs = [][]json.RawMessage{s.Value}
			}
			for _, p := range pairs {
				f, err := sample(p)
				if err != nil {
					return "", nil, err
				}
				values = append(values, f)
			}
		}
		texts := make([]string, len(values))
		for i, f := range values {
			texts[i] = formatFloat(f)
		}
		return "[" + strings.Join(texts, ",") + "]", values, nil
	}
	return "", nil, fmt.Errorf("prometheus metric type %q not supported", typ)
}

// formatFloat writes a sample as Prometheus' model.SampleValue does.
func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func snippet(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

// webRequest is the web provider: the answer's JSON, selected by jsonPath,
// is the result; an answer that is not JSON is a successful measurement of
// its text, as in Argo.
func webRequest(ctx context.Context, m argov1.Metric) (string, argov1.AnalysisPhase, map[string]string, error) {
	w := m.Provider.Web
	method := w.Method
	if method == "" {
		method = argov1.WebMetricMethodGet
	}
	var body io.Reader
	switch {
	case w.Body != "" && len(w.JSONBody) > 0:
		return "", argov1.AnalysisPhaseError, nil, errors.New("use either body or jsonBody; both cannot exist for a web metric")
	case (w.Body != "" || len(w.JSONBody) > 0) && method == argov1.WebMetricMethodGet:
		return "", argov1.AnalysisPhaseError, nil, errors.New("body and jsonBody can only be used with the POST or PUT method")
	case w.Body != "":
		body = strings.NewReader(w.Body)
	case len(w.JSONBody) > 0:
		body = bytes.NewReader(w.JSONBody)
	}
	parser, err := webJSONPath(w.JSONPath)
	if err != nil {
		return "", argov1.AnalysisPhaseError, nil, err
	}
	timeout := 10 * time.Second
	if w.TimeoutSeconds > 0 {
		timeout = time.Duration(w.TimeoutSeconds) * time.Second
	}
	req, err := http.NewRequestWithContext(ctx, string(method), w.URL, body)
	if err != nil {
		return "", argov1.AnalysisPhaseError, nil, err
	}
	for _, h := range w.Headers {
		req.Header.Set(h.Key, h.Value)
	}
	if len(w.JSONBody) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient(w.Insecure, timeout).Do(req)
	if err != nil {
		return "", argov1.AnalysisPhaseError, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		// Argo's message, with the start of the body: it says who answered.
		excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		msg := fmt.Sprintf("received non 2xx response code: %d", resp.StatusCode)
		if e := strings.Join(strings.Fields(string(excerpt)), " "); e != "" {
			msg += ": " + e
		}
		return "", argov1.AnalysisPhaseError, nil, errors.New(msg)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return "", argov1.AnalysisPhaseError, nil, fmt.Errorf("reading the response: %w", err)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return string(data), argov1.AnalysisPhaseSuccessful, nil, nil
	}
	results, err := parser.FindResults(doc)
	if err != nil {
		return "", argov1.AnalysisPhaseError, nil, fmt.Errorf("could not find JSONPath in body: %w", err)
	}
	val, text, err := firstValue(results)
	if err != nil {
		return "", argov1.AnalysisPhaseError, nil, err
	}
	phase, err := evaluateResult(val, m)
	return text, phase, nil, err
}

// webJSONPath parses a web metric's jsonPath ({$} when empty).
func webJSONPath(path string) (*jsonpath.JSONPath, error) {
	if path == "" {
		path = "{$}"
	}
	p := jsonpath.New("metrics")
	if err := p.Parse(path); err != nil {
		return nil, fmt.Errorf("jsonPath %q: %w", path, err)
	}
	return p, nil
}

func firstValue(results [][]reflect.Value) (any, string, error) {
	for _, rs := range results {
		for _, r := range rs {
			v := r.Interface()
			b, err := json.Marshal(v)
			return v, string(b), err
		}
	}
	return nil, "", errors.New("result of web metric produced no value")
}
