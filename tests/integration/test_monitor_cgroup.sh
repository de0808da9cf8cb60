#!/bin/bash
# The worker must not stay in the container's monitor cgroup (lxc.monitor.NAME): while it
# runs, every hierarchy's lxc.monitor cgroup holds only the monitor; after the stop no
# cgroup of the container is left. cgroup v1 (hybrid) and pure cgroup2.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

phx_setup_tmp
export PHOENIX_GPU_HOST_ROOT=$PHX_T/host
phx_sim_host "$PHOENIX_GPU_HOST_ROOT" --no-uvm-nodes
for layout in v1 cgroup2; do
    for kind in priv unpriv; do
        ct=$layout-$kind
        start=(phx_start)
        [[ $layout == cgroup2 ]] && start=(phx_cgroup2_run phx_start)
        # A node that never comes keeps the worker alive while we look.
        args=(--env NVIDIA_VISIBLE_DEVICES=all --env PHOENIX_GPU_CREATE_NODES=0 --env PHOENIX_GPU_VERIFY_TIMEOUT=20)
        [[ $kind == unpriv ]] && args+=(--unpriv)
        phx_create_ct "$ct" "${args[@]}"
        "${start[@]}" "$ct"
        phx_wait_gpu_status "$ct" verifying 10 || phx_fail "$ct: worker not verifying (state: $(phx_gpu_status "$ct"))"
        wpid=$(phx_gpu_status "$ct" worker_pid)
        phx__alive "$wpid" || phx_fail "$ct: worker $wpid not running"
        mon=$(phx_monitor_pid "$ct")
        [[ -n $mon ]] || phx_fail "$ct: no monitor"
        n=0
        while IFS=: read -r _ ctrl rel; do
            [[ ${rel##*/} == lxc.monitor.* ]] || continue
            if [[ -z $ctrl ]]; then
                dirs=(/sys/fs/cgroup/unified"$rel" /sys/fs/cgroup"$rel")
            else
                dirs=(/sys/fs/cgroup/*"$rel")
            fi
            for d in "${dirs[@]}"; do
                [[ -f $d/cgroup.procs ]] || continue
                phx_assert_eq "$mon" "$(xargs <"$d/cgroup.procs")" "$ct: only the monitor in ${d#/sys/fs/cgroup/}"
                n=$((n + 1))
            done
        done <"/proc/$mon/cgroup"
        ((n > 0)) || phx_fail "$ct: no lxc.monitor cgroup found for monitor $mon"
        phx_assert_not_contains "$(cat "/proc/$wpid/cgroup")" "lxc.monitor." "$ct: worker's own cgroups"
        phx_assert_not_contains "$(cat "/proc/$wpid/cgroup")" "lxc.payload." "$ct: worker not in the payload cgroup"
        phx_stop "$ct"
        phx_wait_until 5 eval '! phx__alive '"$wpid" || phx_fail "$ct: worker outlived the container"
        phx_assert_eq "" "$(phx_leftover_cgroups "$ct")" "$ct: no cgroup left after the stop"
    done
done
echo PASS
