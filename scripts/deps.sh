#!/usr/bin/env bash
# Installs what building and testing phoenix-gpu-hooks needs, from Debian 12's
# archive. Idempotent; quiet when everything is present.
set -euo pipefail
pkgs=(
  build-essential cmake pkg-config
  lxc lxc-dev libcap-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libtomlplusplus-dev libcli11-dev
  libgtest-dev libgmock-dev
  busybox-static uidmap strace
  debhelper dpkg-dev fakeroot lintian
  clang libclang-rt-14-dev clang-format clang-tidy shellcheck
  mmdebstrap
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
