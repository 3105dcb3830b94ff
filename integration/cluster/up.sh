#!/usr/bin/env bash
# Starts the local single-node Kubernetes (or reuses the running one): containerd,
# etcd, kube-apiserver, the cluster DNS (integration/clusterdns),
# kube-controller-manager, kube-scheduler, kubelet and kube-proxy as host
# processes, state and logs under $CLUSTER_DIR. Needs root
# and the Debian packages containerd, runc, containernetworking-plugins,
# iptables, conntrack. Prints the admin kubeconfig path on success.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[[ $EUID -eq 0 ]] || die "run as root: the kubelet and containerd manage mounts, cgroups and networks"
for tool in containerd runc ctr iptables conntrack openssl ip; do
  command -v "$tool" >/dev/null || die "$tool not found: apt-get install containerd runc iptables conntrack openssl iproute2 containernetworking-plugins"
done
[[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local ]] || die "CNI plugins not found in /usr/lib/cni: apt-get install containernetworking-plugins"

K8S_BIN="${K8S_BIN:-$(bash "$here/build.sh")}"
ETCD_BIN="$(dirname "$K8S_BIN")/$(cd "$(dirname "$K8S_BIN")" && ls -d etcd-* | sort | tail -1)"
IMAGES_DIR="${IMAGES_DIR:-$root/bin/images}"
kubectl=("$K8S_BIN/kubectl" --kubeconfig "$CLUSTER_DIR/admin.kubeconfig")

start() { # start NAME COMMAND...: runs COMMAND detached, logging to logs/NAME.log
  local name="$1"; shift
  setsid "$@" >"$logs/$name.log" 2>&1 < /dev/null &
  echo $! >"$pids/$name.pid"
}
check_alive() { pid_alive "$1" || { tail -20 "$logs/$1.log" >&2; die "$1 exited; its log is $logs/$1.log"; }; }

