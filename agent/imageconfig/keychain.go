package imageconfig

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
)

// dockerAuth is one registry's entry of a Docker config file.
type dockerAuth struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Auth          string `json:"auth"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// Keychain is the credentials of image pull secrets
// (kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg), the first
// secret naming a registry winning, as the kubelet tries them in order.
type Keychain struct {
	auths []map[string]dockerAuth
}

// NewKeychain reads the pull secrets in order; one of another type or that
// does not parse is an error naming it.
func NewKeychain(secrets []corev1.Secret) (*Keychain, error) {
	k := &Keychain{}
	for _, s := range secrets {
		m := map[string]dockerAuth{}
		switch {
		case s.Data[corev1.DockerConfigJsonKey] != nil:
			var cfg struct {
				Auths map[string]dockerAuth `json:"auths"`
			}
			if err := json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg); err != nil {
				return nil, fmt.Errorf("pull secret %s/%s: key %s: %w", s.Namespace, s.Name, corev1.DockerConfigJsonKey, err)
			}
			m = cfg.Auths
		case s.Data[corev1.DockerConfigKey] != nil:
			if err := json.Unmarshal(s.Data[corev1.DockerConfigKey], &m); err != nil {
				return nil, fmt.Errorf("pull secret %s/%s: key %s: %w", s.Namespace, s.Name, corev1.DockerConfigKey, err)
			}
		default:
			return nil, fmt.Errorf("pull secret %s/%s has neither %s nor %s", s.Namespace, s.Name, corev1.DockerConfigJsonKey, corev1.DockerConfigKey)
		}
		norm := map[string]dockerAuth{}
		for key, a := range m {
			norm[registryKey(key)] = a
		}
		k.auths = append(k.auths, norm)
	}
	return k, nil
}

// Resolve implements authn.Keychain for the registry host of target.
func (k *Keychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	host := registryKey(target.RegistryStr())
	for _, m := range k.auths {
		a, ok := m[host]
		if !ok {
			continue
		}
		cfg := authn.AuthConfig{Username: a.Username, Password: a.Password, IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken}
		if a.Auth != "" && cfg.Username == "" {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return nil, fmt.Errorf("pull secret entry for %s: auth is not base64: %w", host, err)
			}
			cfg.Username, cfg.Password, _ = strings.Cut(string(raw), ":")
		}
		return authn.FromConfig(cfg), nil
	}
	return authn.Anonymous, nil
}

// registryKey is the host of a Docker config key ("https://index.docker.io/v1/",
// "docker.io", "host:port/path"), Docker Hub's names made one.
func registryKey(key string) string {
	key = strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://")
	key, _, _ = strings.Cut(key, "/")
	switch key {
	case "index.docker.io", "registry-1.docker.io", "docker.io":
		return "docker.io"
	}
	return key
}
