#!/bin/bash
# A container given one GPU must not be able to use another GPU through a node its
# owner planted in the rootfs before the start (mknod inside is refused since the rules
# carry no "m"; a node made on the rootfs from outside, or kept from an earlier setup,
# is not). Checked under cgroup v1 (this host's layout) and pure cgroup2, privileged,
# for a node in /dev (autodev 0) and elsewhere in the rootfs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

phx_setup_tmp
host=$PHX_T/host
phx_sim_host "$host" --gpus 2
export PHOENIX_GPU_HOST_ROOT=$host
# GPU index 0 is /dev/nvidia1 (c 195:1); the other GPU is c 195:0.
sel=$(phx_sim_gpus "$host" | awk 'NR == 1 {print $2}')
other=$(phx_sim_gpus "$host" | awk 'NR == 2 {print $2}')

for mode in v1 cgroup2; do
    for where in root dev; do
        ct=$mode-$where
        extra=()
        [[ $where == dev ]] && extra=(--extra 'lxc.autodev = 0')
        phx_create_ct "$ct" --env NVIDIA_VISIBLE_DEVICES=0 "${extra[@]}"
        if [[ $where == dev ]]; then
            mknod -m 0666 "$PHX_LXCPATH/$ct/rootfs/dev/nvidia$other" c 195 "$other"
            planted=/dev/nvidia$other
        else
            mknod -m 0666 "$PHX_LXCPATH/$ct/rootfs/root/gpu" c 195 "$other"
            planted=/root/gpu
        fi
        if [[ $mode == cgroup2 ]]; then phx_cgroup2_run phx_start "$ct"; else phx_start "$ct"; fi
        # On cgroup2 the selected GPU's rule goes in through the monitor once RUNNING.
        phx_wait_gpu_status "$ct" verified 10 || phx_fail "$ct: not verified (state: $(phx_gpu_status "$ct"))"
        phx_assert_eq ENXIO "$(phx_open_result "$ct" "/dev/nvidia$sel")" "$ct: the selected GPU (c 195:$sel) is usable"
        phx_assert_eq EPERM "$(phx_open_result "$ct" "$planted")" \
            "$ct: a planted node of the unselected GPU (c 195:$other at $planted) is denied"
        phx_stop "$ct"
    done
done
echo PASS
