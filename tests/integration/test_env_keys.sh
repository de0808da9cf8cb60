#!/bin/bash
# LXC 7's environment keys as Proxmox VE 9 writes them (its `env` property, `pct set ID
# --env ...`, and OCI images: lxc.environment.runtime lines in /var/lib/lxc/ID/config),
# with the snippet as installed:
#  - where LXC knows the keys (LXC 7.0, Proxmox's lxc-pve >= 6.0.5): a container whose
#    only GPU request is NVIDIA_VISIBLE_DEVICES in lxc.environment.runtime gets its GPUs
#    and is verified; a PHOENIX_GPU_* setting there is ignored, and plan and status say
#    so; an empty lxc.environment.runtime clears that list (no GPUs); lxc.environment.hooks
#    wins over .runtime and its PHOENIX_GPU_REQUIRED=1 is honoured;
#  - where LXC does not know them (LXC 5.0, upstream 6.0): LXC refuses such a config, and
#    `phoenix-gpu plan` and `phoenix-gpu doctor` say so.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

phx_setup_tmp
export PHOENIX_GPU_HOST_ROOT=$PHX_T/host
phx_sim_host "$PHOENIX_GPU_HOST_ROOT" --gpus 2

# As pve-container writes the env property: one lxc.environment.runtime line per variable.
phx_create_ct rt --extra "lxc.environment.runtime = PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --extra "lxc.environment.runtime = NVIDIA_VISIBLE_DEVICES=all" \
    --extra "lxc.environment.runtime = NVIDIA_DRIVER_CAPABILITIES=compute,utility" \
    --extra "lxc.environment.runtime = PHOENIX_GPU_CREATE_NODES=0"

plan=$("$PHX_CLI" plan rt -P "$PHX_LXCPATH" 2>&1) || phx_fail "phoenix-gpu plan rt failed: $plan"
phx_assert_contains "$plan" "NVIDIA_VISIBLE_DEVICES in lxc.environment.runtime" "plan: the request comes from .runtime"
phx_assert_contains "$plan" "PHOENIX_GPU_CREATE_NODES in lxc.environment.runtime is ignored" "plan: PHOENIX_GPU_* in .runtime ignored"
phx_assert_contains "$plan" "/dev/nvidia1" "plan: both GPUs"

if ! phx_lxc_knows_environment_subkeys; then
    lxc=$(phx_lxc_version)
    phx_assert_contains "$plan" "liblxc $lxc does not know: LXC refuses the config" "plan: LXC $lxc refuses the keys"
    doctor=$("$PHX_CLI" doctor -P "$PHX_LXCPATH" 2>&1) || true
    phx_assert_contains "$doctor" "liblxc $lxc does not know lxc.environment.runtime" "doctor: LXC $lxc does not know the keys"
    phx_assert_contains "$doctor" "container rt ($PHX_LXCPATH): its config uses lxc.environment.runtime" \
        "doctor: names the container LXC will refuse"
    # What plan and doctor said is what LXC does.
    if phx_start rt --quiet; then phx_fail "LXC $lxc started a config with lxc.environment.runtime"; fi
    phx_assert_contains "$(cat "$PHX_T/rt.lxc.log")" "lxc.environment.runtime" "LXC $lxc refused the key"
    echo "PASS (LXC $lxc refuses lxc.environment.runtime; the start part runs where LXC knows it)"
    exit 0
fi

doctor=$("$PHX_CLI" doctor -P "$PHX_LXCPATH" 2>&1) || true
phx_assert_contains "$doctor" "knows lxc.environment.runtime and lxc.environment.hooks" "doctor: LXC knows the keys"
phx_assert_not_contains "$doctor" "container rt" "doctor: no warning about rt"

# 1. The request in .runtime alone: GPUs bound and verified. PHOENIX_GPU_CREATE_NODES=0
#    there is ignored: the missing node below is created as usual.
rm "$PHOENIX_GPU_HOST_ROOT/dev/nvidia1"
phx_start rt
phx_wait_gpu_status rt verified 10 || phx_fail "rt not verified (state: $(phx_gpu_status rt))"
phx_assert_eq "c 195:0" "$(phx_rdev rt /dev/nvidia0)" "rt: nvidia0 bound"
phx_assert_eq "c 195:1" "$(phx_rdev rt /dev/nvidia1)" "rt: nvidia1 bound (created: CREATE_NODES=0 in .runtime ignored)"
status=$("$PHX_CLI" status rt -P "$PHX_LXCPATH" 2>&1) || true
phx_assert_contains "$status" "PHOENIX_GPU_CREATE_NODES in lxc.environment.runtime is ignored" "status: says it was ignored"
phx_stop rt

