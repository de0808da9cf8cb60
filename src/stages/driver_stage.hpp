// The driver stage: keep the container's userspace driver matching the
// host's kernel module (else "Failed to initialize NVML: Driver/library
// version mismatch" after a host upgrade).
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "lxc/container_exec.hpp"
#include "plan/config.hpp"
#include "plan/plan_file.hpp"
#include "plan/policy.hpp"
#include "plan/status_file.hpp"

namespace phx {

class LxcContainer;

// Versions from libnvidia-ml.so.<ver> / libcuda.so.<ver> names in the usual
// library directories below `root` ("/" inside the container).
std::set<std::string> find_userspace_versions(const std::string& root);

// Inside the container's mount namespace (attach with our own function).
Result<std::set<std::string>> container_userspace_versions(LxcContainer& c);

// Runs the stage for a RUNNING container and records it in status.driver;
// save() persists progress and says false when the caller's run is over (a
// newer start took over): then no install is started. One install at a time per container: a lock in
// the state directory; a second caller records "busy" and returns.
void run_driver_stage(LxcContainer& c, const PlanFile& plan, const ContainerPolicy& policy, const HostConfig& cfg,
                      const std::string& state_dir, GpuStatus& status, const std::function<bool()>& save);

// The stage's decisions, apart from the container they are made for.
struct StageOutcome {
  DriverState state;
  std::string message;
  bool warn;  // logged as a warning (else info)
};

// Before any install, from the versions found in the container: Current,
// Mismatch (strategy none) or Failed (strategy bind without the host's
// files), or nullopt when an install is due; `what` then says why.
std::optional<StageOutcome> outcome_before_install(const std::set<std::string>& found, const std::string& strategy,
                                                   const std::string& host_version, std::string* what);

// After an install ran: Timeout, Failed (its exit, or no libraries of the
// host's version after it) or Installed.
StageOutcome outcome_of_install(const AttachRun& run, const Result<std::set<std::string>>& after,
                                const std::string& host_version, Millis timeout, const std::string& container);

// <installer_dir>/NVIDIA-Linux-x86_64-<version>.run
std::string runfile_path(const std::string& installer_dir, const std::string& version);

// The runfile's options: userspace only; nothing host-side (no kernel
// module, nvidia-modprobe, DKMS, X or initramfs checks).
std::vector<std::string> runfile_args();

}  // namespace phx
