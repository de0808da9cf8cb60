// A container's GPU policy: NVIDIA_* and PHOENIX_GPU_* keys of its
// environment keys, so the policy travels with the container's config.
//
// LXC 7 (and Proxmox's lxc-pve since 6.0.5) splits the environment:
// lxc.environment goes to the container's init and to hooks,
// lxc.environment.runtime to init only (Proxmox VE 9's `env` property and
// OCI images write it), lxc.environment.hooks to hooks only. Where they are
// read from, and which wins when one variable is in several:
//   NVIDIA_*       lxc.environment < .runtime < .hooks
//   PHOENIX_GPU_*  lxc.environment < .hooks; in .runtime ignored, with a
//                  warning (it is the image's and the container's, not the
//                  host's; .hooks keeps a setting out of the container's
//                  processes).
// .runtime over lxc.environment is what the container's init sees (LXC
// applies .runtime after lxc.environment); .hooks over both because it is
// addressed to the hooks alone. Within one key the later item wins, as in LXC.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "plan/config.hpp"
#include "plan/device_plan.hpp"

namespace phx {

struct ContainerPolicy {
  bool has_gpu_policy = false;  // NVIDIA_VISIBLE_DEVICES present at all
  std::string visible_devices;
  std::string capabilities;
  bool mig_config = false;
  bool mig_monitor = false;
  bool required = false;                      // PHOENIX_GPU_REQUIRED=1
  std::optional<Millis> verify_timeout;       // PHOENIX_GPU_VERIFY_TIMEOUT
  std::optional<std::string> driver_install;  // PHOENIX_GPU_DRIVER_INSTALL
  std::optional<bool> create_nodes;           // PHOENIX_GPU_CREATE_NODES=0 switches node creation off
  std::vector<std::string> warnings;          // unknown PHOENIX_GPU_ keys, bad values (ignored)
  std::string visible_devices_key;            // where NVIDIA_VISIBLE_DEVICES came from ("" when unset)
  std::string nvidia_items;                   // the NVIDIA_* in effect, KEY=VALUE lines (NVIDIA_REQUIRE_* etc.)

  PlanRequest plan_request() const;
};

// The three keys' items, each KEY=VALUE lines (as liblxc returns a list).
struct EnvironmentKeys {
  std::string environment;  // lxc.environment
  std::string runtime;      // lxc.environment.runtime
  std::string hooks;        // lxc.environment.hooks
};

ContainerPolicy parse_policy(const EnvironmentKeys& keys, const HostConfig& defaults);

// lxc.environment alone.
ContainerPolicy parse_policy(const std::string& environment_items, const HostConfig& defaults);

}  // namespace phx
