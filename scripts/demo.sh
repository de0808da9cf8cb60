#!/usr/bin/env bash
# Quick start on a fresh Debian 12 machine: installs what is needed, builds and
# installs the package, creates the busybox container phoenix-gpu-demo with
# the snippet and NVIDIA_VISIBLE_DEVICES=all, starts it and shows
# 'phoenix-gpu status' for it.
# On a host with the NVIDIA driver it uses the real GPUs; without one, a
# simulated GPU host (an H200 captured from a real machine) in
# /var/lib/phoenix-gpu-hooks/demo-host, and says so.
# Run it again to rebuild and recreate everything.
# Usage: sudo scripts/demo.sh            set up and show the demo
#        sudo scripts/demo.sh --remove   remove the container, the simulated host
#                                        and the package
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
[[ $EUID -eq 0 ]] || { echo "run as root: it installs a package and starts a container" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive

ct=phoenix-gpu-demo
lxcpath=/var/lib/lxc
sim=/var/lib/phoenix-gpu-hooks/demo-host
snippet=/usr/share/phoenix-gpu-hooks/lxc/nvidia.conf

say() { printf '\n==> %s\n' "$*"; }

remove_container() {
    if lxc-info -n "$ct" -P "$lxcpath" >/dev/null 2>&1; then
        lxc-stop -k -n "$ct" -P "$lxcpath" >/dev/null 2>&1 || true
        lxc-destroy -n "$ct" -P "$lxcpath" >/dev/null
        echo "removed container $ct"
    fi
}

if [[ ${1:-} == --remove ]]; then
    remove_container
    if [[ -d $sim ]]; then
        rm -rf "$sim"
        echo "removed the simulated GPU host $sim"
    fi
    if dpkg-query -W phoenix-gpu-hooks >/dev/null 2>&1; then
        apt-get purge -y -q phoenix-gpu-hooks >/dev/null
        echo "purged phoenix-gpu-hooks"
    fi
    exit 0
elif [[ $# -gt 0 ]]; then
    echo "usage: $0 [--remove]" >&2
    exit 2
fi

# The simulated host: the driver's /proc files and /sys module states as read
# off a real H200 machine, and device nodes made with mknod. The nodes only
# make the container's opens reach the kernel: with no driver behind them
# they answer ENXIO, which verification accepts on a simulated host. Dynamic
# majors are chosen among those free on this machine, so no open can reach a
# real device.
make_sim_host() {
    local fx=$src/tests/fixtures/h200-host used m uvm caps
    rm -rf "$sim"
    mkdir -p "$sim"/proc/driver/nvidia/gpus/0000:00:06.0 "$sim"/proc/driver/nvidia/capabilities/mig \
        "$sim"/proc/driver/nvidia-caps "$sim"/dev/nvidia-caps
    used=" $(awk '/^Character/ {c = 1; next} /^$/ {c = 0} c {print $1}' /proc/devices | xargs) "
    for ((m = 511; m >= 234; m--)); do
        [[ $used == *" $m "* ]] && continue
        if [[ -z ${uvm:-} ]]; then uvm=$m; elif [[ -z ${caps:-} ]]; then caps=$m; break; fi
    done
    {
        echo "Character devices:"
        printf '%3d %s\n' 195 nvidia 195 nvidiactl "$uvm" nvidia-uvm "$caps" nvidia-caps
        echo
        echo "Block devices:"
    } >"$sim/proc/devices"
    cp "$fx/proc-driver-nvidia-version.txt" "$sim/proc/driver/nvidia/version"
    cp "$fx/proc-driver-nvidia-params.txt" "$sim/proc/driver/nvidia/params"
    cp "$fx/gpu-0000:00:06.0-information.txt" "$sim/proc/driver/nvidia/gpus/0000:00:06.0/information"
    cp "$fx/proc-driver-nvidia-caps-mig-minors.txt" "$sim/proc/driver/nvidia-caps/mig-minors"
    printf 'DeviceFileMinor: 1\nDeviceFileMode: 256\nDeviceFileModify: 1\n' >"$sim/proc/driver/nvidia/capabilities/mig/config"
    printf 'DeviceFileMinor: 2\nDeviceFileMode: 292\nDeviceFileModify: 1\n' >"$sim/proc/driver/nvidia/capabilities/mig/monitor"
    : >"$sim/proc/modules"
    for m in nvidia_uvm nvidia_modeset nvidia; do
        echo "$m 1937408 0 - Live 0x0000000000000000 (POE)" >>"$sim/proc/modules"
        mkdir -p "$sim/sys/module/$m"
        echo live >"$sim/sys/module/$m/initstate"
    done
    mknod -m 0666 "$sim/dev/nvidia0" c 195 0
    mknod -m 0666 "$sim/dev/nvidiactl" c 195 255
    mknod -m 0666 "$sim/dev/nvidia-uvm" c "$uvm" 0
    mknod -m 0666 "$sim/dev/nvidia-uvm-tools" c "$uvm" 1
    mknod -m 0400 "$sim/dev/nvidia-caps/nvidia-cap1" c "$caps" 1
    mknod -m 0444 "$sim/dev/nvidia-caps/nvidia-cap2" c "$caps" 2
    if findmnt -n -o OPTIONS -T "$sim" | tr ',' '\n' | grep -qx nodev; then
        echo "warning: $sim is on a nodev mount; the demo's device nodes cannot be opened there" >&2
    fi
}

say "installing build and packaging tools (scripts/deps.sh)"
scripts/deps.sh

# True when no file of the checkout changed since the package in $1 was built.
package_current() {
    local f
    [[ -f $1 ]] && git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1 || return 1
    while IFS= read -r -d '' f; do
        [[ ! $src/$f -nt $1 ]] || return 1
    done < <(git -C "$src" ls-files -z --cached --others --exclude-standard)
}

out=$src/build-deb
version=$(dpkg-parsechangelog -l debian/changelog -S Version)
deb=$out/phoenix-gpu-hooks_${version}_$(dpkg-architecture -qDEB_HOST_ARCH).deb
if package_current "$deb"; then
    say "the package is up to date: $deb"
else
    say "building the package (log: $out/build.log)"
    mkdir -p "$out"
    deb=$(scripts/build-deb.sh --nocheck "$out" 2>"$out/build.log") || { tail -n 40 "$out/build.log" >&2; exit 1; }
    echo "$deb"
fi

say "installing it"
apt-get install -y -q --reinstall "$deb" >"$out/install.log" 2>&1 || { cat "$out/install.log" >&2; exit 1; }
/usr/bin/phoenix-gpu --version

say "creating the container $ct"
remove_container
conf=$(mktemp)
trap 'rm -f "$conf"' EXIT
cat >"$conf" <<'EOF'
lxc.net.0.type = empty
EOF
lxc-create -q -n "$ct" -P "$lxcpath" -t busybox -f "$conf" >/dev/null
cat >>"$lxcpath/$ct/config" <<EOF

# phoenix-gpu-hooks: the hooks, and the GPUs this container gets
lxc.include = $snippet
lxc.environment = NVIDIA_VISIBLE_DEVICES=all
EOF
sed -n '/^# phoenix-gpu-hooks/,$p' "$lxcpath/$ct/config"

start_env=()
if [[ -r /proc/driver/nvidia/version ]]; then
    say "NVIDIA driver found: using this host's real GPUs"
    head -n 1 /proc/driver/nvidia/version
else
    say "no NVIDIA driver on this host: using a SIMULATED GPU host"
    make_sim_host
    echo "SIMULATED host in $sim: one NVIDIA H200, driver" \
        "$(grep -oE '[0-9]+\.[0-9]+(\.[0-9]+)?' "$sim/proc/driver/nvidia/version" | head -n 1)"
    echo "its nodes have no driver behind them: they are bound and allowed, and answer ENXIO when opened"
    start_env=(PHOENIX_GPU_HOST_ROOT="$sim")
fi

say "starting $ct"
env "${start_env[@]}" lxc-start -n "$ct" -P "$lxcpath" -d
lxc-info -n "$ct" -P "$lxcpath" -s

# The worker verifies the nodes from inside the container right after the
# start, then checks the container's userspace driver; wait for both (at
# most 10 s).
for ((i = 0; i < 100; i++)); do
    json=$(phoenix-gpu status "$ct" -P "$lxcpath" --json 2>/dev/null || true)
    state=$(sed -n 's/^  "state": "\(.*\)",*$/\1/p' <<<"$json")
    driver=$(sed -n 's/^    "state": "\(.*\)",*$/\1/p' <<<"$json")
    case $state in
    starting | waiting | verifying | "") ;;
    *) [[ $driver == pending ]] || break ;;
    esac
    sleep 0.1
done

if ((${#start_env[@]})); then
    say "phoenix-gpu status $ct   (SIMULATED GPU host: $sim)"
else
    say "phoenix-gpu status $ct"
fi
rc=0
phoenix-gpu status "$ct" -P "$lxcpath" || rc=$?
echo
echo "inside the container:"
lxc-attach -n "$ct" -P "$lxcpath" -- ls -l /dev/nvidiactl /dev/nvidia0 /dev/nvidia-uvm /dev/nvidia-uvm-tools </dev/null || true

echo
echo "The demo container keeps running. Next:"
printf '  %-40s %s\n' "phoenix-gpu doctor" "check this host" \
    "phoenix-gpu plan $ct" "what the hooks give it" \
    "lxc-attach -n $ct" "a shell inside it" \
    "less /var/log/phoenix-gpu-hooks/$ct.log" "its log" \
    "sudo scripts/demo.sh --remove" "remove the container, the simulated host and the package"
if ((${#start_env[@]})); then
    echo "(This was a SIMULATED GPU host: with the NVIDIA driver installed, the same run uses the real GPUs.)"
fi
exit "$rc"
