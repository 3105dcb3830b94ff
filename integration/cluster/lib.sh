# Shared settings and helpers of up.sh, down.sh and import.sh. Sourced, not run.
# shellcheck shell=bash
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
CLUSTER_DIR="${CLUSTER_DIR:-$root/.cluster}"
POD_CIDR="${POD_CIDR:-198.18.0.0/24}"
SERVICE_CIDR="${SERVICE_CIDR:-198.19.0.0/16}"
API_SERVICE_IP="${API_SERVICE_IP:-198.19.0.1}"
# The domain CoreDNS serves and the kubelet gives Pods as search path.
CLUSTER_DOMAIN="${CLUSTER_DOMAIN:-cluster.local}"
# The OCI registry's port on the node address (integration/mirror.Port), and
# the registries containerd pulls from it instead (hosts.toml in certs_d).
REGISTRY_PORT=5000
mirrored_registries=(docker.io quay.io gcr.io ghcr.io registry.k8s.io argolite.local)
certs_d="$CLUSTER_DIR/containerd/certs.d"
CNI_BRIDGE=cni0
pki="$CLUSTER_DIR/pki"
logs="$CLUSTER_DIR/logs"
pids="$CLUSTER_DIR/pids"
sock="$CLUSTER_DIR/containerd/containerd.sock"
# Start order; down.sh stops them in reverse.
components=(containerd registry etcd kube-apiserver coredns kube-controller-manager kube-scheduler kubelet kube-proxy traefik)

# The peers built from their own module in integration/cluster/<name> by
# build.sh, and the module whose version names their folder in bin/.
declare -A peer_modules=(
  [etcd]=go.etcd.io/etcd/server/v3
  [registry]=github.com/distribution/distribution/v3
  [coredns]=github.com/coredns/coredns
)

# The Gateway API data plane: Traefik (integration/gateway/build.sh), its web
# entrypoint (the Gateway's HTTP listener) and its API/ping entrypoint, both
# on the node address.
gateway_dir="$root/integration/gateway"
TRAEFIK_WEB_PORT=8000
TRAEFIK_API_PORT=8001
# traefik_bin prints bin/traefik-<version>, the version traefik/go.mod requires.
traefik_bin() {
  local version
  version="$(modversion "$gateway_dir/traefik/go.mod" github.com/traefik/traefik/v3)"
  [[ -n "$version" ]] || { printf '[cluster] error: cannot read the Traefik version from %s\n' "$gateway_dir/traefik/go.mod" >&2; return 1; }
  echo "${BIN_DIR:-$root/bin}/traefik-$version"
}

# modversion MODFILE MODULE prints the version MODFILE requires of MODULE.
modversion() { awk -v m="$2" '{for (i = 1; i < NF; i++) if ($i == m && $(i+1) ~ /^v[0-9]/) {print $(i+1); exit}}' "$1"; }

# peer_dir NAME prints bin/NAME-<version>, where build.sh puts peer NAME.
peer_dir() {
  local version
  version="$(modversion "$here/$1/go.mod" "${peer_modules[$1]}")"
  [[ -n "$version" ]] || { printf '[cluster] error: cannot read the version of %s from %s\n' "${peer_modules[$1]}" "$here/$1/go.mod" >&2; return 1; }
  echo "${BIN_DIR:-$root/bin}/$1-$version"
}

say() { printf '[cluster] %s\n' "$*" >&2; }
die() { printf '[cluster] error: %s\n' "$*" >&2; exit 1; }

pid_alive() { [[ -f "$pids/$1.pid" ]] && kill -0 "$(cat "$pids/$1.pid")" 2>/dev/null; }

# node_ip prints the address of the interface that holds the default route,
# else the first global IPv4 address that is not the pod bridge.
node_ip() {
  local dev ip
  dev="$(ip -4 route show default 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "dev") {print $(i+1); exit}}')"
  if [[ -n "$dev" ]]; then
    ip="$(ip -4 -o addr show dev "$dev" scope global | awk '{split($4, a, "/"); print a[1]; exit}')"
  fi
  if [[ -z "${ip:-}" ]]; then
    ip="$(ip -4 -o addr show scope global | awk -v br="$CNI_BRIDGE" '$2 != br {split($4, a, "/"); print a[1]; exit}')"
  fi
  [[ -n "$ip" ]] || die "no global IPv4 address on this machine for the node"
  echo "$ip"
}

node_name() { hostname | tr '[:upper:]' '[:lower:]'; }

# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_for() {
  local desc="$1" timeout="$2"; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      say "timed out after ${timeout}s waiting for $desc"
      return 1
    fi
    sleep 0.5
  done
}

ctr_() { ctr --address "$sock" -n k8s.io "$@"; }

# publish TARBALL...: pushes image tarballs (docker archives) to the local
# registry under every name each carries (docker.io/library/alpine:3.23, the
# argolite.local aliases, ...; integration/mirror/push), then pulls each name
# into containerd through the hosts.toml files the kubelet's pulls use, which
# proves them: Pods with imagePullPolicy Never or IfNotPresent find the image,
# Always pulls it again from the registry, and a rebuilt image replaces the old.
publish() {
  local registry refs ref
  registry="$(node_ip):$REGISTRY_PORT"
  pid_alive registry || die "the registry is not running: make cluster-up"
  refs="$(cd "$root" && go run ./integration/mirror/push -registry "$registry" -ca "$pki/ca.crt" "$@")" ||
    die "pushing $* to the registry at $registry failed; its log is $logs/registry.log"
  for ref in $refs; do
    ctr_ images pull --hosts-dir "$certs_d" "$ref" >/dev/null ||
      die "containerd cannot pull $ref from the registry at $registry: see $certs_d/*/hosts.toml and $logs/registry.log"
  done
  say "published $(wc -w <<<"$refs") image names from ${*##*/} to $registry"
}
