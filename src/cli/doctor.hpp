// Host diagnosis: each finding with what is wrong and the fix in words.
#pragma once

#include <string>
#include <vector>

#include "host/host_discovery.hpp"
#include "host/host_root.hpp"
#include "plan/config.hpp"
#include "plan/device_plan.hpp"

namespace phx {

struct Finding {
  enum class Severity { Ok, Info, Warning, Error };
  Severity severity = Severity::Ok;
  std::string topic;  // driver | gpus | majors | nodes | modules | cgroup | lxc | config
  std::string message;
  std::string fix;  // empty for Ok/Info
};
const char* to_string(Finding::Severity s);

struct DoctorReport {
  HostSnapshot host;
  std::string cgroup_layout;  // "cgroup v1 devices controller" | "cgroup2 (BPF device programs)" | "unknown"
  std::string lxc_version;
  bool worker_via_systemd = false;       // spawn_detached asks systemd-run first
  bool lxc_environment_subkeys = false;  // liblxc knows lxc.environment.runtime and .hooks
  std::vector<Finding> findings;
  bool has_problems() const;  // any Warning or Error
};

// lxcpaths: where to look for containers besides /var/lib/lxc and LXC's
// default lxcpath.
DoctorReport run_doctor(const HostRoot& root, const std::vector<std::string>& lxcpaths = {});

// What the environment keys mean on this LXC: one finding for the host
// (whether liblxc knows lxc.environment.runtime and .hooks) and, where it
// does not, a warning for each container in `lxcpaths` whose config uses
// them (LXC refuses to start it). The configs are read with
// lxc_config_reader, not liblxc, which would refuse them.
std::vector<Finding> environment_key_findings(const std::string& lxc_version, bool lxc_knows_subkeys,
                                              const std::vector<std::string>& lxcpaths);

// The doctor's checks, one topic each, in the order run_doctor makes them.
// Each reads only what it is given (the host snapshot, a node's lstat).
std::vector<Finding> config_findings(const Result<HostConfig>& cfg);
std::vector<Finding> driver_findings(const HostRoot& root, const HostSnapshot& h);
std::vector<Finding> gpu_findings(const HostSnapshot& h);
std::vector<Finding> major_findings(const HostSnapshot& h);  // majors, and whether nvidia_uvm is loaded
// One planned node against its host node (st: stat_node of path).
Finding node_finding(const std::string& path, const NodeState& st, const PlannedNode& n);
// The nodes the hooks would plan for every GPU (compute, utility, and
// display where nvidia_modeset is loaded), each stat'ed on the host.
std::vector<Finding> node_findings(const HostRoot& root, const HostSnapshot& h);
// Where the worker runs, in words.
std::string worker_placement(bool via_systemd);

// Detects the device cgroup layout from <root>/proc/self/mountinfo.
std::string detect_cgroup_layout(const HostRoot& root);

}  // namespace phx
