#!/bin/bash
# The driver stage: after verification the worker compares the container's userspace
# driver (libnvidia-ml.so.<ver>/libcuda.so.<ver>) with the host's kernel module and, per
# strategy, runs the NVIDIA runfile or a command inside the container. Checked here:
# current (nothing run), install when missing, reinstall after a host upgrade, failure,
# timeout (installer killed, nothing left running), missing installer, command strategy
# with {version}, per-container override, report-only, a second install while one runs
# (busy, no second installer), install-driver by hand, and `phoenix-gpu status`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

FIX=$(cd "$(dirname "$0")/fixtures" && pwd)
JSON=$FIX/json-get
HOST_VER=580.159.04
NEW_VER=580.200.01
LIBDIR=usr/local/nvidia/lib64   # in the container's rootfs: writable, searched by the stage

phx_setup_tmp
host=$PHX_T/host
phx_sim_host "$host"
export PHOENIX_GPU_HOST_ROOT=$host
phx_assert_contains "$(cat "$host/proc/driver/nvidia/version")" " $HOST_VER " "simulated host driver is $HOST_VER"

# Installer directories: a good runfile for both versions, a failing one, a hanging one,
# none at all.
mkdir -p "$PHX_T/inst-good" "$PHX_T/inst-fail" "$PHX_T/inst-hang" "$PHX_T/inst-none"
for v in $HOST_VER $NEW_VER; do
    cp "$FIX/fake-nvidia-installer.run" "$PHX_T/inst-good/NVIDIA-Linux-x86_64-$v.run"
done
cp "$FIX/fake-nvidia-installer-fail.run" "$PHX_T/inst-fail/NVIDIA-Linux-x86_64-$HOST_VER.run"
cp "$FIX/fake-nvidia-installer-hang.run" "$PHX_T/inst-hang/NVIDIA-Linux-x86_64-$HOST_VER.run"

# host_config STRATEGY INSTALLER_DIR TIMEOUT [COMMAND]
host_config() {
    {
        echo "[verify]"
        echo "timeout = 20"
        echo "[driver_install]"
        echo "strategy = \"$1\""
        echo "installer_dir = \"$2\""
        echo "timeout = $3"
        if [[ -n ${4:-} ]]; then printf 'command = "%s"\n' "$4"; fi
    } >"$PHOENIX_GPU_CONFIG"
}


# wait_driver NAME [SECONDS] : until the worker has finished the driver stage.
wait_driver() {
    phx_wait_until "${2:-30}" phx_driver_done "$1" ||
        phx_fail "$1: driver stage did not finish (status: $(phx_jget "$1" .state)/$(phx_jget "$1" .driver.state))"
    "$JSON" "$(phx_status_json "$1")" || phx_fail "$1: status.json is not valid JSON"
}

# cmdline_of PID : the command line with spaces (bash builtins only: this runs over
# every process, often).
cmdline_of() {
    local -a a=()
    mapfile -d '' a <"/proc/$1/cmdline" 2>/dev/null || return 0
    echo "${a[*]}"
}
# Processes running "sleep 1000" (the hanging installer's child) in the pid namespace of
# process $1 (a container's init).
installer_sleeps() {
    local ns p n=0
    ns=$(readlink "/proc/$1/ns/pid") || { echo 0; return; }
    for p in /proc/[0-9]*; do
        [[ $(cmdline_of "${p#/proc/}") == "sleep 1000" ]] || continue
        [[ $(readlink "$p/ns/pid" 2>/dev/null) == "$ns" ]] && n=$((n + 1))
    done
    echo "$n"
}
# Processes still in a pid namespace (NS: a readlink of /proc/PID/ns/pid), or those of
# them running the installer copy (".../tmp/phoenix-gpu-...") with --installer.
ns_procs() {
    local p n=0
    for p in /proc/[0-9]*; do
        [[ $(readlink "$p/ns/pid" 2>/dev/null) == "$1" ]] || continue
        if [[ ${2:-} == --installer ]]; then
            [[ $(cmdline_of "${p#/proc/}") == *phoenix-gpu-*NVIDIA-Linux* || $(cmdline_of "${p#/proc/}") == "sleep 1000" ]] || continue
        fi
        n=$((n + 1))
    done
    echo "$n"
}
no_ns_procs() { [[ $(ns_procs "$1") == 0 ]]; }
# Workers, not counting the process a worker forks to attach to the container (same
# command line, its parent a worker).
workers_of() {
    local p n=0 ppid rest
    for p in /proc/[0-9]*; do
        [[ $(cmdline_of "${p#/proc/}") == *"/worker $1 $PHX_LXCPATH" ]] || continue
        read -r _ _ _ ppid rest <"$p/stat" 2>/dev/null || continue
        [[ $(cmdline_of "$ppid") == *"/worker $1 $PHX_LXCPATH" ]] && continue
        n=$((n + 1))
    done
    echo "$n"
}
# For phx_wait_until, which re-runs a command (not a $(...) expanded once).
sleeps_are() { [[ $(installer_sleeps "$1") == "$2" ]]; }
driver_is() { [[ $(phx_jget "$1" .driver.state) == "$2" ]]; }
no_worker() { [[ $(workers_of "$1") == 0 ]]; }

