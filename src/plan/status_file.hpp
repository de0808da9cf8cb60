// status.json: what the post-start worker found, per container.
#pragma once

#include <string>
#include <vector>

#include "base/error.hpp"
#include "plan/gpu_state.hpp"

namespace phx {

// 2: the closed state sets of gpu_state.hpp (no-plan added), pending nodes
// and host-side node results.
inline constexpr int kStatusFormatVersion = 2;

// One planned node as seen from inside the container.
struct NodeCheck {
  std::string path;
  NodeResult result = NodeResult::Error;
  int err = 0;
  std::string detail;
  bool hotplugged = false;
  // no-driver passes only on a simulated host, where no driver can be.
  bool passed(bool simulated_host) const {
    return result == NodeResult::Ok || (simulated_host && result == NodeResult::NoDriver);
  }
};

struct DriverStage {
  DriverState state = DriverState::Pending;
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
  GpuState state = GpuState::Starting;
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

// The first thing that keeps a container from "verified", in one line
// (empty when verified): the message, else the first failing node.
std::string first_problem(const GpuStatus& s);

std::string status_to_json(const GpuStatus& s, bool pretty = true);
Result<GpuStatus> status_from_json(const std::string& text, const std::string& path);
Status write_status(const std::string& path, const GpuStatus& s);
Result<GpuStatus> read_status(const std::string& path);

}  // namespace phx
