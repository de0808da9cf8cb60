// A container's GPU policy: NVIDIA_* and PHOENIX_GPU_* keys of its
// lxc.environment, so the policy travels with the container's config.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config.hpp"
#include "device_plan.hpp"
#include "error.hpp"

namespace phx {

struct ContainerPolicy {
  bool has_gpu_policy = false;  // NVIDIA_VISIBLE_DEVICES present at all
  std::string visible_devices;
  std::string capabilities;
  bool mig_config = false;
  bool mig_monitor = false;
  bool required = false;                   // PHOENIX_GPU_REQUIRED=1
  std::optional<Millis> verify_timeout;    // PHOENIX_GPU_VERIFY_TIMEOUT
  std::optional<std::string> driver_install;  // PHOENIX_GPU_DRIVER_INSTALL
  std::optional<bool> create_nodes;        // PHOENIX_GPU_CREATE_NODES=0 switches node creation off
  std::vector<std::string> warnings;       // unknown PHOENIX_GPU_ keys, bad values (ignored)

  PlanRequest plan_request() const;
};

// KEY=VALUE items, one per line (liblxc returns lxc.environment that way);
// later items win, as in LXC.
ContainerPolicy parse_policy(const std::string& environment_items, const HostConfig& defaults);

}  // namespace phx
