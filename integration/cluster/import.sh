#!/usr/bin/env bash
# Publishes image tarballs (docker archives, as integration/images writes
# them) to the local cluster: pushed to its registry under every name they
# carry and pulled into containerd from there (lib.sh's publish).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
(($#)) || die "usage: import.sh IMAGE.tar..."
pid_alive containerd || die "the local cluster is not running: make cluster-up"
for img in "$@"; do [[ -f "$img" ]] || die "$img not found"; done
publish "$@"
