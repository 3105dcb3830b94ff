// Package version owns the build identity both binaries report: the release
// version, the commit, and the agent image that belongs to this build.
package version

import (
	"fmt"
	"runtime"
	"strings"
)

// Set by the Makefile with -ldflags "-X github.com/argolite/argolite/shared/version.Version=...".
var (
	// Version is the release version, such as v0.1.0, or a git describe for dev builds.
	Version = "dev"
	// Commit is the git commit the binary was built from.
	Commit = "unknown"
	// ImageRepository is where the agent image of this build is published.
	ImageRepository = "ghcr.io/argolite/argolite-agent"
)

// Info is the build identity in a form printers can render.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns this binary's build identity.
func Get() Info {
	return Info{
		Version:   Version,
		Commit:    Commit,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
}

// AgentImage is the agent image reference that matches this build.
func AgentImage() string {
	return ImageRepository + ":" + ImageTag(Version)
}

// ImageTag turns a version into a valid image tag: tags allow only
// [A-Za-z0-9_.-], so build metadata such as "+dirty" becomes "-dirty".
func ImageTag(v string) string {
	var b strings.Builder
	for _, r := range v {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteRune('-')
		}
	}
	if b.Len() == 0 {
		return "latest"
	}
	return b.String()
}

func (i Info) String() string {
	return fmt.Sprintf("%s (commit %s, %s, %s)", i.Version, i.Commit, i.GoVersion, i.Platform)
}
