package git

import (
	"strings"
	"testing"
)

func TestNormalizeURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://github.com/org/repo", "https://github.com/org/repo"},
		{"https://GitHub.com/org/repo.git", "https://github.com/org/repo"},
		{"https://github.com/org/repo/", "https://github.com/org/repo"},
		{"https://github.com/org/repo.git/", "https://github.com/org/repo"},
		{"  https://github.com:443/org/repo  ", "https://github.com/org/repo"},
		{"http://host:8080/org/repo", "http://host:8080/org/repo"},
		{"git@github.com:org/repo.git", "ssh://git@github.com/org/repo"},
		{"git@GitHub.com:/org/repo", "ssh://git@github.com/org/repo"},
		{"github.com:org/repo", "ssh://github.com/org/repo"},
		{"ssh://git@gitlab:2222/group/name.git", "ssh://git@gitlab:2222/group/name"},
		{"ssh://git@host:22/org/repo", "ssh://git@host/org/repo"},
		{"https://user:pass@host/org/repo", "https://user@host/org/repo"},
		{"HTTPS://host/Org/Repo", "https://host/Org/Repo"},
		{"not a url/", "not a url"},
	}
	for _, tt := range tests {
		if got := NormalizeURL(tt.in); got != tt.want {
			t.Errorf("NormalizeURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSameRepo(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"https://github.com/org/repo", "https://github.com/org/repo.git", true},
		{"https://github.com/Org/Repo", "https://github.com/org/repo/", true},
		{"git@github.com:org/repo.git", "ssh://git@github.com/org/repo", true},
		{"ssh://git@github.com/org/repo", "ssh://other@github.com/org/repo", true},
		{"https://github.com/org/repo", "git@github.com:org/repo.git", false},
		{"https://github.com/org/repo", "https://github.com/org/repo2", false},
		{"https://github.com/org/repo", "https://gitlab.com/org/repo", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := SameRepo(tt.a, tt.b); got != tt.want {
			t.Errorf("SameRepo(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestAuthFromSecretData(t *testing.T) {
	key := newClientKey(t)
	kh := knownHostsLine("github.com:22", newHostKey(t, false))
	tests := []struct {
		name    string
		data    map[string]string
		want    Auth
		wantURL string
		errText string
	}{
		{name: "basic", data: map[string]string{"url": " https://h/o/r ", "username": "alice", "password": "pw\n"},
			want: Auth{Username: "alice", Password: "pw"}, wantURL: "https://h/o/r"},
		{name: "token defaults the user", data: map[string]string{"token": "tok"}, want: Auth{Username: "git", Password: "tok"}},
		{name: "token keeps a user", data: map[string]string{"token": "tok", "username": "bot"}, want: Auth{Username: "bot", Password: "tok"}},
		{name: "ssh", data: map[string]string{"sshPrivateKey": string(key), "known_hosts": string(kh)},
			want: Auth{SSHPrivateKey: key, KnownHosts: kh}},
		{name: "knownHosts spelling", data: map[string]string{"sshPrivateKey": string(key), "knownHosts": string(kh)},
			want: Auth{SSHPrivateKey: key, KnownHosts: kh}},
		{name: "insecure", data: map[string]string{"sshPrivateKey": string(key), "insecureIgnoreHostKey": "true"},
			want: Auth{SSHPrivateKey: key, InsecureIgnoreHostKey: true}},
		{name: "password and token", data: map[string]string{"password": "a", "token": "b"}, errText: "both password and token"},
		{name: "bad bool", data: map[string]string{"insecureIgnoreHostKey": "yes please"}, errText: `use "true" or "false"`},
		{name: "bad key", data: map[string]string{"sshPrivateKey": "-----BEGIN nonsense SECRETVALUE"}, errText: "not a valid SSH private key"},
		{name: "bad known_hosts", data: map[string]string{"known_hosts": "github.com ssh-ed25519 !!!"}, errText: "invalid line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := map[string][]byte{}
			for k, v := range tt.data {
				data[k] = []byte(v)
			}
			got, url, err := AuthFromSecretData(data)
			if tt.errText != "" {
				if err == nil {
					t.Fatalf("want error containing %q", tt.errText)
				}
				mustContain(t, err.Error(), tt.errText)
				if strings.Contains(err.Error(), "SECRETVALUE") {
					t.Errorf("error shows the secret value: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Username != tt.want.Username || got.Password != tt.want.Password ||
				string(got.SSHPrivateKey) != string(tt.want.SSHPrivateKey) || string(got.KnownHosts) != string(tt.want.KnownHosts) ||
				got.InsecureIgnoreHostKey != tt.want.InsecureIgnoreHostKey {
				t.Errorf("auth = %s, want %s", got, &tt.want)
			}
			if url != tt.wantURL {
				t.Errorf("url = %q, want %q", url, tt.wantURL)
			}
			if strings.Contains(got.String(), "pw") || strings.Contains(got.String(), "tok") {
				t.Errorf("String() shows a secret: %s", got)
			}
		})
	}
}

func TestMatchCredentials(t *testing.T) {
	cand := func(url, user string) CredentialCandidate {
		return CredentialCandidate{URL: url, Data: map[string][]byte{"username": []byte(user), "password": []byte("x")}}
	}
	fromData := CredentialCandidate{Data: map[string][]byte{"url": []byte("https://gitlab.com/group"), "username": []byte("data-url")}}
	broken := CredentialCandidate{URL: "https://github.com/org/app", Data: map[string][]byte{"password": []byte("a"), "token": []byte("b")}}
	candidates := []CredentialCandidate{
		cand("https://github.com", "host-wide"),
		cand("https://github.com/org", "org-wide"),
		cand("https://github.com/org-other", "other-org"),
		cand("https://github.com/org/app.git", "exact"),
		cand("git@github.com:org", "ssh-org"),
		fromData,
		cand("", "no-url"),
	}
	tests := []struct {
		name       string
		repo       string
		candidates []CredentialCandidate
		wantUser   string
	}{
		{name: "exact beats prefixes", repo: "https://github.com/org/app", candidates: candidates, wantUser: "exact"},
		{name: "exact, differently spelled", repo: "https://GITHUB.com/org/app/", candidates: candidates, wantUser: "exact"},
		{name: "longest prefix", repo: "https://github.com/org/other", candidates: candidates, wantUser: "org-wide"},
		{name: "prefix stops at a path boundary", repo: "https://github.com/org-otherwise/x", candidates: candidates, wantUser: "host-wide"},
		{name: "scp-like repo and creds", repo: "git@github.com:org/app.git", candidates: candidates, wantUser: "ssh-org"},
		{name: "url from data", repo: "https://gitlab.com/group/sub/repo", candidates: candidates, wantUser: "data-url"},
		{name: "no match", repo: "https://bitbucket.org/x/y", candidates: candidates},
		{name: "scheme matters", repo: "ssh://git@gitlab.com/group/repo", candidates: candidates},
		{name: "invalid exact secret falls back to prefix", repo: "https://github.com/org/app",
			candidates: []CredentialCandidate{broken, cand("https://github.com/org", "org-wide")}, wantUser: "org-wide"},
		{name: "first of equal matches", repo: "https://github.com/org/x",
			candidates: []CredentialCandidate{cand("https://github.com/org", "first"), cand("https://github.com/org/", "second")}, wantUser: "first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := MatchCredentials(tt.repo, tt.candidates)
			if ok != (tt.wantUser != "") {
				t.Fatalf("MatchCredentials ok = %v, want %v (auth %s)", ok, tt.wantUser != "", got)
			}
			if ok && got.Username != tt.wantUser {
				t.Errorf("matched %q, want %q", got.Username, tt.wantUser)
			}
		})
	}
}
