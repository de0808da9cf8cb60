#include "cli/doctor.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdio>
#include <filesystem>
#include <set>

#include "base/mountinfo.hpp"
#include "base/spawn.hpp"
#include "base/text.hpp"
#include "lxc/container_config.hpp"
#include "lxc/lxc_config_reader.hpp"
#include "lxc/lxc_container.hpp"
#include "plan/config.hpp"
#include "plan/device_plan.hpp"
#include "plan/host_check.hpp"

namespace phx {

const char* to_string(Finding::Severity s) {
  switch (s) {
    case Finding::Severity::Ok:
      return "ok";
    case Finding::Severity::Info:
      return "info";
    case Finding::Severity::Warning:
      return "warning";
    case Finding::Severity::Error:
      return "error";
  }
  return "?";
}

bool DoctorReport::has_problems() const {
  for (const auto& f : findings)
    if (f.severity == Finding::Severity::Warning || f.severity == Finding::Severity::Error) return true;
  return false;
}

std::string detect_cgroup_layout(const HostRoot& root) {
  auto mounts = read_mountinfo(root.path("/proc/self/mountinfo"));
  if (!mounts) return "unknown";
  bool v1_devices = false, v2_root = false;
  for (const auto& m : *mounts) {
    if (m.fstype == "cgroup" && m.has_option("devices")) v1_devices = true;
    if (m.fstype == "cgroup2" && m.mount_point == "/sys/fs/cgroup") v2_root = true;
  }
  if (v1_devices) return "cgroup v1 devices controller";
  if (v2_root) return "cgroup2 (BPF device programs)";
  return "unknown";
}

std::vector<Finding> environment_key_findings(const std::string& lxc_version, bool lxc_knows_subkeys,
                                              const std::vector<std::string>& lxcpaths) {
  using S = Finding::Severity;
  std::vector<Finding> out;
  if (lxc_knows_subkeys) {
    out.push_back(
        {S::Ok,
         "lxc",
         "liblxc " + lxc_version +
             " knows lxc.environment.runtime and lxc.environment.hooks; the hooks read NVIDIA_* from all three "
             "environment keys, PHOENIX_GPU_* from lxc.environment and .hooks",
         {}});
    return out;
  }
  out.push_back({S::Info,
                 "lxc",
                 "liblxc " + lxc_version +
                     " does not know lxc.environment.runtime or lxc.environment.hooks (LXC 7.0 and Proxmox's lxc-pve "
                     ">= 6.0.5 do): a container config that uses them does not start; use lxc.environment",
                 {}});
  std::set<std::string> seen;
  for (const auto& path : lxcpaths) {
    if (path.empty() || !seen.insert(path).second) continue;
    std::error_code ec;
    std::filesystem::directory_iterator it(path, ec), end;
    std::size_t n = 0;
    for (; !ec && it != end && n < 4096; it.increment(ec), ++n) {
      const std::string config = it->path().string() + "/config";
      struct stat st {};
      if (::stat(config.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      LxcConfigRead r = read_lxc_config(config);
      if (r.outcome != LxcConfigRead::Outcome::Read || !r.values.environment_subkeys) continue;
      out.push_back({S::Warning, "lxc",
                     "container " + it->path().filename().string() + " (" + path +
                         "): its config uses lxc.environment.runtime or lxc.environment.hooks, which liblxc " +
                         lxc_version + " refuses: the container does not start",
                     "move those lines to lxc.environment (Proxmox VE 8: 'lxc.environment: NVIDIA_VISIBLE_DEVICES=all' "
                     "in /etc/pve/lxc/ID.conf), or upgrade to an LXC that knows the keys"});
    }
  }
  return out;
}

namespace {

using S = Finding::Severity;

void append(std::vector<Finding>& to, std::vector<Finding> from) {
  for (auto& f : from) to.push_back(std::move(f));
}

}  // namespace

std::vector<Finding> config_findings(const Result<HostConfig>& cfg) {
  if (!cfg) {
    return {{S::Error, "config", cfg.error().message(), "fix the file; the hooks use built-in defaults until then"}};
  }
  std::vector<Finding> out;
  for (const auto& w : cfg->warnings) out.push_back({S::Warning, "config", w, "remove or correct the key"});
  return out;
}

std::vector<Finding> driver_findings(const HostRoot& root, const HostSnapshot& h) {
  std::vector<Finding> out;
  if (!h.driver_loaded) {
    out.push_back({S::Error, "driver",
                   "the NVIDIA driver is not loaded (" + root.path("/proc/driver/nvidia/version") + " is missing)",
                   "install the driver and run 'modprobe nvidia'; 'dmesg | grep -i nvrm' shows why it failed to load"});
  } else if (h.driver) {
    out.push_back({S::Ok,
                   "driver",
                   "driver " + h.driver->version +
                       (h.driver->open_module ? " (open kernel module)" : " (proprietary kernel module)"),
                   {}});
  }
  for (const auto& p : h.problems) out.push_back({S::Warning, "driver", p.message(), "check the driver installation"});
  return out;
}

std::vector<Finding> gpu_findings(const HostSnapshot& h) {
  std::vector<Finding> out;
  for (const auto& p : h.gpu_problems) {
    out.push_back(
        {S::Error, "gpus", p.message(), "the driver publishes malformed GPU information; reinstall or upgrade it"});
  }
  if (h.driver_loaded && h.gpus.empty() && h.gpu_problems.empty()) {
    out.push_back({S::Error, "gpus", "the driver is loaded but lists no GPU", "check 'lspci -d 10de:' and dmesg"});
  }
  for (const auto& g : h.gpus) {
    std::string desc = g.uuid + " at " + g.bus_location + " (" + (g.model.empty() ? "?" : g.model) +
                       ") -> /dev/nvidia" + std::to_string(g.device_minor);
    if (g.excluded) {
      out.push_back({S::Info, "gpus", "excluded: " + desc, {}});
      continue;
    }
    out.push_back({S::Ok, "gpus", "GPU " + std::to_string(g.index) + ": " + desc, {}});
    if (g.index != g.device_minor) {
      out.push_back({S::Info,
                     "gpus",
                     "GPU index " + std::to_string(g.index) + " uses /dev/nvidia" + std::to_string(g.device_minor) +
                         ": index and node number differ on this host (handled; hand-written configs get this wrong)",
                     {}});
    }
  }
  return out;
}

std::vector<Finding> major_findings(const HostSnapshot& h) {
  std::vector<Finding> out;
  if (!h.driver_loaded) return out;
  if (auto nv = h.majors.nvidia()) {
    out.push_back({S::Ok,
                   "majors",
                   "nvidia " + std::to_string(*nv) + (h.majors.get("nvidia") ? "" : " (named nvidia-frontend)"),
                   {}});
  } else {
    out.push_back({S::Error, "majors", "no 'nvidia' character device in /proc/devices", "reload the driver"});
  }
  for (const char* name :
       {"nvidia-uvm", "nvidia-caps", "nvidia-caps-imex-channels", "nvidia-nvswitch", "nvidia-nvlink"}) {
    if (auto m = h.majors.get(name)) {
      out.push_back({S::Ok, "majors", std::string(name) + " " + std::to_string(*m) + " (dynamic)", {}});
    }
  }
  if (!h.majors.get("nvidia-uvm")) {
    out.push_back({S::Warning, "modules", "nvidia_uvm is not loaded: CUDA cannot run until it is",
                   "'modprobe nvidia_uvm' (the pre-start hook does it for containers that want compute)"});
  }
  return out;
}

Finding node_finding(const std::string& path, const NodeState& st, const PlannedNode& n) {
  char want[32];
  (void)std::snprintf(want, sizeof want, "%d:%d", n.major, n.minor);
  switch (match_host_node(st, n)) {
    case HostNodeMatch::Missing:
      return {S::Warning, "nodes", path + " is missing (want c " + want + ")",
              "start a container with the hooks, or run 'nvidia-modprobe -c0 -u' on the host"};
    case HostNodeMatch::NotCharDevice:
      return {S::Error, "nodes", path + " is not a character device (a placeholder file left by a failed bind?)",
              "remove it; the pre-start hook recreates it"};
    case HostNodeMatch::OtherRdev:
      return {S::Error, "nodes",
              path + " is stale: " + std::to_string(major(st.rdev)) + ":" + std::to_string(minor(st.rdev)) + ", want " +
                  want,
              "remove it; the pre-start hook recreates it with the live major"};
    case HostNodeMatch::Planned:
      break;
  }
  if (st.mode != n.mode || st.uid != n.uid || st.gid != n.gid) {
    char got[64];
    (void)std::snprintf(got, sizeof got, "%04o %u:%u, want %04o %u:%u", st.mode, st.uid, st.gid, n.mode, n.uid, n.gid);
    return {S::Warning, "nodes", path + " has mode/owner " + got, "the pre-start hook repairs it at the next start"};
  }
  return {S::Ok, "nodes", path + " c " + want, {}};
}

std::vector<Finding> node_findings(const HostRoot& root, const HostSnapshot& h) {
  std::vector<Finding> out;
  if (!h.driver_loaded || !h.majors.nvidia()) return out;
  // Nodes the hooks would plan for every GPU with compute and utility.
  PlanRequest req{"all", "compute,utility", false, false};
  if (module_loaded(root, h, "nvidia_modeset")) req.driver_capabilities += ",display";
  if (auto plan = make_plan(h, req)) {
    for (const auto& n : plan->nodes) {
      const std::string path = root.path(n.host_path);
      out.push_back(node_finding(path, stat_node(path), n));
    }
  }
  return out;
}

DoctorReport run_doctor(const HostRoot& root, const std::vector<std::string>& lxcpaths) {
  DoctorReport r;
  r.host = discover_host(root);
  append(r.findings, config_findings(load_host_config(config_path())));
  append(r.findings, driver_findings(root, r.host));
  append(r.findings, gpu_findings(r.host));
  append(r.findings, major_findings(r.host));
  append(r.findings, node_findings(root, r.host));

  r.cgroup_layout = detect_cgroup_layout(root);
  r.findings.push_back(
      {r.cgroup_layout == "unknown" ? S::Info : S::Ok, "cgroup", "device cgroup: " + r.cgroup_layout, {}});

  r.lxc_version = lxc_version();
  r.findings.push_back({S::Ok, "lxc", "liblxc " + r.lxc_version, {}});
  const LiblxcSupport& support = liblxc_support();
  r.lxc_environment_subkeys = support.error.empty() && support.environment_subkeys;
  std::vector<std::string> paths{"/var/lib/lxc", lxc_default_path()};
  paths.insert(paths.end(), lxcpaths.begin(), lxcpaths.end());
  append(r.findings, environment_key_findings(r.lxc_version, r.lxc_environment_subkeys, paths));

  r.worker_via_systemd = worker_via_systemd();
  r.findings.push_back({S::Info, "worker", worker_placement(r.worker_via_systemd), {}});
  return r;
}

std::string worker_placement(bool via_systemd) {
  return via_systemd
             ? "the worker starts as a transient systemd unit (systemd-run --unit=phoenix-gpu-worker-NAME-PID); "
               "if systemd-run fails it starts in the cgroup phoenix-gpu-hooks and its log says why"
             : "the worker starts in the cgroup phoenix-gpu-hooks (systemd is not PID 1, systemd-run is missing, or "
               "PHOENIX_GPU_NO_SYSTEMD is set)";
}

}  // namespace phx
