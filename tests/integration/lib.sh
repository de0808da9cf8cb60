# shellcheck shell=bash
# Integration-test harness: real LXC busybox containers against a simulated NVIDIA host.
#
# Source it from a test script (bash, run as root by CTest):
#
#   set -euo pipefail
#   source "$(dirname "$0")/lib.sh"
#   phx_setup_tmp
#   phx_sim_host "$PHX_T/host" --gpus 2
#   export PHOENIX_GPU_HOST_ROOT=$PHX_T/host
#   phx_create_ct c1 --env NVIDIA_VISIBLE_DEVICES=all
#   phx_start c1
#   phx_assert_eq "c 195:0" "$(phx_rdev c1 /dev/nvidia0)" "nvidia0 node inside"
#
# Everything a test creates lives under $PHX_T and is removed by the EXIT trap that
# phx_setup_tmp installs. See README.md in this directory for the full reference.

if [[ -n ${PHX_LIB_LOADED:-} ]]; then
    return 0
fi
PHX_LIB_LOADED=1

PHX_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
PHX_SRC_DIR="${PHX_SRC_DIR:-$(cd "$(dirname "$PHX_LIB")/../.." && pwd)}"
if [[ -z ${PHX_BUILD_DIR:-} ]]; then
    PHX_BUILD_DIR=$PHX_SRC_DIR/build
    [[ -d $PHX_SRC_DIR/build-test ]] && PHX_BUILD_DIR=$PHX_SRC_DIR/build-test   # scripts/test.sh
fi
PHX_FIXTURES="${PHX_FIXTURES:-$PHX_SRC_DIR/tests/fixtures}"
# CTest is expected to set these three; the defaults only help when running a test by hand.
export PHX_HOOK_DIR="${PHX_HOOK_DIR:-$PHX_BUILD_DIR/hooks}"
export PHX_CLI="${PHX_CLI:-$PHX_BUILD_DIR/src/phoenix-gpu}"
export PHX_SNIPPET="${PHX_SNIPPET:-$PHX_BUILD_DIR/lxc-conf-snippets/nvidia.conf}"
# Where hooks live in the installed package (see phx__ct_snippet).
PHX_INSTALLED_HOOK_DIR=/usr/libexec/phoenix-gpu-hooks

PHX_TIMEOUT="${PHX_TIMEOUT:-30}"          # seconds for any single lxc-* command
PHX_LOG_TAIL="${PHX_LOG_TAIL:-40}"        # lines of LXC log shown on failure
PHX_SUBID_BASE=100000                      # host id that unprivileged root maps to
PHX_SUBID_COUNT=65536

PHX_CTS=()          # containers created by this test, in creation order
PHX_LAST_CT=""      # the container whose log phx_fail shows first

phx__log() { printf 'phx: %s\n' "$*" >&2; }

phx_skip() {
    printf 'SKIP: %s\n' "$*" >&2
    exit 77
}

# Shows the tail of an LXC log and of the product's log for one container (stderr).
phx_log_tail() {
    local name=$1 f
    for f in "$PHX_T/$name.lxc.log" "${PHOENIX_GPU_LOG_DIR:-/nonexistent}/$name.log"; do
        [[ -s $f ]] || continue
        printf -- '----- tail of %s -----\n' "$f" >&2
        tail -n "$PHX_LOG_TAIL" "$f" >&2
    done
}

# Aborts the test. Only works from the test's main shell, not from inside $(...).
phx_fail() {
    printf 'FAIL: %s\n' "$*" >&2
    local name
    if [[ -n ${PHX_T:-} ]]; then
        if [[ -n $PHX_LAST_CT ]]; then
            phx_log_tail "$PHX_LAST_CT"
        fi
        for name in "${PHX_CTS[@]}"; do
            [[ $name == "$PHX_LAST_CT" ]] || phx_log_tail "$name"
        done
    fi
    exit 1
}

phx_assert_eq() {
    local expected=$1 actual=$2 msg=${3:-}
    if [[ $expected != "$actual" ]]; then
        phx_fail "$msg: expected [$expected], got [$actual]"
    fi
    printf 'ok: %s\n' "$msg"
}

phx_assert_contains() {
    local haystack=$1 needle=$2 msg=${3:-}
    if [[ $haystack != *"$needle"* ]]; then
        phx_fail "$msg: [$needle] not found in [$haystack]"
    fi
    printf 'ok: %s\n' "$msg"
}

phx_assert_not_contains() {
    local haystack=$1 needle=$2 msg=${3:-}
    if [[ $haystack == *"$needle"* ]]; then
        phx_fail "$msg: [$needle] unexpectedly found in [$haystack]"
    fi
    printf 'ok: %s\n' "$msg"
}

# phx_wait_until SECONDS CMD... : polls CMD every 50 ms until it succeeds; 1 on timeout.
phx_wait_until() {
    local limit=$1
    shift
    local deadline=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.05
    done
}

# ---------------------------------------------------------------------------------------------
# Temp dir, environment, cleanup

phx_setup_tmp() {
    [[ $EUID -eq 0 ]] || phx_skip "integration tests need root"
    [[ -z ${PHX__SETUP_DONE:-} ]] || phx_fail "phx_setup_tmp called twice"
    PHX__SETUP_DONE=1
    local base=${PHX_TMPBASE:-/tmp}
    phx__reap_orphans "$base"
    PHX_T=$(mktemp -d "$base/phx.XXXXXX")
    # The mapped root of an unprivileged container (uid 100000) must traverse down to each
    # rootfs and to the state dir the hooks write for it.
    chmod 0755 "$PHX_T"
    export PHX_T
    # Every process started from this test (lxc-start, its monitor, hooks and whatever they
    # spawn) inherits this marker; cleanup finds strays by it.
    export PHX_TEST_ID="$PHX_T"
    # Fatal signals skip the EXIT trap unless caught; SIGPIPE hits "test | head".
    trap phx__cleanup EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 141' PIPE
    trap 'exit 143' TERM

    # A private tmpfs: creating the ~270 busybox applet symlinks of one rootfs took
    # 0.3-0.5 s on the ext4 /tmp here (about 1.2 ms per symlink), 7 ms on tmpfs; it also
    # keeps mknod'ed nodes openable where /tmp is mounted nodev (a nodev mount would turn
    # every ENXIO into EACCES), and unmounting it removes everything at once.
    if [[ ${PHX_TMPFS:-1} == 1 ]]; then
        mount -t tmpfs -o mode=0755 phx-test "$PHX_T" ||
            phx_fail "cannot mount a tmpfs on $PHX_T (PHX_TMPFS=0 to do without)"
    elif findmnt -n -o OPTIONS -T "$PHX_T" | tr ',' '\n' | grep -qx nodev; then
        phx_fail "$PHX_T is on a nodev mount: simulated device nodes cannot be opened"
    fi
    echo "$$ $(phx__starttime $$)" >"$PHX_T/.phx-owner"

    export PHX_LXCPATH="$PHX_T/lxc"
    export PHOENIX_GPU_STATE_DIR="$PHX_T/state"
    export PHOENIX_GPU_LOG_DIR="$PHX_T/log"
    export PHOENIX_GPU_CONFIG="$PHX_T/config.toml"
    mkdir -m 0755 "$PHX_LXCPATH" "$PHOENIX_GPU_STATE_DIR" "$PHOENIX_GPU_LOG_DIR"
}

