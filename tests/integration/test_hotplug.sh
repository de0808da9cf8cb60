#!/bin/bash
# Hot-plug: node creation is off (PHOENIX_GPU_CREATE_NODES=0) and the uvm nodes do not exist
# at start. They appear on the host 2 s after the start; the worker binds them into the
# running containers, allows them in the device cgroup and reports "verified" with the
# nodes listed as hot-plugged. Privileged and unprivileged, cgroup v1 and pure cgroup2.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

phx_setup_tmp
export PHOENIX_GPU_HOST_ROOT=$PHX_T/host
h=$PHOENIX_GPU_HOST_ROOT
phx_sim_host "$h" --no-uvm-nodes
cts=(v1-priv v1-unpriv cgroup2-priv cgroup2-unpriv)
for ct in "${cts[@]}"; do
    args=(--env NVIDIA_VISIBLE_DEVICES=all --env PHOENIX_GPU_CREATE_NODES=0 --env PHOENIX_GPU_VERIFY_TIMEOUT=20)
    [[ $ct == *-unpriv ]] && args+=(--unpriv)
    phx_create_ct "$ct" "${args[@]}"
    if [[ $ct == cgroup2-* ]]; then phx_cgroup2_run phx_start "$ct"; else phx_start "$ct"; fi
done
nvidia0_opens() { [[ $(phx_open_result "$1" /dev/nvidia0 rw) == ENXIO ]]; }
[[ ! -e $h/dev/nvidia-uvm ]] || phx_fail "pre-start created nvidia-uvm although PHOENIX_GPU_CREATE_NODES=0"
echo "ok: no host uvm node made (creation off)"
for ct in "${cts[@]}"; do
    phx_assert_eq ENOENT "$(phx_rdev "$ct" /dev/nvidia-uvm)" "$ct: no nvidia-uvm inside yet"
    # cgroup2: the worker allows the nodes that are there a few ms after RUNNING.
    phx_wait_until 10 nvidia0_opens "$ct" || phx_fail "$ct: nvidia0 never opened (state: $(phx_gpu_status "$ct"))"
    echo "ok: $ct: nvidia0 there from the start"
    phx_assert_eq verifying "$(phx_gpu_status "$ct")" "$ct: worker waiting for the missing nodes"
done

# The nodes appear one after the other, as a loading module makes them: each
# hot-plug (and, on cgroup2, the rule its re-check then finds missing) is acted
# on at once, not at the next poll (500 ms apart by then).
sleep 2
mknod -m 0666 "$h/dev/nvidia-uvm" c 238 0
for ct in "${cts[@]}"; do
    phx_wait_until 10 grep -q "hot-plugged /dev/nvidia-uvm " "$PHOENIX_GPU_LOG_DIR/$ct.log" ||
        phx_fail "$ct: /dev/nvidia-uvm never hot-plugged"
done
mknod -m 0666 "$h/dev/nvidia-uvm-tools" c 238 1
log_ms() {  # LOGFILE PATTERN: the time of the first line with PATTERN, in ms
    local t
    t=$(grep -m1 -F "$2" "$1" | cut -d' ' -f1) || return 1
    date -d "$t" +%s%3N
}
for ct in "${cts[@]}"; do
    phx_wait_gpu_status "$ct" verified 10 ||
        phx_fail "$ct: status never verified after the nodes appeared (state: $(phx_gpu_status "$ct"))"
    echo "ok: $ct: verified"
    log=$PHOENIX_GPU_LOG_DIR/$ct.log
    gap=$(($(log_ms "$log" "GPU devices verified") - $(log_ms "$log" "hot-plugged /dev/nvidia-uvm-tools")))
    ((gap < 400)) || phx_fail "$ct: verified $gap ms after the last hot-plug: it waited for polls"
    echo "ok: $ct: verified $gap ms after the last hot-plug"
    status=$(cat "$(phx_gpu_state_dir "$ct")/status.json")
    phx_assert_contains "$(tr -d ' \n' <<<"$status")" '"hotplugged":["/dev/nvidia-uvm","/dev/nvidia-uvm-tools"]' \
        "$ct: status lists both nodes as hot-plugged"
    phx_assert_contains "$(cat "$PHOENIX_GPU_LOG_DIR/$ct.log")" "hot-plugged /dev/nvidia-uvm " "$ct: log says hot-plugged"
    for n in nvidia-uvm:238:0 nvidia-uvm-tools:238:1; do
        phx_assert_eq "c ${n#*:}" "$(phx_rdev "$ct" "/dev/${n%%:*}")" "$ct: /dev/${n%%:*} inside"
        phx_assert_eq ENXIO "$(phx_open_result "$ct" "/dev/${n%%:*}" rw)" "$ct: /dev/${n%%:*} opens"
    done
    [[ $ct == *-unpriv ]] &&
        phx_assert_eq "65534 666" "$(phx_in "$ct" stat -c '%u %a' /dev/nvidia-uvm)" "$ct: hot-plugged node is the host's"
done
for ct in "${cts[@]}"; do
    phx_stop "$ct"
done
echo PASS
