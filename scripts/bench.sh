#!/usr/bin/env bash
# The benchmarks quoted in docs/benchmarks.md, run on the CLI as it ships: built by
# scripts/build-cli.sh for this machine (on Linux, linked statically). `cargo bench` alone
# measures the development build, which pays the dynamic loader at every start.
#   bash scripts/bench.sh                    # allocate, phases and status
#   bash scripts/bench.sh allocate           # some of them
# BENCH_RUNS and BENCH_SIZES pass through (see tests/bench/allocate.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
benches=("$@")
((${#benches[@]})) || benches=(allocate phases status)
host=$(rustc -vV | sed -n 's/^host: //p')
bash scripts/build-cli.sh "$host" >&2
export ATLAS_PORTS_BENCH_BIN="$PWD/target/$host/release/atlas-ports"
[[ $host == *windows* ]] && ATLAS_PORTS_BENCH_BIN+=.exe
for bench in "${benches[@]}"; do
  cargo bench --locked -p atlas-ports-cli --bench "$bench"
done
