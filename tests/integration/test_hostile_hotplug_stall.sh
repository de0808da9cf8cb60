#!/bin/bash
# The container's root stalls our hot-plug helper: a FUSE file system it serves over its
# own /dev answers lookups (every nvidia name: "does not exist") but never answers a
# create, so the helper that makes the mount target for a node waits in the kernel,
# uninterruptibly. The worker must stay bounded: the helper is killed or left after its
# 5 s, no second helper is sent, verification ends in "timeout" with the warning, the
# worker exits; once the server is gone nothing of ours is left, and the next start
# verifies.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

FIX=$(cd "$(dirname "$0")/fixtures" && pwd)
command -v cc >/dev/null || phx_skip "no C compiler for the FUSE server"

phx_setup_tmp
# The container is busybox (no libc): a static server.
cc -static -O2 -o "$PHX_T/fuse-stall" "$FIX/fuse-stall.c" ||
    phx_skip "cannot link a static program (libc.a missing?)"
h=$PHX_T/host
export PHOENIX_GPU_HOST_ROOT=$h
phx_sim_host "$h" --no-uvm-nodes
# Verification waits for the uvm nodes (absent on the host, creation off) without entering
# the container; /dev/fuse as Proxmox's
# fuse=1 feature gives it.
phx_create_ct ct --env NVIDIA_VISIBLE_DEVICES=all --env PHOENIX_GPU_CREATE_NODES=0 \
    --env PHOENIX_GPU_VERIFY_TIMEOUT=8 --env PHOENIX_GPU_DRIVER_INSTALL=none \
    --extra "lxc.cgroup.devices.allow = c 10:229 rwm" --extra "lxc.cgroup2.devices.allow = c 10:229 rwm" \
    --extra "lxc.mount.entry = /dev/fuse dev/fuse none bind,create=file 0 0"
root=$PHX_LXCPATH/ct/rootfs
cp "$PHX_T/fuse-stall" "$root/fuse-stall"
phx_start ct
phx_wait_gpu_status ct verifying 10 || phx_fail "the worker is not verifying (state: $(phx_gpu_status ct))"
t_start=$SECONDS
worker=$(phx_gpu_status ct worker_pid)
if [[ -z $worker ]] || ! kill -0 "$worker"; then phx_fail "no live worker pid in the status"; fi
# The helper is a fork of the worker: same command line.
wcmd=$(tr '\0' ' ' <"/proc/$worker/cmdline")
workers() {
    local p n=0
    for p in /proc/[0-9]*; do
        [[ $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) == "$wcmd" ]] && n=$((n + 1))
    done
    echo "$n"
}
no_workers() { [[ $(workers) == 0 ]]; }

phx_in ct /bin/sh -c '/fuse-stall /dev /run/fuse-state >/run/fuse.log 2>&1 </dev/null &' </dev/null
phx_wait_until 5 grep -q mounted "$root/run/fuse-state" ||
    phx_fail "the container could not mount FUSE over its /dev: $(cat "$root/run/fuse.log" 2>&1)"
# The uvm nodes appear on the host: the worker checks the container again, finds them
# (and every nvidia node) "missing" there and sends a helper to make the mount target.
mknod -m 0666 "$h/dev/nvidia-uvm" c 238 0
mknod -m 0666 "$h/dev/nvidia-uvm-tools" c 238 1
phx_wait_until 5 grep -q '^stalled ' "$root/run/fuse-state" ||
    phx_fail "no hot-plug helper reached the container's /dev: $(cat "$root/run/fuse-state" "$PHOENIX_GPU_LOG_DIR/ct.log")"
t_stall=$SECONDS
echo "ok: the hot-plug helper is stalled on: $(grep '^stalled ' "$root/run/fuse-state" | tr '\n' ' ')"

# Bounded: "timeout" at the verify timeout (8 s) plus the /dev listing for the warning,
# which the stalled create also blocks (its own 10 s bound).
phx_wait_gpu_status ct timeout 30 ||
    phx_fail "no timeout $((SECONDS - t_stall)) s after the stall (state: $(phx_gpu_status ct)): $(tail -n 20 "$PHOENIX_GPU_LOG_DIR/ct.log")"
echo "ok: status timeout $((SECONDS - t_start)) s after the worker started waiting"
phx_wait_until 10 bash -c "! kill -0 $worker 2>/dev/null" || phx_fail "the worker $worker did not exit"
log=$(cat "$PHOENIX_GPU_LOG_DIR/ct.log")
phx_assert_contains "$log" "did not finish in 5 s" "log: the hot-plug helper was stopped at its bound"
phx_assert_contains "$log" "WARNING: GPU devices NOT ready in container ct" "log: the warning"
n=$(grep -c '^stalled ' "$root/run/fuse-state")
phx_assert_eq 1 "$n" "one helper sent, none after the stalled one"

# The killed helper may still wait in the kernel for the answer (a request the server has
# read cannot be taken back): at most that one is left.
left=$(workers)
((left <= 1)) || phx_fail "$left processes of the worker remain"
echo "ok: the worker exited; $left helper(s) left waiting on the container's /dev"

# The server goes: the stalled request fails, whatever was left of ours exits.
ns=$(readlink "/proc/$(phx_init_pid ct)/ns/pid")
for p in /proc/[0-9]*; do
    [[ $(readlink "$p/ns/pid" 2>/dev/null) == "$ns" ]] || continue
    [[ $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) == "/fuse-stall /dev "* ]] && kill -9 "${p#/proc/}"
done
phx_wait_until 5 no_workers || phx_fail "$(workers) worker processes remain after the server died"
phx_stop ct
left=$(phx_leftover_cgroups ct)
[[ -z $left ]] || phx_fail "cgroups left after the stop: $left"
echo "ok: nothing left after the stop"

# A later start works.
phx_start ct
phx_wait_gpu_status ct verified 15 || phx_fail "restart: not verified (state: $(phx_gpu_status ct))"
echo "ok: restart verified"
phx_stop ct
echo PASS
