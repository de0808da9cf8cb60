#include "stages/pre_start_decisions.hpp"

#include <algorithm>

#include "base/logging.hpp"

namespace phx {

bool has_gpu_selection(const Result<GpuSelection>& sel) { return !(sel && sel->kind == GpuSelection::Kind::Void); }

bool should_load_uvm(const Result<DriverCapabilities>& caps, const HostSnapshot& host, bool load_modules) {
  return caps && caps->needs_uvm() && !host.majors.get("nvidia-uvm") && load_modules;
}

HostNodeStep decide_host_node(const PlannedNode& node, bool create, bool modify_allowed,
                              std::optional<int> nvidia_major) {
  if (node.major == 0) return HostNodeStep::Skip;
  if (!create || (!modify_allowed && node.major == nvidia_major.value_or(-1))) return HostNodeStep::CheckOnly;
  return HostNodeStep::Ensure;
}

std::string unmet_requirements(const std::vector<std::string>& unmet) {
  std::string all;
  for (const auto& u : unmet) all += (all.empty() ? "" : "; ") + u;
  return all;
}

std::string plan_summary(const DevicePlan& plan, const HostNodeTally& tally, double ms) {
  const auto pending =
      std::count_if(plan.nodes.begin(), plan.nodes.end(), [](const PlannedNode& n) { return !n.pending.empty(); });
  std::string names;
  for (const auto& n : plan.nodes) names += (names.empty() ? "" : " ") + n.container_path.substr(5);
  return fmt::format("plan: {} GPU(s), {} node(s) [{}], driver {}{}{} in {:.1f} ms", plan.gpus.size(),
                     plan.nodes.size(), names, plan.driver_version,
                     (tally.missing ? ", " + std::to_string(tally.missing) + " missing" : "") +
                         (pending ? ", " + std::to_string(pending) + " pending" : ""),
                     tally.failed ? ", " + std::to_string(tally.failed) + " failed" : "", ms);
}

}  // namespace phx
