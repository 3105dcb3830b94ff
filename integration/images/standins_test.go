package main

import (
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
	for flagName, refs := range map[string]string{"busybox": busyboxNames, "alpine": alpineNames, "python": pythonNames, "nginx": nginxNames, "argosay": argosayNames} {
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
