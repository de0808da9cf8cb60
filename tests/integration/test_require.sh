#!/bin/bash
# NVIDIA_REQUIRE_* before the start, against the host's own libcuda (cuDriverGetVersion of a
# stand-in built here, saying CUDA 12.4) and the driver version: a met requirement starts
# quietly; an unmet one warns and starts, or fails the start with PHOENIX_GPU_REQUIRED=1,
# naming the requirement and the host's value; NVIDIA_DISABLE_REQUIRE=1 skips the check.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

phx_setup_tmp
host=$PHX_T/host
phx_sim_host "$host"
export PHOENIX_GPU_HOST_ROOT=$host
ver=$(grep -oE '[0-9]{3}\.[0-9]+\.[0-9]+' "$host/proc/driver/nvidia/version" | head -n 1)
lib=$host/usr/local/nvidia/lib64
mkdir -p "$lib" "$host/etc"
echo /usr/local/nvidia/lib64 >"$host/etc/ld.so.conf"
echo 'int cuDriverGetVersion(int *v) { *v = 12040; return 0; }' |
    cc -shared -fPIC -x c - -Wl,-soname,libcuda.so.1 -o "$lib/libcuda.so.$ver"
ln -s "libcuda.so.$ver" "$lib/libcuda.so.1"
ldconfig -r "$host"

log() { cat "$PHOENIX_GPU_LOG_DIR/$1.log" 2>/dev/null || true; }

phx_create_ct met --env NVIDIA_VISIBLE_DEVICES=all --env "NVIDIA_REQUIRE_CUDA=cuda>=12.4 brand=tesla,driver>=999" \
    --env "NVIDIA_REQUIRE_DRIVER=driver>=${ver%%.*}" --env PHOENIX_GPU_REQUIRED=1
phx_start met
phx_assert_not_contains "$(log met)" "requirement not met" "met requirements: no warning"
phx_stop met

phx_create_ct warn --env NVIDIA_VISIBLE_DEVICES=all --env "NVIDIA_REQUIRE_CUDA=cuda>=12.5"
phx_start warn
phx_assert_contains "$(log warn)" "requirement not met: NVIDIA_REQUIRE_CUDA='cuda>=12.5' (host: cuda 12.4)" \
    "unmet: warning names the requirement and the host's CUDA"
phx_assert_eq RUNNING "$(phx_state warn)" "unmet without PHOENIX_GPU_REQUIRED: started"
phx_stop warn

phx_create_ct strict --env NVIDIA_VISIBLE_DEVICES=all --env "NVIDIA_REQUIRE_DRIVER=driver>=999" \
    --env PHOENIX_GPU_REQUIRED=1
if phx_start strict --quiet; then phx_fail "unmet requirement with PHOENIX_GPU_REQUIRED=1 started"; fi
phx_assert_contains "$(log strict)" "NVIDIA_REQUIRE_DRIVER='driver>=999' (host: driver $ver)" \
    "failed start names the requirement and the host's driver"

phx_create_ct off --env NVIDIA_VISIBLE_DEVICES=all --env "NVIDIA_REQUIRE_DRIVER=driver>=999" \
    --env PHOENIX_GPU_REQUIRED=1 --env NVIDIA_DISABLE_REQUIRE=1
phx_start off
phx_assert_not_contains "$(log off)" "requirement not met" "NVIDIA_DISABLE_REQUIRE=1: not checked"
phx_stop off
