#!/usr/bin/env bash
# Prints the path of a Node.js binary for another platform (win-x64 or linux-arm64), taken from
# the npm package node-<platform>@22 and kept under target/dist-tools/.
set -euo pipefail
cd "$(dirname "$0")/.."
platform=$1
dir="target/dist-tools/node-$platform"
exe="$dir/package/bin/node"; [[ $platform == win-* ]] && exe="$dir/package/bin/node.exe"
if [[ ! -f $exe ]]; then
  mkdir -p "$dir"
  tarball=$(cd "$dir" && npm pack --silent "node-$platform@22" 2>/dev/null | tail -1)
  tar -C "$dir" -xzf "$dir/$tarball"
  rm -f "$dir/$tarball"
fi
echo "$(cd "$(dirname "$exe")" && pwd)/$(basename "$exe")"
