#!/usr/bin/env bash
# Starts the local single-node Kubernetes (or reuses the running one): containerd,
# the OCI registry (distribution) with the test bed's images in it, etcd,
# kube-apiserver, CoreDNS, kube-controller-manager, kube-scheduler, kubelet,
# kube-proxy and Traefik (the Gateway API data plane) as host processes, state
# and logs under $CLUSTER_DIR. Needs root and the Debian packages containerd, runc, containernetworking-plugins,
# iptables, conntrack, busybox-static. Prints the admin kubeconfig path on success.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# The daemons started below outlive this script: they must not keep its
# caller's descriptors open, such as a `flock FILE make cluster-up` lock,
# which would then never be released.
for fd in /proc/$$/fd/*; do
  fd=${fd##*/}
  (( fd > 2 && fd < 255 )) && eval "exec $fd>&-" 2>/dev/null || true
done

[[ $EUID -eq 0 ]] || die "run as root: the kubelet and containerd manage mounts, cgroups and networks"
for tool in containerd runc ctr iptables conntrack openssl ip curl busybox; do
  command -v "$tool" >/dev/null || die "$tool not found: apt-get install containerd runc iptables conntrack openssl iproute2 curl busybox-static containernetworking-plugins"
done
[[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local ]] || die "CNI plugins not found in /usr/lib/cni: apt-get install containernetworking-plugins"

K8S_BIN="${K8S_BIN:-$(bash "$here/build.sh")}"
ETCD_BIN="$(peer_dir etcd)"
REGISTRY_BIN="$(peer_dir registry)/registry"
COREDNS_BIN="$(peer_dir coredns)/coredns"
TRAEFIK_BIN="$(traefik_bin)"
for b in "$ETCD_BIN/etcd" "$REGISTRY_BIN" "$COREDNS_BIN"; do
  [[ -x "$b" ]] || die "$b missing: run 'make cluster-binaries' (integration/cluster/build.sh)"
done
# CoreDNS's health and readiness endpoints, on loopback only.
COREDNS_HEALTH=127.0.0.1:8180
COREDNS_READY=127.0.0.1:8181
IMAGES_DIR="${IMAGES_DIR:-$root/bin/images}"
kubectl=("$K8S_BIN/kubectl" --kubeconfig "$CLUSTER_DIR/admin.kubeconfig")

start() { # start NAME COMMAND...: runs COMMAND detached, logging to logs/NAME.log
  local name="$1"; shift
  setsid "$@" >"$logs/$name.log" 2>&1 < /dev/null &
  echo $! >"$pids/$name.pid"
}
check_alive() { pid_alive "$1" || { tail -20 "$logs/$1.log" >&2; die "$1 exited; its log is $logs/$1.log"; }; }

# --- the registry ----------------------------------------------------------------
# start_registry IP: the distribution registry (bin/registry-*) on
# IP:$REGISTRY_PORT over TLS with a certificate of the cluster CA, storage
# under $CLUSTER_DIR/registry (kept across restarts, like etcd's data).
start_registry() {
  local addr="$1:$REGISTRY_PORT"
  mkdir -p "$CLUSTER_DIR/registry/storage"
  cat >"$CLUSTER_DIR/registry/config.yml" <<EOF2
version: 0.1
log:
  # Errors only: the access log (one line per request) still goes to the log file.
  level: warn
  formatter: text
storage:
  filesystem:
    rootdirectory: $CLUSTER_DIR/registry/storage
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $addr
  # One instance: the secret only signs upload state between its own requests.
  secret: argolite-local-registry
  tls:
    certificate: $pki/registry.crt
    key: $pki/registry.key
EOF2
  say "starting the registry on $addr"
  # Tracing off: its OpenTelemetry exporter would otherwise try localhost:4318.
  start registry env OTEL_TRACES_EXPORTER=none OTEL_METRICS_EXPORTER=none OTEL_LOGS_EXPORTER=none \
    "$REGISTRY_BIN" serve "$CLUSTER_DIR/registry/config.yml"
  wait_for "the registry on $addr" 30 registry_answers "$addr" || {
    check_alive registry; die "the registry does not answer on https://$addr/v2/; see $logs/registry.log"; }
  check_alive registry
}
# registry_answers ADDR: the registry's API answers, or it exited (check_alive tells).
registry_answers() {
  pid_alive registry || return 0
  curl -fsS --cacert "$pki/ca.crt" "https://$1/v2/"
}

