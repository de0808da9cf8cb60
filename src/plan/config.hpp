// Host defaults from /etc/phoenix-gpu-hooks/config.toml. A missing file means
// the defaults; a broken one is an error the caller logs before falling back
// to the defaults (a broken config never stops a container).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "base/error.hpp"

namespace phx {

inline constexpr const char* kDefaultConfigPath = "/etc/phoenix-gpu-hooks/config.toml";

using Millis = std::chrono::milliseconds;

struct HostConfig {
  // [driver]
  Millis driver_wait{10'000};  // how long pre-start waits for the driver
  bool load_modules = true;    // modprobe nvidia_uvm when compute is wanted
  bool create_nodes = true;    // create or repair host nodes
  // [verify]
  Millis verify_timeout{30'000};
  Millis poll_interval{20};  // first poll interval; backs off to 500 ms
  // [defaults]
  std::string visible_devices;  // used when the container sets none ("" = void)
  std::string capabilities;     // "" = utility,compute
  // [driver_install]
  std::string install_strategy = "none";  // bind | runfile | command | none
  std::string installer_dir = "/var/lib/phoenix-gpu-hooks/installers";
  std::string install_command;
  Millis install_timeout{20 * 60'000};
  // [log]
  std::string log_level = "info";
  std::string log_dir = "/var/log/phoenix-gpu-hooks";
  // [state]
  std::string state_dir = "/run/phoenix-gpu-hooks";
  // [hooks]
  Millis hook_budget{20'000};  // hard bound on one hook's run time

  std::vector<std::string> warnings;  // unknown keys and the like
};

// PHOENIX_GPU_CONFIG, else /etc/phoenix-gpu-hooks/config.toml.
std::string config_path();

Result<HostConfig> parse_host_config(const std::string& text, const std::string& path);
// Missing file: defaults. Unreadable or broken: an error.
Result<HostConfig> load_host_config(const std::string& path);

// PHOENIX_GPU_LOG_DIR overrides the configured log directory (tests).
std::string effective_log_dir(const HostConfig& cfg);

}  // namespace phx
