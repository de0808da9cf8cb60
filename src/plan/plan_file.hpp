// The plan as a file the later stages trust: versioned JSON, written
// atomically, read back with every field checked.
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "base/error.hpp"
#include "plan/device_plan.hpp"

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

// One entry of the plan's "gpus", "nodes" or "cgroup_rules" array, checked
// as plan_from_json checks it; i is the entry's index, named in the message.
Result<GpuInfo> plan_gpu_from_json(const nlohmann::json& entry, std::size_t i, const std::string& path);
Result<PlannedNode> plan_node_from_json(const nlohmann::json& entry, std::size_t i, const std::string& path);
Result<CgroupRule> plan_rule_from_json(const nlohmann::json& entry, const std::string& path);

Status write_plan(const std::string& path, const PlanFile& pf);
Result<PlanFile> read_plan(const std::string& path);

// A node path from a plan must be /dev/<name>[/<name>] with no "..", no
// empty or dot components: it is joined below rootfs and host roots.
bool valid_dev_path(const std::string& p);

}  // namespace phx
