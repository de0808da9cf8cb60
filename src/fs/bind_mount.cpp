#include "fs/bind_mount.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "base/env_vars.hpp"
#include "fs/safe_path.hpp"

// Debian 12's glibc has no wrappers for the new mount API.
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif

namespace phx {
namespace {

int sys_open_tree(int dfd, const char* path, unsigned flags) {
  return static_cast<int>(::syscall(SYS_open_tree, dfd, path, flags));
}
int sys_move_mount(int from, const char* from_path, int to, const char* to_path, unsigned flags) {
  return static_cast<int>(::syscall(SYS_move_mount, from, from_path, to, to_path, flags));
}

bool mount_api_disabled() {
  const char* env = env_value(EnvVar::NoMountApi);
  return env != nullptr && std::strcmp(env, "1") == 0;
}

}  // namespace

bool new_mount_api_available() {
  if (mount_api_disabled()) return false;
  static const bool available = [] {
    int fd = sys_open_tree(-1, "", 0);  // EBADF if the call exists
    if (fd >= 0) ::close(fd);
    return errno != ENOSYS;
  }();
  return available;
}

Result<UniqueFd> prepare_mount_target(int root_fd, const std::string& rel_target, dev_t rdev) {
  // "dev" may be a mount of its own (LXC's autodev tmpfs); nothing below it
  // may be: a directory there bound from the host must not receive files.
  const auto first_slash = rel_target.find('/');
  if (first_slash == std::string::npos) return Error{"bind", rel_target, EINVAL, "target must be below a directory"};
  auto top = make_dirs_beneath(root_fd, rel_target.substr(0, first_slash), 0755);
  if (!top) return top.error();
  const std::filesystem::path rel(rel_target.substr(first_slash + 1));
  const std::string parent = rel.parent_path().string();
  const std::string leaf = rel.filename().string();
  UniqueFd dir;
  if (parent.empty()) {
    dir = std::move(*top);
  } else {
    auto d = make_dirs_beneath(top->get(), parent, 0755, Xdev::Refuse);
    if (!d) {
      if (d.error().err == EXDEV) {
        return Error{"bind", rel_target, EXDEV,
                     "a directory on the way is another mount (bound from the host?); not touched"};
      }
      return d.error();
    }
    dir = std::move(*d);
  }
  struct stat tst {};
  if (::fstatat(dir.get(), leaf.c_str(), &tst, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISCHR(tst.st_mode) && tst.st_rdev == rdev) return UniqueFd();
    if (!S_ISREG(tst.st_mode) && !S_ISCHR(tst.st_mode)) {
      const char* what = S_ISLNK(tst.st_mode) ? "a symlink" : S_ISDIR(tst.st_mode) ? "a directory" : "a special file";
      return Error{"bind", rel_target, 0, std::string("target is ") + what + " in the container; not touched"};
    }
  } else if (errno == ENOENT) {
    // An empty regular file as the mount point: mapped root in a user
    // namespace may create that, not a device node.
    UniqueFd f(::openat(dir.get(), leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0000));
    if (!f && errno != EEXIST) return sys_error("create", rel_target);
  } else {
    return sys_error("stat", rel_target);
  }
  // Only ever O_PATH on the target: opening a device node for real would
  // call into its driver.
  auto target = open_beneath(dir.get(), leaf, O_PATH, Xdev::Refuse);
  if (!target) return sys_error("open", rel_target, target.error().err);
  struct stat fst {};
  if (::fstat(target->get(), &fst) != 0) return sys_error("fstat", rel_target);
  if (!S_ISREG(fst.st_mode) && !S_ISCHR(fst.st_mode)) return Error{"bind", rel_target, 0, "target changed type"};
  return std::move(*target);
}

Result<UniqueFd> clone_tree(const std::string& src) {
  UniqueFd tree(sys_open_tree(AT_FDCWD, src.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
  if (!tree) return sys_error("open_tree", src);
  return tree;
}

Status attach_tree(int tree_fd, int target_fd, const std::string& shown) {
  if (sys_move_mount(tree_fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
    return sys_error("move_mount", shown);
  }
  return {};
}

Result<BindResult> bind_node_beneath(const std::string& src, int root_fd, const std::string& rel_target) {
  struct stat sst {};
  if (::lstat(src.c_str(), &sst) != 0) return sys_error("stat", src);
  if (!S_ISCHR(sst.st_mode)) return Error{"bind", src, 0, "source is not a character device"};
  auto target = prepare_mount_target(root_fd, rel_target, sst.st_rdev);
  if (!target) return target.error();
  if (!target->valid()) return BindResult::AlreadyThere;

  if (new_mount_api_available()) {
    auto tree = clone_tree(src);
    if (!tree) return tree.error();
    if (auto ok = attach_tree(tree->get(), target->get(), rel_target); !ok) return ok.error();
    return BindResult::Mounted;
  }
  const std::string proc_target = "/proc/self/fd/" + std::to_string(target->get());
  if (::mount(src.c_str(), proc_target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return sys_error("mount --bind", rel_target);
  }
  return BindResult::Mounted;
}

}  // namespace phx
