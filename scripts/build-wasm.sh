#!/usr/bin/env bash
# Builds the WebAssembly packages (the bindings-wasm crate): target/wasm/nodejs (require()) and
# target/wasm/web (ES module for browsers), from one .wasm built with the size-optimised
# `wasm-release` profile. Installs what it needs first (scripts/install-wasm-bindgen.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-wasm-bindgen.sh

cargo rustc -p atlas-ports-wasm --lib --locked --target wasm32-unknown-unknown --profile wasm-release \
  --crate-type cdylib
wasm=target/wasm32-unknown-unknown/wasm-release/atlas_ports_wasm.wasm
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)

for flavour in nodejs web; do
  out=target/wasm/$flavour
  rm -rf "$out"
  # The name section (function names for stack traces) is a fifth of the file: not shipped.
  wasm-bindgen --target "$flavour" --out-dir "$out" --out-name atlas_ports \
    --remove-name-section --remove-producers-section "$wasm"
  # wasm-bindgen declares `[Symbol.dispose]`, which TypeScript knows only with the
  # esnext.disposable lib: the declarations ask for it, so `tsc --strict` passes in any project.
  sed -i '1i /// <reference lib="esnext.disposable" />' "$out/atlas_ports.d.ts"
  if [[ $flavour == web ]]; then module='"type": "module", "module": "atlas_ports.js",'; else module=''; fi
  cat > "$out/package.json" <<JSON
{
  "name": "atlas-ports-wasm",
  "version": "$version",
  "description": "atlas-ports registry engine in WebAssembly ($flavour)",
  "license": "MIT",
  $module
  "main": "atlas_ports.js",
  "types": "atlas_ports.d.ts",
  "files": ["atlas_ports.js", "atlas_ports_bg.wasm", "atlas_ports.d.ts", "atlas_ports_bg.wasm.d.ts"]
}
JSON
done
printf 'wasm: %s bytes (%s)\n' "$(wc -c < target/wasm/nodejs/atlas_ports_bg.wasm)" target/wasm/nodejs/atlas_ports_bg.wasm
