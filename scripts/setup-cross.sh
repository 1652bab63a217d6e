#!/usr/bin/env bash
# Installs what cross-building and smoke-running the distributables needs, skipping what is
# there: the rustup targets given as arguments, zig and cargo-zigbuild from PyPI, and Debian's
# mingw-w64 (Windows), llvm (Mach-O and PE inspection), qemu-user (arm64), wine (Windows), zip,
# and the arm64 gcc and static glibc (scripts/build-cli.sh).
set -euo pipefail

targets=("$@")
installed=$(rustup target list --installed 2>/dev/null || true)
for t in "${targets[@]}"; do
  if ! grep -qx "$t" <<<"$installed"; then
    echo "rustup target add $t"
    rustup target add "$t"
  fi
done

missing=()
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || missing+=(gcc-mingw-w64-x86-64)
command -v llvm-objdump >/dev/null 2>&1 || missing+=(llvm)
command -v qemu-aarch64-static >/dev/null 2>&1 || missing+=(qemu-user-static)
[[ -d /usr/aarch64-linux-gnu/lib ]] || missing+=(libc6-arm64-cross libstdc++6-arm64-cross)
# Links the static glibc CLI for arm64 (scripts/build-cli.sh).
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || missing+=(gcc-aarch64-linux-gnu)
[[ -f /usr/aarch64-linux-gnu/lib/libc.a ]] || missing+=(libc6-dev-arm64-cross)
command -v wine >/dev/null 2>&1 || missing+=(wine wine64)
command -v zip >/dev/null 2>&1 || missing+=(zip)
if ((${#missing[@]})); then
  echo "apt-get install ${missing[*]}"
  bash "$(dirname "$0")/apt-install.sh" "${missing[@]}"
fi

# zig (the cross linker for Linux arm64/musl and macOS) and cargo-zigbuild, pinned.
if ! python3 -m ziglang version >/dev/null 2>&1; then
  echo "pip install ziglang"
  python3 -m pip install -q ziglang==0.17.1
fi
if ! cargo-zigbuild --version >/dev/null 2>&1; then
  echo "pip install cargo-zigbuild"
  python3 -m pip install -q cargo-zigbuild==0.24.1
  # pyenv's Python puts new commands on PATH through shims made by a rehash.
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
fi
