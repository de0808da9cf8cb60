#!/bin/bash
# Privileged container, two GPUs, NVIDIA_VISIBLE_DEVICES=all: the worker reports "verified"
# in status.json and through the CLI, and then every planned node is bound in with the host's
# rdev and the device cgroup lets it open (ENXIO: no driver behind simulated nodes).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

phx_setup_tmp
export PHOENIX_GPU_HOST_ROOT=$PHX_T/host
phx_sim_host "$PHOENIX_GPU_HOST_ROOT" --gpus 2
phx_create_ct c1 --env NVIDIA_VISIBLE_DEVICES=all
phx_start c1
phx_assert_eq RUNNING "$(phx_state c1)" "container running"
# On cgroup2 an allow-list container gets its GPU rules through the LXC
# monitor a few milliseconds after RUNNING ("verifying" until then); on
# cgroup v1 before init runs. Either way they are in once it is verified.
phx_wait_gpu_status c1 verified 10 ||
    phx_fail "status.json never reached verified (state: $(phx_gpu_status c1))"
echo "ok: status.json verified"

declare -A want=([nvidiactl]="c 195:255" [nvidia0]="c 195:0" [nvidia1]="c 195:1"
    [nvidia-uvm]="c 238:0" [nvidia-uvm-tools]="c 238:1")
for n in "${!want[@]}"; do
    phx_assert_eq "${want[$n]}" "$(phx_rdev c1 "/dev/$n")" "/dev/$n has the host's rdev"
    phx_assert_eq ENXIO "$(phx_open_result c1 "/dev/$n" rw)" "/dev/$n opens read-write (allowed)"
done
# Only what was planned: no modeset (no display capability), no MIG caps (not requested).
phx_assert_eq ENOENT "$(phx_rdev c1 /dev/nvidia-modeset)" "no nvidia-modeset"
phx_assert_eq ENOENT "$(phx_rdev c1 /dev/nvidia-caps)" "no nvidia-caps"
phx_assert_eq "0" "$(phx_in c1 stat -c %u /dev/nvidia0)" "nvidia0 owned by root inside"

sd=$(phx_gpu_state_dir c1)
[[ -f $sd/plan.json ]] || phx_fail "no plan.json in $sd"
echo "ok: plan.json written"
phx_assert_contains "$(grep -c '"result": "no-driver"' "$sd/status.json")" 5 "five nodes checked inside"
rc=0
out=$("$PHX_CLI" status c1 -P "$PHX_LXCPATH" --json) || rc=$?
phx_assert_eq 0 "$rc" "phoenix-gpu status exits 0"
phx_assert_contains "$out" '"state": "verified"' "phoenix-gpu status --json says verified"
phx_assert_contains "$(cat "$PHOENIX_GPU_LOG_DIR/c1.log")" "GPU devices verified in container c1" "log says verified"

phx_stop c1
phx_assert_eq STOPPED "$(phx_state c1)" "stopped"
echo PASS
