#include "device_plan.hpp"

#include <algorithm>

namespace phx {
namespace {

// Fixed by the driver (nvidia-modprobe-utils.h).
constexpr int kCtlMinor = 255;
constexpr int kModesetMinor = 254;

// "rw", not "rwm": without mknod rights the container cannot make nodes for
// GPUs it was not given (the NVIDIA userspace driver tries to when one is
// missing); the nodes it gets are bind-mounted in from the host.
void add_rule(DevicePlan& plan, int major, int minor) {
  CgroupRule r{'c', major, minor, "rw"};
  if (std::find(plan.rules.begin(), plan.rules.end(), r) == plan.rules.end()) plan.rules.push_back(r);
}

void add_node(DevicePlan& plan, PlannedNode n) {
  add_rule(plan, n.major, n.minor);
  plan.nodes.push_back(std::move(n));
}

}  // namespace

std::string CgroupRule::str() const {
  return std::string(1, type) + " " + std::to_string(major) + ":" + (minor < 0 ? "*" : std::to_string(minor)) + " " +
         access;
}

Result<DevicePlan> make_plan(const HostSnapshot& host, const PlanRequest& req) {
  auto sel = parse_visible_devices(req.visible_devices);
  if (!sel) return sel.error();
  auto caps = parse_driver_capabilities(req.driver_capabilities);
  if (!caps) return caps.error();

  DevicePlan plan;
  plan.visible_devices = req.visible_devices;
  plan.capabilities = caps->str();
  if (sel->kind == GpuSelection::Kind::Void) return plan;
  plan.enabled = true;

  if (!host.driver_loaded) {
    return Error{"plan", "/proc/driver/nvidia/version", ENOENT,
                 "the NVIDIA driver is not loaded: load it with 'modprobe nvidia' (or install the driver)"};
  }
  if (host.driver) plan.driver_version = host.driver->version;
  if (!host.gpu_problems.empty()) {
    return Error{"plan", "/proc/driver/nvidia/gpus", 0,
                 "GPU information unreadable, refusing to guess GPU order: " + host.gpu_problems.front().message()};
  }
  auto nv_major = host.majors.nvidia();
  if (!nv_major) {
    return Error{"plan", "/proc/devices", 0, "no 'nvidia' (or 'nvidia-frontend') character device is registered"};
  }
  auto gpus = resolve_selection(*sel, host.gpus);
  if (!gpus) return gpus.error();
  plan.gpus = *gpus;

  const DeviceFileParams params = host.params.value_or(DeviceFileParams{});
  auto nv_node = [&](const std::string& name, int minor, const std::string& role, const std::string& uuid) {
    return PlannedNode{"/dev/" + name, "/dev/" + name, *nv_major, minor, params.mode, params.uid, params.gid, role, uuid};
  };

  add_node(plan, nv_node("nvidiactl", kCtlMinor, "ctl", ""));
  for (const auto& g : plan.gpus) {
    add_node(plan, nv_node("nvidia" + std::to_string(g.device_minor), g.device_minor, "gpu", g.uuid));
  }
  if (caps->needs_uvm()) {
    if (auto uvm = host.majors.get("nvidia-uvm")) {
      // nvidia-modprobe ignores params for the uvm nodes: always 0666 root.
      add_node(plan, PlannedNode{"/dev/nvidia-uvm", "/dev/nvidia-uvm", *uvm, 0, 0666, 0, 0, "uvm", ""});
      add_node(plan, PlannedNode{"/dev/nvidia-uvm-tools", "/dev/nvidia-uvm-tools", *uvm, 1, 0666, 0, 0, "uvm-tools", ""});
    } else {
      plan.warnings.push_back("no /dev/nvidia-uvm: the nvidia_uvm module is not loaded (no 'nvidia-uvm' in "
                              "/proc/devices); CUDA will fail. Fix: modprobe nvidia_uvm");
    }
  }
  if (caps->display) {
    add_node(plan, nv_node("nvidia-modeset", kModesetMinor, "modeset", ""));
  }

  auto cap_major = host.majors.get("nvidia-caps");
  auto add_cap = [&](const CapFile& c, const std::string& uuid) {
    const std::string name = "nvidia-caps/nvidia-cap" + std::to_string(c.minor);
    add_node(plan, PlannedNode{"/dev/" + name, "/dev/" + name, *cap_major, c.minor, c.mode, 0, 0, "cap", uuid});
  };
  for (const auto& c : host.caps) {
    if (!cap_major) break;
    if ((c.name == "mig/config" && req.mig_config) || (c.name == "mig/monitor" && req.mig_monitor)) add_cap(c, "");
    for (const auto& g : plan.gpus) {
      // Per-GPU MIG access caps exist only for GPU and compute instances
      // that have been created; the directory is named after the minor.
      if (c.name.starts_with("gpu" + std::to_string(g.device_minor) + "/")) add_cap(c, g.uuid);
    }
  }
  if (!cap_major && !host.caps.empty()) {
    plan.warnings.push_back("MIG capabilities exist but no 'nvidia-caps' major is registered: MIG nodes skipped");
  }
  return plan;
}

}  // namespace phx
