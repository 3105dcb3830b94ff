package imageconfig

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// DefaultMirror is the Mirrors key for every registry without its own, as
// containerd's _default hosts directory.
const DefaultMirror = "_default"

// Mirrors are the registries to read instead of the upstream ones, by
// upstream host as containerd names it (docker.io for Docker Hub) or
// DefaultMirror: the argolite-config registryMirrors key.
type Mirrors map[string]Mirror

// Mirror is one registry read instead of an upstream one, with the
// semantics of a containerd hosts.toml [host] entry. The mirror replaces the
// upstream: nothing falls back to it, so a mirror that fails is an error.
type Mirror struct {
	// Endpoint is the mirror's URL, https://host:port[/path] (http:// for a
	// registry without TLS).
	Endpoint string `json:"endpoint"`
	// OverridePath says Endpoint's path is the API root, /v2 included, as
	// containerd's override_path: https://m:5000/v2/docker.io reads
	// docker.io/library/alpine as m:5000/docker.io/library/alpine. Without
	// it the path must be empty and /v2 is appended, as the registry API says.
	OverridePath bool `json:"overridePath,omitempty"`
	// CAData is the PEM CA bundle the mirror's certificate is checked
	// against, instead of the system's.
	CAData string `json:"caData,omitempty"`
	// CAFile is a file in the agent's container holding that bundle.
	CAFile string `json:"caFile,omitempty"`
	// InsecureSkipVerify does not check the mirror's certificate (containerd's skip_verify).
	InsecureSkipVerify bool `json:"skipVerify,omitempty"`
}

// Host is the registry ref names, as containerd names it: Docker Hub is
// docker.io (go-containerregistry says index.docker.io).
func Host(ref name.Reference) string {
	if h := ref.Context().RegistryStr(); h != name.DefaultRegistry {
		return h
	}
	return "docker.io"
}

// Resolve is where ref is read: its place in the mirror for its registry
// (or the default one), with the options to reach that mirror. Without a
// mirror it is ref itself.
func (m Mirrors) Resolve(ref name.Reference) (name.Reference, []remote.Option, error) {
	mirror, ok := m[Host(ref)]
	if !ok {
		if mirror, ok = m[DefaultMirror]; !ok {
			return ref, nil, nil
		}
	}
	u, err := url.Parse(mirror.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, nil, fmt.Errorf("registry mirror for %s: endpoint %q is not an http(s)://host[:port][/path] URL", Host(ref), mirror.Endpoint)
	}
	path := strings.Trim(u.Path, "/")
	var prefix string
	switch {
	case mirror.OverridePath && (path == "v2" || strings.HasPrefix(path, "v2/")):
		prefix = strings.TrimPrefix(strings.TrimPrefix(path, "v2"), "/")
	case mirror.OverridePath:
		return nil, nil, fmt.Errorf("registry mirror for %s: endpoint %q has overridePath but its path does not start with /v2, which the registry client cannot address", Host(ref), mirror.Endpoint)
	case path != "":
		return nil, nil, fmt.Errorf("registry mirror for %s: endpoint %q has a path; set overridePath and give the path up to and including /v2", Host(ref), mirror.Endpoint)
	}
	repo := ref.Context().RepositoryStr()
	if prefix != "" {
		repo = prefix + "/" + repo
	}
	var opts []name.Option
	if u.Scheme == "http" {
		opts = append(opts, name.Insecure)
	}
	sep := ":"
	if _, ok := ref.(name.Digest); ok {
		sep = "@"
	}
	out, err := name.ParseReference(u.Host+"/"+repo+sep+ref.Identifier(), opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("registry mirror for %s: %s has no place at %s: %w", Host(ref), ref, mirror.Endpoint, err)
	}
	tr, err := mirror.transport()
	if err != nil {
		return nil, nil, fmt.Errorf("registry mirror for %s: %w", Host(ref), err)
	}
	if tr == nil {
		return out, nil, nil
	}
	return out, []remote.Option{remote.WithTransport(tr)}, nil
}

// transport trusts the mirror's CA, nil when the default transport does.
func (m Mirror) transport() (http.RoundTripper, error) {
	ca := []byte(m.CAData)
	if m.CAFile != "" {
		b, err := os.ReadFile(m.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading caFile: %w", err)
		}
		ca = append(ca, b...)
	}
	if len(ca) == 0 && !m.InsecureSkipVerify {
		return nil, nil
	}
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: m.InsecureSkipVerify} //nolint:gosec // the user asked for it
	if len(ca) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("no PEM certificate in caData/caFile")
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	return tr, nil
}
