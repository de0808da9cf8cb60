#!/usr/bin/env bash
# A systemd host for the tests: a privileged LXC container that boots a
# Debian root file system (systemd as PID 1, D-Bus, Debian's LXC of that
# release) made with mmdebstrap from Debian's archive, with nesting enabled,
# in a private mount namespace whose /sys/fs/cgroup is pure cgroup2 (as on
# Proxmox VE 8 and 9, whatever this machine's layout), and runs a command of
# the checkout in it.
#
# Usage (root):
#   scripts/systemd-host.sh build [--release R]    build the root file system (or find it cached)
#   scripts/systemd-host.sh run [--release R] [--timeout S] OUTDIR CMD...
#       boots it on a throwaway overlay (the cached tree never changes), with
#       this checkout read-only at /phx/src and OUTDIR read-write at /phx/out,
#       and runs CMD (bash, in /phx/src) as root in a unit after
#       multi-user.target. CMD may reboot the host (touch /run/phx-rebooting;
#       systemctl reboot): after the boot it runs again with PHX_BOOT=2, 3...
#       The host powers off when CMD exits; CMD's exit status is this
#       command's; its output is OUTDIR/cmd.log, the console OUTDIR/console.log.
# R is a Debian suite (default trixie: Debian 13, LXC 6.0; sid: LXC 7.0).
# The tree is cached under /var/cache/phoenix-gpu-hooks-test/ keyed by a hash
# of the release, the mirror, the package list and the code that builds it
# (PHX_SYSTEMD_HOST_CACHE overrides the dir); a build is a minute or so.
# Needs: mmdebstrap, LXC (scripts/deps.sh).
set -euo pipefail

