#!/bin/bash
# Hostile rootfs layouts: what a container's owner can plant where the mount hook (and
# the worker's hot-plug) put the GPU nodes. Each layout gets its own container. For
# every layout:
#   - nothing outside the container's rootfs is created, written, read or mounted: a
#     sentinel host directory (listing, checksums, atimes, `find -newer`), the simulated
#     host's dev tree, the real host's /dev and /, and the host's mount table are the
#     same afterwards;
#   - every planned node the layout does not spoil is bound in (right rdev), every
#     node it spoils is left alone and the log says why (and, for a symlink planted
#     at a node, the status too: the mount hook's reason from mount.json);
#   - the container starts (RUNNING). Where LXC itself refuses the layout (the same
#     layout fails to start without the product's hooks), the start may fail, and the
#     host must still be untouched.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

FIX=$(cd "$(dirname "$0")/fixtures" && pwd)
JSON=$FIX/json-get

phx_setup_tmp
host=$PHX_T/host
phx_sim_host "$host" --gpus 2
export PHOENIX_GPU_HOST_ROOT=$host

# The selection: GPU index 0 (bus 0000:01:00.0, /dev/nvidia1), compute, MIG caps.
NODES=(/dev/nvidiactl /dev/nvidia1 /dev/nvidia-uvm /dev/nvidia-uvm-tools
    /dev/nvidia-caps/nvidia-cap1 /dev/nvidia-caps/nvidia-cap2)
declare -A RDEV
for n in "${NODES[@]}"; do
    RDEV[$n]="c $((16#$(stat -c %t "$host$n"))):$((16#$(stat -c %T "$host$n")))"
done
ENV=(--env NVIDIA_VISIBLE_DEVICES=0 --env "NVIDIA_DRIVER_CAPABILITIES=compute,utility"
    --env NVIDIA_MIG_CONFIG_DEVICES=all --env NVIDIA_MIG_MONITOR_DEVICES=all
    --env PHOENIX_GPU_VERIFY_TIMEOUT=2)

# Host-side things a layout points at.
SENT=$PHX_T/sentinel
mkdir -p "$SENT/dir" "$SENT/capsdir" "$PHX_T/rodev/pts"
echo "host secret" >"$SENT/victim"
echo "other" >"$SENT/dir/file"
printf 'x%.0s' {1..5000} >"$SENT/big"
# relatime updates atime on the first read after an old atime: a read would show.
touch -a -d '3 days ago' "$SENT/victim" "$SENT/dir/file" "$SENT/big"
REL_UP=$(printf '../%.0s' {1..40})   # more ../ than any rootfs is deep

host_snapshot() {
    (
        # No reads of the files here (that would move their atimes); directories' atimes
        # move with our own find, so only files' atimes are compared.
        cd "$SENT" && find . -printf '%p %y %m %s %i %n %T@ %C@\n' | sort
        find . -type f -printf '%p atime %A@\n' | sort
        cd "$host" && find . -printf '%p %y %m %U %G %T@ %C@\n' | sort
        find dev -exec stat -c '%n %t:%T' {} + | sort
        find /dev -maxdepth 2 -name 'nvidia*' | sort
        ls -A / | sort
        sha256sum /etc/passwd /etc/shadow /etc/group
    ) 2>&1
}
# Host mount points, without other tests' dirs (parallel runs by others) and /mnt (where
# neither LXC nor the product mounts, but the machine may mount its own tools any time).
host_mounts() {
    awk -v t="$PHX_T" '{ m = $5; if (m ~ "^/tmp/phx\\.[^/]+" && !(m == t || index(m, t "/") == 1)) next
        if (m ~ "^/mnt/") next; print m }' \
        /proc/self/mountinfo | sort
}
# New or changed nvidia-named files anywhere near the host's root (dev -> / and friends).
host_new_nvidia() {
    find / -xdev -maxdepth 3 -newer "$PHX_T/stamp" \( -name 'nvidia*' -o -name '*nvidia-cap*' \) 2>/dev/null | sort
    find /dev -maxdepth 2 -newer "$PHX_T/stamp" -name 'nvidia*' 2>/dev/null | sort
}

in_log() { cat "$PHOENIX_GPU_LOG_DIR/$1.log" "$PHX_T/$1.lxc.log" 2>/dev/null || true; }

