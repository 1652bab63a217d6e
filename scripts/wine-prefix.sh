#!/usr/bin/env bash
# Prints the path of a wine prefix ready to run what this project builds for Windows
# (target/dist-tools/wineprefix): Windows 10, and a stand-in for bcryptprimitives.dll, whose
# ProcessPrng (imported by Rust's std since 1.78) Debian 12's wine 8 lacks. Test-only.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export WINEPREFIX="$root/target/dist-tools/wineprefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=;bcryptprimitives=n"
sys32="$WINEPREFIX/drive_c/windows/system32"
if [[ ! -f $sys32/bcryptprimitives.dll.shim ]]; then
  wineboot -i >/dev/null 2>&1 || true
  wine reg add 'HKCU\Software\Wine' /v Version /d win10 /f >/dev/null 2>&1 || true
  src="$root/target/dist-tools/prng"
  mkdir -p "$src"
  cat >"$src/prng.c" <<'C'
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) { return SystemFunction036(data, (ULONG)length); }
C
  printf 'LIBRARY bcryptprimitives.dll\nEXPORTS\n  ProcessPrng\n' >"$src/prng.def"
  x86_64-w64-mingw32-gcc -shared -O2 -o "$src/bcryptprimitives.dll" "$src/prng.c" "$src/prng.def" -ladvapi32
  cp "$src/bcryptprimitives.dll" "$sys32/bcryptprimitives.dll"
  touch "$sys32/bcryptprimitives.dll.shim"
fi
echo "$WINEPREFIX"
