#!/usr/bin/env bash
# Loads image tarballs (docker-archive or OCI) into the local cluster's containerd.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
(($#)) || die "usage: import.sh IMAGE.tar..."
pid_alive containerd || die "the local cluster is not running: make cluster-up"
for img in "$@"; do
  [[ -f "$img" ]] || die "$img not found"
  ctr_ images import "$img" | sed 's/^/[cluster] imported /' >&2
done
