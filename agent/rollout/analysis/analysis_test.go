package analysis

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/yaml"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/rolloutstrict"
)

func TestEvalCondition(t *testing.T) {
	for _, tc := range []struct {
		name   string
		result any
		cond   string
		want   bool
		err    bool
	}{
		{"float compare", 0.99, "result > 0.95", true, false},
		{"vector index", []float64{0.5, 0.7}, "result[0] < 0.6 && len(result) == 2", true, false},
		{"asInt of a string", "42", "asInt(result) == 42", true, false},
		{"asFloat of a string", "1.5", "asFloat(result) > 1", true, false},
		{"asInt of a bad string is an error, not a panic", "x", "asInt(result) == 1", false, true},
		{"isNaN", math.NaN(), "isNaN(result)", true, false},
		{"isInf", math.Inf(1), "isInf(result)", true, false},
		{"isNil on nil", nil, "isNil(result)", true, false},
		{"isNil on a value", 3.0, "isNil(result)", false, false},
		{"default on nil", nil, "default(result, 7) == 7", true, false},
		{"default on a value", 3.0, "default(result, 7) == 3", true, false},
		{"pointer dereferenced", ptr.To(2.0), "result == 2", true, false},
		{"map from JSON", map[string]any{"ok": true}, "result.ok", true, false},
		{"not a boolean", 1.0, "result + 1", false, true},
		{"syntax error", 1.0, "result >", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := evalCondition(tc.result, tc.cond)
			if (err != nil) != tc.err {
				t.Fatalf("evalCondition(%v, %q) error = %v, want error %v", tc.result, tc.cond, err, tc.err)
			}
			if got != tc.want {
				t.Errorf("evalCondition(%v, %q) = %v, want %v", tc.result, tc.cond, got, tc.want)
			}
		})
	}
}

func TestEvaluateResult(t *testing.T) {
	for _, tc := range []struct {
		success, failure string
		want             argov1.AnalysisPhase
	}{
		{"", "", argov1.AnalysisPhaseSuccessful},
		{"result > 5", "", argov1.AnalysisPhaseFailed},
		{"result < 5", "", argov1.AnalysisPhaseSuccessful},
		{"", "result < 5", argov1.AnalysisPhaseFailed},
		{"", "result > 5", argov1.AnalysisPhaseSuccessful},
		{"result > 5", "result > 10", argov1.AnalysisPhaseInconclusive},
		{"result < 5", "result < 2", argov1.AnalysisPhaseFailed},
	} {
		got, err := evaluateResult(1.0, argov1.Metric{SuccessCondition: tc.success, FailureCondition: tc.failure})
		if err != nil || got != tc.want {
			t.Errorf("success %q failure %q: got %s, %v; want %s", tc.success, tc.failure, got, err, tc.want)
		}
	}
	if _, err := evaluateResult([]float64{}, argov1.Metric{SuccessCondition: "result[0] > 1"}); err == nil || !strings.Contains(err.Error(), "nil or empty") {
		t.Errorf("empty vector: err = %v, want the no-data message", err)
	}
}

func count(n int) *intstr.IntOrString { v := intstr.FromInt32(int32(n)); return &v }

func measurements(phases ...argov1.AnalysisPhase) []argov1.Measurement {
	out := make([]argov1.Measurement, len(phases))
	for i, p := range phases {
		out[i] = argov1.Measurement{Phase: p}
	}
	return out
}

