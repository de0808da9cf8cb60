// Creating and repairing the host's NVIDIA nodes: the job nvidia-modprobe
// does, since the kernel creates none of them.
#pragma once

#include <string>

#include "base/error.hpp"
#include "host/host_root.hpp"
#include "plan/device_plan.hpp"

namespace phx {

enum class NodeAction { Present, Created, Repaired, Failed };
const char* to_string(NodeAction a);

struct NodeOutcome {
  NodeAction action = NodeAction::Failed;
  std::string detail;  // what was wrong before a repair, or the error
};

// Makes <root><host_path> a char node with the planned rdev, mode and owner.
// A node with a wrong rdev (stale after a module reload), a placeholder file
// or a symlink is replaced; a directory in the way is an error.
NodeOutcome ensure_host_node(const HostRoot& root, const PlannedNode& node);

}  // namespace phx
