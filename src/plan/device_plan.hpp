// The device plan: which nodes a container gets and which cgroup rules they
// need, resolved against what the host has now.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/error.hpp"
#include "host/host_discovery.hpp"
#include "plan/device_selection.hpp"

namespace phx {

struct PlannedNode {
  std::string host_path;       // "/dev/nvidia0", as on the host (below the host root)
  std::string container_path;  // "/dev/nvidia0"
  int major = 0;
  int minor = 0;
  mode_t mode = 0666;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string role;      // gpu | ctl | uvm | uvm-tools | modeset | cap
  std::string gpu_uuid;  // for role gpu and per-GPU caps
  // Non-empty: the node is wanted but cannot be made yet, and why (its
  // module is not loaded, so its major is unknown: major 0). The worker
  // waits for it within the verify timeout; it is never dropped.
  std::string pending;
  dev_t rdev() const;  // major:minor as the node carries it
  bool operator==(const PlannedNode&) const = default;
};

struct CgroupRule {
  char type = 'c';
  int major = 0;
  int minor = -1;  // -1 is '*'
  std::string access = "rw";
  std::string str() const;  // "c 195:0 rw"
  bool operator==(const CgroupRule&) const = default;
};

struct PlanRequest {
  std::string visible_devices;      // NVIDIA_VISIBLE_DEVICES as given
  std::string driver_capabilities;  // NVIDIA_DRIVER_CAPABILITIES as given ("" = default)
  bool mig_config = false;          // NVIDIA_MIG_CONFIG_DEVICES set
  bool mig_monitor = false;         // NVIDIA_MIG_MONITOR_DEVICES set
};

struct DevicePlan {
  bool enabled = false;  // false for void: nothing to do
  std::string visible_devices;
  std::string capabilities;  // normalised
  std::string driver_version;
  std::vector<GpuInfo> gpus;
  std::vector<PlannedNode> nodes;
  std::vector<CgroupRule> rules;
  std::vector<std::string> warnings;  // what the plan could not give, and why
  bool operator==(const DevicePlan&) const = default;
};

// Why a node is pending (PlannedNode::pending).
extern const char* const kUvmPending;
extern const char* const kModesetPending;
extern const char* const kCapsPending;

// Pure: the same snapshot and request give the same plan. Errors: a bad
// selection or capability list, no driver while GPUs are wanted, GPU
// information that does not parse.
Result<DevicePlan> make_plan(const HostSnapshot& host, const PlanRequest& req);

}  // namespace phx
