#!/bin/bash
# Strategy bind: the host's own driver files, found through the host's ld.so.cache (here the
# GPU host's layout: /usr/local/nvidia/lib64 listed in ld.so.conf.d), bound read-only,
# nosuid, nodev into a Debian-layout container, privileged and unprivileged, with soname
# links; the driver stage says current. After a host driver upgrade the next start binds
# the new version and the old one's mount points are gone. A rootfs whose library
# directory links out of it gets nothing, and nothing outside it is touched.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

OLD=580.159.04
NEW=580.200.01
MA=usr/lib/x86_64-linux-gnu

phx_setup_tmp
host=$PHX_T/host
phx_sim_host "$host"
export PHOENIX_GPU_HOST_ROOT=$host

# host_driver VERSION : real shared objects with the driver's sonames in
# /usr/local/nvidia/lib64, an nvidia-smi, and the cache ldconfig makes of them.
host_driver() {
    local v=$1 lib=$host/usr/local/nvidia/lib64 so
    mkdir -p "$lib" "$host/usr/local/nvidia/bin" "$host/etc/ld.so.conf.d"
    echo 'include /etc/ld.so.conf.d/*.conf' >"$host/etc/ld.so.conf"
    echo /usr/local/nvidia/lib64 >"$host/etc/ld.so.conf.d/nvidia.conf"
    for so in libcuda.so.1 libnvidia-ml.so.1 libnvidia-ptxjitcompiler.so.1 libnvidia-nvvm.so.4; do
        echo "int phx_$RANDOM;" | cc -shared -x c - -Wl,-soname,$so -o "$lib/${so%%.so*}.so.$v"
        ln -sfn "${so%%.so*}.so.$v" "$lib/$so"
    done
    printf '#!/bin/sh\necho "fake nvidia-smi %s"\n' "$v" >"$host/usr/local/nvidia/bin/nvidia-smi"
    chmod 0755 "$host/usr/local/nvidia/bin/nvidia-smi"
    sed -i "s/ $OLD / $v /" "$host/proc/driver/nvidia/version"
    ldconfig -r "$host"
}
host_driver $OLD

printf '[verify]\ntimeout = 20\n' >"$PHOENIX_GPU_CONFIG"
driver_state() { phx_jget "$1" .driver.state; }

env=(--env NVIDIA_VISIBLE_DEVICES=all --env "NVIDIA_DRIVER_CAPABILITIES=utility,compute"
    --env PHOENIX_GPU_DRIVER_INSTALL=bind)

# check NAME VERSION : the bound files as the container sees them.
check() {
    local c=$1 v=$2 lib=/$MA
    phx_assert_eq "$(md5sum <"$host/usr/local/nvidia/lib64/libcuda.so.$v")" \
        "$(phx_in "$c" sh -c "md5sum <$lib/libcuda.so.$v")" "$c: libcuda.so.$v is the host's"
    phx_assert_eq "libcuda.so.$v" "$(phx_in "$c" readlink $lib/libcuda.so.1)" "$c: libcuda.so.1 link"
    phx_assert_eq "libcuda.so.1" "$(phx_in "$c" readlink $lib/libcuda.so)" "$c: libcuda.so link"
    phx_assert_eq "libnvidia-nvvm.so.$v" "$(phx_in "$c" readlink $lib/libnvidia-nvvm.so.4)" "$c: nvvm soname link"
    phx_assert_eq "fake nvidia-smi $v" "$(phx_in "$c" nvidia-smi)" "$c: nvidia-smi runs"
    local opts
    opts=$(phx_in "$c" awk -v p="$lib/libcuda.so.$v" '$5 == p {print $6}' /proc/self/mountinfo)
    phx_assert_contains ",$opts," ",ro," "$c: libcuda mounted read-only"
    phx_assert_contains ",$opts," ",nosuid," "$c: nosuid"
    phx_assert_contains ",$opts," ",nodev," "$c: nodev"
    if phx_in "$c" sh -c "echo x >$lib/libcuda.so.$v" 2>/dev/null; then phx_fail "$c: libcuda writable"; fi
    phx_wait_until 25 phx_driver_done "$c" || phx_fail "$c: driver stage did not finish"
    phx_assert_eq current "$(driver_state "$c")" "$c: driver stage current without installing"
}

phx_create_ct priv "${env[@]}"
phx_create_ct unpriv --unpriv "${env[@]}"
for c in priv unpriv; do
    mkdir -p "$PHX_LXCPATH/$c/rootfs/$MA"
done
chown -R 100000:100000 "$PHX_LXCPATH/unpriv/rootfs/usr"

for c in priv unpriv; do
    phx_start "$c"
    check "$c" $OLD
    phx_stop "$c"
done

# Host driver upgrade: the next start binds the new version; the old one is gone.
rm -f "$host"/usr/local/nvidia/lib64/*.so.$OLD
host_driver $NEW
phx_start priv
check priv $NEW
phx_assert_eq ENOENT "$(phx_rdev priv /$MA/libcuda.so.$OLD)" "old libcuda mount point removed"
phx_stop priv
phx_assert_eq "" "$(find "$PHX_LXCPATH/priv/rootfs/$MA" -name "*.so.$OLD")" "nothing of $OLD left in the rootfs"
phx_assert_eq 0 "$(stat -c %s "$PHX_LXCPATH/priv/rootfs/$MA/libcuda.so.$NEW")" "only an empty mount point stays"

# Hostile rootfs: the library directory links out of it.
phx_create_ct hostile "${env[@]}"
mkdir -p "$PHX_T/outside" "$PHX_LXCPATH/hostile/rootfs/usr/lib"
ln -s "$PHX_T/outside" "$PHX_LXCPATH/hostile/rootfs/$MA"
ln -s "$PHX_T/outside/smi" "$PHX_LXCPATH/hostile/rootfs/usr/bin"
phx_start hostile
phx_assert_eq "" "$(ls -A "$PHX_T/outside")" "nothing made outside the rootfs"
phx_assert_contains "$(cat "$PHOENIX_GPU_LOG_DIR/hostile.log")" "driver bind:" "skips are logged"
phx_stop hostile
phx_assert_eq "" "$(ls -A "$PHX_T/outside")" "still nothing outside the rootfs"
