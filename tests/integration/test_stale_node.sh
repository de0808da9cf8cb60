#!/bin/bash
# Broken host nodes: /dev/nvidia-uvm with a wrong major (243, hidraw on the captured host)
# and /dev/nvidia-uvm-tools an empty placeholder file (what a bind of a missing source
# leaves). pre-start repairs both in place and logs it; the container gets the right rdev.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

phx_setup_tmp
export PHOENIX_GPU_HOST_ROOT=$PHX_T/host
h=$PHOENIX_GPU_HOST_ROOT
phx_sim_host "$h" --stale nvidia-uvm --placeholder nvidia-uvm-tools
phx_assert_eq "243:0" "$(stat -c %Hr:%Lr "$h/dev/nvidia-uvm")" "host nvidia-uvm starts stale"
phx_assert_eq "regular empty file" "$(stat -c %F "$h/dev/nvidia-uvm-tools")" "host nvidia-uvm-tools starts as a placeholder"

phx_create_ct c1 --env NVIDIA_VISIBLE_DEVICES=all
phx_start c1
log=$(cat "$PHOENIX_GPU_LOG_DIR/c1.log")
phx_assert_contains "$log" "repaired $h/dev/nvidia-uvm (was char 243:0; now 238:0)" "log: stale node repaired"
phx_assert_contains "$log" "repaired $h/dev/nvidia-uvm-tools (was an empty placeholder file; now 238:1)" \
    "log: placeholder repaired"
phx_assert_eq "character special file 238:0 666" "$(stat -c '%F %Hr:%Lr %a' "$h/dev/nvidia-uvm")" "host nvidia-uvm fixed"
phx_assert_eq "character special file 238:1 666" "$(stat -c '%F %Hr:%Lr %a' "$h/dev/nvidia-uvm-tools")" \
    "host nvidia-uvm-tools fixed"
phx_assert_eq "c 238:0" "$(phx_rdev c1 /dev/nvidia-uvm)" "container nvidia-uvm is 238:0"
phx_assert_eq "c 238:1" "$(phx_rdev c1 /dev/nvidia-uvm-tools)" "container nvidia-uvm-tools is 238:1"
phx_assert_eq ENXIO "$(phx_open_result c1 /dev/nvidia-uvm rw)" "nvidia-uvm opens"
phx_assert_eq ENXIO "$(phx_open_result c1 /dev/nvidia-uvm-tools rw)" "nvidia-uvm-tools opens"
phx_wait_gpu_status c1 verified 10 || phx_fail "status never verified"
echo "ok: verified"
phx_stop c1
echo PASS
