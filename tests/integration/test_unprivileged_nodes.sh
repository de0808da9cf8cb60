#!/bin/bash
# Unprivileged container (id-mapped root), two GPUs, NVIDIA_VISIBLE_DEVICES=all: every
# planned node is bound in with the host's rdev, opens (ENXIO: allowed, no driver behind
# simulated nodes) although it shows as nobody, and the worker reports "verified".
set -euo pipefail
source "$(dirname "$0")/lib.sh"

phx_setup_tmp
export PHOENIX_GPU_HOST_ROOT=$PHX_T/host
phx_sim_host "$PHOENIX_GPU_HOST_ROOT" --gpus 2
phx_create_ct c1 --unpriv --env NVIDIA_VISIBLE_DEVICES=all
phx_start c1
phx_assert_eq "0 100000 65536" "$(phx_in c1 cat /proc/self/uid_map | xargs)" "root is mapped"
phx_assert_eq RUNNING "$(phx_state c1)" "container running"
phx_assert_all_gpus_given c1
# The host root owning the nodes is not mapped: they show as nobody; mode 0666 still opens.
phx_assert_eq "65534 666" "$(phx_in c1 stat -c "%u %a" /dev/nvidia0)" "nvidia0 shows as nobody, mode 0666"

phx_stop c1
phx_assert_eq STOPPED "$(phx_state c1)" "stopped"
echo PASS
