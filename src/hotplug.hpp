// Hot-plug: a node that appears on the host after the container started is
// bound into its running mount namespace (the technique Proxmox's device
// hot-plug uses: open_tree on the host, then setns and move_mount).
#pragma once

#include <sys/types.h>

#include <string>

#include "device_plan.hpp"
#include "error.hpp"

namespace phx {

// host_src is the node's path on the host (below the host root). Returns
// once the node is mounted at node.container_path inside the container, or
// was already there. init_pidfd names the container's init (init_pid only
// reaches its /proc entries): nothing is done unless that init is alive. A
// helper that does not finish within seconds is killed (error ETIMEDOUT).
Status hotplug_node(int init_pidfd, pid_t init_pid, const std::string& host_src, const PlannedNode& node);

}  // namespace phx
