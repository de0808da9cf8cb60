#!/bin/bash
# The boot race: nvidia_uvm is loaded but nobody has made /dev/nvidia-uvm(-tools) yet.
# pre-start creates them on the host (rdev from /proc/devices, mode 0666 as nvidia-modprobe
# does) before the mount hook binds them, so they reach the container and open once their
# rules are in (post-start on cgroup v1, the worker on cgroup2).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

phx_setup_tmp
for layout in v1 cgroup2; do
    export PHOENIX_GPU_HOST_ROOT=$PHX_T/host-$layout
    h=$PHOENIX_GPU_HOST_ROOT
    phx_sim_host "$h" --no-uvm-nodes
    [[ ! -e $h/dev/nvidia-uvm && ! -e $h/dev/nvidia-uvm-tools ]] || phx_fail "sim host has uvm nodes already"
    ct=race-$layout
    phx_create_ct "$ct" --env NVIDIA_VISIBLE_DEVICES=all
    if [[ $layout == cgroup2 ]]; then phx_cgroup2_run phx_start "$ct"; else phx_start "$ct"; fi

    phx_assert_eq "character special file 238:0 666 0:0" \
        "$(stat -c '%F %Hr:%Lr %a %u:%g' "$h/dev/nvidia-uvm")" "$layout: pre-start made host nvidia-uvm"
    phx_assert_eq "character special file 238:1 666 0:0" \
        "$(stat -c '%F %Hr:%Lr %a %u:%g' "$h/dev/nvidia-uvm-tools")" "$layout: pre-start made host nvidia-uvm-tools"
    phx_assert_contains "$(cat "$PHOENIX_GPU_LOG_DIR/$ct.log")" "created $h/dev/nvidia-uvm (238:0)" \
        "$layout: log says created"
    # On cgroup2 an allow-list container gets the rules a few ms after RUNNING:
    # the nodes open once it is verified.
    phx_wait_gpu_status "$ct" verified 10 ||
        phx_fail "$layout: status never verified (state: $(phx_gpu_status "$ct"))"
    echo "ok: $layout: verified"
    for n in nvidia-uvm:238:0 nvidia-uvm-tools:238:1; do
        phx_assert_eq "c ${n#*:}" "$(phx_rdev "$ct" "/dev/${n%%:*}")" "$layout: /dev/${n%%:*} inside"
        phx_assert_eq ENXIO "$(phx_open_result "$ct" "/dev/${n%%:*}" rw)" "$layout: /dev/${n%%:*} opens"
    done
    phx_stop "$ct"
done
echo PASS
