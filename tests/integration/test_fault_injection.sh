#!/bin/bash
# Faults around a start: no driver, nvidia_uvm failing to load, a host node vanishing
# between the plan and the mount, an unwritable state directory (a file, a read-only
# bind), a corrupt plan file, the worker killed mid-verification. In every case the
# container starts, the log says what went wrong, and nothing is left running.
# (A hung installer is covered by test_driver_stage.sh.)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

FIX=$(cd "$(dirname "$0")/fixtures" && pwd)
JSON=$FIX/json-get

phx_setup_tmp
printf '[driver]\nwait_timeout = 1\n' >"$PHOENIX_GPU_CONFIG"

status_json() {
    local esc=${PHX_LXCPATH#/}
    echo "${STATE_BASE:-$PHOENIX_GPU_STATE_DIR}/${esc//\//-}/$1/status.json"
}
plan_json() { echo "$(dirname "$(status_json "$1")")/plan.json"; }
jget() { "$JSON" "$(status_json "$1")" "$2" 2>/dev/null || true; }
log_of() { cat "$PHOENIX_GPU_LOG_DIR/$1.log" "$PHX_T/$1.lxc.log" 2>/dev/null || true; }
worker_pids() {
    local p
    for p in /proc/[0-9]*; do
        [[ $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) == *"/worker $1 $PHX_LXCPATH "* ]] && echo "${p#/proc/}"
    done
    return 0
}
no_worker() { [[ -z $(worker_pids "$1") ]]; }
state_is() { [[ $(jget "$1" .state) == "$2" ]]; }
finish() {   # finish NAME : stopped, no worker, no cgroup left
    phx_stop "$1"
    phx_wait_until 10 no_worker "$1" || phx_fail "$1: a worker outlived the container"
    phx_assert_eq "" "$(phx_leftover_cgroups "$1")" "$1: no cgroup left"
}

# --- no driver at all --------------------------------------------------------------------
h=$PHX_T/h-nodrv
phx_sim_host "$h" --no-driver
export PHOENIX_GPU_HOST_ROOT=$h
phx_create_ct nodrv --env NVIDIA_VISIBLE_DEVICES=all
phx_start nodrv
phx_assert_eq RUNNING "$(phx_state nodrv)" "no driver: container runs"
phx_assert_contains "$(log_of nodrv)" "NVIDIA driver is not loaded" "no driver: log says why"
phx_assert_contains "$(log_of nodrv)" "starts WITHOUT its GPUs" "no driver: log says the container runs without GPUs"
phx_assert_eq ENOENT "$(phx_rdev nodrv /dev/nvidiactl)" "no driver: no nodes inside"
phx_assert_eq "" "$(worker_pids nodrv)" "no driver: no worker"
finish nodrv

# PHOENIX_GPU_REQUIRED=1 turns it into a failed start, and nothing is left behind.
phx_create_ct nodrvreq --env NVIDIA_VISIBLE_DEVICES=all --env PHOENIX_GPU_REQUIRED=1
if phx_start nodrvreq --quiet; then phx_fail "required GPUs without a driver: the start succeeded"; fi
echo "ok: required GPUs without a driver: the start fails"
phx_assert_contains "$(log_of nodrvreq)" "PHOENIX_GPU_REQUIRED=1: failing the start" "required: log says why"
phx_assert_eq "" "$(phx_leftover_cgroups nodrvreq)" "required: no cgroup left"

# --- nvidia_uvm fails to load --------------------------------------------------------------
h=$PHX_T/h-nouvm
phx_sim_host "$h" --uvm-not-loaded
export PHOENIX_GPU_HOST_ROOT=$h
PHOENIX_GPU_MODPROBE=$(phx_sim_modprobe "$h")
export PHOENIX_GPU_MODPROBE
phx_create_ct nouvm --env NVIDIA_VISIBLE_DEVICES=all --env PHOENIX_GPU_VERIFY_TIMEOUT=2
PHX_SIM_MODPROBE_FAIL=1 phx_start nouvm
phx_assert_eq RUNNING "$(phx_state nouvm)" "uvm load fails: container runs"
phx_assert_contains "$(cat "$h/.phx-modprobe.log")" "nvidia_uvm" "uvm load fails: modprobe nvidia_uvm was tried"
phx_assert_contains "$(log_of nouvm)" "could not load nvidia_uvm" "uvm load fails: log says so"
phx_assert_eq "c 195:0" "$(phx_rdev nouvm /dev/nvidia0)" "uvm load fails: the GPU node is still bound"
phx_assert_eq ENXIO "$(phx_open_result nouvm /dev/nvidia0)" "uvm load fails: the GPU node is usable"
phx_wait_until 15 no_worker nouvm || phx_fail "uvm load fails: worker did not finish"
"$JSON" "$(status_json nouvm)" || phx_fail "uvm load fails: status.json invalid"
echo "ok: uvm load fails: worker finished with state $(jget nouvm .state)"
finish nouvm
unset PHOENIX_GPU_MODPROBE

