#!/bin/bash
# Runs inside the systemd host (scripts/systemd-host.sh run; systemd is PID 1,
# pure cgroup2, Debian's LXC of that release), as a unit after boot.
# Boot 1: installs the .deb from $PHX_OUT/deb/ (built on Debian 12, as
#   shipped), prepares the boot checks, runs the integration tests that stand
#   for user setups and tests/systemd/test_units.sh against the installed
#   files on nested containers, then reboots.
# Boot 2: checks that the package's boot unit ran at this boot, prepared the
#   host's nodes and ran before pve-guests.service.
# Writes one "ok:"/"FAIL:" line per check to $PHX_OUT/summary; exit 0 when all pass.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
out=${PHX_OUT:?}
fails=/var/lib/phx-fails
sim=/srv/phx-sim
# The integration tests that stand for user setups, against the installed files.
user_tests=(test_privileged_nodes test_unprivileged_nodes test_hotplug test_verify_timeout test_stop_midwait
            test_do_no_harm test_env_keys)

# Integration tests that fail on LXC 6.0 in this host today (README, "LXC 6.0").
read -r -a known_failing <<<"${PHX_SYSTEMD_HOST_KNOWN_FAILING-}"

ok() { echo "ok: $*" | tee -a "$out/summary"; }
fail() { echo "FAIL: $*" | tee -a "$out/summary"; echo "$*" >>"$fails"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }

export PHX_HOOK_DIR=/usr/libexec/phoenix-gpu-hooks PHX_CLI=/usr/bin/phoenix-gpu
export PHX_SNIPPET=/usr/share/phoenix-gpu-hooks/lxc/nvidia.conf PHX_FIXTURES=$src/tests/fixtures

boot1() {
    : >"$out/summary"
    : >"$fails"
    ok "host: PID 1 is $(cat /proc/1/comm), /sys/fs/cgroup is $(stat -fc %T /sys/fs/cgroup), $(. /etc/os-release; echo "$PRETTY_NAME"), LXC $(lxc-start --version)"
    [[ $(cat /proc/1/comm) == systemd && $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]] ||
        fail "the host is not systemd on pure cgroup2"
    local deb
    deb=$(ls "$out"/deb/phoenix-gpu-hooks_*.deb 2>/dev/null | head -n 1)
    [[ -n $deb ]] || { fail "no .deb in $out/deb"; return 1; }
    if dpkg -i "$deb" >"$out/dpkg.log" 2>&1; then ok "dpkg -i $(basename "$deb")"; else
        cat "$out/dpkg.log"; fail "dpkg -i $(basename "$deb")"; return 1; fi
    check "boot unit enabled (systemctl is-enabled: $(systemctl is-enabled phoenix-gpu-hooks.service))" \
        test "$(systemctl is-enabled phoenix-gpu-hooks.service)" = enabled
    check "phoenix-gpu doctor: worker through systemd" \
        bash -c '/usr/bin/phoenix-gpu doctor 2>&1 | grep -q "worker starts as a transient systemd unit"'

    # What the boot after the reboot checks. A simulated GPU host stands in
    # for the PCI device the shipped ExecCondition looks for; the rest of the
    # unit is as installed.
    # shellcheck source=../integration/lib.sh
    (source "$src/tests/integration/lib.sh" && phx_sim_host "$sim" --gpus 1) || fail "simulated host"
    rm -f "$sim/dev/nvidiactl" "$sim/dev/nvidia-uvm"
    mkdir -p /etc/systemd/system/phoenix-gpu-hooks.service.d
    printf '%s\n' "[Service]" "Environment=PHOENIX_GPU_HOST_ROOT=$sim" "ExecCondition=" \
        "ExecCondition=/bin/test -e $sim/proc/driver/nvidia/version" \
        >/etc/systemd/system/phoenix-gpu-hooks.service.d/simulated-host.conf
    # A stand-in for Proxmox's unit that starts the guests at boot: it records
    # whether the nodes were there when it ran.
    printf '%s\n' "[Unit]" "Description=stand-in for PVE guests" "[Service]" "Type=oneshot" "RemainAfterExit=yes" \
        "ExecStart=/bin/sh -c 'if test -c $sim/dev/nvidiactl && test -c $sim/dev/nvidia-uvm; then echo ready; else echo missing; fi >/run/pve-guests.saw'" \
        "[Install]" "WantedBy=multi-user.target" >/etc/systemd/system/pve-guests.service
    systemctl daemon-reload
    systemctl enable pve-guests.service 2>/dev/null
    check "boot unit ordered before pve-guests.service" \
        bash -c 'systemctl show -p Before --value phoenix-gpu-hooks.service | tr " " "\n" | grep -qx pve-guests.service'

    local t rc start
    for t in "${user_tests[@]}"; do
        if [[ ! -f $src/tests/integration/$t.sh ]]; then
            fail "$t: not in this checkout"
            continue
        fi
        start=$SECONDS
        rc=0
        bash "$src/tests/integration/$t.sh" >"$out/$t.log" 2>&1 || rc=$?
        if [[ " ${known_failing[*]} " == *" $t "* ]]; then
            # Known to fail on this release (see README, "LXC 6.0"); shown, not fatal.
            if ((rc == 0)); then ok "$t ($((SECONDS - start)) s; listed as known failing: passes now)"
            else echo "known failure: $t (rc $rc): $(grep -m1 -E '^FAIL' "$out/$t.log")" | tee -a "$out/summary"; fi
            continue
        fi
        case $rc in
            0) ok "$t ($((SECONDS - start)) s)" ;;
            77) fail "$t skipped (77)"; tail -n 20 "$out/$t.log" ;;
            *) fail "$t (rc $rc)"; tail -n 40 "$out/$t.log" ;;
        esac
    done
    start=$SECONDS
    rc=0
    bash "$here/test_units.sh" >"$out/test_units.log" 2>&1 || rc=$?
    grep -E '^(ok|FAIL)' "$out/test_units.log" | sed 's/^/  /' | tee -a "$out/summary"
    if ((rc == 0)); then ok "test_units ($((SECONDS - start)) s)"; else
        tail -n 40 "$out/test_units.log"; fail "test_units (rc $rc)"; fi

    touch /run/phx-rebooting
    systemctl reboot --no-block
}