# phx__pids_grep FILE GREP-ARGS... : pids of live processes whose /proc/PID/FILE matches,
# except this shell and its descendants (the test and the commands it is running now).
phx__pids_grep() {
    local file=$1 f p q
    shift
    while read -r f; do
        p=${f#/proc/}
        p=${p%/"$file"}
        q=$p
        # A process that vanishes during the walk (e.g. the grep itself) needs no killing.
        while [[ $q != 0 && $q != 1 && $q != "$$" ]]; do
            q=$(phx__ppid "$q") || continue 2
        done
        [[ $q == "$$" ]] || echo "$p"
    done < <(grep -l "$@" /proc/[0-9]*/"$file" 2>/dev/null)
}

# Processes of this test that outlived it: whatever inherited our marker (monitors, hooks,
# a product worker) or names our dir on its command line (a worker with a clean env).
phx__stray_pids() {
    {
        phx__pids_grep environ -zxF -- "PHX_TEST_ID=$PHX_TEST_ID"
        phx__pids_grep cmdline -aF -- "$PHX_T/"
    } | sort -un
}

phx__monitor_pid() {
    # LXC retitles its monitor "[lxc monitor] LXCPATH NAME". The container's child keeps
    # that title until it execs init (hooks such as mount run in it), so take the match
    # whose parent is not itself a match. (No pgrep: procps is not in minimal Debian.)
    local pids p pp
    pids=$(phx__monitor_family "$1")
    for p in $pids; do
        pp=$(phx__ppid "$p") || continue
        if [[ " $pids " != *" $pp "* ]]; then
            echo "$p"
            return 0
        fi
    done
}

# The monitor and, during a start, the container's child (same title).
phx__monitor_family() {
    grep -lzxF -- "[lxc monitor] $PHX_LXCPATH $1" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3 | xargs
}

phx__ppid() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    stat=${stat#* }
    echo "${stat%% *}"
}

phx__cmdline() {
    { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null
}

# Kills a container however stuck it is: through LXC first (unless --stuck: the monitor
# serves no command before RUNNING, so lxc-stop blocks on a hanging start); then the
# monitor (the container's init dies with it: LXC sets PDEATHSIG) and every process that
# carries the container's LXC_CONFIG_FILE (hooks and their children).
phx__force_stop() {
    local name=$1 mon pids
    mon=$(phx__monitor_pid "$name")
    [[ -n $mon ]] || return 0
    if [[ ${2:-} != --stuck ]] \
        && timeout -k 1 2 lxc-stop -k -n "$name" -P "$PHX_LXCPATH" >/dev/null 2>&1 \
        && phx__wait_gone "$mon" 10; then
        phx__log "cleanup: stopped container $name"
        return 0
    fi
    # shellcheck disable=SC2046
    phx__record_cgroups "$name" $(phx__monitor_family "$name")
    pids="$mon $(phx__pids_grep environ -zxF -- "LXC_CONFIG_FILE=$PHX_LXCPATH/$name/config" | xargs)"
    # shellcheck disable=SC2086
    kill -9 $pids 2>/dev/null || true
    phx__wait_gone "$mon" 5 || true
    phx__log "cleanup: killed stuck container $name (pids ${pids% })"
    phx__remove_cgroups "$name"
}

# Remembers the cgroups that processes of container NAME are in (paths relative to the
# hierarchy roots), so cleanup and phx_leftover_cgroups know which are this test's: the
# names alone are not enough, since LXC names them after the container only (another test
# running a container of the same name gets "-1" appended, or reuses a freed name).
phx__record_cgroups() {
    local name=$1 p
    shift
    # Only LXC's own dirs: a process also sits in cgroups it inherited from the test (all
    # v1 ones under phx_cgroup2_run), and those must never be touched.
    for p in "$@"; do
        awk -F: 'match($3, /\/lxc\.(payload|monitor)\.[^\/]*/) {print substr($3, 1, RSTART + RLENGTH - 1)}' \
            "/proc/$p/cgroup" 2>/dev/null
    done | sort -u >>"$PHX_T/$name.cgroups"
}

# phx_leftover_cgroups NAME : lists the cgroup directories of container NAME that still
# exist (one per hierarchy). Empty after a clean stop; a process left in lxc.monitor.NAME
# (e.g. a worker that did not move out) keeps that one alive.
phx_leftover_cgroups() {
    local name=$1 rel d procs p ours
    [[ -f $PHX_T/$name.cgroups ]] || return 0
    while read -r rel; do
        for d in /sys/fs/cgroup/*"$rel" /sys/fs/cgroup"$rel"; do
            [[ -d $d && ${d##*/} == lxc.@(payload|monitor).* ]] || continue
            # Reused by another test since? Then its processes are not ours.
            procs=$(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null)
            ours=1
            for p in $procs; do
                ours=0
                if grep -qzxF -e "PHX_TEST_ID=$PHX_TEST_ID" "/proc/$p/environ" 2>/dev/null ||
                    grep -qaF -- "$PHX_T/" "/proc/$p/cmdline" 2>/dev/null; then
                    ours=1
                    break
                fi
            done
            ((ours)) && echo "$d"
        done
    done < <(sort -u "$PHX_T/$name.cgroups")
    return 0
}

# Removes the (empty) cgroups of a container that a killed monitor, or a process left in
# lxc.monitor.NAME, kept LXC from removing.
phx__remove_cgroups() {
    local cg n=0 names=""
    for cg in $(phx_leftover_cgroups "$1"); do
        if find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null; then
            n=$((n + 1))
            [[ " $names " == *" ${cg##*/} "* ]] || names+=" ${cg##*/}"
        fi
    done
    if ((n)); then
        phx__log "cleanup: removed leftover cgroups${names} ($n dirs)"
    fi
}

# A zombie counts as gone: the monitor is reparented to pid 1, and an init that reaps
# lazily (seen: ~1.5 s) would otherwise stretch every stop.
phx__alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}

