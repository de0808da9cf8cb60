// Bind-mounting a host node onto a target beneath a hostile rootfs.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace phx {

enum class BindResult { Mounted, AlreadyThere };

// Opens src (a host path) and binds it onto <root_fd>/<rel_target>, creating
// the parent directories and an empty target file symlink-safely. A target
// that already is the same char device (from an old lxc.mount.entry, say)
// is left alone. Uses open_tree+move_mount, or mount onto /proc/self/fd/N
// where the new mount API is missing or PHOENIX_GPU_NO_MOUNT_API=1.
Result<BindResult> bind_node_beneath(const std::string& src, int root_fd, const std::string& rel_target);

bool new_mount_api_available();

// The two halves of bind_node_beneath, for callers that clone the source in
// one mount namespace and attach it in another (hot-plug):
// an O_PATH fd of the prepared target, or an invalid fd when the target
// already is a char device with `rdev`.
Result<UniqueFd> prepare_mount_target(int root_fd, const std::string& rel_target, dev_t rdev);
// open_tree(OPEN_TREE_CLONE) of a host path.
Result<UniqueFd> clone_tree(const std::string& src);
// move_mount of a detached tree onto a target fd.
Status attach_tree(int tree_fd, int target_fd, const std::string& shown);

}  // namespace phx