boot2() {
    local st
    st=$(systemctl show -p ActiveState,Result,ExecMainStatus,ExecMainStartTimestampMonotonic phoenix-gpu-hooks.service)
    check "boot unit ran at this boot: $(echo $st)" grep -q 'ActiveState=active' <<<"$st"
    check "boot unit exited 0" grep -q 'ExecMainStatus=0' <<<"$st"
    systemctl status --no-pager phoenix-gpu-hooks.service >"$out/boot-unit-status.txt" 2>&1
    check "boot unit prepared the host's nodes (nvidiactl, nvidia-uvm)" test -c "$sim/dev/nvidiactl" -a -c "$sim/dev/nvidia-uvm"
    check "pve-guests.service found them ready (ran after the boot unit): $(cat /run/pve-guests.saw 2>/dev/null)" \
        test "$(cat /run/pve-guests.saw 2>/dev/null)" = ready
    local ours theirs
    ours=$(systemctl show -p ExecMainExitTimestampMonotonic --value phoenix-gpu-hooks.service)
    theirs=$(systemctl show -p ExecMainStartTimestampMonotonic --value pve-guests.service)
    check "boot unit finished ($ours) before pve-guests started ($theirs)" test "$ours" -gt 0 -a "$ours" -le "$theirs"
    check "journal holds prepare-host's messages of this boot" \
        bash -c 'journalctl -b -u phoenix-gpu-hooks.service --no-pager -o cat | grep -q .'
    journalctl -b -u phoenix-gpu-hooks.service --no-pager >"$out/boot-unit-journal.txt" 2>&1
    if [[ -s $fails ]]; then
        echo "failed:"; sed 's/^/  /' "$fails"
        return 1
    fi
    echo "all passed"
}

case ${PHX_BOOT:-1} in
    1) boot1 ;;
    2) boot2 ;;
    *) echo "unexpected boot ${PHX_BOOT}"; exit 1 ;;
esac