phx__wait_gone() {
    local pid=$1 limit=$2 i
    for ((i = 0; i < limit * 100; i++)); do
        phx__alive "$pid" || return 0
        sleep 0.01
    done
    return 1
}

# Every container directory in $PHX_LXCPATH (also those made in a phx_cgroup2_run child).
phx__all_cts() {
    local c
    for c in "$PHX_LXCPATH"/*/config; do
        [[ -f $c ]] || continue
        c=${c%/config}
        echo "${c##*/}"
    done
}

# Tears down everything of the test dir $PHX_T (also used on orphans of killed tests).
phx__cleanup_dir() {
    local name pids mp
    set +e
    for name in $(phx__all_cts); do
        phx__force_stop "$name"
    done
    pids=$(phx__stray_pids | xargs)
    if [[ -n $pids ]]; then
        local p list=""
        for p in $pids; do
            list+=" $p($(phx__cmdline "$p" | cut -c1-60))"   # (empty if already gone)
        done
        phx__log "cleanup: killing leftover processes:$list"
        # shellcheck disable=SC2086
        kill -9 $pids 2>/dev/null
    fi
    for name in $(phx__all_cts); do
        phx__remove_cgroups "$name"
        if timeout -k 1 10 lxc-destroy -n "$name" -P "$PHX_LXCPATH" >/dev/null 2>&1; then
            phx__log "cleanup: destroyed container $name"
        else
            phx__log "cleanup: lxc-destroy $name failed; removing its directory"
        fi
    done
    # Deepest first. mountinfo escapes spaces as \040; mktemp names have none.
    while read -r mp; do
        if umount -l "$mp"; then
            phx__log "cleanup: unmounted $mp"
        fi
    done < <(awk -v t="$PHX_T" '$5 == t || index($5, t "/") == 1 {print $5}' /proc/self/mountinfo |
        sort -r)
    rm -rf --one-file-system "$PHX_T"
    phx__log "cleanup: removed $PHX_T"
}

phx__cleanup() {
    local rc=$? pids
    trap - EXIT HUP INT PIPE TERM
    trap '' PIPE    # keep logging even if stdout/stderr is a closed pipe
    set +e
    [[ -n ${PHX_T:-} && -d $PHX_T ]] || exit "$rc"
    pids=$(jobs -p | xargs)
    if [[ -n $pids ]]; then
        phx__log "cleanup: killing the test's background jobs: $pids"
        # shellcheck disable=SC2086
        kill $pids 2>/dev/null
        wait 2>/dev/null
    fi
    if [[ ${PHX_KEEP:-0} == 1 ]]; then
        phx__keep_logs
    fi
    phx__cleanup_dir
    exit "$rc"
}

