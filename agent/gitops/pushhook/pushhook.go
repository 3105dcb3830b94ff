// Package pushhook owns Git push webhooks: it reads GitHub, GitLab and
// generic push payloads, checks their signature or token against the
// configured secret, and serves the HTTP endpoint that turns a push into a
// refresh of the applications that track the pushed repository.
package pushhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/argolite/argolite/shared/git"
)

// Providers, as set in Push.Provider.
const (
	ProviderGitHub  = "github"
	ProviderGitLab  = "gitlab"
	ProviderGeneric = "generic"
)

// Request headers read by Parse.
const (
	HeaderGitHubEvent      = "X-GitHub-Event"
	HeaderGitHubSignature  = "X-Hub-Signature-256"
	HeaderGitLabEvent      = "X-Gitlab-Event"
	HeaderGitLabToken      = "X-Gitlab-Token"
	HeaderGenericSignature = "X-Argolite-Signature-256"
	signaturePrefix        = "sha256="
	zeroSHA                = "0000000000000000000000000000000000000000"
)

var (
	// ErrSignature: a secret is configured and the request's signature (or
	// GitLab token) is missing or wrong.
	ErrSignature = errors.New("webhook signature missing or wrong")
	// ErrIgnored: the request is a valid webhook that is not a push (a
	// GitHub ping, an issue event, ...). Nothing needs refreshing.
	ErrIgnored = errors.New("webhook event is not a push")
)

// Push is what a push webhook says changed.
type Push struct {
	// RepoURLs holds every URL form the payload names for the repository
	// (html_url, clone_url, ssh_url, git_http_url, git_ssh_url, ...).
	RepoURLs []string
	// Ref is the pushed ref, "refs/heads/main" or "refs/tags/v1"; empty when
	// a generic payload names a bare revision.
	Ref string
	// Branch or Tag is the short name of Ref. A generic payload that names a
	// bare revision sets Branch to it (it may name a tag).
	Branch string
	Tag    string
	// After is the commit SHA the ref now points at; empty when the ref was
	// deleted or the payload does not say.
	After string
	// DefaultBranch is the repository's default branch when the payload says.
	DefaultBranch string
	// Provider is "github", "gitlab" or "generic".
	Provider string
}

// Matches reports whether the push may change what an application tracking
// repoURL at targetRevision deploys: the repository is one the payload names
// and the revision is the pushed branch or tag, HEAD (or empty) when the
// default branch moved or is unknown, or anything when the payload names no
// ref. A commit SHA never moves, so it never matches.
func (p Push) Matches(repoURL, targetRevision string) bool {
	named := false
	for _, u := range p.RepoURLs {
		if git.SameRepo(u, repoURL) {
			named = true
			break
		}
	}
	if !named {
		return false
	}
	rev := strings.TrimSpace(targetRevision)
	if p.Ref == "" && p.Branch == "" && p.Tag == "" {
		return true
	}
	switch rev {
	case "", "HEAD":
		return p.Tag == "" && (p.DefaultBranch == "" || p.Branch == p.DefaultBranch)
	case p.Ref, p.Branch, p.Tag:
		return true
	}
	return false
}

// Parse reads one webhook request. The provider is chosen by header: GitHub
// (X-GitHub-Event, signature X-Hub-Signature-256), GitLab (X-Gitlab-Event,
// token X-Gitlab-Token) or generic (anything else; signature
// X-Argolite-Signature-256: sha256=<hex HMAC-SHA256 of the body>, payload
// {"repository":{"url":...},"ref":...,"after":...} or
// {"repoURL":...,"revision":...}). With a non-empty secret a missing or
// wrong signature is ErrSignature, checked before anything else is read;
// with an empty secret nothing is checked. Events that are not pushes return
// ErrIgnored.
func Parse(header http.Header, body []byte, secret []byte) (Push, error) {
	switch {
	case header.Get(HeaderGitHubEvent) != "":
		if len(secret) > 0 {
			if err := checkHMAC(header.Get(HeaderGitHubSignature), HeaderGitHubSignature, body, secret); err != nil {
				return Push{}, err
			}
		}
		return parseGitHub(header.Get(HeaderGitHubEvent), body)
	case header.Get(HeaderGitLabEvent) != "":
		if len(secret) > 0 {
			if err := checkToken(header.Get(HeaderGitLabToken), secret); err != nil {
				return Push{}, err
			}
		}
		return parseGitLab(header.Get(HeaderGitLabEvent), body)
	default:
		if len(secret) > 0 {
			if err := checkHMAC(header.Get(HeaderGenericSignature), HeaderGenericSignature, body, secret); err != nil {
				return Push{}, err
			}
		}
		return parseGeneric(body)
	}
}

