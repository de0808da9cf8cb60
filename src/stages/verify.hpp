// Checks run inside the container's namespaces and cgroup by our own code
// (liblxc attach with a function; never a container binary): every planned
// node exists, is a char device with the planned rdev, and opens.
#pragma once

#include <string>
#include <vector>

#include "base/error.hpp"
#include "host/host_discovery.hpp"
#include "plan/device_plan.hpp"
#include "plan/status_file.hpp"

namespace phx {

class LxcContainer;

// The check itself, on the calling process's view of the filesystem. It is
// what the attached function runs; tests call it directly.
NodeCheck check_node(const PlannedNode& node);

// `ls -la` lines for dir (type and mode, links, owner, major:minor or size,
// name, link target), without following symlinks; at most max_entries.
std::string list_directory(const std::string& dir, std::size_t max_entries = 400);

// Runs check_node for each node inside the running container.
Result<std::vector<NodeCheck>> verify_in_container(LxcContainer& c, const std::vector<PlannedNode>& nodes);

// One result per planned node, in plan order: pending nodes as "pending"
// (not looked for), `ready` (the checks of the others, in order) where a
// passing one becomes "host-changed" if the host no longer backs it.
std::vector<NodeCheck> merge_checks(const std::vector<PlannedNode>& nodes, const std::vector<NodeCheck>& ready,
                                    const HostSnapshot& host);

// What verified means: the not-pending nodes checked inside the container,
// all of them against the host below `root` (merge_checks).
Result<std::vector<NodeCheck>> verify_plan(LxcContainer& c, const std::vector<PlannedNode>& nodes,
                                           const HostRoot& root);

// list_directory("/dev") and its subdirectories, inside the container.
Result<std::string> list_dev_in_container(LxcContainer& c);

// What a failed check means and how to fix it, for the warning.
std::string explain(const NodeCheck& check);

}  // namespace phx
