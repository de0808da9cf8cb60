#!/bin/bash
# nvidia_uvm not loaded at start: pre-start loads it (through PHOENIX_GPU_MODPROBE, here the
# simulated host's modprobe) and creates the uvm nodes it then registers. If modprobe fails
# the container still runs, with a warning; the uvm nodes stay in the plan as pending, and the
# container is never "verified" without them: the worker ends in "timeout" with the WARNING and
# the /dev listing, or, when the module is loaded during its wait, makes and hot-plugs the
# nodes and ends "verified" without a restart.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

phx_setup_tmp
# --- modprobe works ---------------------------------------------------------------------
export PHOENIX_GPU_HOST_ROOT=$PHX_T/host
h=$PHOENIX_GPU_HOST_ROOT
phx_sim_host "$h" --uvm-not-loaded
PHOENIX_GPU_MODPROBE=$(phx_sim_modprobe "$h")
export PHOENIX_GPU_MODPROBE
phx_create_ct c1 --env NVIDIA_VISIBLE_DEVICES=all
phx_start c1
phx_assert_eq "nvidia_uvm" "$(cat "$h/.phx-modprobe.log")" "modprobe nvidia_uvm was called once"
phx_assert_contains "$(cat "$PHOENIX_GPU_LOG_DIR/c1.log")" "loaded nvidia_uvm" "log says nvidia_uvm loaded"
phx_assert_eq "character special file 238:0 666" "$(stat -c '%F %Hr:%Lr %a' "$h/dev/nvidia-uvm")" "host nvidia-uvm made"
phx_assert_eq "character special file 238:1 666" "$(stat -c '%F %Hr:%Lr %a' "$h/dev/nvidia-uvm-tools")" \
    "host nvidia-uvm-tools made"
phx_assert_eq "c 238:0" "$(phx_rdev c1 /dev/nvidia-uvm)" "nvidia-uvm inside"
phx_assert_eq ENXIO "$(phx_open_result c1 /dev/nvidia-uvm rw)" "nvidia-uvm opens"
phx_assert_eq ENXIO "$(phx_open_result c1 /dev/nvidia-uvm-tools rw)" "nvidia-uvm-tools opens"
phx_wait_gpu_status c1 verified 10 || phx_fail "status never verified"
echo "ok: verified"
phx_stop c1

# --- modprobe fails ---------------------------------------------------------------------
export PHOENIX_GPU_HOST_ROOT=$PHX_T/host2
phx_sim_host "$PHOENIX_GPU_HOST_ROOT" --uvm-not-loaded
printf '#!/bin/sh\necho "modprobe: FATAL: Module $1 not found in directory /lib/modules/6.1.0" >&2\nexit 1\n' \
    >"$PHX_T/bad-modprobe"
chmod 0755 "$PHX_T/bad-modprobe"
export PHOENIX_GPU_MODPROBE=$PHX_T/bad-modprobe
phx_create_ct c2 --env NVIDIA_VISIBLE_DEVICES=all --env PHOENIX_GPU_VERIFY_TIMEOUT=2
phx_start c2
phx_assert_eq RUNNING "$(phx_state c2)" "modprobe failed: container runs"
log=$(cat "$PHOENIX_GPU_LOG_DIR/c2.log")
phx_assert_contains "$log" "warning: could not load nvidia_uvm" "modprobe failed: warning"
phx_assert_contains "$log" "Module nvidia_uvm not found" "modprobe failed: its message is in the warning"
phx_assert_contains "$log" "Fix: 'modprobe nvidia_uvm'" "modprobe failed: a fix is named"
phx_assert_contains "$log" "/dev/nvidia-uvm is pending" "modprobe failed: the log says the node is pending"
plan=$(cat "$(phx_gpu_state_dir c2)/plan.json")
phx_assert_contains "$plan" '"/dev/nvidia0"' "modprobe failed: plan still has the GPU"
phx_assert_contains "$plan" '"/dev/nvidia-uvm"' "modprobe failed: the uvm node stays in the plan"
phx_assert_contains "$plan" "the nvidia_uvm module is not loaded" "modprobe failed: the plan says why it is pending"
phx_assert_not_contains "$plan" '"c 238:' "modprobe failed: no rule for a major not known yet"
phx_assert_eq ENOENT "$(phx_rdev c2 /dev/nvidia-uvm)" "modprobe failed: no nvidia-uvm inside"
phx_assert_eq ENXIO "$(phx_open_result c2 /dev/nvidia0 rw)" "modprobe failed: the GPU still opens"
phx_wait_gpu_status c2 timeout 10 || phx_fail "c2: status not timeout (state: $(phx_gpu_status c2))"
echo "ok: c2: timeout, not verified, without nvidia-uvm"
log=$(cat "$PHOENIX_GPU_LOG_DIR/c2.log")
phx_assert_contains "$log" "WARNING: GPU devices NOT ready in container c2" "c2: the strong warning"
phx_assert_contains "$log" "/dev/nvidia-uvm is pending: the nvidia_uvm module is not loaded" "c2: the warning names the node"
phx_assert_contains "$log" "The container's /dev:" "c2: the /dev listing"
rc=0
out=$("$PHX_CLI" status c2 -P "$PHX_LXCPATH") || rc=$?
phx_assert_eq 1 "$rc" "c2: phoenix-gpu status exits 1"
phx_assert_contains "$out" "state         timeout: /dev/nvidia-uvm pending" "c2: status names the first problem"
phx_stop c2