log_of() { cat "$PHOENIX_GPU_LOG_DIR/$1.log" 2>/dev/null || true; }
mkct() { phx_create_ct "$1" --env NVIDIA_VISIBLE_DEVICES=all --env NVIDIA_DRIVER_CAPABILITIES=compute,utility "${@:2}"; }

# --- current: the container's userspace already matches -> nothing is run ------------
host_config runfile "$PHX_T/inst-good" 60
mkct cur
mkdir -p "$PHX_LXCPATH/cur/rootfs/$LIBDIR"
: >"$PHX_LXCPATH/cur/rootfs/$LIBDIR/libnvidia-ml.so.$HOST_VER"
: >"$PHX_LXCPATH/cur/rootfs/$LIBDIR/libcuda.so.$HOST_VER"
ln -s "libnvidia-ml.so.$HOST_VER" "$PHX_LXCPATH/cur/rootfs/$LIBDIR/libnvidia-ml.so.1"
phx_start cur
wait_driver cur
phx_assert_eq verified "$(phx_jget cur .state)" "cur: verified"
phx_assert_eq current "$(phx_jget cur .driver.state)" "cur: driver current"
phx_assert_eq "$HOST_VER" "$(phx_jget cur .driver.host_version)" "cur: host version recorded"
phx_assert_eq "$HOST_VER" "$(phx_jget cur .driver.container_version)" "cur: container version recorded"
phx_assert_eq "ENOENT" "$(phx_rdev cur /var/log/fake-nvidia-installer.log)" "cur: the installer did not run"
phx_assert_eq "0" "$(phx_jget cur .driver.duration_ms)" "cur: no install duration"
phx_assert_contains "$(log_of cur)" "matches the host" "cur: log says the driver matches"
phx_stop cur

# --- install when missing ------------------------------------------------------------
mkct inst
t0=$SECONDS
phx_start inst
wait_driver inst
phx_assert_eq installed "$(phx_jget inst .driver.state)" "inst: driver installed"
phx_assert_eq runfile "$(phx_jget inst .driver.strategy)" "inst: strategy runfile"
phx_assert_eq "$HOST_VER" "$(phx_jget inst .driver.container_version)" "inst: container version after install"
phx_assert_eq 0 "$(phx_jget inst .driver.exit_code)" "inst: exit code 0 recorded"
d=$(phx_jget inst .driver.duration_ms)
[[ $d =~ ^[0-9]+$ ]] && ((d > 0 && d < (SECONDS - t0 + 1) * 1000)) ||
    phx_fail "inst: duration_ms [$d] not a plausible positive duration"
