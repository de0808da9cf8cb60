#!/bin/bash
# "Fail later": no driver, or a selection that matches no GPU, never stops a container
# unless it sets PHOENIX_GPU_REQUIRED=1; the reason and a fix are logged. The wait for the
# driver is bounded by [driver] wait_timeout. Each such start leaves a status ("no-plan" with
# the reason) and 'phoenix-gpu status' exits 1 for it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

phx_setup_tmp
printf '[driver]\nwait_timeout = "300ms"\n' >"$PHOENIX_GPU_CONFIG"

# --- no driver, GPUs optional ----------------------------------------------------------------
export PHOENIX_GPU_HOST_ROOT=$PHX_T/nodriver
phx_sim_host "$PHOENIX_GPU_HOST_ROOT" --no-driver
phx_create_ct opt --env NVIDIA_VISIBLE_DEVICES=all
t0=$(date +%s%N)
phx_start opt
ms=$((($(date +%s%N) - t0) / 1000000))
((ms < 3000)) || phx_fail "start with no driver took $ms ms despite wait_timeout 300ms"
echo "ok: start with no driver took $ms ms (< 3000)"
phx_assert_eq RUNNING "$(phx_state opt)" "no driver: container runs"
log=$(cat "$PHOENIX_GPU_LOG_DIR/opt.log")
phx_assert_contains "$log" "warning: the NVIDIA driver is not loaded" "no driver: warning names the reason"
phx_assert_contains "$log" "Fix: install the driver or 'modprobe nvidia'" "no driver: warning names a fix"
phx_assert_contains "$log" "starts WITHOUT its GPUs" "no driver: says the container starts without GPUs"
phx_assert_eq "" "$(phx_in opt ls /dev | grep nvidia || true)" "no driver: no nvidia node inside"
# status_says NAME WHAT : 'phoenix-gpu status NAME' exits 1, says no-plan and WHAT.
status_says() {
    local rc=0 out
    out=$("$PHX_CLI" status "$1" -P "$PHX_LXCPATH" 2>&1) || rc=$?
    phx_assert_eq 1 "$rc" "$1: phoenix-gpu status exits 1"
    phx_assert_contains "$out" "state         no-plan: " "$1: status says the start happened without a plan"
    phx_assert_contains "$out" "$2" "$1: status says why"
    rc=0
    out=$("$PHX_CLI" status "$1" -P "$PHX_LXCPATH" --json) || rc=$?
    phx_assert_eq 1 "$rc" "$1: status --json exits 1"
    phx_assert_contains "$out" '"state": "no-plan"' "$1: status --json state"
    phx_assert_contains "$out" '"format": "phoenix-gpu-status"' "$1: status --json names its format"
}
status_says opt "the NVIDIA driver is not loaded"
phx_stop opt

# --- no driver, GPUs required: the start fails -------------------------------------------
phx_create_ct req --env NVIDIA_VISIBLE_DEVICES=all --env PHOENIX_GPU_REQUIRED=1
if phx_start req --quiet; then
    phx_fail "PHOENIX_GPU_REQUIRED=1 without a driver: the start succeeded"
fi
echo "ok: required: the start failed"
phx_assert_eq STOPPED "$(phx_state req)" "required: container stopped"
log=$(cat "$PHOENIX_GPU_LOG_DIR/req.log")
phx_assert_contains "$log" "error: the NVIDIA driver is not loaded" "required: the log names the reason"
phx_assert_contains "$log" "PHOENIX_GPU_REQUIRED=1: failing the start" "required: the log says why the start fails"
phx_assert_contains "$(cat "$PHX_T/req.lxc.log")" "pre-start" "required: LXC logs the failing pre-start hook"
status_says req "the NVIDIA driver is not loaded"

# --- a selection that matches no GPU -----------------------------------------------------
export PHOENIX_GPU_HOST_ROOT=$PHX_T/host
phx_sim_host "$PHOENIX_GPU_HOST_ROOT" --gpus 2
phx_create_ct bad --env NVIDIA_VISIBLE_DEVICES=7
phx_start bad
phx_assert_eq RUNNING "$(phx_state bad)" "bad selection: container runs"
log=$(cat "$PHOENIX_GPU_LOG_DIR/bad.log")
phx_assert_contains "$log" "entry '7': no GPU with index 7" "bad selection: warning names the entry"
while read -r bus minor uuid; do
    phx_assert_contains "$log" "$uuid  $bus" "bad selection: warning lists GPU $bus"
    phx_assert_contains "$log" "(/dev/nvidia$minor)" "bad selection: warning gives GPU $bus's node"
done < <(phx_sim_gpus "$PHOENIX_GPU_HOST_ROOT")
phx_assert_eq "" "$(phx_in bad ls /dev | grep nvidia || true)" "bad selection: no nvidia node inside"
status_says bad "entry '7': no GPU with index 7"
phx_stop bad
echo PASS
