// Starting the worker fully detached from the hook: its own session, no
// inherited pipes (LXC waits for EOF on the hook's output), and out of the
// container's lxc.monitor.NAME cgroup (a process left there blocks the
// cgroup's removal; on Proxmox the next start then fails).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "base/error.hpp"

namespace phx {

struct SpawnResult {
  pid_t pid = 0;    // 0 when systemd started it (the worker reports its pid)
  std::string how;  // "systemd unit <name>" | "cgroup <path>"
};

struct SpawnOptions {
  // When > 0 and the child has to migrate out of the hook's cgroups (cgroup
  // v1 or a hybrid host, or systemd-run): it first waits, asleep, until this
  // process execs another program or exits (at most `defer_limit`). The
  // start-host hook passes the container's init: until it execs, LXC is still
  // setting up the container's cgroups, and a migration (which holds the
  // kernel's cgroup locks through an RCU grace period) would stall that. On a
  // cgroup2-only host the child is born in the product's cgroup (clone3
  // CLONE_INTO_CGROUP) and execs at once.
  pid_t defer_until_exec_of = 0;
  std::chrono::milliseconds defer_limit{10'000};
  // SCHED_IDLE and idle I/O class for the child and what it execs.
  bool idle_priority = true;
};

// argv[0] must be absolute. Uses a transient systemd unit where systemd
// runs, else (or when systemd-run fails: the worker then finds the reason in
// PHOENIX_GPU_SPAWN_NOTE) a child in its own session in the product's own
// cgroup (born there on cgroup2, moved there elsewhere).
Result<SpawnResult> spawn_detached(const std::vector<std::string>& argv, const std::string& unit_name,
                                   const SpawnOptions& opts = {});

// Whether spawn_detached asks systemd (PID 1 is systemd, systemd-run is
// there, PHOENIX_GPU_NO_SYSTEMD is unset).
bool worker_via_systemd();

enum class ExecWait {
  Exec,       // it runs another program now
  Exit,       // it exited (or was gone already)
  NotWaited,  // it already ran its own program, or cannot be watched
  Timeout,
};

// Returns once `pid` runs another program than now, has exited, or `limit`
// has passed; at once when it already runs a program of its own (not its
// parent's) or cannot be watched. Sleeps in between (pidfd, backing off from
// half a millisecond to 2 ms).
ExecWait wait_exec_or_exit(pid_t pid, std::chrono::milliseconds limit);

// Moves the calling process into <mount>/phoenix-gpu-hooks in every cgroup
// hierarchy it belongs to. Returns the cgroup2 (or first) path used.
Result<std::string> move_to_own_cgroup();

}  // namespace phx
