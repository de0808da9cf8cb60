#!/usr/bin/env bash
# End-to-end test of phoenix-gpu-hooks on a real NVIDIA GPU host: CUDA in privileged and
# unprivileged LXC containers (with an allow-list device cgroup and with none), the boot race,
# late nodes, the verification timeout, GPU
# selection, and start-time costs, on pure cgroup2.
#
# On the GPU machine, as root, from the repository root, with build-gpu/ (tests/gpu/build.sh)
# and gpu-lxc/ (Debian 12 LXC and the product's runtime libraries) carried along:
#
#   bash tests/gpu/run_gpu_e2e.sh
#
# Without a GPU (here), against a simulated host (phx_sim_host of tests/integration/lib.sh, from
# tests/fixtures/h200-host):
#
#   bash tests/gpu/run_gpu_e2e.sh --simulate [--system-lxc] [--gpus N]
#
# Options:
#   --simulate        simulated NVIDIA host (PHOENIX_GPU_HOST_ROOT) instead of the real one; the
#                     CUDA checks become node checks (present inside, right rdev)
#   --gpus N          GPUs of the simulated host (default 3)
#   --system-lxc      use the LXC installed on this machine instead of unpacking gpu-lxc/
#   --rows LIST       run only these rows, e.g. a,b,g; t is the timing table (default: all)
#   --timing-runs N   starts per variant in the timing table (default 10; 0 skips it)
#   --results DIR     where the results go (default: $OUT, else build-gpu/e2e-results)
#
# Results (at most 3 files): results.txt (the tables, doctor output, host facts, cleanup
# check), run.log (everything the script did and saw), logs.tar.gz (the product's logs and
# status/plan files, the LXC logs, the container configs).
# Exit status: 0 all rows PASS or SKIP; 1 a row FAILed or cleanup left something behind;
# 2 the test could not run at all.
#
# If /sys/fs/cgroup is not a pure cgroup2 mount (a hybrid host), the script re-runs itself in
# a private mount namespace with cgroup2 mounted at /sys/fs/cgroup, so LXC and the hooks see a
# pure-cgroup2 host and device access is enforced by LXC's BPF program, as on the GPU machine.
set -uo pipefail
umask 022

SELF=$(readlink -f "${BASH_SOURCE[0]}")
REPO=$(cd "$(dirname "$SELF")/../.." && pwd)
cd "$REPO" || exit 2
# The simulated host of --simulate is the integration tests' (phx_sim_host); nothing else of
# the harness is used here.
source "$REPO/tests/integration/lib.sh"

SIMULATE=0 SYSTEM_LXC=0 SIM_GPUS=3 ROWS_WANTED="" TIMING_RUNS=10 RES=${OUT:-}
ORIG_ARGS=("$@")
while (($#)); do
    case $1 in
    --simulate) SIMULATE=1 ;;
    --system-lxc) SYSTEM_LXC=1 ;;
    --gpus) SIM_GPUS=${2:?}; shift ;;
    --rows) ROWS_WANTED=${2:?}; shift ;;
    --timing-runs) TIMING_RUNS=${2:?}; shift ;;
    --results) RES=${2:?}; shift ;;
    -h | --help) awk 'NR > 1 && !/^#/ {exit} NR > 1' "$SELF" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run_gpu_e2e.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[[ $SIM_GPUS =~ ^[1-9][0-9]?$ ]] || { echo "--gpus: 1..99" >&2; exit 2; }
[[ $TIMING_RUNS =~ ^[0-9]+$ ]] || { echo "--timing-runs: a number" >&2; exit 2; }
[[ $EUID -eq 0 ]] || { echo "run_gpu_e2e.sh: run as root" >&2; exit 2; }

# ---------------------------------------------------------------------------------------------
# Pure cgroup2, in a private mount namespace if the host is not.

if [[ $(stat -f -c %T /sys/fs/cgroup) != cgroup2fs ]]; then
    if [[ -n ${PHX_E2E_IN_NS:-} ]]; then
        echo "run_gpu_e2e.sh: /sys/fs/cgroup is still not cgroup2 in the private namespace" >&2
        exit 2
    fi
    # shellcheck disable=SC2016
    exec unshare -m --propagation private -- env PHX_E2E_IN_NS=1 bash -c '
        set -e
        for d in /sys/fs/cgroup/*; do
            if mountpoint -q "$d"; then umount -l "$d"; fi
        done
        umount -l /sys/fs/cgroup
        mount -t cgroup2 cgroup2 /sys/fs/cgroup
        exec bash "$0" "$@"' "$SELF" "${ORIG_ARGS[@]}"
fi

# ---------------------------------------------------------------------------------------------
# Results and logging

RES=${RES:-$REPO/build-gpu/e2e-results}
mkdir -p "$RES" || exit 2
RES=$(cd "$RES" && pwd)
rm -f "$RES/results.txt" "$RES/run.log" "$RES/logs.tar.gz"
RUNLOG=$RES/run.log
: >"$RUNLOG"

now_us() { local t=${EPOCHREALTIME//[.,]/}; echo $((10#$t)); }
now_ms() { echo $(($(now_us) / 1000)); }
T0_US=$(now_us)
say() {
    local us=$(($(now_us) - T0_US))
    printf '[%4d.%03d] %s\n' $((us / 1000000)) $((us / 1000 % 1000)) "$*" | tee -a "$RUNLOG" >&2
}
# Appends stdin to run.log, indented, under a heading.
logblock() {
    { printf -- '----- %s\n' "$1"; sed 's/^/    /'; } >>"$RUNLOG"
}
die() {
    say "FATAL: $*"
    FATAL="$*"
    exit 2
}

# Globals the cleanup and the results use, whatever point the run got to.
T="" HR="" KIT_LD="" LXCPATH="" TAG="" BUILD=$REPO/build-gpu PHX=$REPO/build-gpu/src/phoenix-gpu
LXC_VERSION="?" LXC_SOURCE="?" PHX_VERSION="?" HOOK_NOTE="" DRIVER_VERSION="?" UVM_MAJOR=""
GPU_COUNT=0 GPU_MODEL="" GPU_TABLE="" ALL_MINORS="" UVM_ORIG="?" NVSMI_L="" NVSMI_NAME="" HOST_CUDA=""
HOST_NODES_BEFORE="" CUDA_CHECK=$REPO/build-gpu/cuda_check T_NOTE=""
CTS=()                 # containers created, in order
UVM_TOUCHED=0          # host uvm nodes removed by us at some point
SUBID_BACKUP=""        # /etc/subuid and /etc/subgid saved before we added root's range
CLEANED=0 FATAL=""
HOSTROOT_ARGS=()
CG_BEFORE=$(ls /sys/fs/cgroup 2>/dev/null | sort)

APPLETS="sh ash cat ls stat sleep test [ echo grep head tail mkdir rm id env true false readlink wc printf
         find mount ps uname dd hexdump sed awk tr cut sort basename dirname"

# make_rootfs DIR
make_rootfs() {
    local r=$1 d a have
    mkdir -m 0755 "$r"
    for d in bin sbin dev proc sys tmp etc root run var lib lib64 usr usr/lib usr/local usr/local/nvidia; do
        mkdir -p "$r/$d"
    done
    chmod 1777 "$r/tmp"
    cp "$BUSYBOX" "$r/bin/busybox"
    chmod 0755 "$r/bin/busybox"
    have=" $("$BUSYBOX" --list | xargs) "
    for a in $APPLETS; do
        [[ $have == *" $a "* ]] && ln -s busybox "$r/bin/$a"
    done
    echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
    echo 'root:x:0:' >"$r/etc/group"
    cp "$CUDA_CHECK" "$r/cuda_check"
    chmod 0755 "$r/cuda_check"
}

# Root needs a subordinate id range even as root: LXC maps ids through newuidmap when one
# that is setuid or has file capabilities is on PATH, and newuidmap checks these files.
ensure_subids() {
    local f need=0
    for f in /etc/subuid /etc/subgid; do
        awk -F: '($1 == "root" || $1 == "0") && $2 <= 100000 && $2 + $3 >= 165536 {ok = 1} END {exit !ok}' \
            "$f" 2>/dev/null || need=1
    done
    ((need)) || return 0
    if [[ -z $SUBID_BACKUP ]]; then
        SUBID_BACKUP=$T/subid-backup
        mkdir -p "$SUBID_BACKUP"
        for f in /etc/subuid /etc/subgid; do
            if [[ -e $f ]]; then cp -p "$f" "$SUBID_BACKUP/"; else : >"$SUBID_BACKUP/${f##*/}.absent"; fi
        done
    fi
    for f in /etc/subuid /etc/subgid; do
        echo "root:100000:65536" >>"$f"
    done
    say "added root:100000:65536 to /etc/subuid and /etc/subgid (restored at the end)"
}

# create_ct NAME [--unpriv] [--no-snippet] [--allow-all] [--env KEY=VALUE]...
# --allow-all: no device rules at all (what Debian's userns.conf and Proxmox make of every
# unprivileged container): every device allowed.
create_ct() {
    local name=$1 unpriv=0 snippet=1 allow_all=0 own_glibc=0 d src dst
    local -a envs=()
    shift
    while (($#)); do
        case $1 in
        --unpriv) unpriv=1 ;;
        --no-snippet) snippet=0 ;;
        --allow-all) allow_all=1 ;;
        --env) envs+=("$2"); shift ;;
        --own-glibc) own_glibc=1 ;;
        esac
        shift
    done
    d=$LXCPATH/$name
    mkdir -m 0755 "$d"
    CTS+=("$name")
    make_rootfs "$d/rootfs"
    {
        echo "lxc.uts.name = $name"
        echo "lxc.rootfs.path = dir:$d/rootfs"
        echo "lxc.init.cmd = /bin/busybox sleep 100000"
        echo "lxc.autodev = 1"
        echo "lxc.net.0.type = empty"
        echo "lxc.tty.max = 0"
        echo "lxc.pty.max = 4"
        echo "lxc.console.path = none"
        # Our config replaces LXC's defaults (lxc-create is not used): no AppArmor profile,
        # which would need apparmor_parser; device access is the device cgroup's job.
        echo "lxc.apparmor.profile = unconfined"
        echo "lxc.mount.auto = proc:mixed sys:ro cgroup:mixed"
        # glibc for the CUDA program, and the driver's libcuda (--own-glibc: a copy of
        # glibc in the rootfs and no NVIDIA file at all)
        ((own_glibc)) || for src in /lib /lib64 /usr/lib /usr/local/nvidia; do
            [[ -d $src ]] || continue
            dst=${src#/}
            echo "lxc.mount.entry = $src $dst none bind,ro,create=dir 0 0"
        done
        if ((unpriv)); then
            echo "lxc.idmap = u 0 100000 65536"
            echo "lxc.idmap = g 0 100000 65536"
        fi
        # An allow-list (what LXC's common.conf grants), no NVIDIA lines: the hooks allow
        # the planned nodes where they are denied.
        if ((!allow_all)); then
            echo "lxc.cgroup2.devices.deny = a"
            for src in 1:3 1:5 1:7 1:8 1:9 5:0 5:1 5:2 136:*; do
                echo "lxc.cgroup2.devices.allow = c $src rwm"
            done
        fi
        ((snippet)) && echo "lxc.include = $SNIPPET"
        for src in "${envs[@]}"; do
            echo "lxc.environment = $src"
        done
    } >"$d/config"
    ((own_glibc)) && copy_glibc "$d/rootfs"
    if ((unpriv)); then
        ensure_subids
        chown -R -h 100000:100000 "$d/rootfs"
    fi
}

