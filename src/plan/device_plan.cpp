#include "plan/device_plan.hpp"

#include <sys/sysmacros.h>

#include <algorithm>

namespace phx {

dev_t PlannedNode::rdev() const { return makedev(static_cast<unsigned>(major), static_cast<unsigned>(minor)); }
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
  if (n.major > 0) add_rule(plan, n.major, n.minor);
  plan.nodes.push_back(std::move(n));
}

}  // namespace

const char* const kUvmPending =
    "the nvidia_uvm module is not loaded (no 'nvidia-uvm' in /proc/devices); CUDA will fail. Fix: modprobe nvidia_uvm";
const char* const kModesetPending = "the nvidia_modeset module is not loaded. Fix: modprobe nvidia_modeset";
const char* const kCapsPending =
    "no 'nvidia-caps' major in /proc/devices (the driver has not registered its capability devices)";

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
    return PlannedNode{"/dev/" + name, "/dev/" + name, *nv_major, minor, params.mode,
                       params.uid,     params.gid,     role,      uuid,  ""};
  };

  add_node(plan, nv_node("nvidiactl", kCtlMinor, "ctl", ""));
  for (const auto& g : plan.gpus) {
    add_node(plan, nv_node("nvidia" + std::to_string(g.device_minor), g.device_minor, "gpu", g.uuid));
  }
  if (caps->needs_uvm()) {
    // Without the module its major is unknown: the nodes stay in the plan,
    // pending, so the container is not "verified" without them.
    const int uvm = host.majors.get("nvidia-uvm").value_or(0);
    const std::string why = uvm ? "" : kUvmPending;
    // nvidia-modprobe ignores params for the uvm nodes: always 0666 root.
    add_node(plan, PlannedNode{"/dev/nvidia-uvm", "/dev/nvidia-uvm", uvm, 0, 0666, 0, 0, "uvm", "", why});
    add_node(plan,
             PlannedNode{"/dev/nvidia-uvm-tools", "/dev/nvidia-uvm-tools", uvm, 1, 0666, 0, 0, "uvm-tools", "", why});
  }
  if (caps->display) {
    // The node is the nvidia module's, but only nvidia_modeset answers it.
    PlannedNode n = nv_node("nvidia-modeset", kModesetMinor, "modeset", "");
    if (host.modules_known && !host.modules.count("nvidia_modeset")) n.pending = kModesetPending;
    add_node(plan, std::move(n));
  }

  // The minors come from /proc/driver/nvidia/capabilities; the major may be
  // missing while the driver still sets itself up: then they are pending.
  const int cap_major = host.majors.get("nvidia-caps").value_or(0);
  auto add_cap = [&](const CapFile& c, const std::string& uuid) {
    const std::string name = "nvidia-caps/nvidia-cap" + std::to_string(c.minor);
    add_node(plan, PlannedNode{"/dev/" + name, "/dev/" + name, cap_major, c.minor, c.mode, 0, 0, "cap", uuid,
                               cap_major ? "" : kCapsPending});
  };
  for (const auto& c : host.caps) {
    if ((c.name == "mig/config" && req.mig_config) || (c.name == "mig/monitor" && req.mig_monitor)) add_cap(c, "");
    for (const auto& g : plan.gpus) {
      // Per-GPU MIG access caps exist only for GPU and compute instances
      // that have been created; the directory is named after the minor.
      if (c.name.starts_with("gpu" + std::to_string(g.device_minor) + "/")) add_cap(c, g.uuid);
    }
  }
  for (const std::string which : {"config", "monitor"}) {
    const bool wanted = which == "config" ? req.mig_config : req.mig_monitor;
    const bool present =
        std::any_of(host.caps.begin(), host.caps.end(), [&](const CapFile& c) { return c.name == "mig/" + which; });
    if (wanted && !present) {
      plan.warnings.push_back("NVIDIA_MIG_" + std::string(which == "config" ? "CONFIG" : "MONITOR") +
                              "_DEVICES is set but the driver offers no mig/" + which +
                              " capability (/proc/driver/nvidia/capabilities/mig/" + which + ")");
    }
  }
  return plan;
}

}  // namespace phx