cache_root=${PHX_SYSTEMD_HOST_CACHE:-/var/cache/phoenix-gpu-hooks-test}
mirror=${PHX_SYSTEMD_HOST_MIRROR:-http://deb.debian.org/debian}
release=trixie
timeout=1200
src=$(cd "$(dirname "$0")/.." && pwd)

# What the tests need inside: systemd as init with D-Bus (systemd-run),
# Debian's LXC, busybox for the test containers, uidmap for unprivileged ones.
pkgs=(systemd systemd-sysv dbus lxc busybox-static uidmap procps)

die() { echo "systemd-host: $*" >&2; exit 1; }

tree_dir() {
    local key
    # Not the rest of this script: changing how it runs does not rebuild.
    key=$( { echo "$release $mirror"; printf '%s\n' "${pkgs[@]}"; declare -f build runner_script; } |
        sha256sum | cut -c1-16)
    echo "$cache_root/$release-$key"
}

# Runs at every boot: runs the command, then powers off (unless it rebooted).
runner_script() {
    cat <<'EOF'
#!/bin/bash
set -u
boot=$(( $(cat /var/lib/phx-boot 2>/dev/null || echo 0) + 1 ))
echo "$boot" >/var/lib/phx-boot
cmd=$(cat /phx/out/cmd)
echo "=== boot $boot: $cmd" >>/phx/out/cmd.log
cd /phx/src
PHX_BOOT=$boot PHX_OUT=/phx/out bash -c "$cmd" >>/phx/out/cmd.log 2>&1 </dev/null
rc=$?
# A command that asked for a reboot is not finished: the next boot runs it again.
[[ -e /run/phx-rebooting ]] && exit 0
echo "$rc" >/phx/out/rc
systemctl poweroff --no-block
EOF
}

build() {
    local dir tmp
    dir=$(tree_dir)
    if [[ -f $dir/ok ]]; then echo "$dir"; return; fi
    command -v mmdebstrap >/dev/null || die "mmdebstrap is missing (scripts/deps.sh)"
    mkdir -p "$cache_root"
    tmp=$(mktemp -d "$cache_root/.build.XXXXXX")
    # Expanded now on purpose: the local is gone when the trap runs (and mktemp's name has no
    # quote in it).
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" EXIT
    echo "systemd-host: building the $release tree in $dir" >&2
    runner_script >"$tmp/phx-runner"
    local inc
    inc=$(IFS=,; echo "${pkgs[*]}")
    # Its own sources list: this machine's apt configuration is never touched.
    # Valid-Until not enforced: sid's Release file expires a week after it is
    # signed, and a mirror that lags (or a clock ahead of it) would refuse
    # the build; the signature is still checked.
    mmdebstrap --mode=root --variant=minbase --include="$inc" \
        --aptopt='Acquire::Retries "3"' \
        --aptopt='Acquire::Check-Valid-Until "false"' \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --customize-hook='echo phx-host >"$1/etc/hostname"' \
        --customize-hook='mkdir -p "$1/phx/src" "$1/phx/out"' \
        --customize-hook="install -m 0755 $tmp/phx-runner \"\$1/usr/local/sbin/phx-runner\"" \
        --customize-hook='printf "%s\n" "[Unit]" "Description=Run the test command" "After=multi-user.target" "[Service]" "Type=oneshot" "ExecStart=/usr/local/sbin/phx-runner" "TimeoutStartSec=infinity" "[Install]" "WantedBy=multi-user.target" >"$1/etc/systemd/system/phx-runner.service"' \
        --customize-hook='chroot "$1" systemctl enable phx-runner.service' \
        --customize-hook='chroot "$1" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_reap.service systemd-timesyncd.service fstrim.timer dpkg-db-backup.timer systemd-networkd-wait-online.service lxc-net.service systemd-modules-load.service 2>/dev/null || true' \
        --customize-hook='chroot "$1" passwd -d root' \
        "$release" "$tmp/root" "deb $mirror $release main" >&2
    rm -rf "$dir"
    mv "$tmp" "$dir"
    trap - EXIT
    touch "$dir/ok"
    # Older trees of this release are of no further use.
    find "$cache_root" -maxdepth 1 -name "$release-*" ! -path "$dir" -exec rm -rf {} +
    echo "$dir"
}

run() {
    (($# >= 2)) || die "usage: run [--release R] [--timeout S] OUTDIR CMD..."
    local out=$1; shift
    local dir
    dir=$(build)
    mkdir -p "$out"
    out=$(cd "$out" && pwd)
    rm -f "$out/rc" "$out/cmd.log" "$out/console.log"
    printf '%s\n' "$*" >"$out/cmd"
    local work name=phx-systemd-host-$$
    work=$(mktemp -d /tmp/phx-systemd-host.XXXXXX)
    # The whole run in a private mount namespace: the overlay, the tmpfs and a
    # pure cgroup2 /sys/fs/cgroup exist only there (this machine's own
    # layout stays as it is; research: v1 controllers not mounted under
    # /sys/fs/cgroup are skipped by LXC, which then uses cgroup2 only).
    local rc=0
    PHX_RUN_DIR=$dir PHX_RUN_WORK=$work PHX_RUN_OUT=$out PHX_RUN_SRC=$src PHX_RUN_NAME=$name \
        PHX_RUN_TIMEOUT=$timeout unshare -m --propagation private bash -euo pipefail -c '
        mount -t tmpfs -o mode=0755 phx-systemd-host "$PHX_RUN_WORK"
        mkdir -p "$PHX_RUN_WORK"/{upper,work,root,lxc/$PHX_RUN_NAME}
        mount -t overlay overlay -o "lowerdir=$PHX_RUN_DIR/root,upperdir=$PHX_RUN_WORK/upper,workdir=$PHX_RUN_WORK/work" \
            "$PHX_RUN_WORK/root"
        if [[ $(stat -fc %T /sys/fs/cgroup) != cgroup2fs ]]; then
            for d in /sys/fs/cgroup/*; do mountpoint -q "$d" && umount -l "$d"; done
            umount -l /sys/fs/cgroup
            mount -t cgroup2 cgroup2 /sys/fs/cgroup
        fi
        cat >"$PHX_RUN_WORK/lxc/$PHX_RUN_NAME/config" <<EOF
lxc.uts.name = phx-host
lxc.rootfs.path = dir:$PHX_RUN_WORK/root
lxc.include = /usr/share/lxc/config/common.conf
lxc.include = /usr/share/lxc/config/nesting.conf
lxc.apparmor.profile = unconfined
lxc.seccomp.profile =
lxc.cap.drop =
lxc.cgroup2.devices.allow = a
lxc.autodev = 1
lxc.net.0.type = empty
lxc.mount.auto = proc:rw sys:rw cgroup:rw:force
lxc.mount.entry = $PHX_RUN_SRC phx/src none bind,ro 0 0
lxc.mount.entry = $PHX_RUN_OUT phx/out none bind 0 0
lxc.mount.entry = /dev/fuse dev/fuse none bind,create=file,optional 0 0
lxc.mount.entry = /dev/net/tun dev/net/tun none bind,create=file,optional 0 0
lxc.tty.max = 0
lxc.signal.halt = SIGRTMIN+3
lxc.init.cmd = /lib/systemd/systemd
lxc.environment = container=lxc
EOF
        lxc-start -F -n "$PHX_RUN_NAME" -P "$PHX_RUN_WORK/lxc" -o "$PHX_RUN_OUT/lxc-start.log" -l INFO \
            </dev/null >>"$PHX_RUN_OUT/console.log" 2>&1 &
        mon=$!
        deadline=$((SECONDS + PHX_RUN_TIMEOUT))
        while kill -0 "$mon" 2>/dev/null && ((SECONDS < deadline)); do sleep 1; done
        if kill -0 "$mon" 2>/dev/null; then
            # lxc-start forwards a SIGTERM to systemd, which ignores it: stop it for real.
            lxc-stop -k -n "$PHX_RUN_NAME" -P "$PHX_RUN_WORK/lxc" >/dev/null 2>&1 || true
            wait "$mon" || true
            exit 124
        fi
        wait "$mon"
    ' || rc=$?
    rmdir "$work" 2>/dev/null || true
    ((rc == 0)) || echo "systemd-host: lxc-start ended with $rc (124: timeout after ${timeout}s)" >&2
    [[ -f $out/rc ]] || { tail -n 30 "$out/console.log" >&2; die "the command did not finish (see $out/)"; }
    return "$(cat "$out/rc")"
}

(($# >= 1)) || die "usage: $0 build|run ..."
sub=$1; shift
while (($#)); do
    case $1 in
        --release) release=$2; shift 2 ;;
        --timeout) timeout=$2; shift 2 ;;
        *) break ;;
    esac
done
[[ $EUID -eq 0 ]] || die "run as root"
case $sub in
    build) build ;;
    run) run "$@" ;;
    *) die "unknown command $sub" ;;
esac
