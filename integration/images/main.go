// Command images owns the container images of the local test cluster, built
// without Docker: busybox (from Debian's busybox-static), the sandbox image
// pause (the tiny Go program in ./pause), the argolite-agent image, and the
// stand-ins for the upstream images tests and Argo's examples name: alpine
// (Debian's dynamic busybox and glibc with Alpine's layout and release
// files), python (alpine plus Python from Debian's packages; all packages
// fetched with apt-get download into -deb-cache), nginx (busybox httpd
// serving nginx's default page on port 80), argoproj/argosay:v2 (the Go
// program in ./argosay over busybox) and argoproj/argosay:v1 (busybox and a
// cowsay script), and s3server, the S3 artifact store of
// the workflow tests (the Go program in ../s3server, built static like
// pause), and go-httpbin, the HTTP peer of Argo's HTTP artifact tests (the
// real github.com/mccutchen/go-httpbin, a tool in go.mod), and
// argoproj/rollouts-demo, Argo Rollouts' demo app (the Go program in
// ./rolloutsdemo, one image per color tag, each with its color, error rate
// and latency in its Env as upstream bakes them in). alpine (and so python) has Alpine's directory layout and, as
// /usr/bin/nc, the Go program in ./nc, built static like pause, for the
// busybox nc options Debian's busybox lacks (-lk, -s, -z, -v).
//
// Each is written as a docker-archive tarball carrying every name it stands
// in for as a repo tag (docker.io/library/alpine:latest, :3, :3.23, ...),
// and the older argolite.local/library names as aliases; up.sh pushes them
// to the cluster's registry (integration/mirror/push), which containerd
// pulls docker.io, ghcr.io and the other registries from. Layers are
// deterministic (sorted entries, fixed times, root-owned unless stated), so
// the same inputs give the same digest, and an archive newer than its inputs
// is not rebuilt.
//
//	go run ./integration/images -out DIR [flags] busybox|pause|alpine|python|nginx|argosay|argosay-v1|s3server|httpbin|rollouts-demo|agent...
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

type options struct {
	out   string
	arch  string
	force bool

	busyboxPath          string
	busyboxImage         string
	workflowBusyboxImage string
	alpineImage          string
	pythonImage          string
	nginxImage           string
	argosayImage         string
	argosayV1Image       string
	debCache             string

	argosayPkg string

	pausePkg   string
	pauseImage string

	ncPkg string

	s3serverPkg   string
	s3serverImage string
	httpbinImage  string

	rolloutsDemoPkg  string
	rolloutsDemoRepo string

	agentBinary  string
	agentImage   string
	agentVersion string
	caBundle     string
}

// target is one archive to write: where, under which tags, which files
// decide whether it is stale, and how to build its image (build), or its
// images, one per tag (images).
type target struct {
	file   string
	refs   []name.Tag
	inputs []string
	build  func() (v1.Image, error)
	images func() (map[name.Tag]v1.Image, error)
}

var imageNames = []string{"busybox", "pause", "alpine", "python", "nginx", "argosay", "argosay-v1", "s3server", "httpbin", "rollouts-demo", "agent"}

