// The worker's decisions, apart from the container and the cgroup they act
// on: what to do about a node that failed its check, whether only the host
// is still missing something, and how many quick re-checks a run may make.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "host/host_discovery.hpp"
#include "plan/device_plan.hpp"
#include "plan/status_file.hpp"

namespace phx {

// The device cgroup rule a planned node needs.
CgroupRule rule_for(const PlannedNode& node);

enum class FixAction {
  None,         // passes, or nothing we can do (an error, another rdev inside)
  WaitForHost,  // missing inside because the host has not made it yet
  HotPlug,      // missing inside, now on the host: bind it into the running container
  AllowRule,    // denied by the device cgroup: allow it (through the monitor on cgroup2)
};

// host_node: the planned node's host path, as stat_node sees it now.
// hotplug_stalled: an earlier hot-plug helper did not come back (it may be
// stuck in the kernel on a FUSE /dev): no second one is sent after it.
FixAction decide_fix(const NodeCheck& check, const PlannedNode& node, const NodeState& host_node, bool hotplug_stalled,
                     bool have_cgroup);

// True when every failing node is pending or missing on the host: the
// container need not be entered again until the host changes (each attach
// briefly puts a process in its cgroup, which a stop at that moment would
// leave behind).
bool waiting_only_for_host(const std::vector<NodeCheck>& checks, const std::vector<PlannedNode>& nodes,
                           const std::function<NodeState(const PlannedNode&)>& host_node, bool simulated);

// Quick re-checks in a row that made no node pass are bounded, so a rule
// that does not take (an explicit deny in the config) cannot busy-loop;
// every check that passes more nodes than before resets the count.
class RecheckBudget {
 public:
  explicit RecheckBudget(int max_without_progress = 3) : max_(max_without_progress) {}
  // After a fix: may the worker check again at once, with `passed` nodes
  // passing in the check that led to the fix?
  bool another(std::size_t passed);

 private:
  int max_;
  int used_ = 0;
  std::size_t most_passed_ = 0;
};

}  // namespace phx