echo "ok: inst: duration $d ms recorded"
phx_assert_contains "$(phx_jget inst .driver.output_tail)" "(version: $HOST_VER) is now complete" "inst: output tail recorded"
phx_assert_eq f "$(phx_rdev inst "/$LIBDIR/libnvidia-ml.so.$HOST_VER")" "inst: libnvidia-ml.so.$HOST_VER inside"
phx_assert_eq f "$(phx_rdev inst "/$LIBDIR/libcuda.so.$HOST_VER")" "inst: libcuda.so.$HOST_VER inside"
args=$(phx_in inst cat /var/log/fake-nvidia-installer.log)
phx_assert_eq 1 "$(grep -c . <<<"$args")" "inst: the installer ran once"
for a in --silent --no-kernel-module --no-dkms; do
    phx_assert_contains " $args " " $a " "inst: installer got $a"
done
phx_assert_eq "" "$(phx_in inst ls /tmp)" "inst: the copied installer is removed from /tmp"
phx_assert_contains "$(log_of inst)" "installed userspace driver $HOST_VER" "inst: log records the install"
phx_assert_contains "$(log_of inst)" "is now complete" "inst: log has the installer output"
phx_wait_until 10 no_worker inst || phx_fail "inst: worker still running after the driver stage"
echo "ok: inst: worker exited"

# phoenix-gpu status shows the driver stage.
out=$("$PHX_CLI" status inst -P "$PHX_LXCPATH" 2>&1) || true
phx_assert_contains "$out" "driver        installed (strategy runfile)" "status: driver line"
phx_assert_contains "$out" "installed userspace driver $HOST_VER" "status: driver message"
out=$("$PHX_CLI" status inst -P "$PHX_LXCPATH" --json 2>&1) || true
phx_assert_eq installed "$("$JSON" - .driver.state <<<"$out")" "status --json: .driver.state"

# A restart with the driver now in place: current, no second run.
phx_stop inst
phx_start inst
wait_driver inst
phx_assert_eq current "$(phx_jget inst .driver.state)" "inst restart: driver current"
phx_assert_eq 1 "$(phx_in inst cat /var/log/fake-nvidia-installer.log | grep -c .)" \
    "inst restart: the installer did not run again"
phx_stop inst

# --- reinstall after the host's driver changes ---------------------------------------
sed -i "s/ $HOST_VER / $NEW_VER /" "$host/proc/driver/nvidia/version"
phx_start inst
wait_driver inst
phx_assert_eq installed "$(phx_jget inst .driver.state)" "upgrade: driver reinstalled"
phx_assert_eq "$NEW_VER" "$(phx_jget inst .driver.host_version)" "upgrade: new host version"
phx_assert_eq "$NEW_VER" "$(phx_jget inst .driver.container_version)" "upgrade: container now has $NEW_VER"
phx_assert_eq f "$(phx_rdev inst "/$LIBDIR/libnvidia-ml.so.$NEW_VER")" "upgrade: libnvidia-ml.so.$NEW_VER inside"
phx_assert_eq ENOENT "$(phx_rdev inst "/$LIBDIR/libnvidia-ml.so.$HOST_VER")" "upgrade: old library replaced"
phx_assert_contains "$(log_of inst)" "does not match the host's $NEW_VER" "upgrade: log names the mismatch"
phx_stop inst
sed -i "s/ $NEW_VER / $HOST_VER /" "$host/proc/driver/nvidia/version"

# --- failure: exit status 3 and its message ------------------------------------------
host_config runfile "$PHX_T/inst-fail" 60
mkct fail
phx_start fail
wait_driver fail
phx_assert_eq failed "$(phx_jget fail .driver.state)" "fail: driver failed"
phx_assert_eq 3 "$(phx_jget fail .driver.exit_code)" "fail: exit code 3 recorded"
phx_assert_contains "$(phx_jget fail .driver.message)" "exited with 3" "fail: message names the exit status"
phx_assert_contains "$(phx_jget fail .driver.output_tail)" "fake installer failure" "fail: output tail has the error"
phx_assert_contains "$(log_of fail)" "fake installer failure" "fail: the installer's message is in the log"
phx_assert_eq RUNNING "$(phx_state fail)" "fail: container keeps running"

