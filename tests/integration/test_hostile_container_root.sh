#!/bin/bash
# The container's root is hostile; what it can get from the processes we start in its
# container, tried for real:
# - the administrator's terminal: `phoenix-gpu install-driver` run under a pseudo-terminal
#   (script(1)); the installer must be in a session of its own, /dev/tty unopenable;
# - host descriptors: the installer (started by the worker and by the CLI) and a verify
#   attach that the container stalls (an unserved FUSE mount over its /dev) list their
#   /proc/PID/fd from inside: only stdin, stdout and stderr;
# - time and memory: an installer whose children flood the output pipe is killed at its
#   timeout; a writer that left the installer's process group cannot keep the reader
#   (host root) reading after the installer exits;
# - logs and terminals: a file in the container's /dev named with a newline, a carriage
#   return and an OSC 52 escape reaches the log, `status` and `status --json` escaped.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

FIX=$(cd "$(dirname "$0")/fixtures" && pwd)
JSON=$FIX/json-get

phx_setup_tmp
phx_sim_host "$PHX_T/host"
export PHOENIX_GPU_HOST_ROOT=$PHX_T/host
command -v script >/dev/null || phx_skip "script(1) (util-linux) is not installed"

# host_config COMMAND TIMEOUT
host_config() {
    printf '[verify]\ntimeout = 20\n[driver_install]\nstrategy = "command"\ntimeout = %s\ncommand = "%s"\n' \
        "$2" "$1" >"$PHOENIX_GPU_CONFIG"
}
# Processes in the pid namespace NS whose command line is CMD.
procs_named() {
    local p n=0 a
    for p in /proc/[0-9]*; do
        [[ $(readlink "$p/ns/pid" 2>/dev/null) == "$1" ]] || continue
        a=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
        [[ $a == "$2 " ]] && n=$((n + 1))
    done
    echo "$n"
}
no_escaped_writer() { [[ $(procs_named "$1" "yes escaped") == 0 ]]; }

# What an "installer" records from inside: its session, controlling tty, whether
# /dev/tty opens, and where each of its descriptors leads.
attack=$(
    cat <<'EOF'
#!/bin/sh
out=/var/log/attack.$$
# /proc/PID/stat: field 6 is the session (0 when its leader is outside this pid
# namespace), field 7 the controlling tty (0: none).
set -- $(cat /proc/$$/stat)
echo "sid=$6 tty=$7" >>$out
if (exec 3</dev/tty) 2>>$out; then echo devtty=opened >>$out; else echo devtty=refused >>$out; fi
for f in /proc/$$/fd/*; do
    echo "fd ${f##*/} $(readlink "$f")" >>$out
done
mv $out /var/log/attack
EOF
)
# fds_ok FILE WHAT : every descriptor listed in FILE is one of ours to give (stdin
# /dev/null, the output pipe) or the shell's own (the script it reads, its output file).
fds_ok() {
    local line bad=""
    while read -r line; do
        [[ $line == "fd "* ]] || continue
        [[ $line =~ ^fd\ [0-9]+\ (/dev/null|pipe:\[[0-9]+\]|/attack\.sh|/var/log/attack\.[0-9]+)$ ]] || bad+="$line; "
    done <"$1"
    [[ -z $bad ]] || phx_fail "$2: descriptors from the host reached the container: $bad"
    echo "ok: $2: only stdin, stdout, stderr (and the shell's own)"
}
# session_ok FILE WHAT
session_ok() {
    local s
    s=$(cat "$1")
    phx_assert_contains "$s" "devtty=refused" "$2: /dev/tty cannot be opened"
    [[ $s =~ sid=([0-9]+)\ tty=([0-9]+) ]] || phx_fail "$2: no sid/tty line: $s"
    ((BASH_REMATCH[1] != 0)) || phx_fail "$2: the installer is in a session led from outside the container"
    phx_assert_eq 0 "${BASH_REMATCH[2]}" "$2: no controlling terminal"
}

# --- the worker's installer and install-driver under a terminal -------------------------
host_config /attack.sh 20
# /dev/fuse as Proxmox's fuse=1 feature gives it (used by the stalled-verify case).
phx_create_ct ct --env NVIDIA_VISIBLE_DEVICES=all --env NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    --extra "lxc.cgroup.devices.allow = c 10:229 rwm" --extra "lxc.cgroup2.devices.allow = c 10:229 rwm" \
    --extra "lxc.mount.entry = /dev/fuse dev/fuse none bind,create=file 0 0"
