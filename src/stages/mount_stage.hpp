// mount: in the container's mount namespace, before pivot_root. Binds every
// planned node that exists on the host into $LXC_ROOTFS_MOUNT/dev.
#pragma once

#include "stages/hook_runtime.hpp"
#include "stages/mount_report.hpp"

namespace phx {

// Always 0: a failed bind is logged and left to post-start.
int run_mount(const HookRuntime& rt);

}  // namespace phx
