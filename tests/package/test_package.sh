#!/usr/bin/env bash
# The Debian package, end to end (root; called by scripts/test.sh):
#  1. build it from a clean copy of the checkout; lintian must report no error
#     and no warning, and every override must say why;
#  2. install it beside Debian's lxc; check where every file went, the
#     conffile, the unit, the snippet's hook paths, phoenix-gpu --version and
#     the shipped config;
#  3. run the integration tests against the installed files;
#  4. purge it and check that nothing of it is left;
#  5. install it beside a stand-in for Proxmox's lxc-pve (which replaces
#     liblxc1 and lxc and provides them without a version), then put Debian's
#     LXC packages back as they were.
# It purges phoenix-gpu-hooks on the way; if it was installed before, the
# freshly built package is installed again at the end.
# PHX_PACKAGE_PREBUILT=DIR skips the build and tests the .deb and .changes
# scripts/build-deb.sh left in DIR.
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
[[ $EUID -eq 0 ]] || { echo "run as root: it installs and removes packages" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
pkg=phoenix-gpu-hooks
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
upstream=${version%-*}
work=$(mktemp -d /tmp/phx-package.XXXXXX)
chmod 0755 "$work"

summary=()
lxc_removed=()      # Debian LXC packages removed for the lxc-pve part
lxc_auto=()         # ... of which these were marked automatically installed
was_installed=0
deb=""

ok() {
    printf 'ok: %s\n' "$*"
    summary+=("ok    $*")
}
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    summary+=("FAIL  $*")
    exit 1
}
installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }
apt_quiet() { apt-get -y -q "$@" >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; return 1; }; }

