package boot

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseRoles(t *testing.T) {
	tests := []struct {
		spec    string
		want    []string
		wantErr string
	}{
		{spec: "all", want: []string{"gitops", "workflow", "rollout", "events", "notify"}},
		{spec: "all,-events", want: []string{"gitops", "workflow", "rollout", "notify"}},
		{spec: "workflow, gitops", want: []string{"gitops", "workflow"}},
		{spec: "gitops,-gitops,notify", want: []string{"notify"}},
		{spec: "gitop", wantErr: `unknown role "gitop"`},
		{spec: "all,-all", wantErr: "switches every role off"},
		{spec: "", wantErr: "switches every role off"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := ParseRoles(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseRoles(%q) error = %v, want it to contain %q", tt.spec, err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("ParseRoles(%q) = %v, %v; want %v", tt.spec, got, err, tt.want)
			}
		})
	}
}

func TestOptionsFlagsAndEnvironment(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(t *testing.T, o Options)
		wantErr string
	}{
		{
			name: "defaults",
			check: func(t *testing.T, o Options) {
				if o.Roles != "all" || !o.LeaderElect || o.KubeAPIQPS >= 0 || o.MetricsAddr != ":8080" || o.MaxWorkflowSize != 1<<20 {
					t.Errorf("unexpected defaults: %+v", o)
				}
			},
		},
		{
			name: "environment fills unset flags",
			env:  map[string]string{"ARGOLITE_ROLES": "gitops", "ARGOLITE_LEADER_ELECT": "false", "ARGOLITE_LEADER_ELECTION_LEASE_DURATION": "30s"},
			check: func(t *testing.T, o Options) {
				if o.Roles != "gitops" || o.LeaderElect || o.LeaseDuration != 30*time.Second {
					t.Errorf("environment not applied: %+v", o)
				}
			},
		},
		{
			name: "flags win over the environment",
			args: []string{"--roles=workflow"},
			env:  map[string]string{"ARGOLITE_ROLES": "gitops"},
			check: func(t *testing.T, o Options) {
				if o.Roles != "workflow" {
					t.Errorf("roles = %q, want the flag's workflow", o.Roles)
				}
			},
		},
		{
			name: "max workflow size",
			env:  map[string]string{"ARGOLITE_MAX_WORKFLOW_SIZE": "2097152"},
			check: func(t *testing.T, o Options) {
				if o.MaxWorkflowSize != 2<<20 {
					t.Errorf("max workflow size = %d, want the environment's 2097152", o.MaxWorkflowSize)
				}
			},
		},
		{name: "max workflow size not positive", args: []string{"--max-workflow-size=0"}, wantErr: "--max-workflow-size 0"},
		{name: "bad environment value", env: map[string]string{"ARGOLITE_LEADER_ELECT": "maybe"}, wantErr: "ARGOLITE_LEADER_ELECT"},
		{name: "unknown role", args: []string{"--roles=gitops,rollouts"}, wantErr: `--roles: unknown role "rollouts"`},
		{name: "bad log level", args: []string{"--log-level=trace"}, wantErr: "--log-level"},
		{name: "renew deadline too long", args: []string{"--leader-election-renew-deadline=20s"}, wantErr: "must be shorter"},
		{name: "stray argument", args: []string{"run"}, wantErr: "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o Options
			err := o.parse(tt.args, func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, o)
		})
	}
}

func TestEnvName(t *testing.T) {
	if got := EnvName("leader-election-namespace"); got != "ARGOLITE_LEADER_ELECTION_NAMESPACE" {
		t.Errorf("EnvName = %q", got)
	}
}
