#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/host_config.hpp"
#include "host/host_discovery.hpp"
#include "lxc/container_config.hpp"
#include "lxc/lxc_container.hpp"
#include "plan/config.hpp"
#include "plan/host_check.hpp"
#include "plan/plan_file.hpp"
#include "plan/policy.hpp"

namespace phx::cli {
namespace {

std::string node_state(const HostRoot& root, const PlannedNode& n) {
  if (!n.pending.empty()) return "pending: " + n.pending;
  switch (match_host_node(stat_node(root.path(n.host_path)), n)) {
    case HostNodeMatch::Missing:
      return "missing (pre-start creates it)";
    case HostNodeMatch::NotCharDevice:
      return "not a device node (pre-start replaces it)";
    case HostNodeMatch::OtherRdev:
      return "stale (pre-start repairs it)";
    case HostNodeMatch::Planned:
      break;
  }
  return "present";
}

}  // namespace

int cmd_plan(const CommonOptions& common, const PlanOptions& opts) {
  const HostRoot root = common.host_root.empty() ? HostRoot::from_env() : HostRoot(common.host_root);
  const HostConfig config = host_config_or_defaults(BrokenConfig::Warn);

  ContainerPolicy policy = parse_policy("", config);
  std::string lxcpath = opts.lxcpath.empty() ? lxc_default_path() : opts.lxcpath;
  std::vector<std::string> config_warnings;
  if (!opts.name.empty()) {
    // Read as pre-start reads it: also a config this liblxc refuses.
    auto items = read_container_config(opts.name, lxcpath, "");
    if (!items) {
      std::cerr << "error: " << items.error().message() << "\n";
      return kFailure;
    }
    policy = parse_policy(environment_keys(items->values), config);
    if (auto lxc_refuses = environment_subkeys_refused(items->values)) config_warnings.push_back(*lxc_refuses);
    config_warnings.insert(config_warnings.end(), policy.warnings.begin(), policy.warnings.end());
    for (const auto& w : config_warnings) std::cerr << "warning: " << w << "\n";
  }
  if (opts.devices_given) policy.visible_devices = opts.devices;
  if (opts.capabilities_given) policy.capabilities = opts.capabilities;
  if (opts.name.empty() && !opts.devices_given) policy.visible_devices = "all";

  HostSnapshot host = discover_host(root);
  auto plan = make_plan(host, policy.plan_request());
  if (!plan) {
    if (common.json) {
      std::cout << nlohmann::json{{"ok", false}, {"error", plan.error().message()}}.dump(2) << "\n";
    } else {
      std::cerr << "error: " << plan.error().message() << "\n";
    }
    return kProblems;
  }
  PlanFile pf;
  pf.container = opts.name;
  pf.lxcpath = opts.name.empty() ? "" : lxcpath;
  pf.host_root = root.root();
  pf.required = policy.required;
  pf.plan = *plan;
  if (common.json) {
    auto j = nlohmann::json::parse(plan_to_json(pf));
    if (!opts.name.empty()) {
      j["visible_devices_key"] = policy.visible_devices_key;
      j["config_warnings"] = config_warnings;
    }
    nlohmann::json states = nlohmann::json::object();
    for (const auto& n : plan->nodes) states[n.host_path] = node_state(root, n);
    j["host_node_state"] = states;
    std::cout << j.dump(2) << "\n";
    return kOk;
  }
  if (!opts.name.empty()) std::cout << "container     " << opts.name << " (" << lxcpath << ")\n";
  if (!policy.visible_devices_key.empty()) {
    std::cout << "from          NVIDIA_VISIBLE_DEVICES in " << policy.visible_devices_key << "\n";
  }
  if (root.simulated()) std::cout << "host root     " << root.root() << " (simulated host)\n";
  if (!plan->enabled) {
    std::cout << "selection     NVIDIA_VISIBLE_DEVICES='" << policy.visible_devices
              << "': GPU support off (unset, empty or void); the hooks do nothing\n";
    return kOk;
  }
  std::cout << "driver        " << plan->driver_version << "\n"
            << "selection     NVIDIA_VISIBLE_DEVICES=" << policy.visible_devices
            << "  capabilities=" << plan->capabilities << (policy.required ? "  (required)" : "") << "\n"
            << "GPUs          " << (plan->gpus.empty() ? "none (control nodes only)\n" : "\n");
  if (!plan->gpus.empty()) std::cout << describe_gpus(plan->gpus) << "\n";
  std::cout << "nodes\n";
  for (const auto& n : plan->nodes) {
    char line[256];
    (void)std::snprintf(line, sizeof line, "  %-34s c %d:%-4d %04o %u:%u  %s\n", n.container_path.c_str(), n.major,
                        n.minor, static_cast<unsigned>(n.mode), n.uid, n.gid, node_state(root, n).c_str());
    std::cout << line;
  }
  std::cout << "cgroup rules  (each added at start only where the container's device cgroup denies the node)\n";
  for (const auto& r : plan->rules) std::cout << "  " << r.str() << "\n";
  for (const auto& w : plan->warnings) std::cout << "warning: " << w << "\n";
  return kOk;
}

}  // namespace phx::cli
