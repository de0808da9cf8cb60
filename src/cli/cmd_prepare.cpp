#include <iostream>

#include "cli/commands.hpp"
#include "cli/host_config.hpp"
#include "fs/host_nodes.hpp"
#include "host/modules.hpp"
#include "plan/config.hpp"
#include "stages/pre_start.hpp"

namespace phx::cli {

int cmd_prepare_host(const CommonOptions& common) {
  const HostRoot root = common.host_root.empty() ? HostRoot::from_env() : HostRoot(common.host_root);
  const HostConfig config = host_config_or_defaults(BrokenConfig::Warn);

  HostSnapshot host = wait_for_driver(root, config.driver_wait, config.load_modules);
  if (!host.driver_loaded) {
    std::cerr << "error: the NVIDIA driver is not loaded (no " << root.path("/proc/driver/nvidia/version")
              << "). Fix: install the driver or 'modprobe nvidia'\n";
    return kProblems;
  }
  if (!host.majors.get("nvidia-uvm") && config.load_modules) {
    if (auto ok = load_module(root, "nvidia_uvm", std::chrono::seconds(10)); !ok) {
      std::cerr << "warning: " << ok.error().message() << "\n";
    } else {
      host = discover_host(root);
    }
  }
  PlanRequest req{"all", "compute,utility", false, false};
  if (module_loaded(root, host, "nvidia_modeset")) req.driver_capabilities += ",display";
  auto plan = make_plan(host, req);
  if (!plan) {
    std::cerr << "error: " << plan.error().message() << "\n";
    return kProblems;
  }
  for (const auto& w : plan->warnings) std::cerr << "warning: " << w << "\n";
  int failed = 0;
  for (const auto& n : plan->nodes) {
    NodeOutcome out = ensure_host_node(root, n);
    if (out.action == NodeAction::Failed) ++failed;
    std::cout << to_string(out.action) << " " << root.path(n.host_path) << " c " << n.major << ":" << n.minor
              << (out.detail.empty() ? "" : " (" + out.detail + ")") << "\n";
  }
  return failed || !plan->warnings.empty() ? kProblems : kOk;
}

}  // namespace phx::cli
