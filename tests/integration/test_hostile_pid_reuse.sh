#!/bin/bash
# A container stops while the worker is about to enter it, and its init's PID goes to
# another process (an "impostor" in a mount namespace of its own, standing for another
# container). Nothing of ours may reach the impostor:
#  a) hot-plug: the worker has found a late node on the host and started to hot-plug it
#     (held there by strace) when the container stops and the PID is reused; then it goes
#     on. The impostor gets no node and no mount; the worker reports the stop and exits.
#  b) driver stage: the worker has decided to install the runfile and is held at opening
#     it when the container stops and the PID is reused. Nothing is copied into the
#     impostor's /tmp, nothing runs in its namespaces; the stage fails, the worker exits.
#  c) the worker's start (hosts with a cgroup v1 devices hierarchy): the worker has asked
#     the monitor for init once the container is RUNNING and is held at init's /proc entry
#     when the container stops and the PID is reused by a process in a devices cgroup of
#     its own. No device rule is added to that cgroup; the worker reports the stop.
# The PID is reused on purpose: ns_last_pid (root in the initial PID namespace) says which
# number the next fork gets.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

FIX=$(cd "$(dirname "$0")/fixtures" && pwd)
HOST_VER=580.159.04
command -v strace >/dev/null || phx_skip "no strace to hold the worker (scripts/deps.sh installs it)"
command -v unshare >/dev/null || phx_skip "no unshare"

phx_setup_tmp
h=$PHX_T/host
export PHOENIX_GPU_HOST_ROOT=$h
phx_sim_host "$h" --no-uvm-nodes
phx_assert_contains "$(cat "$h/proc/driver/nvidia/version")" " $HOST_VER " "simulated host driver is $HOST_VER"
mkdir "$PHX_T/inst"
runfile=$PHX_T/inst/NVIDIA-Linux-x86_64-$HOST_VER.run
cp "$FIX/fake-nvidia-installer.run" "$runfile"
printf '[driver_install]\ninstaller_dir = "%s"\ntimeout = 20\n' "$PHX_T/inst" >"$PHOENIX_GPU_CONFIG"
log_of() { cat "$PHOENIX_GPU_LOG_DIR/$1.log" 2>/dev/null || true; }

# hold_worker PID OUT STRACE-ARGS... : strace holds PID at the entry of the syscalls the
# arguments select (30 s each) and writes each held call's start to OUT; killing strace
# lets the call go on at once. Returns once strace is attached; STRACE_PID is strace's.
hold_worker() {
    local pid=$1 out=$2
    shift 2
    strace -qq -e signal=none -o "$out" -p "$pid" "$@" 2>>"$out.err" &
    STRACE_PID=$!
    phx_wait_until 5 grep -q "^TracerPid:[[:space:]]*$STRACE_PID\$" "/proc/$pid/status" ||
        phx_fail "strace could not attach to the worker $pid: $(cat "$out.err")"
}
release_worker() {
    kill "$STRACE_PID" 2>/dev/null || true
    wait "$STRACE_PID" 2>/dev/null || true
}

# take_pid PID CMD... : starts CMD in the background as process PID (free now). The next
# fork gets ns_last_pid + 1; another fork on the machine may come first, so try again.
take_pid() {
    local want=$1 i
    shift
    for ((i = 0; i < 50; i++)); do
        echo $((want - 1)) >/proc/sys/kernel/ns_last_pid
        "$@" &
        [[ $! == "$want" ]] && return 0
        kill -9 $! 2>/dev/null || true
        wait $! 2>/dev/null || true
        [[ ! -d /proc/$want ]] || return 1
    done
    return 1
}

# impostor PID [SETUP] : a process numbered PID in a mount namespace of its own, with
# empty tmpfs mounts on /dev and /tmp there, so anything sent into it stays in it and
# shows. SETUP: shell code it runs first.
impostor() {
    local pid=$1 setup=${2:-:}
    take_pid "$pid" unshare -m --propagation private /bin/sh -c \
        "$setup && mount -t tmpfs impostor /dev && mount -t tmpfs impostor /tmp && : >/dev/.impostor && exec sleep 120" ||
        phx_fail "could not start a process with the pid $pid"
    phx_wait_until 5 test -e "/proc/$pid/root/dev/.impostor" || phx_fail "the impostor $pid did not get ready"
    [[ $(readlink "/proc/$pid/ns/mnt") != $(readlink /proc/self/ns/mnt) ]] ||
        phx_fail "the impostor is in the host's mount namespace"
    echo "ok: pid $pid now belongs to an impostor in its own mount namespace"
}

