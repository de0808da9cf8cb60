#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for SECONDS (default
# 20) on its seed corpus. Crashes and sanitizer reports fail the run.
# Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
build=${PHX_FUZZ_BUILD_DIR:-build-fuzz}
scripts/deps.sh
CC=clang CXX=clang++ cmake -S . -B "$build" -DPHX_FUZZ=ON -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target fuzz_proc fuzz_selection fuzz_files fuzz_ldcache fuzz_lxc_config
for t in proc selection files ldcache lxc_config; do
  work=$(mktemp -d)
  cp -r tests/fuzz/corpus/$t/. "$work/"
  echo "== fuzz_$t: ${secs}s"
  rc=0
  # Crash inputs are written to $work/artifacts; libFuzzer exits non-zero on
  # a crash, a sanitizer report or a timeout.
  mkdir -p "$work/artifacts"
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -max_len=65536 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work" >"$work/log" 2>&1 || rc=$?
  grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb|#[0-9]+.*DONE)' "$work/log" || true
  if ((rc != 0)); then
    grep -E 'ERROR|SUMMARY|crash|Test unit written' "$work/log" | head -20
    echo "fuzz_$t FAILED (exit $rc)" >&2
    exit 1
  fi
  rm -rf "$work"
done
