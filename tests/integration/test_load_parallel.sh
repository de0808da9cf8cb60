#!/bin/bash
# 32 containers started at once on a 4-GPU host, each with one GPU (index i mod 4):
# every container gets exactly its planned GPU node, every state file is valid JSON and
# names its own container, every worker verifies and exits, and the stops leave nothing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

FIX=$(cd "$(dirname "$0")/fixtures" && pwd)
JSON=$FIX/json-get
COUNT=${PHX_LOAD_PARALLEL:-32}
PHX_TIMEOUT=${PHX_TIMEOUT:-60}

phx_setup_tmp
host=$PHX_T/host
phx_sim_host "$host" --gpus 4
export PHOENIX_GPU_HOST_ROOT=$host
declare -A MINOR
i=0
while read -r _ minor _; do
    MINOR[$i]=$minor
    i=$((i + 1))
done < <(phx_sim_gpus "$host")

state_dir() {
    local esc=${PHX_LXCPATH#/}
    echo "$PHOENIX_GPU_STATE_DIR/${esc//\//-}/$1"
}
all_workers() {
    local p
    for p in /proc/[0-9]*; do
        [[ $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) == *"/worker "*" $PHX_LXCPATH "* ]] && echo "${p#/proc/}"
    done
    return 0
}
no_workers() { [[ -z $(all_workers) ]]; }

host_mounts() {
    awk -v t="$PHX_T" '{ m = $5; if (m ~ "^/tmp/phx\\.[^/]+" && !(m == t || index(m, t "/") == 1)) next
        if (m ~ "^/mnt/") next; print m }' /proc/self/mountinfo | sort
}
for ((i = 0; i < COUNT; i++)); do
    phx_create_ct "p$i" --env NVIDIA_VISIBLE_DEVICES=$((i % 4)) --env PHOENIX_GPU_VERIFY_TIMEOUT=60
done
mounts0=$(host_mounts)

t0=$EPOCHREALTIME
declare -A PID
for ((i = 0; i < COUNT; i++)); do
    phx_start "p$i" --quiet &
    PID[$i]=$!
done
failed=""
for ((i = 0; i < COUNT; i++)); do
    wait "${PID[$i]}" || failed+=" p$i"
done
t1=$EPOCHREALTIME
[[ -z $failed ]] || phx_fail "starts failed:$failed"
echo "ok: $COUNT containers started at once in $(echo "($t1 - $t0) * 1000 / 1" | bc) ms"

verified() { grep -q '"state": "verified"' "$(state_dir "$1")/status.json" 2>/dev/null; }
for ((i = 0; i < COUNT; i++)); do
    phx_wait_until 120 verified "p$i" || phx_fail "p$i: not verified"
done
t2=$EPOCHREALTIME
echo "ok: all $COUNT verified $(echo "($t2 - $t0) * 1000 / 1" | bc) ms after the first start"
phx_wait_until 60 no_workers || phx_fail "workers still running: $(all_workers | xargs)"
echo "ok: every worker exited"

for ((i = 0; i < COUNT; i++)); do
    ct=p$i
    want=/dev/nvidia${MINOR[$((i % 4))]}
    d=$(state_dir "$ct")
    for f in status.json plan.json; do
        "$JSON" "$d/$f" || phx_fail "$ct: $f is not valid JSON"
        [[ $("$JSON" "$d/$f" .container) == "$ct" && $("$JSON" "$d/$f" .lxcpath) == "$PHX_LXCPATH" ]] ||
            phx_fail "$ct: $f names $("$JSON" "$d/$f" .container) in $("$JSON" "$d/$f" .lxcpath)"
    done
    [[ $("$JSON" "$d/plan.json" .gpus.#) == 1 && $("$JSON" "$d/plan.json" .gpus.0.index) == $((i % 4)) ]] ||
        phx_fail "$ct: plan is not GPU $((i % 4))"
    gpus=$(phx_in "$ct" ls /dev | grep -E '^nvidia[0-9]+$' | xargs)
    [[ $gpus == "${want#/dev/}" ]] || phx_fail "$ct: GPU nodes inside [$gpus], planned [${want#/dev/}]"
    [[ $(phx_rdev "$ct" "$want") == "c 195:${MINOR[$((i % 4))]}" ]] || phx_fail "$ct: $want has the wrong rdev"
    [[ $(phx_open_result "$ct" "$want") == ENXIO ]] || phx_fail "$ct: $want not usable"
done
echo "ok: each container has exactly its planned GPU, state files valid and its own"

for ((i = 0; i < COUNT; i++)); do phx_stop "p$i"; done
left=""
for ((i = 0; i < COUNT; i++)); do left+=$(phx_leftover_cgroups "p$i"); done
phx_assert_eq "" "$left" "no cgroup left after the stops"
phx_assert_eq "$mounts0" "$(host_mounts)" "host mount table as before"
phx_assert_eq "" "$(all_workers)" "no worker left"
echo PASS
