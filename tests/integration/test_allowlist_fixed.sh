#!/bin/bash
# A privileged container with a deny-all allow-list device cgroup (as LXC's common.conf
# makes it) and the snippet as shipped, which carries no device rules: post-start (cgroup
# v1, before init runs) or the worker (pure cgroup2, through the monitor) allows each
# planned node, and nothing else. The control, the same container with the start-host hook
# cleared, shows that the nodes would be denied (EPERM) without them.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

phx_setup_tmp
export PHOENIX_GPU_HOST_ROOT=$PHX_T/host
phx_sim_host "$PHOENIX_GPU_HOST_ROOT"
no_post=(--extra "lxc.hook.start-host =")
nodes=(nvidiactl nvidia0 nvidia-uvm nvidia-uvm-tools)
for layout in v1 cgroup2; do
    start=(phx_start)
    [[ $layout == cgroup2 ]] && start=(phx_cgroup2_run phx_start)

    ct=$layout-control
    phx_create_ct "$ct" --snippet-verbatim "${no_post[@]}" --env NVIDIA_VISIBLE_DEVICES=all
    "${start[@]}" "$ct"
    for n in "${nodes[@]}"; do
        phx_assert_eq EPERM "$(phx_open_result "$ct" "/dev/$n")" "$ct: /dev/$n denied without post-start"
    done
    phx_stop "$ct"

    ct=$layout-fixed
    phx_create_ct "$ct" --snippet-verbatim --env NVIDIA_VISIBLE_DEVICES=all
    "${start[@]}" "$ct"
    if [[ $layout == v1 ]]; then
        # Synchronous: the rules are in place when lxc-start returns.
        list=$(cat "$(phx_cgroup_dir "$ct" devices)/devices.list")
        for r in "c 195:255 rw" "c 195:0 rw" "c 238:0 rw" "c 238:1 rw"; do
            phx_assert_contains "$list" "$r" "$ct: post-start allowed $r"
        done
        phx_assert_not_contains "$list" "c 195:* " "$ct: no wildcard rule added"
    fi
    phx_wait_gpu_status "$ct" verified 10 ||
        phx_fail "$ct: status never verified (state: $(phx_gpu_status "$ct"))"
    echo "ok: $ct: verified"
    for n in "${nodes[@]}"; do
        phx_assert_eq ENXIO "$(phx_open_result "$ct" "/dev/$n" rw)" "$ct: /dev/$n opens"
    done
    # The allow-list stays one: what the plan does not name is still denied.
    phx_in "$ct" mknod /tmp/probe c 10 200
    phx_assert_eq EPERM "$(phx_open_result "$ct" /tmp/probe)" "$ct: unlisted 10:200 still denied"
    phx_stop "$ct"
done
echo PASS