# install-driver by hand once a good installer is there: installs, exit 0.
host_config runfile "$PHX_T/inst-good" 60
rc=0
out=$(timeout 60 "$PHX_CLI" install-driver fail -P "$PHX_LXCPATH" 2>&1) || rc=$?
phx_assert_eq 0 "$rc" "install-driver by hand: exit 0"
phx_assert_contains "$out" "driver installed" "install-driver by hand: reports installed"
phx_assert_eq installed "$(phx_jget fail .driver.state)" "install-driver by hand: status.json updated"
phx_assert_eq f "$(phx_rdev fail "/$LIBDIR/libcuda.so.$HOST_VER")" "install-driver by hand: library inside"
rc=0
out=$(timeout 60 "$PHX_CLI" install-driver fail -P "$PHX_LXCPATH" 2>&1) || rc=$?
phx_assert_eq "0 current" "$rc $(phx_jget fail .driver.state)" "install-driver again: current, exit 0"
phx_stop fail

# --- timeout: the installer and everything it started are killed ---------------------
host_config runfile "$PHX_T/inst-hang" 3
mkct hang
phx_start hang
init=$(phx_init_pid hang)
phx_wait_until 15 sleeps_are "$init" 1 || phx_fail "hang: the hanging installer never ran"
echo "ok: hang: installer running"
wait_driver hang 30
phx_assert_eq timeout "$(phx_jget hang .driver.state)" "hang: driver timeout"
d=$(phx_jget hang .driver.duration_ms)
((d >= 3000 && d < 10000)) || phx_fail "hang: duration_ms $d, expected about 3000"
echo "ok: hang: killed after $d ms"
phx_assert_contains "$(phx_jget hang .driver.output_tail)" "waiting forever" "hang: output tail recorded"
phx_assert_eq 0 "$(installer_sleeps "$init")" "hang: no sleep 1000 left in the container"
phx_assert_eq 0 "$(ns_procs "$(readlink "/proc/$init/ns/pid")" --installer)" "hang: no installer process left in the container"
phx_assert_eq "" "$(phx_in hang ls /tmp)" "hang: the copied installer is removed from /tmp"
phx_assert_contains "$(log_of hang)" "ran past 3 s and was killed" "hang: log says why"
phx_wait_until 10 no_worker hang || phx_fail "hang: worker still running"
phx_assert_eq RUNNING "$(phx_state hang)" "hang: container keeps running"
phx_stop hang

# --- no installer for the host's version ---------------------------------------------
host_config runfile "$PHX_T/inst-none" 60
mkct noinst
phx_start noinst
wait_driver noinst
phx_assert_eq no-installer "$(phx_jget noinst .driver.state)" "noinst: state no-installer"
phx_assert_contains "$(log_of noinst)" "expected $PHX_T/inst-none/NVIDIA-Linux-x86_64-$HOST_VER.run" \
    "noinst: log names the exact expected path"
phx_stop noinst

# --- command strategy with {version} --------------------------------------------------
cmd="mkdir -p /$LIBDIR && echo v{version} > /$LIBDIR/libnvidia-ml.so.{version} && echo command-installed {version}"
host_config command "$PHX_T/inst-none" 60 "$cmd"
mkct cmd
phx_start cmd
wait_driver cmd
phx_assert_eq "installed command" "$(phx_jget cmd .driver.state) $(phx_jget cmd .driver.strategy)" "cmd: installed by command"
phx_assert_eq "v$HOST_VER" "$(phx_in cmd cat "/$LIBDIR/libnvidia-ml.so.$HOST_VER")" "cmd: {version} substituted"
phx_assert_contains "$(phx_jget cmd .driver.output_tail)" "command-installed $HOST_VER" "cmd: output tail"
phx_stop cmd

# --- per-container override: host says none, the container says command --------------
host_config none "$PHX_T/inst-none" 60 "$cmd"
mkct over --env PHOENIX_GPU_DRIVER_INSTALL=command
phx_start over
wait_driver over
phx_assert_eq "installed command" "$(phx_jget over .driver.state) $(phx_jget over .driver.strategy)" \
    "override: PHOENIX_GPU_DRIVER_INSTALL=command wins over the host's none"
phx_stop over