// The upstream names each stand-in is tagged with, so that a manifest naming
// any of them runs as written, and the argolite.local aliases older tests use.
const (
	busyboxNames = "docker.io/library/busybox:latest,docker.io/library/busybox:1,docker.io/library/busybox:1.36," +
		"docker.io/library/busybox:1.37,docker.io/library/busybox:stable"
	alpineNames = "docker.io/library/alpine:latest,docker.io/library/alpine:3,docker.io/library/alpine:3.23," +
		"docker.io/library/alpine:" + alpineRelease + ",argolite.local/library/alpine:3.23," +
		// Argo Rollouts' e2e fixtures (test/e2e/functional) run alpine:3.8.
		"docker.io/library/alpine:3.8"
	pythonNames = "docker.io/library/python:alpine,docker.io/library/python:alpine3.23,docker.io/library/python:3-alpine," +
		"docker.io/library/python:3-alpine3.23,argolite.local/library/python:alpine3.23"
	nginxNames = "docker.io/library/nginx:latest,docker.io/library/nginx:1,docker.io/library/nginx:1.25," +
		"docker.io/library/nginx:1.27,docker.io/library/nginx:stable,docker.io/library/nginx:alpine," +
		// Argo Rollouts' e2e fixtures (test/e2e/functional) run nginx:1.19-alpine.
		"docker.io/library/nginx:1.19-alpine"
	argosayNames = "docker.io/argoproj/argosay:v2"
	// argosayV1Names is argosay v1, which Argo's older e2e workflows still
	// run with a shell command line (or none, for cowsay).
	argosayV1Names = "docker.io/argoproj/argosay:v1"
	// httpbinNames is the go-httpbin image Argo Workflows' quick-start
	// (manifests/quick-start/base/httpbin) runs for its HTTP artifact tests.
	httpbinNames = "quay.io/holos/mccutchen/go-httpbin:v2.14.1"
	// httpbinPkg is go-httpbin itself, at the version that image holds (a
	// tool of this module, so go.mod fixes it).
	httpbinPkg = "github.com/mccutchen/go-httpbin/v2/cmd/go-httpbin"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "images:", err)
		}
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("images", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./integration/images -out DIR [flags] IMAGE...")
		fmt.Fprintln(stderr, "IMAGE is busybox, pause, alpine, python, nginx, argosay, argosay-v1, s3server, httpbin, rollouts-demo or agent (agent needs -agent-binary and -agent-image).")
		fmt.Fprintln(stderr, "An -...-image flag takes one reference or several, comma-separated: the archive carries them all.")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.out, "out", "", "directory to write the image tarballs to (required)")
	fs.StringVar(&o.arch, "arch", runtime.GOARCH, "image architecture; binaries must match it")
	fs.BoolVar(&o.force, "force", false, "rebuild even when an archive is up to date")
	fs.StringVar(&o.busyboxPath, "busybox-path", "/bin/busybox", "static busybox binary (Debian's busybox-static)")
	fs.StringVar(&o.busyboxImage, "busybox-image", busyboxNames, "busybox image references")
	fs.StringVar(&o.workflowBusyboxImage, "workflow-busybox-image", "argolite.local/library/busybox:1.36", "more busybox image references, the aliases workflow tests use (empty: none)")
	fs.StringVar(&o.alpineImage, "alpine-image", alpineNames, "alpine stand-in image references")
	fs.StringVar(&o.pythonImage, "python-image", pythonNames, "python stand-in image references")
	fs.StringVar(&o.nginxImage, "nginx-image", nginxNames, "nginx stand-in image references")
	fs.StringVar(&o.argosayImage, "argosay-image", argosayNames, "argosay stand-in image references")
	fs.StringVar(&o.argosayV1Image, "argosay-v1-image", argosayV1Names, "argosay v1 stand-in image references")
	fs.StringVar(&o.argosayPkg, "argosay-pkg", "github.com/argolite/argolite/integration/images/argosay", "Go package of the argosay binary")
	fs.StringVar(&o.debCache, "deb-cache", "", "directory of the .deb files the alpine and python images are built from (default: debs next to -out)")
	fs.StringVar(&o.ncPkg, "nc-pkg", "github.com/argolite/argolite/integration/images/nc", "Go package of the nc binary of the alpine and python images")
	fs.StringVar(&o.pausePkg, "pause-pkg", "github.com/argolite/argolite/integration/images/pause", "Go package of the pause binary")
	fs.StringVar(&o.pauseImage, "pause-image", "registry.k8s.io/pause:3.6", "sandbox image reference (containerd's sandbox_image)")
	fs.StringVar(&o.s3serverPkg, "s3server-pkg", "github.com/argolite/argolite/integration/s3server", "Go package of the s3server binary")
	fs.StringVar(&o.s3serverImage, "s3server-image", "argolite.local/library/s3server:v1", "S3 artifact store image reference")
	fs.StringVar(&o.httpbinImage, "httpbin-image", httpbinNames, "go-httpbin image references")
	fs.StringVar(&o.rolloutsDemoPkg, "rollouts-demo-pkg", "github.com/argolite/argolite/integration/images/rolloutsdemo", "Go package of the rollouts-demo binary")
	fs.StringVar(&o.rolloutsDemoRepo, "rollouts-demo-repo", rolloutsDemoRepo, "repository of the rollouts-demo images; tagged <color>, bad-<color> and slow-<color>")
	fs.StringVar(&o.agentBinary, "agent-binary", "", "static linux argolite-agent binary")
	fs.StringVar(&o.agentImage, "agent-image", "", "agent image reference, e.g. ghcr.io/argolite/argolite-agent:v0.1.0")
	fs.StringVar(&o.agentVersion, "agent-version", "", "version label of the agent image (default: the image tag)")
	fs.StringVar(&o.caBundle, "ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "CA bundle copied into the agent image (empty: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.out == "" {
		fs.Usage()
		return errors.New("-out DIR is required")
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("name at least one image: %v", imageNames)
	}
	if o.debCache == "" {
		o.debCache = filepath.Join(filepath.Dir(filepath.Clean(o.out)), "debs")
	}

	// Check every request before building anything.
	var targets []target
	seen := map[string]bool{}
	for _, n := range fs.Args() {
		if seen[n] {
			continue
		}
		seen[n] = true
		t, err := prepare(n, o, stdout)
		if err != nil {
			return err
		}
		targets = append(targets, t)
	}

	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	for _, t := range targets {
		out := filepath.Join(o.out, t.file)
		if !o.force {
			ok, err := upToDate(out, t.refs, t.inputs)
			if err != nil {
				return err
			}
			if ok {
				fmt.Fprintf(stdout, "%s: %s is up to date\n", out, strings.Join(repoTags(t.refs), ", "))
				continue
			}
		}
		if t.images != nil {
			imgs, err := t.images()
			if err != nil {
				return fmt.Errorf("%s: %w", t.file, err)
			}
			if err := writeImages(out, imgs); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s: wrote %d images, one per tag: %s (linux/%s)\n", out, len(imgs), strings.Join(repoTags(t.refs), ", "), o.arch)
			continue
		}
		img, err := t.build()
		if err != nil {
			return fmt.Errorf("%s: %w", t.file, err)
		}
		if err := writeImage(out, img, t.refs...); err != nil {
			return err
		}
		id, err := img.ConfigName() // the image ID crictl and ctr show
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: wrote %s (image id %s, linux/%s)\n", out, strings.Join(repoTags(t.refs), ", "), id, o.arch)
	}
	return nil
}

// parseTags parses image references given by flags, as pairs of flag name
// and value; a value is one reference or several, comma-separated. A value
// may be empty only for a flag in optional.
func parseTags(optional map[string]bool, pairs ...string) ([]name.Tag, error) {
	var out []name.Tag
	for i := 0; i+1 < len(pairs); i += 2 {
		flagName, refs := pairs[i], pairs[i+1]
		if refs == "" && optional[flagName] {
			continue
		}
		for _, ref := range strings.Split(refs, ",") {
			t, err := name.NewTag(strings.TrimSpace(ref))
			if err != nil {
				return nil, fmt.Errorf("-%s: %w", flagName, err)
			}
			out = append(out, t)
		}
	}
	return out, nil
}

// busyboxInput checks the static busybox binary images are made from and
// returns how to read it and its applet list.
// busyboxTarget is image n built over Debian's busybox by recipe; inputs
// beyond the busybox binary decide, with it, when the image is rebuilt.
func busyboxTarget(n string, refs []name.Tag, o options, inputs []string,
	recipe func(binary []byte, applets []string, arch string) (v1.Image, error)) (target, error) {
	busybox, err := busyboxInput(o)
	if err != nil {
		return target{}, err
	}
	return target{file: n + ".tar", refs: refs, inputs: append(inputs, o.busyboxPath), build: func() (v1.Image, error) {
		bin, applets, err := busybox()
		if err != nil {
			return nil, err
		}
		return recipe(bin, applets, o.arch)
	}}, nil
}

func busyboxInput(o options) (func() ([]byte, []string, error), error) {
	if _, err := os.Stat(o.busyboxPath); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s not found: apt-get install busybox-static (or pass -busybox-path)", o.busyboxPath)
	}
	if err := checkStaticELF(o.busyboxPath, o.arch); err != nil {
		return nil, fmt.Errorf("%w (Debian's busybox package is dynamic: apt-get install busybox-static)", err)
	}
	return func() ([]byte, []string, error) {
		bin, err := os.ReadFile(o.busyboxPath)
		if err != nil {
			return nil, nil, err
		}
		applets, err := busyboxApplets(o.busyboxPath)
		if err != nil {
			return nil, nil, err
		}
		return bin, applets, nil
	}, nil
}