# --- a host node disappears between the plan (pre-start) and the mount hook ---------------
h=$PHX_T/h-vanish
phx_sim_host "$h"
export PHOENIX_GPU_HOST_ROOT=$h
cat >"$PHX_T/vanish.sh" <<EOF
#!/bin/sh
# a second pre-start hook, after the product's: the node goes away after the plan
rm -f "$h/dev/nvidia0"
EOF
chmod 0755 "$PHX_T/vanish.sh"
phx_create_ct vanish --env NVIDIA_VISIBLE_DEVICES=all --env PHOENIX_GPU_VERIFY_TIMEOUT=20 \
    --extra "lxc.hook.pre-start = $PHX_T/vanish.sh"
phx_start vanish
phx_assert_eq RUNNING "$(phx_state vanish)" "vanish: container runs"
phx_assert_contains "$(log_of vanish)" "/dev/nvidia0: missing on the host; left for post-start" "vanish: mount hook says why"
phx_assert_eq ENOENT "$(phx_rdev vanish /dev/nvidia0)" "vanish: not bound while missing"
phx_assert_eq "c 195:255" "$(phx_rdev vanish /dev/nvidiactl)" "vanish: the other nodes are bound"
phx_wait_until 10 state_is vanish verifying || phx_fail "vanish: worker not verifying"
# The node comes back (as nvidia-modprobe would make it): the worker hot-plugs it.
mknod -m 0666 "$h/dev/nvidia0" c 195 0
phx_wait_until 15 state_is vanish verified || phx_fail "vanish: not verified after the node came back"
echo "ok: vanish: verified after the node came back"
phx_assert_eq "c 195:0" "$(phx_rdev vanish /dev/nvidia0)" "vanish: hot-plugged"
phx_assert_contains "$(jget vanish .hotplugged.0)" "/dev/nvidia0" "vanish: status lists the hot-plug"
phx_wait_until 10 no_worker vanish || phx_fail "vanish: worker left after verification"
finish vanish

# And if it never comes back: timeout, loud warning, container keeps running.
phx_create_ct vanish2 --env NVIDIA_VISIBLE_DEVICES=all --env PHOENIX_GPU_VERIFY_TIMEOUT=2 \
    --extra "lxc.hook.pre-start = $PHX_T/vanish.sh"
phx_start vanish2
phx_wait_until 15 state_is vanish2 timeout || phx_fail "vanish2: no timeout state"
phx_assert_contains "$(log_of vanish2)" "GPU devices NOT ready in container vanish2" "vanish2: strong warning"
phx_assert_eq RUNNING "$(phx_state vanish2)" "vanish2: container keeps running"
phx_wait_until 10 no_worker vanish2 || phx_fail "vanish2: worker left"
finish vanish2
mknod -m 0666 "$h/dev/nvidia0" c 195 0

# --- state directory not writable ----------------------------------------------------------
h=$PHX_T/h-ok
phx_sim_host "$h"
export PHOENIX_GPU_HOST_ROOT=$h
echo "not a directory" >"$PHX_T/state-file"
phx_create_ct stfile --env NVIDIA_VISIBLE_DEVICES=all
PHOENIX_GPU_STATE_DIR=$PHX_T/state-file phx_start stfile
phx_assert_eq RUNNING "$(phx_state stfile)" "state dir is a file: container runs"
phx_assert_contains "$(log_of stfile)" "the container starts without GPUs" "state dir is a file: warning logged"
phx_assert_eq "not a directory" "$(cat "$PHX_T/state-file")" "state dir is a file: the file is untouched"
phx_wait_until 10 no_worker stfile || phx_fail "state dir is a file: a worker is left"
finish stfile

