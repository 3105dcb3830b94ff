package mirror

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestName(t *testing.T) {
	const reg = "192.0.2.2:5000"
	for in, want := range map[string]string{
		"alpine":                                   reg + "/docker.io/library/alpine:latest",
		"nginx:1.25":                               reg + "/docker.io/library/nginx:1.25",
		"docker.io/argoproj/argosay:v2":            reg + "/docker.io/argoproj/argosay:v2",
		"index.docker.io/library/busybox:1.36":     reg + "/docker.io/library/busybox:1.36",
		"ghcr.io/argolite/argolite-agent:v0.1.0":   reg + "/ghcr.io/argolite/argolite-agent:v0.1.0",
		"registry.k8s.io/pause:3.6":                reg + "/registry.k8s.io/pause:3.6",
		"quay.io/argoproj/argoexec:latest":         reg + "/quay.io/argoproj/argoexec:latest",
		"argolite.local/library/alpine:3.23":       reg + "/argolite.local/library/alpine:3.23",
		reg + "/team/app:v1":                       reg + "/team/app:v1",
		"alpine@sha256:" + strings.Repeat("a", 64): reg + "/docker.io/library/alpine@sha256:" + strings.Repeat("a", 64),
	} {
		ref, err := name.ParseReference(in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Name(ref, reg)
		if err != nil || got.String() != want {
			t.Errorf("Name(%s) = %v, %v; want %s", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"alpine":                     "docker.io/library/alpine:latest",
		"docker.io/library/busybox":  "docker.io/library/busybox:latest",
		"registry.k8s.io/pause:3.6":  "registry.k8s.io/pause:3.6",
		"ghcr.io/argolite/agent:dev": "ghcr.io/argolite/agent:dev",
	} {
		ref, _ := name.ParseReference(in)
		if got := Upstream(ref); got != want {
			t.Errorf("Upstream(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestTransportNeedsACertificate(t *testing.T) {
	if _, err := Transport([]byte("not a certificate")); err == nil || !strings.Contains(err.Error(), "ca.crt") {
		t.Errorf("Transport(garbage) = %v, want an error naming the cluster CA", err)
	}
}

// TestPush pushes a two-tag archive to an in-process registry over TLS and
// reads each tag back, under its mirrored name, with the image's config.
func TestPush(t *testing.T) {
	srv := httptest.NewTLSServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	reg := strings.TrimPrefix(srv.URL, "https://")
	tr, err := Transport(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	if err != nil {
		t.Fatal(err)
	}

	img, err := random.Image(256, 2)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Config(img, v1.Config{Entrypoint: []string{"/argosay"}})
	if err != nil {
		t.Fatal(err)
	}
	latest, _ := name.NewTag("docker.io/library/busybox:latest")
	alias, _ := name.NewTag("argolite.local/library/busybox:1.36")
	archive := filepath.Join(t.TempDir(), "busybox.tar")
	if err := tarball.MultiRefWriteToFile(archive, map[name.Reference]v1.Image{latest: img, alias: img}); err != nil {
		t.Fatal(err)
	}

	tags, err := Push(context.Background(), archive, reg, remote.WithTransport(tr))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tag := range tags {
		got = append(got, Upstream(tag))
	}
	if want := []string{"argolite.local/library/busybox:1.36", "docker.io/library/busybox:latest"}; !reflect.DeepEqual(slices.Sorted(slices.Values(got)), want) {
		t.Errorf("pushed %v, want %v", got, want)
	}
	wantDigest, _ := img.Digest()
	for _, tag := range tags {
		dst, _ := Name(tag, reg)
		back, err := remote.Image(dst, remote.WithTransport(tr))
		if err != nil {
			t.Fatalf("reading %s back: %v", dst, err)
		}
		if d, _ := back.Digest(); d != wantDigest {
			t.Errorf("%s has digest %s, want %s", dst, d, wantDigest)
		}
		cf, err := back.ConfigFile()
		if err != nil || !reflect.DeepEqual(cf.Config.Entrypoint, []string{"/argosay"}) {
			t.Errorf("%s config: %+v, %v", dst, cf, err)
		}
	}

	if _, err := Push(context.Background(), filepath.Join(t.TempDir(), "missing.tar"), reg, remote.WithTransport(tr)); err == nil || !strings.Contains(err.Error(), "make images") {
		t.Errorf("pushing a missing archive: %v, want an error saying how to build it", err)
	}
}

// TestPushOneImagePerTag pushes an archive holding two images over one
// layer, each under its own tag (the rollouts-demo stand-in's shape), and
// reads each tag back with its own config.
func TestPushOneImagePerTag(t *testing.T) {
	srv := httptest.NewTLSServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	reg := strings.TrimPrefix(srv.URL, "https://")
	tr, err := Transport(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	if err != nil {
		t.Fatal(err)
	}
	base, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	images := map[name.Reference]v1.Image{}
	want := map[string]string{}
	for _, color := range []string{"blue", "bad-red"} {
		img, err := mutate.Config(base, v1.Config{Env: []string{"COLOR=" + color}})
		if err != nil {
			t.Fatal(err)
		}
		tag, _ := name.NewTag("docker.io/argoproj/rollouts-demo:" + color)
		images[tag] = img
		want[Upstream(tag)] = "COLOR=" + color
	}
	archive := filepath.Join(t.TempDir(), "rollouts-demo.tar")
	if err := tarball.MultiRefWriteToFile(archive, images); err != nil {
		t.Fatal(err)
	}
	tags, err := Push(context.Background(), archive, reg, remote.WithTransport(tr))
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != len(want) {
		t.Fatalf("pushed %v, want %d tags", tags, len(want))
	}
	for _, tag := range tags {
		dst, _ := Name(tag, reg)
		back, err := remote.Image(dst, remote.WithTransport(tr))
		if err != nil {
			t.Fatalf("reading %s back: %v", dst, err)
		}
		cf, err := back.ConfigFile()
		if err != nil || !reflect.DeepEqual(cf.Config.Env, []string{want[Upstream(tag)]}) {
			t.Errorf("%s: config %+v (%v), want Env %q", tag, cf, err, want[Upstream(tag)])
		}
	}
}