// alpineInput checks the inputs of the alpine layer (alpinePackages'
// .deb files, fetched into the cache when missing, and the nc package) and
// returns the files its staleness depends on and how to read and build
// them. nc is built at most once per run, for alpine and python.
func alpineInput(o options, log io.Writer) ([]string, func() (alpineFiles, error), error) {
	arch, err := debArch(o.arch)
	if err != nil {
		return nil, nil, err
	}
	debs, err := fetchDebs(o.debCache, arch, alpinePackages, log)
	if err != nil {
		return nil, nil, err
	}
	srcs, err := goSources(o.ncPkg, o.arch)
	if err != nil {
		return nil, nil, err
	}
	return append(debs, srcs...), func() (alpineFiles, error) {
		d, err := readDebs(debs)
		if err != nil {
			return alpineFiles{}, err
		}
		f := alpineFiles{packages: d.packages}
		for _, e := range d.entries {
			if e.Path == "bin/busybox" {
				f.busybox = e.Data
				continue
			}
			f.libs = append(f.libs, e)
		}
		if f.busybox == nil {
			return alpineFiles{}, fmt.Errorf("no bin/busybox in %v", debs)
		}
		if f.applets, err = debBusyboxApplets(f.busybox); err != nil {
			return alpineFiles{}, err
		}
		if f.nc, err = buildGoBinaryOnce(o.ncPkg, o.arch, "nc"); err != nil {
			return alpineFiles{}, err
		}
		return f, nil
	}, nil
}

