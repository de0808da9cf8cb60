// The driver stage: keep the container's userspace driver matching the
// host's kernel module (else "Failed to initialize NVML: Driver/library
// version mismatch" after a host upgrade).
#pragma once

#include <functional>
#include <set>
#include <string>

#include "config.hpp"
#include "error.hpp"
#include "plan_file.hpp"
#include "policy.hpp"
#include "status_file.hpp"

namespace phx {

class LxcContainer;

// Versions from libnvidia-ml.so.<ver> / libcuda.so.<ver> names in the usual
// library directories below `root` ("/" inside the container).
std::set<std::string> find_userspace_versions(const std::string& root);

// Inside the container's mount namespace (attach with our own function).
Result<std::set<std::string>> container_userspace_versions(LxcContainer& c);

// Runs the stage for a RUNNING container and records it in status.driver;
// save() persists progress.
void run_driver_stage(LxcContainer& c, const PlanFile& plan, const ContainerPolicy& policy, const HostConfig& cfg,
                      GpuStatus& status, const std::function<void()>& save);

}  // namespace phx