# PHX_KEEP=1: logs, state and container configs survive the test, outside the tmpfs.
phx__keep_logs() {
    local keep f
    keep=$(mktemp -d "${PHX_TMPBASE:-/tmp}/phx-kept.XXXXXX") || return 0
    cp -a "$PHX_T"/*.log "$PHOENIX_GPU_LOG_DIR" "$PHOENIX_GPU_STATE_DIR" "$keep"/ 2>/dev/null
    for f in "$PHX_LXCPATH"/*/config "$PHX_LXCPATH"/*/nvidia.conf; do
        [[ -f $f ]] || continue
        mkdir -p "$keep/lxc/$(basename "$(dirname "$f")")"
        cp "$f" "$keep/lxc/$(basename "$(dirname "$f")")/"
    done
    phx__log "cleanup: PHX_KEEP=1: logs, state and configs kept in $keep"
}

# Start time of a process (clock ticks since boot): with the pid, identifies it.
phx__starttime() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    stat=${stat##*) }
    # shellcheck disable=SC2086
    set -- $stat
    echo "${20}"
}

# Tests killed without a chance to clean up (CTest's timeout sends SIGKILL) leave their
# dir, containers and mounts behind; the next test removes them, once their owner is gone.
phx__reap_orphans() {
    local d pid start
    for d in "$1"/phx.*; do
        [[ -f $d/.phx-owner ]] || continue
        read -r pid start <"$d/.phx-owner" || continue
        [[ $(phx__starttime "$pid") != "$start" ]] || continue
        phx__log "reaping $d: its test (pid $pid) is gone"
        (PHX_T=$d PHX_LXCPATH=$d/lxc PHX_TEST_ID=$d phx__cleanup_dir)
    done
}

# ---------------------------------------------------------------------------------------------
# Simulated NVIDIA host

# phx_sim_host DIR [--gpus N] [--no-uvm-nodes] [--no-driver] [--uvm-not-loaded]
#                  [--stale NODE]... [--placeholder NODE]... [--frontend-name]
# Builds a simulated NVIDIA host below DIR (what the hooks read via PHOENIX_GPU_HOST_ROOT).
# NODE is relative to DIR/dev, e.g. nvidia-uvm, nvidia0, nvidia-caps/nvidia-cap1.
#   (default)        the captured H200 host: one GPU 0000:00:06.0, Device Minor 0
#   --gpus N         N GPUs whose Device Minors deliberately differ from PCI order
#                    (0000:01:00.0 minor N-1, 0000:41:00.0 minor 0, ...; see phx_sim_gpus)
#   --no-uvm-nodes   nvidia_uvm loaded, /dev/nvidia-uvm* not created yet (the boot race)
#   --uvm-not-loaded nvidia_uvm not loaded: not in proc/modules, sys/module, proc/devices,
#                    no uvm nodes
#   --no-driver      no nvidia module at all: no proc/driver/nvidia*, no majors, no nodes
#   --stale NODE     NODE is a char node with major 243 (hidraw on the captured host)
#   --placeholder NODE  NODE is an empty regular file (what a failed bind leaves behind)
#   --frontend-name  major 195 named "nvidia-frontend" (drivers before 550.40)
phx_sim_host() {
    local dir=$1
    shift
    local gpus="" no_uvm_nodes=0 no_driver=0 uvm_loaded=1 frontend=0
    local -a stale=() placeholder=()
    while (($#)); do
        case $1 in
        --gpus) gpus=$2; shift ;;
        --no-uvm-nodes) no_uvm_nodes=1 ;;
        --no-driver) no_driver=1 ;;
        --stale) stale+=("$2"); shift ;;
        --placeholder) placeholder+=("$2"); shift ;;
        --uvm-not-loaded) uvm_loaded=0 ;;
        --frontend-name) frontend=1 ;;
        *) phx_fail "phx_sim_host: unknown option $1" ;;
        esac
        shift
    done
    local fx=$PHX_FIXTURES/h200-host
    [[ -f $fx/proc-devices.txt ]] || phx_fail "phx_sim_host: fixtures missing in $fx"
    [[ -z $gpus || $gpus =~ ^[1-9][0-9]*$ ]] || phx_fail "phx_sim_host: bad --gpus $gpus"
    phx__sim_host_build
    # Readable for an unprivileged container's mapped root whatever the test's umask is
    # (nodes keep the modes mknod -m gave them).
    find "$dir" \( -type d -exec chmod go+rx {} + \) -o \( -type f -exec chmod go+r {} + \)
}

# The body of phx_sim_host (uses its locals).
phx__sim_host_build() {
    mkdir -p "$dir/proc" "$dir/sys/module" "$dir/dev"

    # /proc/devices: a major is listed only while its module is loaded.
    local drop='^$'
    ((no_driver)) && drop='nvidia'
    ((uvm_loaded)) || drop+='|nvidia-uvm$'
    grep -Ev "^ *[0-9]+ ($drop)" "$fx/proc-devices.txt" >"$dir/proc/devices"
    ((frontend)) && sed -i 's/^195 nvidia$/195 nvidia-frontend/' "$dir/proc/devices"

    local -a mods=("loop 32768 0 - Live 0x0000000000000000")
    if ((!no_driver)); then
        if ((uvm_loaded)); then
            mods+=("nvidia_uvm 1937408 0 - Live 0x0000000000000000 (POE)")
            mods+=("nvidia_modeset 1720320 0 - Live 0x0000000000000000 (POE)")
            mods+=("nvidia 14381056 2 nvidia_uvm,nvidia_modeset, Live 0x0000000000000000 (POE)")
        else
            mods+=("nvidia_modeset 1720320 0 - Live 0x0000000000000000 (POE)")
            mods+=("nvidia 14381056 1 nvidia_modeset, Live 0x0000000000000000 (POE)")
        fi
    fi
    printf '%s\n' "${mods[@]}" >"$dir/proc/modules"
    local m
    for m in "${mods[@]}"; do
        mkdir -p "$dir/sys/module/${m%% *}"
        echo live >"$dir/sys/module/${m%% *}/initstate"
    done
    ((no_driver)) && return 0

    local drv=$dir/proc/driver/nvidia
    mkdir -p "$drv/gpus" "$drv/capabilities/mig" "$dir/proc/driver/nvidia-caps"
    cp "$fx/proc-driver-nvidia-version.txt" "$drv/version"
    cp "$fx/proc-driver-nvidia-params.txt" "$drv/params"
    cp "$fx/proc-driver-nvidia-caps-mig-minors.txt" "$dir/proc/driver/nvidia-caps/mig-minors"
    # The files nvidia-modprobe reads to make /dev/nvidia-caps/nvidia-cap1 and cap2
    # (format of the driver's nv-caps.c; modes 0400 and 0444 as in the capture).
    printf 'DeviceFileMinor: 1\nDeviceFileMode: 256\nDeviceFileModify: 1\n' >"$drv/capabilities/mig/config"
    printf 'DeviceFileMinor: 2\nDeviceFileMode: 292\nDeviceFileModify: 1\n' >"$drv/capabilities/mig/monitor"

    local bus minor uuid n
    : >"$dir/.phx-gpus"
    if [[ -z $gpus ]]; then
        bus=0000:00:06.0
        mkdir -p "$drv/gpus/$bus"
        cp "$fx/gpu-$bus-information.txt" "$drv/gpus/$bus/information"
        echo "$bus 0 GPU-fe880471-3c20-f2db-312e-5af0bb236217" >>"$dir/.phx-gpus"
        gpus=1
    else
        for ((n = 0; n < gpus; n++)); do
            bus=$(printf '%04x:%02x:00.0' $((n / 4)) $((0x01 + 0x40 * (n % 4))))
            minor=$(((n + gpus - 1) % gpus))
            uuid=$(printf 'GPU-%02xe80471-3c20-f2db-312e-5af0bb2362%02x' "$n" "$n")
            mkdir -p "$drv/gpus/$bus"
            sed -e "s/^\(Bus Location:[[:space:]]*\).*/\1$bus/" \
                -e "s/^\(Device Minor:[[:space:]]*\).*/\1$minor/" \
                -e "s/^\(GPU UUID:[[:space:]]*\).*/\1$uuid/" \
                "$fx/gpu-0000:00:06.0-information.txt" >"$drv/gpus/$bus/information"
            echo "$bus $minor $uuid" >>"$dir/.phx-gpus"
        done
    fi

    # Nodes as nvidia-modprobe makes them (modes from the captured ls -la).
    mkdir -p "$dir/dev/nvidia-caps"
    for ((minor = 0; minor < gpus; minor++)); do
        mknod -m 0666 "$dir/dev/nvidia$minor" c 195 "$minor"
    done
    mknod -m 0666 "$dir/dev/nvidiactl" c 195 255
    if ((uvm_loaded && !no_uvm_nodes)); then
        mknod -m 0666 "$dir/dev/nvidia-uvm" c 238 0
        mknod -m 0666 "$dir/dev/nvidia-uvm-tools" c 238 1
    fi
    mknod -m 0400 "$dir/dev/nvidia-caps/nvidia-cap1" c 241 1
    mknod -m 0444 "$dir/dev/nvidia-caps/nvidia-cap2" c 241 2

    local node mode min
    for node in "${stale[@]}"; do
        mode=666 min=0
        if [[ -e $dir/dev/$node ]]; then
            mode=$(stat -c %a "$dir/dev/$node")
            min=$((16#$(stat -c %T "$dir/dev/$node")))
        fi
        rm -f "$dir/dev/$node"
        mknod -m "$mode" "$dir/dev/$node" c 243 "$min"
    done
    for node in "${placeholder[@]}"; do
        rm -f "$dir/dev/$node"
        : >"$dir/dev/$node"
    done
}

# Prints "BUS MINOR UUID" for each GPU of a host made by phx_sim_host, in PCI order.
phx_sim_gpus() {
    cat "$1/.phx-gpus"
}

# phx_sim_modprobe DIR : prints the path of a modprobe stand-in for the simulated host at
# DIR (for PHOENIX_GPU_MODPROBE). "modprobe nvidia_uvm" registers major 238 in
# DIR/proc/devices and marks the module live in proc/modules and sys/module, as the real
# module load does; it creates no nodes (the kernel never does). Each call is appended to
# DIR/.phx-modprobe.log. PHX_SIM_MODPROBE_FAIL=1 in the hook's environment makes it fail.
phx_sim_modprobe() {
    local dir=$1 prog=$PHX_T/sim-modprobe
    if [[ ! -x $prog ]]; then
        cat >"$prog" <<'EOF_MODPROBE'
#!/bin/sh
# usage: sim-modprobe HOSTDIR MODULE (HOSTDIR is baked in by the wrapper below)
dir=$1; mod=$2
echo "$mod" >>"$dir/.phx-modprobe.log"
[ "${PHX_SIM_MODPROBE_FAIL:-0}" = 1 ] && { echo "modprobe: FATAL: Module $mod not found" >&2; exit 1; }
grep -q "^$mod " "$dir/proc/modules" && exit 0
echo "$mod 1937408 0 - Live 0x0000000000000000 (POE)" >>"$dir/proc/modules"
mkdir -p "$dir/sys/module/$mod" && echo live >"$dir/sys/module/$mod/initstate"
if [ "$mod" = nvidia_uvm ] && ! grep -q ' nvidia-uvm$' "$dir/proc/devices"; then
    # Into the "Character devices" section, in major order.
    awk '/^Character/ {c = 1} c && !done && ($1 + 0 > 238 || /^$/) {print "238 nvidia-uvm"; done = 1}
         {print}' "$dir/proc/devices" >"$dir/proc/devices.new" && mv "$dir/proc/devices.new" "$dir/proc/devices"
fi
exit 0
EOF_MODPROBE
        chmod 0755 "$prog"
    fi
    printf '#!/bin/sh\nexec %q %q "$@"\n' "$prog" "$dir" >"$dir.modprobe"
    chmod 0755 "$dir.modprobe"
    echo "$dir.modprobe"
}

# ---------------------------------------------------------------------------------------------
# Containers

# A busybox rootfs: static busybox plus applet symlinks. Building one takes ~40 ms on the
# test's tmpfs, no more than copying a cached one, so there is no cache.
phx__make_rootfs() {
    local r=$1 d
    mkdir -m 0755 "$r"
    for d in bin sbin etc proc sys dev tmp root mnt run var var/log; do
        mkdir -m 0755 "$r/$d"
    done
    chmod 1777 "$r/tmp"
    cp /bin/busybox "$r/bin/busybox"
    # perl-base is Essential in Debian; a shell loop of ln would cost ~0.4 s per rootfs.
    # shellcheck disable=SC2046
    perl -e 'chdir shift or die $!; for (@ARGV) { next if $_ eq "busybox"; symlink("busybox", $_) or die "$_: $!\n" }' \
        "$r/bin" $(/bin/busybox --list)
    ln -s ../bin/busybox "$r/sbin/init"
    # busybox init with a respawned sleep: something to reap orphans, no getty, no rcS.
    printf '::respawn:/bin/sleep 2147483647\n' >"$r/etc/inittab"
    echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
    echo 'root:x:0:' >"$r/etc/group"
    : >"$r/etc/fstab"
}

# Root needs a subordinate id range even as root: LXC 5.0 maps ids through newuidmap
# whenever uidmap is installed, and newuidmap checks /etc/subuid and /etc/subgid.
phx__ensure_subids() {
    local f
    for f in /etc/subuid /etc/subgid; do
        if ! awk -F: -v b="$PHX_SUBID_BASE" -v c="$PHX_SUBID_COUNT" \
            '($1 == "root" || $1 == "0") && $2 <= b && $2 + $3 >= b + c {ok = 1} END {exit !ok}' \
            "$f" 2>/dev/null; then
            echo "root:$PHX_SUBID_BASE:$PHX_SUBID_COUNT" >>"$f"
            phx__log "added root:$PHX_SUBID_BASE:$PHX_SUBID_COUNT to $f"
        fi
    done
}

# The snippet as container NAME includes it, written next to its config, with the hooks
# from $PHX_HOOK_DIR where the snippet names the installed prefix (a no-op for the build
# tree's snippet, which already points at the built hooks). --snippet-verbatim includes
# $PHX_SNIPPET untouched instead.
phx__ct_snippet() {
    local name=$1 out=$PHX_LXCPATH/$1/nvidia.conf
    [[ -f $PHX_SNIPPET ]] || phx_fail "PHX_SNIPPET not found: $PHX_SNIPPET"
    sed -e "s#$PHX_INSTALLED_HOOK_DIR/#$PHX_HOOK_DIR/#g" "$PHX_SNIPPET" >"$out"
    chmod 0644 "$out"
    echo "$out"
}

# The running LXC's version ("5.0.2") and whether it still takes cgroup v1 keys
# (lxc.cgroup.devices.*): LXC 7.0 dropped cgroup v1 and refuses a config that has them.
phx_lxc_version() { lxc-start --version 2>/dev/null; }
phx_lxc_knows_cgroup1() { (($(phx_lxc_version | cut -d. -f1) < 7)); }
# Whether LXC takes lxc.environment.runtime and .hooks (LXC 7.0, Proxmox's lxc-pve >= 6.0.5;
# not LXC 5.0 or upstream 6.0): asked of LXC itself, on a throwaway config.
phx_lxc_knows_environment_subkeys() {
    local d
    d=$(mktemp -d "${PHX_T:-/tmp}/keys.XXXXXX")
    mkdir "$d/probe"
    printf 'lxc.environment.runtime = A=1\nlxc.environment.hooks = B=1\n' >"$d/probe/config"
    local out rc=0
    # stdout only: an LXC that refuses the key quotes the line in its error.
    out=$(lxc-info -n probe -P "$d" -c lxc.environment.runtime 2>/dev/null) || rc=$?
    rm -rf "$d"
    ((rc == 0)) && [[ $out == *"lxc.environment.runtime = A=1"* ]]
}

# phx_create_ct NAME [--unpriv] [--no-snippet] [--snippet-verbatim] [--allow-all]
#                    [--env KEY=VAL]... [--hook-version 1] [--extra 'lxc.key = value']...
# A busybox container in $PHX_LXCPATH: no network, busybox init (sleeps forever), device
# allow-list (deny all; null zero full tty console ptmx random urandom pts; mknod of any),
# then the snippet, then the --env lines, then the --extra lines (which can override or
# clear what came before, e.g. "lxc.hook.mount =").
phx_create_ct() {
    local name=$1
    shift
    local unpriv=0 snippet=1 verbatim=0 rules=1 hookver="" v
    local -a envs=() extras=()
    while (($#)); do
        case $1 in
        --unpriv) unpriv=1 ;;
        --no-snippet) snippet=0 ;;
        --snippet-verbatim) verbatim=1 ;;
        --no-static-rules | --allow-all) rules=0 ;;
        --env) envs+=("$2"); shift ;;
        --hook-version) hookver=$2; shift ;;
        --extra) extras+=("$2"); shift ;;
        *) phx_fail "phx_create_ct: unknown option $1" ;;
        esac
        shift
    done
    [[ -n ${PHX_LXCPATH:-} ]] || phx_fail "phx_create_ct: call phx_setup_tmp first"
    local d=$PHX_LXCPATH/$name
    [[ ! -e $d ]] || phx_fail "phx_create_ct: $name exists"
    mkdir -m 0755 "$d"
    PHX_CTS+=("$name")
    PHX_LAST_CT=$name
    phx__make_rootfs "$d/rootfs"

    local c=$d/config inc=$PHX_SNIPPET
    if ((snippet && !verbatim)); then
        inc=$(phx__ct_snippet "$name") || phx_fail "phx_create_ct: cannot write the snippet"
    fi
    {
        echo "lxc.uts.name = $name"
        echo "lxc.rootfs.path = dir:$d/rootfs"
        echo "lxc.net.0.type = empty"
        echo "lxc.autodev = 1"
        echo "lxc.tty.max = 0"
        echo "lxc.pty.max = 8"
        echo "lxc.mount.auto = proc:mixed sys:ro cgroup:mixed"
        # Our own config replaces /etc/lxc/default.conf (veth on lxcbr0, which does not exist
        # here, and apparmor "generated", which needs apparmor_parser). Device access, which
        # is what we test, is not confined by AppArmor anyway.
        echo "lxc.apparmor.profile = unconfined"
        echo "lxc.signal.halt = SIGUSR1"
        if ((unpriv)); then
            echo "lxc.idmap = u 0 $PHX_SUBID_BASE $PHX_SUBID_COUNT"
            echo "lxc.idmap = g 0 $PHX_SUBID_BASE $PHX_SUBID_COUNT"
        fi
        if ((rules)); then
            # The busybox template sets no device rules (allow-all). An allow-list, as in
            # LXC's common.conf, lets tests tell allowed (ENXIO) from denied (EPERM).
            # Both forms: v1 applies on this hybrid host, v2 under phx_cgroup2_run; LXC
            # ignores the form that does not match the running layout (LXC 7 refuses
            # the v1 form: cgroup2 only there).
            local dev forms=(cgroup2)
            phx_lxc_knows_cgroup1 && forms=(cgroup cgroup2)
            for v in "${forms[@]}"; do
                echo "lxc.$v.devices.deny = a"
                # Any mknod (not read/write): lets tests make probe nodes inside.
                echo "lxc.$v.devices.allow = c *:* m"
                echo "lxc.$v.devices.allow = b *:* m"
                for dev in 1:3 1:5 1:7 1:8 1:9 5:0 5:1 5:2 136:*; do
                    echo "lxc.$v.devices.allow = c $dev rwm"
                done
            done
        fi
        [[ -n $hookver ]] && echo "lxc.hook.version = $hookver"
        if ((snippet)); then
            echo "lxc.include = $inc"
        fi
        for v in "${envs[@]}"; do
            echo "lxc.environment = $v"
        done
        for v in "${extras[@]}"; do
            echo "$v"
        done
    } >"$c"

    if ((unpriv)); then
        phx__ensure_subids
        chown -R -h "$PHX_SUBID_BASE:$PHX_SUBID_BASE" "$d/rootfs"
    fi
}