// debBusyboxApplets runs the dynamic busybox binary (on this host, with its
// C library) to list its applets.
func debBusyboxApplets(binary []byte) ([]string, error) {
	tmp, err := os.MkdirTemp("", "argolite-busybox-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	p := filepath.Join(tmp, "busybox")
	if err := os.WriteFile(p, binary, 0o755); err != nil {
		return nil, err
	}
	return busyboxApplets(p)
}

// prepare checks the inputs of image n (fetching the python image's .deb
// files when the cache lacks them) and returns how to build it.
func prepare(n string, o options, log io.Writer) (target, error) {
	switch n {
	case "busybox":
		refs, err := parseTags(map[string]bool{"workflow-busybox-image": true},
			"busybox-image", o.busyboxImage, "workflow-busybox-image", o.workflowBusyboxImage)
		if err != nil {
			return target{}, err
		}
		return busyboxTarget(n, refs, o, nil, busyboxImage)

	case "alpine":
		refs, err := parseTags(nil, "alpine-image", o.alpineImage)
		if err != nil {
			return target{}, err
		}
		inputs, alpine, err := alpineInput(o, log)
		if err != nil {
			return target{}, err
		}
		return target{file: n + ".tar", refs: refs, inputs: inputs, build: func() (v1.Image, error) {
			f, err := alpine()
			if err != nil {
				return nil, err
			}
			return alpineImage(f, o.arch)
		}}, nil

	case "python":
		refs, err := parseTags(nil, "python-image", o.pythonImage)
		if err != nil {
			return target{}, err
		}
		inputs, alpine, err := alpineInput(o, log)
		if err != nil {
			return target{}, err
		}
		arch, err := debArch(o.arch)
		if err != nil {
			return target{}, err
		}
		debs, err := fetchDebs(o.debCache, arch, pythonPackages, log)
		if err != nil {
			return target{}, err
		}
		return target{file: "python.tar", refs: refs, inputs: append(inputs, debs...), build: func() (v1.Image, error) {
			f, err := alpine()
			if err != nil {
				return nil, err
			}
			base, err := alpineLayer(f)
			if err != nil {
				return nil, err
			}
			py, err := readPythonLayer(debs, base.entries)
			if err != nil {
				return nil, err
			}
			return pythonImage(base, py, o.arch)
		}}, nil

	case "nginx":
		refs, err := parseTags(nil, "nginx-image", o.nginxImage)
		if err != nil {
			return target{}, err
		}
		return busyboxTarget(n, refs, o, nil, nginxImage)

	case "argosay":
		refs, err := parseTags(nil, "argosay-image", o.argosayImage)
		if err != nil {
			return target{}, err
		}
		srcs, err := goSources(o.argosayPkg, o.arch)
		if err != nil {
			return target{}, err
		}
		return busyboxTarget(n, refs, o, srcs, func(bin []byte, applets []string, arch string) (v1.Image, error) {
			argosay, err := buildGoBinary(o.argosayPkg, arch, "argosay")
			if err != nil {
				return nil, err
			}
			return argosayImage(bin, applets, argosay, arch)
		})

	case "argosay-v1":
		refs, err := parseTags(nil, "argosay-v1-image", o.argosayV1Image)
		if err != nil {
			return target{}, err
		}
		return busyboxTarget(n, refs, o, nil, argosayV1Image)

	case "pause":
		refs, err := parseTags(nil, "pause-image", o.pauseImage)
		if err != nil {
			return target{}, err
		}
		srcs, err := goSources(o.pausePkg, o.arch)
		if err != nil {
			return target{}, err
		}
		return target{file: "pause.tar", refs: refs, inputs: srcs, build: func() (v1.Image, error) {
			tmp, err := os.MkdirTemp("", "argolite-pause-")
			if err != nil {
				return nil, err
			}
			defer os.RemoveAll(tmp)
			p, err := buildPause(o.pausePkg, o.arch, tmp)
			if err != nil {
				return nil, err
			}
			bin, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			return pauseImage(bin, o.arch)
		}}, nil

	case "s3server":
		refs, err := parseTags(nil, "s3server-image", o.s3serverImage)
		if err != nil {
			return target{}, err
		}
		inputs, err := goBuildInputs(o.s3serverPkg, o.arch)
		if err != nil {
			return target{}, err
		}
		return target{file: "s3server.tar", refs: refs, inputs: inputs, build: func() (v1.Image, error) {
			bin, err := buildGoBinary(o.s3serverPkg, o.arch, "s3server")
			if err != nil {
				return nil, err
			}
			return s3serverImage(bin, refs[0].TagStr(), o.arch)
		}}, nil

	case "httpbin":
		refs, err := parseTags(nil, "httpbin-image", o.httpbinImage)
		if err != nil {
			return target{}, err
		}
		inputs, err := goBuildInputs(httpbinPkg, o.arch)
		if err != nil {
			return target{}, err
		}
		return target{file: "httpbin.tar", refs: refs, inputs: inputs, build: func() (v1.Image, error) {
			bin, err := buildGoBinary(httpbinPkg, o.arch, "go-httpbin")
			if err != nil {
				return nil, err
			}
			return httpbinImage(bin, refs[0].TagStr(), o.arch)
		}}, nil

	case "rollouts-demo":
		refs, variants, err := rolloutsDemoTags(o.rolloutsDemoRepo)
		if err != nil {
			return target{}, err
		}
		inputs, err := goBuildInputs(o.rolloutsDemoPkg, o.arch)
		if err != nil {
			return target{}, err
		}
		return target{file: "rollouts-demo.tar", refs: refs, inputs: inputs, images: func() (map[name.Tag]v1.Image, error) {
			bin, err := buildGoBinary(o.rolloutsDemoPkg, o.arch, "rollouts-demo")
			if err != nil {
				return nil, err
			}
			return rolloutsDemoImages(bin, variants, o.arch)
		}}, nil

	case "agent":
		if o.agentBinary == "" || o.agentImage == "" {
			return target{}, errors.New("agent needs -agent-binary PATH (a static linux binary) and -agent-image REF")
		}
		refs, err := parseTags(nil, "agent-image", o.agentImage)
		if err != nil {
			return target{}, err
		}
		ref := refs[0]
		if _, err := os.Stat(o.agentBinary); errors.Is(err, os.ErrNotExist) {
			return target{}, fmt.Errorf("%s not found: build it with CGO_ENABLED=0 GOOS=linux GOARCH=%s go build -o %s ./agent (make image does)", o.agentBinary, o.arch, o.agentBinary)
		}
		if err := checkStaticELF(o.agentBinary, o.arch); err != nil {
			return target{}, err
		}
		inputs := []string{o.agentBinary}
		if o.caBundle != "" {
			if _, err := os.Stat(o.caBundle); err != nil {
				return target{}, fmt.Errorf("CA bundle %s: %w: apt-get install ca-certificates, or pass -ca-bundle '' for an image that cannot verify TLS", o.caBundle, err)
			}
			inputs = append(inputs, o.caBundle)
		}
		version := o.agentVersion
		if version == "" {
			version = ref.TagStr()
		}
		return target{file: "argolite-agent.tar", refs: refs, inputs: inputs, build: func() (v1.Image, error) {
			bin, err := os.ReadFile(o.agentBinary)
			if err != nil {
				return nil, err
			}
			var ca []byte
			if o.caBundle != "" {
				if ca, err = os.ReadFile(o.caBundle); err != nil {
					return nil, err
				}
			}
			return agentImage(bin, ca, version, o.arch)
		}}, nil
	}
	return target{}, fmt.Errorf("unknown image %q: choose from %v", n, imageNames)
}
