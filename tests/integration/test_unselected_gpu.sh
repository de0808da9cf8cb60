#!/bin/bash
# A privileged container given one GPU cannot reach the others, even where its config lets
# it mknod any char device (LXC's common.conf and this harness: "c *:* m"): the snippet
# and plan give no mknod right on major 195, but a node made inside for an unselected GPU
# must also be denied on open (EPERM), on cgroup v1 and on pure cgroup2.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

phx_setup_tmp
export PHOENIX_GPU_HOST_ROOT=$PHX_T/host
phx_sim_host "$PHOENIX_GPU_HOST_ROOT" --gpus 3      # minors 2, 0, 1 in PCI order
for layout in v1 cgroup2; do
    ct=one-$layout
    phx_create_ct "$ct" --env NVIDIA_VISIBLE_DEVICES=0   # index 0: /dev/nvidia2
    if [[ $layout == cgroup2 ]]; then phx_cgroup2_run phx_start "$ct"; else phx_start "$ct"; fi
    phx_wait_gpu_status "$ct" verified 10 ||
        phx_fail "$ct: status never verified (state: $(phx_gpu_status "$ct"))"
    phx_assert_eq ENXIO "$(phx_open_result "$ct" /dev/nvidia2 rw)" "$ct: the selected GPU opens"
    phx_assert_eq ENOENT "$(phx_rdev "$ct" /dev/nvidia0)" "$ct: no node for an unselected GPU"
    phx_in "$ct" mknod /tmp/nvidia0 c 195 0
    phx_in "$ct" mknod /tmp/nvidia1 c 195 1
    phx_assert_eq "c 195:0" "$(phx_rdev "$ct" /tmp/nvidia0)" "$ct: a 195:0 node could be made inside"
    phx_assert_eq EPERM "$(phx_open_result "$ct" /tmp/nvidia0 rw)" "$ct: unselected GPU 195:0 denied"
    phx_assert_eq EPERM "$(phx_open_result "$ct" /tmp/nvidia1 rw)" "$ct: unselected GPU 195:1 denied"
    phx_stop "$ct"
done
echo PASS
