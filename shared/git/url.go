package git

import (
	"net/url"
	"regexp"
	"strings"
)

// scpLike matches Git's scp-like syntax: [user@]host:path, where host has no
// slash and the URL has no scheme.
var scpLike = regexp.MustCompile(`^(?:([^@/:]+)@)?([^@/:]+):(.*)$`)

var defaultPorts = map[string]string{"http": "80", "https": "443", "ssh": "22", "git": "9418"}

// NormalizeURL returns a canonical form of a repository URL for comparison:
// scheme and host lower-cased, a default port dropped, a password dropped,
// trailing "/" and ".git" stripped, and scp-like "git@host:org/repo" turned
// into "ssh://git@host/org/repo". A string that is not a URL is returned
// trimmed of surrounding space, a trailing "/" and ".git".
func NormalizeURL(u string) string {
	s := strings.TrimSpace(u)
	if !strings.Contains(s, "://") {
		if m := scpLike.FindStringSubmatch(s); m != nil && len(m[2]) > 1 {
			user := ""
			if m[1] != "" {
				user = m[1] + "@"
			}
			s = "ssh://" + user + m[2] + "/" + strings.TrimLeft(m[3], "/")
		}
	}
	p, err := url.Parse(s)
	if err != nil || p.Host == "" || p.Scheme == "" {
		return trimRepoSuffix(s)
	}
	p.Scheme = strings.ToLower(p.Scheme)
	host := strings.ToLower(p.Hostname())
	if port := p.Port(); port != "" && port != defaultPorts[p.Scheme] {
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		host += ":" + port
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	p.Host = host
	if p.User != nil {
		p.User = url.User(p.User.Username())
	}
	p.Path = trimRepoSuffix(p.Path)
	p.RawPath = ""
	p.Fragment = ""
	p.RawFragment = ""
	return p.String()
}

func trimRepoSuffix(s string) string {
	s = strings.TrimRight(s, "/")
	s = strings.TrimSuffix(s, ".git")
	return strings.TrimRight(s, "/")
}

// matchKey is the form two URLs are compared in: normalized, without user
// information, case-insensitive (GitHub and GitLab paths are).
func matchKey(u string) string {
	n := NormalizeURL(u)
	if p, err := url.Parse(n); err == nil && p.Host != "" {
		p.User = nil
		n = p.String()
	}
	return strings.ToLower(n)
}

// SameRepo reports whether a and b name the same repository: equal after
// NormalizeURL, ignoring the user name and letter case. Different schemes
// (https and ssh) are different URLs: push payloads list every form.
func SameRepo(a, b string) bool {
	ka, kb := matchKey(a), matchKey(b)
	return ka != "" && ka == kb
}

// redactURL returns u without a password, for error messages.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		// Unparsable: drop anything that could be user information.
		if i := strings.Index(u, "://"); i >= 0 {
			rest := u[i+3:]
			end := strings.IndexByte(rest, '/')
			if end < 0 {
				end = len(rest)
			}
			if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 {
				return u[:i+3] + rest[at+1:]
			}
		}
		return u
	}
	if p.User == nil {
		return u
	}
	if _, has := p.User.Password(); has {
		p.User = url.User(p.User.Username())
		return p.String()
	}
	return u
}
