#!/bin/bash
# lxc-start wall time with our hooks vs three no-op hooks vs no hooks, and each hook's own
# wall time run standalone as LXC runs it. Simulated NVIDIA host (driver ready, all nodes).
# Also, from the same starts, lxc-start returning -> the worker's "verified".
# Run as root from anywhere: bench/start_bench.sh [ITERATIONS] (default 21).
# PHX_BENCH_BASE_HOOKS=DIR: a fourth variant, "base", with the hooks of another build in DIR
# (pre-start, mount, post-start, worker), interleaved with the others: old and new code
# compared in one run.
# PHX_BENCH_CGROUP2=1: the whole run on pure cgroup2 (phx_cgroup2_run), as on a cgroup2-only
# host (Proxmox VE 7 and later); otherwise the machine's own layout.
# Uses bench/lib.sh and through it tests/integration/lib.sh (PHX_HOOK_DIR, PHX_CLI, PHX_SNIPPET
# or PHX_BUILD_DIR as there).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
if [[ ${PHX_BENCH_CGROUP2:-0} == 1 && -z ${PHX_BENCH_IN_CGROUP2:-} ]]; then
    export PHX_BENCH_IN_CGROUP2=1
    phx_cgroup2_run bash "$(realpath "$0")" "$@"
    exit
fi
echo "cgroup layout: $(phx_cgroup_layout)"

N=${1:-21}
bench_setup "$N"

# Timestamps in µs straight from the bash builtin: a $(...) would fork a subshell inside
# the interval being timed. stats LABEL < values in µs : median/min/max in ms.
stats() { bench_stats "$1" ms 1000; }

# One container, three configs swapped in before each start.
phx_create_ct b --env NVIDIA_VISIBLE_DEVICES=all
d=$PHX_LXCPATH/b
cp "$d/config" "$d/config.ours"
grep -v '^lxc.include' "$d/config.ours" >"$d/config.none"
{
    cat "$d/config.none"
    echo "lxc.hook.pre-start = /bin/true"
    echo "lxc.hook.mount = /bin/true"
    echo "lxc.hook.start-host = /bin/true"
} >"$d/config.noop"
variants=(ours noop none)
if [[ -n ${PHX_BENCH_BASE_HOOKS:-} ]]; then
    sed -E "s#^(lxc\.hook\.[a-z-]+ = ).*/([a-z-]+)\$#\1$PHX_BENCH_BASE_HOOKS/\2#" "$d/nvidia.conf" >"$d/nvidia-base.conf"
    sed "s#^lxc.include = .*#lxc.include = $d/nvidia-base.conf#" "$d/config.ours" >"$d/config.base"
    variants+=(base)
fi

start_once() {   # VARIANT : prints the lxc-start wall time in µs
    local v=$1 t0 t1
    cp "$d/config.$v" "$d/config"
    t0=${EPOCHREALTIME/./}
    lxc-start -d -n b -P "$PHX_LXCPATH" || { echo "start ($v) failed" >&2; exit 1; }
    t1=${EPOCHREALTIME/./}
    echo $((t1 - t0)) >>"$PHX_T/start.$v"
    if [[ $v == ours || $v == base ]]; then
        phx_wait_gpu_status b verified 10 || { echo "not verified" >&2; exit 1; }
        echo $(($(phx_gpu_status b finished_unix_ms) - t1 / 1000)) >>"$PHX_T/verify.$v"
        phx_wait_until 10 bash -c "! grep -qa worker /proc/$(phx_gpu_status b worker_pid)/cmdline"
    fi
    # Every variant runs the same time from start to stop, whatever it waits for: how long
    # the machine idled before a start changes that start's time (CPU wake-up).
    local left=$((t1 + 400000 - ${EPOCHREALTIME/./}))
    ((left > 0)) && sleep "$(printf '0.%06d' "$left")"
    bench_stop b
}

echo "warm-up"
for v in "${variants[@]}"; do start_once "$v"; done
rm -f "$PHX_T"/start.* "$PHX_T"/verify.*
nv=${#variants[@]}
echo "lxc-start -d, $N starts each, interleaved (order rotates every round)"
for ((i = 0; i < N; i++)); do
    for ((j = 0; j < nv; j++)); do
        start_once "${variants[(i + j) % nv]}"
    done
done
for v in "${variants[@]}"; do stats "lxc-start ($v)" <"$PHX_T/start.$v"; done
for v in ours base; do
    [[ -f $PHX_T/verify.$v ]] && bench_stats "lxc-start returned -> verified ($v)" ms <"$PHX_T/verify.$v"
done
mo=$(bench_median "$PHX_T/start.ours") mn=$(bench_median "$PHX_T/start.noop") m0=$(bench_median "$PHX_T/start.none")
awk -v o="$mo" -v n="$mn" -v z="$m0" 'BEGIN {
    printf "ratio ours/no-op  %.3f  (target <= 1.10: %s)\n", o / n, (o / n <= 1.10) ? "met" : "NOT met"
    printf "ratio no-op/none  %.3f\n", n / z }'
