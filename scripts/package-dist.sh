#!/usr/bin/env bash
# Packages built binaries into dist/ (called by scripts/dist.sh and the release workflow): the
# CLIs at target/<target>/release/, the addons at target/dist-stage/addons/, for the targets
# given as arguments; writes dist/npm (platform packages, the main package, the WebAssembly
# package), dist/cli (archives with README and LICENSE) and dist/SHA256SUMS.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
stage="$root/target/dist-stage"
out="$root/dist"
targets=("$@")

rm -rf "$out" "$stage/npm" "$stage/cli" "$stage/wasm"
mkdir -p "$out/npm" "$out/cli"

echo "--- npm packages"
node scripts/dist-npm.mjs "$version" "$stage" "$out/npm" "${targets[@]}"

echo "--- WebAssembly package"
[[ -f target/wasm/web/atlas_ports_bg.wasm ]] || bash scripts/build-wasm.sh
node scripts/dist-wasm.mjs "$version" "$stage" "$out/npm"

echo "--- CLI archives"
for t in "${targets[@]}"; do
  name="atlas-ports-$version-$t"
  dir="$stage/cli/$name"
  mkdir -p "$dir"
  exe=atlas-ports; [[ $t == *windows* ]] && exe=atlas-ports.exe
  cp "target/$t/release/$exe" README.md LICENSE "$dir/"
  if [[ $t == *windows* ]]; then
    (cd "$stage/cli" && zip -qr "$out/cli/$name.zip" "$name")
  else
    tar -C "$stage/cli" -czf "$out/cli/$name.tar.gz" "$name"
  fi
done
(cd "$out" && sha256sum npm/* cli/* >SHA256SUMS)
(cd "$out" && ls -l npm cli | sed 's/^/    /')
echo "    $(wc -l <"$out/SHA256SUMS") files in dist/SHA256SUMS"
