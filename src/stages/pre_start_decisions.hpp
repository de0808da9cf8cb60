// The pre-start hook's decisions, apart from the host they act on: whether a
// start has a GPU policy, whether nvidia_uvm is worth loading, what to do
// about each planned host node, and the summary line of a start.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "host/host_discovery.hpp"
#include "plan/device_plan.hpp"
#include "plan/device_selection.hpp"

namespace phx {

// False for a void selection (NVIDIA_VISIBLE_DEVICES unset, empty or void):
// nothing to do. A selection that does not parse is a policy; planning says
// what is wrong with it.
bool has_gpu_selection(const Result<GpuSelection>& sel);

// nvidia_uvm is loaded only for a container that wants compute or video,
// when it is not loaded yet and module loading is on.
bool should_load_uvm(const Result<DriverCapabilities>& caps, const HostSnapshot& host, bool load_modules);

enum class HostNodeStep {
  Skip,       // pending: its major is not known yet
  CheckOnly,  // no creation (off, or the driver forbids modifying its nodes): only say when it is missing
  Ensure,     // create or repair it
};

// modify_allowed: the driver's ModifyDeviceFiles (false: the nvidia major's
// nodes belong to the driver). nvidia_major: the host's nvidia major, if any.
HostNodeStep decide_host_node(const PlannedNode& node, bool create, bool modify_allowed,
                              std::optional<int> nvidia_major);

// What the host node steps came to.
struct HostNodeTally {
  int missing = 0;  // missing on the host, creation off
  int failed = 0;   // could not be created or repaired
};

// "requirement not met: a; b": the unmet NVIDIA_REQUIRE_* items in one line.
std::string unmet_requirements(const std::vector<std::string>& unmet);

// The info line of a start that planned: "plan: 1 GPU(s), 4 node(s) [nvidiactl
// nvidia0 ...], driver 580.1, 1 missing in 2.1 ms".
std::string plan_summary(const DevicePlan& plan, const HostNodeTally& tally, double ms);

}  // namespace phx