if [[ -f $PHX_T/start.base ]]; then
    awk -v b="$(bench_median "$PHX_T/start.base")" -v n="$(bench_median "$PHX_T/start.noop")" -v o="$(bench_median "$PHX_T/start.ours")" \
        'BEGIN { printf "ratio base/no-op  %.3f  (ours/base %.3f)\n", b / n, o / b }'
fi
awk -v v="$(bench_median "$PHX_T/verify.ours")" 'BEGIN { printf "lxc-start returned -> verified, median %d ms (target <= 10 ms: %s)\n", v, (v <= 10) ? "met" : "NOT met" }'

# --- each hook standalone -------------------------------------------------------------------
cp "$d/config.ours" "$d/config"
export LXC_NAME=b LXC_CONFIG_FILE=$d/config LXC_HOOK_VERSION=0
# A scratch rootfs for the mount hook: a fresh tmpfs on dev/ in a private mount namespace.
mkdir -p "$PHX_T/scratch/dev"
for ((i = 0; i < N; i++)); do
    t0=${EPOCHREALTIME/./}
    "$PHX_HOOK_DIR/pre-start" b lxc pre-start 2>/dev/null
    t1=${EPOCHREALTIME/./}
    echo $((t1 - t0)) >>"$PHX_T/hook.pre-start"
    # The plan pre-start just wrote is what mount binds.
    LXC_ROOTFS_MOUNT=$PHX_T/scratch unshare -m --propagation private bash -c '
        mount -t tmpfs phx-scratch "$LXC_ROOTFS_MOUNT/dev"
        t0=${EPOCHREALTIME/./}
        "$1" b lxc mount 2>/dev/null
        t1=${EPOCHREALTIME/./}
        echo $((t1 - t0)) >>"$2"' sh "$PHX_HOOK_DIR/mount" "$PHX_T/hook.mount"
done
# post-start against the running container (it spawns a worker each time; let it finish).
unset LXC_HOOK_VERSION
lxc-start -d -n b -P "$PHX_LXCPATH"
phx_wait_gpu_status b verified 10
export LXC_PID LXC_HOOK_VERSION=0
LXC_PID=$(phx_init_pid b)
for ((i = 0; i < N; i++)); do
    t0=${EPOCHREALTIME/./}
    "$PHX_HOOK_DIR/post-start" b lxc start-host 2>/dev/null
    t1=${EPOCHREALTIME/./}
    echo $((t1 - t0)) >>"$PHX_T/hook.post-start"
    phx_wait_gpu_status b verified 10
done
unset LXC_NAME LXC_CONFIG_FILE LXC_HOOK_VERSION LXC_PID
mounted=$(LXC_ROOTFS_MOUNT=$PHX_T/scratch unshare -m bash -c 'mount -t tmpfs x "$LXC_ROOTFS_MOUNT/dev";
    LXC_NAME=b LXC_CONFIG_FILE='"$d/config"' LXC_HOOK_VERSION=0 "$1" b lxc mount 2>/dev/null; ls "$LXC_ROOTFS_MOUNT/dev" | xargs' sh "$PHX_HOOK_DIR/mount")
# The floor the same way: fork and exec of a program that does nothing. It tells how fast
# this machine is right now (on a shared machine it varies by a third in an hour).
for ((i = 0; i < N; i++)); do
    t0=${EPOCHREALTIME/./}
    /bin/true
    t1=${EPOCHREALTIME/./}
    echo $((t1 - t0)) >>"$PHX_T/hook.true"
done
echo "hooks standalone, $N runs each (mount hook bound: $mounted)"
stats "/bin/true (the exec floor)" <"$PHX_T/hook.true"
stats "pre-start" <"$PHX_T/hook.pre-start"
stats "mount (in unshare -m)" <"$PHX_T/hook.mount"
stats "post-start (spawns the worker)" <"$PHX_T/hook.post-start"
awk -v p="$(bench_median "$PHX_T/hook.pre-start")" -v m="$(bench_median "$PHX_T/hook.mount")" 'BEGIN {
    printf "target pre-start <= 5 ms: %s; mount <= 5 ms: %s\n", (p <= 5000) ? "met" : "NOT met", (m <= 5000) ? "met" : "NOT met" }'
bench_stop b
