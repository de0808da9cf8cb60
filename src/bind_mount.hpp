// Bind-mounting a host node onto a target beneath a hostile rootfs.
#pragma once

#include <string>

#include "error.hpp"
#include "unique_fd.hpp"

namespace phx {

enum class BindResult { Mounted, AlreadyThere };

// Opens src (a host path) and binds it onto <root_fd>/<rel_target>, creating
// the parent directories and an empty target file symlink-safely. A target
// that already is the same char device (from an old lxc.mount.entry, say)
// is left alone. Uses open_tree+move_mount, or mount onto /proc/self/fd/N
// where the new mount API is missing or PHOENIX_GPU_NO_MOUNT_API=1.
Result<BindResult> bind_node_beneath(const std::string& src, int root_fd, const std::string& rel_target);

bool new_mount_api_available();

}  // namespace phx