# copy_glibc ROOTFS: the C library and loader that /cuda_check, nvidia-smi and the driver's
# libraries need, into the Debian multiarch directory, without any NVIDIA or CUDA file.
copy_glibc() {
    local r=$1 f lib
    local -a objs=("$CUDA_CHECK")
    rmdir "$r/usr/local/nvidia"   # make_rootfs's mount point for the host's driver binds
    mkdir -p "$r/usr/lib/x86_64-linux-gnu" "$r/lib64" "$r/usr/bin"
    for f in "$(hp /usr/local/nvidia/bin/nvidia-smi)" "$(command -v nvidia-smi 2>/dev/null)"; do
        [[ -n $f && -x $f ]] && objs+=("$f")
    done
    for lib in libcuda.so.1 libnvidia-ml.so.1 libnvidia-ptxjitcompiler.so.1; do
        f=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ {print $NF; exit}')
        [[ -n $f ]] && objs+=("$f")
    done
    for f in $(ldd "${objs[@]}" 2>/dev/null | grep -oE '/[^ ]+\.so[^ ]*' | sort -u); do
        [[ $f == *nvidia* || $f == *libcuda* ]] && continue
        cp -L "$f" "$r/usr/lib/x86_64-linux-gnu/"
    done
    cp -L /lib64/ld-linux-x86-64.so.2 "$r/lib64/ld-linux-x86-64.so.2"
}

# sim_driver_files: on the simulated host, a driver userspace for DRIVER_VERSION the way the
# GPU host keeps it (/usr/local/nvidia/lib64 in its ld.so.cache), with real sonames.
sim_driver_files() {
    local lib=$HR/usr/local/nvidia/lib64 so
    [[ -e $HR/etc/ld.so.cache ]] && return 0
    mkdir -p "$lib" "$HR/usr/local/nvidia/bin" "$HR/etc"
    echo /usr/local/nvidia/lib64 >"$HR/etc/ld.so.conf"
    for so in libcuda.so.1 libnvidia-ml.so.1 libnvidia-ptxjitcompiler.so.1; do
        echo "int phx_sim;" | cc -shared -x c - -Wl,-soname,$so -o "$lib/${so%%.so*}.so.$DRIVER_VERSION"
        ln -sfn "${so%%.so*}.so.$DRIVER_VERSION" "$lib/$so"
    done
    printf '#!/bin/sh\necho "GPU 0: simulated (nvidia-smi of %s)"\n' "$DRIVER_VERSION" >"$HR/usr/local/nvidia/bin/nvidia-smi"
    chmod 0755 "$HR/usr/local/nvidia/bin/nvidia-smi"
    ldconfig -r "$HR"
}

