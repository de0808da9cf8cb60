#include "plan/host_check.hpp"

#include <algorithm>
#include <optional>

namespace phx {

HostNodeMatch match_host_node(const NodeState& st, const PlannedNode& node) {
  if (st.kind == NodeState::Kind::Missing) return HostNodeMatch::Missing;
  if (st.kind != NodeState::Kind::CharDevice) return HostNodeMatch::NotCharDevice;
  return st.rdev == node.rdev() ? HostNodeMatch::Planned : HostNodeMatch::OtherRdev;
}
namespace {

// The /proc/devices entry a node's major comes from, and that entry now.
struct MajorSource {
  std::string name;
  std::optional<int> major;
};

MajorSource major_source(const PlannedNode& n, const HostSnapshot& host) {
  if (n.role == "uvm" || n.role == "uvm-tools") return {"nvidia-uvm", host.majors.get("nvidia-uvm")};
  if (n.role == "cap") return {"nvidia-caps", host.majors.get("nvidia-caps")};
  return {"nvidia", host.majors.nvidia()};
}

bool modeset_missing(const PlannedNode& n, const HostSnapshot& host) {
  return n.role == "modeset" && host.modules_known && !host.modules.count("nvidia_modeset");
}

}  // namespace

bool resolve_pending(PlannedNode& node, const HostSnapshot& host) {
  if (node.pending.empty()) return true;
  if (modeset_missing(node, host)) return false;
  if (node.major == 0) {
    auto src = major_source(node, host);
    if (!src.major) return false;
    node.major = *src.major;
  }
  node.pending.clear();
  return true;
}

std::string host_node_problem(const PlannedNode& node, const HostSnapshot& host) {
  if (!host.driver_loaded) return "the NVIDIA driver is no longer loaded on the host (no /proc/driver/nvidia/version)";
  if (node.role == "gpu" && !node.gpu_uuid.empty()) {
    const bool there =
        std::any_of(host.gpus.begin(), host.gpus.end(), [&](const GpuInfo& g) { return g.uuid == node.gpu_uuid; });
    if (!there) {
      return "GPU " + node.gpu_uuid +
             " is no longer on the host (no /proc/driver/nvidia/gpus entry: fallen off the bus?). "
             "Fix: check 'dmesg | grep -i xid', reset or reboot, then restart the container";
    }
  }
  const auto src = major_source(node, host);
  if (!src.major) {
    return "'" + src.name +
           "' is no longer registered in /proc/devices (its module was unloaded). Fix: load it, then "
           "restart the container";
  }
  if (*src.major != node.major) {
    return "'" + src.name + "' now has major " + std::to_string(*src.major) + ", the node was planned as " +
           std::to_string(node.major) + ":" + std::to_string(node.minor) +
           " (the module was reloaded): its rdev is stale. Fix: restart the container";
  }
  if (modeset_missing(node, host)) return "the nvidia_modeset module is no longer loaded. Fix: modprobe nvidia_modeset";
  return "";
}

}  // namespace phx
