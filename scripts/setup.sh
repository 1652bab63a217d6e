#!/usr/bin/env bash
# Installs what atlas-ports needs to build and test, skipping what is already there.
# Safe to run again; scripts/quickstart.sh and scripts/test.sh run it first.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is not installed: install Rust with rustup (https://rustup.rs) and run again" >&2
  exit 2
fi

# Targets: wasm32 for the core, macOS and Windows for the portability checks (SPEC §11).
needed_targets=(wasm32-unknown-unknown x86_64-apple-darwin x86_64-pc-windows-msvc)
installed_targets=$(rustup target list --installed 2>/dev/null || true)
for t in "${needed_targets[@]}"; do
  if ! grep -qx "$t" <<<"$installed_targets"; then
    say "rustup target add $t"
    rustup target add "$t"
  fi
done

# git for the worktree tests, python3 for the benchmark's baseline and the test servers, and
# Debian's docker-compose client to check the Compose recipe (`config` needs no engine).
missing=()
command -v git >/dev/null 2>&1 || missing+=(git)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
if ((${#missing[@]})); then
  say "apt-get install ${missing[*]}"
  apt-get update -qq && apt-get install -y -qq "${missing[@]}"
fi
