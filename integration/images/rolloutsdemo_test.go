package main

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestRolloutsDemoImages writes the rollouts-demo archive from a fake
// binary: one image per tag, each with upstream's entrypoint, port and its
// tag's COLOR, ERROR_RATE and LATENCY, all over one shared layer.
func TestRolloutsDemoImages(t *testing.T) {
	refs, variants, err := rolloutsDemoTags(rolloutsDemoRepo)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 18 {
		t.Errorf("%d tags, want 6 colors, each plain, bad- and slow-", len(refs))
	}
	imgs, err := rolloutsDemoImages([]byte("demo"), variants, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "rollouts-demo.tar")
	if err := writeImages(out, imgs); err != nil {
		t.Fatal(err)
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(out) })
	if err != nil || len(m) != 18 {
		t.Fatalf("archive has %d images (%v), want 18", len(m), err)
	}
	if ok, err := upToDate(out, refs, nil); !ok || err != nil {
		t.Errorf("upToDate(its own tags) = %v, %v", ok, err)
	}
	if ok, _ := upToDate(out, refs[:17], nil); ok {
		t.Error("an archive with a tag too many counted as up to date")
	}

	want := map[string][]string{
		"blue":        {"COLOR=blue", "ERROR_RATE=0", "LATENCY=0"},
		"bad-red":     {"COLOR=red", "ERROR_RATE=50", "LATENCY=0"},
		"slow-yellow": {"COLOR=yellow", "ERROR_RATE=0", "LATENCY=2"},
		"purple":      {"COLOR=purple", "ERROR_RATE=0", "LATENCY=0"},
	}
	var layers []string
	for tag, env := range want {
		ref, err := name.NewTag("argoproj/rollouts-demo:" + tag)
		if err != nil {
			t.Fatal(err)
		}
		img, err := tarball.ImageFromPath(out, &ref)
		if err != nil {
			t.Fatalf("%s: %v", tag, err)
		}
		cf := configOf(t, img)
		if !reflect.DeepEqual(cf.Config.Entrypoint, []string{"/rollouts-demo"}) || len(cf.Config.Cmd) != 0 {
			t.Errorf("%s: Entrypoint %q, Cmd %q; want [/rollouts-demo] and none", tag, cf.Config.Entrypoint, cf.Config.Cmd)
		}
		if _, ok := cf.Config.ExposedPorts["8080/tcp"]; !ok {
			t.Errorf("%s: ExposedPorts %v, want 8080/tcp", tag, cf.Config.ExposedPorts)
		}
		if got := slices.DeleteFunc(slices.Clone(cf.Config.Env), func(e string) bool { return strings.HasPrefix(e, "PATH=") }); !reflect.DeepEqual(got, env) {
			t.Errorf("%s: Env %q, want %q", tag, got, env)
		}
		if e := files(t, img)["rollouts-demo"]; e.hdr == nil || e.hdr.Mode != 0o755 || string(e.data) != "demo" {
			t.Errorf("%s: /rollouts-demo %+v", tag, e.hdr)
		}
		ls, err := img.Layers()
		if err != nil || len(ls) != 1 {
			t.Fatalf("%s: %d layers (%v), want 1", tag, len(ls), err)
		}
		d, _ := ls[0].Digest()
		layers = append(layers, d.String())
	}
	if len(slices.Compact(slices.Sorted(slices.Values(layers)))) != 1 {
		t.Errorf("layers %v: want one layer all tags share", layers)
	}
}

// TestRolloutsDemo builds the real image and checks the archive's tags.
func TestRolloutsDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the rollouts-demo binary")
	}
	out := t.TempDir()
	var stdout strings.Builder
	if err := run([]string{"-out", out, "-arch", "amd64", "rollouts-demo"}, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "wrote 18 images") || !strings.Contains(stdout.String(), "docker.io/argoproj/rollouts-demo:bad-red") {
		t.Errorf("output %q", stdout.String())
	}
	stdout.Reset()
	if err := run([]string{"-out", out, "-arch", "amd64", "rollouts-demo"}, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "is up to date") {
		t.Errorf("second run: %q, want the archive up to date", stdout.String())
	}
}

func TestRolloutsFixtureNames(t *testing.T) {
	for _, tc := range []struct{ names, want string }{
		{nginxNames, "docker.io/library/nginx:1.19-alpine"},
		{alpineNames, "docker.io/library/alpine:3.8"},
	} {
		if !slices.Contains(strings.Split(tc.names, ","), tc.want) {
			t.Errorf("%s is not among %s", tc.want, tc.names)
		}
	}
}