# --- the administrator loads the module during the worker's wait --------------------------
export PHOENIX_GPU_HOST_ROOT=$PHX_T/host3
h=$PHOENIX_GPU_HOST_ROOT
phx_sim_host "$h" --uvm-not-loaded
PHOENIX_GPU_MODPROBE=$(phx_sim_modprobe "$h")
export PHOENIX_GPU_MODPROBE
# On cgroup v1 and pure cgroup2 (where the rule goes in through liblxc only once the node is
# found denied).
for ct in c3 c3v2; do
    phx_create_ct "$ct" --env NVIDIA_VISIBLE_DEVICES=all --env PHOENIX_GPU_VERIFY_TIMEOUT=20
done
export PHX_SIM_MODPROBE_FAIL=1
phx_start c3
phx_cgroup2_run phx_start c3v2
unset PHX_SIM_MODPROBE_FAIL
for ct in c3 c3v2; do
    phx_wait_gpu_status "$ct" verifying 10 || phx_fail "$ct: worker not verifying (state: $(phx_gpu_status "$ct"))"
done
sleep 0.3
for ct in c3 c3v2; do
    phx_assert_eq verifying "$(phx_gpu_status "$ct")" "$ct: not verified while nvidia-uvm is pending"
done
"$PHOENIX_GPU_MODPROBE" nvidia_uvm   # modprobe nvidia_uvm on the host: registers major 238, makes no node
for ct in c3 c3v2; do
    phx_wait_gpu_status "$ct" verified 10 || phx_fail "$ct: not verified after modprobe (state: $(phx_gpu_status "$ct"))"
    echo "ok: $ct: verified after modprobe nvidia_uvm, without a restart"
    phx_assert_eq "c 238:0" "$(phx_rdev "$ct" /dev/nvidia-uvm)" "$ct: nvidia-uvm hot-plugged"
    phx_assert_eq "c 238:1" "$(phx_rdev "$ct" /dev/nvidia-uvm-tools)" "$ct: nvidia-uvm-tools hot-plugged"
    phx_assert_eq ENXIO "$(phx_open_result "$ct" /dev/nvidia-uvm rw)" "$ct: nvidia-uvm allowed and opens"
    phx_assert_contains "$(cat "$(phx_gpu_state_dir "$ct")/plan.json")" '"c 238:0 rw"' "$ct: the plan on disk has the rule now"
    "$PHX_CLI" status "$ct" -P "$PHX_LXCPATH" >/dev/null || phx_fail "$ct: phoenix-gpu status does not exit 0"
    phx_stop "$ct"
done
phx_assert_eq "character special file 238:0 666" "$(stat -c '%F %Hr:%Lr %a' "$h/dev/nvidia-uvm")" "the worker made the host node"
echo PASS
