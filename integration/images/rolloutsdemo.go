package main

import (
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// rolloutsDemoRepo is Argo Rollouts' demo app on Docker Hub.
const rolloutsDemoRepo = "docker.io/argoproj/rollouts-demo"

// rolloutsDemoColors are the colors it has tags for (its release.sh).
var rolloutsDemoColors = []string{"red", "orange", "yellow", "green", "blue", "purple"}

// The settings upstream bakes into its bad- and slow- images
// (build-multiarch.sh: ERROR_RATE 50 for bad-, LATENCY for slow-). Upstream
// sleeps LATENCY seconds; its script's 5000 would be over an hour, so slow-
// images here take release.sh's 2 s.
const (
	rolloutsDemoBadErrorRate = "50"
	rolloutsDemoSlowLatency  = "2"
)

// rolloutsDemoVariant is one tag of the demo app and the environment its
// image carries.
type rolloutsDemoVariant struct {
	tag                       name.Tag
	color, errorRate, latency string
}

// rolloutsDemoTags lists repo's tags: each color, bad-<color> (half the
// /color requests fail) and slow-<color> (each takes 2 s longer).
func rolloutsDemoTags(repo string) ([]name.Tag, []rolloutsDemoVariant, error) {
	var refs []name.Tag
	var vs []rolloutsDemoVariant
	for _, c := range rolloutsDemoColors {
		for _, v := range []rolloutsDemoVariant{
			{color: c, errorRate: "0", latency: "0"},
			{color: c, errorRate: rolloutsDemoBadErrorRate, latency: "0"},
			{color: c, errorRate: "0", latency: rolloutsDemoSlowLatency},
		} {
			tag := c
			switch {
			case v.errorRate != "0":
				tag = "bad-" + c
			case v.latency != "0":
				tag = "slow-" + c
			}
			t, err := name.NewTag(repo + ":" + tag)
			if err != nil {
				return nil, nil, fmt.Errorf("-rollouts-demo-repo: %w", err)
			}
			v.tag = t
			refs = append(refs, t)
			vs = append(vs, v)
		}
	}
	return refs, vs, nil
}

// rolloutsDemoImages stands in for argoproj/rollouts-demo: like upstream's
// (FROM scratch, the binary as /rollouts-demo, its entrypoint, on port
// 8080), one image per tag, all sharing the binary's layer, each with its
// COLOR, ERROR_RATE and LATENCY in its Env, so a Pod can still override
// them.
func rolloutsDemoImages(binary []byte, variants []rolloutsDemoVariant, arch string) (map[name.Tag]v1.Image, error) {
	layer := layerOf("rollouts-demo (integration/images/rolloutsdemo)", []entry{
		file("rollouts-demo", 0o755, binary),
		dir("tmp", 0o1777),
	})
	config := func(v rolloutsDemoVariant) v1.Config {
		return v1.Config{
			Entrypoint:   []string{"/rollouts-demo"},
			Env:          []string{defaultPath, "COLOR=" + v.color, "ERROR_RATE=" + v.errorRate, "LATENCY=" + v.latency},
			WorkingDir:   "/",
			ExposedPorts: map[string]struct{}{"8080/tcp": {}},
			Labels: map[string]string{
				"org.opencontainers.image.title":   "rollouts-demo",
				"org.opencontainers.image.version": v.tag.TagStr(),
				"org.opencontainers.image.source":  "https://github.com/argolite/argolite",
			},
		}
	}
	if len(variants) == 0 {
		return nil, errors.New("no rollouts-demo tags")
	}
	// The layer is compressed once; each tag gets its own config over it.
	base, err := buildImage(arch, config(variants[0]), layer)
	if err != nil {
		return nil, err
	}
	out := map[name.Tag]v1.Image{}
	for _, v := range variants {
		img, err := mutate.Config(base, config(v))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", v.tag, err)
		}
		out[v.tag] = img
	}
	return out, nil
}
