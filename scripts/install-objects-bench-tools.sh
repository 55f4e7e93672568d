#!/usr/bin/env bash
# Builds the peers of the objects benchmark (bench/objects), if missing:
#   velero and velero-plugin-for-aws (from the Go module proxy, versions pinned in
#   bench/objects/go/go.mod) and createloop (a bare client-go create loop, bench/objects/go/createloop).
# Into $MLARK_CACHE/bin/objects-bench-<velero version>-<digest of go.mod and go.sum>/
# (default cache: ${XDG_CACHE_HOME:-~/.cache}/mlark), like the control plane's toolchain.
# About 15 minutes of compiling on 2 cores the first time; idempotent afterwards.
# Prints the directory of the binaries on stdout.
set -euo pipefail
module_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../bench/objects/go" && pwd)"
cache="${MLARK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlark}"
version="$(awk '$1 == "github.com/vmware-tanzu/velero" {print $2; exit}' "$module_dir/go.mod")"
digest="$(cat "$module_dir/go.mod" "$module_dir/go.sum" "$module_dir/createloop/main.go" | sha256sum | cut -c1-12)"
bin_dir="$cache/bin/objects-bench-$version-$digest"

if [ -e "$bin_dir/.complete" ]; then
  echo "$bin_dir"
  exit 0
fi
command -v go >/dev/null || { echo "go is not on PATH: it is needed to build Velero and createloop" >&2; exit 1; }
mkdir -p "$cache/bin"
exec 9>"$cache/bin/.objects-bench.lock"
flock 9
if [ ! -e "$bin_dir/.complete" ]; then
  staging="$bin_dir.tmp$$"
  rm -rf "$staging" && mkdir -p "$staging"
  echo "building velero $version, velero-plugin-for-aws and createloop (about 15 minutes on 2 cores, once)" >&2
  started=$SECONDS
  (cd "$module_dir" && CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath \
      -ldflags "-s -w -X github.com/vmware-tanzu/velero/pkg/buildinfo.Version=$version" \
      -o "$staging/" github.com/vmware-tanzu/velero/cmd/velero \
      github.com/vmware-tanzu/velero-plugin-for-aws/velero-plugin-for-aws ./createloop)
  echo "built in $((SECONDS - started)) s" >"$staging/.complete"
  rm -rf "$bin_dir" && mv "$staging" "$bin_dir"
fi
echo "$bin_dir"
