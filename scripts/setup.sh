#!/usr/bin/env bash
# Installs what atlas-ports needs, skipping what is already there. Safe to run again.
#   bash scripts/setup.sh cli     # what building and running the CLI needs (scripts/quickstart.sh)
#   bash scripts/setup.sh         # everything the build and the tests need (scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is not installed: install Rust with rustup (https://rustup.rs) and run again" >&2
  exit 2
fi
if ! command -v git >/dev/null 2>&1; then
  say "apt-get install git"
  bash scripts/apt-install.sh git
fi
if [[ ${1:-} == cli ]]; then
  exit 0
fi

# Targets: wasm32 for the core, macOS and Windows for the portability checks.
needed_targets=(wasm32-unknown-unknown x86_64-apple-darwin x86_64-pc-windows-msvc)
installed_targets=$(rustup target list --installed 2>/dev/null || true)
for t in "${needed_targets[@]}"; do
  if ! grep -qx "$t" <<<"$installed_targets"; then
    say "rustup target add $t"
    rustup target add "$t"
  fi
done

# git for the worktree tests, python3 for the benchmark's baseline and the test servers,
# Debian's docker-compose client to check the Compose recipe (`config` needs no engine), and
# Redis and PostgreSQL servers that the health-check tests start on free ports.
missing=()
command -v git >/dev/null 2>&1 || missing+=(git)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
# Real servers for the health-check tests.
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || missing+=(postgresql)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
# tmux drives `status --watch` in its end-to-end test, as a person at a terminal would.
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
# certutil (libnss3-tools) for `atlas-ports trust` into NSS databases, curl for the HTTPS tests.
command -v certutil >/dev/null 2>&1 || missing+=(libnss3-tools)
command -v curl >/dev/null 2>&1 || missing+=(curl)
# Debian's Chromium, driven headless by playwright-core in the dashboard's browser tests.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# Node.js and npm for the addon, the npm package and the Node tests (this machine kind ships
# them; Debian's are the fallback).
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  say "apt-get install ${missing[*]}"
  bash scripts/apt-install.sh "${missing[@]}"
  # Debian starts the servers it installs where an init system runs. The tests start their
  # own on free ports and need the default ones (5432, 6379) free: stop what we just installed.
  for svc in redis-server postgresql; do
    if [[ " ${missing[*]} " == *" $svc "* ]]; then
      service "$svc" stop >/dev/null 2>&1 || true
    fi
  done
fi

# wasm-bindgen's CLI and test runner, at the version the core pins.
bash scripts/install-wasm-bindgen.sh

# The npm package's build and test tools, as locked.
bash scripts/install-npm-tools.sh