# --- and the other way: host runfile, the container none -> report only --------------
host_config runfile "$PHX_T/inst-good" 60
mkct rep --env PHOENIX_GPU_DRIVER_INSTALL=none
phx_start rep
wait_driver rep
phx_assert_eq "mismatch none" "$(phx_jget rep .driver.state) $(phx_jget rep .driver.strategy)" "report-only: mismatch"
phx_assert_eq ENOENT "$(phx_rdev rep /var/log/fake-nvidia-installer.log)" "report-only: nothing installed"
phx_assert_contains "$(log_of rep)" "PHOENIX_GPU_DRIVER_INSTALL" "report-only: log says how to fix"
phx_stop rep

# --- two installs racing for the lock ----------------------------------------------------
# The worker runs a hanging installer (killed after 8 s); meanwhile install-driver is run
# by hand: it must answer busy at once and start no second installer.
host_config runfile "$PHX_T/inst-hang" 8
mkct race
phx_start race
init=$(phx_init_pid race)
phx_wait_until 15 driver_is race installing || phx_fail "race: worker never started installing"
phx_wait_until 15 sleeps_are "$init" 1 || phx_fail "race: the installer never ran (status $(phx_jget race .state), driver $(phx_jget race .driver.state): $(phx_jget race .driver.message))"
rc=0
t0=$SECONDS
out=$(timeout 30 "$PHX_CLI" install-driver race -P "$PHX_LXCPATH" 2>&1) || rc=$?
phx_assert_eq 1 "$rc" "race: install-driver by hand exits 1 while an install runs"
phx_assert_contains "$out" "driver busy" "race: install-driver reports busy"
((SECONDS - t0 < 5)) || phx_fail "race: install-driver waited for the lock instead of reporting busy"
phx_assert_eq busy "$(phx_jget race .driver.state)" "race: the refused attempt is recorded as busy"
phx_assert_eq 1 "$(installer_sleeps "$init")" "race: still exactly one installer running"
phx_assert_eq 1 "$(workers_of race)" "race: one worker"
# Until the worker's install ends, never a second installer.
max=0
while ! phx_driver_done race || [[ $(phx_jget race .driver.state) == busy ]]; do
    n=$(installer_sleeps "$init")
    ((n > max)) && max=$n
    ((SECONDS - t0 < 30)) || phx_fail "race: the worker's install did not end"
    sleep 0.2
done
phx_assert_eq 1 "$max" "race: at most one installer at any time"
phx_assert_eq timeout "$(phx_jget race .driver.state)" "race: the worker's own result replaces busy"
phx_assert_eq "" "$(phx_in race ls /tmp)" "race: the installer copy is removed from /tmp"
ns=$(readlink "/proc/$init/ns/pid")
phx_stop race
phx_wait_until 10 no_worker race || phx_fail "race: worker left after the container stopped"
phx_wait_until 10 no_ns_procs "$ns" || phx_fail "race: processes left in the container's pid namespace"
echo "ok: race: nothing left in the container's pid namespace after the stop"
phx_assert_eq "" "$(phx_leftover_cgroups race)" "race: no cgroup left"

# A stop during an install: the installer dies with the container, the worker exits and
# records it; nothing is left.
host_config runfile "$PHX_T/inst-hang" 120
phx_start race
init=$(phx_init_pid race)
phx_wait_until 15 sleeps_are "$init" 1 || phx_fail "race2: the installer never ran (status $(phx_jget race .state), driver $(phx_jget race .driver.state): $(phx_jget race .driver.message))"
ns=$(readlink "/proc/$init/ns/pid")
phx_stop race
phx_wait_until 10 no_worker race || phx_fail "race2: worker left after a stop during the install"
phx_wait_until 10 no_ns_procs "$ns" || phx_fail "race2: processes left in the container's pid namespace"
echo "ok: race2: installer gone with the container (nothing left in its pid namespace)"
phx_assert_eq "" "$(phx_leftover_cgroups race)" "race2: no cgroup left"
phx_assert_not_contains "$(phx_jget race .driver.state)" "installing" "race2: status does not claim an install still runs"
echo PASS
