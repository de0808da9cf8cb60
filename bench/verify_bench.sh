#!/bin/bash
# How fast the worker gets to "verified", and its memory:
#  - start: from lxc-start returning to status.json finished_unix_ms ("verified");
#  - hot-plug: from a late host node's mknod to "verified" (PHOENIX_GPU_CREATE_NODES=0, the
#    uvm nodes appear after the start);
#  - the worker's peak RSS (VmHWM polled from /proc while it runs, and /usr/bin/time -f %M
#    of a worker run by hand against the running container).
# The two timed cases alternate, N rounds (default 21). Run as root: bench/verify_bench.sh [N]
set -euo pipefail
source "$(dirname "$0")/lib.sh"

N=${1:-21}
bench_setup "$N"
h=$PHOENIX_GPU_HOST_ROOT

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
# Polls VmHWM (kB) of PID until it exits; prints the last value seen.
hwm_until_exit() {
    local pid=$1 v last=0
    while v=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null) && [[ -n $v ]]; do
        last=$v
        sleep 0.005
    done
    echo "$last"
}

phx_create_ct fast --env NVIDIA_VISIBLE_DEVICES=all
phx_create_ct late --env NVIDIA_VISIBLE_DEVICES=all --env PHOENIX_GPU_CREATE_NODES=0 \
    --env PHOENIX_GPU_VERIFY_TIMEOUT=30

round_fast() {
    local t_ret fin
    lxc-start -d -n fast -P "$PHX_LXCPATH"
    t_ret=$(now_ms)
    phx_wait_gpu_status fast verified 10 || { echo "fast: not verified" >&2; exit 1; }
    fin=$(phx_gpu_status fast finished_unix_ms)
    echo $((fin - t_ret)) >>"$PHX_T/fast"
    bench_stop fast
}

round_late() {
    local t_mk fin wpid
    rm -f "$h"/dev/nvidia-uvm*
    lxc-start -d -n late -P "$PHX_LXCPATH"
    phx_wait_gpu_status late verifying 10 || { echo "late: worker not verifying" >&2; exit 1; }
    wpid=$(phx_gpu_status late worker_pid)
    hwm_until_exit "$wpid" >"$PHX_T/hwm.now" &
    sleep 0.3   # the worker is in its poll back-off, as it would be in production
    mknod -m 0666 "$h/dev/nvidia-uvm" c 238 0
    mknod -m 0666 "$h/dev/nvidia-uvm-tools" c 238 1
    t_mk=$(now_ms)
    phx_wait_gpu_status late verified 10 || { echo "late: not verified" >&2; exit 1; }
    fin=$(phx_gpu_status late finished_unix_ms)
    echo $((fin - t_mk)) >>"$PHX_T/late"
    wait
    cat "$PHX_T/hwm.now" >>"$PHX_T/hwm"
    bench_stop late
}

round_fast
round_late
rm -f "$PHX_T/fast" "$PHX_T/late" "$PHX_T/hwm"
for ((i = 0; i < N; i++)); do
    if ((i % 2)); then round_late; round_fast; else round_fast; round_late; fi
done

# The worker by hand under /usr/bin/time, against the running container (nodes present).
lxc-start -d -n fast -P "$PHX_LXCPATH"
phx_wait_gpu_status fast verified 10
for ((i = 0; i < N; i++)); do
    /usr/bin/time -f %M -a -o "$PHX_T/time-rss" "$PHX_HOOK_DIR/worker" fast "$PHX_LXCPATH"
done
bench_stop fast

echo "worker verification latency, $N runs each, interleaved"
bench_stats "lxc-start returned -> verified" ms <"$PHX_T/fast"
bench_stats "late host node mknod -> verified (hot-plug)" ms <"$PHX_T/late"
bench_stats "worker VmHWM (spawned, polled)" KiB <"$PHX_T/hwm"
bench_stats "worker max RSS (/usr/bin/time -f %M)" KiB <"$PHX_T/time-rss"
peak=$(sort -n "$PHX_T/hwm" "$PHX_T/time-rss" | tail -n 1)
awk -v f="$(bench_median "$PHX_T/fast")" -v l="$(bench_median "$PHX_T/late")" -v p="$peak" 'BEGIN {
    printf "target start->verified <= 100 ms: %s; hot-plug <= 100 ms: %s; peak RSS %.1f MiB <= 10 MiB: %s\n",
        (f <= 100) ? "met" : "NOT met", (l <= 100) ? "met" : "NOT met", p / 1024, (p <= 10240) ? "met" : "NOT met" }'
