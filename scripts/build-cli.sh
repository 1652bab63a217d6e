#!/usr/bin/env bash
# Builds the atlas-ports CLI for one target as it ships, into target/<target>/release/.
#   bash scripts/build-cli.sh x86_64-unknown-linux-gnu
# - Linux with glibc: linked statically. A dynamically linked program spends 0.3-0.5 ms of every
#   start in the dynamic loader (mapping libc and libgcc_s, resolving symbols), a quarter of an
#   `ensure` (docs/benchmarks.md). Only the final crate is built with crt-static, so the
#   dependencies built for the Node addon (which must stay dynamic) are reused. Cross-built for
#   arm64 from x86_64, Debian's aarch64-linux-gnu-gcc links it: zig can't link glibc statically.
#   Nothing in the CLI needs what static glibc can't do (NSS, dlopen).
# - musl, and macOS from Linux: cargo-zigbuild (musl is static anyway).
# - Windows, and macOS on macOS: cargo.
# MACOSX_DEPLOYMENT_TARGET is passed through.
set -euo pipefail
cd "$(dirname "$0")/.."
t=$1
case $t in
  *-linux-gnu)
    if [[ $t == aarch64-* && $(uname -m) != aarch64 ]]; then
      export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
    fi
    cargo rustc --release --locked -p atlas-ports-cli --bin atlas-ports --target "$t" -- -C target-feature=+crt-static
    ;;
  *-linux-musl)
    cargo zigbuild --release --locked -p atlas-ports-cli --target "$t"
    ;;
  *-apple-darwin)
    if [[ $(uname) == Darwin ]]; then
      cargo build --release --locked -p atlas-ports-cli --target "$t"
    else
      # zig's linker asks for xcrun, which Linux lacks; the question is harmless.
      cargo zigbuild --release --locked -p atlas-ports-cli --target "$t" 2>&1 | grep -v 'xcrun' || true
    fi
    ;;
  *)
    cargo build --release --locked -p atlas-ports-cli --target "$t"
    ;;
esac
exe=atlas-ports; [[ $t == *windows* ]] && exe=atlas-ports.exe
test -f "target/$t/release/$exe" || { echo "no CLI was built for $t" >&2; exit 1; }