# write_registry_hosts IP: containerd's hosts.toml files (the CRI plugin's
# config_path, and ctr's --hosts-dir). Each mirrored registry is the local
# registry's prefix of the same name (integration/mirror); _default sends
# every other registry to the local one too, where an image nobody pushed is
# not found at once. Nothing falls back to a real registry, which the test
# machine must not reach: containerd goes to the upstream when a file has no
# server or does not parse, so each names the local registry as server and
# as its one [host] (containerd 1.6 rejects a file without one).
write_registry_hosts() {
  local addr="$1:$REGISTRY_PORT" r
  rm -rf "$certs_d"
  for r in "${mirrored_registries[@]}"; do
    hosts_toml "$r" "https://$addr/v2/$r" true pull resolve
  done
  hosts_toml "$addr" "https://$addr" false pull resolve push
  hosts_toml _default "https://$addr" false pull resolve
}
# hosts_toml DIR URL OVERRIDE_PATH CAPABILITY...: the hosts.toml of registry DIR.
hosts_toml() {
  local caps
  caps="$(printf '"%s", ' "${@:4}")"; caps="[${caps%, }]"
  mkdir -p "$certs_d/$1"
  cat >"$certs_d/$1/hosts.toml" <<EOF2
# $1: the local registry at $2 (written by integration/cluster/up.sh).
server = "$2"
override_path = $3
ca = "$pki/ca.crt"
capabilities = $caps
[host."$2"]
  override_path = $3
  ca = "$pki/ca.crt"
  capabilities = $caps
EOF2
}