# impostor_untouched PID WHAT : the impostor's /dev and /tmp hold only what it made, no
# mount of ours is in its namespace, and no other process has joined that namespace.
impostor_untouched() {
    local pid=$1 what=$2 ns p others=""
    phx_assert_eq ".impostor" "$(ls -A "/proc/$pid/root/dev")" "$what: the impostor's /dev is as it made it"
    phx_assert_eq "" "$(ls -A "/proc/$pid/root/tmp")" "$what: nothing in the impostor's /tmp"
    phx_assert_not_contains "$(cat "/proc/$pid/mountinfo")" "nvidia" "$what: no nvidia mount in the impostor's namespace"
    ns=$(readlink "/proc/$pid/ns/mnt")
    for p in /proc/[0-9]*; do
        [[ ${p#/proc/} != "$pid" && $(readlink "$p/ns/mnt" 2>/dev/null) == "$ns" ]] && others+=" ${p#/proc/}"
    done
    phx_assert_eq "" "$others" "$what: no process of ours in the impostor's namespace"
}

worker_gone() { ! kill -0 "$1" 2>/dev/null; }

# start_waiting NAME INSTALL : starts container NAME with the host's uvm nodes missing and
# node creation off, so its worker waits for them (verifying), with driver install INSTALL;
# sets worker and init to the worker's and the container init's pids.
start_waiting() {
    local name=$1 install=$2
    phx_create_ct "$name" --env NVIDIA_VISIBLE_DEVICES=all --env PHOENIX_GPU_CREATE_NODES=0 \
        --env PHOENIX_GPU_VERIFY_TIMEOUT=30 --env PHOENIX_GPU_DRIVER_INSTALL="$install"
    phx_start "$name"
    phx_wait_gpu_status "$name" verifying 10 ||
        phx_fail "$name: the worker is not verifying (state: $(phx_gpu_status "$name"))"
    worker=$(phx_gpu_status "$name" worker_pid)
    init=$(phx_init_pid "$name")
    [[ -n $worker && -n $init ]] || phx_fail "$name: no worker or init pid"
}

# The late uvm nodes appear on the host.
make_uvm_nodes() {
    mknod -m 0666 "$h/dev/nvidia-uvm" c 238 0
    mknod -m 0666 "$h/dev/nvidia-uvm-tools" c 238 1
}

# --- a) hot-plug ------------------------------------------------------------------------
# The uvm nodes are missing on the host (creation off): the worker waits for them.
start_waiting a none
# Every hot-plug makes its bind with open_tree on the host, before it enters the
# container: held there.
hold_worker "$worker" "$PHX_T/a.strace" -e trace=open_tree -e inject=open_tree:delay_enter=30000000
make_uvm_nodes
phx_wait_until 10 grep -q "open_tree(" "$PHX_T/a.strace" ||
    phx_fail "a: the worker started no hot-plug: $(log_of a | tail -n 20)"
echo "ok: the worker is held in a hot-plug: $(head -c 120 "$PHX_T/a.strace")"
phx_stop a
impostor "$init"
release_worker
phx_wait_until 10 worker_gone "$worker" || phx_fail "a: the worker $worker did not exit: $(log_of a | tail -n 20)"
impostor_untouched "$init" "a (hot-plug)"
phx_assert_eq stopped "$(phx_gpu_status a)" "a: the worker reports the stop"
phx_assert_contains "$(log_of a)" "hot-plug of /dev/nvidia-uvm failed" "a: the held hot-plug failed"
phx_assert_not_contains "$(log_of a)" "hot-plugged" "a: nothing hot-plugged"
kill -9 "$init"
wait "$init" 2>/dev/null || true

# --- b) driver stage --------------------------------------------------------------------
# Again a late uvm node, so that strace is attached before verification ends: this time
# the container keeps running and the hot-plug must work. Then the install of the runfile
# is held at opening it.
rm -f "$h/dev/nvidia-uvm" "$h/dev/nvidia-uvm-tools"
start_waiting b runfile
hold_worker "$worker" "$PHX_T/b.strace" -e trace=open,openat -P "$runfile" \
    -e inject=open,openat:delay_enter=30000000
make_uvm_nodes
phx_wait_until 10 grep -q "NVIDIA-Linux-x86_64-$HOST_VER.run" "$PHX_T/b.strace" ||
    phx_fail "b: the driver stage did not open the runfile (state: $(phx_gpu_status b)): $(log_of b | tail -n 20)"
echo "ok: the worker is held opening the runfile: $(head -c 160 "$PHX_T/b.strace")"
phx_assert_eq verified "$(phx_gpu_status b)" "b: verified before the driver stage"
phx_assert_contains "$(log_of b)" "hot-plugged /dev/nvidia-uvm" "b: the hot-plug into the running container worked"
phx_stop b
impostor "$init"
release_worker
phx_wait_until 15 worker_gone "$worker" || phx_fail "b: the worker $worker did not exit: $(log_of b | tail -n 20)"
impostor_untouched "$init" "b (driver stage)"
phx_assert_eq "" "$(ls -d /tmp/phoenix-gpu-"$worker"-* 2>/dev/null || true)" "b: no installer copy on the host's /tmp"
log=$(log_of b)
phx_assert_contains "$log" "driver stage: " "b: the driver stage ended"
phx_assert_not_contains "$log" "installer output" "b: no installer ran"
phx_assert_not_contains "$log" "installed userspace driver" "b: nothing installed"

# --- c) the worker's start --------------------------------------------------------------
# On cgroup2 the rules go through the monitor, which is gone with the container. Under
# systemd the worker is a transient unit that starts only after init's exec: nothing to
# hold before RUNNING.
if [[ $(phx_cgroup_layout) == unified ]]; then
    echo "PASS (c skipped: no cgroup v1 devices hierarchy)"
    exit 0
fi
if [[ -d /run/systemd/system && -x /usr/bin/systemd-run && -z ${PHOENIX_GPU_NO_SYSTEMD:-} ]]; then
    echo "PASS (c skipped: the worker starts as a systemd unit)"
    exit 0
fi
# A start-host hook after ours holds the start (init has not exec'd, nothing is RUNNING)
# until the worker is under strace.
hold=$PHX_T/hold-start-host
# shellcheck disable=SC2016 # $LXC_PID is the hook's
printf '#!/bin/sh\necho "$LXC_PID" >%s\nwhile [ ! -e %s ]; do sleep 0.05; done\n' \
    "$PHX_T/c.init" "$PHX_T/c.go" >"$hold"
chmod 0755 "$hold"
phx_create_ct c --env NVIDIA_VISIBLE_DEVICES=all --env PHOENIX_GPU_DRIVER_INSTALL=none \
    --extra "lxc.hook.start-host = $hold"
phx_start c >"$PHX_T/c.start" 2>&1 &
start_job=$!
phx_wait_until 10 test -s "$PHX_T/c.init" || phx_fail "c: the start did not reach start-host: $(cat "$PHX_T/c.start")"
init=$(cat "$PHX_T/c.init")
# The worker: still the hook's child (it waits for init's exec) or already exec'd.
spawned() {
    local p a=()
    for p in /proc/[0-9]*; do
        mapfile -d '' a <"$p/cmdline" 2>/dev/null || continue
        case "${a[*]}" in
        "$PHX_HOOK_DIR/post-start c lxc start-host" | "$PHX_HOOK_DIR/worker c $PHX_LXCPATH")
            echo "${p#/proc/}"
            return 0
            ;;
        esac
    done
    return 1
}
phx_wait_until 5 spawned || phx_fail "c: no worker"
worker=$(spawned)
hold_worker "$worker" "$PHX_T/c.strace" -e trace=open,openat -P "/proc/$init" -P "/proc/$init/cgroup" \
    -e inject=open,openat:delay_enter=30000000
: >"$PHX_T/c.go"
wait "$start_job" || phx_fail "c: the start failed: $(cat "$PHX_T/c.start")"
phx_wait_until 10 grep -q "\"/proc/$init" "$PHX_T/c.strace" ||
    phx_fail "c: the worker did not look at init's /proc entry (state: $(phx_gpu_status c)): $(log_of c | tail -n 20)"
echo "ok: the worker is held at init's /proc entry: $(head -c 120 "$PHX_T/c.strace")"
phx_stop c
imp_cg=/sys/fs/cgroup/devices/phx-impostor-${PHX_T##*/}
mkdir "$imp_cg"
remove_imp_cg() {
    local rc=$?
    kill -9 "$init" 2>/dev/null && sleep 0.2
    rmdir "$imp_cg" 2>/dev/null
    return "$rc"
}
trap 'remove_imp_cg; phx__cleanup' EXIT
echo a >"$imp_cg/devices.deny"
impostor "$init" "echo \$\$ >$imp_cg/cgroup.procs"
release_worker
phx_wait_until 10 worker_gone "$worker" || phx_fail "c: the worker $worker did not exit: $(log_of c | tail -n 20)"
phx_assert_eq "" "$(cat "$imp_cg/devices.list")" "c: no device rule in the impostor's devices cgroup"
impostor_untouched "$init" "c (start)"
phx_assert_eq stopped "$(phx_gpu_status c)" "c: the worker reports the stop"
echo PASS
