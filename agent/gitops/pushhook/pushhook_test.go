package pushhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
)

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func headers(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestParse(t *testing.T) {
	secret := []byte("webhook-secret")
	ghPush := testdata(t, "github-push.json")
	ghTag := testdata(t, "github-tag.json")
	ghPing := testdata(t, "github-ping.json")
	glPush := testdata(t, "gitlab-push.json")
	glTag := testdata(t, "gitlab-tag-push.json")
	generic := []byte(`{"repository":{"url":"https://git.example.com/team/app.git"},"ref":"refs/heads/main","after":"1111111111111111111111111111111111111111"}`)
	genericShort := []byte(`{"repoURL":"https://git.example.com/team/app","revision":"v2"}`)

	tests := []struct {
		name    string
		header  http.Header
		body    []byte
		secret  []byte
		want    Push
		wantErr error
		errText string
	}{
		{
			name: "github push signed", secret: secret, body: ghPush,
			header: headers(HeaderGitHubEvent, "push", HeaderGitHubSignature, sign(secret, ghPush)),
			want: Push{
				RepoURLs: []string{"https://github.com/jessesuen/test-repo", "https://github.com/jessesuen/test-repo.git",
					"git@github.com:jessesuen/test-repo.git", "git://github.com/jessesuen/test-repo.git"},
				Ref: "refs/heads/master", Branch: "master", After: "63738bb582c8b540af7bcfc18f87c575c3ed66e0",
				DefaultBranch: "master", Provider: ProviderGitHub,
			},
		},
		{
			name: "github tag without secret", body: ghTag, header: headers(HeaderGitHubEvent, "push"),
			want: Push{
				RepoURLs: []string{"https://github.com/jessesuen/test-repo", "https://github.com/jessesuen/test-repo.git",
					"git@github.com:jessesuen/test-repo.git", "git://github.com/jessesuen/test-repo.git"},
				Ref: "refs/tags/v1.0", Tag: "v1.0", After: "63738bb582c8b540af7bcfc18f87c575c3ed66e0",
				DefaultBranch: "master", Provider: ProviderGitHub,
			},
		},
		{
			name: "github bad signature", secret: secret, body: ghPush, wantErr: ErrSignature, errText: "does not match",
			header: headers(HeaderGitHubEvent, "push", HeaderGitHubSignature, sign([]byte("other"), ghPush)),
		},
		{
			name: "github missing signature", secret: secret, body: ghPush, wantErr: ErrSignature, errText: "missing",
			header: headers(HeaderGitHubEvent, "push"),
		},
		{
			name: "github sha1 signature only", secret: secret, body: ghPush, wantErr: ErrSignature,
			header: headers(HeaderGitHubEvent, "push", "X-Hub-Signature", "sha1=0000"),
		},
		{
			name: "github ping", secret: secret, body: ghPing, wantErr: ErrIgnored,
			header: headers(HeaderGitHubEvent, "ping", HeaderGitHubSignature, sign(secret, ghPing)),
		},
		{
			name: "github ping with a bad signature is refused first", secret: secret, body: ghPing, wantErr: ErrSignature,
			header: headers(HeaderGitHubEvent, "ping", HeaderGitHubSignature, "sha256=00"),
		},
		{
			name: "github other event", body: ghPush, wantErr: ErrIgnored, header: headers(HeaderGitHubEvent, "issues"),
		},
		{
			name: "gitlab push with token", secret: secret, body: glPush,
			header: headers(HeaderGitLabEvent, "Push Hook", HeaderGitLabToken, string(secret)),
			want: Push{
				RepoURLs: []string{"https://gitlab/group/name", "https://gitlab/group/name.git", "ssh://git@gitlab:2222/group/name.git"},
				Ref:      "refs/heads/master", Branch: "master", After: "bb0748feaa336d841c251017e4e374c22d0c8a98",
				DefaultBranch: "master", Provider: ProviderGitLab,
			},
		},
		{
			name: "gitlab annotated tag uses checkout_sha", body: glTag, header: headers(HeaderGitLabEvent, "Tag Push Hook"),
			want: Push{
				RepoURLs: []string{"http://example.com/jsmith/example", "http://example.com/jsmith/example.git",
					"git@example.com:jsmith/example.git", "ssh://git@example.com/jsmith/example.git"},
				Ref: "refs/tags/v1.0.0", Tag: "v1.0.0", After: "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7",
				DefaultBranch: "master", Provider: ProviderGitLab,
			},
		},
		{
			name: "gitlab wrong token", secret: secret, body: glPush, wantErr: ErrSignature,
			header: headers(HeaderGitLabEvent, "Push Hook", HeaderGitLabToken, "webhook-secreT"),
		},
		{
			name: "gitlab missing token", secret: secret, body: glPush, wantErr: ErrSignature, errText: "missing",
			header: headers(HeaderGitLabEvent, "Push Hook"),
		},
		{
			name: "gitlab merge request ignored", body: glPush, wantErr: ErrIgnored,
			header: headers(HeaderGitLabEvent, "Merge Request Hook"),
		},
		{
			name: "generic signed", secret: secret, body: generic,
			header: headers(HeaderGenericSignature, sign(secret, generic)),
			want: Push{
				RepoURLs: []string{"https://git.example.com/team/app.git"}, Ref: "refs/heads/main", Branch: "main",
				After: "1111111111111111111111111111111111111111", Provider: ProviderGeneric,
			},
		},
		{
			name: "generic repoURL and revision", body: genericShort, header: http.Header{},
			want: Push{RepoURLs: []string{"https://git.example.com/team/app"}, Branch: "v2", Provider: ProviderGeneric},
		},
		{
			name: "generic unsigned with secret", secret: secret, body: generic, header: http.Header{}, wantErr: ErrSignature,
		},
		{
			name: "generic bad prefix", secret: secret, body: generic, wantErr: ErrSignature, errText: `start with "sha256="`,
			header: headers(HeaderGenericSignature, strings.TrimPrefix(sign(secret, generic), "sha256=")),
		},
		{
			name: "not JSON", body: []byte("ref=main"), header: http.Header{}, errText: "not a JSON push event",
		},
		{
			name: "no repository", body: []byte(`{"ref":"refs/heads/main"}`), header: http.Header{}, errText: "names no repository",
		},
		{
			name: "deleted branch has no after", body: []byte(`{"repoURL":"https://h/r","ref":"refs/heads/gone","after":"0000000000000000000000000000000000000000"}`),
			header: http.Header{},
			want:   Push{RepoURLs: []string{"https://h/r"}, Ref: "refs/heads/gone", Branch: "gone", Provider: ProviderGeneric},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.header, tt.body, tt.secret)
			if tt.wantErr != nil || tt.errText != "" {
				if err == nil {
					t.Fatalf("Parse succeeded with %+v, want an error", got)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("err = %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.errText) {
					t.Errorf("err = %q, want it to contain %q", err, tt.errText)
				}
				if strings.Contains(err.Error(), string(secret)) {
					t.Errorf("error shows the secret: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func TestPushMatches(t *testing.T) {
	branch := Push{RepoURLs: []string{"https://github.com/org/app", "git@github.com:org/app.git"},
		Ref: "refs/heads/main", Branch: "main", DefaultBranch: "main"}
	feature := Push{RepoURLs: branch.RepoURLs, Ref: "refs/heads/feature", Branch: "feature", DefaultBranch: "main"}
	tag := Push{RepoURLs: branch.RepoURLs, Ref: "refs/tags/v1", Tag: "v1"}
	repoOnly := Push{RepoURLs: []string{"https://git.example.com/x"}}
	tests := []struct {
		name     string
		push     Push
		repo     string
		revision string
		want     bool
	}{
		{"same branch", branch, "https://github.com/org/app.git", "main", true},
		{"full ref", branch, "https://github.com/org/app", "refs/heads/main", true},
		{"ssh form of the repo", branch, "ssh://git@github.com/org/app", "main", true},
		{"HEAD when the default branch moved", branch, "https://github.com/org/app", "HEAD", true},
		{"empty revision is HEAD", branch, "https://github.com/org/app", "", true},
		{"HEAD not moved by another branch", feature, "https://github.com/org/app", "HEAD", false},
		{"other branch", branch, "https://github.com/org/app", "dev", false},
		{"pinned commit never moves", branch, "https://github.com/org/app", "63738bb582c8b540af7bcfc18f87c575c3ed66e0", false},
		{"other repository", branch, "https://github.com/org/other", "main", false},
		{"tag", tag, "https://github.com/org/app", "v1", true},
		{"tag does not move HEAD", tag, "https://github.com/org/app", "HEAD", false},
		{"payload without a ref refreshes every revision", repoOnly, "https://git.example.com/x.git", "anything", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.push.Matches(tt.repo, tt.revision); got != tt.want {
				t.Errorf("Matches(%q, %q) = %v, want %v", tt.repo, tt.revision, got, tt.want)
			}
		})
	}
}

// recorder records refresh calls.
type recorder struct {
	mu     sync.Mutex
	pushes []Push
	n      int
}

func (r *recorder) refresh(_ context.Context, p Push) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pushes = append(r.pushes, p)
	return r.n
}

func (r *recorder) calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pushes)
}

func TestHandler(t *testing.T) {
	secret := []byte("rotating-secret-1")
	ghPush := testdata(t, "github-push.json")
	glPush := testdata(t, "gitlab-push.json")
	ghPing := testdata(t, "github-ping.json")
	generic := []byte(`{"repoURL":"https://git.example.com/team/app","revision":"main"}`)

	tests := []struct {
		name        string
		method      string
		secret      []byte
		header      http.Header
		body        []byte
		refreshed   int
		wantCode    int
		wantCalls   int
		wantBody    string
		wantAllowed string
	}{
		{name: "good signature refreshes", method: http.MethodPost, secret: secret, body: ghPush, refreshed: 3,
			header:   headers(HeaderGitHubEvent, "push", HeaderGitHubSignature, sign(secret, ghPush)),
			wantCode: http.StatusOK, wantCalls: 1, wantBody: `{"refreshed":3}`},
		{name: "bad signature refused", method: http.MethodPost, secret: secret, body: ghPush,
			header:   headers(HeaderGitHubEvent, "push", HeaderGitHubSignature, sign([]byte("old-secret"), ghPush)),
			wantCode: http.StatusUnauthorized, wantBody: "does not match"},
		{name: "missing signature with a secret configured", method: http.MethodPost, secret: secret, body: ghPush,
			header: headers(HeaderGitHubEvent, "push"), wantCode: http.StatusUnauthorized, wantBody: "missing"},
		{name: "no secret configured accepts", method: http.MethodPost, body: ghPush, refreshed: 1,
			header: headers(HeaderGitHubEvent, "push"), wantCode: http.StatusOK, wantCalls: 1, wantBody: `{"refreshed":1}`},
		{name: "gitlab token", method: http.MethodPost, secret: secret, body: glPush, refreshed: 2,
			header:   headers(HeaderGitLabEvent, "Push Hook", HeaderGitLabToken, string(secret)),
			wantCode: http.StatusOK, wantCalls: 1, wantBody: `{"refreshed":2}`},
		{name: "gitlab wrong token", method: http.MethodPost, secret: secret, body: glPush,
			header:   headers(HeaderGitLabEvent, "Push Hook", HeaderGitLabToken, "nope"),
			wantCode: http.StatusUnauthorized},
		{name: "generic", method: http.MethodPost, secret: secret, body: generic, refreshed: 1,
			header:   headers(HeaderGenericSignature, sign(secret, generic)),
			wantCode: http.StatusOK, wantCalls: 1, wantBody: `{"refreshed":1}`},
		{name: "ping ignored", method: http.MethodPost, secret: secret, body: ghPing,
			header:   headers(HeaderGitHubEvent, "ping", HeaderGitHubSignature, sign(secret, ghPing)),
			wantCode: http.StatusOK, wantBody: `"refreshed":0`},
		{name: "bad payload", method: http.MethodPost, body: []byte("{"), header: http.Header{},
			wantCode: http.StatusBadRequest, wantBody: "not a JSON push event"},
		{name: "wrong method", method: http.MethodGet, header: http.Header{},
			wantCode: http.StatusMethodNotAllowed, wantAllowed: http.MethodPost},
		{name: "oversize", method: http.MethodPost, body: bytes.Repeat([]byte(" "), MaxBodyBytes+1), header: http.Header{},
			wantCode: http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			var logMu sync.Mutex
			logger := funcr.New(func(prefix, args string) {
				logMu.Lock()
				defer logMu.Unlock()
				logs.WriteString(prefix + args + "\n")
			}, funcr.Options{Verbosity: 1})
			rec := &recorder{n: tt.refreshed}
			secretReads := 0
			h := Handler(func() []byte { secretReads++; return tt.secret }, rec.refresh)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h.ServeHTTP(w, r.WithContext(logr.NewContext(r.Context(), logger)))
			}))
			defer srv.Close()

			req, err := http.NewRequestWithContext(context.Background(), tt.method, srv.URL+"/api/webhook", bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header[k] = v
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body bytes.Buffer
			_, _ = body.ReadFrom(resp.Body)

			if resp.StatusCode != tt.wantCode {
				t.Errorf("status = %d, want %d (body %s)", resp.StatusCode, tt.wantCode, body.String())
			}
			if rec.calls() != tt.wantCalls {
				t.Errorf("refresh called %d times, want %d", rec.calls(), tt.wantCalls)
			}
			if !strings.Contains(body.String(), tt.wantBody) {
				t.Errorf("body = %s, want it to contain %s", body.String(), tt.wantBody)
			}
			if !json.Valid(body.Bytes()) {
				t.Errorf("body is not JSON: %s", body.String())
			}
			if tt.wantAllowed != "" && resp.Header.Get("Allow") != tt.wantAllowed {
				t.Errorf("Allow = %q, want %q", resp.Header.Get("Allow"), tt.wantAllowed)
			}
			if tt.method == http.MethodPost && tt.wantCode != http.StatusRequestEntityTooLarge && secretReads != 1 {
				t.Errorf("secret read %d times, want once per request", secretReads)
			}
			logMu.Lock()
			defer logMu.Unlock()
			if len(secret) > 0 && strings.Contains(logs.String(), string(secret)) {
				t.Errorf("logs show the secret: %s", logs.String())
			}
			if tt.wantCalls == 1 && !strings.Contains(logs.String(), `"refreshed"=`+jsonInt(tt.refreshed)) {
				t.Errorf("logs do not record the refresh: %s", logs.String())
			}
		})
	}
}

func jsonInt(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestHandlerSecretRotates(t *testing.T) {
	body := []byte(`{"repoURL":"https://git.example.com/team/app","revision":"main"}`)
	var mu sync.Mutex
	current := []byte("first")
	rec := &recorder{n: 1}
	h := Handler(func() []byte {
		mu.Lock()
		defer mu.Unlock()
		return current
	}, rec.refresh)
	post := func(signWith string) int {
		req := httptest.NewRequest(http.MethodPost, "/api/webhook", bytes.NewReader(body))
		req.Header.Set(HeaderGenericSignature, sign([]byte(signWith), body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	if code := post("first"); code != http.StatusOK {
		t.Fatalf("first secret: status %d", code)
	}
	mu.Lock()
	current = []byte("second")
	mu.Unlock()
	if code := post("first"); code != http.StatusUnauthorized {
		t.Errorf("old secret after rotation: status %d, want 401", code)
	}
	if code := post("second"); code != http.StatusOK {
		t.Errorf("new secret: status %d, want 200", code)
	}
	if rec.calls() != 2 {
		t.Errorf("refresh called %d times, want 2", rec.calls())
	}
}