mkdir -p "$PHX_T/state-ro"
mount --bind "$PHX_T/state-ro" "$PHX_T/state-ro"
mount -o remount,bind,ro "$PHX_T/state-ro"
phx_create_ct stro --env NVIDIA_VISIBLE_DEVICES=all
PHOENIX_GPU_STATE_DIR=$PHX_T/state-ro phx_start stro
phx_assert_eq RUNNING "$(phx_state stro)" "state dir read-only: container runs"
phx_assert_contains "$(log_of stro)" "EROFS" "state dir read-only: warning names the error"
phx_assert_contains "$(log_of stro)" "the container starts without GPUs" "state dir read-only: warning logged"
phx_wait_until 10 no_worker stro || phx_fail "state dir read-only: a worker is left"
finish stro
umount "$PHX_T/state-ro"

# --- a corrupt plan file: a later pre-start hook overwrites it before the mount -----------
cat >"$PHX_T/corrupt.sh" <<'EOF'
#!/bin/sh
# second pre-start hook: garbage over the product's plan (path given as $1)
printf '{"format": "phoenix-gpu-plan", "version": 1, garbage \001\377' >"$1"
EOF
chmod 0755 "$PHX_T/corrupt.sh"
phx_create_ct corrupt --env NVIDIA_VISIBLE_DEVICES=all
plan=$(plan_json corrupt)
echo "lxc.hook.pre-start = $PHX_T/corrupt.sh $plan" >>"$PHX_LXCPATH/corrupt/config"
phx_start corrupt
phx_assert_eq RUNNING "$(phx_state corrupt)" "corrupt plan: container runs"
phx_assert_contains "$(log_of corrupt)" "no GPU nodes are mounted" "corrupt plan: mount hook warns"
phx_assert_contains "$(log_of corrupt)" "not valid JSON" "corrupt plan: the warning says why"
phx_assert_eq ENOENT "$(phx_rdev corrupt /dev/nvidia0)" "corrupt plan: nothing mounted"
phx_assert_eq ENOENT "$(phx_rdev corrupt /dev/nvidiactl)" "corrupt plan: nothing mounted (nvidiactl)"
phx_wait_until 10 no_worker corrupt || phx_fail "corrupt plan: a worker is left"
finish corrupt

# --- the worker killed (SIGKILL) while it waits for a missing node -------------------------
h=$PHX_T/h-kill
phx_sim_host "$h" --no-uvm-nodes
export PHOENIX_GPU_HOST_ROOT=$h
phx_create_ct killw --env NVIDIA_VISIBLE_DEVICES=all --env PHOENIX_GPU_CREATE_NODES=0 --env PHOENIX_GPU_VERIFY_TIMEOUT=60
phx_start killw
phx_wait_until 10 state_is killw verifying || phx_fail "killw: worker not verifying"
pids=$(worker_pids killw)
[[ -n $pids ]] || phx_fail "killw: no worker running"
# shellcheck disable=SC2086
kill -9 $pids
phx_wait_until 5 no_worker killw || phx_fail "killw: worker survived SIGKILL"
echo "ok: killw: worker $pids killed mid-verification"
phx_assert_eq verifying "$(jget killw .state)" "killw: status still says verifying (nobody left to update it)"
rc=0
"$PHX_CLI" status killw -P "$PHX_LXCPATH" >/dev/null 2>&1 || rc=$?
phx_assert_eq 1 "$rc" "killw: phoenix-gpu status reports not verified"
phx_assert_eq RUNNING "$(phx_state killw)" "killw: container keeps running"
finish killw
# The next start, with the nodes now on the host, recovers.
mknod -m 0666 "$h/dev/nvidia-uvm" c 238 0
mknod -m 0666 "$h/dev/nvidia-uvm-tools" c 238 1
phx_start killw
phx_wait_until 15 state_is killw verified || phx_fail "killw: the next start did not verify (state $(jget killw .state))"
echo "ok: killw: next start verified"
phx_assert_eq "c 238:0" "$(phx_rdev killw /dev/nvidia-uvm)" "killw: nvidia-uvm bound on the next start"
phx_wait_until 10 no_worker killw || phx_fail "killw: worker left after the recovery"
"$PHX_CLI" status killw -P "$PHX_LXCPATH" >/dev/null || phx_fail "killw: phoenix-gpu status not ok after recovery"
finish killw
echo PASS