root=$PHX_LXCPATH/ct/rootfs
printf '%s\n' "$attack" >"$root/attack.sh"
chmod 0755 "$root/attack.sh"
phx_start ct
phx_wait_until 30 phx_driver_done ct || phx_fail "ct: the worker's driver stage did not finish"
[[ -f $root/var/log/attack ]] || phx_fail "ct: the worker did not run the installer"
session_ok "$root/var/log/attack" "worker's installer"
fds_ok "$root/var/log/attack" "worker's installer"

rm -f "$root/var/log/attack"
rc=0
timeout 60 script -qec "$PHX_CLI install-driver ct -P $PHX_LXCPATH" /dev/null >"$PHX_T/script.out" 2>&1 </dev/null || rc=$?
[[ -f $root/var/log/attack ]] || phx_fail "install-driver did not run the installer (rc $rc): $(cat "$PHX_T/script.out")"
session_ok "$root/var/log/attack" "install-driver under a terminal"
fds_ok "$root/var/log/attack" "install-driver under a terminal"

# --- an installer whose children flood the pipe ---------------------------------------
ns=$(readlink "/proc/$(phx_init_pid ct)/ns/pid")
# shellcheck disable=SC2016  # the $i is for the container's shell
printf '#!/bin/sh\nfor i in 1 2 3 4; do yes flood-$i & done\nsetsid yes escaped &\nwait\n' >"$root/flood.sh"
printf '#!/bin/sh\nsetsid yes escaped &\necho started\n' >"$root/escape.sh"
chmod 0755 "$root/flood.sh" "$root/escape.sh"
host_config /flood.sh 2
t0=$SECONDS
rc=0
timeout 60 "$PHX_CLI" install-driver ct -P "$PHX_LXCPATH" >"$PHX_T/flood.out" 2>&1 || rc=$?
((SECONDS - t0 <= 10)) || phx_fail "flood: install-driver took $((SECONDS - t0)) s with a 2 s timeout"
phx_assert_eq timeout "$(phx_jget ct .driver.state)" "flood: the installer was killed at its timeout ($(phx_jget ct .driver.message))"
tail=$(phx_jget ct .driver.output_tail)
((${#tail} <= 17000)) || phx_fail "flood: output tail of ${#tail} bytes kept"
[[ $tail == *flood-* || $tail == *escaped* ]] || phx_fail "flood: the tail does not have the flood: ${tail:0:200}"
phx_wait_until 5 no_escaped_writer "$ns" ||
    phx_fail "flood: the escaped writer still runs: nobody closed the pipe it writes to"
echo "ok: flood: the escaped writer died on the closed pipe"

host_config /escape.sh 20
t0=$SECONDS
rc=0
timeout 60 "$PHX_CLI" install-driver ct -P "$PHX_LXCPATH" >"$PHX_T/escape.out" 2>&1 || rc=$?
((SECONDS - t0 <= 5)) || phx_fail "escape: install-driver took $((SECONDS - t0)) s for an installer that exits at once"
phx_assert_eq failed "$(phx_jget ct .driver.state)" "escape: installer exited 0 without libraries: failed"
phx_wait_until 5 no_escaped_writer "$ns" || phx_fail "escape: the escaped writer still runs"
echo "ok: escape: reading stopped and the writer died on the closed pipe"

# --- a verify attach stalled on the container's /dev ----------------------------------
# The container mounts a FUSE file system nobody serves over its /dev (what Proxmox's
# fuse=1 feature allows), so our check blocks in its first lookup there; meanwhile it
# lists that process's descriptors, then closes the FUSE fd, which fails the lookup.
cat >"$root/fuse-watch.sh" <<'EOF'
#!/bin/sh
exec 3<>/dev/fuse || exit 1
mount -t fuse -o fd=3,rootmode=40000,user_id=0,group_id=0,allow_other phx /dev || exit 1
echo mounted >/run/fuse-state
i=0
while [ $i -lt 300 ]; do
    for p in /proc/[0-9]*; do
        read -r comm <$p/comm || continue
        [ "$comm" = phoenix-gpu ] || continue
        set -- $(cat $p/stat)
        [ "$3" = D ] || continue
        for f in $p/fd/*; do echo "fd ${f##*/} $(readlink $f)"; done >/run/stuck.$$
        mv /run/stuck.$$ /run/stuck
        umount -l /dev
        exit 0
    done
    sleep 0.05
    i=$((i + 1))
done
umount -l /dev
EOF
chmod 0755 "$root/fuse-watch.sh"
phx_in ct /bin/sh -c '/fuse-watch.sh >/run/fuse-watch.log 2>&1 </dev/null &' </dev/null
phx_wait_until 5 test -f "$root/run/fuse-state" || phx_fail "fuse: the container could not mount FUSE over its /dev: $(cat "$root/run/fuse-watch.log" 2>&1)"
rc=0
timeout 30 script -qec "$PHX_CLI verify ct -P $PHX_LXCPATH" /dev/null >"$PHX_T/verify.out" 2>&1 </dev/null || rc=$?
[[ -f $root/run/stuck ]] ||
    phx_fail "fuse: the watcher never saw the stalled attach (verify rc $rc): $(cat "$root/run/fuse-watch.log" "$PHX_T/verify.out")"
# Where liblxc's part of the attach (before any code of ours runs in the child) stalls
# depends on its version: the child may be there or in our check. Either way it holds
# /dev/null, our pipes and liblxc's own socket: no file, terminal, inotify or pidfd of
# the host.
cp "$root/run/stuck" "$PHX_T/stuck"
bad=$(grep -Ev '^fd [0-9] (/dev/null|pipe:\[[0-9]+\]|socket:\[[0-9]+\])$' "$PHX_T/stuck" || true)
[[ -z $bad ]] || phx_fail "fuse: the stalled verify attach holds host descriptors: $(tr '\n' ';' <<<"$bad")"
n=$(grep -c . "$PHX_T/stuck")
((n >= 3 && n <= 6)) || phx_fail "fuse: the stalled verify attach holds $n descriptors: $(tr '\n' ';' <"$PHX_T/stuck")"
echo "ok: fuse: the stalled verify attach holds $n descriptors, none of the host's: $(tr '\n' ';' <"$PHX_T/stuck")"
phx_stop ct

# --- a file in /dev named to forge log lines and drive terminals -----------------------
export PHOENIX_GPU_HOST_ROOT=$PHX_T/host2
phx_sim_host "$PHOENIX_GPU_HOST_ROOT" --no-uvm-nodes
host_config /bin/true 20
phx_create_ct ev --env NVIDIA_VISIBLE_DEVICES=all --env PHOENIX_GPU_CREATE_NODES=0 \
    --env PHOENIX_GPU_VERIFY_TIMEOUT=3 --env PHOENIX_GPU_DRIVER_INSTALL=none
phx_start ev
# shellcheck disable=SC2016
phx_in ev /bin/sh -c 'touch "/dev/$(printf "x\n2001-01-01T00:00:00.000+0000 worker[1] info: GPU devices verified\rOWNED\033]52;c;cHduZWQ=\007")"' </dev/null
phx_wait_until 15 phx_driver_done ev || phx_fail "ev: the worker did not finish"
phx_assert_eq timeout "$(phx_jget ev .state)" "ev: verification timed out (uvm nodes missing)"
log=$(cat "$PHOENIX_GPU_LOG_DIR/ev.log")
phx_assert_contains "$log" 'x\x0a2001-01-01T00:00:00.000+0000 worker[1] info: GPU devices verified\x0dOWNED\x1b]52;c;cHduZWQ=\x07' \
    "log: the planted name is escaped"
phx_assert_not_contains "$log" $'\e' "log: no escape byte"
phx_assert_not_contains "$log" $'\r' "log: no carriage return"
grep -q '^2001-01-01' <<<"$log" && phx_fail "log: a forged line starts a line of the log"
echo "ok: log: no forged line"
rc=0
out=$("$PHX_CLI" status ev -P "$PHX_LXCPATH" 2>&1) || rc=$?
phx_assert_contains "$out" 'x\x0a2001-01-01' "status: the planted name is escaped"
phx_assert_not_contains "$out" $'\e' "status: no escape byte"
phx_assert_not_contains "$out" $'\r' "status: no carriage return"
grep -q '^2001-01-01' <<<"$out" && phx_fail "status: a forged line"
echo "ok: status: no forged line"
out=$("$PHX_CLI" status ev -P "$PHX_LXCPATH" --json 2>&1) || true
listing=$("$JSON" - .dev_listing <<<"$out")
phx_assert_contains "$listing" 'x\x0a2001-01-01' "status --json: the planted name is escaped"
phx_assert_not_contains "$listing" $'\e' "status --json: no escape byte"
grep -q '^2001-01-01' <<<"$listing" && phx_fail "status --json: a forged line in the listing"
echo "ok: status --json: no forged line"
phx_stop ev
echo PASS
