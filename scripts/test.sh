#!/usr/bin/env bash
# Runs every test, as CI does (root; it starts real LXC containers):
#  1. build with warnings as errors; the lint (scripts/lint.sh: clang-format,
#     clang-tidy, shellcheck; any finding fails); unit tests; integration
#     tests on real LXC containers against a simulated NVIDIA host;
#  2. the same two suites built with AddressSanitizer and UBSan;
#  3. each libFuzzer target briefly on its seed corpus;
#  4. the Debian package: build, lintian, install, integration tests against
#     the installed files, purge, and install beside an lxc-pve stand-in;
#  5. that .deb in systemd hosts of Debian 13 (LXC 6.0) and Debian sid (LXC
#     7.0) (LXC containers booting systemd on pure cgroup2, tests/systemd/):
#     the user-setup integration tests, the worker's transient units,
#     Proxmox-style units, journald, the boot unit across a reboot. Their root
#     file systems are cached in /var/cache/phoenix-gpu-hooks-test/.
# Usage: sudo scripts/test.sh
# PHX_SKIP_SANITIZE=1, PHX_SKIP_FUZZ=1, PHX_SKIP_PACKAGE=1, PHX_SKIP_SYSTEMD_HOST=1 leave a stage out
# (for quick local runs; CI runs them all). PHX_FUZZ_SECONDS (default 15).
# PHX_SYSTEMD_HOST_RELEASES (default "trixie sid"): the systemd hosts' Debian releases.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $EUID -eq 0 ]] || { echo "run as root: the integration tests start real LXC containers" >&2; exit 1; }
scripts/deps.sh
jobs=$(nproc)
stage() { printf '\n===== %s =====\n' "$*"; }

stage "build and test (RelWithDebInfo, -Werror)"
build=${PHX_BUILD_DIR:-build-test}
cmake -S . -B "$build" -DPHX_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$jobs"
scripts/lint.sh "$build"
(cd "$build" && ctest -L unit --output-on-failure && ctest -L integration --output-on-failure)

if [[ ${PHX_SKIP_SANITIZE:-0} != 1 ]]; then
  stage "ASan + UBSan: unit and integration tests"
  cmake -S . -B build-sanitize -DPHX_WERROR=ON -DPHX_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build build-sanitize -j"$jobs"
  # Leak checking stays on for the unit tests; the hooks run inside
  # namespaces where LeakSanitizer's tracer cannot attach, and a detached
  # worker's leaks at exit are not what these runs look for.
  (cd build-sanitize && ctest -L unit --output-on-failure &&
    ASAN_OPTIONS=detect_leaks=0 ctest -L integration --output-on-failure)
fi

if [[ ${PHX_SKIP_FUZZ:-0} != 1 ]]; then
  stage "fuzzing (${PHX_FUZZ_SECONDS:-15} s per target)"
  scripts/fuzz.sh "${PHX_FUZZ_SECONDS:-15}"
fi

debdir="build-deb"
if [[ ${PHX_SKIP_PACKAGE:-0} != 1 ]]; then
  stage "Debian package"
  # Built once here; the package test and the systemd host use this .deb.
  rm -rf "$debdir" && mkdir -p "$debdir"
  echo "building the package (log: $debdir/build.log)"
  scripts/build-deb.sh "$debdir" >/dev/null 2>"$debdir/build.log" || { tail -n 60 "$debdir/build.log"; exit 1; }
  PHX_PACKAGE_PREBUILT=$debdir tests/package/test_package.sh
fi

if [[ ${PHX_SKIP_SYSTEMD_HOST:-0} != 1 ]]; then
  if ! ls "$debdir"/phoenix-gpu-hooks_*.deb >/dev/null 2>&1; then
    mkdir -p "$debdir"
    scripts/build-deb.sh --nocheck "$debdir" >/dev/null 2>"$debdir/build.log" || { tail -n 60 "$debdir/build.log"; exit 1; }
  fi
  # Debian 13: LXC 6.0.4 (Proxmox VE 9 runs lxc-pve 6.0.5); sid: LXC 7.0.
  for release in ${PHX_SYSTEMD_HOST_RELEASES:-trixie sid}; do
    stage "systemd host: Debian $release, the .deb built on Debian 12"
    tests/systemd/run.sh --release "$release" "$debdir"
  done
fi
stage "all tests passed"
