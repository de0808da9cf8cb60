#!/bin/bash
# The snippet never sets lxc.hook.version; the hooks must work with both calling
# conventions: version 0 ("NAME lxc TYPE" arguments) and version 1 (LXC_HOOK_TYPE etc. in
# the environment).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

phx_setup_tmp
printf '[log]\nlevel = "debug"\n' >"$PHOENIX_GPU_CONFIG"
export PHOENIX_GPU_HOST_ROOT=$PHX_T/host
phx_sim_host "$PHOENIX_GPU_HOST_ROOT" --no-uvm-nodes
for v in 0 1; do
    for kind in priv unpriv; do
        ct=v$v-$kind
        args=(--hook-version "$v" --env NVIDIA_VISIBLE_DEVICES=all)
        [[ $kind == unpriv ]] && args+=(--unpriv)
        phx_create_ct "$ct" "${args[@]}"
        phx_start "$ct"
        log=$(cat "$PHOENIX_GPU_LOG_DIR/$ct.log")
        phx_assert_contains "$log" "pre-start[" "$ct: pre-start ran"
        phx_assert_contains "$log" "start-host[" "$ct: post-start ran"
        phx_assert_contains "$log" "hook version $v," "$ct: hooks saw version $v"
        phx_assert_not_contains "$log" "not started by LXC as a hook" "$ct: calling convention understood"
        phx_assert_eq "c 195:0" "$(phx_rdev "$ct" /dev/nvidia0)" "$ct: mount hook bound nvidia0"
        phx_assert_eq ENXIO "$(phx_open_result "$ct" /dev/nvidia-uvm rw)" "$ct: nvidia-uvm made and usable"
        phx_wait_gpu_status "$ct" verified 10 ||
            phx_fail "$ct: status never verified (state: $(phx_gpu_status "$ct"))"
        echo "ok: $ct: verified"
        phx_stop "$ct"
        # The uvm nodes are made by the first start; remove them so each start makes them.
        rm -f "$PHOENIX_GPU_HOST_ROOT"/dev/nvidia-uvm*
    done
done
echo PASS
