#!/bin/bash
# "phoenix-gpu verify NAME" checks the planned nodes inside the running container now:
# exit 0 while they are usable, 1 with a fix line once one is gone (unmounted inside) or
# denied (cgroup v1 devices.deny).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

phx_setup_tmp
export PHOENIX_GPU_HOST_ROOT=$PHX_T/host
phx_sim_host "$PHOENIX_GPU_HOST_ROOT" --gpus 2
phx_create_ct c1 --env NVIDIA_VISIBLE_DEVICES=all
phx_start c1
phx_wait_gpu_status c1 verified 10 || phx_fail "status never verified"

verify() { "$PHX_CLI" verify c1 -P "$PHX_LXCPATH" 2>&1; }
rc=0
out=$(verify) || rc=$?
phx_assert_eq 0 "$rc" "verify exits 0 on a good container"
phx_assert_contains "$out" "all planned nodes usable" "verify says all usable"

# Unmount nvidia1 inside: what is left is the empty mount target file.
phx_in c1 umount /dev/nvidia1
phx_assert_eq f "$(phx_rdev c1 /dev/nvidia1)" "nvidia1 unmounted inside"
rc=0
out=$(verify) || rc=$?
phx_assert_eq 1 "$rc" "verify exits 1 once nvidia1 is gone"
phx_assert_contains "$(grep -F /dev/nvidia1 <<<"$out" | head -n 1)" "wrong-type" "verify reports nvidia1"
phx_assert_contains "$out" "fix: /dev/nvidia1 is " "verify prints a fix line for nvidia1"
phx_assert_not_contains "$(grep '^  fix:' <<<"$out")" "/dev/nvidia0" "no fix line for the good nvidia0"

if [[ $(phx_cgroup_layout) != unified ]]; then
    phx_stop c1
    phx_start c1
    phx_wait_gpu_status c1 verified 10 || phx_fail "restart: status never verified"
    # v1 removes exceptions as they were written: every 195 rule (the snippet's and the
    # per-minor ones the hooks added) must go for nvidia0 to be denied.
    list=$(phx_cgroup_dir c1 devices)
    # Read the list first: writing devices.deny while reading devices.list skips entries.
    rules=$(grep '^c 195:' "$list/devices.list" || true)
    while read -r rule; do
        [[ -n $rule ]] && echo "$rule" >"$list/devices.deny"
    done <<<"$rules"
    phx_assert_eq EPERM "$(phx_open_result c1 /dev/nvidia0)" "nvidia0 denied through devices.deny"
    rc=0
    out=$(verify) || rc=$?
    phx_assert_eq 1 "$rc" "verify exits 1 once nvidia0 is denied"
    phx_assert_contains "$(grep -F /dev/nvidia0 <<<"$out" | head -n 1)" "denied" "verify reports nvidia0 denied"
    phx_assert_contains "$out" "fix: /dev/nvidia0 is denied by the device cgroup" "verify prints a fix for nvidia0"
fi
phx_stop c1
rc=0
verify >/dev/null || rc=$?
[[ $rc != 0 ]] || phx_fail "verify of a stopped container exits 0"
echo "ok: verify of a stopped container exits $rc"
echo PASS
