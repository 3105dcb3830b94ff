package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKrewInstall installs the plugin the way users do, with krew v0.4.3 and
// the manifest and archive that make dist-e2e produced, then runs it through kubectl.
func TestKrewInstall(t *testing.T) {
	needCluster(t)
	t.Parallel() // needs only the cluster
	manifest := filepath.Join(e2e.repoRoot, "krew", "argo.yaml")
	archive := filepath.Join(e2e.distDir, "kubectl-argo_linux_amd64.tar.gz")
	krew := filepath.Join(e2e.binDir, "krew")
	for _, f := range []string{manifest, archive, krew} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("%s missing (%v): make test-e2e builds it with make dist-e2e and make krew-tools", f, err)
		}
	}
	// kubectl finds plugins on PATH: krew itself as kubectl-krew, and what it installs in $KREW_ROOT/bin.
	krewRoot := t.TempDir()
	pathDir := t.TempDir()
	if err := os.Symlink(krew, filepath.Join(pathDir, "kubectl-krew")); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"KREW_ROOT=" + krewRoot,
		"PATH=" + strings.Join([]string{filepath.Join(krewRoot, "bin"), pathDir, e2e.k8sBin, "/usr/sbin:/usr/bin:/sbin:/bin"}, string(os.PathListSeparator)),
		"HOME=" + t.TempDir(),
	}
	kubectl := filepath.Join(e2e.k8sBin, "kubectl")

	r := run(t, env, kubectl, "krew", "install", "--manifest="+manifest, "--archive="+archive)
	if r.code != 0 {
		t.Fatalf("kubectl krew install exited %d:\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(krewRoot, "bin", "kubectl-argo")); err != nil {
		t.Fatalf("krew did not link kubectl-argo into $KREW_ROOT/bin: %v", err)
	}
	v := run(t, env, kubectl, "argo", "version", "--client")
	if v.code != 0 {
		t.Fatalf("kubectl argo version --client exited %d: %s", v.code, v.stderr)
	}
	direct := argo(t, "version", "--client")
	if firstLine(v.stdout) == "" || firstLine(v.stdout) != firstLine(direct.stdout) {
		t.Errorf("the krew-installed plugin reports %q, the built one %q", firstLine(v.stdout), firstLine(direct.stdout))
	}
	// krew records what it installed in a receipt (krew list and uninstall
	// need the online index, which the test machine cannot fetch).
	if _, err := os.Stat(filepath.Join(krewRoot, "receipts", "argo.yaml")); err != nil {
		t.Errorf("krew wrote no receipt for argo: %v", err)
	}
}