# Pre-start's config reader must read every config a test starts exactly as liblxc does
# (tests/diff): a disagreement fails the test. Skipped where the tool is not built.
PHX_CONFIG_DIFF=${PHX_CONFIG_DIFF:-$PHX_BUILD_DIR/tests/lxc_config_diff}
phx__config_diff() {
    [[ -x $PHX_CONFIG_DIFF ]] || return 0
    local out
    out=$("$PHX_CONFIG_DIFF" "$PHX_LXCPATH/$1/config" 2>&1) ||
        phx_fail "$1: pre-start's config reader and liblxc disagree: $out"
}

# phx_start NAME [--quiet] : start daemonized with the caller's environment; on failure
# show the LXC log tail (unless --quiet, for tests that expect the start to fail) and make
# sure nothing of the failed start keeps running.
phx_start() {
    local name=$1 quiet=0 out rc=0 mon
    [[ ${2:-} == --quiet ]] && quiet=1
    PHX_LAST_CT=$name
    phx__config_diff "$name"
    # lxc-start -d returns once the container is RUNNING or the start failed; LXC itself has
    # no timeout (a hung hook hangs it), hence ours. The monitor it leaves behind is in its
    # own session, so timeout does not kill it: phx__force_stop does.
    out=$(timeout -k 5 "$PHX_TIMEOUT" lxc-start -d -n "$name" -P "$PHX_LXCPATH" \
        -l DEBUG -o "$PHX_T/$name.lxc.log" 2>&1) || rc=$?
    if ((rc == 0)); then
        phx__record_cgroups "$name" "$(phx__monitor_pid "$name")" "$(phx_init_pid "$name")"
        return 0
    fi
    if ((rc == 124 || rc == 137)); then
        out+=$'\n'"lxc-start did not return within ${PHX_TIMEOUT}s (a hook hanging?)"
        phx__force_stop "$name" --stuck
    else
        # A failed start still runs the stop and post-stop hooks: let them finish.
        mon=$(phx__monitor_pid "$name")
        # shellcheck disable=SC2046
        phx__record_cgroups "$name" $(phx__monitor_family "$name")
        if [[ -n $mon ]] && ! phx__wait_gone "$mon" "$PHX_TIMEOUT"; then
            phx__force_stop "$name" --stuck
        fi
    fi
    if ((!quiet)); then
        printf 'phx_start %s failed (rc %d):\n%s\n' "$name" "$rc" "$out" >&2
        phx_log_tail "$name"
    fi
    return 1
}