restore_lxc() {
    ((${#lxc_removed[@]})) || return 0
    echo "restoring Debian's LXC packages: ${lxc_removed[*]}"
    installed "$pkg" && apt_quiet purge "$pkg"
    if dpkg-query -W lxc-pve >/dev/null 2>&1; then dpkg --purge lxc-pve >/dev/null; fi
    apt_quiet install --no-install-recommends "${lxc_removed[@]}"
    ((${#lxc_auto[@]} == 0)) || apt-mark auto "${lxc_auto[@]}" >/dev/null
    lxc_removed=()
}

finish() {
    local rc=$?
    trap - EXIT
    set +e
    restore_lxc || { echo "could not restore: ${lxc_removed[*]}; install them by hand" >&2; rc=1; }
    if ((was_installed)) && [[ -n $deb && -f $deb ]] && ! installed "$pkg"; then
        apt_quiet install "$deb" && echo "reinstalled $pkg (it was installed before the test)"
    elif ((!was_installed)) && dpkg-query -W "$pkg" >/dev/null 2>&1; then
        apt_quiet purge "$pkg" && echo "purged $pkg (the test installed it)"
    fi
    rm -rf "$work"
    echo
    echo "package test summary ($pkg $version):"
    printf '  %s\n' "${summary[@]}"
    if ((rc == 0)); then echo "PASS"; else echo "FAILED"; fi
    exit "$rc"
}
trap finish EXIT

if installed "$pkg"; then
    was_installed=1
    echo "$pkg is installed: purging it first (reinstalled at the end)"
    apt_quiet purge "$pkg"
fi

# --- 1. build and lintian ------------------------------------------------------------------
if [[ -n ${PHX_PACKAGE_PREBUILT:-} ]]; then
    mkdir -p "$work/out"
    cp "$PHX_PACKAGE_PREBUILT"/*_"$version"_*.{deb,changes,buildinfo} "$work/out/"
    deb=$work/out/${pkg}_${version}_$arch.deb
    echo "testing the package built before in $PHX_PACKAGE_PREBUILT"
else
    echo "building the package (log: $work/build.log)"
    if ! deb=$("$src/scripts/build-deb.sh" "$work/out" 2>"$work/build.log"); then
        tail -n 60 "$work/build.log" >&2
        fail "dpkg-buildpackage"
    fi
fi
[[ $(basename "$deb") == "${pkg}_${version}_${arch}.deb" ]] || fail "unexpected package name $deb"
ok "dpkg-buildpackage -us -uc -b: $(basename "$deb")"

lintian_rc=0
lintian_out=$(lintian --fail-on error,warning "$work/out/${pkg}_${version}_${arch}.changes" 2>&1) || lintian_rc=$?
lintian_out=$(grep -v '^running with root privileges' <<<"$lintian_out" || true)
if ((lintian_rc != 0)); then
    printf '%s\n' "$lintian_out" >&2
    fail "lintian (the package and its dbgsym)"
fi
[[ -z $lintian_out ]] || printf 'lintian: %s\n' "$lintian_out"
ok "lintian: no errors, no warnings ($(cat "$src"/debian/*lintian-overrides 2>/dev/null | grep -c '^[a-z]') override(s), each with its reason)"
for f in "$src"/debian/*lintian-overrides "$src"/debian/source/lintian-overrides; do
    [[ -f $f ]] || continue
    # Each override line must follow a comment line.
    awk 'NF && !/^#/ && prev !~ /^#/ {bad = 1; print FILENAME ": override without a comment: " $0}
         {prev = $0} END {exit bad}' "$f" >&2 || fail "lintian override without a reason in $f"
done
ok "every lintian override carries a comment"

for m in "$src"/docs/man/*.[1-8]; do
    warnings=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$m" 2>&1 >/dev/null)
    [[ -z $warnings ]] || { printf '%s\n' "$warnings" >&2; fail "man --warnings -l ${m#"$src"/}"; }
done
ok "man pages format without warnings"

# --- 2. install beside Debian's lxc --------------------------------------------------------
for p in lxc liblxc1; do
    installed "$p" || apt_quiet install --no-install-recommends "$p"
done
apt_quiet install "$deb" || fail "apt-get install ./$(basename "$deb") beside Debian's lxc"
installed "$pkg" || fail "$pkg not installed"
apt-get check -q >/dev/null 2>&1 || fail "apt-get check after the install"
ok "installed beside Debian's lxc $(dpkg-query -W -f='${Version}' lxc)"

depends=$(dpkg-query -W -f='${Depends}' "$pkg")
[[ $depends == *"liblxc1 (>= 1:5.0) | lxc-pve"* ]] || fail "Depends lacks 'liblxc1 (>= 1:5.0) | lxc-pve': $depends"
[[ $(grep -o 'liblxc1' <<<"$depends" | wc -l) == 1 ]] || fail "Depends names liblxc1 twice: $depends"
[[ $(dpkg-query -W -f='${Recommends}' "$pkg") == *lxc* ]] || fail "does not recommend lxc"
ok "Depends: $depends"

expected_files=(
    /etc/logrotate.d/phoenix-gpu-hooks
    /etc/phoenix-gpu-hooks/config.toml
    /lib/systemd/system/phoenix-gpu-hooks.service
    /usr/bin/phoenix-gpu
    /usr/libexec/phoenix-gpu-hooks/mount
    /usr/libexec/phoenix-gpu-hooks/post-start
    /usr/libexec/phoenix-gpu-hooks/pre-start
    /usr/libexec/phoenix-gpu-hooks/worker
    /usr/share/doc/phoenix-gpu-hooks/changelog.Debian.gz
    /usr/share/doc/phoenix-gpu-hooks/copyright
    /usr/share/lintian/overrides/phoenix-gpu-hooks
    /usr/share/man/man1/phoenix-gpu.1.gz
    /usr/share/man/man7/phoenix-gpu-hooks.7.gz
    /usr/share/phoenix-gpu-hooks/lxc/nvidia.conf
)
dpkg -L "$pkg" >"$work/files.list"
actual=$(while read -r f; do [[ -d $f ]] || echo "$f"; done <"$work/files.list" | sort)
if [[ $actual != "$(printf '%s\n' "${expected_files[@]}" | sort)" ]]; then
    diff <(printf '%s\n' "${expected_files[@]}" | sort) <(echo "$actual") >&2 || true
    fail "the package's files differ from the expected list (diff above: < expected, > shipped)"
fi
for f in "${expected_files[@]}"; do
    [[ -f $f ]] || fail "$f not installed"
done
for f in /usr/bin/phoenix-gpu /usr/libexec/phoenix-gpu-hooks/{pre-start,mount,post-start,worker}; do
    [[ -x $f ]] || fail "$f is not executable"
done
ok "files in place: hooks in /usr/libexec/phoenix-gpu-hooks, phoenix-gpu in /usr/bin, snippet, config, man pages, unit"

[[ $(dpkg-query -W -f='${Conffiles}' "$pkg") == *"/etc/phoenix-gpu-hooks/config.toml "* ]] \
    || fail "/etc/phoenix-gpu-hooks/config.toml is not a conffile"
ok "/etc/phoenix-gpu-hooks/config.toml is a conffile"

snippet=/usr/share/phoenix-gpu-hooks/lxc/nvidia.conf
hooks=$(sed -n 's/^[[:space:]]*lxc\.hook\.[a-z-]*[[:space:]]*=[[:space:]]*//p' "$snippet")
[[ $(wc -l <<<"$hooks") == 3 ]] || fail "expected 3 hook lines in $snippet, got: $hooks"
while read -r h; do
    [[ $h == /usr/libexec/phoenix-gpu-hooks/* && -x $h ]] || fail "$snippet runs $h, not an installed hook"
done <<<"$hooks"
! grep -q '^[[:space:]]*lxc\.hook\.version' "$snippet" || fail "$snippet sets lxc.hook.version"
ok "the snippet runs the installed hooks and leaves lxc.hook.version alone"

unit=/lib/systemd/system/phoenix-gpu-hooks.service
grep -qx 'ExecStart=-/usr/bin/phoenix-gpu prepare-host' "$unit" || fail "$unit does not run phoenix-gpu prepare-host"
grep -qx 'Before=pve-guests.service lxc.service' "$unit" || fail "$unit is not ordered before pve-guests and lxc"
if command -v systemd-analyze >/dev/null; then
    out=$(systemd-analyze verify "$unit" 2>&1) || { echo "$out" >&2; fail "systemd-analyze verify $unit"; }
    [[ -z $out ]] || { echo "$out" >&2; fail "systemd-analyze verify $unit reports problems"; }
fi
ok "systemd unit: prepare-host before pve-guests.service and lxc.service, never failing the boot"

[[ $(/usr/bin/phoenix-gpu --version) == "phoenix-gpu $upstream" ]] \
    || fail "phoenix-gpu --version says '$(/usr/bin/phoenix-gpu --version)', want 'phoenix-gpu $upstream'"
ok "phoenix-gpu --version: $(/usr/bin/phoenix-gpu --version)"

# The shipped config parses cleanly, both as shipped and with every key
# uncommented (the values shown are the defaults).
sed -E 's/^#([a-z_]+ = )/\1/' /etc/phoenix-gpu-hooks/config.toml >"$work/uncommented.toml"
[[ $(grep -cE '^[a-z_]+ = ' "$work/uncommented.toml") -ge 15 ]] || fail "config.toml does not show every key"
for cfg in /etc/phoenix-gpu-hooks/config.toml "$work/uncommented.toml"; do
    findings=$(PHOENIX_GPU_CONFIG=$cfg /usr/bin/phoenix-gpu doctor 2>&1 | grep -E '^\[(warning|error)\] config' || true)
    [[ -z $findings ]] || { echo "$findings" >&2; fail "phoenix-gpu doctor complains about $cfg"; }
done
ok "config.toml parses cleanly, as shipped and with every key uncommented"

# --- 3. integration tests against the installed files ---------------------------------------
cmake -S "$src" -B "$work/it" -DBUILD_TESTING=ON \
    -DPHX_IT_HOOK_DIR=/usr/libexec/phoenix-gpu-hooks \
    -DPHX_IT_CLI=/usr/bin/phoenix-gpu \
    -DPHX_IT_SNIPPET=/usr/share/phoenix-gpu-hooks/lxc/nvidia.conf >"$work/it-configure.log" 2>&1 \
    || { cat "$work/it-configure.log" >&2; fail "configuring the integration tests"; }
n_it=$(cd "$work/it" && ctest -N -L integration | sed -n 's/^Total Tests: //p')
if (cd "$work/it" && ctest -L integration --output-on-failure); then
    ok "ctest -L integration against the installed files: ${n_it:-0} test(s) passed"
else
    fail "ctest -L integration against the installed files"
fi

# --- 4. purge -----------------------------------------------------------------------------
# What the programs leave at run time, so the purge has something to remove.
mkdir -p /var/log/phoenix-gpu-hooks /run/phoenix-gpu-hooks/var-lib-lxc/pkgtest /var/lib/phoenix-gpu-hooks/installers
echo test >/var/log/phoenix-gpu-hooks/pkgtest.log
echo '{}' >/run/phoenix-gpu-hooks/var-lib-lxc/pkgtest/status.json
echo '# admin notes' >/etc/phoenix-gpu-hooks/local-notes.txt
apt_quiet purge "$pkg" || fail "apt-get purge $pkg"
! dpkg-query -W "$pkg" >/dev/null 2>&1 || fail "$pkg still known to dpkg after the purge"
left=()
while read -r f; do
    [[ -e $f || -L $f ]] || continue
    # Shared directories (/usr/bin, /etc/logrotate.d, ...) may stay; the
    # package's own must go.
    if [[ -d $f && $f != *phoenix-gpu* ]]; then continue; fi
    left+=("$f")
done <"$work/files.list"
for d in /etc/phoenix-gpu-hooks /var/log/phoenix-gpu-hooks /run/phoenix-gpu-hooks /var/lib/phoenix-gpu-hooks; do
    [[ ! -e $d ]] || left+=("$d")
done
for d in /sys/fs/cgroup/phoenix-gpu-hooks /sys/fs/cgroup/*/phoenix-gpu-hooks; do
    [[ ! -d $d ]] || left+=("$d (cgroup)")
done
((${#left[@]} == 0)) || fail "left after the purge: ${left[*]}"
ok "purge leaves nothing: $(wc -l <"$work/files.list") packaged paths, config, logs, state, cgroups"

# --- 5. beside Proxmox's lxc-pve (a stand-in) ------------------------------------------------
liblxc=$(readlink -f "/usr/lib/$multiarch/liblxc.so.1")
{ [[ -f $liblxc ]] && dpkg-query -S "$liblxc" >/dev/null 2>&1; } || fail "no liblxc.so.1 from liblxc1 to copy"
stand=$work/lxc-pve
mkdir -p "$stand/DEBIAN" "$stand/usr/lib/$multiarch"
cp "$liblxc" "$stand/usr/lib/$multiarch/liblxc.so.1"
cat >"$stand/DEBIAN/control" <<EOF
Package: lxc-pve
Version: 6.0.0-1
Architecture: $arch
Maintainer: phoenix-gpu-hooks package test <root@localhost>
Depends: libc6, libcap2, libseccomp2, libselinux1, libapparmor1
Provides: liblxc1, lxc
Conflicts: liblxc1, lxc
Replaces: liblxc1, lxc
Section: admin
Priority: optional
Description: stand-in for Proxmox VE's lxc-pve (package test only)
 Ships liblxc.so.1 and, like Proxmox's lxc-pve, replaces Debian's liblxc1 and
 lxc, providing them without a version.
EOF
dpkg-deb --root-owner-group --build "$stand" "$work/lxc-pve.deb" >/dev/null

mapfile -t lxc_removed < <(apt-get -s remove lxc liblxc1 | sed -n 's/^Remv \([^ ]*\) .*/\1/p')
mapfile -t lxc_auto < <(apt-mark showauto "${lxc_removed[@]}")
echo "removing Debian's LXC packages for the lxc-pve part: ${lxc_removed[*]}"
apt_quiet remove "${lxc_removed[@]}" || fail "apt-get remove ${lxc_removed[*]}"
dpkg -i "$work/lxc-pve.deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "dpkg -i lxc-pve stand-in"; }
ok "lxc-pve stand-in installed (Provides: liblxc1, lxc without a version)"

sim=$(apt-get -s install "$deb" 2>&1) || { echo "$sim" >&2; fail "apt-get -s install beside lxc-pve"; }
if grep -qE '^(Remv lxc-pve|Inst (liblxc1|lxc) )' <<<"$sim"; then
    echo "$sim" >&2
    fail "apt would replace lxc-pve to install $pkg"
fi
apt_quiet install "$deb" || fail "apt-get install ./$(basename "$deb") beside lxc-pve"
[[ $(dpkg-query -W -f='${Status}' "$pkg") == "install ok installed" ]] || fail "$pkg not installed beside lxc-pve"
[[ -z $(dpkg --audit 2>&1) ]] || { dpkg --audit >&2; fail "dpkg --audit after the install beside lxc-pve"; }
apt-get check -q >/dev/null 2>&1 || fail "apt-get check beside lxc-pve"
resolved=$(ldd /usr/bin/phoenix-gpu | awk '$1 == "liblxc.so.1" {print $3}')
[[ $(dpkg-query -S "$(readlink -f "$resolved")" 2>/dev/null) == lxc-pve:* ]] \
    || fail "phoenix-gpu does not load liblxc.so.1 from lxc-pve (ldd: $resolved)"
[[ $(/usr/bin/phoenix-gpu --version) == "phoenix-gpu $upstream" ]] || fail "phoenix-gpu --version beside lxc-pve"
ok "installed beside lxc-pve: dpkg -s happy, liblxc.so.1 from lxc-pve, $(/usr/bin/phoenix-gpu --version)"

apt_quiet purge "$pkg" || fail "apt-get purge $pkg beside lxc-pve"
restored=("${lxc_removed[@]}")
restore_lxc || fail "restoring Debian's LXC packages"
for p in "${restored[@]}"; do
    installed "$p" || fail "$p not restored"
done
ok "Debian's LXC packages restored: ${restored[*]}"
