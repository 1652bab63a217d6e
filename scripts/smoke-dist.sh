#!/usr/bin/env bash
# Smoke-runs what scripts/dist.sh built, each binary on its own platform as far as this Linux
# x86_64 machine can run it: natively, under qemu-aarch64-static (arm64), under wine (Windows);
# the macOS binaries by their Mach-O headers. Every CLI: init, allocate, check of an allocated
# and of a busy port, allocate skipping the busy one, status, and its dashboard. Every addon that a Node for its
# platform can load here: through the package's own loader, allocatePort and checkPortAvailable.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
work=$(mktemp -d)
trap 'rm -rf "$work"; [[ -n ${listener:-} ]] && kill "$listener" 2>/dev/null || true' EXIT
failures=0
pass() { printf '    ok    %s\n' "$*"; }
fail() { printf '    FAIL  %s\n' "$*"; failures=$((failures + 1)); }

# Four free ports in a row, and a listener on the second: the "busy" port.
base=$(python3 - <<'PY'
import socket
for base in range(42000, 60000, 10):
    try:
        socks = []
        for p in range(base, base + 4):
            s = socket.socket(); s.bind(("0.0.0.0", p)); socks.append(s)
        print(base); break
    except OSError:
        for s in socks: s.close()
PY
)
busy=$((base + 1))
python3 -c "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', $busy)); s.listen(); time.sleep(3600)" &
listener=$!
sleep 0.3

unpack() { # archive → folder holding the CLI
  local archive=$1 dir="$work/$(basename "$1")"
  mkdir -p "$dir"
  if [[ $archive == *.zip ]]; then (cd "$dir" && unzip -q "$archive"); else tar -C "$dir" -xzf "$archive"; fi
  echo "$dir/$(basename "${archive%.tar.gz}" .zip)"
}

# wine: a prefix of our own (scripts/wine-prefix.sh).
wine_ready=
wine_setup() {
  [[ -n $wine_ready ]] && return 0
  WINEPREFIX=$(bash scripts/wine-prefix.sh)
  export WINEPREFIX WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=;bcryptprimitives=n"
  wine_ready=1
}

# Runs a CLI with a runner; the registry path is given as the runner's program sees it.
smoke_cli() {
  local label=$1 exe=$2; shift 2
  local runner=("$@")
  local dir="$work/cli-$label"; mkdir -p "$dir"
  local reg="$dir/ports.json" arg_reg="$dir/ports.json" out="$dir/out"
  [[ ${runner[0]:-} == wine ]] && arg_reg=$(winepath -w "$reg" 2>/dev/null)
  printf '{"ranges": {"web": {"start": %d, "end": %d}}, "allocations": []}\n' "$base" $((base + 3)) >"$reg"
  run() { "${runner[@]}" "$exe" "$@" --registry "$arg_reg" >"$out" 2>&1; }
  local status
  run allocate --service web --worktree smoke --quiet && [[ $(tr -d '\r' <"$out") == "$base" ]] \
    || { fail "$label: allocate: $(cat "$out")"; return; }
  set +e; run check "$base"; status=$?; set -e
  [[ $status == 1 ]] || { fail "$label: check of the allocated port exited $status: $(cat "$out")"; return; }
  set +e; run check "$busy"; status=$?; set -e
  [[ $status == 1 ]] && grep -q "in use" "$out" || { fail "$label: check of the busy port exited $status: $(cat "$out")"; return; }
  run allocate --service web --worktree smoke2 --quiet && [[ $(tr -d '\r' <"$out") == "$((base + 2))" ]] \
    || { fail "$label: allocate did not skip the busy port: $(cat "$out")"; return; }
  run status --all && grep -q "$((base + 2)) → smoke2" "$out" || { fail "$label: status: $(cat "$out")"; return; }
  pass "$label: CLI (init-free allocate, check allocated and busy, allocate skipping, status)"
}

