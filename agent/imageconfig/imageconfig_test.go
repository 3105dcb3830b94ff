package imageconfig

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCommand(t *testing.T) {
	for _, tc := range []struct {
		name            string
		entrypoint, cmd []string
		hasArgs         bool
		want            []string
	}{
		{"entrypoint and cmd", []string{"/argosay"}, []string{"echo"}, false, []string{"/argosay", "echo"}},
		{"args replace cmd", []string{"/argosay"}, []string{"echo"}, true, []string{"/argosay"}},
		{"cmd only", nil, []string{"sh"}, false, []string{"sh"}},
		{"cmd only, args run alone", nil, []string{"sh"}, true, nil},
		{"nothing", nil, nil, false, nil},
	} {
		if got := Command(tc.entrypoint, tc.cmd, tc.hasArgs); !reflect.DeepEqual(got, tc.want) && (len(got) != 0 || len(tc.want) != 0) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestMirrorsResolve(t *testing.T) {
	mirrors := Mirrors{
		"docker.io":   {Endpoint: "https://10.0.0.1:5000/v2/docker.io", OverridePath: true},
		"quay.io":     {Endpoint: "http://mirror.local"},
		DefaultMirror: {Endpoint: "https://10.0.0.1:5000"},
	}
	for in, want := range map[string]string{
		"argoproj/argosay:v2": "10.0.0.1:5000/docker.io/argoproj/argosay:v2",
		"docker.io/library/alpine@sha256:" + strings.Repeat("a", 64): "10.0.0.1:5000/docker.io/library/alpine@sha256:" + strings.Repeat("a", 64),
		"quay.io/x/y:1": "mirror.local/x/y:1",
		"ghcr.io/a/b:c": "10.0.0.1:5000/a/b:c",
	} {
		ref, err := name.ParseReference(in)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := mirrors.Resolve(ref)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got.Name() != want {
			t.Errorf("%s: got %s, want %s", in, got.Name(), want)
		}
		if in == "quay.io/x/y:1" && got.Context().Scheme() != "http" {
			t.Errorf("%s: want plain http, got %s", in, got.Context().Scheme())
		}
	}
	if got, _, _ := (Mirrors{}).Resolve(name.MustParseReference("alpine")); got.Name() != "index.docker.io/library/alpine:latest" {
		t.Errorf("no mirror: got %s", got.Name())
	}
	for _, bad := range []Mirror{{Endpoint: "host:5000"}, {Endpoint: "https://h/x", OverridePath: true}, {Endpoint: "https://h/x"}, {Endpoint: "https://h", CAData: "not PEM"}} {
		if _, _, err := (Mirrors{DefaultMirror: bad}).Resolve(name.MustParseReference("alpine")); err == nil {
			t.Errorf("%+v: want an error", bad)
		}
	}
}

func TestLRU(t *testing.T) {
	l := newLRU[int](2)
	l.put("a", 1)
	l.put("b", 2)
	l.get("a")
	l.put("c", 3) // drops b, the least recently used
	if _, ok := l.get("b"); ok {
		t.Error("b should have been dropped")
	}
	if v, ok := l.get("a"); !ok || v != 1 {
		t.Errorf("a: got %d %v", v, ok)
	}
}

// pushImage pushes a random image with entrypoint and cmd to ref.
func pushImage(t *testing.T, ref string, entrypoint, cmd []string, opts ...remote.Option) {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Config(img, v1.Config{Entrypoint: entrypoint, Cmd: cmd})
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, opts...); err != nil {
		t.Fatal(err)
	}
}

func anonymous(context.Context) (authn.Keychain, error) { return authn.NewMultiKeychain(), nil }

func TestLookupRegistry(t *testing.T) {
	var manifests atomic.Int32
	reg := registry.New()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodGet {
			manifests.Add(1)
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	// The image lives under the upstream name, as in the test bed's mirror.
	pushImage(t, host+"/docker.io/argoproj/argosay:v2", []string{"/argosay"}, []string{"echo"})
	mirrors := Mirrors{"docker.io": {Endpoint: srv.URL + "/v2/docker.io", OverridePath: true}}

	r := NewResolver()
	now := time.Now()
	r.now = func() time.Time { return now }
	for range 2 {
		img, err := r.Lookup(context.Background(), "argoproj/argosay:v2", mirrors, anonymous)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(img, Image{Entrypoint: []string{"/argosay"}, Cmd: []string{"echo"}}) {
			t.Fatalf("got %+v", img)
		}
	}
	if n := manifests.Load(); n != 1 {
		t.Errorf("the second lookup should come from the cache: %d manifest reads", n)
	}
	// Once the tag's resolution expires the registry is asked again.
	now = now.Add(tagTTL + time.Second)
	if _, err := r.Lookup(context.Background(), "argoproj/argosay:v2", mirrors, anonymous); err != nil {
		t.Fatal(err)
	}
	if n := manifests.Load(); n != 2 {
		t.Errorf("after the tag TTL the registry should be asked: %d manifest reads", n)
	}

	_, err := r.Lookup(context.Background(), "argoproj/missing:v1", mirrors, anonymous)
	if err == nil || !strings.Contains(err.Error(), "docker.io/argoproj/missing:v1") {
		t.Errorf("missing image: want an error naming it, got %v", err)
	}
	// An unreachable registry fails within the context's deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := r.Lookup(ctx, "127.0.0.1:1/nothing:v1", nil, anonymous); err == nil {
		t.Error("unreachable registry: want an error")
	}
	// The keychain is not asked for an image in the cache, and its error is returned otherwise.
	boom := func(context.Context) (authn.Keychain, error) { return nil, errors.New("boom") }
	if _, err := r.Lookup(context.Background(), "argoproj/argosay:v2", mirrors, boom); err != nil {
		t.Errorf("cached: %v", err)
	}
	if _, err := r.Lookup(context.Background(), "argoproj/other:v2", mirrors, boom); err == nil || err.Error() != "boom" {
		t.Errorf("want the keychain's error, got %v", err)
	}
}

func TestLookupWithPullSecret(t *testing.T) {
	reg := registry.New()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "me" || p != "secret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	basic := remote.WithAuth(&authn.Basic{Username: "me", Password: "secret"})
	pushImage(t, host+"/private/app:1", nil, []string{"/app"}, basic)
	image := host + "/private/app:1"
	r := NewResolver()
	if _, err := r.Lookup(context.Background(), image, nil, anonymous); err == nil {
		t.Fatal("without the secret: want an error")
	}
	auth := base64.StdEncoding.EncodeToString([]byte("me:secret"))
	secret := corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "pull", Namespace: "ns"}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: fmt.Appendf(nil, `{"auths":{"http://%s":{"auth":%q}}}`, host, auth)}}
	kc := func(context.Context) (authn.Keychain, error) { return NewKeychain([]corev1.Secret{secret}) }
	img, err := r.Lookup(context.Background(), image, nil, kc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(img.Cmd, []string{"/app"}) || len(img.Entrypoint) != 0 {
		t.Errorf("got %+v", img)
	}
}

func TestKeychainDockerHubNames(t *testing.T) {
	s := corev1.Secret{Data: map[string][]byte{corev1.DockerConfigKey: []byte(`{"https://index.docker.io/v1/":{"username":"u","password":"p"}}`)}}
	kc, err := NewKeychain([]corev1.Secret{s})
	if err != nil {
		t.Fatal(err)
	}
	a, err := kc.Resolve(name.MustParseReference("alpine").Context())
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := a.Authorization()
	if cfg.Username != "u" || cfg.Password != "p" {
		t.Errorf("got %+v", cfg)
	}
	if _, err := NewKeychain([]corev1.Secret{{ObjectMeta: metav1.ObjectMeta{Name: "x"}}}); err == nil {
		t.Error("a secret of another type: want an error")
	}
}
