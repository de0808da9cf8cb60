// The closed sets of states status.json speaks: one container's GPU state,
// each node's check and the driver stage. Code uses the enums; the strings exist only at the
// JSON and display boundary (to_string / parse_*), and phoenix-gpu(1)
// documents each value with its meaning and exit code.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace phx {

enum class GpuState {
  Starting,   // post-start wrote it; the worker has not run yet
  Waiting,    // the worker waits for the container to be RUNNING
  Verifying,  // checking nodes; waiting for pending or missing ones
  Verified,   // every node the container asked for works
  Timeout,    // the verify timeout passed with something still not working
  Failed,     // the worker could not do its job (unreadable config, ...)
  Stopped,    // the container stopped before verification ended
  NoPlan,     // pre-start could not plan: a selection naming no GPU, no driver, ...
};

inline constexpr std::array kAllGpuStates{GpuState::Starting, GpuState::Waiting, GpuState::Verifying,
                                          GpuState::Verified, GpuState::Timeout, GpuState::Failed,
                                          GpuState::Stopped,  GpuState::NoPlan};

std::string_view to_string(GpuState s);
std::optional<GpuState> parse_gpu_state(std::string_view s);
// The worker is done with this start (nothing will change the state).
bool is_final(GpuState s);

enum class DriverState {
  Pending,      // the stage has not run (verification first)
  Current,      // the container's userspace driver matches the host's
  Mismatch,     // it does not, and the strategy is 'none' (report only)
  Installing,   // an install runs now
  Installed,    // an install ran and now matches
  Busy,         // another install for this container runs; not started twice
  NoInstaller,  // the runfile for the host's version is missing
  Timeout,      // the installer ran past its time and was killed
  Failed,       // the lookup or the install failed
  Skipped,      // the host's driver version is unknown
};

// One planned node's check (status.json "nodes[].result").
enum class NodeResult {
  Ok,           // exists inside, the planned char device, opens
  NoDriver,     // allowed, but no driver behind it (ENXIO/ENODEV: simulated hosts)
  Denied,       // the device cgroup refuses it (EPERM)
  Missing,      // not in the container's /dev
  WrongType,    // something else there (an unfilled bind placeholder, a link)
  WrongRdev,    // a char device with another major:minor
  Error,        // the check itself failed (another errno, no answer)
  Pending,      // not makeable yet (its module is not loaded): not looked for
  HostChanged,  // passes inside, but the host no longer backs it
};

inline constexpr std::array kAllNodeResults{NodeResult::Ok,      NodeResult::NoDriver,  NodeResult::Denied,
                                            NodeResult::Missing, NodeResult::WrongType, NodeResult::WrongRdev,
                                            NodeResult::Error,   NodeResult::Pending,   NodeResult::HostChanged};

std::string_view to_string(NodeResult r);
std::optional<NodeResult> parse_node_result(std::string_view s);

inline constexpr std::array kAllDriverStates{DriverState::Pending,     DriverState::Current,   DriverState::Mismatch,
                                             DriverState::Installing,  DriverState::Installed, DriverState::Busy,
                                             DriverState::NoInstaller, DriverState::Timeout,   DriverState::Failed,
                                             DriverState::Skipped};

std::string_view to_string(DriverState s);
std::optional<DriverState> parse_driver_state(std::string_view s);
// The container's userspace driver matches the host's.
inline bool driver_matches(DriverState s) { return s == DriverState::Current || s == DriverState::Installed; }

}  // namespace phx
