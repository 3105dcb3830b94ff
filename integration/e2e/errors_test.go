package e2e

import (
	"strings"
	"testing"
)

// TestPluginErrorsNameTheFix checks the messages people meet first: no
// permission, no reachable cluster, no kubeconfig at all.
func TestPluginErrorsNameTheFix(t *testing.T) {
	needCluster(t)
	t.Parallel() // needs only the cluster
	tests := []struct {
		name string
		args []string
		env  []string
		want []string
	}{
		{
			name: "install without cluster-admin",
			args: []string{"install", "--as", "someone", "--image", e2e.image},
			want: []string{"permission denied", "cluster-admin"},
		},
		{
			name: "status without read access",
			args: []string{"status", "--as", "someone"},
			want: []string{"permission denied"},
		},
		{
			name: "no cluster at the address",
			args: []string{"status", "--server", "https://127.0.0.1:1", "--insecure-skip-tls-verify"},
			want: []string{"127.0.0.1:1", "KUBECONFIG"},
		},
		{
			name: "no kubeconfig",
			args: []string{"status"},
			env:  []string{"KUBECONFIG=/nonexistent/kubeconfig", "HOME=/nonexistent"},
			want: []string{"kubeconfig"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.env, e2e.binDir+"/kubectl-argo", tt.args...)
			if r.code == 0 {
				t.Fatalf("exit 0, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if strings.Count(strings.TrimSpace(r.stderr), "\n") > 3 {
				t.Errorf("the error should be short, got:\n%s", r.stderr)
			}
		})
	}
}
