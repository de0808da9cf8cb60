// mount: in the container's mount namespace, before pivot_root. Binds every
// planned node that exists on the host into $LXC_ROOTFS_MOUNT/dev.
#pragma once

#include <string>
#include <vector>

#include "stages/hook_runtime.hpp"

namespace phx {

struct MountReport {
  std::vector<std::string> mounted;                          // container paths
  std::vector<std::pair<std::string, std::string>> missing;  // container path, why
};

std::string mount_report_to_json(const MountReport& r);
Result<MountReport> mount_report_from_json(const std::string& text, const std::string& path);

// Always 0: a failed bind is logged and left to post-start.
int run_mount(const HookRuntime& rt);

}  // namespace phx
