#!/bin/bash
# The harness itself, without any product hook: the simulated host looks as documented,
# containers start (privileged, unprivileged, and under pure cgroup2), the device
# allow-list is in force, and stopping leaves no cgroup behind.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

phx_setup_tmp

# --- simulated host ------------------------------------------------------------------------
host=$PHX_T/host
phx_sim_host "$host" --gpus 3
phx_assert_eq "character special file c3 0" "$(stat -c '%F %t %T' "$host/dev/nvidia0")" \
    "sim: /dev/nvidia0 is c 195:0"
phx_assert_eq "0000:01:00.0 2 0000:41:00.0 0 0000:81:00.0 1" \
    "$(phx_sim_gpus "$host" | cut -d' ' -f1,2 | xargs)" "sim: GPU minors differ from PCI order"
phx_assert_contains "$(cat "$host/proc/driver/nvidia/gpus/0000:01:00.0/information")" \
    "Device Minor: 	 2" "sim: information file carries the minor"
phx_assert_eq live "$(cat "$host/sys/module/nvidia_uvm/initstate")" "sim: nvidia_uvm live"

h=$PHX_T/h-no-uvm-nodes
phx_sim_host "$h" --no-uvm-nodes
phx_assert_eq "no node, major 238 registered" \
    "$([[ -e $h/dev/nvidia-uvm ]] && echo node || echo no node), $(grep -q '^238 nvidia-uvm$' "$h/proc/devices" && echo major 238 registered)" \
    "sim --no-uvm-nodes"

h=$PHX_T/h-uvm-not-loaded
phx_sim_host "$h" --uvm-not-loaded
phx_assert_not_contains "$(cat "$h/proc/devices" "$h/proc/modules"; ls "$h/sys/module"; ls "$h/dev")" \
    "uvm" "sim --uvm-not-loaded: no trace of nvidia_uvm"
modprobe=$(phx_sim_modprobe "$h")
"$modprobe" nvidia_uvm
phx_assert_contains "$(cat "$h/proc/devices")" $'238 nvidia-uvm\n239 nvidia-nvswitch' \
    "sim modprobe registers major 238 in order"
phx_assert_eq live "$(cat "$h/sys/module/nvidia_uvm/initstate")" "sim modprobe marks the module live"

h=$PHX_T/h-no-driver
phx_sim_host "$h" --no-driver
phx_assert_not_contains "$(cat "$h/proc/devices" "$h/proc/modules"; ls "$h/dev"; ls "$h/proc")" \
    "nvidia" "sim --no-driver: no trace of nvidia"

h=$PHX_T/h-stale
phx_sim_host "$h" --stale nvidia-uvm --placeholder nvidia-uvm-tools --frontend-name
phx_assert_eq "character special file f3 0" "$(stat -c '%F %t %T' "$h/dev/nvidia-uvm")" \
    "sim --stale: nvidia-uvm is 243:0"
phx_assert_eq "regular empty file" "$(stat -c '%F' "$h/dev/nvidia-uvm-tools")" \
    "sim --placeholder: an empty file"
phx_assert_contains "$(cat "$h/proc/devices")" "195 nvidia-frontend" "sim --frontend-name"

# --- containers ----------------------------------------------------------------------------
# A host node bound in by LXC itself (no product hook): the allow-list denies it (EPERM)
# unless a rule covers its major (ENXIO: the open reached the driver-less device).
probe="lxc.mount.entry = $host/dev/nvidia0 dev/probe none bind,create=file 0 0"
allow195=(--extra "lxc.cgroup.devices.allow = c 195:* rwm" --extra "lxc.cgroup2.devices.allow = c 195:* rwm")
for ct in priv unpriv cgroup2 allowed; do
    start=(phx_start)
    case $ct in
    priv) phx_create_ct "$ct" --no-snippet --extra "$probe" ;;
    unpriv) phx_create_ct "$ct" --no-snippet --unpriv --extra "$probe" ;;
    cgroup2)
        phx_create_ct "$ct" --no-snippet --extra "$probe"
        start=(phx_cgroup2_run phx_start)
        ;;
    allowed) phx_create_ct "$ct" --no-snippet --unpriv --extra "$probe" "${allow195[@]}" ;;
    esac
    "${start[@]}" "$ct"
    phx_assert_eq RUNNING "$(phx_state "$ct")" "$ct: running"
    phx_assert_eq "c 1:3" "$(phx_rdev "$ct" /dev/null)" "$ct: /dev/null is c 1:3"
    phx_assert_eq OK "$(phx_open_result "$ct" /dev/null rw)" "$ct: /dev/null opens"
    phx_assert_eq ENOENT "$(phx_rdev "$ct" /dev/nvidia0)" "$ct: no /dev/nvidia0 without hooks"
    phx_assert_eq ENOENT "$(phx_open_result "$ct" /dev/nvidia0)" "$ct: open of a missing node"
    phx_assert_eq "c 195:0" "$(phx_rdev "$ct" /dev/probe)" "$ct: bound probe node is c 195:0"
    if [[ $ct == allowed ]]; then
        phx_assert_eq ENXIO "$(phx_open_result "$ct" /dev/probe)" "$ct: 195:0 allowed by c 195:* rwm"
    else
        phx_assert_eq EPERM "$(phx_open_result "$ct" /dev/probe)" "$ct: unlisted 195:0 is denied"
    fi
    if [[ $ct == unpriv ]]; then
        phx_assert_eq "0 100000 65536" "$(phx_in "$ct" cat /proc/self/uid_map | xargs)" \
            "$ct: root is mapped"
    fi
    phx_stop "$ct"
    phx_assert_eq STOPPED "$(phx_state "$ct")" "$ct: stopped"
    phx_assert_eq "" "$(phx_leftover_cgroups "$ct")" "$ct: no cgroup left after stop"
done
echo PASS