# phx_stop NAME [--graceful] : SIGKILL by default (busybox init takes >1 s to halt), then
# wait for the monitor to exit, so stop/post-stop hooks have run and cgroups are gone.
phx_stop() {
    local name=$1 mon rc=0 out
    local -a how=(-k)
    [[ ${2:-} == --graceful ]] && how=(-t "$PHX_TIMEOUT")
    mon=$(phx__monitor_pid "$name")
    [[ -n $mon ]] || return 0
    out=$(timeout -k 5 $((PHX_TIMEOUT + 5)) lxc-stop "${how[@]}" -n "$name" -P "$PHX_LXCPATH" 2>&1) \
        || rc=$?
    # 2: "not running" (e.g. the container died on its own): fine once the monitor is gone.
    if ((rc != 0 && rc != 2)) || ! phx__wait_gone "$mon" "$PHX_TIMEOUT"; then
        printf 'phx_stop %s failed (rc %d): %s\n' "$name" "$rc" "$out" >&2
        phx_log_tail "$name"
        return 1
    fi
}

phx_state() {
    timeout -k 2 "$PHX_TIMEOUT" lxc-info -s -H -n "$1" -P "$PHX_LXCPATH"
}

# Host pid of the container's init.
phx_init_pid() {
    timeout -k 2 "$PHX_TIMEOUT" lxc-info -p -H -n "$1" -P "$PHX_LXCPATH"
}

