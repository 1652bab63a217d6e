#!/usr/bin/env bash
# For the release workflow: puts the binaries that native runners built (ARTIFACTS/build-<target>/,
# each holding the CLI and the addon) where scripts/dist.sh leaves its own, then packages them all.
set -euo pipefail
cd "$(dirname "$0")/.."
artifacts=$1
targets=()
mkdir -p target/dist-stage/addons
for dir in "$artifacts"/build-*/; do
  t=$(basename "$dir"); t=${t#build-}
  mkdir -p "target/$t/release"
  cp "$dir"/atlas-ports* "target/$t/release/"
  chmod +x "target/$t/release/"atlas-ports*
  cp "$dir"/*.node target/dist-stage/addons/
  targets+=("$t")
done
bash scripts/package-dist.sh "${targets[@]}"
