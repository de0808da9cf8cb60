#include "plan/gpu_state.hpp"

namespace phx {

std::string_view to_string(GpuState s) {
  switch (s) {
    case GpuState::Starting:
      return "starting";
    case GpuState::Waiting:
      return "waiting";
    case GpuState::Verifying:
      return "verifying";
    case GpuState::Verified:
      return "verified";
    case GpuState::Timeout:
      return "timeout";
    case GpuState::Failed:
      return "failed";
    case GpuState::Stopped:
      return "stopped";
    case GpuState::NoPlan:
      return "no-plan";
  }
  return "?";
}

std::optional<GpuState> parse_gpu_state(std::string_view s) {
  for (GpuState v : kAllGpuStates)
    if (to_string(v) == s) return v;
  return std::nullopt;
}

bool is_final(GpuState s) { return s != GpuState::Starting && s != GpuState::Waiting && s != GpuState::Verifying; }

std::string_view to_string(NodeResult r) {
  switch (r) {
    case NodeResult::Ok:
      return "ok";
    case NodeResult::NoDriver:
      return "no-driver";
    case NodeResult::Denied:
      return "denied";
    case NodeResult::Missing:
      return "missing";
    case NodeResult::WrongType:
      return "wrong-type";
    case NodeResult::WrongRdev:
      return "wrong-rdev";
    case NodeResult::Error:
      return "error";
    case NodeResult::Pending:
      return "pending";
    case NodeResult::HostChanged:
      return "host-changed";
  }
  return "?";
}

std::optional<NodeResult> parse_node_result(std::string_view s) {
  for (NodeResult v : kAllNodeResults)
    if (to_string(v) == s) return v;
  return std::nullopt;
}

std::string_view to_string(DriverState s) {
  switch (s) {
    case DriverState::Pending:
      return "pending";
    case DriverState::Current:
      return "current";
    case DriverState::Mismatch:
      return "mismatch";
    case DriverState::Installing:
      return "installing";
    case DriverState::Installed:
      return "installed";
    case DriverState::Busy:
      return "busy";
    case DriverState::NoInstaller:
      return "no-installer";
    case DriverState::Timeout:
      return "timeout";
    case DriverState::Failed:
      return "failed";
    case DriverState::Skipped:
      return "skipped";
  }
  return "?";
}

std::optional<DriverState> parse_driver_state(std::string_view s) {
  for (DriverState v : kAllDriverStates)
    if (to_string(v) == s) return v;
  return std::nullopt;
}

}  // namespace phx