# phx_cgroup_layout : "unified" (pure cgroup2, also inside phx_cgroup2_run), "hybrid" (v1
# controllers plus cgroup2 at /sys/fs/cgroup/unified) or "legacy" (v1 only).
phx_cgroup_layout() {
    if [[ $(stat -f -c %T /sys/fs/cgroup) == cgroup2fs ]]; then
        echo unified
    elif mountpoint -q /sys/fs/cgroup/unified; then
        echo hybrid
    else
        echo legacy
    fi
}

# phx_cgroup_dir NAME [CONTROLLER] : the host directory of the container init's cgroup,
# for a v1 CONTROLLER (e.g. devices) or, without one, in the unified hierarchy.
phx_cgroup_dir() {
    local pid rel
    pid=$(phx_init_pid "$1") || return 1
    if [[ -n ${2:-} ]]; then
        rel=$(awk -F: -v c="$2" '{n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3}' \
            "/proc/$pid/cgroup")
        [[ -n $rel ]] || return 1
        echo "/sys/fs/cgroup/$2$rel"
    else
        rel=$(awk -F: '$1 == "0" {print $3}' "/proc/$pid/cgroup")
        if mountpoint -q /sys/fs/cgroup/unified; then
            echo "/sys/fs/cgroup/unified$rel"
        else
            echo "/sys/fs/cgroup$rel"
        fi
    fi
}

phx_monitor_pid() {
    phx__monitor_pid "$1"
}

# phx_in NAME CMD... : run CMD inside the container (busybox applets, PATH /bin:/sbin-ish).
phx_in() {
    local name=$1 try rc err
    shift
    err=$(mktemp "$PHX_T/attach-err.XXXXXX")
    # lxc-attach first re-executes itself from a memfd; that step fails now and then
    # ("Failed to rexec as memfd", EBUSY) before anything runs in the container. Only
    # that failure is retried.
    for try in 1 2 3; do
        rc=0
        # A tty on stdin would make lxc-attach allocate a pty and mangle output (CRLF).
        if [[ -t 0 ]]; then
            timeout -k 2 "$PHX_TIMEOUT" lxc-attach -n "$name" -P "$PHX_LXCPATH" --clear-env -- "$@" </dev/null 2>"$err" || rc=$?
        else
            timeout -k 2 "$PHX_TIMEOUT" lxc-attach -n "$name" -P "$PHX_LXCPATH" --clear-env -- "$@" 2>"$err" || rc=$?
        fi
        ((rc != 0)) && grep -q 'Failed to rexec as memfd' "$err" && ((try < 3)) || break
        echo "phx: lxc-attach to $name: rexec through memfd failed; retrying" >&2
        sleep 0.1
    done
    cat "$err" >&2
    rm -f "$err"
    return "$rc"
}

# phx_open_result NAME PATH [rw] : open(PATH) inside the container (O_RDONLY, or O_RDWR
# with rw) without reading. Prints ENXIO (the device cgroup let it through to a node with
# no driver), EPERM (denied by the device cgroup), EACCES, ENOENT, OK (opened: a real
# device or a regular file) or OTHER:<message>. Returns 1 only if lxc-attach failed.
phx_open_result() {
    local name=$1 path=$2 mode=${3:-r} out
    # busybox ash prints strerror() except for ENOENT/ENOTDIR ("no such file",
    # "directory nonexistent"). "<>" has O_CREAT, hence the existence check first. The
    # marker tells the probe's own output from an lxc-attach failure.
    # shellcheck disable=SC2016
    out=$(phx_in "$name" /bin/sh -c '
        if [ "$2" = rw ]; then
            if [ -e "$1" ]; then msg=$( (exec 3<>"$1") 2>&1 ); else msg="no such file"; fi
        else
            msg=$( (exec 3<"$1") 2>&1 )
        fi
        echo "phx-probe:${msg:-OK}"' sh "$path" "$mode" </dev/null 2>&1) || true
    case $out in
    *"phx-probe:OK") echo OK ;;
    *"phx-probe:"*"No such device or address"*) echo ENXIO ;;
    *"phx-probe:"*"Operation not permitted"*) echo EPERM ;;
    *"phx-probe:"*"Permission denied"*) echo EACCES ;;
    *"phx-probe:"*"no such file"* | *"phx-probe:"*"directory nonexistent"*) echo ENOENT ;;
    *"phx-probe:"*) echo "OTHER:${out#*phx-probe:}" ;;
    *)
        printf 'phx_open_result: lxc-attach to %s failed: %s\n' "$name" "$out" >&2
        return 1
        ;;
    esac
}

# phx_rdev NAME PATH : "c MAJ:MIN" / "b MAJ:MIN" (decimal) for device nodes; "f" regular
# file, "d" directory, "l" symlink (not followed), "p", "s"; "ENOENT" if absent.
# Returns 1 only if lxc-attach failed.
phx_rdev() {
    local name=$1 path=$2 out type maj min
    # shellcheck disable=SC2016
    out=$(phx_in "$name" /bin/sh -c '
        if [ -e "$1" ] || [ -L "$1" ]; then
            echo "phx-probe:$(stat -c "%F|%t|%T" "$1")"
        else
            echo phx-probe:ENOENT
        fi' sh "$path" </dev/null 2>&1) || true
    if [[ $out != *phx-probe:* ]]; then
        printf 'phx_rdev: lxc-attach to %s failed: %s\n' "$name" "$out" >&2
        return 1
    fi
    IFS='|' read -r type maj min <<<"${out#*phx-probe:}"
    case $type in
    ENOENT) echo ENOENT ;;
    "character special file") echo "c $((16#$maj)):$((16#$min))" ;;
    "block special file") echo "b $((16#$maj)):$((16#$min))" ;;
    "regular file" | "regular empty file") echo f ;;
    directory) echo d ;;
    "symbolic link") echo l ;;
    fifo) echo p ;;
    socket) echo s ;;
    *) echo "OTHER:$type" ;;
    esac
}

# ---------------------------------------------------------------------------------------------
# The product's state files

