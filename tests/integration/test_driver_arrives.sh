#!/bin/bash
# The driver loads while pre-start waits for it (autostart racing the module load): with
# [driver] wait_timeout = 5, a driver that appears 1 s into the wait is found, the nodes
# are made and the container gets its GPU.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

phx_setup_tmp
printf '[driver]\nwait_timeout = 5\n' >"$PHOENIX_GPU_CONFIG"
export PHOENIX_GPU_HOST_ROOT=$PHX_T/host
h=$PHOENIX_GPU_HOST_ROOT
phx_sim_host "$h" --no-driver
phx_sim_host "$PHX_T/loaded" --no-uvm-nodes      # what the host looks like once loaded
rm -rf "$PHX_T/loaded/dev"/*                      # the driver makes no node by itself

# "Load" the driver: modules, majors and /proc/driver/nvidia first, its version file last.
load_driver() {
    sleep 1
    cp -a "$PHX_T/loaded/sys/module/." "$h/sys/module/"
    cp "$PHX_T/loaded/proc/modules" "$h/proc/modules.new" && mv "$h/proc/modules.new" "$h/proc/modules"
    cp "$PHX_T/loaded/proc/devices" "$h/proc/devices.new" && mv "$h/proc/devices.new" "$h/proc/devices"
    mkdir -p "$h/proc/driver"
    cp -a "$PHX_T/loaded/proc/driver/nvidia-caps" "$h/proc/driver/"
    cp -a "$PHX_T/loaded/proc/driver/nvidia" "$h/proc/driver/nvidia.new"
    mv "$h/proc/driver/nvidia.new/version" "$PHX_T/version"
    mv "$h/proc/driver/nvidia.new" "$h/proc/driver/nvidia"
    mv "$PHX_T/version" "$h/proc/driver/nvidia/version"
    date +%s%N >"$PHX_T/loaded-at"
}

phx_create_ct c1 --env NVIDIA_VISIBLE_DEVICES=all
t0=$(date +%s%N)
load_driver &
phx_start c1
t1=$(date +%s%N)
wait
loaded=$(cat "$PHX_T/loaded-at")
((t1 > loaded)) || phx_fail "lxc-start returned before the driver appeared"
echo "ok: the start waited for the driver ($(((loaded - t0) / 1000000)) ms in; returned $(((t1 - t0) / 1000000)) ms)"
((t1 - t0 < 4500000000)) || phx_fail "the start took $(((t1 - t0) / 1000000)) ms: it waited past the driver's arrival"
echo "ok: pre-start stopped waiting once the driver was there"
log=$(cat "$PHOENIX_GPU_LOG_DIR/c1.log")
phx_assert_not_contains "$log" "not loaded" "no 'driver not loaded' warning"
phx_assert_contains "$log" "plan: 1 GPU(s)" "pre-start planned the GPU"
for n in nvidiactl:195:255 nvidia0:195:0 nvidia-uvm:238:0; do
    phx_assert_eq "c ${n#*:}" "$(phx_rdev c1 "/dev/${n%%:*}")" "/dev/${n%%:*} inside"
    phx_assert_eq ENXIO "$(phx_open_result c1 "/dev/${n%%:*}" rw)" "/dev/${n%%:*} opens"
done
phx_wait_gpu_status c1 verified 10 || phx_fail "status never verified"
echo "ok: verified"
phx_stop c1
echo PASS