# proc_match first|any STRING: pids of live processes (not this shell) whose command line's
# first word is STRING (first) or whose command line contains STRING (any). Reads /proc with
# builtins only, so no grep of ours matches its own arguments.
proc_match() {
    local mode=$1 str=$2 f p
    local -a args
    for f in /proc/[0-9]*/cmdline; do
        p=${f#/proc/}
        p=${p%/cmdline}
        [[ $p == "$$" || $p == "$BASHPID" ]] && continue
        args=()
        mapfile -d '' args 2>/dev/null <"$f" || continue
        ((${#args[@]})) || continue
        if [[ $mode == first ]]; then
            [[ ${args[0]} == "$str" ]] || continue
        else
            [[ "${args[*]}" == *"$str"* ]] || continue
        fi
        echo "$p"
    done | xargs
}
monitor_pids() { proc_match first "[lxc monitor] $LXCPATH $1"; }   # (and its child while starting)

# start_ct NAME [LOGLEVEL]: lxc-start -d; sets START_MS (wall time, ms with 3 decimals) and
# RET_MS (epoch ms right after it returned). Returns lxc-start's status.
START_MS="" RET_MS=0
start_ct() {
    local name=$1 lvl=${2:-DEBUG} t0 t1 rc=0 out
    t0=$(now_us)
    out=$(lxcrun 60 lxc-start -d -n "$name" -P "$LXCPATH" -l "$lvl" -o "$T/$name.lxc.log" 2>&1) || rc=$?
    t1=$(now_us)
    RET_MS=$((t1 / 1000))
    START_MS=$(awk -v d=$((t1 - t0)) 'BEGIN {printf "%.3f", d / 1000}')
    if ((rc != 0)); then
        say "lxc-start $name failed (rc $rc): $out"
        tail -n 30 "$T/$name.lxc.log" 2>/dev/null | logblock "tail of $name.lxc.log"
    fi
    return $rc
}

stop_ct() {
    local name=$1 mon i
    mon=$(monitor_pids "$name")
    [[ -n $mon ]] || return 0
    lxcrun 30 lxc-stop -k -n "$name" -P "$LXCPATH" >>"$RUNLOG" 2>&1
    for ((i = 0; i < 200; i++)); do
        [[ -z $(monitor_pids "$name") ]] && return 0
        sleep 0.05
    done
    say "container $name: monitor still there 10 s after lxc-stop -k; killing pids $mon"
    # shellcheck disable=SC2086
    kill -9 $mon 2>/dev/null
    return 1
}

ct_state() { lxcrun 20 lxc-info -s -H -n "$1" -P "$LXCPATH" 2>/dev/null; }

# in_ct NAME CMD...: run CMD in the container, clean environment, CUDA's library path.
in_ct() {
    local name=$1
    shift
    lxcrun 120 lxc-attach -n "$name" -P "$LXCPATH" --clear-env -v LD_LIBRARY_PATH=/usr/local/nvidia/lib64 \
        -- "$@" </dev/null
}

status_file() {
    local f
    for f in "$T/state"/*/"$1"/status.json; do
        [[ -f $f ]] && { echo "$f"; return 0; }
    done
    return 1
}
# json_top FILE KEY: a top-level scalar of a pretty-printed JSON file (strings unquoted)
json_top() {
    awk -v k="\"$2\":" 'substr($0, 1, 2) == "  " && substr($0, 3, 1) == "\"" && $1 == k {
        v = $0; sub(/^  "[^"]*": /, "", v); sub(/,$/, "", v)
        if (v ~ /^".*"$/) v = substr(v, 2, length(v) - 2)
        print v; exit }' "$1"
}
# json_top_array FILE KEY: the strings of a top-level array, one a line
json_top_array() {
    awk -v k="\"$2\":" '
        !f && substr($0, 1, 2) == "  " && $1 == k { if ($0 ~ /\[\]/) exit; f = 1; next }
        f && /^  \]/ { exit }
        f { v = $0; gsub(/^ +"|",?$/, "", v); print v }' "$1"
}
st() {   # st NAME KEY
    local f
    f=$(status_file "$1") || return 1
    json_top "$f" "$2"
}

# wait_final NAME [SECONDS]: polls status.json every 50 ms until a final state (30 s cap);
# sets WAIT_STATE (the final state, or the last one seen) and FINAL_WAIT_MS.
WAIT_STATE="" FINAL_WAIT_MS=0
wait_final() {
    local name=$1 cap=${2:-30} s="" t0
    t0=$(now_ms)
    while :; do
        s=$(st "$name" state 2>/dev/null)
        case $s in verified | timeout | failed | stopped) break ;; esac
        (($(now_ms) - t0 < cap * 1000)) || break
        sleep 0.05
    done
    FINAL_WAIT_MS=$(($(now_ms) - t0))
    WAIT_STATE=${s:-no-status}
}

product_log() { cat "$PHOENIX_GPU_LOG_DIR/$1.log" 2>/dev/null; }

worker_pids() { proc_match any "$LXCPATH"; }   # workers, monitors, hooks of this run

# The nodes a container should have for GPU minors LIST: "path c MAJ:MIN" lines
expected_nodes() {
    local m
    for m in $1; do echo "/dev/nvidia$m c 195:$m"; done
    echo "/dev/nvidiactl c 195:255"
    echo "/dev/nvidia-uvm c $UVM_MAJOR:0"
    echo "/dev/nvidia-uvm-tools c $UVM_MAJOR:1"
}

# check_nodes NAME MINORS: every expected node is in the container with the right rdev, and
# no other /dev/nvidiaN. Sets NODES_DETAIL; returns 1 on a mismatch.
NODES_DETAIL=""
check_nodes() {
    local name=$1 minors=$2 out path want kind maj min bad="" extra=""
    local -A got=()
    # shellcheck disable=SC2016
    out=$(in_ct "$name" /bin/busybox sh -c '
        for p in /dev/nvidia*; do
            [ -e "$p" ] || continue
            if [ -c "$p" ]; then echo "$p c $(stat -c "%t %T" "$p")"; else echo "$p other"; fi
        done' 2>&1)
    printf '%s\n' "$out" | logblock "$name: /dev/nvidia* inside"
    while read -r path kind maj min; do
        [[ $path == /dev/nvidia* ]] || continue
        if [[ $kind == c && $maj =~ ^[0-9a-f]+$ && $min =~ ^[0-9a-f]+$ ]]; then
            got[$path]="c $((16#$maj)):$((16#$min))"
        else
            got[$path]=$kind
        fi
        if [[ $path =~ ^/dev/nvidia([0-9]+)$ && " $minors " != *" ${BASH_REMATCH[1]} "* ]]; then
            extra+=" $path"
        fi
    done <<<"$out"
    while read -r path want; do
        [[ ${got[$path]:-absent} == "$want" ]] || bad+=" $path(${got[$path]:-absent}, want $want)"
    done < <(expected_nodes "$minors")
    [[ -n $extra ]] && bad+=" unexpected:$extra"
    if [[ -n $bad ]]; then
        NODES_DETAIL="nodes wrong:$bad"
        return 1
    fi
    NODES_DETAIL="nodes ok ($(expected_nodes "$minors" | grep -c .) with the right rdev)"
}

# run_cuda NAME: runs /cuda_check in the container; sets CUDA_OUT, CUDA_RC, CUDA_LINE
CUDA_OUT="" CUDA_RC=0 CUDA_LINE=""
run_cuda() {
    CUDA_RC=0
    CUDA_OUT=$(in_ct "$1" /cuda_check 2>&1) || CUDA_RC=$?
    printf '%s\n(exit %d)\n' "$CUDA_OUT" "$CUDA_RC" | logblock "$1: /cuda_check"
    local ids
    CUDA_LINE="$(grep -m1 '^RESULT' <<<"$CUDA_OUT" || echo "no RESULT line, exit $CUDA_RC: $(tail -n1 <<<"$CUDA_OUT")")"
    ids=$(grep -E '^(devices|uuid\[)' <<<"$CUDA_OUT" | xargs)
    [[ -n $ids ]] && CUDA_LINE+="; $ids"
}

# remove_uvm: the boot race, on the (real or simulated) host
remove_uvm() {
    UVM_TOUCHED=1
    rm -f "$(hp /dev/nvidia-uvm)" "$(hp /dev/nvidia-uvm-tools)"
}
uvm_ok() {   # both host uvm nodes are char devices with the major of /proc/devices
    [[ $(node_state "$(hp /dev/nvidia-uvm)") == "c $UVM_MAJOR:0 "* &&
        $(node_state "$(hp /dev/nvidia-uvm-tools)") == "c $UVM_MAJOR:1 "* ]]
}

# ---------------------------------------------------------------------------------------------
# Rows

declare -a R_ID=() R_DESC=() R_STAT=() R_DETAIL=()
declare -a VERIFY_MS=()       # lxc-start return -> verified, rows
HOTPLUG_MS=""
DOCTOR_OUT="" PREPARE_OUT=""

want_row() { [[ -z $ROWS_WANTED || ",$ROWS_WANTED," == *",$1,"* ]]; }
# The whole run must end well inside the GPU machine's 10-minute limit per command, with its
# results written: rows and timing starts that would begin after BUDGET_S are not run.
BUDGET_S=${PHX_E2E_BUDGET_S:-450}
over_budget() { (($(now_us) - T0_US > BUDGET_S * 1000000)); }

record() {
    R_ID+=("$1") R_DESC+=("$2") R_STAT+=("$3") R_DETAIL+=("$4")
    say "row $1: $3 - $4"
    write_results
}

# A row function sets STAT and DETAIL; run_row records them.
STAT="" DETAIL=""
run_row() {
    local id=$1 desc=$2 fn=$3
    want_row "$id" || return 0
    if over_budget; then
        record "$id" "$desc" SKIP "not run: the run's time budget (${BUDGET_S} s) is spent"
        return 0
    fi
    say "=== row $id: $desc"
    STAT=FAIL DETAIL="(no result)"
    "$fn"
    record "$id" "$desc" "$STAT" "$DETAIL"
}
fail() { STAT=FAIL DETAIL="$*"; }

# verified_after_start NAME: final status; on "verified" adds the delta to VERIFY_MS
final_and_delta() {
    local name=$1 s fin
    wait_final "$name"
    s=$WAIT_STATE
    fin=$(st "$name" finished_unix_ms)
    DELTA=""
    if [[ $s == verified && $fin =~ ^[0-9]+$ && $fin -gt 0 ]]; then
        DELTA=$((fin - RET_MS))
    fi
    FINAL=$s
}

# cuda_row NAME MINORS UNPRIV-NOTE: the common part of a, b, c: start, verified, nodes, CUDA
cuda_row_checks() {
    local name=$1 minors=$2
    final_and_delta "$name"
    if [[ $FINAL != verified ]]; then
        fail "status '$FINAL' (want verified) after ${FINAL_WAIT_MS} ms; $(st "$name" message)"
        check_nodes "$name" "$minors"
        DETAIL+="; $NODES_DETAIL"
        return 1
    fi
    VERIFY_MS+=("$DELTA")
    if ! check_nodes "$name" "$minors"; then
        fail "verified, but $NODES_DETAIL"
        return 1
    fi
    if ((SIMULATE)); then
        # No GPU: only proves the program starts in the container (glibc from the binds).
        run_cuda "$name"
        STAT=PASS DETAIL="verified $DELTA ms after lxc-start returned; $NODES_DETAIL (simulated; cuda_check starts inside: ${CUDA_LINE%%;*})"
        return 0
    fi
    run_cuda "$name"
    if [[ $CUDA_RC -eq 0 && $CUDA_OUT == *"RESULT OK"* ]]; then
        STAT=PASS DETAIL="$CUDA_LINE; verified $DELTA ms after lxc-start returned; $NODES_DETAIL"
        return 0
    fi
    fail "CUDA: $CUDA_LINE (exit $CUDA_RC); status verified; $NODES_DETAIL"
    return 1
}

row_a() {
    local name
    name=$(ct a)
    create_ct "$name" --env NVIDIA_VISIBLE_DEVICES=all
    start_ct "$name" || { fail "lxc-start failed (see $name.lxc.log)"; return; }
    cuda_row_checks "$name" "$ALL_MINORS"
    stop_ct "$name"
}

row_b() {
    local name pre
    name=$(ct b)
    create_ct "$name" --unpriv --env NVIDIA_VISIBLE_DEVICES=all
    # Can the mapped root load the mount hook and its libraries at all?
    if command -v setpriv >/dev/null; then
        pre=$(setpriv --reuid 100000 --regid 100000 --clear-groups \
            env ${KIT_LD:+LD_LIBRARY_PATH=$KIT_LD} /lib64/ld-linux-x86-64.so.2 --list "$HOOK_DIR/mount" 2>&1) ||
            { fail "uid 100000 cannot load $HOOK_DIR/mount: $(tail -n1 <<<"$pre")"; return; }
    fi
    start_ct "$name" || { fail "lxc-start failed (see $name.lxc.log)"; return; }
    cuda_row_checks "$name" "$ALL_MINORS"
    stop_ct "$name"
}

# allow_all_row NAME [--unpriv]: a container with no device rules and the snippet: after
# verification its ordinary devices still work (the snippet must not turn it into an
# allow-list of the GPUs), and CUDA works.
allow_all_row() {
    local name=$1 out
    shift
    create_ct "$name" --allow-all "$@" --env NVIDIA_VISIBLE_DEVICES=all
    start_ct "$name" || { fail "lxc-start failed (see $name.lxc.log)"; return; }
    cuda_row_checks "$name" "$ALL_MINORS"
    local stat=$STAT detail=$DETAIL
    out=$(in_ct "$name" /bin/sh -c 'for d in null zero full urandom; do
            if echo x >/dev/$d 2>/dev/null; then w=ok; else w=FAIL; fi
            if head -c 1 /dev/$d >/dev/null 2>&1; then r=ok; else r=FAIL; fi
            echo "/dev/$d write=$w read=$r"
        done' 2>&1)
    printf '%s\n' "$out" | logblock "$name: ordinary devices"
    # /dev/full refuses writes by design (ENOSPC).
    if [[ $(grep -c 'read=ok' <<<"$out") -ne 4 || $(grep -c 'write=ok' <<<"$out") -ne 3 ||
        $out != *"/dev/null write=ok read=ok"* ]]; then
        fail "ordinary devices broken in an allow-all container: $(xargs <<<"$out"); GPU part: $detail"
    else
        STAT=$stat DETAIL="/dev/null, zero, full, urandom usable; $detail"
    fi
    stop_ct "$name"
}

row_i() { allow_all_row "$(ct i)"; }
row_j() { allow_all_row "$(ct j)" --unpriv; }

row_c() {
    local name log
    name=$(ct c)
    create_ct "$name" --env NVIDIA_VISIBLE_DEVICES=all
    remove_uvm
    if [[ -e $(hp /dev/nvidia-uvm) || -e $(hp /dev/nvidia-uvm-tools) ]]; then
        fail "could not remove the host's uvm nodes"
        return
    fi
    start_ct "$name" || { fail "lxc-start failed (see $name.lxc.log)"; return; }
    log=$(product_log "$name")
    if ! grep -q "created $(hp /dev/nvidia-uvm) " <<<"$log" || ! grep -q "created $(hp /dev/nvidia-uvm-tools) " <<<"$log"; then
        fail "the log does not say pre-start created $(hp /dev/nvidia-uvm) and -tools; host now: $(node_state "$(hp /dev/nvidia-uvm)")"
        stop_ct "$name"
        return
    fi
    if ! uvm_ok; then
        fail "pre-start logged 'created' but the host nodes are $(node_state "$(hp /dev/nvidia-uvm)") / $(node_state "$(hp /dev/nvidia-uvm-tools)")"
        stop_ct "$name"
        return
    fi
    cuda_row_checks "$name" "$ALL_MINORS" &&
        DETAIL="pre-start created both uvm nodes ($(node_state "$(hp /dev/nvidia-uvm)")); $DETAIL"
    stop_ct "$name"
}

row_d() {
    local name s t_mk fin hp_list
    name=$(ct d)
    create_ct "$name" --env NVIDIA_VISIBLE_DEVICES=all --env PHOENIX_GPU_CREATE_NODES=0
    remove_uvm
    start_ct "$name" || { fail "lxc-start failed (see $name.lxc.log)"; return; }
    if [[ -e $(hp /dev/nvidia-uvm) ]]; then
        fail "pre-start created $(hp /dev/nvidia-uvm) although PHOENIX_GPU_CREATE_NODES=0"
        stop_ct "$name"
        return
    fi
    # 3 s after lxc-start returned, the node appears (as nvidia-modprobe would make it)
    while (($(now_ms) < RET_MS + 3000)); do sleep 0.01; done
    s=$(st "$name" state)
    if [[ $s != verifying && $s != waiting ]]; then
        fail "status '$s' before the nodes were made (want verifying)"
        stop_ct "$name"
        return
    fi
    # (the worker saves "verifying" only with the final state: until then status.json says
    # "waiting", although the container is RUNNING and the worker watches for the nodes)
    local s_before=$s
    t_mk=$(now_ms)
    mknod -m 0666 "$(hp /dev/nvidia-uvm)" c "$UVM_MAJOR" 0
    mknod -m 0666 "$(hp /dev/nvidia-uvm-tools)" c "$UVM_MAJOR" 1
    say "made the uvm nodes (c $UVM_MAJOR:0, :1) at $t_mk, $((t_mk - RET_MS)) ms after lxc-start returned"
    wait_final "$name"
    s=$WAIT_STATE
    fin=$(st "$name" finished_unix_ms)
    hp_list=$(json_top_array "$(status_file "$name")" hotplugged | xargs)
    if [[ $s != verified ]]; then
        fail "status '$s' (want verified after the hot-plug); hotplugged [$hp_list]"
        check_nodes "$name" "$ALL_MINORS"
        DETAIL+="; $NODES_DETAIL"
        stop_ct "$name"
        return
    fi
    HOTPLUG_MS=$((fin - t_mk))
    if [[ " $hp_list " != *" /dev/nvidia-uvm "* ]]; then
        fail "verified, but status.json hotplugged is [$hp_list] (want /dev/nvidia-uvm)"
        stop_ct "$name"
        return
    fi
    if ! check_nodes "$name" "$ALL_MINORS"; then
        fail "verified, but $NODES_DETAIL"
        stop_ct "$name"
        return
    fi
    if ((SIMULATE)); then
        STAT=PASS DETAIL="hot-plugged [$hp_list] $HOTPLUG_MS ms after mknod; status before mknod '$s_before'; $NODES_DETAIL (simulated: no CUDA)"
    else
        run_cuda "$name"
        if [[ $CUDA_RC -eq 0 && $CUDA_OUT == *"RESULT OK"* ]]; then
            STAT=PASS DETAIL="$CUDA_LINE; hot-plugged [$hp_list] $HOTPLUG_MS ms after mknod; status before mknod '$s_before'; $NODES_DETAIL"
        else
            fail "CUDA: $CUDA_LINE (exit $CUDA_RC); hot-plugged [$hp_list] $HOTPLUG_MS ms after mknod"
        fi
    fi
    stop_ct "$name"
}

row_e() {
    local name s log state_ct bad="" note=""
    name=$(ct e)
    create_ct "$name" --env NVIDIA_VISIBLE_DEVICES=all --env PHOENIX_GPU_CREATE_NODES=0 \
        --env PHOENIX_GPU_VERIFY_TIMEOUT=3
    remove_uvm
    start_ct "$name" || { fail "lxc-start failed (see $name.lxc.log)"; return; }
    wait_final "$name"
    s=$WAIT_STATE
    log=$(product_log "$name")
    state_ct=$(ct_state "$name")
    [[ $s == timeout ]] || bad+="; status '$s' after ${FINAL_WAIT_MS} ms (want timeout)"
    grep -q 'WARNING: GPU devices NOT ready' <<<"$log" || bad+="; no 'WARNING: GPU devices NOT ready' in the log"
    grep -q '/dev:' <<<"$log" || bad+="; no '/dev:' listing in the log"
    [[ $state_ct == RUNNING ]] || bad+="; container is '$state_ct' (want RUNNING)"
    if ((!SIMULATE)); then
        # Not a criterion: what CUDA does without the uvm nodes.
        run_cuda "$name"
        note="; cuda_check without uvm nodes (informative): $CUDA_LINE"
    fi
    stop_ct "$name"
    # Restore the nodes the product's way.
    PREPARE_OUT=$(kx "$PHX" prepare-host "${HOSTROOT_ARGS[@]}" 2>&1)
    local prc=$?
    printf '%s\n(exit %d)\n' "$PREPARE_OUT" "$prc" | logblock "phoenix-gpu prepare-host"
    if ! uvm_ok; then
        bad+="; prepare-host (exit $prc) did not restore the uvm nodes: $(node_state "$(hp /dev/nvidia-uvm)") / $(node_state "$(hp /dev/nvidia-uvm-tools)")"
    elif ((prc != 0)); then
        bad+="; prepare-host restored the nodes but exited $prc"
    fi
    if [[ -n $bad ]]; then
        fail "${bad#; }$note"
    else
        STAT=PASS DETAIL="status timeout after ${FINAL_WAIT_MS} ms; WARNING and /dev listing logged; RUNNING; prepare-host restored $(node_state "$(hp /dev/nvidia-uvm)") and -tools$note"
    fi
}

row_f() {
    local name out gpus ctl s cuda_note="" maj min
    name=$(ct f)
    create_ct "$name" --env NVIDIA_VISIBLE_DEVICES=none
    start_ct "$name" || { fail "lxc-start failed (see $name.lxc.log)"; return; }
    final_and_delta "$name"
    s=$FINAL
    [[ $s == verified ]] && VERIFY_MS+=("$DELTA")
    # shellcheck disable=SC2016
    out=$(in_ct "$name" /bin/busybox sh -c 'ls -la /dev; for p in /dev/nvidiactl; do [ -c "$p" ] && echo "CTL $(stat -c "%t %T" "$p")"; done' 2>&1)
    printf '%s\n' "$out" | logblock "$name: /dev inside"
    gpus=$(grep -oE 'nvidia[0-9]+$' <<<"$out" | xargs)
    ctl=""
    read -r _ maj min < <(grep -m1 '^CTL ' <<<"$out")
    [[ ${maj:-} =~ ^[0-9a-f]+$ && ${min:-} =~ ^[0-9a-f]+$ ]] && ctl="$((16#$maj)):$((16#$min))"
    if ((!SIMULATE)); then
        # Not a criterion: can CUDA reach a GPU anyway, and does /dev change?
        run_cuda "$name"
        out=$(in_ct "$name" /bin/busybox ls /dev 2>&1)
        cuda_note="; after cuda_check (informative): $CUDA_LINE; /dev/nvidiaN now: [$(grep -oE '^nvidia[0-9]+$' <<<"$out" | xargs)]"
    fi
    if [[ -n $gpus ]]; then
        fail "GPU nodes inside: $gpus; status $s$cuda_note"
    elif [[ $ctl != 195:255 ]]; then
        fail "no /dev/nvidiactl (195:255) inside (got '${ctl:-none}'); status $s$cuda_note"
    elif [[ $s != verified ]]; then
        fail "no GPU nodes and nvidiactl present, but status '$s' (want verified)$cuda_note"
    else
        STAT=PASS DETAIL="no /dev/nvidiaN, /dev/nvidiactl 195:255; verified $DELTA ms after lxc-start returned$cuda_note"
    fi
    stop_ct "$name"
}

row_g() {
    local rc=0 json bad="" m name
    DOCTOR_OUT=$(kx "$PHX" doctor "${HOSTROOT_ARGS[@]}" 2>&1) || rc=$?
    json=$(kx "$PHX" doctor --json "${HOSTROOT_ARGS[@]}" 2>&1)
    printf '%s\n(exit %d)\n' "$DOCTOR_OUT" "$rc" | logblock "phoenix-gpu doctor"
    printf '%s\n' "$json" | logblock "phoenix-gpu doctor --json"
    ((rc == 0)) || bad+="; exit $rc (want 0): $(grep -E '^\[(error|warn|warning)\]' <<<"$DOCTOR_OUT" | head -n 3 | xargs)"
    grep -qF -- "$DRIVER_VERSION" <<<"$DOCTOR_OUT" || bad+="; driver version $DRIVER_VERSION not in the report"
    # The real majors: every NVIDIA major of /proc/devices, in the report and in its JSON
    while read -r m name; do
        grep -qE "\"$name\": $m([^0-9]|$)" <<<"$json" || bad+="; major $name=$m not in doctor --json"
        grep -qE "(^|[^0-9])$m([^0-9]|$)" <<<"$DOCTOR_OUT" || bad+="; major $m ($name) not in the report"
    done < <(awk '/^Character devices:/ {c = 1; next} /^$/ {c = 0} c && ($2 == "nvidia" || $2 == "nvidia-uvm" || $2 == "nvidiactl") {print $1, $2}' "$(hp /proc/devices)" | sort -u -k2,2)
    if [[ -n $bad ]]; then
        fail "${bad#; }"
    else
        STAT=PASS DETAIL="exit 0; reports driver $DRIVER_VERSION and majors 195, nvidia-uvm $UVM_MAJOR"
    fi
}

# bind_row PRIV|UNPRIV: a rootfs with glibc and /cuda_check but no NVIDIA file; strategy bind
# brings the host's driver in: CUDA and nvidia-smi work, the driver stage says current.
bind_row() {
    local name=$1 nv smi ver stage
    shift
    ((SIMULATE)) && sim_driver_files
    create_ct "$name" --own-glibc --env NVIDIA_VISIBLE_DEVICES=all --env NVIDIA_DRIVER_CAPABILITIES=compute,utility \
        --env PHOENIX_GPU_DRIVER_INSTALL=bind "$@"
    nv=$(find "$LXCPATH/$name/rootfs" \( -iname '*nvidia*' -o -iname 'libcuda*' \) | head -n 3 | xargs)
    [[ -z $nv ]] || { fail "the rootfs already holds NVIDIA files: $nv"; return; }
    start_ct "$name" || { fail "lxc-start failed (see $name.lxc.log)"; return; }
    final_and_delta "$name"
    [[ $FINAL == verified ]] || { fail "status '$FINAL' (want verified); $(st "$name" message)"; return; }
    ver=$(in_ct "$name" readlink /usr/lib/x86_64-linux-gnu/libcuda.so.1 2>&1)
    [[ $ver == "libcuda.so.$DRIVER_VERSION" ]] || { fail "libcuda.so.1 -> '$ver' (want libcuda.so.$DRIVER_VERSION)"; return; }
    smi=$(in_ct "$name" nvidia-smi -L 2>&1) || { fail "nvidia-smi -L failed: $(tail -n 2 <<<"$smi" | xargs)"; return; }
    printf '%s\n' "$smi" | logblock "$name: nvidia-smi -L"
    [[ $smi == *"GPU 0"* ]] || { fail "nvidia-smi -L lists no GPU: $smi"; return; }
    wait_driver_stage "$name"
    stage=$(awk '/"driver": \{/ {d = 1} d && /"state":/ {gsub(/[",]/, "", $2); print $2; exit}' "$(status_file "$name")")
    [[ $stage == current ]] || { fail "driver stage is '$stage', not current: $(st "$name" message)"; return; }
    run_cuda "$name"
    if ((SIMULATE)); then
        STAT=PASS DETAIL="libcuda.so.1 -> libcuda.so.$DRIVER_VERSION bound; nvidia-smi: $(head -n 1 <<<"$smi"); driver stage current (simulated: cuda_check starts: ${CUDA_LINE%%;*})"
    elif [[ $CUDA_RC -eq 0 && $CUDA_OUT == *"RESULT OK"* ]]; then
        STAT=PASS DETAIL="$CUDA_LINE; nvidia-smi: $(head -n 1 <<<"$smi"); driver stage current; no NVIDIA file in the rootfs"
    else
        fail "CUDA failed with the bound driver: $CUDA_LINE"
    fi
}
# wait_driver_stage NAME: until status.json has a driver state other than pending (20 s)
wait_driver_stage() {
    local i f
    for ((i = 0; i < 400; i++)); do
        f=$(status_file "$1") && grep -q '"driver"' "$f" && ! grep -qE '"state": "(pending|installing)"' "$f" && return 0
        sleep 0.05
    done
}
row_l() { bind_row "$(ct l)"; }
row_m() { bind_row "$(ct m)" --unpriv; }

# row_n: /proc/driver/nvidia inside: params with ModifyDeviceFiles 0, and with two GPUs a
# container given GPU 1 lists only GPU 1's bus under gpus/.
row_n() {
    local name want got params
    if ((SIMULATE)); then
        STAT=SKIP DETAIL="the container's procfs is this machine's, which has no /proc/driver/nvidia"
        return
    fi
    name=$(ct n)
    if ((GPU_COUNT >= 2)); then
        create_ct "$name" --env NVIDIA_VISIBLE_DEVICES=1
        want=$(gpu_field 1 1)
    else
        create_ct "$name" --env NVIDIA_VISIBLE_DEVICES=0
        want=$(gpu_field 0 1)
    fi
    start_ct "$name" || { fail "lxc-start failed (see $name.lxc.log)"; return; }
    params=$(in_ct "$name" cat /proc/driver/nvidia/params 2>&1)
    got=$(in_ct "$name" ls /proc/driver/nvidia/gpus 2>&1 | xargs)
    printf 'params:\n%s\ngpus: %s\n' "$params" "$got" | logblock "$name: /proc/driver/nvidia"
    [[ $params == *"ModifyDeviceFiles: 0"* ]] || { fail "params inside: $(grep Modify <<<"$params")"; return; }
    [[ ${got,,} == "${want,,}" ]] || { fail "gpus/ inside lists [$got], want only [$want]"; return; }
    STAT=PASS DETAIL="ModifyDeviceFiles: 0 inside; gpus/ lists only $got of $GPU_COUNT GPU(s)"
}

# row_o: NVIDIA_REQUIRE_* against the real driver, CUDA and GPU: met ones start; an unmet arch
# with PHOENIX_GPU_REQUIRED=1 fails the start, naming the GPU's arch.
row_o() {
    local ok bad cuda
    if ((SIMULATE)); then
        STAT=SKIP DETAIL="needs the host's libcuda and NVML"
        return
    fi
    ok=$(ct o)
    create_ct "$ok" --env NVIDIA_VISIBLE_DEVICES=0 --env PHOENIX_GPU_REQUIRED=1 \
        --env "NVIDIA_REQUIRE_CUDA=cuda>=12.0" --env "NVIDIA_REQUIRE_DRIVER=driver>=${DRIVER_VERSION%%.*}" \
        --env "NVIDIA_REQUIRE_ARCH=arch>=9.0"
    start_ct "$ok" || { fail "met requirements: lxc-start failed: $(product_log "$ok" | grep -m1 'requirement')"; return; }
    bad=$(ct o2)
    create_ct "$bad" --env NVIDIA_VISIBLE_DEVICES=0 --env PHOENIX_GPU_REQUIRED=1 --env "NVIDIA_REQUIRE_ARCH=arch<9.0"
    if start_ct "$bad"; then fail "arch<9.0 with PHOENIX_GPU_REQUIRED=1 started"; return; fi
    cuda=$(product_log "$bad" | grep -m1 -o "NVIDIA_REQUIRE_ARCH=.*")
    [[ $cuda == *"arch 9.0"* ]] || { fail "failed start does not name the GPU's arch: $cuda"; return; }
    STAT=PASS DETAIL="cuda>=12.0, driver>=${DRIVER_VERSION%%.*}, arch>=9.0 start; arch<9.0 fails: $cuda"
}

row_h() {
    local name plan want_uuid info_uuid minor uuids
    if ((GPU_COUNT < 2)); then
        STAT=SKIP DETAIL="the host has $GPU_COUNT GPU(s) in $(hp /proc/driver/nvidia/gpus); needs 2"
        return
    fi
    info_uuid=$(gpu_field 1 3)
    minor=$(gpu_field 1 2)
    plan=$(kx "$PHX" plan --devices 1 --json "${HOSTROOT_ARGS[@]}" 2>&1)
    printf '%s\n' "$plan" | logblock "phoenix-gpu plan --devices 1 --json"
    want_uuid=$(grep -oE '"uuid": "GPU-[0-9a-fA-F-]+"' <<<"$plan" | sort -u | sed 's/.*"\(GPU-[^"]*\)"/\1/' | xargs)
    if [[ $want_uuid != "$info_uuid" ]]; then
        fail "plan --devices 1 gives uuid [$want_uuid], but GPU 1 in PCI order ($(gpu_field 1 1)) is $info_uuid"
        return
    fi
    name=$(ct h)
    create_ct "$name" --env NVIDIA_VISIBLE_DEVICES=1
    start_ct "$name" || { fail "lxc-start failed (see $name.lxc.log)"; return; }
    final_and_delta "$name"
    if [[ $FINAL != verified ]]; then
        fail "status '$FINAL' (want verified)"
        stop_ct "$name"
        return
    fi
    VERIFY_MS+=("$DELTA")
    if ! check_nodes "$name" "$minor"; then
        fail "$NODES_DETAIL (want only /dev/nvidia$minor of GPU $(gpu_field 1 1))"
        stop_ct "$name"
        return
    fi
    if ((SIMULATE)); then
        STAT=PASS DETAIL="only /dev/nvidia$minor (GPU 1 = $(gpu_field 1 1), $info_uuid); $NODES_DETAIL (simulated: no CUDA)"
    else
        run_cuda "$name"
        uuids=$(grep -oE '^uuid\[[0-9]+\]=.*' <<<"$CUDA_OUT" | sed 's/^[^=]*=//' | xargs)
        if [[ $CUDA_RC -ne 0 || $CUDA_OUT != *"RESULT OK"* ]]; then
            fail "CUDA: $CUDA_LINE (exit $CUDA_RC)"
        elif ! grep -qx 'devices=1' <<<"$CUDA_OUT"; then
            fail "CUDA sees $(grep -m1 '^devices=' <<<"$CUDA_OUT") (want 1): [$uuids]"
        elif [[ ${uuids,,} != "${info_uuid,,}" ]]; then
            fail "CUDA's GPU is $uuids, want $info_uuid (GPU 1 in PCI order)"
        else
            STAT=PASS DETAIL="devices=1, uuid $uuids = GPU 1 ($(gpu_field 1 1)); $NODES_DETAIL"
        fi
    fi
    stop_ct "$name"
}

# ---------------------------------------------------------------------------------------------
# Timings

median() {
    sort -n | awk '{a[n++] = $1} END {
        if (!n) {print "-"; exit}
        m = (n % 2) ? a[(n - 1) / 2] : (a[n / 2 - 1] + a[n / 2]) / 2
        v = sprintf("%.3f", m); sub(/\.?0+$/, "", v); print v }'
}

# hook_breakdown NAME: each hook's own wall time, run as LXC runs it, TIMING_RUNS times: pre-start,
# mount (in unshare -m, on a scratch tmpfs dev/), post-start against the running container (it
# spawns a worker; each is waited for), and /bin/true as the exec floor. Sets T_HOOK_* (medians)
# and T_HOOK_SAMPLES_*.
hook_breakdown() {
    local name=$1 i t0 t1 scratch=$T/scratch-$1
    local -a pre=() mnt=() post=() tru=() floor=()
    mkdir -p "$scratch/dev"
    # A config without a GPU policy: pre-start starts, reads the host config, sets up its log,
    # reads this file and ends. Our binary's own floor, above /bin/true's.
    printf 'lxc.uts.name = %s\n' "$name" >"$scratch/no-policy.conf"
    for ((i = 0; i < TIMING_RUNS; i++)); do
        t0=${EPOCHREALTIME/./}
        LXC_NAME=$name LXC_CONFIG_FILE=$scratch/no-policy.conf LXC_HOOK_VERSION=0 \
            "$HOOK_DIR/pre-start" "$name" lxc pre-start 2>/dev/null
        t1=${EPOCHREALTIME/./}
        floor+=("$(awk -v d=$((t1 - t0)) 'BEGIN {printf "%.3f", d / 1000}')")
        t0=${EPOCHREALTIME/./}
        LXC_NAME=$name LXC_CONFIG_FILE=$LXCPATH/$name/config LXC_HOOK_VERSION=0 \
            "$HOOK_DIR/pre-start" "$name" lxc pre-start 2>/dev/null
        t1=${EPOCHREALTIME/./}
        pre+=("$(awk -v d=$((t1 - t0)) 'BEGIN {printf "%.3f", d / 1000}')")
        mnt+=("$(LXC_NAME=$name LXC_CONFIG_FILE=$LXCPATH/$name/config LXC_HOOK_VERSION=0 LXC_ROOTFS_MOUNT=$scratch \
            unshare -m --propagation private bash -c '
            mount -t tmpfs phx-scratch "$LXC_ROOTFS_MOUNT/dev"
            t0=${EPOCHREALTIME/./}
            "$1" "$LXC_NAME" lxc mount 2>/dev/null
            t1=${EPOCHREALTIME/./}
            awk -v d=$((t1 - t0)) "BEGIN {printf \"%.3f\", d / 1000}"' sh "$HOOK_DIR/mount")")
        t0=${EPOCHREALTIME/./}
        /bin/true
        t1=${EPOCHREALTIME/./}
        tru+=("$(awk -v d=$((t1 - t0)) 'BEGIN {printf "%.3f", d / 1000}')")
    done
    # pre-start's own steps (its debug line), five runs
    printf '[log]\nlevel = "debug"\n' >"$PHOENIX_GPU_CONFIG"
    for ((i = 0; i < 5; i++)); do
        LXC_NAME=$name LXC_CONFIG_FILE=$LXCPATH/$name/config LXC_HOOK_VERSION=0 \
            "$HOOK_DIR/pre-start" "$name" lxc pre-start 2>/dev/null
    done
    printf '[log]\nlevel = "info"\n' >"$PHOENIX_GPU_CONFIG"
    T_HOOK_STEPS=$(grep -o 'pre-start steps (ms): .*' "$PHOENIX_GPU_LOG_DIR/$name.log" 2>/dev/null | tail -n 5 |
        sed 's/^pre-start steps (ms): //')
    if start_ct "$name" INFO; then
        wait_final "$name" 30
        local pid
        pid=$(lxcrun 20 lxc-info -n "$name" -P "$LXCPATH" -p -H 2>/dev/null)
        for ((i = 0; i < TIMING_RUNS && ${#pid} > 0; i++)); do
            t0=${EPOCHREALTIME/./}
            LXC_NAME=$name LXC_CONFIG_FILE=$LXCPATH/$name/config LXC_HOOK_VERSION=0 LXC_PID=$pid \
                "$HOOK_DIR/post-start" "$name" lxc start-host 2>/dev/null
            t1=${EPOCHREALTIME/./}
            post+=("$(awk -v d=$((t1 - t0)) 'BEGIN {printf "%.3f", d / 1000}')")
            wait_final "$name" 10
        done
        stop_ct "$name"
    fi
    T_HOOK_PRE=$(printf '%s\n' "${pre[@]}" | median) T_HOOK_SAMPLES_PRE="${pre[*]}"
    T_HOOK_MOUNT=$(printf '%s\n' "${mnt[@]}" | median) T_HOOK_SAMPLES_MOUNT="${mnt[*]}"
    T_HOOK_POST=$(printf '%s\n' "${post[@]}" | median) T_HOOK_SAMPLES_POST="${post[*]}"
    T_HOOK_TRUE=$(printf '%s\n' "${tru[@]}" | median) T_HOOK_SAMPLES_TRUE="${tru[*]}"
    T_HOOK_FLOOR=$(printf '%s\n' "${floor[@]}" | median) T_HOOK_SAMPLES_FLOOR="${floor[*]}"
}

run_timings() {
    local hooked noop plain i j v s fin wp
    local -a th=() tn=() tp=() tv=()
    ((TIMING_RUNS > 0)) || return 0
    [[ -z $ROWS_WANTED || ",$ROWS_WANTED," == *",t,"* ]] || return 0
    say "=== timings: $TIMING_RUNS starts each with the hooks, three no-op hooks and none; interleaved, order rotating"
    printf '[log]\nlevel = "info"\n' >"$PHOENIX_GPU_CONFIG"
    hooked=$(ct th)
    noop=$(ct tn)
    plain=$(ct tp)
    create_ct "$hooked" --env NVIDIA_VISIBLE_DEVICES=all
    create_ct "$noop" --no-snippet --env NVIDIA_VISIBLE_DEVICES=all
    # The floor for any hook: LXC spawning three programs that do nothing.
    printf 'lxc.hook.pre-start = /bin/true\nlxc.hook.mount = /bin/true\nlxc.hook.start-host = /bin/true\n' \
        >>"$LXCPATH/$noop/config"
    create_ct "$plain" --no-snippet --env NVIDIA_VISIBLE_DEVICES=all
    local cap=30
    local -a order=(h n p h n)
    # Every variant runs 0.4 s from its start to its stop, whatever it waits for: how long
    # the machine idled before a start can change that start's time (CPU wake-up).
    local pace_from
    pace() { local left; left=$(awk -v a="$pace_from" -v b="$EPOCHREALTIME" 'BEGIN {l = a + 0.4 - b; print (l > 0) ? l : 0}'); sleep "$left"; }
    for ((i = 1; i <= TIMING_RUNS; i++)); do
        if over_budget; then
            say "timings: stopped after $((i - 1)) rounds: the run's time budget (${BUDGET_S} s) is spent"
            T_NOTE="only $((i - 1)) of $TIMING_RUNS rounds: time budget spent"
            break
        fi
        # Each variant goes first in turn: none always follows another's stop.
        for ((j = 0; j < 3; j++)); do
            v=${order[(i + j) % 3]}
            # Every measured start follows the same thing, an unmeasured start and stop of
            # the hookless container: a start right after the stop of a container that used
            # the GPU was seen 20-40 ms slower, whatever its own hooks.
            if start_ct "$plain" INFO; then stop_ct "$plain"; fi
            pace_from=$EPOCHREALTIME
            case $v in
            h)
                start_ct "$hooked" INFO || continue
                th+=("$START_MS")
                wait_final "$hooked" "$cap"
                # a start that does not verify is waited for once, not ten times
                [[ $WAIT_STATE == verified ]] && cap=30 || cap=2
                s=$WAIT_STATE
                fin=$(st "$hooked" finished_unix_ms)
                [[ $s == verified && $fin =~ ^[0-9]+$ ]] && tv+=($((fin - RET_MS)))
                wp=$(st "$hooked" worker_pid)
                pace
                stop_ct "$hooked"
                # let the worker finish, so it does not overlap the next start
                for ((s = 0; s < 100; s++)); do
                    [[ $wp =~ ^[0-9]+$ && -d /proc/$wp ]] || break
                    sleep 0.05
                done
                ;;
            n) if start_ct "$noop" INFO; then tn+=("$START_MS"); pace; stop_ct "$noop"; fi ;;
            p) if start_ct "$plain" INFO; then tp+=("$START_MS"); pace; stop_ct "$plain"; fi ;;
            esac
        done
    done
    hook_breakdown "$hooked"
    printf '[log]\nlevel = "debug"\n' >"$PHOENIX_GPU_CONFIG"
    T_HOOKED=$(printf '%s\n' "${th[@]}" | median)
    T_NOOP=$(printf '%s\n' "${tn[@]}" | median)
    T_PLAIN=$(printf '%s\n' "${tp[@]}" | median)
    T_VERIFY=$(printf '%s\n' "${tv[@]}" | median)
    T_RATIO=$(awk -v a="$T_HOOKED" -v b="$T_NOOP" 'BEGIN {if (b + 0 > 0 && a + 0 > 0) printf "%.2f", a / b; else print "-"}')
    T_RATIO_NOOP=$(awk -v a="$T_NOOP" -v b="$T_PLAIN" 'BEGIN {if (b + 0 > 0 && a + 0 > 0) printf "%.2f", a / b; else print "-"}')
    T_RATIO_MIN=$(printf '%s\n' "${th[@]}" | sort -n | head -1)
    T_RATIO_MIN=$(awk -v a="$T_RATIO_MIN" -v b="$(printf '%s\n' "${tn[@]}" | sort -n | head -1)" \
        'BEGIN {if (b + 0 > 0 && a + 0 > 0) printf "%.2f", a / b; else print "-"}')
    T_SAMPLES_H="${th[*]}" T_SAMPLES_N="${tn[*]}" T_SAMPLES_P="${tp[*]}" T_SAMPLES_V="${tv[*]}"
}

# ---------------------------------------------------------------------------------------------
# Results

write_results() {
    local i f
    {
        echo "phoenix-gpu-hooks end-to-end on $( ((SIMULATE)) && echo "a SIMULATED host ($SIM_GPUS GPUs from tests/fixtures/h200-host)" || echo "a real NVIDIA GPU host")"
        echo "date        $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
        echo "kernel      $(uname -r); /sys/fs/cgroup $(stat -f -c %T /sys/fs/cgroup)$([[ -n ${PHX_E2E_IN_NS:-} ]] && echo ' (private mount namespace: cgroup2 mounted over a hybrid host)')"
        echo "LXC         $LXC_VERSION, $LXC_SOURCE"
        echo "product     $PHX_VERSION; $HOOK_NOTE"
        echo "driver      $DRIVER_VERSION; majors: nvidia 195, nvidia-uvm $UVM_MAJOR"
        echo "GPUs        $GPU_COUNT, model: ${GPU_MODEL:-?}"
        [[ -n $GPU_TABLE ]] && printf '%s\n' "$GPU_TABLE" | awk '{printf "            %s minor %s %s\n", $1, $2, $3}'
        echo "host uvm    at start: $UVM_ORIG"
        if ((SIMULATE)); then
            echo "nvidia-smi  not run (simulated host)"
        else
            echo "nvidia-smi -L:"
            printf '%s\n' "${NVSMI_L:-}" | sed 's/^/            /'
            echo "nvidia-smi  ${NVSMI_NAME:-?}"
            echo "host CUDA   cuda_check on the host, outside containers: ${HOST_CUDA:-not run}"
        fi
        echo
        echo "ROWS"
        printf '%-3s %-6s %-58s %s\n' row result description detail
        for i in "${!R_ID[@]}"; do
            printf '%-3s %-6s %-58s %s\n' "${R_ID[$i]}" "${R_STAT[$i]}" "${R_DESC[$i]}" "${R_DETAIL[$i]}"
        done
        if [[ -n ${T_HOOKED:-} || -n $HOTPLUG_MS || ${#VERIFY_MS[@]} -gt 0 ]]; then
            echo
            echo "TIMINGS (ms)${T_NOTE:+ ($T_NOTE)}"
            printf '%-52s %10s   %s\n' metric median samples
            if [[ -n ${T_HOOKED:-} ]]; then
                printf '%-52s %10s   %s\n' "lxc-start with the snippet (hooks)" "$T_HOOKED" "$T_SAMPLES_H"
                printf '%-52s %10s   %s\n' "lxc-start with three no-op hooks (/bin/true)" "$T_NOOP" "$T_SAMPLES_N"
                printf '%-52s %10s   %s\n' "lxc-start without any hook" "$T_PLAIN" "$T_SAMPLES_P"
                printf '%-52s %10s\n' "ratio hooks / no-op hooks" "$T_RATIO"
                printf '%-52s %10s\n' "ratio no-op hooks / none" "$T_RATIO_NOOP"
                printf '%-52s %10s\n' "ratio hooks / no-op hooks, of the minima" "$T_RATIO_MIN"
                printf '%-52s %10s   %s\n' "lxc-start returned -> verified (timing starts)" "$T_VERIFY" "$T_SAMPLES_V"
                printf '%-52s %10s   %s\n' "hook alone: pre-start" "${T_HOOK_PRE:--}" "${T_HOOK_SAMPLES_PRE:-}"
                printf '%-52s %10s   %s\n' "hook alone: mount (unshare -m, scratch dev/)" "${T_HOOK_MOUNT:--}" "${T_HOOK_SAMPLES_MOUNT:-}"
                printf '%-52s %10s   %s\n' "hook alone: post-start (spawns the worker)" "${T_HOOK_POST:--}" "${T_HOOK_SAMPLES_POST:-}"
                printf '%-52s %10s   %s\n' "/bin/true alone (the exec floor)" "${T_HOOK_TRUE:--}" "${T_HOOK_SAMPLES_TRUE:-}"
                printf '%-52s %10s   %s\n' "pre-start, config without GPU policy (our floor)" "${T_HOOK_FLOOR:--}" "${T_HOOK_SAMPLES_FLOOR:-}"
                while IFS= read -r line; do
                    [[ -n $line ]] && printf '%-52s %10s   %s\n' "pre-start steps (debug log)" "" "$line"
                done <<<"${T_HOOK_STEPS:-}"
            fi
            printf '%-52s %10s   %s\n' "lxc-start returned -> verified (rows a b c f h)" \
                "$(printf '%s\n' "${VERIFY_MS[@]}" | median)" "${VERIFY_MS[*]}"
            printf '%-52s %10s\n' "hot-plug latency, row d (finished - mknod)" "${HOTPLUG_MS:--}"
        fi
        if [[ -n $DOCTOR_OUT ]]; then
            echo
            echo "phoenix-gpu doctor$( ((SIMULATE)) && echo " --host-root $HR"):"
            printf '%s\n' "$DOCTOR_OUT" | sed 's/^/    /'
        fi
        if [[ -n $PREPARE_OUT ]]; then
            echo
            echo "phoenix-gpu prepare-host (row e, restoring the uvm nodes):"
            printf '%s\n' "$PREPARE_OUT" | sed 's/^/    /'
        fi
        if [[ -n ${CLEANUP_REPORT:-} ]]; then
            echo
            echo "CLEANUP"
            printf '%s\n' "$CLEANUP_REPORT"
        fi
        if [[ -n $FATAL ]]; then
            echo
            echo "FATAL: $FATAL"
        fi
    } >"$RES/results.txt.new"
    mv "$RES/results.txt.new" "$RES/results.txt"
}

# ---------------------------------------------------------------------------------------------
# Cleanup: runs once, at the end or on any exit

CLEANUP_REPORT=""
LEFTOVERS=0
creport() { CLEANUP_REPORT+="$*"$'\n'; say "cleanup: $*"; }

cleanup() {
    local rc=$? name pids i mp cg d out f
    ((CLEANED)) && return
    CLEANED=1
    trap - EXIT INT TERM HUP
    set +eu
    [[ -n $FATAL ]] && rc=2
    pids=$(jobs -p | xargs)
    # shellcheck disable=SC2086
    [[ -n $pids ]] && kill $pids 2>/dev/null
    if [[ -n ${T:-} && -d $T ]]; then
        # 1. containers
        for name in "${CTS[@]}"; do
            stop_ct "$name" || { creport "container $name did not stop cleanly"; LEFTOVERS=1; }
        done
        # 2. processes of ours still alive (workers, monitors): the product's should be gone
        for ((i = 0; i < 100; i++)); do
            pids=$(worker_pids)
            [[ -z $pids ]] && break
            sleep 0.05
        done
        if [[ -n $pids ]]; then
            for i in $pids; do creport "LEFTOVER process $i: $(tr '\0' ' ' <"/proc/$i/cmdline" 2>/dev/null)"; done
            LEFTOVERS=1
            # shellcheck disable=SC2086
            kill -9 $pids 2>/dev/null
        fi
        # 3. the logs, before the work dir goes
        (cd "$T" && shopt -s nullglob && tar -czf "$RES/logs.tar.gz" --warning=no-file-changed \
            log state conf ./*.lxc.log lxc/*/config 2>>"$RUNLOG")
        # 4. containers destroyed
        for name in "${CTS[@]}"; do
            if ! lxcrun 30 lxc-destroy -n "$name" -P "$LXCPATH" >>"$RUNLOG" 2>&1; then
                creport "lxc-destroy $name failed; its directory goes with the work dir"
            fi
        done
    fi
    # 5. the host's uvm nodes
    if ((UVM_TOUCHED)); then
        if ! uvm_ok; then
            out=$(kx "$PHX" prepare-host "${HOSTROOT_ARGS[@]}" 2>&1)
            printf '%s\n' "$out" | logblock "cleanup: phoenix-gpu prepare-host"
            if ! uvm_ok; then
                creport "prepare-host did not restore the uvm nodes; making them with mknod"
                rm -f "$(hp /dev/nvidia-uvm)" "$(hp /dev/nvidia-uvm-tools)"
                mknod -m 0666 "$(hp /dev/nvidia-uvm)" c "$UVM_MAJOR" 0
                mknod -m 0666 "$(hp /dev/nvidia-uvm-tools)" c "$UVM_MAJOR" 1
            else
                creport "uvm nodes restored by phoenix-gpu prepare-host"
            fi
        fi
        creport "host uvm nodes: $(node_state "$(hp /dev/nvidia-uvm)") / $(node_state "$(hp /dev/nvidia-uvm-tools)") (at start: $UVM_ORIG)"
    fi
    if [[ -n ${HOST_NODES_BEFORE:-} ]]; then
        local now_nodes
        now_nodes=$(host_nodes)
        if [[ $now_nodes != "$HOST_NODES_BEFORE" ]]; then
            creport "host NVIDIA nodes changed during the run (prepare-host creates every node the loaded modules have):"
            creport "$(diff <(printf '%s\n' "$HOST_NODES_BEFORE") <(printf '%s\n' "$now_nodes") | grep '^[<>]' | sed 's/^</    before:/; s/^>/    after: /')"
        fi
    fi
    # 6. /etc/subuid, /etc/subgid
    if [[ -n $SUBID_BACKUP ]]; then
        for f in subuid subgid; do
            if [[ -f $SUBID_BACKUP/$f ]]; then cp -p "$SUBID_BACKUP/$f" "/etc/$f"; else rm -f "/etc/$f"; fi
        done
        creport "restored /etc/subuid and /etc/subgid"
    fi
    # 7. cgroups: LXC removes its own; new empty ones left (the worker's own cgroup, lxc.pivot)
    #    are removed and reported
    for cg in $(comm -13 <(printf '%s\n' "$CG_BEFORE") <(ls /sys/fs/cgroup 2>/dev/null | sort)); do
        d=/sys/fs/cgroup/$cg
        [[ -d $d ]] || continue
        case $cg in
        lxc.payload.phx$TAG-* | lxc.monitor.phx$TAG-*)
            creport "LEFTOVER cgroup $d (procs: $(cat "$d/cgroup.procs" 2>/dev/null | xargs))"
            LEFTOVERS=1 ;;
        phoenix-gpu-hooks | lxc.pivot)
            if [[ -z $(cat "$d/cgroup.procs" 2>/dev/null) ]]; then
                rmdir "$d" 2>/dev/null && creport "removed the empty cgroup $d (created during the run)"
            else
                creport "LEFTOVER cgroup $d with processes $(cat "$d/cgroup.procs" | xargs)"
                LEFTOVERS=1
            fi ;;
        *) ;;
        esac
    done
    # 8. mounts and the work dir
    if [[ -n ${T:-} ]]; then
        while read -r mp; do
            [[ $mp == "$T" ]] && continue
            creport "LEFTOVER mount $mp"
            LEFTOVERS=1
            umount -l "$mp"
        done < <(awk -v t="$T" 'index($5, t "/") == 1 {print $5}' /proc/self/mountinfo | sort -r)
        mountpoint -q "$T" && umount -l "$T"
        rm -rf --one-file-system "$T"
        [[ -e $T ]] && { creport "LEFTOVER $T could not be removed"; LEFTOVERS=1; }
        pids=$(proc_match any "$T/")
        [[ -n $pids ]] && { creport "LEFTOVER processes naming $T: $pids"; LEFTOVERS=1; }
        ((LEFTOVERS)) || creport "nothing left behind: containers stopped and destroyed, no processes, mounts or cgroups of the run, $T removed"
    fi
    write_results
    local fails=0
    for i in "${!R_STAT[@]}"; do [[ ${R_STAT[$i]} == FAIL ]] && fails=$((fails + 1)); done
    if [[ -f $RES/results.txt ]]; then
        cat "$RES/results.txt" >&2
    fi
    say "results in $RES (results.txt, run.log, logs.tar.gz)"
    if ((rc == 0 && (fails > 0 || LEFTOVERS))); then rc=1; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'FATAL="interrupted"; exit 2' INT TERM HUP

row_k() {
    local name sel rc=0 out allrc=0 all
    name=$(ct k)
    sel=$((GPU_COUNT + 5))
    create_ct "$name" --env NVIDIA_VISIBLE_DEVICES=$sel
    start_ct "$name" || { fail "lxc-start failed (see $name.lxc.log)"; return; }
    out=$(kx "$PHX" status "$name" -P "$LXCPATH" 2>&1) || rc=$?
    all=$(kx "$PHX" status --all 2>&1) || allrc=$?
    printf '%s\n(exit %d)\n' "$out" "$rc" | logblock "phoenix-gpu status $name"
    printf '%s\n(exit %d)\n' "$all" "$allrc" | logblock "phoenix-gpu status --all"
    if [[ $(st "$name" state) != no-plan ]]; then
        fail "status.json state '$(st "$name" state)' (want no-plan)"
    elif ((rc != 1)); then
        fail "phoenix-gpu status exit $rc (want 1)"
    elif ! grep -q "no GPU with index $sel" <<<"$out"; then
        fail "phoenix-gpu status does not say why: $(head -n 2 <<<"$out" | xargs)"
    elif ((allrc != 1)) || ! grep -Eq "^$name +.* no-plan " <<<"$all"; then
        fail "status --all exit $allrc, row: $(grep -E "^$name " <<<"$all" | xargs)"
    else
        STAT=PASS DETAIL="status no-plan ('no GPU with index $sel'), exit 1; status --all lists it, exit 1"
    fi
    stop_ct "$name"
}

# ---------------------------------------------------------------------------------------------
# Helpers the setup, the rows and the cleanup share

# kx CMD...: CMD with the kit's libraries (LXC tools, the product's programs).
kx() {
    if [[ -n $KIT_LD ]]; then
        LD_LIBRARY_PATH=$KIT_LD${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$@"
    else
        "$@"
    fi
}
# lxcrun SECONDS lxc-TOOL ARGS...: every LXC call is bounded.
lxcrun() {
    local t=$1
    shift
    kx timeout -k 5 "$t" "$@"
}
ct() { echo "phx$TAG-$1"; }   # container name of row/variant $1
hp() { echo "${HR}$1"; }      # a host path, below the simulated root if any
# gpu_field INDEX FIELD: GPU INDEX in PCI bus order; FIELD 1 bus, 2 minor, 3 uuid
gpu_field() { awk -v i="$(($1 + 1))" -v f="$2" 'NR == i {print $f}' <<<"$GPU_TABLE"; }
# node_state PATH: "c MAJ:MIN MODE UID:GID", "missing" or "other"
node_state() {
    local maj min mode own
    if [[ -c $1 && ! -L $1 ]]; then
        read -r maj min mode own < <(stat -c '%t %T %a %u:%g' "$1")
        echo "c $((16#$maj)):$((16#$min)) $mode $own"
    elif [[ -e $1 || -L $1 ]]; then
        echo other
    else
        echo missing
    fi
}
path_traversable() {   # every directory from / down to $1 lets others through
    local p=$1
    while [[ $p != / && -n $p ]]; do
        [[ $(($(stat -L -c '0%a' "$p") & 01)) -eq 1 ]] || return 1
        p=$(dirname "$p")
    done
}

host_nodes() {   # the host's NVIDIA nodes: "path c MAJ:MIN MODE UID:GID", one a line
    local p
    for p in "$(hp /dev)"/nvidia* "$(hp /dev)"/nvidia-caps/*; do
        [[ -e $p || -L $p ]] || continue
        [[ -d $p && ! -L $p ]] && continue
        echo "$p $(node_state "$p")"
    done
}

# ---------------------------------------------------------------------------------------------
# Setup: LXC, the product, the work dir, the host (real or simulated), the snippet. Runs from
# main, after the cleanup trap is set.

setup() {
    local kit_env saved_ld b f
    # LXC: the kit's (Debian 12 LXC 5.0.2 unpacked into /tmp/lx) or the system's
    if ((SYSTEM_LXC)); then
        LXC_SOURCE="system ($(command -v lxc-start || echo 'lxc-start not found'))"
    else
        [[ -f gpu-lxc/gpu-kit ]] || die "gpu-lxc/ is missing: carry it along (or use --system-lxc)"
        kit_env=$(bash gpu-lxc/gpu-kit unpack gpu-lxc 2>>"$RUNLOG") || die "gpu-lxc unpack failed (see run.log)"
        saved_ld=${LD_LIBRARY_PATH-}
        eval "$kit_env"
        # The kit's libraries (Debian 12's libselinux, libcap, ...) are for LXC and the product
        # only: the host's own tools keep their own.
        KIT_LD=$LD_LIBRARY_PATH
        if [[ -n $saved_ld ]]; then export LD_LIBRARY_PATH=$saved_ld; else unset LD_LIBRARY_PATH; fi
        LXC_SOURCE="gpu-lxc (Debian 12) unpacked in ${LXC_KIT_PREFIX:-/tmp/lx}"
    fi
    command -v lxc-start >/dev/null || die "lxc-start not found (LXC: $LXC_SOURCE)"
    LXC_VERSION=$(kx lxc-start --version 2>&1) || die "lxc-start does not run: $LXC_VERSION"
    BUSYBOX=""
    for b in "${LXC_KIT_PREFIX:-/nonexistent}/bin/busybox" /bin/busybox /usr/bin/busybox; do
        if [[ -x $b ]]; then BUSYBOX=$b; break; fi
    done
    [[ -n $BUSYBOX ]] || die "no busybox (the kit's busybox-static, or /bin/busybox)"

    # The product
    CUDA_CHECK=$BUILD/cuda_check
    for f in "$PHX" "$BUILD"/hooks/{pre-start,mount,post-start,worker} "$CUDA_CHECK"; do
        [[ -x $f ]] || die "$f is missing: run tests/gpu/build.sh on the build machine and carry build-gpu"
    done
    PHX_VERSION=$(kx "$PHX" --version 2>&1) || die "phoenix-gpu does not run: $PHX_VERSION"

    # The work dir, on a tmpfs: fast rootfs creation, device nodes openable (no nodev), one
    # umount removes it all.
    T=$(mktemp -d /tmp/phx-gpu.XXXX) || die "mktemp failed"
    chmod 0755 "$T"
    mount -t tmpfs -o mode=0755 phx-gpu-e2e "$T" || die "cannot mount a tmpfs on $T"
    TAG=${T##*.}
    LXCPATH=$T/lxc
    mkdir -m 0755 "$LXCPATH" "$T/state" "$T/log" "$T/conf"
    export PHOENIX_GPU_STATE_DIR=$T/state
    export PHOENIX_GPU_LOG_DIR=$T/log
    export PHOENIX_GPU_CONFIG=$T/config.toml
    export PHOENIX_GPU_NO_SYSTEMD=1
    # debug while the rows run (the logs come back with the results), info for the timings
    printf '[log]\nlevel = "debug"\n' >"$PHOENIX_GPU_CONFIG"

    # The host: real, or simulated from tests/fixtures/h200-host
    if ((SIMULATE)); then
        HR=$T/host
        export PHOENIX_GPU_HOST_ROOT=$HR
        HOSTROOT_ARGS=(--host-root "$HR")
        # In a subshell: the harness's failure exits 1, this script's setup failures exit 2.
        (phx_sim_host "$HR" --gpus "$SIM_GPUS") || die "could not build the simulated host in $HR"
    else
        HR=""
        unset PHOENIX_GPU_HOST_ROOT
        HOSTROOT_ARGS=()
    fi
    [[ -r $(hp /proc/driver/nvidia/version) ]] || die "no NVIDIA driver: $(hp /proc/driver/nvidia/version) is missing"
    UVM_MAJOR=$(awk '/^Character devices:/ {c = 1; next} /^$/ {c = 0} c && $2 == "nvidia-uvm" {print $1}' \
        "$(hp /proc/devices)")
    [[ -n $UVM_MAJOR ]] || die "nvidia-uvm has no major in $(hp /proc/devices): is nvidia_uvm loaded?"
    DRIVER_VERSION=$(grep -o -m1 -E '[0-9]{3,}\.[0-9]+(\.[0-9]+)?' "$(hp /proc/driver/nvidia/version)")
    # GPUs in PCI bus order: "bus minor uuid model"
    GPU_TABLE=$(
        for d in "$(hp /proc/driver/nvidia/gpus)"/*/; do
            [[ -f $d/information ]] || continue
            awk -F':[ \t]*' -v bus="$(basename "$d")" '
                $1 == "Device Minor" {minor = $2} $1 == "GPU UUID" {uuid = $2} $1 == "Model" {model = $2}
                END {print bus, minor, uuid, model}' "$d/information"
        done | sort
    )
    GPU_COUNT=$(grep -c . <<<"$GPU_TABLE")
    GPU_MODEL=$(awk 'NR == 1 {$1 = $2 = $3 = ""; sub(/^ +/, ""); print}' <<<"$GPU_TABLE")
    ALL_MINORS=$(awk '{print $2}' <<<"$GPU_TABLE" | sort -n | xargs)
    UVM_ORIG="$(node_state "$(hp /dev/nvidia-uvm)") / $(node_state "$(hp /dev/nvidia-uvm-tools)")"

    # Hooks must be executable by an unprivileged container's mapped root (the mount hook runs
    # as uid 100000): every directory above them must let others through. If the checkout's do
    # not (a home directory), the hooks run from a copy in the work dir.
    HOOK_DIR=$BUILD/hooks
    HOOK_NOTE="hooks from $HOOK_DIR"
    if ! path_traversable "$HOOK_DIR"; then
        mkdir -m 0755 "$T/hooks"
        cp -p "$BUILD"/hooks/{pre-start,mount,post-start,worker} "$T/hooks/"
        HOOK_DIR=$T/hooks
        HOOK_NOTE="hooks copied to $HOOK_DIR ($BUILD/hooks is not traversable for uid 100000)"
    fi
    # The snippet as the package ships it, pointing at these hooks
    SNIPPET=$T/conf/nvidia.conf
    sed "s#@PHX_HOOK_DIR@#$HOOK_DIR#g" "$REPO/lxc-conf-snippets/nvidia.conf.in" >"$SNIPPET"
    chmod 0644 "$SNIPPET"
}

# ---------------------------------------------------------------------------------------------
# Main

setup
say "mode: $( ((SIMULATE)) && echo "simulate ($SIM_GPUS GPUs)" || echo real); LXC $LXC_VERSION ($LXC_SOURCE); $PHX_VERSION"
say "work dir $T; results in $RES"
if ((!SIMULATE)); then
    NVSMI=/usr/local/nvidia/bin/nvidia-smi
    [[ -x $NVSMI ]] || NVSMI=$(command -v nvidia-smi || echo /usr/local/nvidia/bin/nvidia-smi)
    NVSMI_L=$(LD_LIBRARY_PATH=/usr/local/nvidia/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} timeout 60 "$NVSMI" -L 2>&1)
    NVSMI_NAME=$(LD_LIBRARY_PATH=/usr/local/nvidia/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} timeout 60 "$NVSMI" \
        --query-gpu=index,name,pci.bus_id,uuid,driver_version,memory.total --format=csv,noheader 2>&1)
    # Baseline: CUDA on the host itself, outside any container.
    say "cuda_check on the host (baseline)"
    HOST_CUDA=$(LD_LIBRARY_PATH=/usr/local/nvidia/lib64 timeout 120 "$CUDA_CHECK" 2>&1)
    HOST_CUDA_RC=$?
    printf '%s\n(exit %d)\n' "$HOST_CUDA" "$HOST_CUDA_RC" | logblock "cuda_check on the host"
    HOST_CUDA="$(grep -m1 '^RESULT' <<<"$HOST_CUDA" || echo "no RESULT line: $(tail -n1 <<<"$HOST_CUDA")") $(grep -E '^(devices|uuid\[|name\[)' <<<"$HOST_CUDA" | xargs) (exit $HOST_CUDA_RC)"
    say "host: $HOST_CUDA"
    ls -la /usr/local/nvidia/lib64/libcuda.so* 2>&1 | logblock "libcuda on the host"
