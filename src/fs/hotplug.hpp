// Hot-plug: a node that appears on the host after the container started is
// bound into its running mount namespace (the technique Proxmox's device
// hot-plug uses: open_tree on the host, then setns and move_mount).
#pragma once

#include <string>

#include "base/error.hpp"
#include "base/init_process.hpp"
#include "plan/device_plan.hpp"

namespace phx {

// host_src is the node's path on the host (below the host root). Returns
// once the node is mounted at node.container_path inside the container, or
// was already there. The container is entered through init's pidfd, so a
// node never lands in a process that took init's number after it exited. A
// helper that does not finish within seconds is killed (error ETIMEDOUT).
Status hotplug_node(const InitProcess& init, const std::string& host_src, const PlannedNode& node);

}  // namespace phx