// Ported from Argo's analysis_test.go: TestAssessMetricStatus* cases.
func TestMetricPhase(t *testing.T) {
	S, F, I, E, R := argov1.AnalysisPhaseSuccessful, argov1.AnalysisPhaseFailed, argov1.AnalysisPhaseInconclusive, argov1.AnalysisPhaseError, argov1.AnalysisPhaseRunning
	for _, tc := range []struct {
		name        string
		metric      argov1.Metric
		result      argov1.MetricResult
		terminating bool
		want        argov1.AnalysisPhase
	}{
		{"no measurement", argov1.Metric{}, argov1.MetricResult{}, false, argov1.AnalysisPhasePending},
		{"no measurement, terminating", argov1.Metric{}, argov1.MetricResult{}, true, S},
		{"in flight", argov1.Metric{}, argov1.MetricResult{Measurements: measurements(R)}, false, R},
		{"failed > failureLimit 0", argov1.Metric{Interval: "1m"}, argov1.MetricResult{Failed: 1, Count: 1, Measurements: measurements(F)}, false, F},
		{"failed within failureLimit", argov1.Metric{Interval: "1m", FailureLimit: count(2)}, argov1.MetricResult{Failed: 2, Count: 2, Measurements: measurements(F, F)}, false, R},
		{"failureLimit -1 ignores failures", argov1.Metric{Interval: "1m", FailureLimit: count(-1), ConsecutiveSuccessLimit: count(3)},
			argov1.MetricResult{Failed: 5, Count: 5, Measurements: measurements(F)}, false, R},
		{"inconclusive > inconclusiveLimit", argov1.Metric{Interval: "1m"}, argov1.MetricResult{Inconclusive: 1, Count: 1, Measurements: measurements(I)}, false, I},
		{"consecutive errors > default 4", argov1.Metric{Interval: "1m"}, argov1.MetricResult{Error: 5, ConsecutiveError: 5, Measurements: measurements(E)}, false, E},
		{"consecutive errors at 4", argov1.Metric{Interval: "1m"}, argov1.MetricResult{Error: 4, ConsecutiveError: 4, Measurements: measurements(E)}, false, R},
		{"consecutiveErrorLimit 0", argov1.Metric{Interval: "1m", ConsecutiveErrorLimit: count(0)}, argov1.MetricResult{Error: 1, ConsecutiveError: 1, Measurements: measurements(E)}, false, E},
		{"count reached", argov1.Metric{Interval: "1m", Count: count(2)}, argov1.MetricResult{Successful: 2, Count: 2, Measurements: measurements(S, S)}, false, S},
		{"count reached with failures under the limit", argov1.Metric{Interval: "1m", Count: count(3), FailureLimit: count(1)},
			argov1.MetricResult{Successful: 2, Failed: 1, Count: 3, Measurements: measurements(S, F, S)}, false, S},
		{"no count, no interval: one measurement", argov1.Metric{}, argov1.MetricResult{Successful: 1, Count: 1, Measurements: measurements(S)}, false, S},
		{"consecutiveSuccessLimit reached", argov1.Metric{Interval: "1m", ConsecutiveSuccessLimit: count(2)},
			argov1.MetricResult{Successful: 2, ConsecutiveSuccess: 2, Count: 2, Measurements: measurements(S, S)}, false, S},
		{"count reached, consecutiveSuccessLimit not, failureLimit applies", argov1.Metric{Interval: "1m", Count: count(3), ConsecutiveSuccessLimit: count(3), FailureLimit: count(1)},
			argov1.MetricResult{Successful: 2, Failed: 1, ConsecutiveSuccess: 1, Count: 3, Measurements: measurements(S, F, S)}, false, I},
		{"count reached, consecutiveSuccessLimit not, failureLimit -1", argov1.Metric{Interval: "1m", Count: count(3), ConsecutiveSuccessLimit: count(3), FailureLimit: count(-1)},
			argov1.MetricResult{Successful: 2, Failed: 1, ConsecutiveSuccess: 1, Count: 3, Measurements: measurements(S, F, S)}, false, F},
		{"runs indefinitely, terminating", argov1.Metric{Interval: "1m"}, argov1.MetricResult{Successful: 1, Count: 1, Measurements: measurements(S)}, true, S},
		{"completed stays", argov1.Metric{}, argov1.MetricResult{Phase: F}, false, F},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := metricPhase(tc.metric, tc.result, tc.terminating); got != tc.want {
				t.Errorf("metricPhase = %s, want %s", got, tc.want)
			}
		})
	}
}

