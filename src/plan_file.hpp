// The plan as a file the later stages trust: versioned JSON, written
// atomically, read back with every field checked.
#pragma once

#include <string>

#include "device_plan.hpp"
#include "error.hpp"

namespace phx {

// 2: pending nodes (major 0 until their module is loaded).
inline constexpr int kPlanFormatVersion = 2;

struct PlanFile {
  std::string container;
  std::string lxcpath;
  std::string host_root = "/";
  bool required = false;  // PHOENIX_GPU_REQUIRED
  long long created_unix_ms = 0;
  DevicePlan plan;
};

std::string plan_to_json(const PlanFile& pf, bool pretty = true);
// Rejects corrupt, truncated and foreign-version content with a message
// that names the path and the field.
Result<PlanFile> plan_from_json(const std::string& text, const std::string& path);

Status write_plan(const std::string& path, const PlanFile& pf);
Result<PlanFile> read_plan(const std::string& path);

// A node path from a plan must be /dev/<name>[/<name>] with no "..", no
// empty or dot components: it is joined below rootfs and host roots.
bool valid_dev_path(const std::string& p);

}  // namespace phx
