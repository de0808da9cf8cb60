#include "fs/host_nodes.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/unique_fd.hpp"

namespace phx {

const char* to_string(NodeAction a) {
  switch (a) {
    case NodeAction::Present:
      return "present";
    case NodeAction::Created:
      return "created";
    case NodeAction::Repaired:
      return "repaired";
    case NodeAction::Failed:
      return "failed";
  }
  return "?";
}

namespace {

NodeOutcome failed(const Error& e) { return {NodeAction::Failed, e.message()}; }

std::string describe(const struct stat& st) {
  if (S_ISCHR(st.st_mode)) {
    return "char " + std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev));
  }
  if (S_ISREG(st.st_mode)) return st.st_size == 0 ? "an empty placeholder file" : "a regular file";
  if (S_ISLNK(st.st_mode)) return "a symlink";
  if (S_ISDIR(st.st_mode)) return "a directory";
  return "another file type";
}

}  // namespace

NodeOutcome ensure_host_node(const HostRoot& root, const PlannedNode& node) {
  // host_path is "/dev/<leaf>" or "/dev/<dir>/<leaf>" (checked by the plan).
  const std::string rel = node.host_path.substr(5);
  const auto slash = rel.rfind('/');
  const std::string dev_path = root.path("/dev");
  UniqueFd dir(::open(dev_path.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) return failed(sys_error("open", dev_path));
  std::string leaf = rel;
  if (slash != std::string::npos) {
    const std::string sub = rel.substr(0, slash);
    leaf = rel.substr(slash + 1);
    if (::mkdirat(dir.get(), sub.c_str(), 0755) != 0 && errno != EEXIST) {
      return failed(sys_error("mkdir", dev_path + "/" + sub));
    }
    UniqueFd subfd(::openat(dir.get(), sub.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!subfd) return failed(sys_error("open", dev_path + "/" + sub));
    dir = std::move(subfd);
  }
  const std::string shown = root.path(node.host_path);
  const dev_t want = node.rdev();

  NodeOutcome out{NodeAction::Created, {}};
  struct stat st {};
  if (::fstatat(dir.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISCHR(st.st_mode) && st.st_rdev == want) {
      out.action = NodeAction::Present;
    } else if (S_ISDIR(st.st_mode)) {
      return {NodeAction::Failed, shown + " is a directory, not the device node " + std::to_string(node.major) + ":" +
                                      std::to_string(node.minor) + "; remove it"};
    } else {
      out = {NodeAction::Repaired, "was " + describe(st)};
      if (::unlinkat(dir.get(), leaf.c_str(), 0) != 0) return failed(sys_error("unlink", shown));
    }
  } else if (errno != ENOENT) {
    return failed(sys_error("stat", shown));
  }

  if (out.action != NodeAction::Present) {
    if (::mknodat(dir.get(), leaf.c_str(), S_IFCHR | 0600, want) != 0) {
      if (errno != EEXIST) return failed(sys_error("mknod", shown));
      // Someone (udev, nvidia-modprobe, a parallel start) made it first.
      if (::fstatat(dir.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISCHR(st.st_mode) ||
          st.st_rdev != want) {
        return {NodeAction::Failed, shown + " appeared concurrently with " +
                                        std::string(S_ISCHR(st.st_mode) ? "another rdev" : "another type")};
      }
      out = {NodeAction::Present, {}};
    }
    if (::fstatat(dir.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return failed(sys_error("stat", shown));
  }
  // Mode and owner as the driver's parameters say (mknod honours the umask).
  if ((st.st_mode & 07777) != node.mode || st.st_uid != node.uid || st.st_gid != node.gid) {
    if (::fchownat(dir.get(), leaf.c_str(), node.uid, node.gid, AT_SYMLINK_NOFOLLOW) != 0) {
      return failed(sys_error("chown", shown));
    }
    if (::fchmodat(dir.get(), leaf.c_str(), node.mode, 0) != 0) return failed(sys_error("chmod", shown));
    if (out.action == NodeAction::Present) out = {NodeAction::Repaired, "had mode/owner of another setting"};
  }
  return out;
}

}  // namespace phx
