#!/usr/bin/env bash
# The systemd-host stage (root; called by scripts/test.sh): boots a Debian
# systemd host with its release's LXC (scripts/systemd-host.sh; default
# trixie: Debian 13, LXC 6.0, as Proxmox VE 9), installs the .deb built on
# Debian 12 in it and runs tests/systemd/in_host.sh there on nested
# containers, across a reboot of that host.
# Usage: tests/systemd/run.sh [--release R] DEBDIR   (DEBDIR: where scripts/build-deb.sh left the .deb)
# PHX_SYSTEMD_HOST_OUT=DIR keeps the logs there (default: a temporary dir, removed on success).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
release=trixie
if [[ ${1:-} == --release ]]; then release=$2; shift 2; fi
[[ $# -eq 1 ]] || { echo "usage: $0 [--release R] DEBDIR" >&2; exit 2; }
[[ $EUID -eq 0 ]] || { echo "run as root: it starts an LXC container" >&2; exit 1; }
debs=("$1"/phoenix-gpu-hooks_*.deb)
[[ -f ${debs[0]} ]] || { echo "no phoenix-gpu-hooks_*.deb in $1" >&2; exit 1; }
out=${PHX_SYSTEMD_HOST_OUT:-$(mktemp -d /tmp/phx-systemd-out.XXXXXX)}
mkdir -p "$out/deb"
rm -f "$out"/deb/*.deb
cp "${debs[0]}" "$out/deb/"
t0=$SECONDS
"$src/scripts/systemd-host.sh" build --release "$release" >/dev/null
echo "systemd host ($release): root file system ready in $((SECONDS - t0)) s"
t1=$SECONDS
rc=0
"$src/scripts/systemd-host.sh" run --release "$release" --timeout 1200 "$out" bash tests/systemd/in_host.sh || rc=$?
echo "systemd host ($release): boot, tests, reboot, checks in $((SECONDS - t1)) s"
echo "summary:"
sed 's/^/  /' "$out/summary" 2>/dev/null || true
if ((rc != 0)); then
    echo "--- in-host output (tail) ---"
    tail -n 60 "$out/cmd.log" 2>/dev/null || true
    echo "FAILED (logs in $out)"
    exit 1
fi
[[ -n ${PHX_SYSTEMD_HOST_OUT:-} ]] || rm -rf "$out"
echo PASS
