#!/usr/bin/env bash
# Builds the local test cluster's binaries from the Go module proxy into
# $BIN_DIR (default: <repo>/bin), keyed by version so a second run reuses them:
#   bin/k8s-v1.36.3/{kube-apiserver,kube-controller-manager,kube-scheduler,kubelet,kube-proxy,kubectl}
#   bin/etcd-v3.6.8/etcd
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
BIN_DIR="${BIN_DIR:-$root/bin}"
# modversion MODFILE MODULE prints the version MODFILE requires of MODULE.
modversion() { awk -v m="$2" '{for (i = 1; i < NF; i++) if ($i == m && $(i+1) ~ /^v[0-9]/) {print $(i+1); exit}}' "$1"; }
K8S_VERSION="$(modversion "$here/k8s/go.mod" k8s.io/kubernetes)"
ETCD_VERSION="$(modversion "$here/etcd/go.mod" go.etcd.io/etcd/server/v3)"
[[ -n "$K8S_VERSION" && -n "$ETCD_VERSION" ]] || { echo "build.sh: cannot read the Kubernetes or etcd version from go.mod" >&2; exit 1; }
k8s_dir="$BIN_DIR/k8s-$K8S_VERSION"
etcd_dir="$BIN_DIR/etcd-$ETCD_VERSION"
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

if [[ ! -x "$etcd_dir/etcd" ]]; then
  echo "building etcd $ETCD_VERSION" >&2
  mkdir -p "$etcd_dir"
  (cd "$here/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$etcd_dir/etcd.tmp" .)
  mv "$etcd_dir/etcd.tmp" "$etcd_dir/etcd"
fi
echo "$k8s_dir"
