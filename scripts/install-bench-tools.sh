#!/usr/bin/env bash
# Installs the peer tools of the repository benchmark (bench/repo), if missing.
#   restic, borg: Debian packages (scripts/install-system-deps.sh installs them).
#   kopia: built from the Go module proxy into $MLARK_CACHE/bin/kopia-<version>/kopia
#          (default cache: ${XDG_CACHE_HOME:-~/.cache}/mlark). Takes several minutes on 2 cores.
# `go install github.com/kopia/kopia@VERSION` fails when the proxy refuses the module's
# version list (it looks up deprecations there), so the binary is built from a small
# wrapper module that requires the exact version instead.
# Idempotent: does nothing when everything is present.
set -euo pipefail
KOPIA_VERSION="${KOPIA_VERSION:-v0.22.3}"  # keep in step with bench/repo/tools.py
cache="${MLARK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlark}"
bin_dir="$cache/bin/kopia-$KOPIA_VERSION"

for tool in restic borg; do
  command -v "$tool" >/dev/null || { echo "$tool missing: run scripts/install-system-deps.sh" >&2; exit 1; }
done

if [ -x "$bin_dir/kopia" ]; then
  exit 0
fi
command -v go >/dev/null || { echo "go is not on PATH: it is needed to build kopia" >&2; exit 1; }
work="$(mktemp -d "$cache/kopia-build.XXXXXX" 2>/dev/null || { mkdir -p "$cache" && mktemp -d "$cache/kopia-build.XXXXXX"; })"
trap 'rm -rf "$work"' EXIT
cat >"$work/go.mod" <<MOD
module mlarkbench/kopia

go 1.25

require github.com/kopia/kopia $KOPIA_VERSION
MOD
cat >"$work/tools.go" <<'GO'
//go:build tools

package tools

import _ "github.com/kopia/kopia"
GO
echo "building kopia $KOPIA_VERSION (several minutes)" >&2
(cd "$work" && go mod tidy >/dev/null 2>&1 && go build -o "$work/kopia" github.com/kopia/kopia)
mkdir -p "$bin_dir"
mv "$work/kopia" "$bin_dir/kopia.tmp" && mv "$bin_dir/kopia.tmp" "$bin_dir/kopia"
"$bin_dir/kopia" --version
