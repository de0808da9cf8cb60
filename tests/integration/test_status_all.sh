#!/bin/bash
# 'phoenix-gpu status --all' over four starts: one verified (with a broken host config: built-in
# defaults, and the status says so), one whose selection names no GPU (no-plan, with the reason),
# one whose GPU falls off the bus while the worker waits for a late node (timeout, never
# verified), one running with a GPU policy whose config lacks the snippet (no record: found in
# its lxcpath). Table, --json and --format prometheus; exit 1 while any is not verified.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

phx_setup_tmp

# --- verified, with a host config that does not parse ----------------------------------------
export PHOENIX_GPU_HOST_ROOT=$PHX_T/h1
phx_sim_host "$PHOENIX_GPU_HOST_ROOT" --gpus 2
printf '[verify\ntimeout = 3\n' >"$PHOENIX_GPU_CONFIG"
phx_create_ct c1 --env NVIDIA_VISIBLE_DEVICES=all
phx_start c1
phx_wait_gpu_status c1 verified 10 || phx_fail "c1: not verified (state: $(phx_gpu_status c1))"
phx_assert_contains "$(phx_gpu_status c1 message)" "host config: " "c1: the status carries the config problem"
rm -f "$PHOENIX_GPU_CONFIG"

# --- a selection naming no GPU ----------------------------------------------------------------
export PHOENIX_GPU_HOST_ROOT=$PHX_T/h2
phx_sim_host "$PHOENIX_GPU_HOST_ROOT" --gpus 2
phx_create_ct c2 --env NVIDIA_VISIBLE_DEVICES=7
phx_start c2
phx_assert_eq no-plan "$(phx_gpu_status c2)" "c2: status no-plan"

# --- the GPU falls off the bus between the plan and the verification ---------------------------
export PHOENIX_GPU_HOST_ROOT=$PHX_T/h3
h3=$PHOENIX_GPU_HOST_ROOT
phx_sim_host "$h3" --no-uvm-nodes
phx_create_ct c3 --env NVIDIA_VISIBLE_DEVICES=all --env PHOENIX_GPU_CREATE_NODES=0 --env PHOENIX_GPU_VERIFY_TIMEOUT=4
phx_start c3
phx_wait_gpu_status c3 verifying 10 || phx_fail "c3: not verifying (state: $(phx_gpu_status c3))"
rm -r "$h3/proc/driver/nvidia/gpus/0000:00:06.0"
mknod -m 0666 "$h3/dev/nvidia-uvm" c 238 0
mknod -m 0666 "$h3/dev/nvidia-uvm-tools" c 238 1
uvm_in_c3() { [[ $(phx_rdev c3 /dev/nvidia-uvm-tools) == "c 238:1" ]]; }
phx_wait_until 5 uvm_in_c3 || phx_fail "c3: the late uvm nodes were not hot-plugged"
phx_wait_gpu_status c3 timeout 10 || phx_fail "c3: not timeout (state: $(phx_gpu_status c3))"
echo "ok: c3: timeout, not verified, once its GPU is gone"
phx_assert_contains "$(phx_gpu_status c3 message)" "/dev/nvidia0 host-changed: GPU GPU-fe880471" "c3: message names the node"
phx_assert_contains "$(cat "$PHOENIX_GPU_LOG_DIR/c3.log")" "is no longer on the host" "c3: the warning says why"

# --- a GPU policy, but the hooks are not in the config ------------------------------------------
phx_create_ct c4 --no-snippet --env NVIDIA_VISIBLE_DEVICES=all
phx_start c4

