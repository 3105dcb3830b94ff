#!/usr/bin/env bash
# Stops the local cluster that up.sh started and undoes its traces on the host:
# only the processes up.sh recorded (by PID), the containers they ran, mounts
# under $CLUSTER_DIR, kube-proxy's rules, the CNI bridge and its NAT rules.
# Idempotent; --quiet prints nothing when there is nothing to do.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
quiet=false; [[ "${1:-}" == --quiet ]] && quiet=true
note() { $quiet || say "$@"; }

[[ $EUID -eq 0 ]] || die "run as root"

stop() { # stop NAME: TERM, then KILL after 15 s
  local f="$pids/$1.pid" pid
  [[ -f "$f" ]] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    note "stopping $1 (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

stop traefik
# Prometheus and its Pod discovery (up.sh's, out of cluster) first: podsd
# watches the API server.
stop prometheus
stop podsd
# The kubelet first, so it does not restart the containers killed below.
stop kube-proxy
stop kubelet
# Containers outlive containerd (their shims are re-parented): kill every
# process in the kubelet's pod cgroups, then the shims that served this socket.
for hier in /sys/fs/cgroup/*/kubepods; do
  [[ -d "$hier" ]] || continue
  find "$hier" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
done
pkill -KILL -f "containerd-shim-runc-v2 .*-address $sock" 2>/dev/null || true
for c in kube-scheduler kube-controller-manager coredns kube-apiserver etcd registry containerd; do stop "$c"; done

# Mounts under the state folder (pod volumes, rootfs, shm), deepest first.
if [[ -d "$CLUSTER_DIR" ]]; then
  cluster_real="$(realpath "$CLUSTER_DIR")"
  { findmnt -rn -o TARGET || true; } | awk -v p="$cluster_real/" 'index($0, p) == 1' | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
fi
# Network namespaces containerd made for pods (cni-<uuid>), and the pod cgroups.
for ns in $(ip netns list 2>/dev/null | awk '/^cni-/{print $1}'); do ip netns delete "$ns" 2>/dev/null || true; done
for hier in /sys/fs/cgroup/*/kubepods; do
  [[ -d "$hier" ]] && find "$hier" -depth -type d -exec rmdir {} + 2>/dev/null || true
done

# kube-proxy's chains, then the bridge and the CNI masquerade rules.
kube_proxy="$(ls -d "$root"/bin/k8s-*/kube-proxy 2>/dev/null | sort | tail -1 || true)"
if [[ -n "$kube_proxy" ]] && iptables-save 2>/dev/null | grep -q KUBE-; then
  note "removing kube-proxy rules"
  "$kube_proxy" --cleanup >/dev/null 2>&1 || true
fi
# The kubelet's own chains (KUBE-FIREWALL, KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT)
# outlive kube-proxy --cleanup: drop every jump to a KUBE- chain, then the chains.
for ipt in iptables ip6tables; do
  command -v "$ipt" >/dev/null || continue
  for table in filter nat mangle; do
    rules="$("$ipt" -t "$table" -S 2>/dev/null || true)"
    { grep -E '^-A [A-Z]+ .*-j KUBE-' <<<"$rules" || true; } | sed 's/^-A/-D/' | while read -r rule; do
      eval "$ipt -t $table $rule" 2>/dev/null || true
    done
    for chain in $(awk '$1 == "-N" && $2 ~ /^KUBE-/ {print $2}' <<<"$rules"); do
      "$ipt" -t "$table" -F "$chain" 2>/dev/null || true
    done
    for chain in $(awk '$1 == "-N" && $2 ~ /^KUBE-/ {print $2}' <<<"$rules"); do
      "$ipt" -t "$table" -X "$chain" 2>/dev/null || true
    done
  done
done
if ip link show "$CNI_BRIDGE" >/dev/null 2>&1; then
  note "removing bridge $CNI_BRIDGE"
  ip link delete "$CNI_BRIDGE" 2>/dev/null || true
fi
{ iptables -t nat -S POSTROUTING 2>/dev/null || true; } | { grep -- '-j CNI-' || true; } | sed 's/^-A/-D/' | while read -r rule; do
  eval "iptables -t nat $rule" 2>/dev/null || true
done
for chain in $(iptables -t nat -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^CNI-/ {print $2}'); do
  iptables -t nat -F "$chain" 2>/dev/null || true
  iptables -t nat -X "$chain" 2>/dev/null || true
done
# Pod IPs are handed out afresh next time.
rm -rf "$CLUSTER_DIR/cni/ipam"
note "stopped"
