#!/usr/bin/env bash
# Builds the local test cluster's binaries from the Go module proxy into
# $BIN_DIR (default: <repo>/bin), keyed by version so a second run reuses them:
#   bin/k8s-v1.36.3/{kube-apiserver,kube-controller-manager,kube-scheduler,kubelet,kube-proxy,kubectl}
#   bin/etcd-v3.6.8/etcd
#   bin/registry-v3.1.2/registry   (distribution, the OCI registry)
#   bin/coredns-v1.15.0/coredns    (CoreDNS with the kubernetes plugin)
# Each peer is a main of its own small module in integration/cluster/<name>,
# whose go.mod fixes the version. Prints the Kubernetes folder.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BIN_DIR="${BIN_DIR:-$root/bin}"
K8S_VERSION="$(modversion "$here/k8s/go.mod" k8s.io/kubernetes)"
[[ -n "$K8S_VERSION" ]] || { echo "build.sh: cannot read the Kubernetes version from $here/k8s/go.mod" >&2; exit 1; }
k8s_dir="$BIN_DIR/k8s-$K8S_VERSION"
cmds=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

missing=()
for c in "${cmds[@]}"; do [[ -x "$k8s_dir/$c" ]] || missing+=("$c"); done
if ((${#missing[@]})); then
  echo "building Kubernetes $K8S_VERSION: ${missing[*]} (about 6 minutes cold on 2 cores)" >&2
  minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  vpkg=k8s.io/component-base/version
  ldflags="-s -w -X $vpkg.gitVersion=$K8S_VERSION -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor"
  ldflags+=" -X $vpkg.gitTreeState=clean -X $vpkg.buildDate=1970-01-01T00:00:00Z"
  ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  pkgs=(); for c in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  mkdir -p "$k8s_dir.tmp"
  (cd "$here/k8s" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$k8s_dir.tmp/" "${pkgs[@]}")
  mkdir -p "$k8s_dir"
  for c in "${missing[@]}"; do mv "$k8s_dir.tmp/$c" "$k8s_dir/$c"; done
  rmdir "$k8s_dir.tmp"
fi

# build_peer NAME COLD [LDFLAGS]: builds integration/cluster/NAME, a main of
# its own module, into bin/NAME-<version>/NAME unless it is there. COLD is how
# long a build from empty Go caches takes on 2 cores (docs/local-cluster.md).
build_peer() {
  local name="$1" cold="$2" dir
  dir="$(peer_dir "$name")" || exit 1
  [[ -x "$dir/$name" ]] && return 0
  echo "building $name ${dir##*/$name-} ($cold cold on 2 cores)" >&2
  mkdir -p "$dir"
  (cd "$here/$name" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w ${3:-}" -o "$dir/$name.tmp" .)
  mv "$dir/$name.tmp" "$dir/$name"
}
build_peer etcd "about 1.5 minutes"
registry_version="$(modversion "$here/registry/go.mod" "${peer_modules[registry]}")"
build_peer registry "about 2 minutes" "-X github.com/distribution/distribution/v3/version.version=$registry_version"
build_peer coredns "about 3 minutes"
echo "$k8s_dir"
