#include "stages/worker_decisions.hpp"

#include "plan/host_check.hpp"

namespace phx {

CgroupRule rule_for(const PlannedNode& node) { return CgroupRule{'c', node.major, node.minor, "rw"}; }

FixAction decide_fix(const NodeCheck& check, const PlannedNode& node, const NodeState& host_node, bool hotplug_stalled,
                     bool have_cgroup) {
  switch (check.result) {
    case NodeResult::Missing:
    case NodeResult::WrongType:  // an unfilled placeholder is a fine mount target
      if (match_host_node(host_node, node) != HostNodeMatch::Planned) return FixAction::WaitForHost;
      return hotplug_stalled ? FixAction::None : FixAction::HotPlug;
    case NodeResult::Denied:
      return have_cgroup ? FixAction::AllowRule : FixAction::None;
    default:
      return FixAction::None;
  }
}

bool waiting_only_for_host(const std::vector<NodeCheck>& checks, const std::vector<PlannedNode>& nodes,
                           const std::function<NodeState(const PlannedNode&)>& host_node, bool simulated) {
  bool any = false;
  for (std::size_t i = 0; i < checks.size() && i < nodes.size(); ++i) {
    if (checks[i].passed(simulated)) continue;
    if (checks[i].result == NodeResult::Pending) {
      any = true;  // resolved by the worker's own look at the host each turn
      continue;
    }
    if (checks[i].result != NodeResult::Missing && checks[i].result != NodeResult::WrongType) return false;
    if (host_node(nodes[i]).kind == NodeState::Kind::CharDevice) return false;
    any = true;
  }
  return any;
}

bool RecheckBudget::another(std::size_t passed) {
  if (passed > most_passed_) {
    most_passed_ = passed;
    used_ = 0;
  }
  return used_++ < max_;
}

}  // namespace phx
