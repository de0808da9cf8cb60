#!/bin/bash
# Do no harm: including the snippet changes nothing in a container except that its GPUs
# become usable. Every config of fixtures/do-no-harm/ (Debian's download-template shapes,
# Proxmox's, a plain one, an allow-all one) and one made by "lxc-create -t busybox" is
# started twice on the same simulated host: without and with the snippet as shipped
# ($PHX_SNIPPET, included verbatim, plus NVIDIA_VISIBLE_DEVICES=all), on cgroup v1 (this
# machine's layout when it is hybrid) and pure cgroup2. The two runs must agree on:
#   - open() of /dev/{null,zero,full,random,urandom,tty,ptmx,console,fuse,net/tun} inside;
#   - privileged: mknod + open of c 10:200, c 10:229, b 7:0 inside;
#   - the container's mount table, minus the GPU nodes;
#   - cgroup v1: devices.list, minus the GPU rules;
#   - the device cgroup's effective answers (mknod, read, write) for devices the plan does
#     not name, asked by a host process placed in the container's cgroup (the only way to
#     read a cgroup2 BPF program's answers);
# and with the snippet every GPU node must open (ENXIO: allowed, no driver behind it).
# The same comparison follows a live rule change (lxc-cgroup devices.allow 'c 10:200 rwm',
# what Proxmox's device hot-plug does) and a reboot from inside the container.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
corpus=$(cd "$(dirname "$0")/fixtures/do-no-harm" && pwd)

ms() { date +%s%3N; }
t_begin=$(ms)
phx_setup_tmp
export PHOENIX_GPU_HOST_ROOT=$PHX_T/host
phx_sim_host "$PHOENIX_GPU_HOST_ROOT" --gpus 2
[[ -f $PHX_SNIPPET ]] || phx_fail "PHX_SNIPPET not found: $PHX_SNIPPET"
# What the plan gives a container with NVIDIA_VISIBLE_DEVICES=all on this host.
gpu_nodes=(nvidiactl nvidia0 nvidia1 nvidia-uvm nvidia-uvm-tools)
gpu_rules='^c (195:(0|1|255)|238:(0|1)) rw$'

phx__ensure_subids
phx__make_rootfs "$PHX_T/rootfs-priv"
phx__make_rootfs "$PHX_T/rootfs-unpriv"
chown -R -h "$PHX_SUBID_BASE:$PHX_SUBID_BASE" "$PHX_T/rootfs-unpriv"

# lxc-create -t busybox, with a default config standing in for /etc/lxc/default.conf
# (no lxcbr0 bridge, no AppArmor here); its config and rootfs serve both runs.
printf 'lxc.net.0.type = empty\nlxc.apparmor.profile = unconfined\n' >"$PHX_T/default.conf"
lxc-create -t busybox -n busybox-tmpl -P "$PHX_LXCPATH" -f "$PHX_T/default.conf" >"$PHX_T/lxc-create.log" 2>&1 ||
    phx_fail "lxc-create -t busybox failed: $(tail -5 "$PHX_T/lxc-create.log")"
cp "$PHX_LXCPATH/busybox-tmpl/config" "$PHX_T/busybox.conf"

configs=("$PHX_T/busybox.conf" "$corpus"/*.conf)
# DNH_ONLY=NAME (a config's base name): that config alone, when debugging.
if [[ -n ${DNH_ONLY:-} ]]; then
    configs=("$corpus/$DNH_ONLY.conf")
    [[ $DNH_ONLY == busybox ]] && configs=("$PHX_T/busybox.conf")
fi
layouts=(v1 cgroup2)
[[ $(phx_cgroup_layout) == unified ]] && layouts=(cgroup2)

# make_ct NAME CONFIG VARIANT(no|gpu)
make_ct() {
    local name=$1 cfg=$2 variant=$3 rootfs=$PHX_T/rootfs-priv d=$PHX_LXCPATH/$1
    grep -q '^lxc\.idmap' "$cfg" && rootfs=$PHX_T/rootfs-unpriv
    mkdir -m 0755 "$d"
    PHX_CTS+=("$name")
    # LXC 7 refuses cgroup v1 keys (lxc.cgroup.devices.*); the configs carry both forms, as
    # written for either layout, and on cgroup2 only the lxc.cgroup2 form ever applied.
    local -a v1=()
    phx_lxc_knows_cgroup1 || v1=(-e '/^lxc\.cgroup\.devices\./d')
    sed -e "s#@NAME@#$name#g" -e "s#@ROOTFS@#$rootfs#g" -e "s#@CGID@#${PHX_T##*/}-$name#g" "${v1[@]}" "$cfg" >"$d/config"
    if [[ $variant == gpu ]]; then
        printf 'lxc.include = %s\nlxc.environment = NVIDIA_VISIBLE_DEVICES=all\n' "$PHX_SNIPPET" >>"$d/config"
    fi
}

