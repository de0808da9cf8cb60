#!/usr/bin/env bash
# Builds what tests/gpu/run_gpu_e2e.sh needs on the GPU machine, into build-gpu/:
# a stripped Release build of the CLI and the hooks, and the CUDA check program.
# Run on the build machine (Debian 12, CUDA toolkit in /usr/local/cuda).
#
#   tests/gpu/build.sh            # then carry build-gpu and gpu-lxc to the GPU machine
#
# Environment: NVCC (default /usr/local/cuda/bin/nvcc), JOBS (default 2).
set -euo pipefail
cd "$(dirname "$0")/../.."
build="build-gpu"
nvcc=${NVCC:-/usr/local/cuda/bin/nvcc}
jobs=${JOBS:-2}

if ! git check-ignore -q "$build/"; then
    echo "error: $build/ is not ignored by git (.gitignore should hold /build*/)" >&2
    exit 1
fi

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
make -C "$build" -j"$jobs" --no-print-directory phoenix-gpu hook_pre_start hook_mount hook_post_start hook_worker

bins=("$build/src/phoenix-gpu" "$build/hooks/pre-start" "$build/hooks/mount" "$build/hooks/post-start"
      "$build/hooks/worker")
strip --strip-unneeded "${bins[@]}"

# sm_90 machine code (H100, H200) plus compute_90 PTX for anything newer. The CUDA runtime is
# linked statically; libcuda.so.1 comes from the host's driver at run time. libstdc++ and
# libgcc are linked statically too, so the program needs nothing but glibc in the container.
"$nvcc" -O2 -std=c++17 -cudart static -arch=sm_90 \
    -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 \
    -Xcompiler -static-libstdc++ -Xcompiler -static-libgcc \
    -o "$build/cuda_check" tests/gpu/cuda_check.cu
strip --strip-unneeded "$build/cuda_check"
chmod 0755 "$build/cuda_check"

if [[ ! -x gpu-lxc/gpu-kit ]]; then
    echo "warning: gpu-lxc/ is missing: fetch it with /work/shared/tools/gpu-kit fetch gpu-lxc" >&2
fi

echo "built:"
for f in "${bins[@]}" "$build/cuda_check"; do
    printf '  %-28s %8d bytes\n' "$f" "$(stat -c %s "$f")"
done
# What the binaries need at run time beyond glibc: the kit must provide it.
echo "shared libraries needed (the kit provides them on the GPU machine):"
for f in "${bins[@]}" "$build/cuda_check"; do
    readelf -d "$f" | awk -v f="${f##*/}" '/NEEDED/ {gsub(/[][]/, "", $5); printf "  %-12s %s\n", f, $5}'
done
du -sh "$build" gpu-lxc 2>/dev/null | sed 's/^/size: /'
