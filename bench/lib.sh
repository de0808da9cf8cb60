# shellcheck shell=bash
# What the benchmarks share: the integration harness (tests/integration/lib.sh, with its
# PHX_HOOK_DIR, PHX_CLI, PHX_SNIPPET or PHX_BUILD_DIR), their setup and their summaries.
# Source it from a bench script: source "$(dirname "$0")/lib.sh"

source "$(dirname "${BASH_SOURCE[0]}")/../tests/integration/lib.sh"

# bench_setup N [phx_sim_host OPTION]... : refuses fewer than 20 iterations (a median of
# fewer says little on a shared machine), then makes the test dir ($PHX_T, removed on exit)
# and a two-GPU simulated host at $PHOENIX_GPU_HOST_ROOT.
bench_setup() {
    local n=$1
    shift
    ((n >= 20)) || { echo "need at least 20 iterations" >&2; exit 2; }
    phx_setup_tmp
    export PHOENIX_GPU_HOST_ROOT=$PHX_T/host
    phx_sim_host "$PHOENIX_GPU_HOST_ROOT" --gpus 2 "$@"
}

# bench_stats LABEL UNIT [DIVISOR] < values : median, min and max of the values divided by
# DIVISOR (default 1), in UNIT.
bench_stats() {
    sort -n | awk -v l="$1" -v u="$2" -v d="${3:-1}" '{a[NR] = $1 / d} END {
        m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
        printf "%-44s median %8.2f %s  min %8.2f  max %8.2f  (n=%d)\n", l, m, u, a[1], a[NR], NR }'
}

# bench_median FILE : the median of the numbers in FILE, one a line.
bench_median() {
    sort -n "$1" | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

# bench_stop NAME : kills container NAME and waits until its monitor is gone.
bench_stop() {
    local mon
    mon=$(phx_monitor_pid "$1")
    lxc-stop -k -n "$1" -P "$PHX_LXCPATH"
    phx__wait_gone "$mon" 10
}
