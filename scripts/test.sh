#!/usr/bin/env bash
# Runs every test: unit tests, then the integration tests on real LXC
# containers (root), with warnings as errors, then the Debian package test
# (build, lintian, install, integration tests against the installed files,
# purge). Usage: sudo scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $EUID -eq 0 ]] || { echo "run as root: the integration tests start real LXC containers" >&2; exit 1; }
scripts/deps.sh
build=${PHX_BUILD_DIR:-build-test}
cmake -S . -B "$build" -DPHX_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest -L unit --output-on-failure
ctest -L integration --output-on-failure
cd "$OLDPWD"
tests/package/test_package.sh
