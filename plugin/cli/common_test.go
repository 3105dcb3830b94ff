package cli

import (
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func TestCommonComplete(t *testing.T) {
	path := writeKubeconfig(t, `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: ctx, context: {cluster: c, user: u, namespace: team}}]
current-context: ctx
`)
	tests := []struct {
		name         string
		namespace    string
		wantNS       string
		wantExplicit bool
		// wantNSFlag is NSFlag for an object of namespace team.
		wantNSFlag string
	}{
		{name: "the context's namespace", wantNS: "team"},
		{name: "-n", namespace: "ops", wantNS: "ops", wantExplicit: true, wantNSFlag: " -n team"},
		{name: "-n the context's", namespace: "team", wantNS: "team", wantExplicit: true, wantNSFlag: " -n team"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flags := configFlags(t, path, "")
			if tt.namespace != "" {
				flags.Namespace = &tt.namespace
			}
			c := NewCommon(flags, genericiooptions.NewTestIOStreamsDiscard())
			if err := c.Complete(); err != nil {
				t.Fatal(err)
			}
			if c.Namespace != tt.wantNS || c.ExplicitNamespace != tt.wantExplicit {
				t.Errorf("Namespace, ExplicitNamespace = %q, %v; want %q, %v", c.Namespace, c.ExplicitNamespace, tt.wantNS, tt.wantExplicit)
			}
			if got := c.NSFlag("team"); got != tt.wantNSFlag {
				t.Errorf("NSFlag(team) = %q, want %q", got, tt.wantNSFlag)
			}
			if c.Clients == nil || c.Now == nil || c.Interval != PollInterval {
				t.Errorf("Complete left clients, clock or interval unset: %+v", c)
			}
		})
	}
}

func TestEach(t *testing.T) {
	built := 0
	build := func() Common { built++; return Common{Namespace: "team"} }
	if c := Each(build, nil)(); c.Namespace != "team" {
		t.Errorf("without setup: %+v", c)
	}
	common := Each(build, func(c *Common) { c.Namespace = "test" })
	a, b := common(), common()
	if a.Namespace != "test" || b.Namespace != "test" || built != 3 {
		t.Errorf("with setup: %+v, %+v after %d builds; want each built afresh and set up", a, b, built)
	}
}