// checkHMAC verifies "sha256=<hex>" against the body's HMAC-SHA256.
func checkHMAC(value, name string, body, secret []byte) error {
	if value == "" {
		return fmt.Errorf("%w: the %s header is missing: configure the webhook with the same secret as the agent", ErrSignature, name)
	}
	if !strings.HasPrefix(value, signaturePrefix) {
		return fmt.Errorf("%w: the %s header does not start with %q", ErrSignature, name, signaturePrefix)
	}
	got, err := hex.DecodeString(strings.TrimSpace(value[len(signaturePrefix):]))
	if err != nil {
		return fmt.Errorf("%w: the %s header is not hex", ErrSignature, name)
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return fmt.Errorf("%w: the %s header does not match the body: check the webhook secret", ErrSignature, name)
	}
	return nil
}

// checkToken compares GitLab's token in constant time (hashing both first,
// so the length is not revealed either).
func checkToken(value string, secret []byte) error {
	if value == "" {
		return fmt.Errorf("%w: the %s header is missing: set the webhook's secret token to the agent's webhook secret", ErrSignature, HeaderGitLabToken)
	}
	a, b := sha256.Sum256([]byte(value)), sha256.Sum256(secret)
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return fmt.Errorf("%w: the %s header does not match: check the webhook's secret token", ErrSignature, HeaderGitLabToken)
	}
	return nil
}

func parseGitHub(event string, body []byte) (Push, error) {
	if event != "push" {
		return Push{}, fmt.Errorf("%w: GitHub %q event", ErrIgnored, event)
	}
	var pl struct {
		Ref        string `json:"ref"`
		After      string `json:"after"`
		Repository struct {
			HTMLURL       string `json:"html_url"`
			CloneURL      string `json:"clone_url"`
			SSHURL        string `json:"ssh_url"`
			GitURL        string `json:"git_url"`
			URL           string `json:"url"`
			DefaultBranch string `json:"default_branch"`
		} `json:"repository"`
	}
	if err := decode(body, &pl); err != nil {
		return Push{}, err
	}
	r := pl.Repository
	p := Push{Provider: ProviderGitHub, DefaultBranch: r.DefaultBranch}
	p.RepoURLs = urls(r.HTMLURL, r.CloneURL, r.SSHURL, r.GitURL, r.URL)
	p.setRef(pl.Ref)
	p.setAfter(pl.After)
	return p.valid()
}

