package git

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
)

// Secret labels that mark a Secret as repository credentials. Argo CD's label
// is accepted so existing Secrets work unchanged.
const (
	SecretTypeLabel       = "argocd.argoproj.io/secret-type"
	LiteSecretTypeLabel   = "argolite.dev/secret-type"
	SecretTypeRepository  = "repository"
	SecretTypeRepoCreds   = "repo-creds"
	defaultTokenUser      = "git"
	keyUsername           = "username"
	keyPassword           = "password"
	keyToken              = "token"
	keySSHPrivateKey      = "sshPrivateKey"
	keyKnownHosts         = "known_hosts"
	keyKnownHostsAlt      = "knownHosts"
	keyInsecureIgnoreHost = "insecureIgnoreHostKey"
	keyURL                = "url"
)

// Auth holds the credentials for one repository. HTTPS uses Username and
// Password (a token goes in Password); SSH uses SSHPrivateKey and checks the
// server against KnownHosts unless InsecureIgnoreHostKey is set.
type Auth struct {
	Username              string
	Password              string
	SSHPrivateKey         []byte
	KnownHosts            []byte
	InsecureIgnoreHostKey bool
}

// String never shows secret values.
func (a *Auth) String() string {
	if a == nil {
		return "<no credentials>"
	}
	var parts []string
	if a.Username != "" {
		parts = append(parts, "username="+a.Username)
	}
	if a.Password != "" {
		parts = append(parts, "password=<redacted>")
	}
	if len(a.SSHPrivateKey) > 0 {
		parts = append(parts, "sshPrivateKey=<redacted>")
	}
	if len(a.KnownHosts) > 0 {
		parts = append(parts, "known_hosts=<set>")
	}
	if a.InsecureIgnoreHostKey {
		parts = append(parts, "insecureIgnoreHostKey=true")
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// AuthFromSecretData reads Argo CD repository-Secret keys: username,
// password, token (used as the password, with username defaulting to "git"),
// sshPrivateKey, known_hosts (or knownHosts) and insecureIgnoreHostKey
// ("true"/"false"). It also returns the "url" key when present. Errors name
// the key and never its value.
func AuthFromSecretData(data map[string][]byte) (auth *Auth, url string, err error) {
	a := &Auth{
		Username:      strings.TrimSpace(string(data[keyUsername])),
		Password:      strings.TrimRight(string(data[keyPassword]), "\r\n"),
		SSHPrivateKey: data[keySSHPrivateKey],
		KnownHosts:    data[keyKnownHosts],
	}
	if len(a.KnownHosts) == 0 {
		a.KnownHosts = data[keyKnownHostsAlt]
	}
	if tok := strings.TrimSpace(string(data[keyToken])); tok != "" {
		if a.Password != "" {
			return nil, "", errors.New("the repository Secret sets both password and token: keep one")
		}
		a.Password = tok
		if a.Username == "" {
			a.Username = defaultTokenUser
		}
	}
	if v, ok := data[keyInsecureIgnoreHost]; ok {
		s := strings.TrimSpace(string(v))
		b, perr := strconv.ParseBool(s)
		if perr != nil {
			return nil, "", fmt.Errorf("the repository Secret key %s is %q: use \"true\" or \"false\"", keyInsecureIgnoreHost, s)
		}
		a.InsecureIgnoreHostKey = b
	}
	if len(a.SSHPrivateKey) > 0 {
		if _, perr := parsePrivateKey(a.SSHPrivateKey); perr != nil {
			return nil, "", perr
		}
	}
	if len(a.KnownHosts) > 0 {
		if perr := validateKnownHosts(a.KnownHosts); perr != nil {
			return nil, "", perr
		}
	}
	return a, strings.TrimSpace(string(data[keyURL])), nil
}

// parsePrivateKey parses an SSH private key; errors never include the key.
func parsePrivateKey(key []byte) (ssh.Signer, error) {
	signer, err := ssh.ParsePrivateKey(key)
	if err == nil {
		return signer, nil
	}
	var pm *ssh.PassphraseMissingError
	if errors.As(err, &pm) {
		return nil, fmt.Errorf("the repository Secret key %s is protected by a passphrase: use a key without one", keySSHPrivateKey)
	}
	return nil, fmt.Errorf("the repository Secret key %s is not a valid SSH private key: paste the whole key, including its BEGIN and END lines", keySSHPrivateKey)
}

// validateKnownHosts checks every non-comment line parses as known_hosts.
func validateKnownHosts(b []byte) error {
	rest := b
	line := 0
	for len(rest) > 0 {
		var err error
		before := len(rest)
		_, _, _, _, rest, err = ssh.ParseKnownHosts(rest)
		if err != nil {
			// ParseKnownHosts returns io.EOF once only comments and blank lines remain.
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("the repository Secret key %s has an invalid line (entry %d): use lines as printed by ssh-keyscan", keyKnownHosts, line+1)
		}
		if len(rest) == before {
			return nil
		}
		line++
	}
	return nil
}

// CredentialCandidate is one repository Secret: its url (when empty, Data's
// "url" key is used) and its data.
type CredentialCandidate struct {
	URL  string
	Data map[string][]byte
}

// MatchCredentials picks the credentials for repoURL among candidates: a
// candidate whose URL names the same repository (SameRepo) wins; otherwise
// the candidate with the longest URL that is a path prefix of repoURL (Argo
// CD's repo-creds, e.g. https://github.com/org for every repository of org).
// Among equal matches the first in the list wins, so callers should sort
// candidates (e.g. by Secret name). Candidates whose data does not parse are
// skipped: report those with AuthFromSecretData.
func MatchCredentials(repoURL string, candidates []CredentialCandidate) (*Auth, bool) {
	repo := matchKey(repoURL)
	if repo == "" {
		return nil, false
	}
	var best *Auth
	bestLen := -1
	for _, c := range candidates {
		u := c.URL
		if u == "" {
			u = strings.TrimSpace(string(c.Data[keyURL]))
		}
		if u == "" {
			continue
		}
		k := matchKey(u)
		exact := k == repo
		if !exact && (!strings.HasPrefix(repo, k+"/") || len(k) <= bestLen) {
			continue
		}
		a, _, err := AuthFromSecretData(c.Data)
		if err != nil {
			continue
		}
		if exact {
			return a, true
		}
		best, bestLen = a, len(k)
	}
	return best, best != nil
}

// CredentialLabels are the labels a repository Secret may carry, Argo CD's
// first; list Secrets by each.
var CredentialLabels = []string{SecretTypeLabel, LiteSecretTypeLabel}

// CredentialCandidates keeps the Secrets listed by label whose value marks
// them as repository credentials and turns them into match candidates.
func CredentialCandidates(label string, secrets []corev1.Secret) []CredentialCandidate {
	var out []CredentialCandidate
	for _, s := range secrets {
		if t := s.Labels[label]; t == SecretTypeRepository || t == SecretTypeRepoCreds {
			out = append(out, CredentialCandidate{URL: string(s.Data["url"]), Data: s.Data})
		}
	}
	return out
}