# 2. An empty lxc.environment.runtime clears that list: no GPU request left.
phx_create_ct cl --extra "lxc.environment.runtime = NVIDIA_VISIBLE_DEVICES=all" \
    --extra "lxc.environment.runtime =" --extra "lxc.environment.runtime = TZ=UTC"
phx_start cl
phx_assert_eq ENOENT "$(phx_rdev cl /dev/nvidia0)" "cl: cleared, no GPU"
phx_assert_eq "" "$(phx_gpu_status cl)" "cl: no GPU status"
phx_stop cl

# 3. .hooks over .runtime, and PHOENIX_GPU_* read from .hooks: GPU 1 only; a GPU that does
#    not exist with PHOENIX_GPU_REQUIRED=1 fails the start. (The simulated host's GPU 0, in
#    PCI order, is /dev/nvidia1 and GPU 1 is /dev/nvidia0: index and minor differ.)
phx_create_ct hk --extra "lxc.environment.runtime = NVIDIA_VISIBLE_DEVICES=0" \
    --extra "lxc.environment.hooks = NVIDIA_VISIBLE_DEVICES=1"
phx_start hk
phx_wait_gpu_status hk verified 10 || phx_fail "hk not verified (state: $(phx_gpu_status hk))"
phx_assert_eq "c 195:0" "$(phx_rdev hk /dev/nvidia0)" "hk: GPU 1 (nvidia0) bound (.hooks wins)"
phx_assert_eq ENOENT "$(phx_rdev hk /dev/nvidia1)" "hk: GPU 0 (nvidia1) not bound (.runtime lost)"
phx_stop hk
phx_create_ct rq --extra "lxc.environment.runtime = NVIDIA_VISIBLE_DEVICES=7" \
    --extra "lxc.environment.hooks = PHOENIX_GPU_REQUIRED=1"
if phx_start rq --quiet; then phx_fail "rq started although its required GPU 7 does not exist"; fi
echo "ok: rq: PHOENIX_GPU_REQUIRED=1 from .hooks fails the start"

# 4. What LXC itself hands to each hook type and to init (README, "LXC 7.0"): pre-start and
#    start-host get none of the three keys, so pre-start reads the config; the container-side
#    hooks (mount) get lxc.environment and .hooks (.hooks winning); init gets lxc.environment
#    and .runtime (.runtime winning). No snippet: this is LXC's behaviour, pinned.
dump=$PHX_T/dump-env.sh
printf '#!/bin/sh\nenv | grep -E "^(E_|R_|H_|BOTH=)" | sort | tr "\\n" " " >"%s/env-${LXC_HOOK_TYPE:-$3}"\n' "$PHX_T" >"$dump"
chmod 0755 "$dump"
phx_create_ct le --no-snippet --extra "lxc.environment = E_ENV=1" --extra "lxc.environment = BOTH=env" \
    --extra "lxc.environment.runtime = R_RT=1" --extra "lxc.environment.runtime = BOTH=runtime" \
    --extra "lxc.environment.hooks = H_HK=1" --extra "lxc.environment.hooks = BOTH=hooks" \
    --extra "lxc.hook.pre-start = $dump" --extra "lxc.hook.mount = $dump" --extra "lxc.hook.start-host = $dump"
phx_start le
init_env=$(tr '\0' '\n' <"/proc/$(phx_init_pid le)/environ" | grep -E '^(E_|R_|H_|BOTH=)' | sort | tr '\n' ' ')
phx_assert_eq "BOTH=runtime E_ENV=1 R_RT=1 " "$init_env" "init: lxc.environment and .runtime"
phx_assert_eq "" "$(cat "$PHX_T/env-pre-start")" "pre-start: none of the keys"
phx_assert_eq "BOTH=hooks E_ENV=1 H_HK=1 " "$(cat "$PHX_T/env-mount")" "mount: lxc.environment and .hooks"
phx_assert_eq "" "$(cat "$PHX_T/env-start-host")" "start-host: none of the keys"
phx_stop le
echo "PASS (LXC $(phx_lxc_version))"
