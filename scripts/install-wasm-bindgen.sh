#!/usr/bin/env bash
# Installs what building the WebAssembly packages needs, skipping what is there: the
# wasm32-unknown-unknown target, and wasm-bindgen's CLI and test runner at the version the core
# pins (its output must match the crate). Not --locked: a locked dependency version is missing
# from the registry here. Once per machine, about 2-5 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  echo "==> rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
version=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' Cargo.toml)
if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $version" ]]; then
  echo "==> cargo install wasm-bindgen-cli --version $version"
  cargo install wasm-bindgen-cli --version "$version"
fi
