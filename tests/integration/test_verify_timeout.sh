#!/bin/bash
# A planned node never appears (creation off, no uvm nodes) and PHOENIX_GPU_VERIFY_TIMEOUT=2:
# the worker gives up with status "timeout" and a strong warning naming each failing node,
# its reason and a fix, with the container's /dev listing; the container keeps running
# (fail later) and "phoenix-gpu status" exits 1 showing the same listing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

phx_setup_tmp
export PHOENIX_GPU_HOST_ROOT=$PHX_T/host
phx_sim_host "$PHOENIX_GPU_HOST_ROOT" --no-uvm-nodes
phx_create_ct c1 --env NVIDIA_VISIBLE_DEVICES=all --env PHOENIX_GPU_CREATE_NODES=0 \
    --env PHOENIX_GPU_VERIFY_TIMEOUT=2
phx_start c1
phx_assert_eq RUNNING "$(phx_state c1)" "container running"
lxclog=$(cat "$PHX_T/c1.lxc.log")
phx_assert_not_contains "$lxclog" "Failed to run" "LXC ran every hook successfully (exit 0)"
phx_wait_gpu_status c1 timeout 10 ||
    phx_fail "status never reached timeout (state: $(phx_gpu_status c1))"
echo "ok: status timeout"
phx_assert_eq RUNNING "$(phx_state c1)" "container still running after the timeout"

log=$(cat "$PHOENIX_GPU_LOG_DIR/c1.log")
phx_assert_contains "$log" "WARNING: GPU devices NOT ready in container c1" "log: strong warning"
for n in nvidia-uvm nvidia-uvm-tools; do
    line=$(grep -F -- "  - /dev/$n does not exist in the container" <<<"$log" || true)
    [[ -n $line ]] || phx_fail "log: no failing-node line for /dev/$n"
    phx_assert_contains "$line" "Fix: " "log: /dev/$n has a fix"
done
phx_assert_not_contains "$(grep -- '^  - ' <<<"$log")" "/dev/nvidia0" "log: nvidia0 not listed as failing"
phx_assert_contains "$log" "The container's /dev:" "log: /dev listing announced"
grep -Eq '^ *c.* 195, +0 nvidia0$' <<<"$log" || phx_fail "log: no 'ls -la' style line for nvidia0"
echo "ok: log: ls -la style line for nvidia0"
grep -Eq '^ *c.* 1, +3 null$' <<<"$log" || phx_fail "log: no line for /dev/null in the listing"
echo "ok: log: listing covers the whole /dev"

rc=0
out=$("$PHX_CLI" status c1 -P "$PHX_LXCPATH") || rc=$?
phx_assert_eq 1 "$rc" "phoenix-gpu status exits 1"
phx_assert_contains "$out" "timeout" "phoenix-gpu status says timeout"
phx_assert_contains "$out" "container /dev at the timeout:" "phoenix-gpu status shows the listing"
grep -Eq 'c.* 195, +0 nvidia0' <<<"$out" || phx_fail "phoenix-gpu status: no nvidia0 line in the listing"
echo "ok: phoenix-gpu status listing has nvidia0"
phx_assert_contains "$(grep nvidia-uvm <<<"$out")" "missing" "phoenix-gpu status: nvidia-uvm missing"
phx_stop c1
echo PASS