# node_detail CT PATH : the detail of PATH's check in CT's status.json (empty if none).
node_detail() {
    local f i count
    f=$(phx_status_json "$1")
    count=$("$JSON" "$f" .nodes.#) || return 0
    for ((i = 0; i < count; i++)); do
        [[ $("$JSON" "$f" ".nodes.$i.path") == "$2" ]] && "$JSON" "$f" ".nodes.$i.detail" && return 0
    done
    return 0
}
# assert_unbound_explained CT PATH : the verification timed out, and the status says why
# PATH is not in the container with the mount hook's reason (from mount.json).
assert_unbound_explained() {
    phx_assert_eq timeout "$("$JSON" "$(phx_status_json "$1")" .state)" "$1: verification timed out ($2 spoiled)"
    phx_assert_contains "$(node_detail "$1" "$2")" "the mount hook did not bind it: " \
        "$1: status says why $2 is not in the container"
}

TABLE=()
n=0
# layout NAME "SPOILED NODES (short names, or none)" "PLANT COMMANDS (run in the rootfs)" [phx_create_ct args...]
layout() {
    local name=$1 spoiled=$2 plant=$3
    shift 3
    n=$((n + 1))
    local ct=h$n
    echo "--- layout $ct: $name"
    phx_create_ct "$ct" "${ENV[@]}" "$@"
    (cd "$PHX_LXCPATH/$ct/rootfs" && eval "$plant") || phx_fail "$ct: cannot plant layout $name"
    local before mounts_before after mounts_after result started=0
    touch "$PHX_T/stamp"
    sleep 0.01
    before=$(host_snapshot)
    mounts_before=$(host_mounts)
    if phx_start "$ct" --quiet; then
        started=1
        phx_wait_until 15 grep -qE '"state": "(verified|timeout)"' "$(phx_status_json "$ct")" ||
            phx_fail "$ct ($name): the worker did not finish verification"
        phx_wait_until 15 grep -qE '"state": "(current|mismatch|skipped|failed|no-installer|off)"' "$(phx_status_json "$ct")" ||
            phx_fail "$ct ($name): the worker did not finish"
    fi
    after=$(host_snapshot)
    mounts_after=$(host_mounts)
    [[ $before == "$after" ]] ||
        phx_fail "$ct ($name): host state changed: $(diff <(echo "$before") <(echo "$after") || true)"
    [[ $mounts_before == "$mounts_after" ]] ||
        phx_fail "$ct ($name): host mount table changed: $(diff <(echo "$mounts_before") <(echo "$mounts_after") || true)"
    local fresh
    fresh=$(host_new_nvidia)
    [[ -z $fresh ]] || phx_fail "$ct ($name): new nvidia files on the host: $fresh"
    [[ -z $(find "$SENT" -newer "$PHX_T/stamp") ]] ||
        phx_fail "$ct ($name): sentinel changed: $(find "$SENT" -newer "$PHX_T/stamp")"

    if ((!started)); then
        # Acceptable only if LXC refuses the layout without our hooks too.
        local ctl=${ct}ctl
        phx_create_ct "$ctl" --no-snippet "$@"
        (cd "$PHX_LXCPATH/$ctl/rootfs" && eval "$plant")
        if phx_start "$ctl" --quiet; then
            phx_stop "$ctl"
            phx_fail "$ct ($name): did not start with the hooks, but starts without them"
        fi
        result="LXC refuses it (also without the hooks): $(grep -m1 -oE 'ERROR +conf - [^ ]+ - .*' "$PHX_T/$ct.lxc.log" |
            sed -E 's/^ERROR +conf - [^ ]+ - //' || true)"
        echo "ok: $ct ($name): host untouched; $result"
        TABLE+=("$name|not started: $result|host untouched")
        return 0
    fi
    phx_assert_eq RUNNING "$(phx_state "$ct")" "$ct ($name): running"
    local node short ok_list="" skip_list="" got
    if [[ $spoiled == all ]]; then
        spoiled=""
        for node in "${NODES[@]}"; do spoiled+=" ${node#/dev/}"; done
    fi
    for node in "${NODES[@]}"; do
        short=${node#/dev/}
        got=$(phx_rdev "$ct" "$node")
        if [[ " $spoiled " == *" $short "* ]]; then
            [[ $got != "${RDEV[$node]}" ]] || phx_fail "$ct ($name): $node was bound although its target is hostile"
            phx_assert_contains "$(in_log "$ct")" "skipped $node" "$ct ($name): log says why $node was skipped"
            skip_list+=" $short($got)"
        else
            phx_assert_eq "${RDEV[$node]}" "$got" "$ct ($name): $node bound in"
            ok_list+=" $short"
        fi
    done
    "$JSON" "$(phx_status_json "$ct")" || phx_fail "$ct ($name): status.json is not valid JSON"
    echo "ok: $ct ($name): host untouched"
    TABLE+=("$name|RUNNING; bound:${ok_list:- none}; skipped:${skip_list:- none}|host untouched")
    phx_stop "$ct"
    phx_assert_eq "" "$(phx_leftover_cgroups "$ct")" "$ct ($name): no cgroup left"
}

A0=(--extra 'lxc.autodev = 0')
ALL_CAPS="nvidia-caps/nvidia-cap1 nvidia-caps/nvidia-cap2"

layout "baseline: autodev 1 (LXC's tmpfs /dev)" none ':'
layout "autodev 0, the container's own plain /dev" none ':' "${A0[@]}"
layout "dev -> / (absolute symlink)" all 'rmdir dev && ln -s / dev' "${A0[@]}"
layout "dev -> host directory" all "rmdir dev && ln -s '$SENT' dev" "${A0[@]}"
layout "dev -> ../../.. escaping relative symlink" all "rmdir dev && ln -s '${REL_UP}tmp' dev" "${A0[@]}"
layout "dev is a regular file" all 'rmdir dev && echo x >dev' "${A0[@]}"
layout "dev/nvidia1 -> host file (absolute)" nvidia1 "ln -s '$SENT/victim' dev/nvidia1" "${A0[@]}"
assert_unbound_explained "h$n" /dev/nvidia1
layout "dev/nvidiactl -> /etc/shadow" nvidiactl 'ln -s /etc/shadow dev/nvidiactl' "${A0[@]}"
layout "dev/nvidia1 -> ../../.. relative escape to a host file" nvidia1 \
    "ln -s '${REL_UP%/}$SENT/victim' dev/nvidia1" "${A0[@]}"
layout "dev/nvidia1 -> /proc/self/root/... (magic link)" nvidia1 \
    "ln -s '/proc/self/root$SENT/victim' dev/nvidia1" "${A0[@]}"
layout "dev/nvidia-caps -> host directory" "$ALL_CAPS" "ln -s '$SENT/dir' dev/nvidia-caps" "${A0[@]}"
layout "dev/nvidia-caps -> ../../.. (host /)" "$ALL_CAPS" "ln -s '$REL_UP' dev/nvidia-caps" "${A0[@]}"
layout "dev/nvidia-caps -> a directory inside the rootfs" "$ALL_CAPS" \
    'mkdir -p tmp/caps && ln -s ../tmp/caps dev/nvidia-caps' "${A0[@]}"
layout "symlinks inside dev/nvidia-caps (to a host file, to /etc/passwd)" "$ALL_CAPS" \
    "mkdir dev/nvidia-caps && ln -s '$SENT/victim' dev/nvidia-caps/nvidia-cap1 && ln -s /etc/passwd dev/nvidia-caps/nvidia-cap2" \
    "${A0[@]}"
layout "dev/nvidia-caps is a regular file" "$ALL_CAPS" 'echo x >dev/nvidia-caps' "${A0[@]}"
layout "dev/nvidia1 is a FIFO" nvidia1 'mkfifo dev/nvidia1' "${A0[@]}"
layout "dev/nvidia1 is a directory with a file in it" nvidia1 'mkdir dev/nvidia1 && echo x >dev/nvidia1/f' "${A0[@]}"
layout "dev/nvidia-uvm is a unix socket" nvidia-uvm \
    "perl -MSocket -e 'socket(my \$s, PF_UNIX, SOCK_STREAM, 0) or die; bind(\$s, pack_sockaddr_un(\"dev/nvidia-uvm\")) or die \$!'" \
    "${A0[@]}"
layout "dev/nvidia1 is a hard link to a host file" none "ln '$SENT/victim' dev/nvidia1" "${A0[@]}"
layout "deep symlink chain ending at a host file" nvidia1 \
    "ln -s '$SENT/victim' dev/l40 && for i in \$(seq 39 -1 1); do ln -s l\$((i + 1)) dev/l\$i; done && ln -s l1 dev/nvidia1" \
    "${A0[@]}"
layout "symlink loops (self, and a pair)" "nvidia1 nvidia-uvm" \
    'ln -s nvidia1 dev/nvidia1 && ln -s uvm-b dev/nvidia-uvm && ln -s nvidia-uvm dev/uvm-b' "${A0[@]}"
layout "wrong nodes planted: nvidia1 as c 195:0 (another GPU), nvidiactl as c 1:3" none \
    'mknod dev/nvidia1 c 195 0 && mknod dev/nvidiactl c 1 3' "${A0[@]}"
layout "odd names in dev (newline, escape, invalid UTF-8, 250 chars, -rf) and a dir at nvidia-uvm (forces the /dev listing)" \
    nvidia-uvm \
    "touch dev/\$'nvidia1\\n' 'dev/nvidia1 ' dev/\$'\\e[31mred' dev/\$'\\xff\\xfe' dev/-rf dev/\$(printf 'n%.0s' {1..250}) && mkdir dev/nvidia-uvm" \
    "${A0[@]}"
odd=h$n
phx_assert_eq timeout "$("$JSON" "$(phx_status_json "$odd")" .state)" "$odd: verification timed out (nvidia-uvm spoiled)"
listing=$("$JSON" "$(phx_status_json "$odd")" .dev_listing)
phx_assert_contains "$listing" "nvidia-uvm" "$odd: status.json carries the /dev listing"
phx_assert_contains "$listing" "-rf" "$odd: the listing shows the odd names"
layout "read-only rootfs, autodev 1" none ':' --extra 'lxc.rootfs.options = ro'
layout "read-only rootfs, autodev 0, no ptys, no console" all ':' "${A0[@]}" --extra 'lxc.rootfs.options = ro' --extra 'lxc.pty.max = 0' --extra 'lxc.console.path = none'
layout "read-only rootfs, autodev 0, no ptys, no console, mount targets present" none \
    'mkdir dev/nvidia-caps && touch dev/nvidiactl dev/nvidia1 dev/nvidia-uvm dev/nvidia-uvm-tools dev/nvidia-caps/nvidia-cap1 dev/nvidia-caps/nvidia-cap2' \
    "${A0[@]}" --extra 'lxc.rootfs.options = ro' --extra 'lxc.pty.max = 0' --extra 'lxc.console.path = none'
layout "dev is a read-only bind of a host directory" all ':' "${A0[@]}" --extra 'lxc.pty.max = 0' --extra 'lxc.console.path = none' \
    --extra "lxc.mount.entry = $PHX_T/rodev dev none ro,bind 0 0"
layout "unprivileged: dev/nvidia1 -> host file, dev/nvidia-caps -> host dir" "nvidia1 $ALL_CAPS" \
    "ln -s '$SENT/victim' dev/nvidia1 && ln -s '$SENT/dir' dev/nvidia-caps && chown -h 100000:100000 dev/nvidia1 dev/nvidia-caps" \
    --unpriv "${A0[@]}"
# The mount hook of an unprivileged container reports as the mapped root.
assert_unbound_explained "h$n" /dev/nvidia1
layout "unprivileged: autodev 0, plain /dev" none ':' --unpriv "${A0[@]}"
layout "dev/nvidia-caps is a writable bind of a host directory (lxc.mount.entry)" "$ALL_CAPS" ':' \
    --extra "lxc.mount.entry = $SENT/capsdir dev/nvidia-caps none bind,create=dir 0 0"

phx_assert_eq "host secret|other|5000" \
    "$(cat "$SENT/victim")|$(cat "$SENT/dir/file")|$(wc -c <"$SENT/big")" "sentinel contents unchanged"
phx_assert_eq "" "$(ls -A "$SENT/capsdir")" "nothing created in the bound host directory"

echo
echo "layouts tried: ${#TABLE[@]}"
for t in "${TABLE[@]}"; do
    IFS='|' read -r a b c <<<"$t"
    printf '  %-100s %s; %s\n' "$a" "$b" "$c"
done
echo PASS