// Ported from Argo's TestAssessRunStatus* cases.
func TestAssessRun(t *testing.T) {
	S, F, E, R := argov1.AnalysisPhaseSuccessful, argov1.AnalysisPhaseFailed, argov1.AnalysisPhaseError, argov1.AnalysisPhaseRunning
	two := []argov1.Metric{{Name: "a"}, {Name: "b"}}
	now := time.Now()
	for _, tc := range []struct {
		name      string
		results   []argov1.MetricResult
		dryRun    map[string]int
		terminate bool
		want      argov1.AnalysisPhase
	}{
		{"one running", []argov1.MetricResult{{Name: "a", Phase: S}, {Name: "b", Phase: R, Measurements: measurements(R)}}, nil, false, R},
		{"one not started", []argov1.MetricResult{{Name: "a", Phase: S}}, nil, false, R},
		{"all successful", []argov1.MetricResult{{Name: "a", Phase: S}, {Name: "b", Phase: S}}, nil, false, S},
		{"worst wins: failed over error", []argov1.MetricResult{{Name: "a", Phase: E}, {Name: "b", Phase: F}}, nil, false, F},
		{"failed ends it while the other runs", []argov1.MetricResult{{Name: "a", Phase: F}, {Name: "b", Phase: R, Measurements: measurements(S)}}, nil, false, F},
		{"dry-run failure does not count", []argov1.MetricResult{{Name: "a", Phase: F, DryRun: true}, {Name: "b", Phase: S}}, map[string]int{"a": 0}, false, S},
		{"terminated before any measurement", nil, nil, true, S},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := &argov1.AnalysisRun{Spec: argov1.AnalysisRunSpec{Metrics: two, Terminate: tc.terminate},
				Status: argov1.AnalysisRunStatus{MetricResults: tc.results}}
			got, _, _ := assessRun(run, two, tc.dryRun, now)
			if got != tc.want {
				t.Errorf("assessRun = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestDueTasksAndNextReconcile(t *testing.T) {
	start := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { t := metav1.NewTime(start.Add(d)); return &t }
	m := argov1.Metric{Name: "m", Interval: "30s", InitialDelay: "10s", Count: count(3)}
	run := &argov1.AnalysisRun{Spec: argov1.AnalysisRunSpec{Metrics: []argov1.Metric{m}},
		Status: argov1.AnalysisRunStatus{StartedAt: at(0)}}
	if n := len(dueTasks(run, run.Spec.Metrics, start.Add(5*time.Second))); n != 0 {
		t.Errorf("within initialDelay: %d tasks, want 0", n)
	}
	if next := nextReconcile(run, run.Spec.Metrics, start); next == nil || !next.Equal(start.Add(10*time.Second)) {
		t.Errorf("next = %v, want the end of initialDelay", next)
	}
	if n := len(dueTasks(run, run.Spec.Metrics, start.Add(10*time.Second))); n != 1 {
		t.Errorf("after initialDelay: %d tasks, want 1", n)
	}
	// One measurement finished at 12s: the next is due at 42s, not before,
	// whoever (a restarted agent) looks.
	run.Status.MetricResults = []argov1.MetricResult{{Name: "m", Phase: argov1.AnalysisPhaseRunning, Count: 1, Successful: 1,
		Measurements: []argov1.Measurement{{Phase: argov1.AnalysisPhaseSuccessful, StartedAt: at(11 * time.Second), FinishedAt: at(12 * time.Second)}}}}
	if n := len(dueTasks(run, run.Spec.Metrics, start.Add(41*time.Second))); n != 0 {
		t.Errorf("before the interval passed: %d tasks, want 0", n)
	}
	if next := nextReconcile(run, run.Spec.Metrics, start.Add(20*time.Second)); next == nil || !next.Equal(start.Add(42*time.Second)) {
		t.Errorf("next = %v, want finishedAt + interval", next)
	}
	if n := len(dueTasks(run, run.Spec.Metrics, start.Add(42*time.Second))); n != 1 {
		t.Errorf("at finishedAt + interval: %d tasks, want 1", n)
	}
	// After an error, 10s.
	run.Status.MetricResults[0].Measurements[0].Phase = argov1.AnalysisPhaseError
	if next := nextReconcile(run, run.Spec.Metrics, start.Add(20*time.Second)); next == nil || !next.Equal(start.Add(22*time.Second)) {
		t.Errorf("after an error next = %v, want finishedAt + 10s", next)
	}
	// Count reached: nothing more.
	run.Status.MetricResults[0].Count = 3
	run.Status.MetricResults[0].Measurements[0].Phase = argov1.AnalysisPhaseSuccessful
	if next := nextReconcile(run, run.Spec.Metrics, start.Add(20*time.Second)); next != nil {
		t.Errorf("count reached: next = %v, want none", next)
	}
}

func TestPrometheusProvider(t *testing.T) {
	var gotQuery, gotHeader string
	answer := ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		gotQuery, gotHeader = r.URL.Query().Get("query"), r.Header.Get("X-Scope")
		fmt.Fprint(w, answer)
	}))
	defer srv.Close()
	metric := func(cond string) argov1.Metric {
		return argov1.Metric{Name: "p", SuccessCondition: cond, Provider: argov1.MetricProvider{Prometheus: &argov1.PrometheusMetric{
			Address: srv.URL, Query: "sum(up)", Headers: []argov1.WebMetricHeader{{Key: "X-Scope", Value: "team"}}}}}
	}
	for _, tc := range []struct {
		name, answer, cond, value string
		phase                     argov1.AnalysisPhase
	}{
		{"vector", `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"0.97"]}]}}`, "result[0] >= 0.95", "[0.97]", argov1.AnalysisPhaseSuccessful},
		{"vector fails", `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"0.5"]}]}}`, "result[0] >= 0.95", "[0.5]", argov1.AnalysisPhaseFailed},
		{"scalar", `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"3"]}}`, "result == 3", "3", argov1.AnalysisPhaseSuccessful},
		{"matrix", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[2,"2"]]}]}}`, "len(result) == 2", "[1,2]", argov1.AnalysisPhaseSuccessful},
		{"NaN", `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}}`, "isNaN(result[0])", "[NaN]", argov1.AnalysisPhaseSuccessful},
		{"empty vector is an error", `{"status":"success","data":{"resultType":"vector","result":[]}}`, "result[0] > 1", "", argov1.AnalysisPhaseError},
		{"API error", `{"status":"error","errorType":"bad_data","error":"parse error"}`, "true", "", argov1.AnalysisPhaseError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answer = tc.answer
			ms := quick{run: prometheusQuery}.Run(context.Background(), &argov1.AnalysisRun{}, metric(tc.cond), time.Now())
			if ms.Phase != tc.phase || ms.Value != tc.value {
				t.Errorf("measurement = %s %q (%s), want %s %q", ms.Phase, ms.Value, ms.Message, tc.phase, tc.value)
			}
			if ms.StartedAt == nil || ms.FinishedAt == nil {
				t.Error("startedAt and finishedAt must be set")
			}
			if gotQuery != "sum(up)" || gotHeader != "team" {
				t.Errorf("request query %q header %q, want sum(up) and team", gotQuery, gotHeader)
			}
		})
	}
}

func TestWebProvider(t *testing.T) {
	var gotMethod, gotBody, gotType string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 1024)
		n, _ := r.Body.Read(buf)
		gotMethod, gotBody, gotType = r.Method, string(buf[:n]), r.Header.Get("Content-Type")
		switch r.URL.Path {
		case "/json":
			_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"ok": true, "rate": 0.02}})
		case "/text":
			fmt.Fprint(w, "plain text")
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	web := func(path, jp, cond string) argov1.Metric {
		return argov1.Metric{Name: "w", SuccessCondition: cond, Provider: argov1.MetricProvider{Web: &argov1.WebMetric{URL: srv.URL + path, JSONPath: jp}}}
	}
	run := func(m argov1.Metric) argov1.Measurement {
		return quick{run: webRequest}.Run(context.Background(), &argov1.AnalysisRun{}, m, time.Now())
	}
	if ms := run(web("/json", "{$.data.rate}", "result < 0.05")); ms.Phase != argov1.AnalysisPhaseSuccessful || ms.Value != "0.02" {
		t.Errorf("jsonPath rate: %s %q %s", ms.Phase, ms.Value, ms.Message)
	}
	if ms := run(web("/json", "{$.data.ok}", "result == false")); ms.Phase != argov1.AnalysisPhaseFailed || ms.Value != "true" {
		t.Errorf("failing condition: %s %q", ms.Phase, ms.Value)
	}
	if ms := run(web("/json", "", "result.data.ok")); ms.Phase != argov1.AnalysisPhaseSuccessful {
		t.Errorf("whole document: %s %s", ms.Phase, ms.Message)
	}
	if ms := run(web("/text", "", "false")); ms.Phase != argov1.AnalysisPhaseSuccessful || ms.Value != "plain text" {
		t.Errorf("non-JSON answer is successful as in Argo: %s %q", ms.Phase, ms.Value)
	}
	if ms := run(web("/fail", "", "")); ms.Phase != argov1.AnalysisPhaseError || !strings.Contains(ms.Message, "500") {
		t.Errorf("500: %s %q", ms.Phase, ms.Message)
	}
	if ms := run(web("/json", "{$.missing}", "true")); ms.Phase != argov1.AnalysisPhaseError {
		t.Errorf("missing path: %s", ms.Phase)
	}
	post := web("/json", "{$.data.ok}", "result")
	post.Provider.Web.Method = argov1.WebMetricMethodPost
	post.Provider.Web.JSONBody = json.RawMessage(`{"q":1}`)
	if ms := run(post); ms.Phase != argov1.AnalysisPhaseSuccessful || gotMethod != "POST" || gotBody != `{"q":1}` || gotType != "application/json" {
		t.Errorf("POST jsonBody: %s, server saw %s %q %q", ms.Phase, gotMethod, gotBody, gotType)
	}
	get := web("/json", "", "")
	get.Provider.Web.Body = "x"
	if ms := run(get); ms.Phase != argov1.AnalysisPhaseError {
		t.Errorf("GET with a body: %s, want Error", ms.Phase)
	}
}

func TestStrictRejectsUnsupportedByName(t *testing.T) {
	var raw map[string]any
	if err := yaml.Unmarshal([]byte(`
