// Package mirror is the local cluster's OCI registry as its clients see it.
// The registry (the distribution registry that integration/cluster/up.sh
// starts on the node address) stands in for every upstream registry the test
// bed has images of, each under its own prefix: docker.io/library/alpine:3.23
// lives there as <registry>/docker.io/library/alpine:3.23, the layout the
// hosts.toml files up.sh writes for containerd read (override_path). Name maps
// an upstream reference to its place in the registry, Push pushes an image
// tarball under every name it carries, and Transport trusts the cluster CA
// the registry's certificate is signed by.
package mirror

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Port is the registry's port on the node address.
const Port = 5000

// Host is the registry an upstream reference names, as containerd names it:
// Docker Hub is docker.io (go-containerregistry says index.docker.io).
func Host(ref name.Reference) string {
	if h := ref.Context().RegistryStr(); h != name.DefaultRegistry {
		return h
	}
	return "docker.io"
}

// Upstream is ref fully qualified the way containerd stores it:
// "alpine" is docker.io/library/alpine:latest.
func Upstream(ref name.Reference) string {
	return Host(ref) + "/" + ref.Context().RepositoryStr() + separator(ref) + ref.Identifier()
}

// Name is where the registry at registry (host:port) keeps ref:
// registry/<upstream host>/<repository>, with ref's tag or digest. A
// reference already naming the registry stays as it is.
func Name(ref name.Reference, registry string) (name.Reference, error) {
	if ref.Context().RegistryStr() == registry {
		return ref, nil
	}
	s := registry + "/" + Host(ref) + "/" + ref.Context().RepositoryStr() + separator(ref) + ref.Identifier()
	out, err := name.ParseReference(s, name.StrictValidation)
	if err != nil {
		return nil, fmt.Errorf("%s has no place in the registry %s: %w", ref, registry, err)
	}
	return out, nil
}

func separator(ref name.Reference) string {
	if _, ok := ref.(name.Digest); ok {
		return "@"
	}
	return ":"
}

// Transport is an HTTP transport that trusts the CA certificates in caPEM
// (the cluster CA, which signed the registry's certificate) and no proxy:
// the registry is on the node address.
func Transport(caPEM []byte) (*http.Transport, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("no PEM certificate in the CA data: pass the cluster CA ($CLUSTER_DIR/pki/ca.crt)")
	}
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return tr, nil
}

// Push pushes the images of a docker-archive tarball (what
// integration/images writes: one image under many tags, or one image per
// tag as for rollouts-demo) to the registry at registry under each of their
// repo tags, mapped by Name, uploading each blob once. It returns the tags
// as upstream references. opts are go-containerregistry's remote options,
// such as remote.WithTransport(Transport(ca)).
func Push(ctx context.Context, archive, registry string, opts ...remote.Option) ([]name.Tag, error) {
	opener := func() (io.ReadCloser, error) { return os.Open(archive) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w (build it with make images)", archive, err)
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("%s holds no image", archive)
	}
	var tags []name.Tag
	refs := map[name.Reference]remote.Taggable{}
	for i, d := range m {
		if len(d.RepoTags) == 0 {
			return nil, fmt.Errorf("%s: image %d of %d has no repo tag", archive, i+1, len(m))
		}
		first, err := name.NewTag(d.RepoTags[0])
		if err != nil {
			return nil, fmt.Errorf("%s: repo tag %q: %w", archive, d.RepoTags[0], err)
		}
		// The archive's image under this entry's first tag is the entry's image.
		img, err := tarball.Image(opener, &first)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", archive, err)
		}
		for _, rt := range d.RepoTags {
			tag, err := name.NewTag(rt)
			if err != nil {
				return nil, fmt.Errorf("%s: repo tag %q: %w", archive, rt, err)
			}
			dst, err := Name(tag, registry)
			if err != nil {
				return nil, err
			}
			tags = append(tags, tag)
			refs[dst] = img
		}
	}
	if err := remote.MultiWrite(refs, append(opts, remote.WithContext(ctx))...); err != nil {
		return nil, fmt.Errorf("pushing %s to %s: %w (is the local cluster up? make cluster-up)", archive, registry, err)
	}
	return tags, nil
}

// Registries are the upstream registries the registry stands in for, each
// under its own prefix (integration/cluster/lib.sh mirrored_registries).
var Registries = []string{"docker.io", "quay.io", "gcr.io", "ghcr.io", "registry.k8s.io", "argolite.local"}

// AgentConfig is the registryMirrors key of argolite-config that makes the
// agent read image configs where containerd pulls the images from (the
// hosts.toml files up.sh writes): each of Registries at its prefix of the
// registry at registry (host:port), every other registry at its root, all
// trusting caPEM.
func AgentConfig(registry string, caPEM []byte) (string, error) {
	type host struct {
		Endpoint     string `json:"endpoint"`
		OverridePath bool   `json:"overridePath,omitempty"`
		CAData       string `json:"caData"`
	}
	m := map[string]host{"_default": {Endpoint: "https://" + registry, CAData: string(caPEM)}}
	for _, r := range Registries {
		m[r] = host{Endpoint: "https://" + registry + "/v2/" + r, OverridePath: true, CAData: string(caPEM)}
	}
	b, err := json.Marshal(m)
	return string(b), err
}
