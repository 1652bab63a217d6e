#!/usr/bin/env bash
# Installs Debian packages, waiting (bounded) for another apt or dpkg process to finish first:
# on a freshly booted machine, unattended upgrades hold the dpkg and package-list locks for
# minutes, and apt-get would fail at once.
#   bash scripts/apt-install.sh PACKAGE...
# ATLAS_PORTS_APT_WAIT: how many seconds to wait for the locks (default 900).
set -euo pipefail
(($#)) || exit 0
wait_for=${ATLAS_PORTS_APT_WAIT:-900}
deadline=$((SECONDS + wait_for))
export DEBIAN_FRONTEND=noninteractive

# Runs apt-get with its own lock wait, and again while the failure is a held lock, until the
# deadline: apt's DPkg::Lock::Timeout covers the dpkg lock, not every lock of every version.
apt_get() {
  local log status
  log=$(mktemp)
  while :; do
    status=0
    # stderr to a file, shown after: its lines are few, and a pipe through tee could still be
    # writing the file when it is searched.
    apt-get -o DPkg::Lock::Timeout="$((deadline > SECONDS ? deadline - SECONDS : 0))" "$@" 2>"$log" || status=$?
    cat "$log" >&2
    if ((status == 0)); then
      rm -f "$log"
      return 0
    fi
    if ! grep -qiE 'could not (get|open) lock|unable to (acquire|lock)|is held by process|resource temporarily unavailable' "$log" \
      || ((SECONDS >= deadline)); then
      rm -f "$log"
      if ((SECONDS >= deadline)); then
        echo "apt-get $*: another apt or dpkg process held its lock for ${wait_for} s (ATLAS_PORTS_APT_WAIT)" >&2
      fi
      return "$status"
    fi
    echo "apt-get: another apt or dpkg process holds the lock; waiting (up to $((deadline - SECONDS)) s more)" >&2
    sleep 5
  done
}

apt_get update -qq
apt_get install -y -qq "$@" >/dev/null
