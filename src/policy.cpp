#include "policy.hpp"

#include "text.hpp"

namespace phx {

PlanRequest ContainerPolicy::plan_request() const {
  return PlanRequest{visible_devices, capabilities, mig_config, mig_monitor};
}

ContainerPolicy parse_policy(const std::string& environment_items, const HostConfig& defaults) {
  std::map<std::string, std::string> env;
  for (auto line : split_lines(environment_items)) {
    line = trim(line);
    auto eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;  // "lxc.environment = VAR" passes the host's VAR
    env[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  ContainerPolicy p;
  p.capabilities = defaults.capabilities;
  if (auto it = env.find("NVIDIA_VISIBLE_DEVICES"); it != env.end()) {
    p.has_gpu_policy = true;
    p.visible_devices = it->second;
  } else if (!defaults.visible_devices.empty()) {
    p.visible_devices = defaults.visible_devices;
  }
  if (auto it = env.find("NVIDIA_DRIVER_CAPABILITIES"); it != env.end()) p.capabilities = it->second;
  p.mig_config = !trim(env["NVIDIA_MIG_CONFIG_DEVICES"]).empty();
  p.mig_monitor = !trim(env["NVIDIA_MIG_MONITOR_DEVICES"]).empty();

  auto flag = [&](const std::string& key, const std::string& v) -> std::optional<bool> {
    std::string l = to_lower(trim(v));
    if (l == "1" || l == "true" || l == "yes") return true;
    if (l == "0" || l == "false" || l == "no" || l.empty()) return false;
    p.warnings.push_back(key + "='" + v + "' is not 0 or 1; ignored");
    return std::nullopt;
  };
  for (const auto& [key, value] : env) {
    if (!key.starts_with("PHOENIX_GPU_")) continue;
    if (key == "PHOENIX_GPU_REQUIRED") {
      p.required = flag(key, value).value_or(false);
    } else if (key == "PHOENIX_GPU_VERIFY_TIMEOUT") {
      if (auto ms = parse_duration_ms(value)) {
        p.verify_timeout = Millis(*ms);
      } else {
        p.warnings.push_back(key + "='" + value + "' is not a duration of at most 24 h (\"90\", \"90s\", \"2m\"); using the host default");
      }
    } else if (key == "PHOENIX_GPU_DRIVER_INSTALL") {
      if (value == "bind" || value == "runfile" || value == "command" || value == "none") {
        p.driver_install = value;
      } else {
        p.warnings.push_back(key + "='" + value + "' is not bind, runfile, command or none; using the host default");
      }
    } else if (key == "PHOENIX_GPU_CREATE_NODES") {
      p.create_nodes = flag(key, value);
    } else {
      p.warnings.push_back("unknown setting " + key + " ignored");
    }
  }
  return p;
}

}  // namespace phx
