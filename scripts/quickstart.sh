#!/usr/bin/env bash
# One command for a newcomer: set everything up and allocate a web port for the current
# worktree (in a repository without a registry, that allocation creates it).
#   bash scripts/quickstart.sh            # from anywhere inside a git worktree
set -euo pipefail
here=$(pwd)
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/setup.sh" cli
(cd "$root" && cargo build --release -p atlas-ports-cli)
bin="$root/target/release/atlas-ports"
cd "$here"
"$bin" allocate --service web --description "quickstart"
echo
echo "The CLI is at $bin (put it on your PATH, e.g. cargo install --path $root/cli)."
