// status.json: what the post-start worker found, per container.
#pragma once

#include <string>
#include <vector>

#include "error.hpp"

namespace phx {

inline constexpr int kStatusFormatVersion = 1;

// One planned node as seen from inside the container.
struct NodeCheck {
  std::string path;
  // ok | no-driver (allowed, but no driver behind it: simulated hosts only)
  // | denied | missing | wrong-type | wrong-rdev | error
  std::string result;
  int err = 0;
  std::string detail;
  bool hotplugged = false;
  bool passed(bool simulated_host) const { return result == "ok" || (simulated_host && result == "no-driver"); }
};

struct DriverStage {
  std::string state = "pending";  // pending | off | current | installed | failed | timeout | no-installer | skipped
  std::string strategy;
  std::string host_version;
  std::string container_version;
  int exit_code = 0;
  long long duration_ms = 0;
  std::string message;
  std::string output_tail;
};

struct GpuStatus {
  std::string container;
  std::string lxcpath;
  // starting | waiting | verifying | verified | timeout | failed | stopped
  std::string state = "starting";
  std::string message;
  int worker_pid = 0;
  std::string cgroup;
  long long started_unix_ms = 0;   // when post-start ran
  long long running_unix_ms = 0;   // when the container was seen RUNNING
  long long finished_unix_ms = 0;  // verified or timed out
  long long ms_to_verified = -1;   // from RUNNING to verified
  std::vector<NodeCheck> nodes;
  std::vector<std::string> hotplugged;
  std::string dev_listing;  // on timeout
  DriverStage driver;
};

std::string status_to_json(const GpuStatus& s, bool pretty = true);
Result<GpuStatus> status_from_json(const std::string& text, const std::string& path);
Status write_status(const std::string& path, const GpuStatus& s);
Result<GpuStatus> read_status(const std::string& path);

}  // namespace phx