is_priv() { ! grep -q '^lxc\.idmap' "$PHX_LXCPATH/$1/config"; }

# Runs "CMD CT" for every CT given, in parallel; fails the test if one fails.
for_all() {
    local cmd=$1 ct rc=0
    shift
    local -A pids=()
    for ct in "$@"; do
        "$cmd" "$ct" >"$PHX_T/$ct.$cmd.out" 2>&1 &
        pids[$ct]=$!
    done
    for ct in "$@"; do
        if ! wait "${pids[$ct]}"; then
            cat "$PHX_T/$ct.$cmd.out" >&2
            rc=1
        fi
    done
    ((rc == 0)) || phx_fail "$cmd failed for some containers (output above)"
}

start_ct() {
    case $1 in
    *-cgroup2-*) phx_cgroup2_run phx_start "$1" ;;
    *) phx_start "$1" ;;
    esac
}

# Effective answers of the container's device cgroup, for devices the plan does not name:
# a host process joins the container's cgroup (cgroup v1: its devices cgroup; cgroup2: its
# unified cgroup, where LXC's BPF program is attached) and makes and opens nodes on the
# test's tmpfs.
effective() {
    local ct=$1 cg dir=$PHX_T/probe-$1
    case $ct in
    *-cgroup2-*) cg=$(phx_cgroup_dir "$ct") ;;
    *) cg=$(phx_cgroup_dir "$ct" devices) ;;
    esac
    mkdir -p "$dir"
    # shellcheck disable=SC2030,SC2031
    (
        echo "$BASHPID" >"$cg/cgroup.procs"
        for spec in "c 1 3" "c 1 5" "c 1 7" "c 1 8" "c 1 9" "c 5 0" "c 5 1" "c 5 2" "c 136 1000" \
            "c 10 200" "c 10 229" "b 7 0" "c 226 0" "c 195 254" "c 195 3" "c 241 1" "c 13 63"; do
            read -r t ma mi <<<"$spec"
            n=$dir/$t-$ma-$mi
            # Redirections on a builtin: no fork per open.
            m=OK r=OK w=OK
            mknod "$n" "$t" "$ma" "$mi" 2>"$dir/err" || { read -r m <"$dir/err"; m=${m##*: }; }
            true 2>"$dir/err" 3<"$n" || { read -r r <"$dir/err"; r=${r##*: }; }
            true 2>"$dir/err" 3>"$n" || { read -r w <"$dir/err"; w=${w##*: }; }
            rm -f "$n"
            echo "effective $t $ma:$mi m=$m r=$r w=$w"
        done
    )
    rm -r "$dir"
}

# Everything compared, normalised (the container's name becomes CT), on stdout; for the
# container with the snippet also "gpu /dev/NODE rw=RESULT" lines, which are not compared.
# One lxc-attach per container: opens inside, mknod probes (privileged), GPU nodes.
snapshot() {
    local ct=$1 priv=0 gpus=""
    is_priv "$ct" && priv=1
    [[ $ct == *-gpu ]] && gpus="${gpu_nodes[*]}"
    # shellcheck disable=SC2016
    phx_in "$ct" /bin/sh -c '
        priv=$1 name=$2 gpus=$3
        for p in null zero full random urandom tty ptmx console fuse net/tun; do
            f=/dev/$p
            if [ ! -e "$f" ]; then echo "open $f absent"; continue; fi
            r=$( (exec 3<"$f") 2>&1 ) && r=OK || r=${r##*: }
            w=$( (exec 3<>"$f") 2>&1 ) && w=OK || w=${w##*: }
            echo "open $f r=$r rw=$w"
        done
        for g in $gpus; do
            r=$( (exec 3<>"/dev/$g") 2>&1 ) && r=OK || r=${r##*: }
            echo "gpu /dev/$g rw=$r"
        done
        [ "$priv" = 1 ] || exit 0
        for spec in "c 10 200" "c 10 229" "b 7 0"; do
            set -- $spec
            n=/tmp/.probe-$name-$1-$2-$3
            r=-
            m=$(mknod "$n" $1 $2 $3 2>&1) && m=OK || m=${m##*: }
            [ "$m" = OK ] && { r=$( (exec 3<>"$n") 2>&1 ) && r=OK || r=${r##*: }; }
            rm -f "$n"
            echo "mknod $1 $2:$3 m=$m rw=$r"
        done' sh "$priv" "$ct" "$gpus" </dev/null
    # Mount table of init's mount namespace, as seen from its root (read on the host: a
    # config without lxc.mount.auto has no /proc inside): root, mount point, options, fs
    # type, source, super options; no ids.
    awk '{ sep = 0; for (i = 7; i <= NF; i++) if ($i == "-") { sep = i; break }
               if ($5 ~ /^\/dev\/nvidia/) next
               # The console and ttys are ptys of the host, numbered as the host allocates.
               if ($(sep + 1) == "devpts" && $4 ~ /^\/[0-9]+$/) $4 = "/N"
               print "mount", $4, $5, $6, $(sep + 1), $(sep + 2), $(sep + 3) }' "/proc/$(phx_init_pid "$ct")/mountinfo"
    case $ct in
    *-v1-*) grep -Ev "$gpu_rules" "$(phx_cgroup_dir "$ct" devices)/devices.list" | sed 's/^/devices.list /' ;;
    esac
    effective "$ct"
}

snap_ct() {
    local out=$PHX_T/$1.snap.$phase
    snapshot "$1" | sed -e "s#${PHX_T##*/}-$1#CGID#g" -e "s#$1#CT#g" >"$out.all"
    grep '^gpu ' "$out.all" >"$out.gpu" || true
    grep -v '^gpu ' "$out.all" >"$out"
}

# The GPU nodes open: ENXIO, allowed by the device cgroup, no driver behind them.
gpus_open() {
    local ct=$1 n want="" got
    for n in "${gpu_nodes[@]}"; do
        want+="gpu /dev/$n rw=No such device or address"$'\n'
    done
    got=$(cat "$PHX_T/$ct.snap.$phase.gpu")
    phx_assert_eq "${want%$'\n'}" "$got" "$ct: every GPU node opens ($phase)"
}

compare() {
    local base=$1
    if ! diff -u "$PHX_T/$base-no.snap.$phase" "$PHX_T/$base-gpu.snap.$phase" >"$PHX_T/$base.diff.$phase"; then
        cat "$PHX_T/$base.diff.$phase" >&2
        phx_fail "$base ($phase): the container differs with the snippet (diff above: - without, + with)"
    fi
    echo "ok: $base ($phase): same with and without the snippet ($(wc -l <"$PHX_T/$base-no.snap.$phase") items)"
}

# Proxmox's layout puts containers below /lxc and monitors below /lxc.monitor.
cg_parents_before=$(ls -d /sys/fs/cgroup/lxc /sys/fs/cgroup/lxc.monitor /sys/fs/cgroup/*/lxc /sys/fs/cgroup/*/lxc.monitor 2>/dev/null || true)

bases=() cts=() gpu_cts=()
for layout in "${layouts[@]}"; do
    for cfg in "${configs[@]}"; do
        base=$(basename "$cfg" .conf)-$layout
        bases+=("$base")
        for variant in no gpu; do
            make_ct "$base-$variant" "$cfg" "$variant"
            cts+=("$base-$variant")
        done
        gpu_cts+=("$base-gpu")
    done
done

t_start=$(ms)
for_all start_ct "${cts[@]}"
wait_verified() { phx_wait_gpu_status "$1" verified 20 || { echo "$1: not verified: $(phx_gpu_status "$1")"; return 1; }; }
for_all wait_verified "${gpu_cts[@]}"
t_running=$(ms)
phase=start
for_all snap_ct "${cts[@]}"
for base in "${bases[@]}"; do
    compare "$base"
    gpus_open "$base-gpu"
    if ! grep -q '^open /dev/null r=OK rw=OK$' "$PHX_T/$base-no.snap.$phase"; then
        echo "note: $base: /dev/null is denied by the config's own rules, with or without the snippet"
    fi
done
t_compared=$(ms)

# A rule added live by the administrator (Proxmox's device hot-plug does this).
phase=live
live_add() {
    local rc=0
    timeout -k 2 "$PHX_TIMEOUT" lxc-cgroup -n "$1" -P "$PHX_LXCPATH" devices.allow 'c 10:200 rwm' || rc=$?
    echo "$rc" >"$PHX_T/$1.live-rc"
}
for_all live_add "${cts[@]}"
for_all snap_ct "${cts[@]}"
for base in "${bases[@]}"; do
    phx_assert_eq "$(cat "$PHX_T/$base-no.live-rc")" "$(cat "$PHX_T/$base-gpu.live-rc")" \
        "$base: lxc-cgroup answers the same with and without the snippet"
    compare "$base"
    if [[ $(cat "$PHX_T/$base-gpu.live-rc") == 0 ]]; then
        phx_assert_eq "effective c 10:200 m=OK r=OK w=OK" "$(grep '^effective c 10:200 ' "$PHX_T/$base-gpu.snap.$phase")" \
            "$base-gpu: the administrator's live rule is in effect"
    fi
    if grep -q '^open /dev/null r=OK rw=OK$' "$PHX_T/$base-no.snap.$phase" ||
        ! grep -q '^open /dev/null r=OK rw=OK$' "$PHX_T/$base-no.snap.start"; then
        gpus_open "$base-gpu"
    else
        # LXC turned the container (no device rules) into an allow-list of the new rule:
        # /dev/null is gone without the snippet too, and so are the GPUs until a restart.
        echo "note: $base: the live rule made LXC deny /dev/null, with or without the snippet"
    fi
done

# A reboot from inside: LXC runs the hooks again and sets the device cgroup up from the
# config (a live rule is gone, with or without the snippet); the GPUs come back everywhere.
phase=reboot
reboot_ct() {
    local ct=$1 old new started=""
    old=$(phx_init_pid "$ct")
    [[ $ct == *-gpu ]] && started=$(phx_gpu_status "$ct" started_unix_ms)
    # init kills everything in the container, the attached reboot command too.
    phx_in "$ct" reboot </dev/null || true
    # A query that reaches the monitor while it restarts the container can wait until the
    # start is over: bound each one, not just the whole wait.
    # shellcheck disable=SC2317
    rebooted() {
        new=$(timeout -k 1 2 lxc-info -p -H -n "$ct" -P "$PHX_LXCPATH") &&
            [[ -n $new && $new != "$old" && $(timeout -k 1 2 lxc-info -s -H -n "$ct" -P "$PHX_LXCPATH") == RUNNING ]]
    }
    phx_wait_until 20 rebooted || { echo "$ct: no reboot (init $old, now $(phx_init_pid "$ct"), $(phx_state "$ct"))"; return 1; }
    if [[ -n $started ]]; then
        # shellcheck disable=SC2317
        restarted() {
            [[ $(phx_gpu_status "$ct" started_unix_ms) != "$started" && $(phx_gpu_status "$ct") == verified ]]
        }
        phx_wait_until 20 restarted || { echo "$ct: not verified after the reboot: $(phx_gpu_status "$ct")"; return 1; }
    fi
    phx__record_cgroups "$ct" "$(phx_init_pid "$ct")"
}
t_reboot=$(ms)
for_all reboot_ct "${cts[@]}"
t_rebooted=$(ms)
for_all snap_ct "${cts[@]}"
for base in "${bases[@]}"; do
    compare "$base"
    gpus_open "$base-gpu"
done

for_all phx_stop "${cts[@]}"
# Those parents stay behind, as on a Proxmox host; remove the ones this test made.
for d in /sys/fs/cgroup/lxc /sys/fs/cgroup/lxc.monitor /sys/fs/cgroup/*/lxc /sys/fs/cgroup/*/lxc.monitor; do
    [[ -d $d ]] || continue
    grep -qxF "$d" <<<"$cg_parents_before" || rmdir "$d" 2>/dev/null || true
done
t_end=$(ms)
echo "timing: ${#cts[@]} containers; setup $((t_start - t_begin)) ms, start to verified $((t_running - t_start)) ms," \
    "snapshots+compare $((t_compared - t_running)) ms, reboot $((t_rebooted - t_reboot)) ms, total $((t_end - t_begin)) ms"
echo PASS
