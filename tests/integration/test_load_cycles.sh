#!/bin/bash
# PHX_LOAD_CYCLES (default 50) start/verify/stop cycles of one container: every start
# verifies, and nothing accumulates: no process (worker, hook, installer) outlives its
# cycle, the host mount table keeps its size, no cgroup is left, the state directory
# holds the same files, and no process left running holds more file descriptors.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

FIX=$(cd "$(dirname "$0")/fixtures" && pwd)
JSON=$FIX/json-get
N=${PHX_LOAD_CYCLES:-50}

phx_setup_tmp
host=$PHX_T/host
phx_sim_host "$host" --gpus 2 --no-uvm-nodes   # pre-start creates the uvm nodes each time
export PHOENIX_GPU_HOST_ROOT=$host
phx_create_ct cyc --env NVIDIA_VISIBLE_DEVICES=all

# Host mount points, without other tests' dirs and /mnt (where neither LXC nor the
# product mounts, but the machine may mount its own tools at any time).
host_mounts() {
    awk -v t="$PHX_T" '{ m = $5; if (m ~ "^/tmp/phx\\.[^/]+" && !(m == t || index(m, t "/") == 1)) next
        if (m ~ "^/mnt/") next; print m }' /proc/self/mountinfo | sort
}
esc=${PHX_LXCPATH#/}
sdir=$PHOENIX_GPU_STATE_DIR/${esc//\//-}/cyc
verified() { grep -q '"state": "verified"' "$sdir/status.json" 2>/dev/null; }
ours() {   # processes of this test other than this shell and its children
    local p q
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        grep -qzxF "PHX_TEST_ID=$PHX_TEST_ID" "/proc/$p/environ" 2>/dev/null ||
            grep -qaF "$PHX_T/" "/proc/$p/cmdline" 2>/dev/null || continue
        q=$p
        while [[ $q != 0 && $q != 1 && $q != "$$" ]]; do q=$(phx__ppid "$q") || continue 2; done
        [[ $q == "$$" ]] || echo "$p"
    done
    return 0
}
none_left() { [[ -z $(ours) ]]; }
# Descriptor counts of the long-lived processes a start talks to: init (systemd-run), the
# LXC daemons, D-Bus, anything of the product, and this shell. Not every process of the
# machine: whatever else runs here (a CI runner, say) opens files on its own schedule.
fd_by_pid() {
    local p comm
    for p in /proc/[0-9]*; do
        { read -r comm <"$p/comm"; } 2>/dev/null || continue
        case "${p#/proc/}:$comm" in
        1:* | "$$":* | *:lxc* | *:systemd* | *:dbus* | *:phoenix*) ;;
        *) continue ;;
        esac
        echo "${p#/proc/} $comm $(ls "$p/fd" 2>/dev/null | wc -l)"
    done | sort -n
}
owncg() {   # this test's processes in the product's own cgroup (workers park there)
    local p
    for p in $(cat /sys/fs/cgroup/*/phoenix-gpu-hooks/cgroup.procs /sys/fs/cgroup/phoenix-gpu-hooks/cgroup.procs 2>/dev/null | sort -u); do
        grep -qzxF "PHX_TEST_ID=$PHX_TEST_ID" "/proc/$p/environ" 2>/dev/null && echo "$p"
    done
    return 0
}

# The names in the state dir (dot files too) on one line, in glob order.
state_files() { (shopt -s dotglob nullglob; f=("$sdir"/*); f=("${f[@]##*/}"); echo "${f[*]}"); }

# One warm-up cycle, then the baseline.
phx_start cyc
phx_wait_until 30 verified || phx_fail "warm-up: not verified"
phx_stop cyc
mounts0=$(host_mounts)
files0=$(state_files)
fds0=$(fd_by_pid)
log0=$(stat -c %s "$PHOENIX_GPU_LOG_DIR/cyc.log")

ms() { echo "($2 - $1) * 1000 / 1" | bc; }
S=() V=() P=()
for ((c = 1; c <= N; c++)); do
    t0=$EPOCHREALTIME
    phx_start cyc || phx_fail "cycle $c: start failed"
    t1=$EPOCHREALTIME
    phx_wait_until 30 verified || phx_fail "cycle $c: not verified ($("$JSON" "$sdir/status.json" .state 2>&1))"
    t2=$EPOCHREALTIME
    [[ $(phx_rdev cyc /dev/nvidia-uvm) == "c 238:0" ]] || phx_fail "cycle $c: /dev/nvidia-uvm not bound"
    phx_stop cyc || phx_fail "cycle $c: stop failed"
    t3=$EPOCHREALTIME
    S+=("$(ms "$t0" "$t1")") V+=("$(ms "$t1" "$t2")") P+=("$(ms "$t2" "$t3")")
    # Nothing of this cycle survives it.
    phx_wait_until 10 none_left || phx_fail "cycle $c: processes left: $(ours | xargs -r -n1 sh -c 'echo "$0:$(tr "\0" " " </proc/$0/cmdline)"')"
    left=$(phx_leftover_cgroups cyc)
    [[ -z $left ]] || phx_fail "cycle $c: cgroups left: $left"
    [[ $(host_mounts) == "$mounts0" ]] ||
        phx_fail "cycle $c: host mount table changed: $(diff <(echo "$mounts0") <(host_mounts) || true)"
    [[ $(state_files) == "$files0" ]] || phx_fail "cycle $c: state dir now [$(state_files)], was [$files0]"
    [[ -z $(owncg) ]] || phx_fail "cycle $c: processes left in the product's own cgroup: $(owncg | xargs)"
    ((c % 25)) || echo "ok: $c cycles"
done

stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {printf "median %d ms, max %d ms", a[int((NR + 1) / 2)], a[NR]}'; }
echo "ok: $N cycles: start $(stats "${S[@]}"); RUNNING to verified $(stats "${V[@]}"); stop $(stats "${P[@]}")"
phx_assert_eq "$mounts0" "$(host_mounts)" "host mount table: the same $(wc -l <<<"$mounts0") mount points before and after"
phx_assert_eq "$files0" "$(state_files)" "state dir holds the same files"
phx_assert_eq "" "$(ours)" "no process of the test left"
# No process that lived through all cycles (same pid and command line) holds more
# descriptors than before, beyond noise: a leak per cycle would add about N.
fds1=$(fd_by_pid)
grew=$(awk -v lim=$((N / 2 > 3 ? N / 2 : 3)) '{ k = $0; sub(/ [0-9]+$/, "", k) }
    NR == FNR { n[k] = $NF; next } (k in n) && $NF > n[k] + lim { print $0 " (was " n[k] ")" }' \
    <(echo "$fds0") <(echo "$fds1"))
phx_assert_eq "" "$grew" "none of the $(wc -l <<<"$fds1") long-lived processes watched gained file descriptors"
log1=$(stat -c %s "$PHOENIX_GPU_LOG_DIR/cyc.log")
echo "ok: log grew $(((log1 - log0) / N)) bytes per cycle"
echo PASS
