#!/usr/bin/env bash
# Installs the Debian packages the local environment and the benchmarks need, if missing.
# Idempotent: does nothing (and never calls apt-get update) when everything is present.
set -euo pipefail
packages=(postgresql-15 postgresql-client-15 mariadb-server mariadb-client redis-server restic borgbackup)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian packages start their own services on install; the environment runs its own.
for service in mariadb postgresql redis-server; do
  (service "$service" stop >/dev/null 2>&1 || true)
done