spec:
  metrics:
  - name: m
    provider:
      datadog: {query: "x"}
  - name: p
    intervl: 5m
    provider:
      prometheus: {address: "http://p", query: q, authentication: {sigv4: {region: r}}}
`), &raw); err != nil {
		t.Fatal(err)
	}
	faults := rolloutstrict.Analysis(raw, &argov1.AnalysisTemplate{})
	text := rolloutstrict.Text(faults)
	for _, want := range []string{
		`spec.metrics[0].provider.datadog: field "datadog" is not supported by argolite: argolite measures with prometheus, web or job`,
		`spec.metrics[1].intervl: unknown field "intervl": did you mean "interval"?`,
		`spec.metrics[1].provider.prometheus.authentication: field "authentication" is not supported by argolite`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("faults lack %q:\n%s", want, text)
		}
	}
}

func TestResolveMetricsAndSecrets(t *testing.T) {
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "s"}, Data: map[string][]byte{"token": []byte(`t0k"en`)}}
	c := fake.NewClientBuilder().WithObjects(secret).Build()
	metrics := []argov1.Metric{{Name: "w", SuccessCondition: "result == '{{args.want}}'", Provider: argov1.MetricProvider{Web: &argov1.WebMetric{
		URL: "http://svc/{{ args.path }}", Headers: []argov1.WebMetricHeader{{Key: "Authorization", Value: "Bearer {{args.token}}"}}}}}}
	args := []argov1.Argument{{Name: "want", Value: ptr.To("ok")}, {Name: "path", Value: ptr.To("health")},
		{Name: "token", ValueFrom: &argov1.AnalysisValueFrom{SecretKeyRef: &argov1.SecretKeyRef{Name: "s", Key: "token"}}}}
	got, secrets, err := resolveMetrics(context.Background(), c, "ns", metrics, args)
	if err != nil {
		t.Fatal(err)
	}
	w := got[0].Provider.Web
	if w.URL != "http://svc/health" || w.Headers[0].Value != `Bearer t0k"en` || got[0].SuccessCondition != "result == 'ok'" {
		t.Errorf("resolved = %+v %q", w, got[0].SuccessCondition)
	}
	if redact("auth failed for Bearer t0k\"en", secrets) != "auth failed for Bearer *****" {
		t.Errorf("secret not redacted: %v", secrets)
	}
	if _, _, err := resolveMetrics(context.Background(), nil, "ns", metrics, args[:2]); err == nil || !strings.Contains(err.Error(), "{{args.token}}") {
		t.Errorf("undeclared arg: err = %v", err)
	}
	if _, _, err := resolveMetrics(context.Background(), nil, "ns", metrics, append(args[:2:2], argov1.Argument{Name: "token"})); err == nil || !strings.Contains(err.Error(), `"token" was not supplied`) {
		t.Errorf("arg without value: err = %v", err)
	}
}

