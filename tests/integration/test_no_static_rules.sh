#!/bin/bash
# A container with no device rules at all (allow-all, as Proxmox's unprivileged containers)
# that runs the hooks but lacks the snippet's static cgroup rules still ends up with
# usable nodes, and the rules the hooks add do not narrow its allow-all device cgroup:
# cgroup v1 (post-start) and pure cgroup2 (worker, through the monitor), privileged and
# unprivileged.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

phx_setup_tmp
export PHOENIX_GPU_HOST_ROOT=$PHX_T/host
phx_sim_host "$PHOENIX_GPU_HOST_ROOT" --gpus 2
hooks=(--extra "lxc.hook.pre-start = $PHX_HOOK_DIR/pre-start"
    --extra "lxc.hook.mount = $PHX_HOOK_DIR/mount"
    --extra "lxc.hook.start-host = $PHX_HOOK_DIR/post-start")
for layout in v1 cgroup2; do
    for kind in priv unpriv; do
        ct=$layout-$kind
        args=(--no-snippet --no-static-rules "${hooks[@]}" --env NVIDIA_VISIBLE_DEVICES=all)
        [[ $kind == unpriv ]] && args+=(--unpriv)
        phx_create_ct "$ct" "${args[@]}"
        [[ -z $(grep devices "$PHX_LXCPATH/$ct/config") ]] || phx_fail "$ct: config has device rules"
        if [[ $layout == cgroup2 ]]; then phx_cgroup2_run phx_start "$ct"; else phx_start "$ct"; fi
        phx_wait_gpu_status "$ct" verified 10 ||
            phx_fail "$ct: status never verified (state: $(phx_gpu_status "$ct"))"
        echo "ok: $ct: verified"
        for n in nvidiactl nvidia0 nvidia1 nvidia-uvm nvidia-uvm-tools; do
            phx_assert_eq ENXIO "$(phx_open_result "$ct" "/dev/$n" rw)" "$ct: /dev/$n opens"
        done
        # Still allow-all after the worker's rules: devices no rule names keep working.
        for n in null zero full urandom; do
            phx_assert_eq OK "$(phx_open_result "$ct" "/dev/$n" rw)" "$ct: /dev/$n still opens"
        done
        if [[ $kind == priv ]]; then
            phx_in "$ct" mknod /tmp/probe c 10 200
            phx_assert_not_contains "$(phx_open_result "$ct" /tmp/probe rw)" EPERM \
                "$ct: an unlisted device (10:200) is not denied"
        fi
        if [[ $layout == v1 ]]; then
            phx_assert_eq "a *:* rwm" "$(cat "$(phx_cgroup_dir "$ct" devices)/devices.list")" \
                "$ct: devices.list still allow-all"
        fi
        phx_stop "$ct"
    done
done
echo PASS
