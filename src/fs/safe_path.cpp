#include "fs/safe_path.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "base/env_vars.hpp"
#include "base/text.hpp"

namespace phx {
namespace {

std::atomic<bool> g_force_fallback{false};

bool fallback_forced() {
  if (g_force_fallback) return true;
  const char* env = env_value(EnvVar::NoOpenat2);
  return env != nullptr && std::strcmp(env, "1") == 0;
}

bool valid_rel(const std::string& rel) {
  if (rel.empty() || rel.front() == '/') return false;
  for (const auto& c : split(rel, '/')) {
    if (c.empty() || c == "." || c == "..") return false;
  }
  return true;
}

int sys_openat2(int dirfd, const char* path, int flags, Xdev xdev) {
  struct open_how how {};
  how.flags = static_cast<unsigned long long>(flags) | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  if (xdev == Xdev::Refuse) how.resolve |= RESOLVE_NO_XDEV;
  return static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof how));
}

// One component at a time, never following a symlink: O_PATH|O_NOFOLLOW
// opens a symlink itself, which fstat then shows.
// Without openat2, a mount crossing shows as a change of st_dev (a bind of
// a directory of the same file system goes unnoticed: the best this can do).
Result<UniqueFd> walk(int root_fd, const std::string& rel, int flags, Xdev xdev) {
  auto parts = split(rel, '/');
  UniqueFd cur(::fcntl(root_fd, F_DUPFD_CLOEXEC, 3));
  if (!cur) return sys_error("dup", rel);
  struct stat start {};
  if (::fstat(cur.get(), &start) != 0) return sys_error("fstat", rel);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const bool last = i + 1 == parts.size();
    const int f = last ? (flags | O_NOFOLLOW | O_CLOEXEC) : (O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
    UniqueFd next(::openat(cur.get(), parts[i].c_str(), f));
    if (!next) {
      // O_NOFOLLOW on a symlink: ELOOP for O_DIRECTORY walks, ENOTDIR too.
      int e = errno;
      struct stat st {};
      if (::fstatat(cur.get(), parts[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) e = ELOOP;
      return sys_error("open", rel, e);
    }
    struct stat st {};
    if (::fstat(next.get(), &st) != 0) return sys_error("fstat", rel);
    if (S_ISLNK(st.st_mode)) return sys_error("open", rel, ELOOP);
    if (xdev == Xdev::Refuse && st.st_dev != start.st_dev) return sys_error("open", rel, EXDEV);
    cur = std::move(next);
  }
  return cur;
}

}  // namespace

void set_force_openat_fallback(bool on) { g_force_fallback = on; }

bool openat2_available() {
  if (fallback_forced()) return false;
  static const bool available = [] {
    int fd = sys_openat2(AT_FDCWD, "/", O_PATH | O_DIRECTORY, Xdev::Allow);
    if (fd >= 0) ::close(fd);
    return fd >= 0 || errno != ENOSYS;
  }();
  return available;
}

Result<UniqueFd> open_beneath(int root_fd, const std::string& rel, int flags, Xdev xdev) {
  if (!valid_rel(rel)) return sys_error("open", rel, EINVAL);
  if (!openat2_available()) return walk(root_fd, rel, flags, xdev);
  UniqueFd fd(sys_openat2(root_fd, rel.c_str(), flags | O_NOFOLLOW, xdev));
  if (!fd) return sys_error("open", rel);
  // O_PATH|O_NOFOLLOW opens a final symlink itself even under
  // RESOLVE_NO_SYMLINKS; refuse it as the fallback walk does.
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return sys_error("fstat", rel);
  if (S_ISLNK(st.st_mode)) return sys_error("open", rel, ELOOP);
  return fd;
}

Result<UniqueFd> make_dirs_beneath(int root_fd, const std::string& rel, mode_t mode, Xdev xdev) {
  if (!valid_rel(rel)) return sys_error("mkdir", rel, EINVAL);
  UniqueFd cur(::fcntl(root_fd, F_DUPFD_CLOEXEC, 3));
  if (!cur) return sys_error("dup", rel);
  std::string done;
  for (const auto& part : split(rel, '/')) {
    done += (done.empty() ? "" : "/") + part;
    if (::mkdirat(cur.get(), part.c_str(), mode) != 0 && errno != EEXIST) return sys_error("mkdir", done);
    auto next = open_beneath(cur.get(), part, O_PATH | O_DIRECTORY, xdev);
    if (!next) return sys_error("open", done, next.error().err);
    cur = std::move(*next);
  }
  return cur;
}

}  // namespace phx
