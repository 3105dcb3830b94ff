package main

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// nginxRoot is where the nginx image keeps its pages, as nginx's does.
const nginxRoot = "usr/share/nginx/html"

// nginxIndex is the default page, so a probe or a client checking for
// nginx's "Welcome to nginx!" sees what it expects.
const nginxIndex = `<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the web server is successfully installed and
working. (argolite's nginx stand-in: busybox httpd.)</p>
</body>
</html>
`

// nginxScript is /usr/sbin/nginx: the usual command lines (the image's own
// "nginx -g 'daemon off;'", "nginx -v", "nginx -t") answered by busybox httpd
// serving nginxRoot on port 80 in the foreground, its log on stderr.
const nginxScript = `#!/bin/sh
# nginx stand-in of the argolite test bed: busybox httpd on port 80.
for arg in "$@"; do
  case "$arg" in
    -v|-V) echo "nginx version: nginx/1.25 (argolite stand-in: busybox httpd)" >&2; exit 0 ;;
    -t|-T) echo "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok" >&2; exit 0 ;;
    -s) echo "nginx: -s is not supported by the stand-in" >&2; exit 1 ;;
  esac
done
exec httpd -f -v -p 80 -h /` + nginxRoot + "\n"

// nginxEntrypoint is /docker-entrypoint.sh, which in nginx's image runs the
// scripts of /docker-entrypoint.d and then the command.
const nginxEntrypoint = `#!/bin/sh
set -e
for f in /docker-entrypoint.d/*.sh; do
  [ -x "$f" ] && "$f"
done
exec "$@"
`

// nginxImage stands in for nginx (nginx:latest, :1.25, ...): the busybox
// userland plus an nginx command that runs busybox httpd on port 80 with a
// default index page. Entrypoint, command, port and stop signal are
// nginx's, so a manifest that runs nginx as written serves HTTP.
func nginxImage(binary []byte, applets []string, arch string) (v1.Image, error) {
	entries := append(busyboxEntries(binary, applets),
		file("usr/sbin/nginx", 0o755, []byte(nginxScript)),
		file("docker-entrypoint.sh", 0o755, []byte(nginxEntrypoint)),
		dir("docker-entrypoint.d", 0o755),
		file(nginxRoot+"/index.html", 0o644, []byte(nginxIndex)),
		file(nginxRoot+"/50x.html", 0o644, []byte("<!DOCTYPE html>\n<html><head><title>Error</title></head><body><h1>An error occurred.</h1></body></html>\n")),
		dir("etc/nginx/conf.d", 0o755),
		dir("var/cache/nginx", 0o755),
		dir("var/log/nginx", 0o755),
	)
	return buildImage(arch, v1.Config{
		Entrypoint:   []string{"/docker-entrypoint.sh"},
		Cmd:          []string{"nginx", "-g", "daemon off;"},
		Env:          []string{defaultPath},
		ExposedPorts: map[string]struct{}{"80/tcp": {}},
		StopSignal:   "SIGQUIT",
	}, layerOf("nginx stand-in: busybox httpd from Debian's busybox-static", entries))
}

// argosayImage stands in for argoproj/argosay:v2, the image of Argo
// Workflows' e2e suite: like Argo's (argosay v1's userland, then the argosay
// script as /argosay), the busybox userland and then ./argosay as /argosay,
// the entrypoint, with no command, so a step that gives only args runs
// argosay with them.
func argosayImage(busybox []byte, applets []string, argosay []byte, arch string) (v1.Image, error) {
	return buildImage(arch, v1.Config{
		Entrypoint: []string{"/argosay"},
		Env:        []string{defaultPath + ":/usr/games"},
	},
		layerOf("busybox from Debian's busybox-static", busyboxEntries(busybox, applets)),
		layerOf("argosay (integration/images/argosay)", []entry{file("argosay", 0o755, argosay)}),
	)
}

// cowsayScript is /usr/games/cowsay: cowsay's bubble and cow around its
// arguments, or its standard input when it has none, as cowsay prints them.
const cowsayScript = `#!/bin/sh
# cowsay stand-in of the argolite test bed.
if [ $# -gt 0 ]; then msg="$*"; else msg=$(cat); fi
printf '%s\n' "$msg" | awk '
{ lines[NR] = $0; if (length($0) > w) w = length($0) }
END {
  if (NR == 0) { lines[1] = ""; NR = 1 }
  top = " "; bottom = " "
  for (i = 0; i < w + 2; i++) { top = top "_"; bottom = bottom "-" }
  print top
  for (i = 1; i <= NR; i++) {
    if (NR == 1) { l = "<"; r = ">" } else if (i == 1) { l = "/"; r = "\\" } else if (i == NR) { l = "\\"; r = "/" } else { l = "|"; r = "|" }
    printf "%s %-" w "s %s\n", l, lines[i], r
  }
  print bottom
}'
cat <<'COW'
        \   ^__^
         \  (oo)\_______
            (__)\       )\/\
                ||----w |
                ||     ||
COW
`

// argosayV1Image stands in for argoproj/argosay:v1 (Argo's
// test/e2e/images/argosay/v1: Ubuntu with cowsay in /usr/games and
// CMD ["cowsay"]): the busybox userland and a cowsay script, with the same
// PATH and command, so its workflows' "sh -c" lines and a bare container
// both run as written.
func argosayV1Image(busybox []byte, applets []string, arch string) (v1.Image, error) {
	entries := append(busyboxEntries(busybox, applets), file("usr/games/cowsay", 0o755, []byte(cowsayScript)))
	return buildImage(arch, v1.Config{
		Cmd: []string{"cowsay"},
		Env: []string{defaultPath + ":/usr/games"},
	}, layerOf("argosay v1 stand-in: busybox from Debian's busybox-static and a cowsay script", entries))
}
