#!/usr/bin/env bash
# Installs the npm package's build and test tools (@napi-rs/cli, typescript, get-port, …) as
# npm/package-lock.json locks them, skipping the install when they are there and current.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null 2>&1; then
  bash scripts/apt-install.sh nodejs npm
fi
if [[ ! -x npm/node_modules/.bin/napi || npm/package-lock.json -nt npm/node_modules/.package-lock.json ]]; then
  echo "==> npm ci (npm/)"
  (cd npm && npm ci --no-audit --no-fund)
fi
