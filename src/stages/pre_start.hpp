// pre-start: host side, before cgroups exist. Reads the policy, waits for the
// driver, makes the host nodes right, writes the plan.
#pragma once

#include "host/host_discovery.hpp"
#include "stages/hook_runtime.hpp"

namespace phx {

// The hook's exit code: 0 unless the container requires its GPUs
// (PHOENIX_GPU_REQUIRED=1) and they cannot be provided.
int run_pre_start(const HookRuntime& rt);

// Polls (5 ms, doubling to 100 ms) until the driver is loaded or `wait`
// passes. /proc has no inotify, so short polls it is.
HostSnapshot wait_for_driver(const HostRoot& root, Millis wait, bool try_load);

}  // namespace phx
