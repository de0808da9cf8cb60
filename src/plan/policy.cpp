#include "plan/policy.hpp"

#include <set>

#include "base/text.hpp"

namespace phx {

PlanRequest ContainerPolicy::plan_request() const {
  return PlanRequest{visible_devices, capabilities, mig_config, mig_monitor};
}

namespace {

struct Value {
  std::string value;
  const char* key = "";  // the config key it came from
};

// KEY=VALUE items into `env`, later items and later calls winning; `take`
// chooses the variables this key may set, the others go to `skipped`.
template <typename Take>
void merge(std::map<std::string, Value>& env, const std::string& items, const char* key, Take take,
           std::vector<std::string>* skipped = nullptr) {
  for (auto line : split_lines(items)) {
    line = trim(line);
    auto eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;  // "lxc.environment = VAR" passes the host's VAR
    std::string name(line.substr(0, eq));
    if (!take(name)) {
      if (skipped != nullptr) skipped->push_back(std::move(name));
      continue;
    }
    env[name] = Value{std::string(line.substr(eq + 1)), key};
  }
}

bool is_nvidia(const std::string& name) { return name.starts_with("NVIDIA_"); }
bool is_ours(const std::string& name) { return name.starts_with("PHOENIX_GPU_"); }

}  // namespace

ContainerPolicy parse_policy(const std::string& environment_items, const HostConfig& defaults) {
  return parse_policy(EnvironmentKeys{environment_items, {}, {}}, defaults);
}

ContainerPolicy parse_policy(const EnvironmentKeys& keys, const HostConfig& defaults) {
  auto any = [](const std::string& n) { return is_nvidia(n) || is_ours(n); };
  std::map<std::string, Value> merged;
  std::vector<std::string> ignored;
  merge(merged, keys.environment, "lxc.environment", any);
  merge(merged, keys.runtime, "lxc.environment.runtime", is_nvidia, &ignored);
  merge(merged, keys.hooks, "lxc.environment.hooks", any);
  std::map<std::string, std::string> env;
  for (const auto& [name, v] : merged) env[name] = v.value;

  ContainerPolicy p;
  std::set<std::string> seen;
  for (const auto& name : ignored) {
    if (!is_ours(name) || !seen.insert(name).second) continue;
    p.warnings.push_back(name +
                         " in lxc.environment.runtime is ignored: host settings are read from "
                         "lxc.environment or lxc.environment.hooks (which keeps them out of the container)");
  }
  for (const auto& [name, v] : merged) {
    if (is_nvidia(name)) p.nvidia_items += name + "=" + v.value + "\n";
  }
  p.capabilities = defaults.capabilities;
  if (auto it = env.find("NVIDIA_VISIBLE_DEVICES"); it != env.end()) {
    p.has_gpu_policy = true;
    p.visible_devices = it->second;
    p.visible_devices_key = merged["NVIDIA_VISIBLE_DEVICES"].key;
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
        p.warnings.push_back(key + "='" + value +
                             "' is not a duration of at most 24 h (\"90\", \"90s\", \"2m\"); using the host default");
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
