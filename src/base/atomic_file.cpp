#include "base/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "base/file_write.hpp"
#include "base/unique_fd.hpp"

namespace phx {

Status make_dirs(const std::string& path, mode_t mode) {
  std::string cur;
  for (std::size_t pos = 0; pos != std::string::npos;) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) return sys_error("mkdir", cur);
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return sys_error("stat", path);
  if (!S_ISDIR(st.st_mode)) return sys_error("mkdir", path, ENOTDIR);
  return {};
}

Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode) {
  const std::filesystem::path target(path);
  const std::string dir = target.parent_path().string();
  const std::string tmp = dir + "/." + target.filename().string() + ".tmp." + std::to_string(::getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd) return sys_error("open", tmp);
  // The umask must not narrow the mode: unprivileged containers' mapped root
  // reads the plan.
  if (::fchmod(fd.get(), mode) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return sys_error("fchmod", tmp, e);
  }
  if (auto ok = write_all(fd.get(), data, tmp); !ok) {
    ::unlink(tmp.c_str());
    return ok;
  }
  if (::fsync(fd.get()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return sys_error("fsync", tmp, e);
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return sys_error("rename", path, e);
  }
  UniqueFd dfd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd) ::fsync(dfd.get());
  return {};
}

}  // namespace phx
