#!/bin/bash
# NVIDIA_VISIBLE_DEVICES picks GPUs by nvidia-smi index (PCI order), UUID prefix or PCI
# address, and the container gets /dev/nvidia<Device Minor> of exactly those GPUs. The
# simulated host has 3 GPUs whose minors (2, 0, 1) differ from their PCI order.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

phx_setup_tmp
export PHOENIX_GPU_HOST_ROOT=$PHX_T/host
phx_sim_host "$PHOENIX_GPU_HOST_ROOT" --gpus 3
phx_assert_eq "0000:01:00.0 2 0000:41:00.0 0 0000:81:00.0 1" \
    "$(phx_sim_gpus "$PHOENIX_GPU_HOST_ROOT" | cut -d' ' -f1,2 | xargs)" "sim: minors 2, 0, 1 in PCI order"
uuid1=$(phx_sim_gpus "$PHOENIX_GPU_HOST_ROOT" | awk 'NR == 2 {print $3}')   # GPU-01e80471-...

# Container name, selection, the /dev/nvidiaN nodes expected inside.
cases=(
    "by-index|0|nvidia2"
    "by-uuid|${uuid1:0:12}|nvidia0"
    "by-pci|00000000:81:00.0|nvidia1"
    "two|2,${uuid1:0:12}|nvidia0 nvidia1"
    "all|all|nvidia0 nvidia1 nvidia2"
    "none|none|"
)
for c in "${cases[@]}"; do
    IFS='|' read -r ct sel _ <<<"$c"
    phx_create_ct "$ct" --env "NVIDIA_VISIBLE_DEVICES=$sel"
    phx_start "$ct"
done
for c in "${cases[@]}"; do
    IFS='|' read -r ct sel want <<<"$c"
    got=$(phx_in "$ct" ls /dev | grep -E '^nvidia[0-9]+$' | sort | xargs) || true
    phx_assert_eq "$want" "$got" "$ct ($sel): GPU nodes inside"
    for n in $want; do
        phx_assert_eq "c 195:${n#nvidia}" "$(phx_rdev "$ct" "/dev/$n")" "$ct: /dev/$n rdev"
        phx_assert_eq ENXIO "$(phx_open_result "$ct" "/dev/$n" rw)" "$ct: /dev/$n opens"
    done
    # Every selection, none included, gets the control and uvm nodes (driver access).
    phx_assert_eq "c 195:255" "$(phx_rdev "$ct" /dev/nvidiactl)" "$ct: nvidiactl present"
    phx_assert_eq ENXIO "$(phx_open_result "$ct" /dev/nvidiactl rw)" "$ct: nvidiactl opens"
    phx_assert_eq "c 238:0" "$(phx_rdev "$ct" /dev/nvidia-uvm)" "$ct: nvidia-uvm present"
    phx_wait_gpu_status "$ct" verified 10 ||
        phx_fail "$ct: status never verified (state: $(phx_gpu_status "$ct"))"
    echo "ok: $ct: verified"
done
for c in "${cases[@]}"; do
    phx_stop "${c%%|*}"
done
echo PASS