# Starts `dashboard` (after smoke_cli, on its registry of two allocations) and reads its page and
# its state through its token, as the page does.
smoke_dashboard() {
  local label=$1 exe=$2; shift 2
  local runner=("$@")
  local dir="$work/cli-$label" port=$((base + 3))
  local reg="$dir/ports.json" arg_reg="$dir/ports.json"
  [[ ${runner[0]:-} == wine ]] && arg_reg=$(winepath -w "$reg" 2>/dev/null)
  "${runner[@]}" "$exe" dashboard --port "$port" --registry "$arg_reg" </dev/null >"$dir/dashboard" 2>&1 &
  local pid=$!
  if python3 - "$port" <<'PY'
import json, re, sys, time, urllib.request
port = int(sys.argv[1])
deadline = time.time() + 60
while True:
    try:
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("no answer within 60 s")
        time.sleep(0.3)
token = re.search(r'name="atlas-ports-token" content="([0-9a-f]{64})"', page).group(1)
ask = urllib.request.Request(f"http://127.0.0.1:{port}/api/state", headers={"x-atlas-ports-token": token})
state = json.load(urllib.request.urlopen(ask, timeout=30))
sys.exit(0 if state["total"] == 2 else f"unexpected state: {state}")
PY
  then
    pass "$label: dashboard (its page, and its state through the page's token)"
  else
    fail "$label: dashboard: $(cat "$dir/dashboard")"
  fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# Loads an addon through the package's loader, in a project holding the main package and the
# platform package, and allocates.
smoke_addon() {
  local label=$1 platform=$2; shift 2
  local node=("$@")
  local proj="$work/addon-$label"; mkdir -p "$proj/node_modules"
  tar -C "$proj/node_modules" -xzf "dist/npm/atlas-ports-$version.tgz" && mv "$proj/node_modules/package" "$proj/node_modules/atlas-ports"
  tar -C "$proj/node_modules" -xzf "dist/npm/atlas-ports-$platform-$version.tgz" && mv "$proj/node_modules/package" "$proj/node_modules/atlas-ports-$platform"
  local reg="$proj/ports.json" arg_reg="$proj/ports.json" script="$proj/smoke.js" arg_script="$proj/smoke.js"
  printf '{"ranges": {"web": {"start": %d, "end": %d}}, "allocations": []}\n' "$base" $((base + 3)) >"$reg"
  if [[ ${node[0]:-} == wine ]]; then
    arg_reg=$(winepath -w "$reg"); arg_script=$(winepath -w "$script")
  fi
  cat >"$script" <<JS
const atlas = require('atlas-ports')
const o = { registry: String.raw\`$arg_reg\` }
const a = atlas.allocatePortSync('web', 'smoke', '', o)
const held = atlas.checkPortAvailableSync(a, o)
const busy = atlas.checkPortAvailableSync($busy, o)
const b = atlas.allocatePortSync('web', 'smoke2', '', o)
console.log(JSON.stringify({ a, held, busy, b, target: atlas.__napiBindingTarget }))
JS
  local out="$proj/out"
  # Node under wine fails with EBADF when its stdout is a pipe: a file it is.
  (cd "$proj" && "${node[@]}" "$arg_script" >"$out" 2>&1) || true
  local want="{\"a\":$base,\"held\":false,\"busy\":false,\"b\":$((base + 2)),\"target\":\"native\"}"
  if [[ $(tr -d '\r' <"$out" | tail -1) == "$want" ]]; then
    pass "$label: addon through the package loader (allocatePort, checkPortAvailable)"
  else
    fail "$label: addon: $(cat "$out")"
  fi
}

# Official Node for Windows (an MSVC build) after `npm install` of the main tarball as npm does it
# on Windows (--os win32 --cpu x64; the platform packages come from dist/ through overrides, as
# they would from the registry), with no environment variable: the addon loads from its platform
# package, the bin runs; without the platform package the error names the package to install.
smoke_windows_install() {
  local node_exe=$1 proj="$work/win-install" overrides="" t name
  for t in dist/npm/atlas-ports-*-"$version".tgz; do
    name=$(basename "$t" "-$version.tgz")
    [[ $name == atlas-ports-wasm ]] && continue
    overrides+="${overrides:+,}\"$name\": \"file:$root/$t\""
  done
  mkdir -p "$proj" "$proj-bare"
  echo "{\"name\": \"proj\", \"version\": \"1.0.0\", \"private\": true, \"overrides\": {$overrides}}" >"$proj/package.json"
  echo '{"name": "proj", "version": "1.0.0", "private": true}' >"$proj-bare/package.json"
  (cd "$proj" && npm install --no-audit --no-fund --os=win32 --cpu=x64 "$root/dist/npm/atlas-ports-$version.tgz" >"$proj/npm.log" 2>&1) \
    || { fail "win32-x64-msvc: npm install --os=win32: $(cat "$proj/npm.log")"; return; }
  (cd "$proj-bare" && npm install --no-audit --no-fund --os=win32 --cpu=x64 --omit=optional "$root/dist/npm/atlas-ports-$version.tgz" >/dev/null 2>&1)
  cat >"$proj/load.js" <<'JS'
let out
try {
  const atlas = require('atlas-ports')
  const file = Object.keys(require.cache).find((f) => f.endsWith('.node'))
  out = { target: atlas.__napiBindingTarget, file: require('path').relative(process.cwd(), file), env: process.env.NAPI_RS_NATIVE_LIBRARY_PATH ?? null }
} catch (e) {
  out = { code: e.code, message: e.message }
}
console.log(JSON.stringify(out))
JS
  cp "$proj/load.js" "$proj-bare/load.js"
  (cd "$proj" && env -u NAPI_RS_NATIVE_LIBRARY_PATH wine "$node_exe" load.js >"$proj/out" 2>&1) || true
  local want='{"target":"native","file":"node_modules\\atlas-ports-win32-x64-msvc\\atlas-ports.win32-x64-msvc.node","env":null}'
  if [[ $(tr -d '\r' <"$proj/out" | tail -1) == "$want" ]]; then
    pass "win32-x64-msvc: npm install --os=win32, then official node.exe loads the addon from its platform package (no environment variable)"
  else
    fail "win32-x64-msvc: official node.exe after npm install: $(cat "$proj/out")"
  fi
  (cd "$proj" && wine "$node_exe" node_modules/atlas-ports/bin/atlas-ports.js --version >"$proj/bin" 2>&1) || true
  if [[ $(tr -d '\r' <"$proj/bin") == "atlas-ports $version" ]]; then
    pass "win32-x64-msvc: the package's bin under official node.exe"
  else
    fail "win32-x64-msvc: the bin under official node.exe: $(cat "$proj/bin")"
  fi
  (cd "$proj-bare" && wine "$node_exe" load.js >"$proj-bare/out" 2>&1) || true
  if grep -q '"code":"ERR_NATIVE_BINDING_MISSING".*on win32-x64-msvc: its package atlas-ports-win32-x64-msvc is not installed.*Supported platforms: .*win32-x64-msvc' "$proj-bare/out"; then
    pass "win32-x64-msvc: without its platform package, the error names the package that loads"
  else
    fail "win32-x64-msvc: the error without the platform package: $(cat "$proj-bare/out")"
  fi
}

# Windows replaces the registry while other processes read it: parallel writers and readers.
windows_contention() {
  local exe=$1 dir="$work/contention" n=16
  mkdir -p "$dir"
  local reg="$dir/ports.json"
  printf '{"ranges": {"bulk": {"start": 46000, "end": 46099}}, "allocations": []}\n' >"$reg"
  local wreg; wreg=$(winepath -w "$reg")
  local pids=() readers=() i
  for i in $(seq 1 $n); do
    wine "$exe" allocate --service bulk --worktree "w$i" --quiet --registry "$wreg" >"$dir/out$i" 2>&1 &
    pids+=($!)
    wine "$exe" list --all --registry "$wreg" >/dev/null 2>&1 &
    readers+=($!)
  done
  local failed=0
  for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
  for p in "${readers[@]}"; do wait "$p" || true; done
  local ports; ports=$(cat "$dir"/out* | tr -d '\r' | grep -E '^[0-9]+$' | sort -u | wc -l)
  if ((failed == 0 && ports == n)) && python3 -c "import json,sys; r=json.load(open('$reg')); sys.exit(len(r['allocations']) != $n)"; then
    pass "x86_64-pc-windows-gnu: $n writers and $n readers at once under wine: $n distinct ports, nothing lost"
  else
    fail "x86_64-pc-windows-gnu: contention: $failed failed, $ports distinct ports: $(cat "$dir"/out* | sort | uniq -c | head -5)"
  fi
}

macho() {
  local label=$1 file=$2 minos=$3
  local headers
  headers=$(llvm-objdump --macho --private-headers "$file")
  if grep -Eq "(minos|version) $minos\$" <<<"$headers"; then
    pass "$label: $(basename "$file") is Mach-O for macOS $minos or later"
  else
    fail "$label: $(basename "$file"): no minimum macOS $minos in its headers"
  fi
}

# A Linux CLI is linked statically (scripts/build-cli.sh): no program interpreter to load.
static_elf() {
  local label=$1 file=$2
  if llvm-readelf --program-headers "$file" | grep -q INTERP; then
    fail "$label: $(basename "$file") is linked dynamically"
  else
    pass "$label: $(basename "$file") is linked statically"
  fi
}

echo "==> smoke runs of dist/ (ports $base-$((base + 3)), $busy busy)"
for archive in dist/cli/*; do
  name=$(basename "$archive"); target=${name#atlas-ports-"$version"-}; target=${target%.tar.gz}; target=${target%.zip}
  dir=$(unpack "$root/$archive")
  case "$target" in
    x86_64-unknown-linux-gnu | x86_64-unknown-linux-musl)
      static_elf "$target" "$dir/atlas-ports"
      smoke_cli "$target" "$dir/atlas-ports" && smoke_dashboard "$target" "$dir/atlas-ports" ;;
    aarch64-unknown-linux-gnu | aarch64-unknown-linux-musl)
      static_elf "$target" "$dir/atlas-ports"
      smoke_cli "$target" "$dir/atlas-ports" qemu-aarch64-static && smoke_dashboard "$target" "$dir/atlas-ports" qemu-aarch64-static ;;
    x86_64-pc-windows-gnu)
      wine_setup && smoke_cli "$target" "$dir/atlas-ports.exe" wine && smoke_dashboard "$target" "$dir/atlas-ports.exe" wine \
        && windows_contention "$dir/atlas-ports.exe" ;;
    x86_64-apple-darwin) macho "$target" "$dir/atlas-ports" 10.12 ;;
    aarch64-apple-darwin) macho "$target" "$dir/atlas-ports" 11.0 ;;
  esac
done

for tarball in dist/npm/atlas-ports-*-"$version".tgz; do
  platform=$(basename "$tarball" "-$version.tgz"); platform=${platform#atlas-ports-}
  [[ $platform == wasm ]] && continue
  node_file="$work/np-$platform"; mkdir -p "$node_file"; tar -C "$node_file" -xzf "$tarball"
  case "$platform" in
    linux-x64-gnu) smoke_addon "$platform" "$platform" node ;;
    linux-arm64-gnu) smoke_addon "$platform" "$platform" qemu-aarch64-static -L /usr/aarch64-linux-gnu "$(bash scripts/foreign-node.sh linux-arm64)" ;;
    win32-x64-msvc) wine_setup && smoke_addon "$platform" "$platform" wine "$(bash scripts/foreign-node.sh win-x64)" \
      && smoke_windows_install "$(bash scripts/foreign-node.sh win-x64)" ;;
    darwin-x64) macho "$platform" "$node_file/package/atlas-ports.$platform.node" 10.12 ;;
    darwin-arm64) macho "$platform" "$node_file/package/atlas-ports.$platform.node" 11.0 ;;
    linux-x64-musl | linux-arm64-musl) echo "    -     $platform: no Node for musl runs here (Debian 12's musl is older than Node's musl builds need)" ;;
  esac
done

# npm install of the main package and this platform's, in a fresh project: the addon comes from
# the platform package, and the bin works.
proj="$work/npm-install"; mkdir -p "$proj"
echo '{"name": "proj", "version": "1.0.0", "private": true}' >"$proj/package.json"
if (cd "$proj" && npm install --no-audit --no-fund --omit=optional "$root/dist/npm/atlas-ports-$version.tgz" "$root/dist/npm/atlas-ports-linux-x64-gnu-$version.tgz" >/dev/null 2>&1) \
  && ! ls "$proj"/node_modules/atlas-ports/*.node >/dev/null 2>&1 \
  && [[ $(cd "$proj" && node -p "require('atlas-ports'); Object.keys(require.cache).find((f) => f.endsWith('.node'))") == "$proj/node_modules/atlas-ports-linux-x64-gnu/atlas-ports.linux-x64-gnu.node" ]] \
  && [[ $(cd "$proj" && npx --no-install atlas-ports --version) == "atlas-ports $version" ]]; then
  pass "npm install of the main and linux-x64-gnu tarballs: the addon loads from the platform package; npx works"
else
  fail "npm install of the main and linux-x64-gnu tarballs"
fi

# The WebAssembly package, as Node's require() and import see it.
wasm="$work/wasm"; mkdir -p "$wasm/node_modules"
tar -C "$wasm/node_modules" -xzf "dist/npm/atlas-ports-wasm-$version.tgz" && mv "$wasm/node_modules/package" "$wasm/node_modules/atlas-ports-wasm"
if (cd "$wasm" && node -e "const { PortRegistry } = require('atlas-ports-wasm'); const r = PortRegistry.withDefaultRanges(); if (r.ensurePort('web', 'w', undefined, { busy: [8080] }) !== 8081) process.exit(1)" \
  && node --input-type=module -e "import { PortRegistry } from 'atlas-ports-wasm'; if (PortRegistry.withDefaultRanges().allocatePort('api', 'w') !== 3000) process.exit(1)"); then
  pass "wasm: require and import"
else
  fail "wasm: the package does not load"
fi

if ((failures)); then
  echo "$failures smoke runs failed" >&2
  exit 1
fi
echo "all smoke runs passed"
