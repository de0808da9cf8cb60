#!/bin/bash
# nvidia_uvm not loaded at start: pre-start loads it (through PHOENIX_GPU_MODPROBE, here the
# simulated host's modprobe) and creates the uvm nodes it then registers. If modprobe fails
# the container still runs, with a warning and a plan without uvm.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

phx_setup_tmp
# --- modprobe works ---------------------------------------------------------------------
export PHOENIX_GPU_HOST_ROOT=$PHX_T/host
h=$PHOENIX_GPU_HOST_ROOT
phx_sim_host "$h" --uvm-not-loaded
PHOENIX_GPU_MODPROBE=$(phx_sim_modprobe "$h")
export PHOENIX_GPU_MODPROBE
phx_create_ct c1 --env NVIDIA_VISIBLE_DEVICES=all
phx_start c1
phx_assert_eq "nvidia_uvm" "$(cat "$h/.phx-modprobe.log")" "modprobe nvidia_uvm was called once"
phx_assert_contains "$(cat "$PHOENIX_GPU_LOG_DIR/c1.log")" "loaded nvidia_uvm" "log says nvidia_uvm loaded"
phx_assert_eq "character special file 238:0 666" "$(stat -c '%F %Hr:%Lr %a' "$h/dev/nvidia-uvm")" "host nvidia-uvm made"
phx_assert_eq "character special file 238:1 666" "$(stat -c '%F %Hr:%Lr %a' "$h/dev/nvidia-uvm-tools")" \
    "host nvidia-uvm-tools made"
phx_assert_eq "c 238:0" "$(phx_rdev c1 /dev/nvidia-uvm)" "nvidia-uvm inside"
phx_assert_eq ENXIO "$(phx_open_result c1 /dev/nvidia-uvm rw)" "nvidia-uvm opens"
phx_assert_eq ENXIO "$(phx_open_result c1 /dev/nvidia-uvm-tools rw)" "nvidia-uvm-tools opens"
phx_wait_gpu_status c1 verified 10 || phx_fail "status never verified"
echo "ok: verified"
phx_stop c1

# --- modprobe fails ---------------------------------------------------------------------
export PHOENIX_GPU_HOST_ROOT=$PHX_T/host2
phx_sim_host "$PHOENIX_GPU_HOST_ROOT" --uvm-not-loaded
printf '#!/bin/sh\necho "modprobe: FATAL: Module $1 not found in directory /lib/modules/6.1.0" >&2\nexit 1\n' \
    >"$PHX_T/bad-modprobe"
chmod 0755 "$PHX_T/bad-modprobe"
export PHOENIX_GPU_MODPROBE=$PHX_T/bad-modprobe
phx_create_ct c2 --env NVIDIA_VISIBLE_DEVICES=all
phx_start c2
phx_assert_eq RUNNING "$(phx_state c2)" "modprobe failed: container runs"
log=$(cat "$PHOENIX_GPU_LOG_DIR/c2.log")
phx_assert_contains "$log" "warning: could not load nvidia_uvm" "modprobe failed: warning"
phx_assert_contains "$log" "Module nvidia_uvm not found" "modprobe failed: its message is in the warning"
phx_assert_contains "$log" "Fix: 'modprobe nvidia_uvm'" "modprobe failed: a fix is named"
plan=$(cat "$(phx_gpu_state_dir c2)/plan.json")
phx_assert_contains "$plan" '"/dev/nvidia0"' "modprobe failed: plan still has the GPU"
phx_assert_not_contains "$plan" '"/dev/nvidia-uvm"' "modprobe failed: plan without the uvm nodes"
phx_assert_not_contains "$plan" '"c 238:' "modprobe failed: plan without uvm rules"
phx_assert_contains "$plan" "the nvidia_uvm module is not loaded" "modprobe failed: the plan says why"
phx_assert_eq ENOENT "$(phx_rdev c2 /dev/nvidia-uvm)" "modprobe failed: no nvidia-uvm inside"
phx_assert_eq ENXIO "$(phx_open_result c2 /dev/nvidia0 rw)" "modprobe failed: the GPU still opens"
phx_wait_gpu_status c2 verified 10 || phx_fail "c2: status never verified"
echo "ok: c2 verified (the nodes it was planned)"
phx_stop c2
echo PASS
