// 'phoenix-gpu status --all': every container the state directory has a
// record of (a start with a GPU policy since boot), across lxcpaths, as a
// table, JSON or node_exporter textfile metrics.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "plan/status_file.hpp"

namespace phx {

inline constexpr int kReportFormatVersion = 1;

struct ContainerReport {
  std::string name;
  std::string lxcpath;
  std::optional<GpuStatus> status;  // nullopt: no readable status.json
  std::string error;                // why there is none
  bool has_plan = false;
  std::vector<int> gpus;  // indices of the planned GPUs
  // Whether the container runs now; nullopt where that was not checked. A
  // record outlives its container's stop (the worker has exited), so a
  // stopped container would otherwise still read "verified".
  std::optional<bool> running;
  bool verified() const { return status && status->state == GpuState::Verified; }
  // Counts against the host: running (or not known to be stopped) and not
  // verified. A stopped container asks for no GPU now.
  bool needs_attention() const { return !verified() && running != false; }
  // The state's name, or "unknown" without a readable status.
  std::string state_name() const;
  std::string problem() const;  // first_problem, or the error
};

// Reads <state_base>/<escaped lxcpath>/<name>/ for every lxcpath and name
// found there. Sorted by lxcpath, then name (numeric names as numbers:
// Proxmox's VMIDs).
std::vector<ContainerReport> collect_reports(const std::string& state_base);
// The order collect_reports gives.
void sort_reports(std::vector<ContainerReport>& rows);

std::string report_table(const std::vector<ContainerReport>& rows);
std::string report_json(const std::vector<ContainerReport>& rows);
// node_exporter textfile collector format.
std::string report_prometheus(const std::vector<ContainerReport>& rows);

}  // namespace phx