func parseGitLab(event string, body []byte) (Push, error) {
	switch event {
	case "Push Hook", "Tag Push Hook", "System Hook":
	default:
		return Push{}, fmt.Errorf("%w: GitLab %q event", ErrIgnored, event)
	}
	type repo struct {
		WebURL        string `json:"web_url"`
		GitHTTPURL    string `json:"git_http_url"`
		GitSSHURL     string `json:"git_ssh_url"`
		HTTPURL       string `json:"http_url"`
		SSHURL        string `json:"ssh_url"`
		URL           string `json:"url"`
		Homepage      string `json:"homepage"`
		DefaultBranch string `json:"default_branch"`
	}
	var pl struct {
		ObjectKind  string `json:"object_kind"`
		Ref         string `json:"ref"`
		After       string `json:"after"`
		CheckoutSHA string `json:"checkout_sha"`
		Project     repo   `json:"project"`
		Repository  repo   `json:"repository"`
	}
	if err := decode(body, &pl); err != nil {
		return Push{}, err
	}
	if pl.ObjectKind != "" && pl.ObjectKind != "push" && pl.ObjectKind != "tag_push" {
		return Push{}, fmt.Errorf("%w: GitLab %q event of kind %q", ErrIgnored, event, pl.ObjectKind)
	}
	pr, rp := pl.Project, pl.Repository
	p := Push{Provider: ProviderGitLab, DefaultBranch: pr.DefaultBranch}
	p.RepoURLs = urls(pr.WebURL, pr.GitHTTPURL, pr.GitSSHURL, pr.HTTPURL, pr.SSHURL, pr.URL, pr.Homepage,
		rp.GitHTTPURL, rp.GitSSHURL, rp.URL, rp.Homepage)
	p.setRef(pl.Ref)
	// For an annotated tag "after" is the tag object; checkout_sha is the commit.
	if pl.CheckoutSHA != "" {
		p.setAfter(pl.CheckoutSHA)
	} else {
		p.setAfter(pl.After)
	}
	return p.valid()
}

func parseGeneric(body []byte) (Push, error) {
	var pl struct {
		Repository struct {
			URL        string `json:"url"`
			CloneURL   string `json:"clone_url"`
			HTMLURL    string `json:"html_url"`
			SSHURL     string `json:"ssh_url"`
			GitHTTPURL string `json:"git_http_url"`
			GitSSHURL  string `json:"git_ssh_url"`
		} `json:"repository"`
		Ref      string `json:"ref"`
		After    string `json:"after"`
		RepoURL  string `json:"repoURL"`
		Revision string `json:"revision"`
	}
	if err := decode(body, &pl); err != nil {
		return Push{}, err
	}
	r := pl.Repository
	p := Push{Provider: ProviderGeneric}
	p.RepoURLs = urls(pl.RepoURL, r.URL, r.CloneURL, r.HTMLURL, r.SSHURL, r.GitHTTPURL, r.GitSSHURL)
	p.setRef(pl.Ref)
	p.setAfter(pl.After)
	if rev := strings.TrimSpace(pl.Revision); rev != "" {
		switch {
		case strings.HasPrefix(rev, "refs/"):
			if p.Ref == "" {
				p.setRef(rev)
			}
		case isFullSHA(rev):
			if p.After == "" {
				p.setAfter(rev)
			}
		case p.Ref == "":
			p.Branch = rev
		}
	}
	return p.valid()
}

func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("the payload is not a JSON push event: %w", err)
	}
	return nil
}

func (p *Push) setRef(ref string) {
	ref = strings.TrimSpace(ref)
	p.Ref = ref
	switch {
	case strings.HasPrefix(ref, "refs/heads/"):
		p.Branch = strings.TrimPrefix(ref, "refs/heads/")
	case strings.HasPrefix(ref, "refs/tags/"):
		p.Tag = strings.TrimPrefix(ref, "refs/tags/")
	}
}

func (p *Push) setAfter(sha string) {
	sha = strings.ToLower(strings.TrimSpace(sha))
	if sha == zeroSHA {
		sha = ""
	}
	p.After = sha
}

func (p Push) valid() (Push, error) {
	if len(p.RepoURLs) == 0 {
		return Push{}, errors.New(`the payload names no repository: send {"repository":{"url":"..."},"ref":"refs/heads/main","after":"<sha>"} or {"repoURL":"...","revision":"main"}`)
	}
	return p, nil
}

// urls returns the non-empty values, without duplicates, in order.
func urls(values ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range values {
		v = strings.TrimSpace(v)
		if v == "" || seen[v] {
			continue
		}
		seen[v] = true
		out = append(out, v)
	}
	return out
}

func isFullSHA(s string) bool {
	if len(s) != 40 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
