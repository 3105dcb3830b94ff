package main

import (
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

func TestNginxImage(t *testing.T) {
	img, err := nginxImage([]byte("busybox"), []string{"bin/sh", "usr/sbin/httpd"}, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	cf := configOf(t, img)
	if !reflect.DeepEqual(cf.Config.Entrypoint, []string{"/docker-entrypoint.sh"}) ||
		!reflect.DeepEqual(cf.Config.Cmd, []string{"nginx", "-g", "daemon off;"}) {
		t.Errorf("Entrypoint %q, Cmd %q: want nginx's", cf.Config.Entrypoint, cf.Config.Cmd)
	}
	if _, ok := cf.Config.ExposedPorts["80/tcp"]; !ok || cf.Config.StopSignal != "SIGQUIT" {
		t.Errorf("ExposedPorts %v, StopSignal %q: want 80/tcp and SIGQUIT", cf.Config.ExposedPorts, cf.Config.StopSignal)
	}
	fs := files(t, img)
	if !strings.Contains(string(fs[nginxRoot+"/index.html"].data), "Welcome to nginx!") {
		t.Error("no default index page")
	}
	for _, p := range []string{"usr/sbin/nginx", "docker-entrypoint.sh"} {
		if fs[p].hdr == nil || fs[p].hdr.Mode&0o111 == 0 {
			t.Errorf("/%s missing or not executable", p)
		}
	}
	if !strings.Contains(string(fs["usr/sbin/nginx"].data), "exec httpd -f -v -p 80 -h /"+nginxRoot) {
		t.Errorf("nginx does not run httpd on port 80:\n%s", fs["usr/sbin/nginx"].data)
	}
	if fs["usr/sbin/httpd"].hdr == nil || fs["usr/sbin/httpd"].hdr.Linkname != "/bin/busybox" {
		t.Error("the busybox httpd applet is missing")
	}
}

func TestArgosayImage(t *testing.T) {
	img, err := argosayImage([]byte("busybox"), []string{"bin/sh"}, []byte("argosay"), "amd64")
	if err != nil {
		t.Fatal(err)
	}
	cf := configOf(t, img)
	// Argo's workflows give argosay only args: the entrypoint must run it, and
	// no command may come before those args.
	if !reflect.DeepEqual(cf.Config.Entrypoint, []string{"/argosay"}) || len(cf.Config.Cmd) != 0 {
		t.Errorf("Entrypoint %q, Cmd %q: want [/argosay] and none", cf.Config.Entrypoint, cf.Config.Cmd)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 2 {
		t.Fatalf("%d layers (%v), want the busybox userland and argosay", len(layers), err)
	}
	fs := files(t, img)
	if string(fs["argosay"].data) != "argosay" || fs["bin/sh"].hdr == nil {
		t.Error("want /argosay over the busybox userland")
	}
}

func TestUpstreamNames(t *testing.T) {
	for flagName, refs := range map[string]string{"busybox": busyboxNames, "alpine": alpineNames, "python": pythonNames, "nginx": nginxNames, "argosay": argosayNames, "argosay-v1": argosayV1Names} {
		tags, err := parseTags(nil, flagName, refs)
		if err != nil {
			t.Errorf("%s: %v", flagName, err)
			continue
		}
		for _, tag := range tags {
			if reg := tag.RegistryStr(); reg != "index.docker.io" && reg != "argolite.local" {
				t.Errorf("%s: %s is on %s, want Docker Hub or the argolite.local alias", flagName, tag, reg)
			}
		}
	}
	if tags, _ := parseTags(nil, "nginx-image", nginxNames); len(tags) < 2 {
		t.Errorf("nginx names %v: want several tags", tags)
	}
	if _, err := parseTags(nil, "alpine-image", "alpine:3,,x"); err == nil {
		t.Error("an empty reference in a list was taken")
	}
}

func TestArgosayV1Image(t *testing.T) {
	img, err := argosayV1Image([]byte("busybox"), []string{"bin/sh"}, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	cf := configOf(t, img)
	// Argo's v1 is CMD ["cowsay"] with /usr/games on PATH and no entrypoint,
	// so "command: [sh, -c]" replaces cowsay and a bare container runs it.
	if len(cf.Config.Entrypoint) != 0 || !reflect.DeepEqual(cf.Config.Cmd, []string{"cowsay"}) {
		t.Errorf("Entrypoint %q, Cmd %q: want none and [cowsay]", cf.Config.Entrypoint, cf.Config.Cmd)
	}
	if !strings.Contains(strings.Join(cf.Config.Env, " "), ":/usr/games") {
		t.Errorf("Env %q: want /usr/games on PATH", cf.Config.Env)
	}
	fs := files(t, img)
	if fs["usr/games/cowsay"].hdr == nil || fs["usr/games/cowsay"].hdr.Mode&0o111 == 0 || fs["bin/sh"].hdr == nil {
		t.Error("want an executable /usr/games/cowsay over the busybox userland")
	}
}

// TestCowsayScript runs the cowsay stand-in with this machine's busybox, as
// the image does.
func TestCowsayScript(t *testing.T) {
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("no /bin/busybox: apt-get install busybox-static")
	}
	for _, tc := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"hello", "world"}, "", " _____________\n< hello world >\n -------------\n"},
		{nil, "one\nthree\n", " _______\n/ one   \\\n\\ three /\n -------\n"},
	} {
		cmd := exec.Command("/bin/busybox", append([]string{"sh", "-c", cowsayScript, "cowsay"}, tc.args...)...)
		cmd.Stdin = strings.NewReader(tc.stdin)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("cowsay %q: %v", tc.args, err)
		}
		if !strings.HasPrefix(string(out), tc.want) || !strings.Contains(string(out), "(oo)") {
			t.Errorf("cowsay %q printed\n%s\nwant it to begin with\n%s", tc.args, out, tc.want)
		}
	}
}
