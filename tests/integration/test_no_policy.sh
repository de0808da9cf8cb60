#!/bin/bash
# Containers that do not ask for GPUs are left alone: the snippet included but no
# NVIDIA_VISIBLE_DEVICES, or NVIDIA_VISIBLE_DEVICES=void, or no snippet at all. No nodes,
# no plan, no status, no worker, and they start as usual.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

phx_setup_tmp
export PHOENIX_GPU_HOST_ROOT=$PHX_T/host
phx_sim_host "$PHOENIX_GPU_HOST_ROOT" --gpus 2 --no-uvm-nodes
phx_create_ct unset
phx_create_ct void --env NVIDIA_VISIBLE_DEVICES=void
phx_create_ct empty --env NVIDIA_VISIBLE_DEVICES=
phx_create_ct nosnippet --no-snippet --env NVIDIA_VISIBLE_DEVICES=all
for ct in unset void empty nosnippet; do
    phx_start "$ct"
    phx_assert_eq RUNNING "$(phx_state "$ct")" "$ct: running"
    phx_assert_eq "" "$(phx_in "$ct" ls /dev | grep nvidia || true)" "$ct: no nvidia node inside"
    phx_assert_eq OK "$(phx_open_result "$ct" /dev/null rw)" "$ct: /dev/null still fine"
    sd=$(phx_gpu_state_dir "$ct")
    found=""
    for f in plan.json status.json; do
        [[ -e $sd/$f || -L $sd/$f ]] && found+=" $f"
    done
    phx_assert_eq "" "$found" "$ct: no plan.json, no status.json"
    rc=0
    "$PHX_CLI" status "$ct" -P "$PHX_LXCPATH" >/dev/null 2>&1 || rc=$?
    [[ $rc != 0 ]] || phx_fail "$ct: phoenix-gpu status claims a verified status"
    echo "ok: $ct: phoenix-gpu status reports no status (rc $rc)"
done
# Nothing touched the host either: no uvm node was created for anyone.
phx_assert_eq "" "$(shopt -s nullglob; uvm=("$PHOENIX_GPU_HOST_ROOT"/dev/*uvm*); echo "${uvm[*]}")" "host uvm nodes not created"
phx_assert_eq "" "$(grep -l "$PHX_HOOK_DIR/worker" /proc/[0-9]*/cmdline 2>/dev/null | xargs -r grep -laF "$PHX_T/" || true)" \
    "no worker running"
log=$(cat "$PHOENIX_GPU_LOG_DIR"/*.log 2>/dev/null || true)
phx_assert_not_contains "$log" "warning" "no warning logged for containers without a GPU policy"
for ct in unset void empty nosnippet; do
    phx_stop "$ct"
done
echo PASS
