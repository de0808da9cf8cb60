#!/usr/bin/env bash
# Builds the Debian package from a clean copy of this checkout (tracked files
# and untracked files git does not ignore; no build directories), so nothing
# stray goes into it and nothing is written next to the checkout.
# Usage: scripts/build-deb.sh [--nocheck] OUTDIR
# Leaves the .deb, .buildinfo and .changes in OUTDIR; prints the .deb's path.
set -euo pipefail
nocheck=0
if [[ ${1:-} == --nocheck ]]; then
    nocheck=1
    shift
fi
[[ $# -eq 1 ]] || { echo "usage: $0 [--nocheck] OUTDIR" >&2; exit 2; }
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
upstream=${version%-*}
tree=$out/phoenix-gpu-hooks-$upstream
rm -rf "$tree"
mkdir -p "$tree"

if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # Files deleted in the work tree are still listed by git; skip them.
    git -C "$src" ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do
            if [[ -e $src/$f || -L $src/$f ]]; then printf '%s\0' "$f"; fi
        done | tar -C "$src" --null -T - -cf - | tar -C "$tree" -xf -
else
    tar -C "$src" --exclude='./build*' --exclude='./obj-*' --exclude='./debian/phoenix-gpu-hooks' \
        --exclude='./debian/.debhelper' -cf - . | tar -C "$tree" -xf -
fi

opts="parallel=$(nproc)"
((nocheck)) && opts+=" nocheck"
export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-$opts}"
(cd "$tree" && dpkg-buildpackage -us -uc -b) >&2
rm -rf "$tree"
deb=$out/phoenix-gpu-hooks_${version}_$(dpkg-architecture -qDEB_HOST_ARCH).deb
[[ -f $deb ]] || { echo "no $deb after the build" >&2; exit 1; }
echo "$deb"
