// Host diagnosis: each finding with what is wrong and the fix in words.
#pragma once

#include <string>
#include <vector>

#include "host_discovery.hpp"
#include "host_root.hpp"

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
  bool worker_via_systemd = false;  // spawn_detached asks systemd-run first
  std::vector<Finding> findings;
  bool has_problems() const;  // any Warning or Error
};

DoctorReport run_doctor(const HostRoot& root);

// Detects the device cgroup layout from <root>/proc/self/mountinfo.
std::string detect_cgroup_layout(const HostRoot& root);

}  // namespace phx
