#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for SECONDS (default
# 20) on its seed corpus. Crashes and sanitizer reports fail the run.
# Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
build=${PHX_FUZZ_BUILD_DIR:-build-fuzz}
command -v clang++ >/dev/null || { apt-get install -y -qq clang >/dev/null; }
CC=clang CXX=clang++ cmake -S . -B "$build" -DPHX_FUZZ=ON -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target fuzz_proc fuzz_selection fuzz_files
for t in proc selection files; do
  work=$(mktemp -d)
  cp -r tests/fuzz/corpus/$t/. "$work/"
  echo "== fuzz_$t: ${secs}s"
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -max_len=65536 -timeout=10 -print_final_stats=1 \
    "$work" 2>&1 | grep -E '^(stat::|#[0-9]+.*DONE|==[0-9]+==ERROR|SUMMARY)' || true
  # libFuzzer exits non-zero on a finding; rerun the verdict explicitly.
  "$build/tests/fuzz/fuzz_$t" -runs=0 "$work" >/dev/null 2>&1
  rm -rf "$work"
done
