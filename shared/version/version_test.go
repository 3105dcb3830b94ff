package version

import "testing"

func TestImageTag(t *testing.T) {
	tests := map[string]string{
		"v0.1.0":                  "v0.1.0",
		"0a1b2c3-dirty":           "0a1b2c3-dirty",
		"v0.1.0-3-g0a1b2c3+dirty": "v0.1.0-3-g0a1b2c3-dirty",
		"feature/x":               "feature-x",
		"":                        "latest",
		"v1.0.0_rc.1":             "v1.0.0_rc.1",
	}
	for in, want := range tests {
		if got := ImageTag(in); got != want {
			t.Errorf("ImageTag(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAgentImageFollowsVersion(t *testing.T) {
	defer func(v, r string) { Version, ImageRepository = v, r }(Version, ImageRepository)
	Version, ImageRepository = "v1.2.3+meta", "registry.test/agent"
	if got := AgentImage(); got != "registry.test/agent:v1.2.3-meta" {
		t.Errorf("AgentImage() = %q", got)
	}
}
