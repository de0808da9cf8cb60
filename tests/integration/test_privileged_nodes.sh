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
phx_assert_all_gpus_given c1
phx_assert_eq "0" "$(phx_in c1 stat -c %u /dev/nvidia0)" "nvidia0 owned by root inside"

phx_stop c1
phx_assert_eq STOPPED "$(phx_state c1)" "stopped"
echo PASS