# phx_gpu_state_dir NAME : the hooks' state directory of container NAME,
# $PHOENIX_GPU_STATE_DIR/<escaped $PHX_LXCPATH>/NAME (escaping as the product's
# escape_lxcpath: "/" becomes "-" except the first, a "." that starts a component and
# anything but [A-Za-z0-9_.] becomes %XX).
phx_gpu_state_dir() {
    local p=$PHX_LXCPATH out="" c prev="" i
    while [[ ${#p} -gt 1 && $p == */ ]]; do p=${p%/}; done
    for ((i = 0; i < ${#p}; i++)); do
        c=${p:i:1}
        if [[ $c == / ]]; then
            ((i == 0)) || out+=-
        elif [[ $c == [A-Za-z0-9_] || ($c == . && $i -gt 0 && $prev != /) ]]; then
            out+=$c
        else
            out+=$(printf '%%%02x' "'$c")
        fi
        prev=$c
    done
    echo "$PHOENIX_GPU_STATE_DIR/$out/$1"
}

# phx_status_json NAME : the path of NAME's status.json.
phx_status_json() { echo "$(phx_gpu_state_dir "$1")/status.json"; }
# phx_jget NAME PATH : a field of NAME's status.json, nested ones too (.driver.state); empty if
# the file or the field is missing or the file is not JSON.
phx_jget() { "${PHX_LIB%/lib.sh}/fixtures/json-get" "$(phx_status_json "$1")" "$2" 2>/dev/null || true; }
# phx_driver_done NAME : the worker has finished NAME's driver stage (any final driver state).
phx_driver_done() {
    local s
    s=$(phx_jget "$1" .driver.state)
    [[ -n $s && $s != pending && $s != installing ]]
}

# phx_gpu_status NAME [KEY] : a top-level string or number of NAME's status.json (default
# "state"); empty if the file or the key is missing. Nested keys (driver.state) are not read.
phx_gpu_status() {
    local f key=${2:-state}
    f=$(phx_gpu_state_dir "$1")/status.json
    [[ -f $f ]] || return 0
    # Pretty-printed by the product: top-level keys are indented by exactly two spaces.
    sed -n -e "s/^  \"$key\": \"\(.*\)\",\{0,1\}\$/\1/p" \
        -e "s/^  \"$key\": \([^\",]*\),\{0,1\}\$/\1/p" "$f" | head -n 1
}

# phx_wait_gpu_status NAME STATE [SECONDS] : waits (default 10 s) until NAME's status.json
# says STATE (e.g. verified, timeout, stopped); status 1 on timeout.
phx_wait_gpu_status() {
    local name=$1 want=$2 limit=${3:-10}
    local deadline=$((SECONDS + limit))
    until [[ $(phx_gpu_status "$name") == "$want" ]]; do
        ((SECONDS < deadline)) || return 1
        sleep 0.05
    done
}

# phx_assert_all_gpus_given NAME : container NAME was given every GPU of the simulated host
# at $PHOENIX_GPU_HOST_ROOT (NVIDIA_VISIBLE_DEVICES=all): the worker reports "verified" in
# status.json, through the CLI and in the log, with plan.json written; then every planned node
# (each GPU's, nvidiactl, nvidia-uvm, nvidia-uvm-tools) is bound in with the host's rdev and
# opens read-write (ENXIO: allowed, no driver behind simulated nodes), and nothing unplanned
# (no nvidia-modeset without the display capability, no MIG caps unasked) is there.
phx_assert_all_gpus_given() {
    local name=$1 minor sd rc=0 out n
    # On cgroup2 an allow-list container gets its GPU rules through the LXC monitor a few
    # milliseconds after RUNNING ("verifying" until then); on cgroup v1 before init runs.
    # Either way they are in once it is verified.
    phx_wait_gpu_status "$name" verified 10 ||
        phx_fail "$name: status.json never reached verified (state: $(phx_gpu_status "$name"))"
    echo "ok: $name: status.json verified"

    local -A planned=([nvidiactl]="c 195:255" [nvidia-uvm]="c 238:0" [nvidia-uvm-tools]="c 238:1")
    while read -r _ minor _; do
        planned[nvidia$minor]="c 195:$minor"
    done < <(phx_sim_gpus "$PHOENIX_GPU_HOST_ROOT")
    for n in "${!planned[@]}"; do
        phx_assert_eq "${planned[$n]}" "$(phx_rdev "$name" "/dev/$n")" "$name: /dev/$n has the host's rdev"
        phx_assert_eq ENXIO "$(phx_open_result "$name" "/dev/$n" rw)" "$name: /dev/$n opens read-write (allowed)"
    done
    phx_assert_eq ENOENT "$(phx_rdev "$name" /dev/nvidia-modeset)" "$name: no nvidia-modeset"
    phx_assert_eq ENOENT "$(phx_rdev "$name" /dev/nvidia-caps)" "$name: no nvidia-caps"

    sd=$(phx_gpu_state_dir "$name")
    [[ -f $sd/plan.json ]] || phx_fail "$name: no plan.json in $sd"
    echo "ok: $name: plan.json written"
    phx_assert_eq "${#planned[@]}" "$(grep -c '"result": "no-driver"' "$sd/status.json")" \
        "$name: ${#planned[@]} nodes checked inside"
    out=$("$PHX_CLI" status "$name" -P "$PHX_LXCPATH" --json) || rc=$?
    phx_assert_eq 0 "$rc" "$name: phoenix-gpu status exits 0"
    phx_assert_contains "$out" '"state": "verified"' "$name: phoenix-gpu status --json says verified"
    phx_assert_contains "$(cat "$PHOENIX_GPU_LOG_DIR/$name.log")" "GPU devices verified in container $name" \
        "$name: log says verified"
}

# ---------------------------------------------------------------------------------------------
# Pure cgroup2

# phx_cgroup2_run CMD... : runs CMD (a program or a lib.sh function) in a private mount
# namespace where /sys/fs/cgroup is a plain cgroup2 mount, so LXC sees a pure-cgroup2 host
# and enforces devices with BPF. A container started this way keeps the namespace alive
# through its monitor; lxc-attach, lxc-stop, phx_in etc. work from outside it too.
phx_cgroup2_run() {
    if [[ $(phx_cgroup_layout) == unified ]]; then
        "$@"   # already pure cgroup2
        return
    fi
    # shellcheck disable=SC2016
    unshare -m --propagation private -- bash -c '
        set -e
        for d in /sys/fs/cgroup/*; do
            if mountpoint -q "$d"; then umount -l "$d"; fi
        done
        umount -l /sys/fs/cgroup
        mount -t cgroup2 cgroup2 /sys/fs/cgroup
        source "$PHX_LIB_PATH"
        "$@"' phx-cgroup2 "$@"
}
export PHX_LIB_PATH="$PHX_LIB"