# The images come from the tarballs `make images` writes; the agent's from
# `make image-import` (import.sh). pause is the sandbox image.
image_tarballs=(pause busybox alpine python nginx argosay argosay-v1 s3server httpbin rollouts-demo)
# publish_images [--changed]: publishes (lib.sh) all of them, or with
# --changed only those rebuilt since they were last published (a reused
# cluster keeps the rest).
publish_images() {
  local changed="${1:-}" name img todo=()
  [[ -n "$changed" || -f "$IMAGES_DIR/pause.tar" ]] || die "$IMAGES_DIR/pause.tar missing: run 'make images' first"
  mkdir -p "$CLUSTER_DIR/published"
  for name in "${image_tarballs[@]}"; do
    img="$IMAGES_DIR/$name.tar"
    if [[ ! -f "$img" ]]; then say "warning: $img missing, pods using it will not start: run 'make images'"; continue; fi
    [[ -n "$changed" && -f "$CLUSTER_DIR/published/$name" && ! "$img" -nt "$CLUSTER_DIR/published/$name" ]] && continue
    todo+=("$img")
  done
  ((${#todo[@]})) || return 0
  publish "${todo[@]}"
  for img in "${todo[@]}"; do touch "$CLUSTER_DIR/published/$(basename "$img" .tar)"; done
}

# --- cluster DNS -----------------------------------------------------------------
# start_coredns IP: CoreDNS (bin/coredns-*) serves $CLUSTER_DOMAIN on IP:53
# (the kubelet's clusterDNS; Pods reach the host at the node address) from
# the API server's Services and EndpointSlices through its kubernetes plugin,
# and is waited for until it answers for the kubernetes Service.
start_coredns() {
  mkdir -p "$CLUSTER_DIR/coredns"
  cat >"$CLUSTER_DIR/coredns/Corefile" <<EOF2
# CoreDNS of the local cluster, written by integration/cluster/up.sh. The
# reload plugin applies an edit within 30 s: add "log" to log every query.
# Only these zones are served; other names are REFUSED at once, because
# nothing is forwarded (the host's resolver is no address tests may reach).
$CLUSTER_DOMAIN in-addr.arpa ip6.arpa {
    bind $1
    errors
    health $COREDNS_HEALTH
    ready $COREDNS_READY
    kubernetes $CLUSTER_DOMAIN in-addr.arpa ip6.arpa {
        kubeconfig $CLUSTER_DIR/admin.kubeconfig argolite-local
        pods insecure
        ttl 5
    }
    cache 5
    reload
}
EOF2
  say "starting coredns on $1:53"
  start coredns "$COREDNS_BIN" -conf "$CLUSTER_DIR/coredns/Corefile"
  wait_for "CoreDNS on $1:53" 60 coredns_answers "$1" || {
    check_alive coredns; die "CoreDNS does not answer on $1:53; see $logs/coredns.log"; }
  check_alive coredns
}
# coredns_answers IP: CoreDNS is ready (its kubernetes plugin synced) and
# resolves the kubernetes Service, or it exited (check_alive tells).
coredns_answers() {
  pid_alive coredns || return 0
  curl -fsS "http://$COREDNS_READY/ready" && busybox nslookup "kubernetes.default.svc.$CLUSTER_DOMAIN" "$1"
}

# --- the Gateway API data plane --------------------------------------------------
# start_gateway IP: the Gateway API standard CRDs of the version Traefik's
# module requires (its config/crd/standard, from the module cache), the
# objects of integration/gateway/gateway.yaml, then Traefik (bin/traefik-*)
# on the host with its kubernetesGateway provider: the web entrypoint on
# IP:$TRAEFIK_WEB_PORT (the Gateway's listener), API and ping on
# IP:$TRAEFIK_API_PORT. Waits until the Gateway is Programmed. Idempotent.
start_gateway() {
  local crds token kc="$CLUSTER_DIR/traefik.kubeconfig"
  [[ -x "$TRAEFIK_BIN" ]] || die "$TRAEFIK_BIN missing: run 'make traefik' (integration/gateway/build.sh)"
  crds="$(cd "$gateway_dir/traefik" && go mod download -json sigs.k8s.io/gateway-api | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -d "$crds/config/crd/standard" ]] || die "the Gateway API module has no config/crd/standard (looked in '$crds')"
  say "installing the Gateway API CRDs from ${crds##*/}"
  "${kubectl[@]}" apply --server-side --force-conflicts --field-manager argolite-local -f "$crds/config/crd/standard/" >/dev/null
  "${kubectl[@]}" wait --for=condition=Established --timeout=60s -f "$crds/config/crd/standard/" >/dev/null
  "${kubectl[@]}" apply --server-side --force-conflicts --field-manager argolite-local -f "$gateway_dir/gateway.yaml" >/dev/null
  wait_for "the token of ServiceAccount argolite-gateway/traefik" 60 \
    test -n "$("${kubectl[@]}" -n argolite-gateway get secret traefik-token -o 'jsonpath={.data.token}' 2>/dev/null)"
  token="$("${kubectl[@]}" -n argolite-gateway get secret traefik-token -o 'jsonpath={.data.token}' | base64 -d)"
  [[ -n "$token" ]] || die "secret argolite-gateway/traefik-token has no token"
  cat >"$kc" <<KC
apiVersion: v1
kind: Config
clusters:
- name: argolite-local
  cluster:
    server: https://$1:6443
    certificate-authority: $pki/ca.crt
users:
- name: traefik
  user:
    token: $token
contexts:
- name: argolite-local
  context: {cluster: argolite-local, user: traefik}
current-context: argolite-local
KC
  chmod 600 "$kc"
  say "starting traefik on $1:$TRAEFIK_WEB_PORT (API and ping on $1:$TRAEFIK_API_PORT)"
  # No version check or usage report: the test machine reaches no public address.
  start traefik env KUBECONFIG="$kc" "$TRAEFIK_BIN" \
    --global.checkNewVersion=false --global.sendAnonymousUsage=false \
    --log.level=INFO --log.noColor=true \
    --entryPoints.web.address="$1:$TRAEFIK_WEB_PORT" \
    --entryPoints.traefik.address="$1:$TRAEFIK_API_PORT" \
    --api=true --api.insecure=true --api.dashboard=false --ping=true --ping.entryPoint=traefik \
    --providers.kubernetesGateway=true \
    --providers.kubernetesGateway.statusAddress.ip="$1"
  wait_for "traefik's ping on $1:$TRAEFIK_API_PORT" 30 traefik_answers "$1" || {
    check_alive traefik; die "traefik does not answer on http://$1:$TRAEFIK_API_PORT/ping; see $logs/traefik.log"; }
  check_alive traefik
  wait_for "Gateway argolite-gateway/argolite Programmed" 60 \
    "${kubectl[@]}" -n argolite-gateway wait --for=condition=Programmed gateway/argolite --timeout=2s || {
    check_alive traefik; die "Gateway argolite-gateway/argolite is not Programmed; see $logs/traefik.log"; }
}
# traefik_answers IP: Traefik's ping answers, or it exited (check_alive tells).
traefik_answers() {
  pid_alive traefik || return 0
  curl -fsS --noproxy '*' "http://$1:$TRAEFIK_API_PORT/ping"
}

# --- Prometheus ------------------------------------------------------------------
# Debian's prometheus package (apt-get install prometheus) runs out of cluster
# on the node address, where the host and Pods (the agent's analysis) reach
# it alike, on port $PROMETHEUS_PORT: not 9090, which Debian's own service
# takes on every address wherever it is let start. It scrapes the Pods
# annotated prometheus.io/scrape: "true" every 2 s; data under
# $CLUSTER_DIR/prometheus. Debian builds it without kubernetes_sd_configs, so
# podsd (integration/podsd) watches the Pods with the admin kubeconfig and
# writes them, with kubernetes_sd's role-pod labels, to the file
# $PROMETHEUS_TARGETS that Prometheus watches (file_sd_configs).
PROMETHEUS_PORT=9190
PROMETHEUS_TARGETS="$CLUSTER_DIR/prometheus/targets/pods.json"
# write_prometheus_config: writes its config; returns 1 when it did not change.
write_prometheus_config() {
  local cfg="$CLUSTER_DIR/prometheus/prometheus.yml"
  mkdir -p "$CLUSTER_DIR/prometheus/data"
  cat >"$cfg.new" <<EOF2
# Prometheus of the local cluster, written by integration/cluster/up.sh.
global:
  # Short, so an analysis sees a bad version's errors within seconds.
  scrape_interval: 2s
  scrape_timeout: 1s
  evaluation_interval: 2s
scrape_configs:
# Pods annotated prometheus.io/scrape: "true", at prometheus.io/port (else
# their declared ports) and prometheus.io/path (else /metrics), Running only.
- job_name: kubernetes-pods
  # podsd's file, in place of kubernetes_sd_configs: [{role: pod}].
  file_sd_configs:
  - files: [$PROMETHEUS_TARGETS]
  relabel_configs:
  - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
    regex: "true"
    action: keep
  - source_labels: [__meta_kubernetes_pod_phase]
    regex: Running
    action: keep
  - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scheme]
    regex: (https?)
    target_label: __scheme__
  - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path]
    regex: (.+)
    target_label: __metrics_path__
  - source_labels: [__address__, __meta_kubernetes_pod_annotation_prometheus_io_port]
    regex: '([^:]+)(?::\d+)?;(\d+)'
    replacement: '\$1:\$2'
    target_label: __address__
  - action: labelmap
    regex: __meta_kubernetes_pod_label_(.+)
  - source_labels: [__meta_kubernetes_namespace]
    target_label: namespace
  - source_labels: [__meta_kubernetes_pod_name]
    target_label: pod
EOF2
  if cmp -s "$cfg.new" "$cfg"; then rm -f "$cfg.new"; return 1; fi
  mv "$cfg.new" "$cfg"
}
# start_podsd: podsd, built into $CLUSTER_DIR/bin, waited for until it wrote
# the target file.
start_podsd() {
  say "starting podsd (Pod discovery for Prometheus)"
  rm -f "$PROMETHEUS_TARGETS"
  # -trimpath as make's GOFLAGS, so the build reuses the cached client-go.
  (cd "$root" && go build -trimpath -ldflags '-s -w' -o "$CLUSTER_DIR/bin/podsd" ./integration/podsd) || die "building integration/podsd failed"
  start podsd "$CLUSTER_DIR/bin/podsd" -kubeconfig "$CLUSTER_DIR/admin.kubeconfig" -out "$PROMETHEUS_TARGETS"
  wait_for "podsd to write $PROMETHEUS_TARGETS" 60 podsd_wrote || { check_alive podsd; die "podsd wrote no $PROMETHEUS_TARGETS; see $logs/podsd.log"; }
  check_alive podsd
}
podsd_wrote() { pid_alive podsd || return 0; [[ -f "$PROMETHEUS_TARGETS" ]]; }
# start_prometheus IP: Prometheus on IP:$PROMETHEUS_PORT, waited for until ready.
start_prometheus() {
  local addr="$1:$PROMETHEUS_PORT"
  command -v prometheus >/dev/null || die "prometheus not found: apt-get install prometheus"
  write_prometheus_config || true
  say "starting prometheus on $addr"
  # --web.enable-lifecycle: up.sh reloads it (POST /-/reload) when its config changed.
  start prometheus prometheus --config.file "$CLUSTER_DIR/prometheus/prometheus.yml" \
    --storage.tsdb.path "$CLUSTER_DIR/prometheus/data" --storage.tsdb.retention.time 1d \
    --web.listen-address "$addr" --web.enable-lifecycle --log.level warn
  wait_for "Prometheus on $addr" 60 prometheus_ready "$addr" || {
    check_alive prometheus; die "Prometheus is not ready on http://$addr/-/ready; see $logs/prometheus.log"; }
  check_alive prometheus
}
# prometheus_ready ADDR: Prometheus is ready, or it exited (check_alive tells).
prometheus_ready() {
  pid_alive prometheus || return 0
  curl -fsS "http://$1/-/ready"
}
# ensure_prometheus IP: starts podsd and Prometheus when they are not
# running, else reloads Prometheus when its config changed.
ensure_prometheus() {
  pid_alive podsd || start_podsd
  if ! pid_alive prometheus; then start_prometheus "$1"; return; fi
  if write_prometheus_config; then
    say "reloading prometheus: its config changed"
    curl -fsS -X POST "http://$1:$PROMETHEUS_PORT/-/reload" >/dev/null || die "Prometheus did not reload; see $logs/prometheus.log"
  fi
}

if pid_alive kube-apiserver && pid_alive kubelet && "${kubectl[@]}" get --raw /readyz >/dev/null 2>&1; then
  say "already running; reusing it"
  # Pulls and Pods' names need the registry and CoreDNS: restart whichever died.
  NODE_IP="$(node_ip)"
  pid_alive registry || start_registry "$NODE_IP"
  publish_images --changed
  pid_alive coredns || start_coredns "$NODE_IP"
  pid_alive traefik || start_gateway "$NODE_IP"
  ensure_prometheus "$NODE_IP"
  echo "$CLUSTER_DIR/admin.kubeconfig"
  exit 0
fi
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
# The serving certificates must name the node address clients use; reissue when it moved.
for name in apiserver registry; do
  if [[ -f "$pki/$name.crt" ]] && ! openssl x509 -in "$pki/$name.crt" -noout -text | grep -q "IP Address:$NODE_IP\b"; then
    rm -f "$pki/$name.crt" "$pki/$name.key"
  fi
done
sign registry "/CN=argolite-local-registry" "IP:$NODE_IP,IP:127.0.0.1,DNS:localhost"
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
  # Pulls of docker.io, ghcr.io, ... go to the local registry (write_registry_hosts).
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$certs_d"
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

# --- the registry, and the images in it ----------------------------------------
write_registry_hosts "$NODE_IP"
start_registry "$NODE_IP"
publish_images


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

start_coredns "$NODE_IP"

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
# Pods resolve Service names (search <ns>.svc.$CLUSTER_DOMAIN ...) through CoreDNS.
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
# The service range is virtual: kube-proxy rewrites a ClusterIP it has
# programmed before the packet is routed on. One it has not programmed yet
# (a Service seconds old) must not follow the default route off the machine,
# where whatever answers (an egress proxy saying 404) then holds the client's
# kept-alive connection. Routed to the pod bridge, nobody answers its ARP and
# the client fails here in seconds and retries. (No dummy link: the kernel
# may lack the module; a blackhole route would fail the host's own connects
# before kube-proxy's OUTPUT rules see them.) The CNI bridge plugin adopts
# the bridge made here.
ip link show "$CNI_BRIDGE" >/dev/null 2>&1 || ip link add "$CNI_BRIDGE" type bridge
ip link set "$CNI_BRIDGE" up
ip route replace "$SERVICE_CIDR" dev "$CNI_BRIDGE"
say "starting kube-proxy"
start kube-proxy "$K8S_BIN/kube-proxy" --config "$CLUSTER_DIR/kube-proxy.yaml"

say "waiting for node $NODE to be Ready"
wait_for "node $NODE Ready" 120 "${kubectl[@]}" wait --for=condition=Ready "node/$NODE" --timeout=2s || {
  for c in kube-controller-manager kube-scheduler kubelet kube-proxy; do check_alive "$c"; done
  die "node $NODE did not become Ready; see $logs/kubelet.log"; }
wait_for "the default ServiceAccount" 60 "${kubectl[@]}" -n default get serviceaccount default
start_gateway "$NODE_IP"
for c in "${components[@]}"; do check_alive "$c"; done
ensure_prometheus "$NODE_IP"
say "ready: export KUBECONFIG=$CLUSTER_DIR/admin.kubeconfig"
echo "$CLUSTER_DIR/admin.kubeconfig"
