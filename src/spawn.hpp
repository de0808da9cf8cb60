// Starting the worker fully detached from the hook: its own session, no
// inherited pipes (LXC waits for EOF on the hook's output), and out of the
// container's lxc.monitor.NAME cgroup (a process left there blocks the
// cgroup's removal; on Proxmox the next start then fails).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "error.hpp"

namespace phx {

struct SpawnResult {
  pid_t pid = 0;         // 0 when systemd started it (the worker reports its pid)
  std::string how;       // "systemd unit <name>" | "cgroup <path>"
};

// argv[0] must be absolute. Uses a transient systemd unit where systemd
// runs, else a double fork into the product's own cgroup.
Result<SpawnResult> spawn_detached(const std::vector<std::string>& argv, const std::string& unit_name);

// Moves the calling process into <mount>/phoenix-gpu-hooks in every cgroup
// hierarchy it belongs to. Returns the cgroup2 (or first) path used.
Result<std::string> move_to_own_cgroup();

}  // namespace phx
