#!/bin/bash
# Start, stop, start again: the second start works like the first, nothing is mounted
# twice inside, and plan.json and status.json are rewritten for the new start.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

phx_setup_tmp
export PHOENIX_GPU_HOST_ROOT=$PHX_T/host
phx_sim_host "$PHOENIX_GPU_HOST_ROOT"
sd=
prev_plan=0 prev_started=0 prev_pid=0
for kind in priv unpriv; do
    ct=$kind
    if [[ $kind == unpriv ]]; then phx_create_ct "$ct" --unpriv --env NVIDIA_VISIBLE_DEVICES=all
    else phx_create_ct "$ct" --env NVIDIA_VISIBLE_DEVICES=all; fi
    sd=$(phx_gpu_state_dir "$ct")
    prev_plan=0 prev_started=0 prev_pid=0
    for round in 1 2; do
        phx_start "$ct"
        phx_wait_gpu_status "$ct" verified 10 ||
            phx_fail "$ct start $round: status never verified (state: $(phx_gpu_status "$ct"))"
        echo "ok: $ct start $round: verified"
        mounts=$(phx_in "$ct" cat /proc/self/mountinfo)
        phx_assert_eq 1 "$(grep -c ' /dev/nvidia0 ' <<<"$mounts")" "$ct start $round: nvidia0 mounted once"
        phx_assert_eq 1 "$(grep -c ' /dev/nvidia-uvm ' <<<"$mounts")" "$ct start $round: nvidia-uvm mounted once"
        phx_assert_eq ENXIO "$(phx_open_result "$ct" /dev/nvidia0 rw)" "$ct start $round: nvidia0 opens"
        plan=$(sed -n 's/^  "created_unix_ms": \([0-9]*\),*$/\1/p' "$sd/plan.json")
        started=$(phx_gpu_status "$ct" started_unix_ms)
        pid=$(phx_gpu_status "$ct" worker_pid)
        ((plan > prev_plan)) || phx_fail "$ct start $round: plan.json not rewritten ($plan <= $prev_plan)"
        ((started > prev_started && started >= plan)) ||
            phx_fail "$ct start $round: status.json not rewritten (started $started, plan $plan, before $prev_started)"
        [[ $pid != "$prev_pid" ]] || phx_fail "$ct start $round: status names the old worker $pid"
        echo "ok: $ct start $round: plan and status rewritten (worker $pid)"
        prev_plan=$plan prev_started=$started prev_pid=$pid
        phx_stop "$ct"
        phx_assert_eq STOPPED "$(phx_state "$ct")" "$ct start $round: stopped"
    done
done
echo PASS
