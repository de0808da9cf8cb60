// The host facts NVIDIA_REQUIRE_* compares against: the driver version from
// /proc, the CUDA version from the host's own libcuda (cuDriverGetVersion,
// which needs no GPU initialisation) and, only when arch or brand is asked
// for, each selected GPU's compute capability and brand from NVML.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "host/host_root.hpp"
#include "plan/device_plan.hpp"
#include "plan/requirements.hpp"

namespace phx {

HostFacts gather_host_facts(const HostRoot& root, const Requirements& req, const DevicePlan& plan);

// NVML's nvmlBrandType_t as the runtime names it ("tesla", "nvidia", ...).
std::string nvml_brand_name(int brand);

// pre-start: parses NVIDIA_REQUIRE_* of the container's environment, logs
// what does not parse, and returns the unmet requirements (empty when there
// are none, or NVIDIA_DISABLE_REQUIRE is set).
std::vector<std::string> check_requirements(const HostRoot& root, std::string_view environment_items,
                                            const DevicePlan& plan);

}  // namespace phx