func TestNewRunFromTemplates(t *testing.T) {
	scheme := runtime.NewScheme()
	_ = argov1.AddToScheme(scheme)
	_ = corev1.AddToScheme(scheme)
	web := argov1.MetricProvider{Web: &argov1.WebMetric{URL: "http://x/{{args.service}}"}}
	objs := []client.Object{
		&argov1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "rate"}, Spec: argov1.AnalysisTemplateSpec{
			Metrics:   []argov1.Metric{{Name: "rate", Provider: web}},
			Args:      []argov1.Argument{{Name: "service"}},
			Templates: []argov1.AnalysisTemplateRef{{TemplateName: "base", ClusterScope: ptr.To(true)}}}},
		&argov1.ClusterAnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: "base"}, Spec: argov1.AnalysisTemplateSpec{
			Metrics: []argov1.Metric{{Name: "latency", Provider: web}},
			Args:    []argov1.Argument{{Name: "service"}, {Name: "threshold", Value: ptr.To("5")}},
			DryRun:  []argov1.DryRun{{MetricName: "latency"}},
			// A cycle back to the first template is read once.
			Templates: []argov1.AnalysisTemplateRef{{TemplateName: "rate"}}}},
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
	refs := []argov1.AnalysisTemplateRef{{TemplateName: "rate"}}
	run, err := NewRunFromTemplates(context.Background(), c, "ns", refs, []argov1.Argument{{Name: "service", Value: ptr.To("guestbook")}, {Name: "unused", Value: ptr.To("x")}},
		RunOptions{Name: "r1", Labels: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Spec.Metrics) != 2 || run.Spec.Metrics[0].Name != "rate" || run.Spec.Metrics[1].Name != "latency" {
		t.Errorf("metrics = %+v", run.Spec.Metrics)
	}
	if len(run.Spec.Args) != 2 || *run.Spec.Args[0].Value != "guestbook" || *run.Spec.Args[1].Value != "5" {
		t.Errorf("args = %+v", run.Spec.Args)
	}
	if len(run.Spec.DryRun) != 1 || run.Name != "r1" || run.Namespace != "ns" || run.Labels["a"] != "b" {
		t.Errorf("run = %+v", run)
	}
	if _, err := NewRunFromTemplates(context.Background(), c, "ns", refs, nil, RunOptions{Name: "r2"}); err == nil || !strings.Contains(err.Error(), "args.service was not resolved") {
		t.Errorf("missing arg: err = %v", err)
	}
	if _, err := NewRunFromTemplates(context.Background(), c, "ns", []argov1.AnalysisTemplateRef{{TemplateName: "nope"}}, nil, RunOptions{}); err == nil || !strings.Contains(err.Error(), "AnalysisTemplate ns/nope not found") {
		t.Errorf("missing template: err = %v", err)
	}
}

func TestValidateMetric(t *testing.T) {
	ok := argov1.MetricProvider{Web: &argov1.WebMetric{URL: "http://x"}}
	for _, tc := range []struct {
		name string
		m    argov1.Metric
		want string
	}{
		{"count below failureLimit", argov1.Metric{Interval: "1m", Count: count(1), FailureLimit: count(2), Provider: ok}, "count (1) must be >= failureLimit"},
		{"count without interval", argov1.Metric{Count: count(2), Provider: ok}, "interval must be specified"},
		{"both limits off", argov1.Metric{FailureLimit: count(-1), Provider: ok}, "cannot both be disabled"},
		{"bad interval", argov1.Metric{Interval: "soon", Provider: ok}, `interval "soon"`},
		{"bad condition", argov1.Metric{SuccessCondition: "result >", Provider: ok}, "successCondition"},
		{"no provider", argov1.Metric{}, "no provider specified: give prometheus, web or job"},
	} {
		if err := validateMetric(tc.m); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	if err := validateMetric(argov1.Metric{Interval: "1m", Count: count(3), FailureLimit: count(1), Provider: ok}); err != nil {
		t.Errorf("valid metric: %v", err)
	}
}
