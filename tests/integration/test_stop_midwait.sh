#!/bin/bash
# The container stops while its worker waits for a missing node (verify timeout 30 s):
# the worker notices and exits within 2 s, with status "stopped". The next start of the
# same container then works, and the old worker does not overwrite its status.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

phx_setup_tmp
export PHOENIX_GPU_HOST_ROOT=$PHX_T/host
h=$PHOENIX_GPU_HOST_ROOT
phx_sim_host "$h" --no-uvm-nodes

# Live workers of container NAME (cmdline "<hook dir>/worker NAME LXCPATH").
workers() {
    local f
    for f in /proc/[0-9]*/cmdline; do
        if [[ $(tr '\0' ' ' <"$f" 2>/dev/null) == "$PHX_HOOK_DIR/worker $1 $PHX_LXCPATH " ]]; then
            f=${f#/proc/}
            phx__alive "${f%/cmdline}" && echo "${f%/cmdline}"
        fi
    done
    return 0
}
no_worker() { [[ -z $(workers "$1") ]]; }

for layout in v1 cgroup2; do
    ct=mid-$layout
    start=(phx_start)
    [[ $layout == cgroup2 ]] && start=(phx_cgroup2_run phx_start)
    phx_create_ct "$ct" --env NVIDIA_VISIBLE_DEVICES=all --env PHOENIX_GPU_CREATE_NODES=0 \
        --env PHOENIX_GPU_VERIFY_TIMEOUT=30
    "${start[@]}" "$ct"
    phx_wait_gpu_status "$ct" verifying 10 || phx_fail "$ct: worker not verifying (state: $(phx_gpu_status "$ct"))"
    pid=$(phx_gpu_status "$ct" worker_pid)
    phx_assert_eq "$pid" "$(workers "$ct")" "$ct: the worker named in status.json is running"
    old_started=$(phx_gpu_status "$ct" started_unix_ms)

    phx_stop "$ct"
    t0=$SECONDS
    phx_wait_until 2 no_worker "$ct" || phx_fail "$ct: worker $(workers "$ct") still running 2 s after the stop"
    echo "ok: $ct: worker exited within 2 s of the stop"
    phx_wait_gpu_status "$ct" stopped 2 || phx_fail "$ct: status not stopped (state: $(phx_gpu_status "$ct"))"
    echo "ok: $ct: status stopped"

    # The next start: the node is there now, so it verifies at once.
    mknod -m 0666 "$h/dev/nvidia-uvm" c 238 0
    mknod -m 0666 "$h/dev/nvidia-uvm-tools" c 238 1
    "${start[@]}" "$ct"
    phx_wait_gpu_status "$ct" verified 10 || phx_fail "$ct: restart not verified (state: $(phx_gpu_status "$ct"))"
    new_pid=$(phx_gpu_status "$ct" worker_pid)
    [[ $new_pid != "$pid" ]] || phx_fail "$ct: status still names the old worker"
    (($(phx_gpu_status "$ct" started_unix_ms) > old_started)) || phx_fail "$ct: status not from the new start"
    echo "ok: $ct: restart verified by a new worker"
    sleep $((t0 + 3 - SECONDS > 0 ? t0 + 3 - SECONDS : 0))
    phx_assert_eq verified "$(phx_gpu_status "$ct")" "$ct: status still verified a while later"
    phx_assert_eq "$new_pid" "$(phx_gpu_status "$ct" worker_pid)" "$ct: status still the new worker's"
    phx_assert_eq ENXIO "$(phx_open_result "$ct" /dev/nvidia-uvm rw)" "$ct: nvidia-uvm opens after the restart"
    phx_stop "$ct"
    rm -f "$h"/dev/nvidia-uvm*
done
echo PASS