fi
HOST_NODES_BEFORE=$(host_nodes)
{
    echo "kit: $LXC_SOURCE; busybox $BUSYBOX"
    echo "PATH=$PATH"
    echo "KIT_LD=$KIT_LD"
    cat "$SNIPPET"
    cat /proc/self/cgroup
    ls -lad "$(hp /dev)"/nvidia* "$(hp /dev)"/nvidia-caps/*
} 2>&1 | logblock "setup"
write_results

run_row a "privileged, allow-list device cgroup, snippet only: CUDA" row_a
run_row b "unprivileged (id-mapped), otherwise as a: CUDA" row_b
run_row c "boot race: host uvm nodes removed; pre-start makes them: CUDA" row_c
run_row d "late node: CREATE_NODES=0, uvm made 3 s after start: hot-plug" row_d
run_row e "timeout: CREATE_NODES=0, uvm never made, VERIFY_TIMEOUT=3" row_e
run_row f "NVIDIA_VISIBLE_DEVICES=none: no GPU nodes, nvidiactl only" row_f
run_row g "phoenix-gpu doctor on the host: exit 0, driver, real majors" row_g
run_row h "NVIDIA_VISIBLE_DEVICES=1 on a multi-GPU host: only GPU 1" row_h
run_row i "privileged, no device rules (allow-all), snippet: /dev/null usable, CUDA" row_i
run_row j "unprivileged, no device rules (Proxmox's default), snippet: /dev/null usable, CUDA" row_j
run_row k "NVIDIA_VISIBLE_DEVICES naming no GPU: status no-plan, exit 1; status --all" row_k
run_row l "bind, privileged: rootfs with glibc and no NVIDIA file: CUDA and nvidia-smi" row_l
run_row m "bind, unprivileged: as l" row_m
run_row n "/proc/driver/nvidia inside: ModifyDeviceFiles 0; gpus/ lists only the container's GPU" row_n
run_row o "NVIDIA_REQUIRE_*: met ones start; arch<9.0 with REQUIRED=1 fails, naming the arch" row_o
run_timings
write_results
exit 0
