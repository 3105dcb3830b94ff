#!/usr/bin/env bash
# Builds Traefik, the local cluster's Gateway API data plane, from the Go
# module proxy (the tool module traefik/, whose go.mod fixes the version) into
# bin/traefik-<version> unless it is there, and prints its path. About 5
# minutes cold on 2 cores (docs/benchmarks.md); later runs reuse the binary.
set -euo pipefail
source "$(dirname "$0")/../cluster/lib.sh"
bin="$(traefik_bin)"
if [[ ! -x "$bin" ]]; then
  version="${bin##*/traefik-}"
  echo "building traefik $version (about 5 minutes cold on 2 cores)" >&2
  mkdir -p "$(dirname "$bin")"
  (cd "$gateway_dir/traefik" && CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$version" \
    -o "$bin.tmp" github.com/traefik/traefik/v3/cmd/traefik)
  mv "$bin.tmp" "$bin"
fi
echo "$bin"
