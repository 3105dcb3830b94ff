# Shared settings and helpers of up.sh, down.sh and import.sh. Sourced, not run.
# shellcheck shell=bash
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
CLUSTER_DIR="${CLUSTER_DIR:-$root/.cluster}"
POD_CIDR="${POD_CIDR:-198.18.0.0/24}"
SERVICE_CIDR="${SERVICE_CIDR:-198.19.0.0/16}"
API_SERVICE_IP="${API_SERVICE_IP:-198.19.0.1}"
# The domain integration/clusterdns serves and the kubelet gives Pods as search path.
CLUSTER_DOMAIN="${CLUSTER_DOMAIN:-cluster.local}"
CNI_BRIDGE=cni0
pki="$CLUSTER_DIR/pki"
logs="$CLUSTER_DIR/logs"
pids="$CLUSTER_DIR/pids"
sock="$CLUSTER_DIR/containerd/containerd.sock"
# Start order; down.sh stops them in reverse.
components=(containerd etcd kube-apiserver clusterdns kube-controller-manager kube-scheduler kubelet kube-proxy)

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
