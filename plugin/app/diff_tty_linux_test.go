//go:build linux

package app

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/plugin/clitest"
)

// openPTY returns a new pseudo-terminal's master and slave ends.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlocking the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Skipf("naming the pseudo-terminal: %v", err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("opening the pseudo-terminal: %v", err)
	}
	return master, slave
}

// TestDiffColour runs diff with stdout on a terminal: coloured, unless NO_COLOR.
func TestDiffColour(t *testing.T) {
	for _, noColor := range []bool{false, true} {
		t.Run(fmt.Sprintf("NO_COLOR=%v", noColor), func(t *testing.T) {
			t.Setenv("TERM", "xterm")
			t.Setenv("NO_COLOR", "1")
			if !noColor {
				if err := os.Unsetenv("NO_COLOR"); err != nil {
					t.Fatal(err)
				}
			}
			fake := &fakeCluster{
				live: objectsByID(mustObjects(t, strings.Replace(liveConfigMap, "greeting: hello", "greeting: hi", 1)+"---\n"+liveDeployment)),
				dryRunErr: map[string]error{"web_web_apps_Deployment": apierrors.NewInvalid(
					schema.GroupKind{Group: "apps", Kind: "Deployment"}, "web", nil)},
			}
			master, slave := openPTY(t)
			var buf bytes.Buffer
			done := make(chan struct{})
			go func() {
				_, _ = io.Copy(&buf, master)
				close(done)
			}()
			r := runDiff(t, clitest.NewClients(t, localApp()), fake, slave, "web", "--local", "testdata/local/plain")
			slave.Close()
			<-done
			checkExit(t, r.Err, exitDifferences)
			out := strings.ReplaceAll(buf.String(), "\r\n", "\n")
			plain := `--- live/v1/ConfigMap/web/web-config
+++ desired/v1/ConfigMap/web/web-config
@@ -1,6 +1,6 @@
 apiVersion: v1
 data:
-  greeting: hi
+  greeting: hello
 kind: ConfigMap
 metadata:
   labels:
--- live/apps/v1/Deployment/web/web
+++ desired/apps/v1/Deployment/web/web
# server-side dry-run failed: Deployment.apps "web" is invalid
`
			if noColor {
				if out != plain {
					t.Errorf("output with NO_COLOR:\n%q\nwant:\n%q", out, plain)
				}
				return
			}
			for _, s := range []string{
				"\x1b[1m--- live/v1/ConfigMap/web/web-config\x1b[0m\n",
				"\x1b[36m@@ -1,6 +1,6 @@\x1b[0m\n",
				"\x1b[31m-  greeting: hi\x1b[0m\n\x1b[32m+  greeting: hello\x1b[0m\n",
				"\x1b[1m+++ desired/apps/v1/Deployment/web/web\x1b[0m\n\x1b[31m# server-side dry-run failed: Deployment.apps \"web\" is invalid\x1b[0m\n",
			} {
				if !strings.Contains(out, s) {
					t.Errorf("coloured output:\n%q\nwant it to contain %q", out, s)
				}
			}
			if stripped := cli.StripColour(out); stripped != plain {
				t.Errorf("coloured output without its escapes:\n%s\nwant:\n%s", stripped, plain)
			}
		})
	}
}