# Cluster DNS: integration/clusterdns, built from this module into bin/ and
# rebuilt when its sources or go.mod/go.sum are newer than the binary.
CLUSTERDNS_BIN="${BIN_DIR:-$root/bin}/clusterdns"
build_clusterdns() {
  [[ -x "$CLUSTERDNS_BIN" && -z "$(find "$root/integration/clusterdns" "$root/go.mod" "$root/go.sum" \
    -name '*_test.go' -prune -o -newer "$CLUSTERDNS_BIN" -print -quit)" ]] && return 0
  say "building $CLUSTERDNS_BIN"
  if ! (cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$CLUSTERDNS_BIN.tmp" ./integration/clusterdns); then
    [[ -x "$CLUSTERDNS_BIN" ]] || die "building integration/clusterdns failed"
    say "warning: building integration/clusterdns failed; using the previous $CLUSTERDNS_BIN"
    return 0
  fi
  mv "$CLUSTERDNS_BIN.tmp" "$CLUSTERDNS_BIN"
}
# start_clusterdns IP: serves $CLUSTER_DOMAIN on IP:53 (the kubelet's
# clusterDNS; Pods reach the host at the node address) from the API server's
# Services and EndpointSlices, and waits until it answers for the kubernetes Service.
start_clusterdns() {
  say "starting clusterdns on $1:53"
  start clusterdns "$CLUSTERDNS_BIN" -listen "$1:53" -kubeconfig "$CLUSTER_DIR/admin.kubeconfig" -domain "$CLUSTER_DOMAIN"
  wait_for "cluster DNS on $1:53" 60 clusterdns_answers "$1" || {
    check_alive clusterdns; die "cluster DNS does not answer on $1:53; see $logs/clusterdns.log"; }
  check_alive clusterdns
}
# clusterdns_answers IP: the kubernetes Service resolves, or clusterdns exited (check_alive tells).
clusterdns_answers() {
  pid_alive clusterdns || return 0
  "$CLUSTERDNS_BIN" query -server "$1:53" "kubernetes.default.svc.$CLUSTER_DOMAIN"
}

# No registry: the images come from the tarballs `make images` writes. pause is
# the sandbox image; busybox.tar carries docker.io/library/busybox:latest and
# argolite.local/library/busybox:1.36; alpine.tar and python.tar are the
# workflow suite's argolite.local/library/alpine:3.23 and python:alpine3.23.
# import_images [--changed]: imports them all, or with --changed only those
# rebuilt since their last import (a reused cluster keeps its images).
import_images() {
  local changed="${1:-}" name img stamp
  [[ -n "$changed" || -f "$IMAGES_DIR/pause.tar" ]] || die "$IMAGES_DIR/pause.tar missing: run 'make images' first"
  mkdir -p "$CLUSTER_DIR/imported"
  for name in pause busybox alpine python s3server; do
    img="$IMAGES_DIR/$name.tar" stamp="$CLUSTER_DIR/imported/$name"
    if [[ ! -f "$img" ]]; then say "warning: $img missing, pods using it will not start: run 'make images'"; continue; fi
    [[ -n "$changed" && -f "$stamp" && ! "$img" -nt "$stamp" ]] && continue
    [[ -n "$changed" ]] && say "importing $img"
    ctr_ images import "$img" >/dev/null || die "importing $img into containerd failed"
    touch "$stamp"
  done
}

if pid_alive kube-apiserver && pid_alive kubelet && "${kubectl[@]}" get --raw /readyz >/dev/null 2>&1; then
  say "already running; reusing it"
  import_images --changed
  # A kubelet that points Pods at the cluster DNS needs it running: restart it when it died.
  dns_ip="$(sed -n 's/^clusterDNS: \[\(.*\)\]$/\1/p' "$CLUSTER_DIR/kubelet/config.yaml" 2>/dev/null || true)"
  if [[ -n "$dns_ip" ]] && ! pid_alive clusterdns; then build_clusterdns; start_clusterdns "$dns_ip"; fi
  echo "$CLUSTER_DIR/admin.kubeconfig"
  exit 0
fi
build_clusterdns
# Whatever is left of an earlier cluster (killed processes, mounts, bridge, rules) goes first.
bash "$here/down.sh" --quiet

NODE_IP="$(node_ip)"
NODE="$(node_name)"
mkdir -p "$pki" "$logs" "$pids" "$CLUSTER_DIR"/{etcd,containerd,kubelet,cni/net.d,cni/ipam,bin}
chmod 700 "$CLUSTER_DIR/etcd"
say "node $NODE at $NODE_IP, pods $POD_CIDR, services $SERVICE_CIDR, state in $CLUSTER_DIR"

# --- certificates and credentials (kept across restarts) -----------------------
sign() { # sign NAME SUBJECT [SANS]: a key and a certificate signed by the cluster CA
  local name="$1" subj="$2" sans="${3:-}" ext
  [[ -f "$pki/$name.crt" ]] && return 0
  ext="$(mktemp)"
  { echo "basicConstraints=CA:FALSE"; echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [[ -n "$sans" ]]; then echo "extendedKeyUsage=serverAuth,clientAuth"; echo "subjectAltName=$sans"
    else echo "extendedKeyUsage=clientAuth"; fi; } >"$ext"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 3650 -extfile "$ext" -out "$pki/$name.crt" 2>/dev/null
  rm -f "$ext" "$pki/$name.csr"
}
if [[ ! -f "$pki/ca.crt" ]]; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -out "$pki/ca.crt" -days 3650 \
    -subj "/CN=argolite-local-ca" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi
# The serving certificate must name the node address the kubeconfigs use; reissue when it moved.
if [[ -f "$pki/apiserver.crt" ]] && ! openssl x509 -in "$pki/apiserver.crt" -noout -text | grep -q "IP Address:$NODE_IP\b"; then
  rm -f "$pki/apiserver.crt" "$pki/apiserver.key"
fi
sign apiserver "/CN=kube-apiserver" "IP:$NODE_IP,IP:127.0.0.1,IP:$API_SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
[[ -f "$pki/sa.key" ]] || { openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null; openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null; }

tokens="$CLUSTER_DIR/tokens.csv"
if [[ ! -f "$tokens" ]] || ! grep -q "system:node:$NODE," "$tokens"; then
  t() { openssl rand -hex 16; }
  { echo "$(t),admin,admin,system:masters"
    echo "$(t),system:node:$NODE,node-$NODE,system:nodes"
    echo "$(t),system:kube-controller-manager,kube-controller-manager"
    echo "$(t),system:kube-scheduler,kube-scheduler"
    echo "$(t),system:kube-proxy,kube-proxy"; } >"$tokens"
  chmod 600 "$tokens"
fi
kubeconfig() { # kubeconfig FILE USER: a token kubeconfig for USER from tokens.csv
  local token
  token="$(awk -F, -v u="$2" '$2 == u {print $1}' "$tokens")"
  cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: argolite-local
  cluster:
    server: https://$NODE_IP:6443
    certificate-authority: $pki/ca.crt
users:
- name: $2
  user:
    token: $token
contexts:
- name: argolite-local
  context: {cluster: argolite-local, user: "$2"}
current-context: argolite-local
KC
  chmod 600 "$1"
}
kubeconfig "$CLUSTER_DIR/admin.kubeconfig" admin
kubeconfig "$CLUSTER_DIR/kubelet.kubeconfig" "system:node:$NODE"
kubeconfig "$CLUSTER_DIR/controller-manager.kubeconfig" system:kube-controller-manager
kubeconfig "$CLUSTER_DIR/scheduler.kubeconfig" system:kube-scheduler
kubeconfig "$CLUSTER_DIR/kube-proxy.kubeconfig" system:kube-proxy

# --- host settings --------------------------------------------------------------
sysctl -qw net.ipv4.ip_forward=1
modprobe br_netfilter 2>/dev/null || true
[[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]] && sysctl -qw net.bridge.bridge-nf-call-iptables=1

# --- containerd -----------------------------------------------------------------
sed "s#@RUNC@#$(command -v runc)#" "$here/runc-wrapper.sh.tmpl" >"$CLUSTER_DIR/bin/runc-wrapper"
chmod 755 "$CLUSTER_DIR/bin/runc-wrapper"
cat >"$CLUSTER_DIR/containerd/config.toml" <<EOF2
version = 2
root = "$CLUSTER_DIR/containerd/root"
state = "$CLUSTER_DIR/containerd/state"
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[debug]
  address = "$sock.debug"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.6"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$CLUSTER_DIR/bin/runc-wrapper"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CLUSTER_DIR/cni/net.d"
EOF2
cat >"$CLUSTER_DIR/cni/net.d/10-argolite.conflist" <<EOF2
{
  "cniVersion": "1.0.0",
  "name": "argolite",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$CNI_BRIDGE",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$POD_CIDR"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$CLUSTER_DIR/cni/ipam"
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF2
say "starting containerd"
start containerd containerd --config "$CLUSTER_DIR/containerd/config.toml"
wait_for "containerd" 30 ctr_ version || { check_alive containerd; die "containerd did not answer on $sock"; }


# --- etcd and the control plane -------------------------------------------------
say "starting etcd"
start etcd "$ETCD_BIN/etcd" --name local --data-dir "$CLUSTER_DIR/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster local=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:2381 \
  --unsafe-no-fsync --log-level warn
wait_for "etcd" 30 curl -fsS http://127.0.0.1:2381/health || { check_alive etcd; die "etcd is not healthy"; }

say "starting kube-apiserver"
start kube-apiserver "$K8S_BIN/kube-apiserver" \
  --etcd-servers http://127.0.0.1:2379 \
  --advertise-address "$NODE_IP" --bind-address 0.0.0.0 --secure-port 6443 \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --token-auth-file "$tokens" --client-ca-file "$pki/ca.crt" \
  --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types InternalIP \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
  --allow-privileged=true --cert-dir "$CLUSTER_DIR/apiserver-certs" --profiling=false
wait_for "kube-apiserver" 120 "${kubectl[@]}" get --raw /readyz || { check_alive kube-apiserver; die "kube-apiserver is not ready"; }

start_clusterdns "$NODE_IP"

say "starting kube-controller-manager and kube-scheduler"
start kube-controller-manager "$K8S_BIN/kube-controller-manager" \
  --kubeconfig "$CLUSTER_DIR/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$CLUSTER_DIR/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$CLUSTER_DIR/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
  --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
  --service-cluster-ip-range "$SERVICE_CIDR" --cluster-cidr "$POD_CIDR"
start kube-scheduler "$K8S_BIN/kube-scheduler" \
  --kubeconfig "$CLUSTER_DIR/scheduler.kubeconfig" \
  --authentication-kubeconfig "$CLUSTER_DIR/scheduler.kubeconfig" \
  --authorization-kubeconfig "$CLUSTER_DIR/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --leader-elect=false

# --- node -----------------------------------------------------------------------
cat >"$CLUSTER_DIR/kubelet/config.yaml" <<EOF2
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# cgroup v1 host without systemd.
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix://$sock
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
healthzBindAddress: 127.0.0.1
readOnlyPort: 0
maxPods: 250
serializeImagePulls: false
resolvConf: /etc/resolv.conf
# Pods resolve Service names (search <ns>.svc.$CLUSTER_DOMAIN ...) through integration/clusterdns.
clusterDNS: [$NODE_IP]
clusterDomain: $CLUSTER_DOMAIN
# A test machine's disk may be fuller than production thresholds allow.
evictionHard: {memory.available: 100Mi, nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
EOF2
say "starting kubelet"
start kubelet "$K8S_BIN/kubelet" --config "$CLUSTER_DIR/kubelet/config.yaml" \
  --kubeconfig "$CLUSTER_DIR/kubelet.kubeconfig" --root-dir "$CLUSTER_DIR/kubelet" \
  --cert-dir "$CLUSTER_DIR/kubelet/pki" --node-ip "$NODE_IP" --hostname-override "$NODE"

cat >"$CLUSTER_DIR/kube-proxy.yaml" <<EOF2
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $CLUSTER_DIR/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: $POD_CIDR
hostnameOverride: $NODE
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# Leave the host's conntrack sysctls alone.
conntrack: {maxPerCore: 0, min: 0}
EOF2
say "starting kube-proxy"
start kube-proxy "$K8S_BIN/kube-proxy" --config "$CLUSTER_DIR/kube-proxy.yaml"

# No registry: the sandbox image, busybox and the workflow images come from local tarballs.
import_images

say "waiting for node $NODE to be Ready"
wait_for "node $NODE Ready" 120 "${kubectl[@]}" wait --for=condition=Ready "node/$NODE" --timeout=2s || {
  for c in kube-controller-manager kube-scheduler kubelet kube-proxy; do check_alive "$c"; done
  die "node $NODE did not become Ready; see $logs/kubelet.log"; }
wait_for "the default ServiceAccount" 60 "${kubectl[@]}" -n default get serviceaccount default
for c in "${components[@]}"; do check_alive "$c"; done
say "ready: export KUBECONFIG=$CLUSTER_DIR/admin.kubeconfig"
echo "$CLUSTER_DIR/admin.kubeconfig"