# --- one view ----------------------------------------------------------------------------------
rc=0
out=$("$PHX_CLI" status --all -P "$PHX_LXCPATH") || rc=$?
printf '%s\n' "$out"
phx_assert_eq 1 "$rc" "--all exits 1 while one is not verified"
row() { grep -E "^$1 " <<<"$out" || true; }
phx_assert_contains "$(head -n 1 <<<"$out")" "CONTAINER" "--all: header"
phx_assert_contains "$(row c1)" "$PHX_LXCPATH" "--all: c1's lxcpath"
phx_assert_contains "$(row c1)" " verified " "--all: c1 verified"
phx_assert_contains "$(row c1)" " 0,1 " "--all: c1's GPUs"
grep -Eq ' [0-9]+ ms ' <<<"$(row c1)" || phx_fail "--all: c1 has no time to verified"
phx_assert_contains "$(row c2)" " no-plan " "--all: c2 no-plan"
phx_assert_contains "$(row c2)" "no GPU with index 7" "--all: c2's problem"
phx_assert_contains "$(row c3)" " timeout " "--all: c3 timeout"
phx_assert_contains "$(row c3)" "no longer on the host" "--all: c3's problem"
phx_assert_contains "$(row c4)" " unknown " "--all: c4 without a record"
phx_assert_contains "$(row c4)" "no record of its start" "--all: c4's problem"
phx_assert_contains "$out" "4 container(s), 3 not verified while running" "--all: summary"
phx_assert_contains "$(row c1)" " yes " "--all: c1 running"

rc=0
json=$("$PHX_CLI" status --all --json) || rc=$?
phx_assert_eq 1 "$rc" "--all --json exits 1"
phx_assert_contains "$json" '"format": "phoenix-gpu-status-all"' "--all --json: format"
phx_assert_contains "$json" '"all_verified": false' "--all --json: all_verified"
phx_assert_eq 3 "$(grep -c '"container": ' <<<"$json")" "--all --json: three containers"

rc=0
prom=$("$PHX_CLI" status --all --format prometheus) || rc=$?
phx_assert_eq 1 "$rc" "--format prometheus exits 1"
p=$PHX_LXCPATH
phx_assert_contains "$prom" "phoenix_gpu_container_state{container=\"c1\",lxcpath=\"$p\",state=\"verified\"} 1" "prom: c1"
phx_assert_contains "$prom" "phoenix_gpu_container_state{container=\"c2\",lxcpath=\"$p\",state=\"no-plan\"} 1" "prom: c2"
phx_assert_contains "$prom" "phoenix_gpu_container_state{container=\"c3\",lxcpath=\"$p\",state=\"timeout\"} 1" "prom: c3"
phx_assert_contains "$prom" "phoenix_gpu_containers_not_verified 2" "prom: not verified count"
grep -Eq "^phoenix_gpu_container_verified_seconds\{container=\"c1\",lxcpath=\"[^\"]+\"\} [0-9]+\.[0-9]{3}$" <<<"$prom" ||
    phx_fail "prom: no time to verified for c1"

# Once every running container is verified, exit 0: the records of stopped
# ones stay, shown as not running with what their last start gave.
phx_stop c4
phx_stop c2
phx_stop c3
out=$("$PHX_CLI" status --all -P "$PHX_LXCPATH") || phx_fail "--all does not exit 0 with only verified containers running: $out"
printf '%s\n' "$out"
echo "ok: --all exits 0 when all running containers are verified"
phx_assert_contains "$(row c3)" " no " "--all: c3 shown as not running"
phx_assert_contains "$(row c3)" "not running; its last start: " "--all: c3's problem says it is stopped"
phx_assert_contains "$out" "3 container(s), 0 not verified while running" "--all: summary after the stops"
phx_stop c1
rc=0
out=$("$PHX_CLI" status --all -P "$PHX_LXCPATH") || rc=$?
phx_assert_eq 0 "$rc" "--all exits 0 with every container stopped"
phx_assert_contains "$(row c1)" "not running; its last start: verified" "--all: a stopped container no longer reads as verified and running"
prom=$("$PHX_CLI" status --all --format prometheus) || true
phx_assert_contains "$prom" "phoenix_gpu_container_running{container=\"c1\",lxcpath=\"$p\"} 0" "prom: c1 not running"
echo PASS
